// ringlab's queues inside atomic_queue's own benchmark program (src/benchmarks.cc at the
// Debian-packaged commit 83774a2), for experiments/authors/atomic_queue.sh. Ours only:
// the program itself is built from the user's own checkout and never copied here.
// That program drives boost's spsc_queue through a push/pop pair that retries try-calls
// with a pause; spsc_ring is driven the same way. RinglabAq puts ringlab's own adapter for
// atomic_queue (src/peers/atomic_queue.hpp, `block` = the optimist push/pop) in the
// author's loop, to tell the adapter's cost from the loop's.
#pragma once
#include <ringlab/queues/spsc_ring.hpp>

#include "peers/atomic_queue.hpp"

template <class T, unsigned Capacity, ringlab::spsc_options Options = ringlab::bqueue_spsc>
struct RinglabSpsc : ringlab::spsc_ring<T, Options> {
  RinglabSpsc() : ringlab::spsc_ring<T, Options>(Capacity) {}
  void push(T item) {
    while (!this->try_push(item)) atomic_queue::spin_loop_pause();
  }
  T pop() {
    T item;
    while (!this->try_pop(item)) atomic_queue::spin_loop_pause();
    return item;
  }
};

template <class T, unsigned Capacity>
struct RinglabAq : ringlab::peers::aq_AtomicQueue_spsc<T> {
  RinglabAq() : ringlab::peers::aq_AtomicQueue_spsc<T>(Capacity, ringlab::thread_counts{1, 1}) {}
  void push(T item) { ringlab::peers::aq_AtomicQueue_spsc<T>::push(item); }
  T pop() {
    T item;
    ringlab::peers::aq_AtomicQueue_spsc<T>::pop(item);
    return item;
  }
};
