// What every peer adapter needs besides its library: the capacity it was asked for,
// checked once with the message ringlab uses everywhere (queue.hpp, reject_capacity).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

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

}  // namespace ringlab::peers
