// `ringlab`: the command-line entry point. Subcommands live in src/commands/.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "commands/commands.hpp"
#include "harness/output.hpp"

int main(int argc, char** argv) {
  ringlab::harness::set_command_line(argc, argv);
  std::signal(SIGXFSZ, SIG_IGN);  // a file size limit makes a write short (handled), not fatal
  CLI::App app{"ringlab — the producer-consumer research suite"};
  app.require_subcommand(1);
  std::map<std::string, ringlab::commands::runner> runners;
  runners["list"] = ringlab::commands::add_list(app);
  runners["topology"] = ringlab::commands::add_topology(app);
  runners["run"] = ringlab::commands::add_run(app);
  runners["serve"] = ringlab::commands::add_serve(app);
  runners["provenance"] = ringlab::commands::add_provenance(app);
  runners["sweep"] = ringlab::commands::add_sweep(app);
  runners["plot"] = ringlab::commands::add_plot(app);
  runners["report"] = ringlab::commands::add_report(app);
  runners["reproduce"] = ringlab::commands::add_reproduce(app);
  runners["merge"] = ringlab::commands::add_merge(app);
  runners["status"] = ringlab::commands::add_status(app);
  runners["clean"] = ringlab::commands::add_clean(app);
  runners["check"] = ringlab::commands::add_check(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "ringlab: error: {}\n", e.what());
    return 2;
  }
  const std::string name = app.get_subcommands().front()->get_name();
  try {
    return runners.at(name)();
  } catch (const ringlab::commands::usage_error& e) {
    fmt::print(stderr, "ringlab {}: error: {}\n", name, e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "ringlab {}: error: {}\n", name, e.what());
    return 1;
  }
}
