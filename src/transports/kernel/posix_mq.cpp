// posix_mq's limits: reading them, checking a queue against them, raising them (as root),
// and opening a queue that is unlinked at once. See posix_mq.hpp.
#include "transports/kernel/posix_mq.hpp"

#include <fmt/core.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <vector>

namespace ringlab::ipc {
namespace {

constexpr const char* msg_max_path = "/proc/sys/fs/mqueue/msg_max";
constexpr const char* msgsize_max_path = "/proc/sys/fs/mqueue/msgsize_max";
// The kernel's ceilings (ipc/mqueue.c HARD_MSGMAX, HARD_MSGSIZEMAX): no setting raises them.
constexpr std::size_t hard_msg_max = 65536;
constexpr std::size_t hard_msgsize_max = 16 * 1024 * 1024;
// The kernel's defaults (DFLT_MSGMAX, DFLT_MSGSIZEMAX), if /proc cannot be read.
constexpr std::size_t default_msg_max = 10;
constexpr std::size_t default_msgsize_max = 8192;

std::size_t read_proc(const char* path, std::size_t fallback) {
  std::ifstream in(path);
  std::size_t value = 0;
  return in >> value ? value : fallback;
}

void write_proc(const char* path, std::size_t value) {
  std::ofstream out(path);
  out << value << '\n';
  out.flush();
  if (!out || read_proc(path, 0) != value)
    throw std::runtime_error(fmt::format("posix_mq: could not write {} to {} (read-only /proc/sys here?)", value, path));
}

std::string bytes_limit(rlim_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string(v); }

}  // namespace

mq_limits current_mq_limits() {
  rlimit rl{};
  const bool got = ::getrlimit(RLIMIT_MSGQUEUE, &rl) == 0;
  return {read_proc(msg_max_path, default_msg_max), read_proc(msgsize_max_path, default_msgsize_max),
          !got || rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<std::size_t>(rl.rlim_cur)};
}

std::size_t mq_charged_bytes(std::size_t capacity, std::size_t item_bytes) {
  // mq_overview(7): per message a struct msg_msg, per priority in use a tree node, and the
  // payload; 64 bytes each is above both structures' sizes on 64-bit kernels.
  return capacity * (item_bytes + 64) + std::min<std::size_t>(capacity, 32768) * 64;
}

std::string mq_capacity_problem(std::size_t capacity, std::size_t item_bytes, const mq_limits& limits) {
  if (capacity > limits.msg_max)
    return fmt::format("exceeds {} ({}): raise it as root with `sysctl fs.mqueue.msg_max={}` or run with --raise-limits",
                       msg_max_path, limits.msg_max, capacity);
  if (item_bytes > limits.msgsize_max)
    return fmt::format("needs {}-byte messages, above {} ({}): raise it as root with `sysctl fs.mqueue.msgsize_max={}` "
                       "or run with --raise-limits",
                       item_bytes, msgsize_max_path, limits.msgsize_max, item_bytes);
  // The payload alone is a lower bound of what the kernel charges: surely too much.
  if (capacity > limits.rlimit_bytes / item_bytes)
    return fmt::format("of {}-byte items needs more than RLIMIT_MSGQUEUE ({} bytes for all this user's queues): "
                       "raise it (`ulimit -q`, as root for above the hard limit) or run with --raise-limits",
                       item_bytes, limits.rlimit_bytes);
  return "";
}

mqd_t open_unlinked_mq(std::size_t capacity, std::size_t item_bytes) {
  static std::atomic<unsigned> counter{0};
  mq_attr attr{};
  attr.mq_maxmsg = static_cast<long>(capacity);
  attr.mq_msgsize = static_cast<long>(item_bytes);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string name = fmt::format("/ringlab-mq-{}-{}", ::getpid(), counter.fetch_add(1));
    // O_CLOEXEC: the kernel sets it on every mq descriptor anyway; an exec'd tool gets none.
    const mqd_t q = ::mq_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK | O_CLOEXEC, 0600, &attr);
    if (q == mqd_t(-1)) {
      const int err = errno;
      if (err == EEXIST) continue;  // left by an earlier process with our pid: take the next name
      const std::string what = fmt::format("a queue of {} messages of {} bytes", capacity, item_bytes);
      if (err == EMFILE)
        reject_capacity("posix_mq", capacity,
                        fmt::format("is refused by mq_open (EMFILE): {} does not fit in RLIMIT_MSGQUEUE ({} bytes for "
                                    "all this user's queues, about {} needed): raise it (`ulimit -q`) or run with "
                                    "--raise-limits (or: this process is out of file descriptors)",
                                    what, bytes_limit(current_mq_limits().rlimit_bytes), mq_charged_bytes(capacity, item_bytes)));
      if (err == EINVAL)
        reject_capacity("posix_mq", capacity, fmt::format("is refused by mq_open (EINVAL) for {}: above {} or {}?",
                                                          what, msg_max_path, msgsize_max_path));
      if (err == ENOSPC)
        throw std::runtime_error("posix_mq: mq_open: the system's number of queues (/proc/sys/fs/mqueue/queues_max) is reached");
      if (err == ENOSYS)
        throw std::runtime_error("posix_mq: this kernel has no POSIX message queues (CONFIG_POSIX_MQUEUE)");
      throw std::runtime_error(fmt::format("posix_mq: mq_open {}: {}", name, std::strerror(err)));
    }
    if (::mq_unlink(name.c_str()) != 0) {
      const int err = errno;
      ::mq_close(q);
      throw std::runtime_error(fmt::format("posix_mq: mq_unlink {}: {}", name, std::strerror(err)));
    }
    return q;
  }
  throw std::runtime_error("posix_mq: 100 queue names of this pid already exist in /dev/mqueue (remove /dev/mqueue/ringlab-mq-*)");
}

std::string raise_mq_limits(std::size_t capacity, std::size_t item_bytes) {
  if (capacity > hard_msg_max)
    throw std::runtime_error(fmt::format("posix_mq: capacity {} exceeds the kernel's ceiling of {} messages per queue "
                                         "(HARD_MSGMAX): no setting raises it",
                                         capacity, hard_msg_max));
  if (item_bytes > hard_msgsize_max)
    throw std::runtime_error(fmt::format("posix_mq: {}-byte messages exceed the kernel's ceiling of {} bytes (HARD_MSGSIZEMAX)",
                                         item_bytes, hard_msgsize_max));
  const mq_limits now = current_mq_limits();
  rlimit rl{};
  if (::getrlimit(RLIMIT_MSGQUEUE, &rl) != 0) throw std::runtime_error(std::string("getrlimit RLIMIT_MSGQUEUE: ") + std::strerror(errno));
  const std::size_t charged = mq_charged_bytes(capacity, item_bytes);
  const bool raise_msg_max = capacity > now.msg_max, raise_msgsize = item_bytes > now.msgsize_max;
  const bool raise_rlimit = rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < charged;
  if (!raise_msg_max && !raise_msgsize && !raise_rlimit) return "";
  if (::geteuid() != 0)
    throw std::runtime_error(fmt::format("posix_mq: a queue of {} messages of {} bytes needs higher limits "
                                         "(fs.mqueue.msg_max {}, msgsize_max {}, RLIMIT_MSGQUEUE {} bytes), and raising them "
                                         "needs root: run as root or ask root for `sysctl fs.mqueue.msg_max={}`",
                                         capacity, item_bytes, now.msg_max, now.msgsize_max, bytes_limit(rl.rlim_cur),
                                         std::max(capacity, now.msg_max)));
  std::vector<std::string> changed;
  // The rlimit first: if it cannot be raised, nothing system-wide has been changed yet.
  if (raise_rlimit) {
    // The limit counts all of this user's queues: leave room for the ones it has already.
    const rlim_t want = rl.rlim_cur + charged;
    const rlimit raised{want, rl.rlim_max == RLIM_INFINITY ? RLIM_INFINITY : std::max(rl.rlim_max, want)};
    if (::setrlimit(RLIMIT_MSGQUEUE, &raised) != 0)
      throw std::runtime_error(fmt::format("posix_mq: cannot raise RLIMIT_MSGQUEUE to {} bytes (hard limit {}): {} "
                                           "(above the hard limit needs CAP_SYS_RESOURCE, which a container may withhold)",
                                           want, bytes_limit(rl.rlim_max), std::strerror(errno)));
    changed.push_back(fmt::format("RLIMIT_MSGQUEUE {} -> {} bytes (this process)", bytes_limit(rl.rlim_cur), want));
  }
  if (raise_msg_max) {
    write_proc(msg_max_path, capacity);
    changed.push_back(fmt::format("fs.mqueue.msg_max {} -> {}", now.msg_max, capacity));
  }
  if (raise_msgsize) {
    write_proc(msgsize_max_path, item_bytes);
    changed.push_back(fmt::format("fs.mqueue.msgsize_max {} -> {}", now.msgsize_max, item_bytes));
  }
  std::string line;
  for (const auto& c : changed) line += (line.empty() ? "" : "; ") + c;
  return line;
}

}  // namespace ringlab::ipc
