// iceoryx needs its daemon, RouDi (iox-roudi, Debian package iceoryx), running before any
// process makes its runtime: RouDi owns the shared memory (/dev/shm/iceoryx_mgmt and one
// segment named after the user) and hands out publishers and subscribers. The harness
// starts and stops it itself: a roudi_lease is held by every iceoryx transport the
// conductor builds (before it forks the sides). The first lease starts iox-roudi (its
// built-in configuration, log level warning) as a child of this process, unless a RouDi
// already answers (someone else's: used, never stopped), and waits until it accepts
// (/tmp/roudi answers a connect) or fails with RouDi's own last words. The last lease
// stops it with SIGTERM, on which RouDi removes its shared memory and sockets, after
// waiting for RouDi to drop the sides' runtimes (about 1.6 s: see stop_roudi); a RouDi that
// does not leave within 5 s is killed, and one that did not leave normally has its files
// removed by us. If this process dies, RouDi gets SIGTERM
// (PR_SET_PDEATHSIG) and cleans up the same way; it runs in its own process group, so a
// Ctrl-C at the terminal reaches the harness, which then stops it.
#pragma once
#include <string>

namespace ringlab::peers {

class roudi_lease {
 public:
  roudi_lease();  // throws std::runtime_error when RouDi cannot be started
  roudi_lease(roudi_lease&& other) noexcept;
  roudi_lease& operator=(roudi_lease&&) = delete;
  ~roudi_lease();
  // In a forked side: this copy ends nothing (the conductor's lease stops RouDi).
  void forget() noexcept { held_ = false; }

 private:
  bool held_ = true;
};

// Whether a RouDi answers on its socket (ours or anyone's).
bool roudi_answers();
// The pid of the RouDi this process started, or -1.
int roudi_child_pid();
// Removes the files that the iceoryx runtimes of a run's sides left in /tmp (each runtime
// has its own Unix socket /tmp/<runtime name>; a side leaves with _exit, which keeps it).
void remove_runtime_sockets(const std::string& name_prefix);

}  // namespace ringlab::peers
