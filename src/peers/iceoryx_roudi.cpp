// Starting and stopping iox-roudi for the iceoryx transport (see iceoryx_roudi.hpp).
#include "peers/iceoryx_roudi.hpp"

#include <iceoryx_posh/iceoryx_posh_types.hpp>

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#ifndef RINGLAB_IOX_ROUDI
#define RINGLAB_IOX_ROUDI "/usr/bin/iox-roudi"
#endif

namespace ringlab::peers {
namespace {

// RouDi's socket: iceoryx 2.0's IOX_UDS_SOCKET_PATH_PREFIX + its runtime name "roudi".
constexpr const char* roudi_socket = "/tmp/roudi";
constexpr auto start_limit = std::chrono::seconds(5);
constexpr auto stop_limit = std::chrono::seconds(5);

std::mutex state_mutex;
unsigned leases = 0;
pid_t child = -1;  // the RouDi we started
int log_fd = -1;   // its output (a memfd: nothing on disk), read when it fails

std::string last_words() {
  if (log_fd < 0) return "";
  std::string text;
  char buf[4096];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(log_fd, buf, sizeof buf, at);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n)), at += n;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const auto line = text.rfind('\n');
  return text.empty() ? "" : " (it said: " + text.substr(line == std::string::npos ? 0 : line + 1) + ")";
}

bool exited(pid_t pid, int* status = nullptr) {
  int ignored = 0;
  return ::waitpid(pid, status ? status : &ignored, WNOHANG) == pid;
}

// What RouDi removes when it leaves normally: its shared memory (the management segment
// and the data segment named after the user) and its socket and locks in /tmp.
void remove_roudi_files() {
  ::shm_unlink("/iceoryx_mgmt");
  if (const passwd* user = ::getpwuid(::getuid())) ::shm_unlink(("/" + std::string(user->pw_name)).c_str());
  for (const char* f : {roudi_socket, "/tmp/roudi.lock", "/tmp/iox-unique-roudi.lock"}) ::unlink(f);
}

void start_roudi() {
  log_fd = ::memfd_create("iox-roudi-log", MFD_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("iceoryx: cannot fork iox-roudi: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // we die: it cleans up and leaves
    if (::getppid() != parent) ::_exit(1);
    ::setpgid(0, 0);  // a terminal's Ctrl-C is for the harness, which stops it
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (log_fd >= 0) ::dup2(log_fd, 1), ::dup2(log_fd, 2);
    ::close_range(3, ~0U, 0);  // nothing of the run (its segment, pipes) goes with it
    ::execl(RINGLAB_IOX_ROUDI, "iox-roudi", "--log-level", "warning", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  child = pid;
  const auto deadline = std::chrono::steady_clock::now() + start_limit;
  while (!roudi_answers()) {
    if (exited(pid)) {
      child = -1;
      throw std::runtime_error(std::string("iceoryx: ") + RINGLAB_IOX_ROUDI + " exited at once" + last_words() +
                               "; is another RouDi starting, or is the iceoryx package installed?");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL), ::waitpid(pid, nullptr, 0);
      child = -1;
      throw std::runtime_error(std::string("iceoryx: ") + RINGLAB_IOX_ROUDI + " did not accept clients within 5 s" +
                               last_words());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void stop_roudi() {
  if (child < 0) return;
  // On SIGTERM RouDi stops every runtime still registered, and iceoryx 2.0.3 aborts there
  // (POSH__ROUDI_PROCESS_SHUTDOWN_FAILED, nothing cleaned up) when one is already gone: the
  // sides leave with _exit, without deregistering. Its monitoring drops a silent runtime
  // after PROCESS_KEEP_ALIVE_TIMEOUT (1.5 s), looked at every DISCOVERY_INTERVAL (0.1 s),
  // so the run's end waits that long (after the sides are gone) before stopping it.
  std::this_thread::sleep_for(std::chrono::milliseconds(
      iox::runtime::PROCESS_KEEP_ALIVE_TIMEOUT.toMilliseconds() + 3 * iox::roudi::DISCOVERY_INTERVAL.toMilliseconds()));
  ::kill(child, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + stop_limit;
  int status = 0;
  while (!exited(child, &status)) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child, SIGKILL), ::waitpid(child, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // A RouDi that did not leave normally cleaned nothing: remove its files (it was the only
  // RouDi here, its unique-RouDi lock said so).
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) remove_roudi_files();
  child = -1;
  if (log_fd >= 0) ::close(log_fd), log_fd = -1;
}

}  // namespace

bool roudi_answers() {
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, roudi_socket, sizeof addr.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

int roudi_child_pid() {
  std::lock_guard lock(state_mutex);
  return child;
}

roudi_lease::roudi_lease() {
  std::lock_guard lock(state_mutex);
  if (leases == 0 && child < 0 && !roudi_answers()) start_roudi();
  ++leases;
}

roudi_lease::roudi_lease(roudi_lease&& other) noexcept : held_(std::exchange(other.held_, false)) {}

roudi_lease::~roudi_lease() {
  if (!held_) return;
  std::lock_guard lock(state_mutex);
  if (--leases == 0) stop_roudi();
}

void remove_runtime_sockets(const std::string& name_prefix) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/tmp", ec))
    if (e.path().filename().string().rfind(name_prefix, 0) == 0) std::filesystem::remove(e.path(), ec);
}

}  // namespace ringlab::peers
