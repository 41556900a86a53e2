// Our queues' named variants: the class templates the registry (src/queues_*.cpp), the
// micro-benchmarks and anyone else instantiate under the names `ringlab list` prints.
// An ablation variant is one queue with some options switched off, not a copy.
#pragma once
#include <type_traits>

#include <ringlab/queues/floor_line_ring.hpp>
#include <ringlab/queues/floor_pingpong.hpp>
#include <ringlab/queues/handoff_slot.hpp>
#include <ringlab/queues/mpmc_ring.hpp>
#include <ringlab/queues/mutex_ring.hpp>
#include <ringlab/queues/semaphore_ring.hpp>
#include <ringlab/queues/spsc_ring.hpp>

#include "transports/kernel/pipe.hpp"
#include "transports/shm/shm_condition.hpp"
#include "transports/shm/shm_event.hpp"
#include "transports/shm/shm_semaphore.hpp"
#include "transports/shm/shm_semaphore_robust.hpp"
#include "transports/kernel/posix_mq.hpp"
#include "transports/kernel/unix_socket.hpp"
#include "transports/net/tcp_stream.hpp"
#include "transports/transport.hpp"
#include <ringlab/queues/textbook_mutex_queue.hpp>
#include <ringlab/queues/two_lock_ring.hpp>

namespace ringlab::variants {
template <class T> using mutex_ring = ringlab::mutex_ring<T>;
template <class T> using mutex_ring_plain =
    ringlab::mutex_ring<T, mutex_options{.signal_only_waiters = false, .spin_before_sleep = 0, .adaptive_lock = false,
                                         .push_hysteresis = false}>;
template <class T> using mutex_ring_std = ringlab::mutex_ring<T, mutex_options{.adaptive_lock = false}>;
template <class T> using two_lock_ring = ringlab::two_lock_ring<T>;
template <class T> using spsc_ring = ringlab::spsc_ring<T>;
template <class T> using spsc_ring_rigtorp = ringlab::spsc_ring<T, rigtorp_spsc>;
template <class T> using spsc_ring_fastforward = ringlab::spsc_ring<T, fastforward_spsc>;
template <class T> using spsc_ring_gap =
    ringlab::spsc_ring<T, spsc_options{.slot_flag = true, .reserved_empty = true, .gap = bqueue_spsc.gap, .batch = 1}>;
template <class T> using spsc_ring_reserved0 =
    ringlab::spsc_ring<T, spsc_options{.slot_flag = true, .reserved_empty = true, .gap = bqueue_spsc.gap, .batch = bqueue_spsc.batch}>;
template <class T> using spsc_ring_lamport = ringlab::spsc_ring<T, spsc_options{.cached_indices = false, .padded = false}>;
template <class T> using spsc_ring_uncached = ringlab::spsc_ring<T, spsc_options{.cached_indices = false, .padded = true}>;
template <class T> using spsc_ring_unpadded = ringlab::spsc_ring<T, spsc_options{.cached_indices = true, .padded = false}>;
template <class T> using mpmc_ring = ringlab::mpmc_ring<T>;
template <class T> using mpmc_ring_padded = ringlab::mpmc_ring<T, mpmc_options{.padded_slots = true}>;
// The floors move 64-bit words only.
template <class T> using floor_pingpong = std::conditional_t<sizeof(T) == 8, ringlab::floor_pingpong<T>, unsupported_queue<T>>;
template <class T> using floor_line_ring = std::conditional_t<sizeof(T) == 8, ringlab::floor_line_ring<T>, unsupported_queue<T>>;
// Between processes: the same rings in a shared-memory segment (scope process).
// Their sides watch each other through the run's side registry; .unwatched: as before it,
// for the cost of watching and as the control that nobody else tells a survivor.
template <class T> using shm_spsc = ipc::between_processes<ipc::watched_ring<ringlab::spsc_ring<T>>>;
template <class T> using shm_mpmc = ipc::between_processes<ipc::watched_ring<ringlab::mpmc_ring<T>>>;
template <class T> using shm_spsc_unwatched = ipc::between_processes<ringlab::spsc_ring<T>>;
template <class T> using shm_mpmc_unwatched = ipc::between_processes<ringlab::mpmc_ring<T>>;
template <class T> using os_pipe = ipc::between_processes<ipc::pipe_transport<T>>;
template <class T> using shm_semaphore = ipc::between_processes<ipc::shm_semaphore<T>>;
template <class T> using shm_semaphore_robust = ipc::between_processes<ipc::shm_semaphore_robust<T>>;
template <class T> using shm_condition = ipc::between_processes<ipc::shm_condition<T>>;
template <class T> using shm_event = ipc::between_processes<ipc::shm_event<T>>;
template <class T> using os_pipe_semaphore = ipc::between_processes<ipc::semaphore_pipe_transport<T>>;
template <class T> using os_pipe_batch = ipc::between_processes<ipc::batched_pipe_transport<T>>;
template <class T> using posix_mq = ipc::between_processes<ipc::posix_mq<T>>;
template <class T> using unix_socket = ipc::between_processes<ipc::unix_socket<T>>;
template <class T> using unix_seqpacket = ipc::between_processes<ipc::unix_seqpacket<T>>;
// Between hosts: a network stream (scope host).
template <class T> using tcp = ipc::between_processes<ipc::tcp_stream<T>>;
}  // namespace ringlab::variants

