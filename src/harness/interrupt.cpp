#include "harness/interrupt.hpp"

#include <csignal>
#include <unistd.h>

namespace ringlab::harness {
namespace {

std::atomic<int> signals_seen{0};

extern "C" void on_signal(int) {
  if (signals_seen.fetch_add(1) >= 1) _exit(interrupted_exit_status);
  const char msg[] = "\nringlab: interrupted; stopping (Ctrl-C again to quit at once)\n";
  [[maybe_unused]] auto n = write(2, msg, sizeof msg - 1);
}

}  // namespace

void install_interrupt_handler() {
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() noexcept { return signals_seen.load(std::memory_order_relaxed) != 0; }

}  // namespace ringlab::harness
