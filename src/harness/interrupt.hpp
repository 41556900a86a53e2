// Ctrl-C: the first SIGINT/SIGTERM asks the current run to stop cleanly (no row, exit
// 130); a second one exits at once.
#pragma once
#include <atomic>

namespace ringlab::harness {

void install_interrupt_handler();
bool interrupted() noexcept;
inline constexpr int interrupted_exit_status = 130;

}  // namespace ringlab::harness
