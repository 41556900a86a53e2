// What every peer adapter needs besides its library: the capacity it was asked for,
// checked once with the message ringlab uses everywhere (queue.hpp, reject_capacity),
// and, for libraries whose size is a template argument, the instance of that size.
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>

#include <ringlab/queue.hpp>

namespace ringlab::peers {

class checked_capacity {
 public:
  checked_capacity(const char* queue_name, std::size_t capacity, std::size_t max = SIZE_MAX, const char* why_max = "")
      : capacity_(capacity) {
    if (capacity == 0) reject_capacity(queue_name, capacity, "is too small: the queue must hold at least 1 item");
    if (capacity > max)
      reject_capacity(queue_name, capacity,
                      "exceeds the maximum of " + std::to_string(max) + (*why_max ? " " : "") + why_max);
  }
  operator std::size_t() const noexcept { return capacity_; }

 private:
  std::size_t capacity_;
};

// Libraries whose size is a template argument (atomic_queue's AtomicQueue, boost's
// spsc_queue<capacity<N>>): one instance per size built in, the one asked for made at
// run time on the heap (at 65536 slots of a payload, megabytes); each call reaches it
// through one well-predicted branch per size listed before it.
template <template <std::size_t> class Library, std::size_t... Sizes>
class compile_time_sized {
 public:
  static constexpr std::array<std::size_t, sizeof...(Sizes)> fixed_capacities{Sizes...};
  static constexpr std::size_t max_capacity = std::max({Sizes...});
  static constexpr bool exact = true;

 protected:
  compile_time_sized(const char* queue_name, std::size_t capacity) {
    const auto at = std::find(fixed_capacities.begin(), fixed_capacities.end(), capacity);
    if (at == fixed_capacities.end()) {
      std::string sizes;
      for (auto s : fixed_capacities) sizes += (sizes.empty() ? "" : ", ") + std::to_string(s);
      reject_capacity(queue_name, capacity, "is not built (its size is a template argument): one of " + sizes);
    }
    index_ = static_cast<std::size_t>(at - fixed_capacities.begin());
    make<0>();
  }
  template <class F>
  decltype(auto) apply(F&& f) { return visit<0>(f); }

 private:
  template <std::size_t I>
  void make() {
    if constexpr (I < sizeof...(Sizes)) {
      if (index_ == I) std::get<I>(queues_) = std::make_unique<std::tuple_element_t<I, std::tuple<Library<Sizes>...>>>();
      else make<I + 1>();
    }
  }
  template <std::size_t I, class F>
  decltype(auto) visit(F& f) {
    if constexpr (I + 1 == sizeof...(Sizes)) return f(*std::get<I>(queues_));
    else return index_ == I ? f(*std::get<I>(queues_)) : visit<I + 1>(f);
  }
  std::size_t index_ = 0;
  std::tuple<std::unique_ptr<Library<Sizes>>...> queues_;
};

// Refuse, at the call, a value the library reserves (never a silent loss).
template <class T, class IsReserved>
void refuse_reserved(const T& item, IsReserved&& is_reserved, const char* why) {
  if (is_reserved(item)) [[unlikely]] throw std::invalid_argument(why);
}

}  // namespace ringlab::peers
