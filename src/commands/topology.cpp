// `ringlab topology`: what hwloc sees, and the clock the harness will use.
#include <fmt/core.h>

#include <map>

#include "commands/commands.hpp"
#include "harness/clock.hpp"
#include "harness/output.hpp"
#include "harness/pinning.hpp"

namespace ringlab::commands {

runner add_topology(CLI::App& app) {
  auto* cmd = app.add_subcommand("topology", "Show packages, L3 groups, cores, PUs and the clock's cost");
  auto xml = std::make_shared<std::string>();
  cmd->add_option("--xml", *xml, "Read an hwloc XML topology instead of this machine's");
  return [xml] {
    const auto topo = xml->empty() ? harness::topology::this_machine() : harness::topology::from_xml(*xml);
    if (xml->empty()) fmt::print("host id   {}\n", harness::machine_host_id(topo));
    else fmt::print("from      {}\n", *xml);
    fmt::print("topology  {}\n", topo.summary());
    std::map<unsigned, std::map<unsigned, std::map<unsigned, std::vector<unsigned>>>> tree;  // package > L3 > core > PUs
    for (const auto& p : topo.pus()) tree[p.package][p.l3][p.core].push_back(p.os_index);
    for (const auto& [package, l3s] : tree) {
      fmt::print("package {}\n", package);
      for (const auto& [l3, cores] : l3s) {
        fmt::print("  L3 group {}\n", l3);
        for (const auto& [core, pus] : cores) {
          std::string list;
          for (auto pu : pus) list += (list.empty() ? "" : " ") + std::to_string(pu);
          fmt::print("    core {:<4} PUs {}{}\n", core, list, pus.size() > 1 ? "  (SMT siblings)" : "");
        }
      }
    }
    if (xml->empty()) fmt::print("clock     {}\n", harness::calibrated_clock().describe());
    return 0;
  };
}

}  // namespace ringlab::commands
