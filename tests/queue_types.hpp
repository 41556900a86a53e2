// Every queue the suites run: the registry's own list (src/queue_list.hpp) plus a few
// variants only tests need (counters started near their wrap, a small gap and batch).
// Each is a `family` (the class template of the item type, with its name), so a suite
// can instantiate it for 8-byte tags and for payload items; `our_queues` are the 8-byte
// instances for the suites that need only those.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include <ringlab/tag.hpp>

#include "queue_list.hpp"

namespace ringlab::testing {

using item = std::uint64_t;

template <std::size_t N>
struct fixed_string {
  char text[N];
  constexpr fixed_string(const char (&s)[N]) { std::copy_n(s, N, text); }
};

// A queue family: `of<T>` is the queue of T; name() is its `ringlab list` name as gtest
// takes it ('.' becomes '_').
template <template <class> class Queue, fixed_string Name>
struct family {
  template <class T>
  using of = Queue<T>;
  static std::string name() {
    std::string n = Name.text;
    std::replace(n.begin(), n.end(), '.', '_');
    return n;
  }
};

// mpmc_ring whose counters start a few laps below the limit of Index, so every stress
// run crosses the wrap-around.
template <class T, class Index>
class mpmc_ring_near_wrap : public mpmc_ring<T, mpmc_options{}, Index> {
 public:
  explicit mpmc_ring_near_wrap(std::size_t capacity)
      : mpmc_ring<T, mpmc_options{}, Index>(capacity, std::numeric_limits<Index>::max() - 1000) {}
};
template <class T> using mpmc_ring_wrap64 = mpmc_ring_near_wrap<T, std::uint64_t>;
template <class T> using mpmc_ring_wrap32 = mpmc_ring_near_wrap<T, std::uint32_t>;

// two_lock_ring's counters start 1000 items before they wrap.
template <class T>
class two_lock_ring_near_wrap : public two_lock_ring<T> {
 public:
  explicit two_lock_ring_near_wrap(std::size_t capacity)
      : two_lock_ring<T>(capacity, std::numeric_limits<std::size_t>::max() - 1000) {}
};

// A gap and a batch that do not divide anything, with flags of their own and reserved.
template <class T> using spsc_ring_gap3_batch5 = spsc_ring<T, spsc_options{.slot_flag = true, .gap = 3, .batch = 5}>;
template <class T> using spsc_ring_gap3_batch5_reserved =
    spsc_ring<T, spsc_options{.slot_flag = true, .reserved_empty = true, .gap = 3, .batch = 5}>;

#define RINGLAB_TEST_ONLY_QUEUES(X)                                                   \
  X("two_lock_ring.near_wrap", ::ringlab::testing::two_lock_ring_near_wrap, "")      \
  X("mpmc_ring.wrap64", ::ringlab::testing::mpmc_ring_wrap64, "")                    \
  X("mpmc_ring.wrap32", ::ringlab::testing::mpmc_ring_wrap32, "")                    \
  X("spsc_ring.gap3_batch5", ::ringlab::testing::spsc_ring_gap3_batch5, "")          \
  X("spsc_ring.gap3_batch5_reserved", ::ringlab::testing::spsc_ring_gap3_batch5_reserved, "")

template <class... T>
struct type_list {};
template <class First, class... Rest>
struct without_first {
  using type = type_list<Rest...>;
};
#define RINGLAB_AS_FAMILY(name, Template, description) , ::ringlab::testing::family<Template, name>
using families =
    typename without_first<void RINGLAB_ALL_QUEUES(RINGLAB_AS_FAMILY) RINGLAB_TEST_ONLY_QUEUES(RINGLAB_AS_FAMILY)>::type;
#undef RINGLAB_AS_FAMILY

template <class List>
struct gtest_lists;
template <class... F>
struct gtest_lists<type_list<F...>> {
  using families = ::testing::Types<F...>;
  using of_items = ::testing::Types<typename F::template of<item>...>;
};
using our_families = gtest_lists<families>::families;
using our_queues = gtest_lists<families>::of_items;

// The family of a queue of 8-byte items (the first listed, should two share a type).
template <class Q, class List>
struct find_family;
template <class Q, class F, class... Rest>
struct find_family<Q, type_list<F, Rest...>> {
  using type = std::conditional_t<std::is_same_v<Q, typename F::template of<item>>, F,
                                  typename find_family<Q, type_list<Rest...>>::type>;
};
template <class Q>
struct find_family<Q, type_list<>> {
  using type = void;
};
template <class Q>
using family_of = typename find_family<Q, families>::type;

template <class> inline constexpr bool single_slot = false;
template <class T> inline constexpr bool single_slot<handoff_slot<T>> = true;
template <class T> inline constexpr bool single_slot<floor_pingpong<T>> = true;
template <class> inline constexpr bool line_floor = false;
template <class T> inline constexpr bool line_floor<floor_line_ring<T>> = true;

// The capacities a suite runs Q at: the suite's own list, except for queues that take
// only some, which are tested at those rather than skipped — libraries built for a few
// sizes (Q::fixed_capacities: atomic_queue's AtomicQueue, boost's capacity<N>), single
// slots (1), and the line floor (whole cache lines: the list's multiples of 8, >= 16).
template <class Q>
std::vector<std::size_t> capacities_or_fixed(std::vector<std::size_t> usual) {
  if constexpr (requires { Q::fixed_capacities; }) {
    std::vector<std::size_t> built;
    for (auto c : usual)
      if (std::find(Q::fixed_capacities.begin(), Q::fixed_capacities.end(), c) != Q::fixed_capacities.end())
        built.push_back(c);
    if (built.empty()) built.assign(Q::fixed_capacities.begin(), Q::fixed_capacities.end());
    return built;
  } else if constexpr (single_slot<Q>) {
    return {1};
  } else if constexpr (line_floor<Q>) {
    std::vector<std::size_t> lines{16};
    for (auto c : usual)
      if (c > 16 && c % 8 == 0) lines.push_back(c);
    return lines;
  } else {
    return usual;
  }
}

struct name_generator {
  template <class T>
  static std::string GetName(int) {
    if constexpr (requires { T::name(); }) return T::name();
    else return family_of<T>::name();
  }
};

}  // namespace ringlab::testing
