// pipe: the kernel's own queue between processes, as in the seeds (a Pipe). The pipe is
// made before the sides are forked, so every side inherits both ends. Items are written
// and read whole: a write of at most PIPE_BUF bytes is atomic and every read asks for one
// item, so no item is split or interleaved with another, whatever the number of sides.
// The bound is the pipe's buffer, set to the capacity's bytes (F_SETPIPE_SZ rounds up to
// a page, so capacity() reports what the kernel gave: not exact). Both ends are
// non-blocking: try_push/try_pop never sleep, the wait strategy decides how a side waits.
// After the fork each process keeps only the end it uses, so a dead peer shows: EOF when
// every writer is gone, EPIPE when every reader is (ipc::peer_lost).
#pragma once
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <ringlab/queue.hpp>

#include "ipc/transport.hpp"

namespace ringlab::ipc {

template <class T>
class pipe_transport {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= PIPE_BUF, "whole items, each written atomically");

 public:
  using value_type = T;
  // One FIFO in the kernel: a total order; a side stalled in a system call holds its lock.
  static constexpr queue_properties properties{.exact_capacity = false, .lock_free = false};
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
      : read_fd_(std::exchange(other.read_fd_, -1)), write_fd_(std::exchange(other.write_fd_, -1)), capacity_(other.capacity_) {}
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
};

}  // namespace ringlab::ipc
