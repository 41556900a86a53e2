// `ringlab serve --listen ADDR:PORT`: the producers' host of a run split across two
// machines. It waits for `ringlab run --connect` on the control port, takes each run's
// configuration from it, runs the producers (scopes/hosts/run_split.hpp) and sends their results
// back; the run's host writes the row. A connection that is not a ringlab's, or breaks
// its frames, is dropped with one line, and the serve goes on listening; `--once` serves
// one connection and exits with its status.
#include <arpa/inet.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <optional>

#include "commands/commands.hpp"
#include "harness/interrupt.hpp"
#include "harness/output.hpp"
#include "scopes/hosts/remote_link.hpp"
#include "registry.hpp"

namespace ringlab::commands {
namespace {

struct serve_options {
  std::string listen;
  bool once = false;
};

// One connection: runs until the peer says bye (0), or something failed (1).
int serve_connection(ipc::control_channel& channel, harness::run_context ctx) {
  const std::string who = channel.peer();
  int status = 0;
  try {
    ipc::remote_link link(channel, ipc::remote_link::half::producers, *ctx.clock);
    ctx.remote = &link;
    ctx.clock = &link.clock();
    fmt::print("ringlab serve: {} connected ({})\n", who, link.one_clock() ? "same machine: one clock" : "another machine: two clocks");
    std::fflush(stdout);
    for (;;) {
      if (harness::interrupted()) return harness::interrupted_exit_status;
      std::optional<ipc::control_frame> frame;
      try {
        frame = channel.receive(200);
      } catch (const ipc::control_broken& e) {
        if (std::string(e.what()).ends_with("the connection was closed")) {  // between runs, without a bye
          fmt::print(stderr, "ringlab serve: {}: left without a bye\n", who);
          return 1;
        }
        throw;
      }
      if (!frame) continue;
      if (frame->kind == ipc::control_kind::bye) return status;
      if (frame->kind != ipc::control_kind::run) continue;  // a straggler of the run before (a heartbeat)
      harness::run_config cfg;
      try {
        cfg = ipc::config_from_text(ipc::text_of(*frame));
        harness::validate(cfg);
        (void)harness::parse_pin(cfg.pin, *ctx.topo);
        if (cfg.connect.empty()) throw std::invalid_argument("the configuration names no --connect");
      } catch (const std::invalid_argument& e) {
        fmt::print(stderr, "ringlab serve: {}: refused a run: {}\n", who, e.what());
        link.refuse(e.what());
        status = 1;
        continue;
      }
      try {
        (void)registry::instance().at(cfg.queue).run(cfg, ctx);
        fmt::print("ringlab serve: {}: ran {} {}P{}C\n", who, cfg.queue, cfg.producers, cfg.consumers);
      } catch (const harness::run_interrupted&) {
        return harness::interrupted_exit_status;
      } catch (const std::exception& e) {
        fmt::print(stderr, "ringlab serve: {}: the run failed: {}\n", who, e.what());
        status = 1;
        if (link.broken()) return status;  // the connection is gone: nothing more on it
      }
      std::fflush(stdout);
    }
  } catch (const ipc::control_broken& e) {
    fmt::print(stderr, "ringlab serve: {}; connection dropped\n", e.what());
    return 1;
  }
}

}  // namespace

runner add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Run the producers of runs split across two hosts, for `ringlab run --connect`");
  auto o = std::make_shared<serve_options>();
  cmd->add_option("--listen", o->listen, "ADDR:PORT to wait on for `ringlab run --connect` (port 0: the kernel picks)")->required();
  cmd->add_flag("--once", o->once, "Serve one connection, then exit with its status");
  return [o] {
    ipc::unique_fd listener;
    try {
      listener = ipc::listen_control(o->listen);
    } catch (const std::invalid_argument& e) {
      throw usage_error(e.what());
    }
    harness::install_interrupt_handler();
    const auto topo = harness::topology::this_machine();
    const auto& clock = harness::calibrated_clock();
    const harness::provenance prov = harness::collect_provenance(clock, topo);
    const harness::run_context ctx{&clock, &topo, prov.host, prov.short_commit(), prov.build_id()};
    sockaddr_in at{};
    socklen_t len = sizeof at;
    ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&at), &len);
    fmt::print("ringlab serve: listening on {}:{}\n", o->listen.substr(0, o->listen.rfind(':')), ntohs(at.sin_port));
    std::fflush(stdout);
    for (;;) {
      if (harness::interrupted()) return harness::interrupted_exit_status;
      auto channel = ipc::accept_control(listener.get(), 200);
      if (!channel) continue;
      const int status = serve_connection(*channel, ctx);
      if (o->once || status == harness::interrupted_exit_status) return status;
    }
  };
}

}  // namespace ringlab::commands
