// posix_mq: a POSIX message queue (mq_overview(7)), the kernel's own bounded FIFO of
// messages, as the seeds' process examples use one. One message = one item: mq_msgsize
// is sizeof(T), so a message is always whole, and mq_maxmsg is the capacity, so the bound
// is exact. All messages have priority 0: the queue is then a plain FIFO, one total order.
// The queue is opened O_NONBLOCK (EAGAIN = full/empty: try_push/try_pop never sleep, the
// wait strategy decides how a side waits; `block` sleeps in poll() on the descriptor,
// transports/plumbing/fd_block.hpp) and unlinked right after mq_open: the sides
// inherit the descriptor by fork, so /dev/mqueue holds nothing of ours whatever then
// dies. One descriptor serves both directions, so any number of sides can share it.
// A dead peer is NOT noticeable through it: a message queue has no EOF and no EPIPE (a
// queue outlives its users), so this transport never throws ipc::peer_lost; the harness
// learns of a dead side from the side's exit alone. What a death leaves is declared
// (after_crash) and each crash run counts it (the crash ledger).
// Limits (per IPC namespace, and per user): mq_maxmsg <= /proc/sys/fs/mqueue/msg_max
// (10 by default), mq_msgsize <= msgsize_max, and all of a user's queues together within
// RLIMIT_MSGQUEUE bytes. Root may exceed msg_max silently (CAP_SYS_RESOURCE); we check the
// capacity against msg_max before mq_open for everyone, so a result never depends on who
// ran it. raise_mq_limits() raises the limits, as root, for a queue that needs more.
#pragma once
#include <fcntl.h>
#include <mqueue.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <ringlab/queue.hpp>

#include "transports/plumbing/fd_block.hpp"
#include "transports/transport.hpp"

namespace ringlab::ipc {

// The limits a queue must fit in, read from /proc and getrlimit (see posix_mq.cpp).
struct mq_limits {
  std::size_t msg_max;      // /proc/sys/fs/mqueue/msg_max: most messages in one queue
  std::size_t msgsize_max;  // /proc/sys/fs/mqueue/msgsize_max: largest message
  std::size_t rlimit_bytes; // RLIMIT_MSGQUEUE (soft): bytes of all this user's queues
};
mq_limits current_mq_limits();

// About what the kernel charges to RLIMIT_MSGQUEUE for a queue (mq_overview(7)).
std::size_t mq_charged_bytes(std::size_t capacity, std::size_t item_bytes);

// Why a queue of `capacity` items of `item_bytes` cannot be made under these limits, with
// what to do; "" if it can.
std::string mq_capacity_problem(std::size_t capacity, std::size_t item_bytes, const mq_limits& limits);

// Opens a fresh unique queue ("/ringlab-mq-<pid>-<counter>") and unlinks it at once.
mqd_t open_unlinked_mq(std::size_t capacity, std::size_t item_bytes);

// As root: raise msg_max (and msgsize_max if needed) and this process's RLIMIT_MSGQUEUE so
// that a queue of `capacity` items of `item_bytes` can be made. Returns one line saying
// what it changed ("" if nothing needed changing); std::runtime_error if it cannot.
std::string raise_mq_limits(std::size_t capacity, std::size_t item_bytes);

template <class T>
class posix_mq {
  static_assert(std::is_trivially_copyable_v<T>, "items travel as bytes");

 public:
  using value_type = T;
  // A queue in the kernel: one total order; a side stalled in a system call holds its lock.
  static constexpr queue_properties properties{.exact_capacity = true, .lock_free = false, .blocks_natively = true};
  static constexpr std::size_t block_bytes(std::size_t) { return 0; }  // nothing of it in the segment
  // A message is in the kernel whole or not at all, and outlives a dead sender; a receiver
  // owns it once mq_receive returns. A replacement inherits the descriptor (the probe).
  static constexpr crash_guarantee after_crash = published_items_once;

  explicit posix_mq(std::size_t capacity) : posix_mq(capacity, nullptr) {}
  posix_mq(std::size_t capacity, void*) : capacity_(capacity) {
    if (capacity == 0) reject_capacity("posix_mq", capacity, "is too small: a message queue holds at least 1 item");
    if (const auto why = mq_capacity_problem(capacity, sizeof(T), current_mq_limits()); !why.empty())
      reject_capacity("posix_mq", capacity, why);
    queue_ = open_unlinked_mq(capacity, sizeof(T));
  }
  posix_mq(posix_mq&& other) noexcept
      : queue_(std::exchange(other.queue_, mqd_t(-1))), capacity_(other.capacity_), closed_(std::move(other.closed_)) {}
  posix_mq& operator=(posix_mq&&) = delete;
  ~posix_mq() {
    if (queue_ != mqd_t(-1)) ::mq_close(queue_);
  }

  std::size_t capacity() const noexcept { return capacity_; }

  bool try_push(const T& item) {
    if (::mq_send(queue_, reinterpret_cast<const char*>(&item), sizeof item, 0) == 0) return true;
    if (errno == EAGAIN || errno == EINTR) return false;  // full
    throw std::runtime_error(std::string("posix_mq: mq_send: ") + std::strerror(errno));
  }
  bool try_pop(T& item) {
    const ssize_t n = ::mq_receive(queue_, reinterpret_cast<char*>(&item), sizeof item, nullptr);
    if (n == static_cast<ssize_t>(sizeof item)) return true;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;  // empty
    throw std::runtime_error(n < 0 ? std::string("posix_mq: mq_receive: ") + std::strerror(errno)
                                   : "posix_mq: a message of " + std::to_string(n) + " bytes, not one item");
  }
  // On Linux a message queue descriptor is a file descriptor: poll() says when it has room / a message.
  bool push(const T& item) { return block_on(queue_, POLLOUT, closed_, [&] { return try_push(item); }); }
  bool pop(T& item) { return block_on(queue_, POLLIN, closed_, [&] { return try_pop(item); }); }
  void close() noexcept { closed_.signal(); }

 private:
  mqd_t queue_ = mqd_t(-1);
  std::size_t capacity_;
  close_event closed_;  // `block`: close() wakes the sleepers (made before the fork)
};

}  // namespace ringlab::ipc
