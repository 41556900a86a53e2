// Transports between processes (scope process). A transport is built once, by the
// conductor, from a capacity and `block_bytes(capacity)` bytes of the run's shared-memory
// segment (ipc/run_processes.hpp); the sides, forked afterwards, inherit it. Our
// lock-free rings keep everything in that memory (the same headers as between threads,
// no copy); a kernel transport (a pipe) takes no memory there and lives in the file
// descriptors the sides inherit. between_processes<T> marks such a transport; as a type
// it is still T, so everything that takes a queue takes it.
#pragma once
#include <ringlab/wait.hpp>

namespace ringlab::ipc {

template <class Transport>
struct between_processes : Transport {
  using transport = Transport;
  using Transport::Transport;
};

template <class Q>
inline constexpr bool is_process_transport = false;
template <class Transport>
inline constexpr bool is_process_transport<between_processes<Transport>> = true;

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
