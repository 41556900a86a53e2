// `ringlab clean`: what /dev/shm holds under ringlab's prefix, and the removal of our
// segments whose creator is gone (a run killed in the moment between creating its
// segment and unlinking it). Segments of a live run, and any that are not ours, stay.
// Likewise the network namespaces of `--net veth` runs whose creator is gone.
#include <fmt/core.h>

#include "commands/commands.hpp"
#include "transports/plumbing/net_path.hpp"
#include "transports/plumbing/segment.hpp"

namespace ringlab::commands {

runner add_clean(CLI::App& app) {
  auto* cmd = app.add_subcommand("clean", "List ringlab's shared-memory segments (and network namespaces) and remove those whose creator is gone");
  auto dry_run = std::make_shared<bool>(false);
  cmd->add_flag("--dry-run", *dry_run, "Only list them");
  return [dry_run] {
    const auto found = ipc::list_segments();
    if (found.empty()) fmt::print("ringlab clean: /dev/shm holds no segment of ringlab's\n");
    for (const auto& e : found) {
      const bool stale = e.ours && !e.creator_alive;
      const bool removed = stale && !*dry_run && ipc::remove_segment(e.name);
      fmt::print("{}{}\n", e.describe(), removed ? ": removed" : stale ? ": would be removed" : "");
    }
    const auto namespaces = *dry_run ? ipc::stale_namespaces() : ipc::remove_stale_namespaces();
    for (const auto& name : namespaces)
      fmt::print("network namespace {} (its run is gone){}\n", name, *dry_run ? ": would be removed" : ": removed");
    return 0;
  };
}

}  // namespace ringlab::commands
