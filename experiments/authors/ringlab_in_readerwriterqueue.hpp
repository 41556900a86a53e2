// ringlab's spsc_ring inside readerwriterqueue's own benchmark program (benchmarks/bench.cpp
// at v1.0.6, the version Debian packages), for experiments/authors/readerwriterqueue.py.
// Ours only: the program itself is built from the user's own checkout and never copied here.
// The program constructs every queue with the number of items a test puts in, calls
// enqueue (ReaderWriterQueue: never refuses, adds a block when full) and try_dequeue (one
// attempt per call: its consumers do not retry). spsc_ring has the same two calls here:
// enqueue retries try_push (never needed: every test sizes the queue for all its items,
// so a push never finds it full), try_dequeue is one try_pop.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include <ringlab/queues/spsc_ring.hpp>

template <class T>
struct RinglabSpsc : ringlab::spsc_ring<T> {
  explicit RinglabSpsc(std::size_t capacity) : ringlab::spsc_ring<T>(capacity) {}
  void enqueue(const T& item) {
    while (!this->try_push(item)) {
    }
  }
  bool try_dequeue(T& item) { return this->try_pop(item); }
};

// After the "Heavy concurrent" test's timed region: how many items its consumer took in it
// (the rest are still in the queue), on stderr with the queue's type and the run's time, so
// that the script can tell a transfer from enqueues alone in the runs the program reports;
// and whether `element`, which the consumer dequeues into and which sits beside the queue
// object in the test's stack frame, lies on one of the object's cache lines (1) or not (0).
template <class Q, class T>
int ringlab_report_taken(const char* queue_type, double time, Q& q, T& element, unsigned long long items) {
  const auto line = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) >> 6; };
  const bool shared = line(&element) >= line(&q) && line(&element) <= line(reinterpret_cast<const char*>(&q) + sizeof(Q) - 1);
  unsigned long long left = 0;
  while (q.try_dequeue(element)) ++left;
  std::fprintf(stderr, "ringlab-taken %s %.9f %llu %d\n", queue_type, time, items - left, shared ? 1 : 0);
  return static_cast<int>(left);
}
