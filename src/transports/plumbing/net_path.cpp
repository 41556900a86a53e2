#include "transports/plumbing/net_path.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>
#include <stdexcept>

extern char** environ;

namespace ringlab::ipc {
namespace {

constexpr const char* producers_address = "198.18.0.1";
constexpr const char* consumers_address = "198.18.0.2";
constexpr const char* netns_dir = "/run/netns";

std::string& side_address() {
  static std::string address = "127.0.0.1";
  return address;
}

// Runs a tool (ip, tc) without a shell; "" if it succeeded, else its command line and
// what it wrote to stderr.
std::string run_tool(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) return line + ": pipe: " + std::strerror(errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(err[1]);
  std::string said;
  char buf[512];
  for (ssize_t n; (n = ::read(err[0], buf, sizeof buf)) > 0;) said.append(buf, static_cast<std::size_t>(n));
  ::close(err[0]);
  if (spawned != 0)
    return line + ": " + std::strerror(spawned) + (spawned == ENOENT ? " (install iproute2)" : "");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
  for (auto& ch : said)
    if (ch == '\n') ch = ' ';
  return line + ": " + (said.empty() ? "failed" : said);
}

std::string name_of(long pid, char side) { return "rl" + std::to_string(pid) + side; }

void remove_pair(long pid) {
  for (char side : {'p', 'c'}) (void)run_tool({"ip", "netns", "del", name_of(pid, side)});
}

}  // namespace

net_path parse_net_path(const std::string& spec) {
  net_path path;
  path.spec = spec;
  if (spec == "loopback") return path;
  std::vector<std::string> parts;
  for (std::size_t at = 0;;) {
    const std::size_t comma = spec.find(',', at);
    parts.push_back(spec.substr(at, comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (parts[0] != "veth") throw std::invalid_argument("must be loopback or veth[,tbf=RATE][,netem=DELAY]");
  path.veth = true;
  static const std::regex rate(R"([0-9]+(\.[0-9]+)?(bit|kbit|mbit|gbit))"), delay(R"([0-9]+(\.[0-9]+)?(us|ms|s))");
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p.rfind("tbf=", 0) == 0 && std::regex_match(p.substr(4), rate)) path.tbf_rate = p.substr(4);
    else if (p.rfind("netem=", 0) == 0 && std::regex_match(p.substr(6), delay)) path.netem_delay = p.substr(6);
    else throw std::invalid_argument("'" + p + "' is not tbf=RATE (e.g. 100mbit) or netem=DELAY (e.g. 1ms)");
  }
  if (!path.tbf_rate.empty() && !path.netem_delay.empty())
    throw std::invalid_argument("one shaper at a time (tbf or netem)");
  return path;
}

net_sides::net_sides(const net_path& path) {
  if (!path.veth) return;
  if (::geteuid() != 0)
    throw std::runtime_error("--net " + path.spec + ": creating network namespaces needs root (CAP_NET_ADMIN)");
  remove_stale_namespaces();
  const long pid = static_cast<long>(::getpid());
  const std::string p = name_of(pid, 'p'), c = name_of(pid, 'c');
  remove_pair(pid);  // a pair an earlier run of this process could not remove
  created_ = true;
  const std::vector<std::vector<std::string>> steps = {
      {"ip", "netns", "add", p},
      {"ip", "netns", "add", c},
      {"ip", "link", "add", p, "netns", p, "type", "veth", "peer", "name", c, "netns", c},
      {"ip", "-n", p, "addr", "add", std::string(producers_address) + "/30", "dev", p},
      {"ip", "-n", c, "addr", "add", std::string(consumers_address) + "/30", "dev", c},
      {"ip", "-n", p, "link", "set", "lo", "up"},
      {"ip", "-n", c, "link", "set", "lo", "up"},
      {"ip", "-n", p, "link", "set", p, "up"},
      {"ip", "-n", c, "link", "set", c, "up"},
  };
  auto step = [&](const std::vector<std::string>& argv) {
    if (const std::string e = run_tool(argv); !e.empty()) {
      remove_pair(pid);
      created_ = false;
      throw std::runtime_error("--net " + path.spec + ": " + e);
    }
  };
  for (const auto& s : steps) step(s);
  // The producers' end shapes what they send (the items' direction).
  if (!path.tbf_rate.empty())
    step({"tc", "-n", p, "qdisc", "add", "dev", p, "root", "tbf", "rate", path.tbf_rate, "burst", "64kb", "latency", "100ms"});
  if (!path.netem_delay.empty()) {
    const std::string e = run_tool({"tc", "-n", p, "qdisc", "add", "dev", p, "root", "netem", "delay", path.netem_delay});
    if (!e.empty()) {
      remove_pair(pid);
      created_ = false;
      throw std::runtime_error("--net " + path.spec + ": " + e +
                               (e.find("unknown") != std::string::npos ? " (this kernel has no netem: sch_netem)" : ""));
    }
  }
  producers_ = {p, producers_address};
  consumers_ = {c, consumers_address};
}

net_sides::~net_sides() {
  if (created_) remove_pair(static_cast<long>(::getpid()));
}

void enter_side_net(const side_net& side) {
  if (!side.netns.empty()) {
    const std::string path = std::string(netns_dir) + "/" + side.netns;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("network namespace " + path + ": " + std::strerror(errno));
    const int rc = ::setns(fd, CLONE_NEWNET);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) throw std::runtime_error("setns " + path + ": " + std::strerror(saved));
  }
  side_address() = side.address;
}

const std::string& this_side_address() { return side_address(); }

std::vector<std::string> stale_namespaces() {
  std::vector<std::string> stale;
  static const std::regex ours(R"(rl([0-9]+)[pc])");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(netns_dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, ours)) continue;
    const long pid = std::stol(m[1].str());
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(name);
  }
  return stale;
}

std::vector<std::string> remove_stale_namespaces() {
  std::vector<std::string> removed;
  for (const auto& name : stale_namespaces())
    if (run_tool({"ip", "netns", "del", name}).empty()) removed.push_back(name);
  return removed;
}

std::pair<std::string, unsigned> split_host_port(const std::string& text, const char* option) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw std::invalid_argument(fmt::format("{} {}: must be HOST:PORT", option, text));
  const std::string port = text.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535)
    throw std::invalid_argument(fmt::format("{} {}: the port must be a number from 0 to 65535", option, text));
  return {text.substr(0, colon), static_cast<unsigned>(std::stoul(port))};
}

}  // namespace ringlab::ipc
