// Transports between processes (scope process). A transport is built once, by the
// conductor, from a capacity and `block_bytes(capacity)` bytes of the run's shared-memory
// segment (scopes/processes/run_processes.hpp); the sides, forked afterwards, inherit it. Our
// lock-free rings keep everything in that memory (the same headers as between threads,
// no copy); a kernel transport (a pipe) takes no memory there and lives in the file
// descriptors the sides inherit. between_processes<T> marks such a transport; as a type
// it is still T, so everything that takes a queue takes it.
#pragma once
#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <ringlab/peer_lost.hpp>
#include <ringlab/wait.hpp>

#include "transports/plumbing/side_registry.hpp"

namespace ringlab::ipc {

// peer_lost and notices_dead_peers are part of the queue contract (ringlab/peer_lost.hpp):
// the harness's side loops see them there, never here.
using ::ringlab::notices_dead_peers;
using ::ringlab::peer_lost;

// Which process a transport object is in, after the fork.
enum class role { producer, consumer, conductor };

// Optional hook `void enter(role, unsigned index)`: called once in each side's process
// before it runs, and in the conductor once every side is forked. A kernel transport
// closes the ends that role does not use (so that a dead peer reads as EOF / EPIPE); a
// peer library starts its per-process runtime there.
template <class Transport>
void enter(Transport& t, role r, unsigned index) {
  if constexpr (requires { t.enter(r, index); }) t.enter(r, index);
}

// Optional hook `void leave(role)`: called once in a side's process when its loop is done
// (a network stream's producer sends its end of stream; its consumer joins its threads).
template <class Transport>
void leave(Transport& t, role r) {
  if constexpr (requires { t.leave(r); }) t.leave(r);
}

// A network stream's options, from the run's configuration (--tcp-nodelay, --batch, --port).
struct stream_options {
  unsigned producers = 1;  // connections the consumer waits for
  bool nodelay = false;
  unsigned batch = 1;
  unsigned port = 0;
  unsigned consumers = 1;  // callers the serving side waits for (rpc)
};

// The conductor builds a transport in `slot` from a capacity and its bytes of the segment;
// a transport that takes stream options gets them too.
template <class Transport>
Transport& build_transport(std::optional<Transport>& slot, std::size_t capacity, void* block, const stream_options& options) {
  if constexpr (std::is_constructible_v<Transport, std::size_t, void*, stream_options>)
    return slot.emplace(capacity, block, options);
  else
    return slot.emplace(capacity, block);
}

// A transport whose sides talk over a network (scope host: `static constexpr bool
// over_network = true`); the others between processes are scope process.
template <class T>
inline constexpr bool over_network = requires { requires T::over_network; };

// A network transport whose two hosts can be two machines (`ringlab serve` / `run
// --connect`, scopes/hosts/run_split.hpp): the host with its listener publishes where it is
// ("addr:port", "failed", "" not yet), the other meets it there.
template <class T>
inline constexpr bool splits_across_hosts = over_network<T> && requires(T& t, const std::string& at) {
  { t.published() } -> std::convertible_to<std::string>;
  t.meet(at);
};

template <class Transport>
struct between_processes : Transport {
  using transport = Transport;
  using Transport::Transport;
};

template <class Q>
inline constexpr bool is_process_transport = false;
template <class Transport>
inline constexpr bool is_process_transport<between_processes<Transport>> = true;

// A transport whose sides register in the run's segment and watch each other in every
// wait (side_registry.hpp) says so (`static constexpr bool watches_peers = true`): our
// own transports in shared memory, which have no descriptor to report EOF. Peers and
// kernel transports say only what they notice themselves.
template <class T>
inline constexpr bool watches_peers = requires { requires T::watches_peers; };

// What a kill leaves, as a transport declares it (`static constexpr crash_guarantee
// after_crash`) and every crash run checks (scopes/processes/fault.cpp): exactly_once:
// every item whose push completed arrives once; at_most_once: none arrives twice, and the
// one item the dead side held is lost with it.
enum class delivery { undeclared, exactly_once, at_most_once };
struct crash_guarantee {
  delivery producer_dies = delivery::undeclared, consumer_dies = delivery::undeclared;
};
// Ours in shared memory and posix_mq: a push publishes a whole item or nothing (a dead
// producer's half-written slot is never published, or is dropped by the replacement's
// repair; a message is in the kernel whole or not at all); a pop takes the item out before
// the consumer finishes it, so a dead consumer's item is gone.
inline constexpr crash_guarantee published_items_once{delivery::exactly_once, delivery::at_most_once};
template <class T>
constexpr crash_guarantee crash_guarantee_of() {
  if constexpr (requires { T::after_crash; }) return T::after_crash;
  else return {};
}
// A transport that declares a guarantee is held to it: its crash runs keep a ledger (each
// side's counts in the run's segment, harness/crash_ledger.hpp), and only its sides pay
// for one, in the ledgered loop.
template <class T>
inline constexpr bool keeps_crash_ledger = crash_guarantee_of<T>().producer_dies != delivery::undeclared;
// A transport whose crash runs can carry on (--carry-on, scopes/processes/carry_on.hpp):
// its sides watch each other (the registry holds their places), it declares what a death
// leaves (the ledger gives the resume point), and a new user repairs what the dead one
// left (adopt_*, or the kernel's EOWNERDEAD on its robust lock).
template <class T>
inline constexpr bool can_carry_on = watches_peers<T> && keeps_crash_ledger<T>;
inline const char* to_string(delivery d) {
  return d == delivery::exactly_once ? "exactly-once" : d == delivery::at_most_once ? "at-most-once" : "";
}

// One of our rings in shared memory, watched: the same ring, its waits watched.
template <class Ring>
struct watched_ring : Ring {
  using Ring::Ring;
  explicit watched_ring(Ring&& view) : Ring(std::move(view)) {}
  static watched_ring attach(void* memory) { return watched_ring(Ring::attach(memory)); }
  static constexpr bool watches_peers = true;
  static constexpr bool notices_dead_peers = true;  // through the registry
  static constexpr crash_guarantee after_crash = published_items_once;
};

// A wait across processes: every 8th failed attempt (a counter in a register) reads the
// clock, and at most every 0.25 ms it looks at the other sides (peer_watch); a death
// ends the wait as a close would, and then throws peer_lost (not from inside W's loop,
// which may be between its bookkeeping steps). A wait shorter than 8 attempts never
// looks: its peer evidently lives. A park across processes sleeps at most 1 ms at a
// time, and it asks only between yields and sleeps, where a clock read costs nothing:
// it reads the clock every time, so a sleeper looks after each sleep, not each 4th.
template <class W>
struct watched : W {
  static constexpr unsigned attempts_per_clock_read = requires { W::shared_sleep_limit_ns; } ? 1 : 8;
  template <class Op, class Stop>
  static bool until(typename W::channel& ch, Op&& op, Stop&& stopped) {
    unsigned countdown = attempts_per_clock_read;
    bool found_dead = false;
    auto stop = [&] {
      if (--countdown == 0) {
        countdown = attempts_per_clock_read;
        found_dead = found_dead || peer_watch::look_if_due();  // once dead, stays
      }
      return found_dead || stopped();
    };
    if (W::until(ch, op, stop)) return true;
    if (found_dead) throw peer_lost(peer_watch::obituary());
    return false;
  }
};

// How a side waits across processes: park's futex must be process-shared (a private
// futex, std::atomic::wait's, never wakes another process); every strategy is watched;
// `block` is the transport's own waiting, which watches for itself where it can.
template <class W>
struct across_processes {
  using type = watched<W>;
};
template <unsigned S, unsigned Y, bool P, bool R, class Window>
struct across_processes<basic_park<S, Y, P, R, Window>> {
  using type = watched<basic_park<S, Y, true, R, Window>>;
};
template <>
struct across_processes<block> {
  using type = block;
};
template <class W>
using across_processes_t = typename across_processes<W>::type;

}  // namespace ringlab::ipc
