// floor_line_ring — the physical bound for streaming: items move a whole cache line (8
// words) at a time, the most a pair of cores can hand over per line transfer. The
// producer fills a line's first 7 words plainly and publishes the 8th with release; the
// consumer takes the line into a private buffer and frees it at once. Like spsc_ring,
// the producer starts a line only when the line `gap_lines` ahead is free too, so the
// two sides never wait on the same line. Items become
// visible a line at a time, so the producer flush()es its last, partial line (its
// unused words stay 0 and the 8th word is a marker). Not a queue to use: a yardstick
// for closed-loop throughput (delays_visibility keeps it out of open-loop and round-
// trip runs). Capacity: a multiple of 8 words; a line taken into the consumer's buffer
// is free again, so up to 8 items more than capacity() can be inside (not exact).
#pragma once
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include <ringlab/detail/platform.hpp>
#include <ringlab/queue.hpp>

namespace ringlab {

template <class T>
class floor_line_ring {
  static_assert(sizeof(T) == sizeof(std::uint64_t) && std::is_trivially_copyable_v<T>, "words, never 0");
  static constexpr unsigned words = cache_line / sizeof(std::uint64_t);  // 8
  static constexpr std::uint64_t flushed = ~std::uint64_t{0};            // 8th word of a partial line
  static constexpr std::size_t gap_lines = 4;                             // spare lines ahead of the producer
  struct alignas(cache_line) line {
    std::uint64_t word[words - 1];
    std::atomic<std::uint64_t> last;  // the flag: 0 = free
  };

 public:
  using value_type = T;
  static constexpr queue_properties properties{.exact_capacity = false, .spsc_only = true, .delays_visibility = true,
                                               .refuses = "0 (an unused word) and ~0 (a partial line's marker)"};

  explicit floor_line_ring(std::size_t capacity) : lines_(checked(capacity) / words + gap_lines) {}
  std::size_t capacity() const noexcept { return (lines_.size() - gap_lines) * words; }
  std::size_t most_held(unsigned) const noexcept { return capacity() + words; }  // + the line in the consumer's buffer

  bool try_push(const T& item) {
    const auto w = std::bit_cast<std::uint64_t>(item);
    if (w == 0 || w == flushed) [[unlikely]]
      throw std::invalid_argument("floor.line_ring: the items 0 and ~0 are its markers and cannot be carried");
    line& l = lines_[p_.line];
    if (p_.filled == 0) {  // a new line: it and the gap ahead of it must have been taken
      std::size_t ahead = p_.line + gap_lines;
      if (ahead >= lines_.size()) ahead -= lines_.size();
      if (lines_[ahead].last.load(std::memory_order_acquire) != 0) return false;
    }
    if (p_.filled < words - 1) {
      l.word[p_.filled++] = w;
      return true;
    }
    l.last.store(w, std::memory_order_release);
    advance();
    return true;
  }

  // Publish a partial line (its unused words are 0, which no item is).
  void flush() {
    if (p_.filled == 0) return;
    line& l = lines_[p_.line];
    for (unsigned i = p_.filled; i < words - 1; ++i) l.word[i] = 0;
    l.last.store(flushed, std::memory_order_release);
    advance();
  }

  bool try_pop(T& item) {
    while (c_.next == c_.count) {
      line& l = lines_[c_.line];
      const std::uint64_t last = l.last.load(std::memory_order_acquire);
      if (last == 0) return false;
      c_.count = c_.next = 0;
      for (unsigned i = 0; i < words - 1; ++i)
        if (l.word[i] != 0) c_.buffer[c_.count++] = l.word[i];
      if (last != flushed) c_.buffer[c_.count++] = last;
      l.last.store(0, std::memory_order_release);  // the line goes back at once
      c_.line = c_.line + 1 == lines_.size() ? 0 : c_.line + 1;
    }
    item = std::bit_cast<T>(c_.buffer[c_.next++]);
    return true;
  }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity < 2 * words || capacity % words != 0)
      reject_capacity("floor.line_ring", capacity, "is not a multiple of 8 of at least 16: it moves whole cache lines");
    return capacity;
  }
  void advance() {
    p_.filled = 0;
    p_.line = p_.line + 1 == lines_.size() ? 0 : p_.line + 1;
  }

  std::vector<line> lines_;
  struct alignas(false_sharing_range) {
    std::size_t line = 0;
    unsigned filled = 0;  // words of the current line written
  } p_;
  struct alignas(false_sharing_range) {
    std::size_t line = 0;
    std::array<std::uint64_t, words> buffer{};
    unsigned next = 0, count = 0;
  } c_;
};

}  // namespace ringlab
