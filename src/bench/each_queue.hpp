// The queues the micro-benchmarks run: every queue of src/queue_list.hpp (the registry's
// own list), under its command-line name, at 1024 slots or the one size it takes.
#pragma once
#include <cstddef>
#include <stdexcept>

#include <ringlab/tag.hpp>

#include "queue_list.hpp"

namespace ringlab::bench {

using item = ringlab::tag;  // 64-bit (producer, sequence), never 0
using ringlab::thread_counts;
using ringlab::make_queue;

// The capacity every queue is measured at, unless it refuses it (single slots: 1).
inline constexpr std::size_t default_capacity = 1024;

template <class Q>
std::size_t capacity_for() {
  try {
    (void)make_queue<Q>(default_capacity, thread_counts{1, 1});
    return default_capacity;
  } catch (const std::invalid_argument&) {
    return 1;
  }
}

// Calls add.template operator()<Q>(name, capacity) for each queue this build has.
template <class Add>
void for_each_queue(Add&& add) {
#define RINGLAB_BENCH_ADD(name, Template, description) \
  add.template operator()<Template<item>>(name, capacity_for<Template<item>>());
  RINGLAB_ALL_QUEUES(RINGLAB_BENCH_ADD)
#undef RINGLAB_BENCH_ADD
}

// A queue on the heap, on its own lines, built the way the harness builds it for one
// producer and one consumer (make_queue; the queue need not be movable).
template <class Q>
struct alignas(false_sharing_range) queue_box {
  explicit queue_box(std::size_t capacity) : q(make_queue<Q>(capacity, thread_counts{1, 1})) {}
  Q q;
};

}  // namespace ringlab::bench
