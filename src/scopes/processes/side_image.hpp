// A side's results as plain words, written by a side process to its pipe when it is
// done and read back by the conductor into the same producer_state / consumer_state a
// thread would have filled, so one analysis serves both scopes. A side that fails
// sends its error instead; a record cut short (the side died while writing) is broken.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "harness/sides.hpp"
#include "harness/words.hpp"

namespace ringlab::ipc {

inline constexpr std::uint64_t producer_record = 0x52'4c'50'52, consumer_record = 0x52'4c'43'52,
                               error_record = 0x52'4c'45'52;  // "RLPR", "RLCR", "RLER"

namespace image {
// Text as its length and then 8 bytes a word.
inline void save_text(const std::string& text, std::vector<std::uint64_t>& out) {
  out.push_back(text.size());
  for (std::size_t i = 0; i < text.size(); i += 8) {
    std::uint64_t w = 0;
    for (std::size_t j = 0; j < 8 && i + j < text.size(); ++j) w |= std::uint64_t{static_cast<unsigned char>(text[i + j])} << (8 * j);
    out.push_back(w);
  }
}
inline std::string load_text(harness::word_reader& in) {
  const std::uint64_t bytes = in.next();
  std::string text;
  if (bytes > 65536) in.fail();  // no side says that much: a broken record
  for (std::uint64_t i = 0; i < bytes && in.ok; i += 8) {
    const std::uint64_t w = in.next();
    for (std::uint64_t j = 0; j < 8 && i + j < bytes; ++j) text.push_back(static_cast<char>((w >> (8 * j)) & 0xff));
  }
  return text;
}
inline void save(const harness::thread_outcome& o, std::vector<std::uint64_t>& out) {
  out.insert(out.end(), {o.cpu_ns, o.voluntary_switches, o.involuntary_switches, static_cast<std::uint64_t>(o.pu),
                         o.start_ticks, o.end_ticks, o.waits, o.peer_lost_ns});
  save_text(o.peer_lost_how, out);
}
inline void load(harness::thread_outcome& o, harness::word_reader& in) {
  o.cpu_ns = in.next(), o.voluntary_switches = in.next(), o.involuntary_switches = in.next();
  o.pu = static_cast<int>(in.next()), o.start_ticks = in.next(), o.end_ticks = in.next(), o.waits = in.next();
  o.peer_lost_ns = in.next();
  o.peer_lost_how = load_text(in);
}
// A consumer's delivery tally: how many producers, then each one's counts.
inline void save(const harness::delivery_tally& tally, std::vector<std::uint64_t>& out) {
  out.push_back(tally.by_producer.size());
  for (const auto& t : tally.by_producer)
    out.insert(out.end(), {t.count, t.mixed_sum, static_cast<std::uint64_t>(t.last_sequence), t.out_of_order,
                           t.first_out_of_order});
  out.insert(out.end(), {tally.corrupt, tally.torn});
}
// "" or what was wrong: the tally must already have the run's number of producers.
inline std::string load(harness::delivery_tally& tally, harness::word_reader& in) {
  if (in.next() != tally.by_producer.size()) return "its results name another number of producers";
  for (auto& t : tally.by_producer) {
    t.count = in.next(), t.mixed_sum = in.next(), t.last_sequence = static_cast<std::int64_t>(in.next());
    t.out_of_order = in.next(), t.first_out_of_order = in.next();
  }
  tally.corrupt = in.next(), tally.torn = in.next();
  return "";
}
}  // namespace image

inline std::vector<std::uint64_t> image_of(const harness::producer_state& p) {
  std::vector<std::uint64_t> out{producer_record, p.pushed, p.pushed_at_measure, p.pushed_at_stop, p.last_push_ticks};
  image::save(p.outcome, out);
  p.log.save(out);
  return out;
}

inline std::vector<std::uint64_t> image_of(const harness::consumer_state& c) {
  std::vector<std::uint64_t> out{consumer_record, c.popped, c.popped_at_measure, c.popped_at_stop, c.saw_measure,
                                 c.saw_stop, c.last_pop_ticks};
  image::save(c.outcome, out);
  image::save(c.tally, out);
  c.log.save(out);
  out.push_back(c.call_ticks.size());
  out.insert(out.end(), c.call_ticks.begin(), c.call_ticks.end());
  out.push_back(c.slice_popped.size());
  out.insert(out.end(), c.slice_popped.begin(), c.slice_popped.end());
  out.insert(out.end(), c.slice_end_ticks.begin(), c.slice_end_ticks.end());
  return out;
}

inline std::vector<std::uint64_t> error_image(const std::string& what) {
  std::vector<std::uint64_t> out{error_record};
  image::save_text(what, out);
  return out;
}

// Fills `p` or `c` from a record; returns "" or what was wrong with it (the side's own
// error, or a broken record).
inline std::string error_in(harness::word_reader& in, std::uint64_t kind) {
  const std::uint64_t first = in.next();
  if (first == kind) return {};
  if (first != error_record) return "its results were cut short (it died before it finished)";
  const std::string what = image::load_text(in);
  return what.empty() ? "it failed without saying why" : what;
}

inline std::string load_image(const std::vector<std::uint64_t>& words, harness::producer_state& p) {
  harness::word_reader in(words);
  if (auto e = error_in(in, producer_record); !e.empty()) return e;
  p.pushed = in.next(), p.pushed_at_measure = in.next(), p.pushed_at_stop = in.next(), p.last_push_ticks = in.next();
  image::load(p.outcome, in);
  p.log.load(in);
  return in.ok && in.at == in.end ? "" : "its results were cut short (it died before it finished)";
}

inline std::string load_image(const std::vector<std::uint64_t>& words, harness::consumer_state& c) {
  harness::word_reader in(words);
  if (auto e = error_in(in, consumer_record); !e.empty()) return e;
  c.popped = in.next(), c.popped_at_measure = in.next(), c.popped_at_stop = in.next();
  c.saw_measure = in.next() != 0, c.saw_stop = in.next() != 0, c.last_pop_ticks = in.next();
  image::load(c.outcome, in);
  if (auto e = image::load(c.tally, in); !e.empty()) return e;
  c.log.load(in);
  const std::uint64_t calls = in.next();
  if (calls > harness::consumer_state::max_timed_calls) return "its results were cut short (it died before it finished)";
  c.call_ticks.resize(calls);
  for (auto& t : c.call_ticks) t = in.next();
  const std::uint64_t slices = in.next();
  if (slices > harness::consumer_state::slices + 1) return "its results were cut short (it died before it finished)";
  c.slice_popped.resize(slices), c.slice_end_ticks.resize(slices);
  for (auto& n : c.slice_popped) n = in.next();
  for (auto& t : c.slice_end_ticks) t = in.next();
  return in.ok && in.at == in.end ? "" : "its results were cut short (it died before it finished)";
}

}  // namespace ringlab::ipc
