// `ringlab check NAME`: the conformance and stress suites on an extra queue (-Dextra_queues),
// one line per property, pass or FAIL with the first counterexample; exit 1 on any FAIL.
// Ringlab's own queues are checked by the test suite (scripts/test): exit 2 saying so.
#include <fmt/core.h>

#include <memory>
#include <string>

#include "check/stress.hpp"
#include "commands/commands.hpp"
#include "registry.hpp"

namespace ringlab::commands {

runner add_check(CLI::App& app) {
  auto* cmd = app.add_subcommand("check", "Run the conformance and stress suites on an extra queue (-Dextra_queues)");
  auto name = std::make_shared<std::string>();
  cmd->add_option("queue", *name, "The queue, as `ringlab list` names it")->required();
  return [name] {
    const queue_entry* entry = nullptr;
    try {
      entry = &registry::instance().at(*name);
    } catch (const std::invalid_argument& e) {
      throw usage_error(e.what());
    }
    if (!entry->check)
      throw usage_error(fmt::format("'{}' is one of ringlab's own queues: its checks are in the test suite (scripts/test); "
                                    "`ringlab check` runs those of -Dextra_queues headers",
                                    *name));
    const std::uint64_t seed = check::stress_seed();
    bool all_passed = true;
    for (const auto& line : entry->check(seed)) {
      using verdict = check_line::verdict;
      const char* word = line.result == verdict::pass ? "pass" : line.result == verdict::fail ? "FAIL —" : "skipped";
      const bool parenthesised = line.result != verdict::fail;
      fmt::print("{}: {} {}{}{}\n", line.property, word, parenthesised ? "(" : "", line.detail, parenthesised ? ")" : "");
      all_passed = all_passed && line.result != verdict::fail;
    }
    return all_passed ? 0 : 1;
  };
}

}  // namespace ringlab::commands
