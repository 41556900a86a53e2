// ringlab's queues inside moodycamel::ConcurrentQueue's own benchmark program
// (benchmarks/benchmarks.cpp at v1.0.3), for experiments/authors/concurrentqueue.py. Ours
// only: the program itself is built from the user's own checkout and never copied here.
// The program drives every queue through enqueue(item), which it expects to succeed (its
// queues all grow), and try_dequeue(item); it constructs each queue with no argument.
// Our rings are bounded (RINGLAB_CAPACITY items), so enqueue retries try_push with the
// pause instruction while the ring is full, as `ringlab run --wait spin` does; the
// consumer's loop is the program's own (a failed try_dequeue is retried at once).
// PausingConsumer changes that one thing: a failed try_dequeue pauses (cpu_relax, as
// ringlab's `spin` does) before it returns, so the program's consumer retries after a
// pause; the script runs it around mpmc_ring and around the author's queue.
// The script runs them in the mpsc benchmark only (the others enqueue more than a ring
// holds on one thread), with and without tokens: a token here is the program's dummy type
// and the calls are the same, but in the program's loop with tokens the consumer takes each
// item into a variable of its own thread, and without tokens into one in the frame that
// also holds the item the producer reads before every enqueue (see ringlab_item_lines_shared).
// ringlab_items_per_run: the items the running mpsc benchmark dequeues, and
// ringlab_item_lines_shared: whether those two variables lie on one cache line in this process
// (the patch sets both), printed in the script's line after each of the program's own (its
// Ops/s count every try_dequeue, the failed ones too).
#pragma once
#include <cstddef>
#include <cstdint>

#include <ringlab/detail/platform.hpp>
#include <ringlab/queues/mpmc_ring.hpp>
#include <ringlab/queues/spsc_ring.hpp>

#include "wrappers.h"  // the program's DummyToken

#ifndef RINGLAB_CAPACITY
#define RINGLAB_CAPACITY 1024
#endif

inline std::uint64_t ringlab_items_per_run = 0;
inline int ringlab_item_lines_shared = -1;

template <class Ring>
struct RinglabProgramQueue {
  using producer_token_t = DummyToken;
  using consumer_token_t = DummyToken;
  using T = typename Ring::value_type;

  RinglabProgramQueue() : ring(RINGLAB_CAPACITY) {}

  template <class U>
  bool enqueue(U&& item) {
    const T value = static_cast<T>(item);
    while (!ring.try_push(value)) ringlab::cpu_relax();
    return true;
  }
  bool try_dequeue(T& item) { return ring.try_pop(item); }

  // With the program's dummy tokens: the same calls.
  bool enqueue(producer_token_t const&, T const& item) { return enqueue(item); }
  bool try_dequeue(consumer_token_t const&, T& item) { return ring.try_pop(item); }
  // Never reached in the mpsc benchmark; present because the program's switch instantiates
  // every benchmark for every queue type.
  bool try_enqueue(producer_token_t, T const&) { return false; }
  template <class It> bool enqueue_bulk(It, std::size_t) { return false; }
  template <class It> bool enqueue_bulk(producer_token_t const&, It, std::size_t) { return false; }
  template <class It> std::size_t try_dequeue_bulk(It, std::size_t) { return 0; }
  template <class It> std::size_t try_dequeue_bulk(consumer_token_t, It, std::size_t) { return 0; }

  Ring ring;
};

template <class T>
using RinglabMpmc = RinglabProgramQueue<ringlab::mpmc_ring<T>>;
template <class T>
using RinglabSpsc = RinglabProgramQueue<ringlab::spsc_ring<T>>;

// Queue as the program drives it, except that a failed try_dequeue pauses before it
// returns (with or without the program's consumer token); everything else is Queue's own.
template <class Queue>
struct PausingConsumer : Queue {
  using Queue::Queue;
  template <class U>
  bool try_dequeue(U& item) {
    if (Queue::try_dequeue(item)) return true;
    ringlab::cpu_relax();
    return false;
  }
  template <class Token, class U>
  bool try_dequeue(Token& token, U& item) {
    if (Queue::try_dequeue(token, item)) return true;
    ringlab::cpu_relax();
    return false;
  }
};
