// The stress test every queue must pass: P producers push items tagged (producer,
// sequence), C consumers pop them; afterwards every tag must have arrived exactly once
// (seen-set), each consumer must have seen each producer's tags in order (where the
// queue promises order), every payload body must be the one its tag implies, and the
// queue must be empty. Threads inject seeded random pauses to vary the interleavings; a
// failure names the seed (RINGLAB_SEED=... replays it). Shared by the test suite
// (tests/stress.hpp, every queue of ours) and `ringlab check` (src/check/checks.hpp, extra queues).
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <ringlab/queue.hpp>
#include <ringlab/tag.hpp>
#include <ringlab/wait.hpp>

#include "harness/item.hpp"

namespace ringlab::check {

struct stress_config {
  unsigned producers = 1;
  unsigned consumers = 1;
  std::size_t capacity = 64;
  std::uint64_t items_per_producer = 20000;
  std::uint64_t seed = 1;
  bool bursts = false;  // blocking test: let the queue drain and the consumers sleep between bursts
  unsigned burst_pause_us = 20;  // ... and pause up to this long (uniformly) before the next burst
};

struct stress_report {
  bool ok = true;
  std::string failure;  // first problems found, with the seed
  // The same, one per kind ("missing", "out of order", "stalled", ...): count and first example.
  struct problem {
    std::string kind;
    std::uint64_t count;
    std::string example;
  };
  std::vector<problem> problems;
};

// Seed for this process: RINGLAB_SEED if set (to replay), else random.
inline std::uint64_t stress_seed() {
  static const std::uint64_t seed = [] {
    if (const char* s = std::getenv("RINGLAB_SEED")) return static_cast<std::uint64_t>(std::strtoull(s, nullptr, 0));
    return (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  }();
  return seed;
}

// Items per producer: RINGLAB_STRESS_ITEMS, else `normal` (fewer under TSan, ~10x slower).
inline std::uint64_t stress_items(std::uint64_t normal = 50000) {
  if (const char* s = std::getenv("RINGLAB_STRESS_ITEMS")) return std::strtoull(s, nullptr, 0);
#if defined(__SANITIZE_THREAD__)
  return normal / 5;
#else
  return normal;
#endif
}

namespace detail {

// Items of the stress test: the bare tag (8 bytes) or a payload item whose body is a
// function of its tag, so a torn or mixed-up copy shows.
inline std::uint64_t body_word(tag t, std::size_t i) noexcept {
  std::uint64_t x = t * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;
  x ^= x >> 31;
  return x * 0x94d049bb133111ebull;
}
template <class Item>
Item make_item(tag t) {
  if constexpr (std::is_same_v<Item, tag>) {
    return t;
  } else {
    Item item;
    item.id = t;
    for (std::size_t i = 0; i < sizeof item.body / 8; ++i) {
      const std::uint64_t w = body_word(t, i);
      std::memcpy(item.body + 8 * i, &w, 8);
    }
    return item;
  }
}
template <class Item>
bool body_ok(const Item& item) {
  if constexpr (std::is_same_v<Item, tag>) return true;
  else {
    const Item expected = make_item<Item>(item.id);
    return std::memcmp(&expected, &item, sizeof item) == 0;
  }
}
inline tag tag_of(tag t) noexcept { return t; }
template <class Item>
tag tag_of(const Item& item) noexcept { return item.id; }

// Occasional seeded pauses: most operations run back to back, a few stall briefly.
struct jitter {
  std::mt19937_64 rng;
  explicit jitter(std::uint64_t seed) : rng(seed) {}
  void maybe_pause() {
    const auto r = rng();
    if ((r & 255) != 0) return;
    if ((r & 0xf00) == 0) std::this_thread::yield();
    else for (unsigned i = 0, n = (r >> 16) & 63; i < n; ++i) cpu_relax();
  }
};

struct consumer_log {
  std::vector<tag> tags;      // every tag this consumer popped, in pop order
  std::uint64_t bad_bodies = 0;
  tag first_bad_body = 0;
  template <class Item>
  void add(const Item& item) {
    tags.push_back(tag_of(item));
    if (!body_ok(item) && bad_bodies++ == 0) first_bad_body = tag_of(item);
  }
};

// Counts each kind of problem and keeps the first example of each, so one kind cannot
// hide another in the report.
template <class Q>
stress_report check(Q& q, const stress_config& cfg, const std::vector<consumer_log>& logs) {
  struct kind {
    const char* name;
    std::uint64_t count = 0;
    std::string example = {};
    explicit kind(const char* n) : name(n) {}
  };
  kind corrupt{"corrupt"}, missing{"missing"}, twice{"popped twice"}, disorder{"out of order"}, body{"wrong body"},
      leftover{"left in queue"};
  auto note = [](kind& k, std::string example) {
    if (k.count++ == 0) k.example = std::move(example);
  };
  std::vector<std::vector<std::uint8_t>> seen(cfg.producers, std::vector<std::uint8_t>(cfg.items_per_producer, 0));
  for (unsigned c = 0; c < logs.size(); ++c) {
    if (logs[c].bad_bodies) {
      body.count += logs[c].bad_bodies - 1;
      note(body, "consumer " + std::to_string(c) + " popped tag " + std::to_string(logs[c].first_bad_body) +
                     " with another body");
    }
    std::vector<std::int64_t> last(cfg.producers, -1);
    for (tag t : logs[c].tags) {
      const auto p = tag_producer(t);
      const auto s = tag_sequence(t);
      if (p >= cfg.producers || s >= cfg.items_per_producer) {
        note(corrupt, "consumer " + std::to_string(c) + " popped tag " + std::to_string(t));
        continue;
      }
      if (seen[p][s] < 255) ++seen[p][s];
      const auto seq = static_cast<std::int64_t>(s);
      if (Q::properties.fifo && seq < last[p])
        note(disorder, "consumer " + std::to_string(c) + " saw producer " + std::to_string(p) + " item " +
                           std::to_string(s) + " after item " + std::to_string(last[p]));
      if (seq > last[p]) last[p] = seq;
    }
  }
  for (unsigned p = 0; p < cfg.producers; ++p)
    for (std::uint64_t s = 0; s < cfg.items_per_producer; ++s) {
      const std::string which = "producer " + std::to_string(p) + " item " + std::to_string(s);
      if (seen[p][s] == 0) note(missing, which);
      else if (seen[p][s] > 1) note(twice, which);
    }
  typename Q::value_type left{};
  auto&& end = consumer_endpoint(q);
  while (end.try_pop(left) && leftover.count < 1000000) note(leftover, "tag " + std::to_string(tag_of(left)));

  stress_report report;
  for (const kind* k : {&corrupt, &missing, &twice, &disorder, &body, &leftover}) {
    if (k->count == 0) continue;
    report.ok = false;
    report.problems.push_back({k->name, k->count, k->example});
    report.failure += (report.failure.empty() ? "" : "; ") + std::to_string(k->count) + " " + k->name +
                      " (first: " + k->example + ")";
  }
  if (!report.ok)
    report.failure += " [" + std::to_string(cfg.producers) + "x" + std::to_string(cfg.consumers) + " capacity " +
                      std::to_string(cfg.capacity) + ", " + std::to_string(sizeof(typename Q::value_type)) +
                      "-byte items; replay with RINGLAB_SEED=" + std::to_string(cfg.seed) + "]";
  return report;
}

}  // namespace detail

// The contract alone: try_push/try_pop retried. Consumers stop when all tags are in,
// or when producers are done and nothing has arrived for `stall_limit` (a lost item).
template <class Q>
stress_report stress_try(const stress_config& cfg) {
  using Item = typename Q::value_type;
  Q q = make_queue<Q>(cfg.capacity, thread_counts{cfg.producers, cfg.consumers});
  const std::uint64_t total = cfg.producers * cfg.items_per_producer;
  std::atomic<std::uint64_t> consumed{0};
  std::atomic<unsigned> producers_done{0};
  std::vector<detail::consumer_log> logs(cfg.consumers);
  for (auto& l : logs) l.tags.reserve(total);
  constexpr auto stall_limit = std::chrono::seconds(2);
  std::vector<std::thread> threads;
  for (unsigned p = 0; p < cfg.producers; ++p)
    threads.emplace_back([&, p] {
      detail::jitter j(cfg.seed * 1000 + p);
      auto&& end = producer_endpoint(q);
      for (std::uint64_t s = 0; s < cfg.items_per_producer; ++s) {
        const Item item = detail::make_item<Item>(make_tag(p, s));
        for (unsigned tries = 0; !end.try_push(item); ++tries)
          if (tries > 64) std::this_thread::yield();
        j.maybe_pause();
      }
      flush(end);  // try-only: nobody sleeps
      producers_done.fetch_add(1);
    });
  for (unsigned c = 0; c < cfg.consumers; ++c)
    threads.emplace_back([&, c] {
      detail::jitter j(cfg.seed * 1000 + 500 + c);
      auto&& end = consumer_endpoint(q);
      auto& log = logs[c];
      auto last_progress = std::chrono::steady_clock::now();
      std::uint64_t last_seen = 0;
      Item item{};
      for (unsigned tries = 0; consumed.load(std::memory_order_relaxed) < total;) {
        if (end.try_pop(item)) {
          log.add(item);
          consumed.fetch_add(1, std::memory_order_relaxed);
          tries = 0;
          j.maybe_pause();
          continue;
        }
        if (++tries > 64) std::this_thread::yield();
        if ((tries & 1023) == 0 && producers_done.load() == cfg.producers) {
          const auto now = std::chrono::steady_clock::now();
          const auto seen_now = consumed.load();
          if (seen_now != last_seen) last_seen = seen_now, last_progress = now;
          else if (now - last_progress > stall_limit) break;  // nothing left to pop: items were lost
        }
      }
    });
  for (auto& t : threads) t.join();
  return detail::check(q, cfg, logs);
}

// The bound under load: producers push as fast as they can; now and then every consumer
// holds still until every producer is refused (the queue is full). After each push a producer
// counts the items inside: its own pushes plus the others' (read first) minus every
// consumer's pops (read after), which over-counts only by pops finished but not yet
// counted, one per consumer. The most seen must stay within most_held(q, producers) +
// consumers, and with one producer reach the capacity at least once (else the bound was
// never tried; with several, a preempted one can leave a stale "refused" behind).
template <class Q>
stress_report stress_bound(const stress_config& cfg) {
  using namespace std::chrono_literals;
  using Item = typename Q::value_type;
  struct alignas(64) counter {
    std::atomic<std::uint64_t> n{0};
  };
  Q q = make_queue<Q>(cfg.capacity, thread_counts{cfg.producers, cfg.consumers});
  const std::uint64_t total = cfg.producers * cfg.items_per_producer;
  std::vector<counter> pushed(cfg.producers), popped(cfg.consumers), refused(cfg.producers);  // refused: 1 while full
  std::vector<std::uint64_t> most_seen(cfg.producers, 0);
  std::atomic<std::uint64_t> consumed{0};
  std::atomic<unsigned> producers_done{0};
  std::atomic<bool> hold{false}, stalled{false};
  std::vector<std::thread> threads;
  for (unsigned p = 0; p < cfg.producers; ++p)
    threads.emplace_back([&, p] {
      auto&& end = producer_endpoint(q);
      for (std::uint64_t s = 0; s < cfg.items_per_producer; ++s) {
        const Item item = detail::make_item<Item>(make_tag(p, s));
        for (unsigned tries = 0; !end.try_push(item); ++tries) {
          if (stalled.load(std::memory_order_relaxed)) return;
          if (tries == 0) refused[p].n.store(1, std::memory_order_release);
          if (tries > 64) std::this_thread::yield();
        }
        refused[p].n.store(0, std::memory_order_relaxed);
        pushed[p].n.store(s + 1, std::memory_order_release);
        std::uint64_t inside = s + 1;
        for (unsigned o = 0; o < cfg.producers; ++o)
          if (o != p) inside += pushed[o].n.load(std::memory_order_acquire);
        for (const auto& c : popped) inside -= std::min(inside, c.n.load(std::memory_order_acquire));
        most_seen[p] = std::max(most_seen[p], inside);
      }
      flush(end);
      producers_done.fetch_add(1);
    });
  for (unsigned c = 0; c < cfg.consumers; ++c)
    threads.emplace_back([&, c] {
      auto&& end = consumer_endpoint(q);
      Item item{};
      std::uint64_t mine = 0;
      const std::uint64_t period = cfg.capacity + 32;  // consumer 0 holds everyone still at once, then this often
      auto last_progress = std::chrono::steady_clock::now();
      while (consumed.load(std::memory_order_relaxed) < total && !stalled.load(std::memory_order_relaxed)) {
        while (hold.load(std::memory_order_acquire)) std::this_thread::yield();
        if (end.try_pop(item)) {
          popped[c].n.store(++mine, std::memory_order_release);
          consumed.fetch_add(1, std::memory_order_relaxed);
          last_progress = std::chrono::steady_clock::now();
          if (c == 0 && mine % period == 1) {  // hold until every producer is refused (full) or done
            hold.store(true, std::memory_order_release);
            const auto give_up = std::chrono::steady_clock::now() + 2s;  // a queue that never refuses
            for (;;) {
              std::this_thread::sleep_for(50us);
              unsigned held_back = 0;
              for (const auto& r : refused) held_back += r.n.load(std::memory_order_acquire) != 0;
              if (held_back + producers_done.load() >= cfg.producers || std::chrono::steady_clock::now() > give_up) break;
            }
            hold.store(false, std::memory_order_release);
          }
        } else if (std::chrono::steady_clock::now() - last_progress > 3s) {
          stalled = true;  // a lost item: the stress test names it; here it only must not hang
        } else {
          std::this_thread::yield();
        }
      }
    });
  for (auto& t : threads) t.join();
  const std::uint64_t most = *std::max_element(most_seen.begin(), most_seen.end());
  const std::uint64_t allowed = most_held(q, cfg.producers) + cfg.consumers;
  stress_report report;
  const std::string run = " [" + std::to_string(cfg.producers) + "x" + std::to_string(cfg.consumers) + " capacity " +
                          std::to_string(cfg.capacity) + "]";
  if (most > allowed)
    report.problems.push_back({"above its bound", most - allowed,
                               std::to_string(most) + " items inside at once; it says it holds at most " +
                                   std::to_string(allowed - cfg.consumers) + " (+" + std::to_string(cfg.consumers) +
                                   " pops not yet counted)" + run});
  else if (cfg.producers == 1 && most < q.capacity() && !stalled.load() && cfg.items_per_producer > q.capacity())
    report.problems.push_back({"never full", 1, "at most " + std::to_string(most) + " items inside, never its capacity " +
                                                    std::to_string(q.capacity()) + ": the bound was not tried" + run});
  if (stalled.load()) report.problems.push_back({"lost", total - consumed.load(), "items stopped arriving for 3 s" + run});
  for (const auto& pr : report.problems) report.failure += (report.failure.empty() ? "" : "; ") + pr.example;
  report.ok = report.problems.empty();
  return report;
}

// Blocking push/pop through wait strategy W (or the queue's own, W = block), mixed at
// random with the non-blocking forms, as the harness mixes them. Every item must
// arrive while the queue is still open: a lost wake-up leaves a thread asleep with
// work pending, which shows up here as a stall (close() would otherwise hide it by
// waking everyone). With cfg.bursts, producers push bursts and then wait (a random
// pause, so the consumers are caught at every stage of going to sleep) until everything
// pushed so far has been popped: then the last item of every burst is one whose
// wake-up nobody else would repeat. Only at the end is the queue closed, and every
// consumer must leave.
template <class Q, class W>
stress_report stress_blocking(const stress_config& cfg) {
  using namespace std::chrono_literals;
  using Item = typename Q::value_type;
  Q q = make_queue<Q>(cfg.capacity, thread_counts{cfg.producers, cfg.consumers});
  wait_state<W> ws;
  const std::uint64_t total = cfg.producers * cfg.items_per_producer;
  std::atomic<std::uint64_t> consumed{0}, pushed{0};
  std::atomic<bool> stalled{false};
  std::vector<detail::consumer_log> logs(cfg.consumers);
  for (auto& l : logs) l.tags.reserve(total);
  std::vector<std::thread> threads;
  for (unsigned p = 0; p < cfg.producers; ++p)
    threads.emplace_back([&, p] {
      detail::jitter j(cfg.seed * 1000 + p);
      auto&& end = producer_endpoint(q);
      std::uint64_t burst_left = 0;
      for (std::uint64_t s = 0; s < cfg.items_per_producer; ++s) {
        if (cfg.bursts && burst_left-- == 0) {
          // Wait for the queue to drain (the consumers then go to sleep), then a pause.
          flush(end, ws);  // queues that publish a line at a time
          const auto give_up = std::chrono::steady_clock::now() + 3s;
          while (consumed.load() < pushed.load() && !stalled.load())
            if (std::chrono::steady_clock::now() > give_up) stalled = true;
            else std::this_thread::yield();
          if (stalled.load()) return;
          const auto pause = std::chrono::nanoseconds(j.rng() % (cfg.burst_pause_us * 1000 + 1));
          for (const auto until = std::chrono::steady_clock::now() + pause; std::chrono::steady_clock::now() < until;)
            cpu_relax();
          burst_left = j.rng() % (2 * cfg.capacity + 2);
        }
        const Item item = detail::make_item<Item>(make_tag(p, s));
        pushed.fetch_add(1);
        if ((j.rng() & 3) == 0 && try_push(end, ws, item)) continue;
        if (!push(end, ws, item)) return;
        j.maybe_pause();
      }
      flush(end, ws);
    });
  for (unsigned c = 0; c < cfg.consumers; ++c)
    threads.emplace_back([&, c] {
      detail::jitter j(cfg.seed * 1000 + 500 + c);
      auto&& end = consumer_endpoint(q);
      Item item{};
      for (;;) {
        if (!((j.rng() & 3) == 0 && try_pop(end, ws, item)) && !pop(end, ws, item)) break;
        logs[c].add(item);
        consumed.fetch_add(1, std::memory_order_relaxed);
        j.maybe_pause();
      }
    });
  // Everything must arrive with the queue open; wait for it, allowing for progress.
  std::uint64_t last = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (consumed.load() < total && !stalled.load()) {
    std::this_thread::sleep_for(1ms);
    const auto now_consumed = consumed.load();
    if (now_consumed != last) last = now_consumed, last_progress = std::chrono::steady_clock::now();
    else if (std::chrono::steady_clock::now() - last_progress > 3s) break;
  }
  const std::uint64_t arrived_before_close = consumed.load();
  const bool stalled_in_a_burst = stalled.load();
  close(q, ws);
  for (auto& t : threads) t.join();
  stress_config checked = cfg;
  if (arrived_before_close < total) checked.items_per_producer = 0;  // the tally below would only repeat the stall
  stress_report report = arrived_before_close < total ? stress_report{} : detail::check(q, checked, logs);
  if (arrived_before_close < total) {
    report.ok = false;
    report.problems.push_back({"stalled", total - arrived_before_close,
                               std::to_string(arrived_before_close) + " of " + std::to_string(total) +
                                   " items arrived, then none for 3 s with the queue open" +
                                   (stalled_in_a_burst ? " after a burst" : "") + " (lost wake-up?)"});
    report.failure = std::to_string(total - arrived_before_close) + " items stalled for 3 s with the queue open" +
                     (stalled_in_a_burst ? " after a burst" : "") + " (a thread asleep with work pending: lost wake-up?) [" +
                     std::to_string(cfg.producers) + "x" + std::to_string(cfg.consumers) + " capacity " +
                     std::to_string(cfg.capacity) + "; replay with RINGLAB_SEED=" + std::to_string(cfg.seed) + "]";
  }
  return report;
}

}  // namespace ringlab::check
