// The one part of the queue contract only a transport between processes or hosts uses:
// a queue whose other side can die. One that learns of a peer's death by itself (EOF,
// EPIPE, EOWNERDEAD, a peer library's own liveness check) throws peer_lost from
// try_push/try_pop, saying how it knew ("EOF on the pipe"); the side reports it as its
// error and the crash suite records it.
#pragma once
#include <stdexcept>

namespace ringlab {

struct peer_lost : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A queue that may throw peer_lost says so (`static constexpr bool notices_dead_peers =
// true`); only then do the harness's side loops catch it (src/harness/sides.hpp).
template <class T>
inline constexpr bool notices_dead_peers = requires { requires T::notices_dead_peers; };

}  // namespace ringlab
