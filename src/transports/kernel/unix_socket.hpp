// unix_socket: a connected pair of Unix-domain sockets (socketpair(2), unix(7)) made
// before the sides are forked; producers write to one end, consumers read from the other.
// Two kinds, one template:
//   unix_socket            SOCK_STREAM: a byte stream, as most programs use one. A stream
//                          keeps no item boundaries: a write may take part of an item and a
//                          read may return part of one. Each side is its own process, so
//                          the object's copy in it is private to that side and holds the
//                          bytes of at most one item in transit: try_pop gathers them and
//                          returns whole items only; try_push takes an item even if the
//                          socket took only its head, keeps the tail, and sends it first on
//                          the next call (refusing the new item while it cannot) or in
//                          flush(), which the harness calls after the last push. So an item
//                          may stay incomplete until the next push or flush
//                          (delays_visibility: no open-loop --rate runs), and two producers'
//                          partial writes would interleave (spsc_only). Linux does not split
//                          a write of an item of ours (a send of less than half the buffer
//                          is one skb, all or nothing), but that is the kernel's choice, not
//                          the stream's promise. A wait strategy sleeps until the other side
//                          reports success, so bytes that move without completing an item
//                          wake no one: that stays live as long as an empty socket takes a
//                          whole item (any item of ours, the minimum buffer being 4608 bytes).
//   unix_socket.seqpacket  SOCK_SEQPACKET: whole messages, each send one item, each recv
//                          one item; any number of sides share the two ends.
// The bound: AF_UNIX charges every message (an skb: the bytes plus a few hundred bytes of
// kernel overhead, its "truesize") to the SENDER's SO_SNDBUF until the reader has taken it,
// and refuses a send once the charge reaches the buffer; SO_RCVBUF plays no part. So the
// buffer is sized in truesize: we measure one item's (SIOCOUTQ), ask for capacity × that
// (the kernel doubles what it is asked, clamps it to [4608, 2 × net.core.wmem_max]), then
// fill the empty socket to count what it really holds: capacity() is that count (not exact).
// Both ends are non-blocking (`block` sleeps in poll() on them: transports/plumbing/fd_block.hpp); after the fork each process keeps only the end it uses, so a
// dead peer shows: EOF when every writer is gone, EPIPE or ECONNRESET when every reader is
// (ipc::peer_lost).
#pragma once
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
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

template <class T, int SocketType>
class unix_socket_transport {
  static_assert(std::is_trivially_copyable_v<T>, "items travel as bytes");
  static_assert(SocketType == SOCK_STREAM || SocketType == SOCK_SEQPACKET, "a stream or whole messages");
  static constexpr bool stream = SocketType == SOCK_STREAM;
  static constexpr const char* name = stream ? "unix_socket" : "unix_socket.seqpacket";

 public:
  using value_type = T;
  // One queue in the kernel: a total order; a side stalled in a system call holds its lock.
  static constexpr bool notices_dead_peers = true;  // EOF, EPIPE, ECONNRESET
  static constexpr queue_properties properties{
      .exact_capacity = false, .lock_free = false, .spsc_only = stream, .blocks_natively = true, .delays_visibility = stream};
  static constexpr std::size_t block_bytes(std::size_t) { return 0; }  // nothing of it in the segment

  explicit unix_socket_transport(std::size_t capacity) : unix_socket_transport(capacity, nullptr) {}
  unix_socket_transport(std::size_t capacity, void*) {
    if (capacity == 0) reject_capacity(name, capacity, "is too small: a socket holds at least 1 item");
    int fds[2];
    if (::socketpair(AF_UNIX, SocketType | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
      throw std::runtime_error(std::string(name) + ": socketpair: " + std::strerror(errno));
    write_fd_ = fds[0], read_fd_ = fds[1];
    try {
      size_buffer(capacity);
    } catch (...) {
      close_both();
      throw;
    }
  }
  unix_socket_transport(unix_socket_transport&& other) noexcept
      : write_fd_(std::exchange(other.write_fd_, -1)), read_fd_(std::exchange(other.read_fd_, -1)),
        capacity_(other.capacity_), closed_(std::move(other.closed_)), partial_(other.partial_) {}
  unix_socket_transport& operator=(unix_socket_transport&&) = delete;
  ~unix_socket_transport() { close_both(); }

  std::size_t capacity() const noexcept { return capacity_; }

  void enter(role r, unsigned) {
    if (r != role::producer && write_fd_ >= 0) ::close(std::exchange(write_fd_, -1));
    if (r != role::consumer && read_fd_ >= 0) ::close(std::exchange(read_fd_, -1));
  }

  bool try_push(const T& item) {
    if constexpr (!stream) {
      return send_some(&item, sizeof item) == sizeof item;  // a message is sent whole or not at all
    } else {
      // A tail still pending goes first: the new item may not overtake it.
      const bool tail_sent = partial_.out_pending != 0;
      if (tail_sent && !send_tail()) return false;
      const std::size_t n = send_some(&item, sizeof item);
      if (n == sizeof item) return true;
      // Refuse it only if nothing moved. Once a tail completed an item, take this one
      // (even wholly pending): the caller must see success, or the reader waiting for
      // that item would not be woken.
      if (n == 0 && !tail_sent) return false;
      std::memcpy(partial_.out.data(), &item, sizeof item);
      partial_.out_pending = sizeof item - n;
      return true;
    }
  }

  bool try_pop(T& item) {
    if constexpr (!stream) {
      const ssize_t n = ::recv(read_fd_, &item, sizeof item, 0);
      if (n == static_cast<ssize_t>(sizeof item)) return true;
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;  // empty
      if (n == 0 || errno == ECONNRESET) throw peer_lost(std::string("EOF on the ") + name + ": every writer is gone");
      throw std::runtime_error(n < 0 ? std::string(name) + ": recv: " + std::strerror(errno)
                                     : std::string(name) + ": a message of " + std::to_string(n) + " bytes, not one item");
    } else {
      auto* bytes = partial_.in.data();
      while (partial_.in_have < sizeof item) {
        const ssize_t n = ::recv(read_fd_, bytes + partial_.in_have, sizeof item - partial_.in_have, 0);
        if (n > 0) {
          partial_.in_have += static_cast<std::size_t>(n);
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;  // no whole item yet (its head is kept)
        if (n == 0 || errno == ECONNRESET)
          throw peer_lost(partial_.in_have ? "EOF on the unix_socket in the middle of an item: every writer is gone"
                                           : "EOF on the unix_socket: every writer is gone");
        throw std::runtime_error(std::string(name) + ": recv: " + std::strerror(errno));
      }
      std::memcpy(&item, bytes, sizeof item);
      partial_.in_have = 0;
      return true;
    }
  }

  bool push(const T& item) { return block_on(write_fd_, POLLOUT, closed_, [&] { return try_push(item); }); }
  bool pop(T& item) { return block_on(read_fd_, POLLIN, closed_, [&] { return try_pop(item); }); }
  void close() noexcept { closed_.signal(); }

  // Send a pending tail, waiting for room if need be: after the last push, nothing else
  // would. The reader drains meanwhile (it has whole items to take, or the tail fits).
  void flush()
    requires stream
  {
    while (partial_.out_pending != 0 && !send_tail()) {
      pollfd p{write_fd_, POLLOUT, 0};
      ::poll(&p, 1, 100);  // a dead reader shows as EPIPE from the next send
    }
  }

  // For the tests: the bytes of an item a producer holds (its tail, not yet sent) and a
  // consumer holds (its head, not yet whole); the ends (a naive reader reads one raw, a
  // test shrinks the other's buffer).
  std::size_t tail_bytes() const noexcept {
    if constexpr (stream) return partial_.out_pending;
    return 0;
  }
  std::size_t head_bytes() const noexcept {
    if constexpr (stream) return partial_.in_have;
    return 0;
  }
  int read_end() const noexcept { return read_fd_; }
  int write_end() const noexcept { return write_fd_; }

 private:
  // How many of `size` bytes the socket took (0: full); throws when the readers are gone.
  std::size_t send_some(const void* data, std::size_t size) {
    std::size_t sent = 0;
    while (sent < size) {
      // MSG_NOSIGNAL: a dead reader is an EPIPE here, not a SIGPIPE that kills the writer.
      const ssize_t n = ::send(write_fd_, static_cast<const std::byte*>(data) + sent, size - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;  // full
      if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
        throw peer_lost(std::string(errno == EPIPE ? "EPIPE" : "ECONNRESET") + " on the " + name + ": every reader is gone");
      throw std::runtime_error(std::string(name) + ": send: " + std::strerror(n < 0 ? errno : EIO));
    }
    return sent;
  }
  bool send_tail() {
    const std::size_t n = send_some(partial_.out.data() + (sizeof(T) - partial_.out_pending), partial_.out_pending);
    partial_.out_pending -= n;
    return partial_.out_pending == 0;
  }

  // The buffer, in truesize (see the top): ask for capacity items' worth, then count them.
  void size_buffer(std::size_t capacity) {
    const T probe{};
    int per_item = static_cast<int>(sizeof(T));  // if SIOCOUTQ says nothing: the payload alone
    if (send_some(&probe, sizeof probe) == sizeof probe) {
      int charged = 0;
      if (::ioctl(write_fd_, SIOCOUTQ, &charged) == 0 && charged > per_item) per_item = charged;
      drain();
    }
    // The kernel doubles the value: ask for half (an int; it clamps to wmem_max anyway).
    const std::size_t wanted = std::min<std::size_t>(capacity, INT_MAX / per_item) * per_item / 2;
    const int asked = static_cast<int>(std::max<std::size_t>(wanted, 1));
    if (::setsockopt(write_fd_, SOL_SOCKET, SO_SNDBUF, &asked, sizeof asked) != 0)
      throw std::runtime_error(std::string(name) + ": setsockopt SO_SNDBUF: " + std::strerror(errno));
    std::size_t held = 0;
    while (send_some(&probe, sizeof probe) == sizeof probe) ++held;
    drain();
    if (stream) partial_ = {};
    // An item larger than the whole buffer still goes through, a part at a time.
    capacity_ = std::max<std::size_t>(held, 1);
  }
  void drain() {
    std::array<std::byte, 4096> sink;
    while (::recv(read_fd_, sink.data(), sink.size(), 0) > 0) {
    }
  }
  void close_both() noexcept {
    if (read_fd_ >= 0) ::close(read_fd_);
    if (write_fd_ >= 0) ::close(write_fd_);
    read_fd_ = write_fd_ = -1;
  }

  struct partial_item {
    std::array<std::byte, sizeof(T)> out;  // the item whose tail is pending (producer)
    std::size_t out_pending = 0;           // bytes of its tail not yet sent
    std::array<std::byte, sizeof(T)> in;   // the head of the next item (consumer)
    std::size_t in_have = 0;
  };
  struct no_partial {};

  int write_fd_ = -1, read_fd_ = -1;
  std::size_t capacity_ = 0;
  close_event closed_;  // `block`: close() wakes the sleepers (made before the fork)
  [[no_unique_address]] std::conditional_t<stream, partial_item, no_partial> partial_;
};

template <class T>
using unix_socket = unix_socket_transport<T, SOCK_STREAM>;
template <class T>
using unix_seqpacket = unix_socket_transport<T, SOCK_SEQPACKET>;

}  // namespace ringlab::ipc
