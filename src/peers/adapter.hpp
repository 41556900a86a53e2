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
// spsc_queue<capacity<N>>): an adapter takes its library through a size policy.
// one_size<Library, N>: the library of size N, nothing to choose per call. The harness
// runs this form: it picks the size once per run (scopes/run_point.hpp, of_capacity) and
// the side loops are instantiated for it. compile_time_sized<Library, Sizes...>: every size
// built in, the one asked for chosen on each call through a branch per size before it;
// the tests and `ringlab check` use it (one type for every capacity). Both make the
// queue on the heap (at 65536 slots of a payload, megabytes).
template <template <std::size_t> class Library, std::size_t N>
class one_size {
 public:
  static constexpr std::size_t max_capacity = N;
  static constexpr bool exact = true;

 protected:
  one_size(const char* queue_name, std::size_t capacity) : queue_(std::make_unique<Library<N>>()) {
    if (capacity != N) reject_capacity(queue_name, capacity, "is not this instance's size " + std::to_string(N));
  }
  template <class F>
  decltype(auto) apply(F&& f) { return f(*queue_); }

 private:
  std::unique_ptr<Library<N>> queue_;
};

template <template <std::size_t> class Library, std::size_t... Sizes>
class compile_time_sized {
 public:
  static constexpr std::array<std::size_t, sizeof...(Sizes)> fixed_capacities{Sizes...};
  static constexpr std::size_t max_capacity = std::max({Sizes...});
  static constexpr bool exact = true;
  template <std::size_t N>
  using one = one_size<Library, N>;

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

// The one-size form of a size policy S (compile_time_sized's one<N>), for an adapter's
// of_capacity; through a struct, so that S is only asked when of_capacity<N> is used.
template <class S, std::size_t N>
concept has_one_size = requires { typename S::template one<N>; };
template <class S, std::size_t N>
struct one_size_of {
  using type = typename S::template one<N>;
};

// Refuse, at the call, a value the library reserves (never a silent loss).
template <class T, class IsReserved>
void refuse_reserved(const T& item, IsReserved&& is_reserved, const char* why) {
  if (is_reserved(item)) [[unlikely]] throw std::invalid_argument(why);
}

}  // namespace ringlab::peers
