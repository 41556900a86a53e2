// A crash run whose replacement carries on (`--kill producer|consumer --carry-on`): the
// dead side's part of the run goes on in a new process, and the survivor goes on with it.
// carrying_on<Endpoint> is both sides' end of the transport in such a run. Its blocking
// push and pop, when their wait finds a side dead (peer_lost), note when, wait idle for
// the replacement's repair (side_registry::await_repair) and try again; only if no repair
// comes does the peer_lost reach the side loop, which then stops the run as before. Its
// own type: the side loops of every other run are compiled as they were.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include <ringlab/queue.hpp>
#include <ringlab/wait.hpp>

#include "harness/sides.hpp"
#include "transports/plumbing/side_registry.hpp"
#include "transports/transport.hpp"

namespace ringlab::ipc {

template <class Endpoint>
struct carrying_on {
  static constexpr std::uint64_t patience_ns = 2'000'000'000;  // for the repair, once the death is known
  static constexpr bool resumes_midway = true;  // a replacement producer starts at first_sequence (sides.hpp)

  Endpoint& end;
  side_registry& registry;
  unsigned me;                       // this side's registry index
  harness::thread_outcome& outcome;  // where it notes when it learnt of the death

  template <class T>
  bool try_push(const T& item) { return end.try_push(item); }
  template <class T>
  bool try_pop(T& item) { return end.try_pop(item); }
  void flush() requires requires(Endpoint& e) { e.flush(); } { end.flush(); }

  // `op` (a blocking push or pop), tried again after each repair.
  template <class Op, class Stopped>
  bool retrying(Op&& op, Stopped&& stopped) {
    for (;;) {
      try {
        return op();
      } catch (const peer_lost& e) {
        if (!outcome.peer_lost_ns) outcome.peer_lost_ns = harness::monotonic_now_ns(), outcome.peer_lost_how = e.what();
        registry.dead_other_than(me);  // a death the transport reported (EOWNERDEAD) is marked for the replacement
        if (!registry.await_repair(stopped, patience_ns)) throw;
      }
    }
  }
};

// The harness's blocking calls, found for carrying_on by argument-dependent lookup.
template <wait_strategy W, class Endpoint, class T>
bool push(carrying_on<Endpoint>& q, wait_state<W>& ws, const T& item) {
  return q.retrying([&] { return ringlab::push(q.end, ws, item); }, [&] { return ws.is_closed(); });
}
template <wait_strategy W, class Endpoint, class T>
bool pop(carrying_on<Endpoint>& q, wait_state<W>& ws, T& item) {
  return q.retrying([&] { return ringlab::pop(q.end, ws, item); }, [&] { return ws.is_closed(); });
}

}  // namespace ringlab::ipc
