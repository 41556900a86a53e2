// Reading back a record of plain 64-bit words (a side's results sent from another
// process): every read past the end, or a size that cannot be, marks it broken.
#pragma once
#include <cstdint>
#include <vector>

namespace ringlab::harness {

struct word_reader {
  const std::uint64_t* at;
  const std::uint64_t* end;
  bool ok = true;

  explicit word_reader(const std::vector<std::uint64_t>& words) : at(words.data()), end(words.data() + words.size()) {}
  std::uint64_t next() noexcept {
    if (at == end) return fail(), 0;
    return *at++;
  }
  void fail() noexcept { ok = false, at = end; }
};

}  // namespace ringlab::harness
