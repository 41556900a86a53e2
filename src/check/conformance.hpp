// Single-threaded conformance checks of the queue contract (include/ringlab/queue.hpp), for
// `ringlab check` (src/check/checks.hpp): each returns "" when the property held, else its
// first counterexample. The test suite's tests/test_queues.cpp checks ours the same way.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <ringlab/queue.hpp>
#include <ringlab/tag.hpp>
#include <ringlab/wait.hpp>

namespace ringlab::check {

// Capacity 0 is refused with std::invalid_argument (ringlab::reject_capacity).
template <class Q>
std::string refuses_capacity_zero() {
  try {
    Q q = make_queue<Q>(0, {});
    return "capacity 0 was accepted (throw std::invalid_argument, e.g. ringlab::reject_capacity)";
  } catch (const std::invalid_argument&) {
    return "";
  }
}

// capacity() is the bound asked for; exactly that many pushes succeed on an empty queue
// (at least that many, and at most most_held(), where exact_capacity is false); then it
// drains to empty.
template <class Q>
std::string honours_capacity(std::size_t capacity) {
  Q q = make_queue<Q>(capacity, {});
  const std::string at = "capacity " + std::to_string(capacity) + ": ";
  if (q.capacity() != capacity) return at + "capacity() says " + std::to_string(q.capacity());
  auto&& producer = producer_endpoint(q);
  auto&& consumer = consumer_endpoint(q);
  typename Q::value_type out{};
  if (consumer.try_pop(out)) return at + "a new queue popped an item";
  std::size_t pushed = 0;
  while (pushed < 4 * capacity + 200 && producer.try_push(make_tag(0, pushed))) ++pushed;
  if (Q::properties.bounded && Q::properties.exact_capacity && pushed != capacity)
    return at + std::to_string(pushed) + " pushes succeeded on an empty queue (properties.exact_capacity)";
  if (pushed < capacity) return at + "only " + std::to_string(pushed) + " pushes succeeded on an empty queue";
  if (Q::properties.bounded && pushed > most_held(q, 1))
    return at + std::to_string(pushed) + " pushes succeeded on an empty queue, above the most it says it holds (" +
           std::to_string(most_held(q, 1)) + ", most_held)";
  flush(producer);
  std::size_t popped = 0;
  while (popped <= pushed && consumer.try_pop(out)) ++popped;
  if (popped != pushed) return at + std::to_string(pushed) + " pushed, " + std::to_string(popped) + " popped";
  return "";
}

// Fill and drain many times at every fill level: each item comes back once, none after a
// later one. A lost, doubled or invented item goes to *lost if given (not an order problem).
template <class Q>
std::string keeps_order_across_wraps(std::size_t capacity, std::string* lost = nullptr) {
  const std::string at = "one thread, capacity " + std::to_string(capacity) + ": ";
  auto loss = [&](const std::string& what) {
    if (!lost) return at + what;
    *lost = at + what;
    return std::string();
  };
  Q q = make_queue<Q>(capacity, {});
  auto&& producer = producer_endpoint(q);
  auto&& consumer = consumer_endpoint(q);
  std::uint64_t next_in = 0;
  std::int64_t highest = -1;  // the latest item popped so far
  typename Q::value_type out{};
  for (std::uint64_t lap = 0, laps = 20 + 20000 / capacity; lap < laps; ++lap) {
    const std::size_t burst = 1 + (lap * 7) % capacity;
    for (std::size_t i = 0; i < burst; ++i)
      if (!producer.try_push(make_tag(0, next_in++)))
        return loss("push refused with " + std::to_string(i) + " items inside");
    flush(producer);
    for (std::size_t i = 0; i < burst; ++i) {
      if (!consumer.try_pop(out))
        return loss("an item missing: " + std::to_string(next_in) + " pushed, a pop failed after " +
                    std::to_string(next_in - burst + i) + " popped");
      const auto seq = static_cast<std::int64_t>(tag_sequence(out));
      if (seq >= static_cast<std::int64_t>(next_in)) return loss("popped item " + std::to_string(seq) + ", never pushed");
      if (seq == highest) return loss("item " + std::to_string(seq) + " popped twice");
      if (seq < highest) return at + "item " + std::to_string(seq) + " popped after item " + std::to_string(highest);
      highest = seq;
    }
  }
  if (consumer.try_pop(out)) return loss("item " + std::to_string(tag_sequence(out)) + " popped after all were");
  return "";
}

// Every value of T arrives as sent, or try_push refuses it at the call with
// std::invalid_argument and properties.refuses says so; never a silent loss.
template <class Q>
std::string carries_every_value(std::size_t capacity) {
  using T = typename Q::value_type;
  const T values[] = {0, ~T{0}, 1, pill_tag, T{1} << 63, 0x5555555555555555u};
  for (const T v : values) {
    Q q = make_queue<Q>(capacity, {});
    auto&& producer = producer_endpoint(q);
    auto&& consumer = consumer_endpoint(q);
    try {
      if (!producer.try_push(v)) return "an empty queue refused " + std::to_string(v) + " by returning false";
    } catch (const std::invalid_argument& e) {
      if (!Q::properties.refuses) return "refused " + std::to_string(v) + " without declaring it (properties.refuses): " + e.what();
      continue;
    }
    flush(producer);
    T out = 42;
    if (!consumer.try_pop(out)) return "the value " + std::to_string(v) + " was accepted and then lost";
    if (out != v) return "pushed " + std::to_string(v) + ", popped " + std::to_string(out);
  }
  return "";
}

// close() ends waits both ways: a consumer asleep on an empty queue and a producer asleep on
// a full one (bounded queues) both return false. The queue outlives a side that never wakes.
template <class Q, class W>
std::string close_wakes_both_sides(std::size_t capacity) {
  using namespace std::chrono_literals;
  for (const bool producer_side : {false, true}) {
    if (producer_side && !Q::properties.bounded) continue;
    Q* q;
    if constexpr (std::is_constructible_v<Q, std::size_t, thread_counts>) q = new Q(capacity, thread_counts{});
    else q = new Q(capacity);
    auto* ws = new wait_state<W>;
    auto* done = new std::atomic<int>{0};  // 1: returned false, 2: returned true
    if (producer_side) {
      auto&& producer = producer_endpoint(*q);
      for (std::uint64_t s = 0; producer.try_push(make_tag(0, s));) ++s;
    }
    std::thread side([=] {
      typename Q::value_type item = make_tag(0, 1u << 20);
      bool ok;
      if (producer_side) {
        auto&& end = producer_endpoint(*q);
        ok = push(end, *ws, item);
      } else {
        auto&& end = consumer_endpoint(*q);
        ok = pop(end, *ws, item);
      }
      done->store(ok ? 2 : 1);
    });
    std::this_thread::sleep_for(50ms);
    const std::string who = std::string(producer_side ? "a producer waiting on a full" : "a consumer waiting on an empty") +
                            " queue (" + W::name + ")";
    if (done->load() != 0) {
      side.join();
      return who + " returned before close()";
    }
    ringlab::close(*q, *ws);
    const auto give_up = std::chrono::steady_clock::now() + 3s;
    while (done->load() == 0 && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(1ms);
    if (done->load() == 0) {
      side.detach();  // still asleep: q, ws and done stay allocated for it
      return who + " was still waiting 3 s after close()";
    }
    side.join();
    const bool returned_true = done->load() == 2;
    delete done;
    delete ws;
    delete q;
    if (returned_true) return who + " returned true after close()";
  }
  return "";
}

}  // namespace ringlab::check
