// Our lock-free rings between processes: the same header code as the thread versions (no
// copy), built in a POSIX shared-memory segment (ipc/segment.hpp) that the side
// processes inherit. in_shared_memory<R> marks a ring as such a transport (scope
// process); as a type it is still the ring, so everything that takes a queue takes it.
#pragma once
#include <ringlab/wait.hpp>

namespace ringlab::ipc {

template <class Ring>
struct in_shared_memory : Ring {
  using ring = Ring;
  using Ring::Ring;
};

template <class Q>
inline constexpr bool is_shared_memory_transport = false;
template <class Ring>
inline constexpr bool is_shared_memory_transport<in_shared_memory<Ring>> = true;

// How a side waits across processes: park's futex must be process-shared (a private
// futex, std::atomic::wait's, never wakes another process); spin and yield need nothing.
template <class W>
struct across_processes {
  using type = W;
};
template <unsigned S, unsigned Y, bool P, bool R, class Window>
struct across_processes<basic_park<S, Y, P, R, Window>> {
  using type = basic_park<S, Y, true, R, Window>;
};
template <class W>
using across_processes_t = typename across_processes<W>::type;

}  // namespace ringlab::ipc
