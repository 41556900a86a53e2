// A reference we did not write: `ref.sockperf` runs sockperf (Debian's `sockperf`, Mellanox's
// network latency tool) ping-pong over TCP on the same path as a `tcp` round trip — its
// server on the consumer's side (PU, namespace), its client on the producer's — and puts
// its round trip in the same columns, so an experiment can report our tcp round trip
// against the kernel's as sockperf measures it (the ratio: the harness's and the framing's
// tax). sockperf prints half round trips ("latency"); the row doubles them. Its messages
// are the item plus our 4-byte frame header, at least sockperf's minimum of 14 bytes. It
// sets TCP_NODELAY unless told --tcp-avoid-nodelay, which --tcp-nodelay off passes on.
// Its validation is its own: no message dropped, duplicated or out of order.
#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cmath>
#include <regex>
#include <stdexcept>
#include <thread>

#include "harness/config_checks.hpp"
#include "harness/pinning.hpp"
#include "transports/plumbing/net_path.hpp"
#include "registry.hpp"

namespace ringlab::peers::sockperf {
namespace {

using harness::run_config;
using harness::run_context;
using harness::run_result;

constexpr const char* queue_name = "ref.sockperf";
constexpr unsigned default_port = 11511;  // sockperf's own default is 11111

void check_config(const run_config& c) {
  if (c.shape != harness::pattern::pingpong)
    throw std::invalid_argument(fmt::format("--pattern {}: {} measures round trips only (--pattern pingpong)",
                                            to_string(c.shape), queue_name));
  if (c.wait != "block")
    throw std::invalid_argument(fmt::format("--wait {}: sockperf waits in its own blocking recvfrom (--wait block)", c.wait));
  if (c.native) throw std::invalid_argument(fmt::format("--native: {} is sockperf's own loop already", queue_name));
}

// A child that runs `argv` on `pu` in `side`'s namespace; its stdout+stderr into `out_fd`.
pid_t spawn_on(const harness::topology& topo, int pu, const ipc::side_net& side, const std::vector<std::string>& argv,
               int out_fd) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  try {
    harness::bind_this_thread(topo, pu);
    ipc::enter_side_net(side);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    ::_exit(126);
  }
  ::dup2(out_fd, 1), ::dup2(out_fd, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  fmt::print(stderr, "sockperf: not found (apt install sockperf)\n");
  ::_exit(127);
}

// Bounded: wait until the server takes a connection (from the client's namespace); at
// once false if the server has already exited (no sockperf, a port in use).
bool server_listens(pid_t server, const ipc::side_net& client_side, const std::string& address, unsigned port) {
  const pid_t probe = ::fork();
  if (probe == 0) {
    try {
      ipc::enter_side_net(client_side);
    } catch (...) {
      ::_exit(2);
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, address.c_str(), &to.sin_addr);
    for (int i = 0; i < 500; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
      ::close(fd);
      if (ok) ::_exit(0);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::_exit(1);
  }
  for (;;) {
    int status = 0;
    if (::waitpid(probe, &status, WNOHANG) == probe) return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(server), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == server) {
      // gone (left for stop_server to reap)
      ::kill(probe, SIGKILL);
      ::waitpid(probe, nullptr, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string read_all(int fd, double limit_s) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit_s);
  for (char buf[4096];;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd w{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&w, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

double matched(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return NAN;
  return std::stod(m[1].str());
}

run_result run(const run_config& cfg, const run_context& ctx) {
  const harness::pin_plan plan = harness::plan_pinning(*ctx.topo, harness::parse_pin(cfg.pin, *ctx.topo), 1, 1);
  const ipc::net_sides net(ipc::parse_net_path(cfg.net));
  const unsigned port = cfg.port ? cfg.port : default_port;
  const std::string address = net.consumers().address, message = std::to_string(std::max<std::uint64_t>(14, cfg.payload_bytes + 4));
  const int seconds = static_cast<int>(std::ceil(cfg.effective_warmup_s() + cfg.duration_s));
  int server_out[2], client_out[2];
  if (::pipe2(server_out, O_CLOEXEC) != 0 || ::pipe2(client_out, O_CLOEXEC) != 0)
    throw std::runtime_error("ref.sockperf: pipe failed");
  std::vector<std::string> server_args = {"sockperf", "server", "--tcp", "-i", address, "-p", std::to_string(port)};
  std::vector<std::string> client_args = {"sockperf", "ping-pong", "--tcp", "-i", address, "-p", std::to_string(port),
                                          "-m", message, "-t", std::to_string(seconds)};
  if (!cfg.tcp_nodelay) server_args.push_back("--tcp-avoid-nodelay"), client_args.push_back("--tcp-avoid-nodelay");
  const pid_t server = spawn_on(*ctx.topo, plan.consumer_pu[0], net.consumers(), server_args, server_out[1]);
  ::close(server_out[1]);
  auto stop_server = [&] {
    ::kill(server, SIGKILL);
    ::waitpid(server, nullptr, 0);
  };
  if (!server_listens(server, net.producers(), address, port)) {
    stop_server();
    const std::string said = read_all(server_out[0], 0.2);
    ::close(server_out[0]), ::close(client_out[0]), ::close(client_out[1]);
    throw std::runtime_error(fmt::format("ref.sockperf: its server did not listen on {}:{} within 5 s: {}", address, port,
                                         said.empty() ? "it said nothing" : said.substr(0, 300)));
  }
  const pid_t client = spawn_on(*ctx.topo, plan.producer_pu[0], net.producers(), client_args, client_out[1]);
  ::close(client_out[1]);
  const std::string out = read_all(client_out[0], seconds + 30.0);
  ::close(client_out[0]);
  ::kill(client, SIGKILL);  // done by now (or past its bound)
  int status = 0;
  ::waitpid(client, &status, 0);
  stop_server();
  ::close(server_out[0]);

  run_result r;
  r.config = cfg;
  r.config.scope = "host";
  r.host = ctx.host, r.commit = ctx.commit, r.build_id = ctx.build_id;
  r.clock_name = "sockperf";  // its own clock (rdtsc or monotonic)
  r.clock_read_ns = NAN;
  r.warmup_s = 0.4;  // sockperf's own warm-up
  r.producer_pus = plan.producer_pu, r.consumer_pus = plan.consumer_pu;
  r.oversubscribed = plan.oversubscribed;
  r.throughput_items_per_s = r.producer_cpu_ns_per_item = r.consumer_cpu_ns_per_item = r.drain_ns = NAN;
  const double received = matched(out, R"(\[Valid Duration\] RunTime=[0-9.]+ sec; SentMessages=[0-9]+; ReceivedMessages=([0-9]+))");
  const double sent = matched(out, R"(\[Valid Duration\] RunTime=[0-9.]+ sec; SentMessages=([0-9]+))");
  r.measured_s = matched(out, R"(\[Valid Duration\] RunTime=([0-9.]+) sec)");
  const double dropped = matched(out, R"(# dropped messages = ([0-9]+))"), duplicated = matched(out, R"(# duplicated messages = ([0-9]+))"),
               reordered = matched(out, R"(# out-of-order messages = ([0-9]+))");
  const double half_us = 2e3;  // sockperf's figures are half round trips in microseconds
  r.rtt.p50 = matched(out, R"(percentile 50\.000 =\s+([0-9.]+))") * half_us;
  r.rtt.p99 = matched(out, R"(percentile 99\.000 =\s+([0-9.]+))") * half_us;
  r.rtt.p999 = matched(out, R"(percentile 99\.900 =\s+([0-9.]+))") * half_us;
  r.rtt.max = matched(out, R"(<MAX> observation =\s+([0-9.]+))") * half_us;
  r.rtt_mean_ns = matched(out, R"(avg-latency=([0-9.]+))") * half_us;
  r.rtt.samples = std::isfinite(received) ? static_cast<std::uint64_t>(received) : 0;
  if (std::isfinite(sent)) r.items_pushed = static_cast<std::uint64_t>(sent);
  if (std::isfinite(received)) r.items_popped = static_cast<std::uint64_t>(received);
  if (std::isfinite(received) && r.measured_s > 0) r.throughput_items_per_s = received / r.measured_s;
  if (!std::isfinite(r.rtt.p50) || !std::isfinite(received)) {
    r.valid = false;
    r.validation_error = "sockperf printed no result: " + out.substr(out.size() > 300 ? out.size() - 300 : 0);
  } else if (dropped != 0 || duplicated != 0 || reordered != 0) {
    r.valid = false;
    r.validation_error = fmt::format("sockperf: {} dropped, {} duplicated, {} out of order", dropped, duplicated, reordered);
  } else {
    r.valid = true;
  }
  return r;
}

run_result refuse_seed(const run_config&, double, std::uint64_t, const run_context&) {
  throw std::invalid_argument("the seed scenario is for C++ queues");
}

const bool registered = [] {
  queue_properties p;
  p.lock_free = false;
  p.blocks_natively = true;
  p.spsc_only = true;
  p.stream_options = true;  // --tcp-nodelay (and --port) pass on to sockperf
  p.park_works = false;
  registry::instance().add(queue_entry{queue_name,
                                       "reference: sockperf ping-pong over TCP on the same path (its server on the consumer's "
                                       "side), round trips only; Debian's sockperf",
                                       p, "host", SIZE_MAX, {8, 64, 1024}, [](std::size_t) {}, &run, &refuse_seed,
                                       false, &ipc::check_net_spec, "block", "", "pingpong"});
  harness::add_config_check(queue_name, &check_config);
  return true;
}();

}  // namespace
}  // namespace ringlab::peers::sockperf
