// `ringlab provenance FILE.csv`: write FILE.json, the provenance of results made outside
// `ringlab run`/`sweep` on this machine (the Google Benchmark micro-costs).
#include <fmt/core.h>

#include <filesystem>

#include "commands/commands.hpp"
#include "harness/output.hpp"

namespace ringlab::commands {

runner add_provenance(CLI::App& app) {
  auto* cmd = app.add_subcommand("provenance", "Write the provenance JSON for a CSV made on this machine");
  auto csv = std::make_shared<std::string>();
  auto note = std::make_shared<std::string>();
  cmd->add_option("csv", *csv, "The CSV (its .json sibling is written)")->required();
  auto wall_s = std::make_shared<double>(-1);
  cmd->add_option("--command", *note, "The command that produced the CSV, recorded as-is");
  cmd->add_option("--wall-s", *wall_s, "How long that command took, in seconds (recorded as the session's wall_s)")
      ->check(CLI::NonNegativeNumber);
  return [csv, note, wall_s] {
    const auto topo = harness::topology::this_machine();
    const auto prov = harness::collect_provenance(harness::calibrated_clock(), topo, *note);
    const std::string extra = *wall_s >= 0 ? fmt::format("\"wall_s\": {:.1f}", *wall_s) : "";
    harness::write_provenance(*csv, prov, extra, "", /*fresh=*/true);  // the CSV was written whole: one session
    fmt::print("{}\n", std::filesystem::path(*csv).replace_extension(".json").string());
    return 0;
  };
}

}  // namespace ringlab::commands
