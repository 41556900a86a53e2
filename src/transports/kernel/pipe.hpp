// pipe: the kernel's own queue between processes, as in the seeds (a Pipe). The pipe is
// made before the sides are forked, so every side inherits both ends. Items are written
// and read whole: a write of at most PIPE_BUF bytes is atomic and every read asks for one
// item, so no item is split or interleaved with another, whatever the number of sides.
// The bound is the pipe's buffer, set to the capacity's bytes (F_SETPIPE_SZ rounds up to
// a page, so capacity() reports what the kernel gave: not exact). Both ends are
// non-blocking: try_push/try_pop never sleep, the wait strategy decides how a side waits;
// `block` sleeps in the kernel, in poll() on the pipe (transports/plumbing/fd_block.hpp).
// After the fork each process keeps only the end it uses, so a dead peer shows: EOF when
// every writer is gone, EPIPE when every reader is (ipc::peer_lost). Below, two variants:
// pipe.semaphore (bounded exactly, as in the seeds) and pipe.batch (a write per batch).
#pragma once
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <semaphore.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <ringlab/queue.hpp>

#include "transports/plumbing/fd_block.hpp"
#include "transports/transport.hpp"

namespace ringlab::ipc {

template <class T>
class pipe_transport {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= PIPE_BUF, "whole items, each written atomically");

 public:
  using value_type = T;
  // One FIFO in the kernel: a total order; a side stalled in a system call holds its lock.
  static constexpr queue_properties properties{.exact_capacity = false, .lock_free = false, .blocks_natively = true};
  static constexpr std::size_t block_bytes(std::size_t) { return 0; }  // nothing of it in the segment
  static constexpr bool notices_dead_peers = true;                       // EOF, EPIPE

  explicit pipe_transport(std::size_t capacity) : pipe_transport(capacity, nullptr) {}
  pipe_transport(std::size_t capacity, void*) {
    if (capacity == 0) reject_capacity("pipe", capacity, "is too small: a pipe holds at least 1 item");
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    read_fd_ = fds[0], write_fd_ = fds[1];
    const std::size_t wanted = std::max<std::size_t>(capacity * sizeof(T), 4096);
    const int bytes = wanted > static_cast<std::size_t>(INT_MAX) ? -1 : ::fcntl(write_fd_, F_SETPIPE_SZ, static_cast<int>(wanted));
    if (bytes < 0) {
      close_both();
      reject_capacity("pipe", capacity, "needs a pipe buffer above /proc/sys/fs/pipe-max-size (raise it as root)");
    }
    capacity_ = static_cast<std::size_t>(bytes) / sizeof(T);
  }
  pipe_transport(pipe_transport&& other) noexcept
      : read_fd_(std::exchange(other.read_fd_, -1)), write_fd_(std::exchange(other.write_fd_, -1)), capacity_(other.capacity_),
        closed_(std::move(other.closed_)) {}
  pipe_transport& operator=(pipe_transport&&) = delete;
  ~pipe_transport() { close_both(); }

  std::size_t capacity() const noexcept { return capacity_; }

  void enter(role r, unsigned) {
    if (r != role::producer && write_fd_ >= 0) ::close(std::exchange(write_fd_, -1));
    if (r != role::consumer && read_fd_ >= 0) ::close(std::exchange(read_fd_, -1));
  }

  bool try_push(const T& item) {
    const ssize_t n = ::write(write_fd_, &item, sizeof item);
    if (n == static_cast<ssize_t>(sizeof item)) return true;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;  // full (all or nothing below PIPE_BUF)
    if (n < 0 && errno == EPIPE) throw peer_lost("EPIPE on the pipe: every reader is gone");
    throw std::runtime_error(n < 0 ? std::string("pipe: write: ") + std::strerror(errno) : "pipe: a write was split");
  }
  bool push(const T& item) { return block_on(write_fd_, POLLOUT, closed_, [&] { return try_push(item); }); }
  bool pop(T& item) { return block_on(read_fd_, POLLIN, closed_, [&] { return try_pop(item); }); }
  void close() noexcept { closed_.signal(); }

  int read_end() const noexcept { return read_fd_; }
  int write_end() const noexcept { return write_fd_; }
  const close_event& closed() const noexcept { return closed_; }

  // A writer that cannot write (pipe.semaphore, when full) asks this: poll says POLLERR
  // on a write end once every reader is gone.
  void check_readers() const {
    pollfd p{write_fd_, POLLOUT, 0};
    if (::poll(&p, 1, 0) == 1 && (p.revents & POLLERR)) throw peer_lost("POLLERR on the pipe: every reader is gone");
  }
  bool try_pop(T& item) {
    const ssize_t n = ::read(read_fd_, &item, sizeof item);
    if (n == static_cast<ssize_t>(sizeof item)) return true;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;  // empty
    if (n == 0) throw peer_lost("EOF on the pipe: every writer is gone");
    throw std::runtime_error(n < 0 ? std::string("pipe: read: ") + std::strerror(errno) : "pipe: a read was split");
  }

 private:
  void close_both() noexcept {
    if (read_fd_ >= 0) ::close(read_fd_);
    if (write_fd_ >= 0) ::close(write_fd_);
    read_fd_ = write_fd_ = -1;
  }
  int read_fd_ = -1, write_fd_ = -1;
  std::size_t capacity_ = 0;
  close_event closed_;  // `block`: close() wakes the sleepers (made before the fork)
};

// pipe.semaphore: the same pipe, bounded by a semaphore instead of its buffer, as the
// seeds bound a queue with a semaphore of free slots. A process-shared POSIX semaphore
// (sem_init pshared=1) in the run's shared segment counts the free slots: a push takes
// one (sem_trywait, never sleeping) before it writes, a pop gives one back after it read,
// so exactly `capacity` items fit, whatever the pipe's buffer. The pipe is made larger than
// the items it must hold: it keeps bytes in whole pages, and a page the reader has partly
// emptied is not written into again, so `capacity` items may span two more pages (where
// pipe-max-size allows: see pipe_for).
template <class T>
class semaphore_pipe_transport {
 public:
  using value_type = T;
  static constexpr queue_properties properties{.exact_capacity = true, .lock_free = false};
  static constexpr bool notices_dead_peers = true;  // the pipe's EOF, EPIPE, POLLERR
  static constexpr std::size_t block_bytes(std::size_t) { return sizeof(sem_t); }

  // Between threads (and for the registry's capacity check): a semaphore of its own.
  explicit semaphore_pipe_transport(std::size_t capacity) : semaphore_pipe_transport(capacity, nullptr) {}
  semaphore_pipe_transport(std::size_t capacity, void* block)
      : own_(block ? nullptr : std::make_unique<sem_t>()), pipe_(pipe_for(capacity)),
        free_slots_(block ? static_cast<sem_t*>(block) : own_.get()), capacity_(capacity) {
    if (::sem_init(free_slots_, 1, static_cast<unsigned>(capacity)) != 0)
      throw std::runtime_error(std::string("pipe.semaphore: sem_init: ") + std::strerror(errno));
  }
  semaphore_pipe_transport(semaphore_pipe_transport&&) noexcept = default;
  semaphore_pipe_transport& operator=(semaphore_pipe_transport&&) = delete;
  ~semaphore_pipe_transport() {
    if (own_) ::sem_destroy(own_.get());  // one in the segment ends with the segment
  }

  std::size_t capacity() const noexcept { return capacity_; }
  void enter(role r, unsigned index) { pipe_.enter(r, index); }

  bool try_push(const T& item) {
    if (::sem_trywait(free_slots_) != 0) {
      if (errno == EAGAIN || errno == EINTR) {  // full: no free slot
        pipe_.check_readers();  // a dead reader frees no slot: the pipe alone can say it is gone
        return false;
      }
      throw std::runtime_error(std::string("pipe.semaphore: sem_trywait: ") + std::strerror(errno));
    }
    bool written = false;
    try {
      written = pipe_.try_push(item);
    } catch (...) {
      ::sem_post(free_slots_);
      throw;
    }
    if (!written) ::sem_post(free_slots_);  // the pipe had no room after all: not taken
    return written;
  }
  bool try_pop(T& item) {
    if (!pipe_.try_pop(item)) return false;
    ::sem_post(free_slots_);
    return true;
  }

 private:
  static pipe_transport<T> pipe_for(std::size_t capacity) {
    if (capacity == 0) reject_capacity("pipe.semaphore", capacity, "is too small: it holds at least 1 item");
    if (capacity > SEM_VALUE_MAX) reject_capacity("pipe.semaphore", capacity, "exceeds SEM_VALUE_MAX free slots");
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    try {
      return pipe_transport<T>(capacity + (2 * page + sizeof(T) - 1) / sizeof(T));
    } catch (const std::invalid_argument&) {
    }
    // At pipe-max-size, without the two pages: an empty pipe still takes `capacity` items,
    // but a write may now and then find the pipe full while a slot is free; that push is
    // refused (the slot given back), so the bound is still never above `capacity`.
    try {
      return pipe_transport<T>(capacity);
    } catch (const std::invalid_argument&) {
      reject_capacity("pipe.semaphore", capacity,
                      "needs a pipe buffer of " + std::to_string(capacity * sizeof(T)) +
                          " bytes, above /proc/sys/fs/pipe-max-size (raise it as root)");
    }
  }
  std::unique_ptr<sem_t> own_;  // the semaphore when there is no segment (first: the others use it)
  pipe_transport<T> pipe_;
  sem_t* free_slots_;
  std::size_t capacity_;
};

}  // namespace ringlab::ipc

namespace ringlab::ipc {

// pipe.batch: the same pipe with one system call per batch of items instead of per item,
// the way a program that cares for throughput uses a pipe. The producer gathers up to
// `batch` items (at most PIPE_BUF bytes, so each write is still atomic and whole) and
// writes them at once when the batch is full or at flush(); the consumer reads as many
// whole items as are there, up to a batch, and hands them out one by one. Items held by
// the producer are invisible until then (delays_visibility: closed-loop streaming only;
// the harness flushes after the last push), so one producer and one consumer.
template <class T>
class batched_pipe_transport {
 public:
  using value_type = T;
  static constexpr std::size_t batch = std::max<std::size_t>(1, std::min<std::size_t>(64, PIPE_BUF / sizeof(T)));
  static constexpr queue_properties properties{.exact_capacity = false, .lock_free = false, .spsc_only = true,
                                               .blocks_natively = true, .delays_visibility = true};
  static constexpr std::size_t block_bytes(std::size_t) { return 0; }
  static constexpr bool notices_dead_peers = true;  // the pipe's EOF, EPIPE

  explicit batched_pipe_transport(std::size_t capacity) : batched_pipe_transport(capacity, nullptr) {}
  batched_pipe_transport(std::size_t capacity, void*) : pipe_(capacity) {}
  batched_pipe_transport(batched_pipe_transport&&) noexcept = default;
  batched_pipe_transport& operator=(batched_pipe_transport&&) = delete;

  // The pipe's buffer plus a batch the producer may hold.
  std::size_t capacity() const noexcept { return pipe_.capacity() + batch; }
  void enter(role r, unsigned index) { pipe_.enter(r, index); }

  // Taken into the batch (written once it is full); false only when the batch is full
  // and the pipe has no room for it.
  bool try_push(const T& item) {
    if (out_count_ == batch && !write_batch()) return false;
    out_[out_count_++] = item;
    if (out_count_ == batch) write_batch();  // the pipe full: the batch waits for the next push or flush
    return true;
  }
  bool try_pop(T& item) {
    if (in_at_ == in_count_ && !read_batch()) return false;
    item = in_[in_at_++];
    return true;
  }
  // Write what the producer holds, waiting for room: after the last push nothing else would.
  void flush() {
    while (out_count_ != 0 && !write_batch()) {
      pollfd p{pipe_.write_end(), POLLOUT, 0};
      ::poll(&p, 1, 100);  // a dead reader shows as EPIPE from the next write
    }
  }
  bool push(const T& item) { return block_on(pipe_.write_end(), POLLOUT, pipe_.closed(), [&] { return try_push(item); }); }
  bool pop(T& item) { return block_on(pipe_.read_end(), POLLIN, pipe_.closed(), [&] { return try_pop(item); }); }
  void close() noexcept { pipe_.close(); }

 private:
  bool write_batch() {
    const ssize_t n = ::write(pipe_.write_end(), out_.data(), out_count_ * sizeof(T));
    if (n == static_cast<ssize_t>(out_count_ * sizeof(T))) return out_count_ = 0, true;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;  // full (all or nothing below PIPE_BUF)
    if (n < 0 && errno == EPIPE) throw peer_lost("EPIPE on the pipe: every reader is gone");
    throw std::runtime_error(n < 0 ? std::string("pipe.batch: write: ") + std::strerror(errno) : "pipe.batch: a write was split");
  }
  // Whole writes of whole items, read in multiples of an item: every read is whole items.
  bool read_batch() {
    const ssize_t n = ::read(pipe_.read_end(), in_.data(), batch * sizeof(T));
    if (n > 0 && n % sizeof(T) == 0) return in_at_ = 0, in_count_ = static_cast<std::size_t>(n) / sizeof(T), true;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;  // empty
    if (n == 0) throw peer_lost("EOF on the pipe: every writer is gone");
    throw std::runtime_error(n < 0 ? std::string("pipe.batch: read: ") + std::strerror(errno) : "pipe.batch: a read was split");
  }

  pipe_transport<T> pipe_;
  std::array<T, batch> out_{};  // producer: the batch being gathered
  std::size_t out_count_ = 0;
  std::array<T, batch> in_{};   // consumer: the batch last read, handed out from in_at_
  std::size_t in_at_ = 0, in_count_ = 0;
};

}  // namespace ringlab::ipc
