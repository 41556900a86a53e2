// Transport between hosts (scope host), the seeds' last step: one TCP stream per producer
// into the consumer's local bounded queue of `capacity` items, filled by a receiving
// thread per connection. When that queue is full its receiving thread stops reading, the
// socket buffers fill and TCP's flow control stops the producer: back-pressure as in the
// seeds. Many producers, one consumer (single_consumer).
//  - wire: a hello (magic, version, item size, producer index, producer count), then frames
//    = a 32-bit length (network order) + that many bytes of whole items, at most
//    max_frame_items (--batch N items per frame); length 0 ends the producer's stream. The
//    receiver checks every header against that limit before reading on and reads into a
//    buffer made once: a length is never a size to allocate. A bad frame drops the
//    connection and fails the run with its length; a bad hello only drops the connection.
//  - producer: try_push sends a whole frame or nothing (MSG_DONTWAIT); a frame the kernel
//    took in part is finished at once (poll), never left half-written. `block` = poll on
//    the socket. --batch N holds items until N are there (or flush): delays their visibility.
//  - consumer: pops from the local queue (a mutex, two condvars). `park` is refused: an
//    item arrives through the receiving thread, which cannot wake a parked consumer. The
//    receiving threads run on any PU, not pinned with the consumer (it would starve them).
//  - the end: a producer's end frame, then EOF; EOF or a reset before the end frame is a
//    lost peer (ipc::peer_lost). Once closed, pop takes what is left and what the producers
//    that have not ended are still sending.
//  - where: the consumer binds its side's address (transports/plumbing/net_path.hpp: 127.0.0.1, or its
//    namespace's) on --port (0: the kernel picks) and publishes the port in the run's
//    segment; producers connect in enter(), before the run starts.
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <ringlab/queue.hpp>

#include "transports/plumbing/fd_block.hpp"
#include "transports/plumbing/net_path.hpp"
#include "transports/transport.hpp"
#include "transports/plumbing/unique_fd.hpp"

namespace ringlab::ipc {

namespace tcp_wire {
inline constexpr std::uint32_t magic = 0x524c5443;  // "RLTC"
inline constexpr std::uint32_t version = 1;
struct hello {
  std::uint32_t magic, version, item_bytes, producer, producers;  // network order
};
}  // namespace tcp_wire

[[noreturn]] inline void tcp_fail(const std::string& what) { throw std::runtime_error("tcp: " + what + ": " + std::strerror(errno)); }

// Send or receive exactly n bytes on a blocking descriptor, giving up after `timeout_ms`
// without progress. False on EOF or timeout.
inline bool recv_exactly(int fd, void* to, std::size_t n, int timeout_ms) {
  auto* p = static_cast<char*>(to);
  while (n) {
    pollfd w{fd, POLLIN, 0};
    if (::poll(&w, 1, timeout_ms) <= 0) return false;
    const ssize_t got = ::recv(fd, p, n, 0);
    if (got <= 0) return false;
    p += got, n -= static_cast<std::size_t>(got);
  }
  return true;
}

template <class T>
class tcp_stream {
  static_assert(std::is_trivially_copyable_v<T>, "items travel as bytes");
  static constexpr std::size_t max_frame_bytes = max_frame_items * sizeof(T);
  // In the run's segment: where the consumer listens (same machine: the harness's runs).
  struct meeting {
    std::atomic<std::uint32_t> listening{0}, failed{0};
    sockaddr_in address{};
  };
  // The consumer's side: the local bounded queue and the threads that fill it.
  struct receiving_end {
    std::mutex lock;
    std::condition_variable not_empty, not_full;
    std::vector<T> ring;
    std::size_t head = 0, count = 0;
    unsigned accepted = 0, ended = 0;  // connections; those that sent their end frame
    bool closed = false, stopping = false;
    std::string problem;               // what broke a stream (a lost peer, a bad frame)
    std::string rejected;              // the last connection refused at its hello
    unique_fd listener, stop_event;
    std::thread acceptor;                // started once; it alone adds connections and receivers
    std::vector<unique_fd> connections;  // under `lock`
    std::vector<std::thread> receivers;  // under `lock`
  };

 public:
  using value_type = T;
  static constexpr queue_properties properties{.linearizable = false, .exact_capacity = false, .lock_free = false,
                                               .single_consumer = true, .blocks_natively = true, .park_works = false,
                                               .stream_options = true};
  static constexpr bool notices_dead_peers = true;
  static constexpr bool over_network = true;
  static constexpr std::size_t max_capacity = std::size_t{1} << 24;
  static constexpr const char* not_probed_because = "a new user needs a connection of its own (enter)";
  static constexpr std::size_t block_bytes(std::size_t) { return sizeof(meeting); }

  explicit tcp_stream(std::size_t capacity) : tcp_stream(capacity, nullptr) {}
  tcp_stream(std::size_t capacity, void* block, stream_options options = {}) : capacity_(capacity), options_(options) {
    if (capacity == 0) reject_capacity("tcp", capacity, "is too small: the consumer's queue holds at least 1 item");
    if (capacity > max_capacity) reject_capacity("tcp", capacity, "exceeds 2^24 items in the consumer's queue");
    if (block) meeting_ = ::new (block) meeting();
  }
  tcp_stream(tcp_stream&&) noexcept = default;
  tcp_stream& operator=(tcp_stream&&) = delete;
  ~tcp_stream() { stop_receiving(); }

  std::size_t capacity() const noexcept { return capacity_; }
  const stream_options& options() const noexcept { return options_; }
  // The consumer's port (tests connect to it); 0 before it listens.
  unsigned port() const noexcept { return meeting_ ? ntohs(meeting_->address.sin_port) : 0; }
  std::string rejected() {
    std::lock_guard g(rx_->lock);
    return rx_->rejected;
  }

  void enter(role r, unsigned index) {
    if (r == role::consumer) listen_as_consumer(index);
    if (r == role::producer) connect_as_producer(index);
  }
  // A run split across hosts (scopes/hosts/run_split.hpp): where the consumer listens, published by
  // its host and met by the producers' host.
  std::string published() const {
    if (meeting_->failed.load(std::memory_order_acquire)) return "failed";
    if (!meeting_->listening.load(std::memory_order_acquire)) return "";
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &meeting_->address.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(meeting_->address.sin_port));
  }
  void meet(const std::string& at) {
    if (at == "failed") return meeting_->failed.store(1, std::memory_order_release);
    const auto [address, port] = split_host_port(at, "tcp: the consumer's address");
    meeting_->address.sin_family = AF_INET;
    meeting_->address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, address.c_str(), &meeting_->address.sin_addr) != 1) return meeting_->failed.store(1);
    meeting_->listening.store(1, std::memory_order_release);
  }

  // Producer.
  bool try_push(const T& item) {
    if (out_count_ == options_.batch && !send_frame()) return false;  // the last full batch is still waiting
    std::memcpy(out_.data() + 4 + out_count_ * sizeof(T), &item, sizeof(T));
    if (++out_count_ < options_.batch) return true;
    if (send_frame() || options_.batch > 1) return true;  // a full batch the kernel has no room for waits
    out_count_ = 0;  // one item per frame: not taken
    return false;
  }
  bool push(const T& item) { return block_on(socket_.get(), POLLOUT, closed_, [&] { return try_push(item); }); }
  void flush() {
    while (out_count_ != 0 && !send_frame())
      if (!wait_for_room()) return;
  }
  // The producer's end of stream: what it holds, then an empty frame. The consumer's: its
  // threads stopped and joined before its process leaves.
  void leave(role r) {
    if (r == role::consumer) return stop_receiving();
    if (r != role::producer || socket_.get() < 0) return;
    try {
      flush();
      out_count_ = 0;
      while (!send_frame())
        if (!wait_for_room()) return;
    } catch (const peer_lost&) {  // the consumer had all it needed (its pills) and left
    }
  }

  // Consumer.
  bool try_pop(T& item) {
    std::unique_lock g(rx_->lock);
    if (rx_->count == 0) {
      if (!rx_->problem.empty()) throw peer_lost(rx_->problem);
      return false;
    }
    take(item);
    return true;
  }
  bool pop(T& item) {
    std::unique_lock g(rx_->lock);
    rx_->not_empty.wait(g, [&] { return rx_->count != 0 || !rx_->problem.empty() || drained(); });
    if (rx_->count == 0) {
      if (!rx_->problem.empty()) throw peer_lost(rx_->problem);
      return false;
    }
    take(item);
    return true;
  }
  void close() noexcept { closed_.signal(); }

 private:
  // --- consumer ---
  bool drained() const { return rx_->closed && rx_->ended >= rx_->accepted && rx_->accepted >= options_.producers; }
  void take(T& item) {
    item = rx_->ring[rx_->head];
    if (++rx_->head == capacity_) rx_->head = 0;
    if (rx_->count-- == capacity_) rx_->not_full.notify_all();
  }
  void listen_as_consumer(unsigned index) {
    if (index > 0) throw std::invalid_argument("tcp: one consumer only (--consumers 1)");
    try {
      rx_ = std::make_unique<receiving_end>();
      rx_->ring.resize(capacity_);
      rx_->stop_event.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      rx_->listener.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (rx_->listener.get() < 0) tcp_fail("socket");
      const int one = 1;
      ::setsockopt(rx_->listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in at{};
      at.sin_family = AF_INET;
      at.sin_port = htons(static_cast<std::uint16_t>(options_.port));
      if (::inet_pton(AF_INET, this_side_address().c_str(), &at.sin_addr) != 1)
        throw std::runtime_error("tcp: not an IPv4 address: " + this_side_address());
      if (::bind(rx_->listener.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) != 0)
        tcp_fail("bind " + this_side_address() + ":" + std::to_string(options_.port));
      if (::listen(rx_->listener.get(), 128) != 0) tcp_fail("listen");
      socklen_t len = sizeof at;
      ::getsockname(rx_->listener.get(), reinterpret_cast<sockaddr*>(&at), &len);
      meeting_->address = at;
      meeting_->listening.store(1, std::memory_order_release);
    } catch (...) {
      meeting_->failed.store(1, std::memory_order_release);  // producers stop waiting for us
      throw;
    }
    rx_->acceptor = std::thread([this] { accept_connections(); });
  }
  // Accepts the producers' connections, and notes close() for the consumer's condvar.
  void accept_connections() {
    run_anywhere();
    bool closed = false;
    for (;;) {
      pollfd w[3] = {{rx_->stop_event.get(), POLLIN, 0}, {rx_->listener.get(), POLLIN, 0}, {closed ? -1 : closed_.fd(), POLLIN, 0}};
      if (::poll(w, 3, -1) < 0 && errno != EINTR) return;
      if (w[0].revents) return;
      if (w[2].revents & POLLIN) {
        closed = true;
        std::lock_guard g(rx_->lock);
        rx_->closed = true;
        rx_->not_empty.notify_all();
      }
      if (w[1].revents & POLLIN) {
        unique_fd c(::accept4(rx_->listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (c.get() >= 0) admit(std::move(c));
      }
    }
  }
  void admit(unique_fd c) {
    tcp_wire::hello h{};
    std::string why;
    if (!recv_exactly(c.get(), &h, sizeof h, 2000)) why = "no hello within 2 s";
    else if (ntohl(h.magic) != tcp_wire::magic) why = "not a ringlab stream (bad magic)";
    else if (ntohl(h.version) != tcp_wire::version) why = "protocol version " + std::to_string(ntohl(h.version));
    else if (ntohl(h.item_bytes) != sizeof(T)) why = "items of " + std::to_string(ntohl(h.item_bytes)) + " bytes, not " + std::to_string(sizeof(T));
    else if (ntohl(h.producer) >= options_.producers) why = "producer " + std::to_string(ntohl(h.producer)) + " of " + std::to_string(options_.producers);
    std::lock_guard g(rx_->lock);
    if (!why.empty() || rx_->accepted == options_.producers) {
      rx_->rejected = why.empty() ? "a connection beyond the producers' " + std::to_string(options_.producers) : why;
      return;  // closed by c's destructor
    }
    ++rx_->accepted;
    const int fd = c.get();
    rx_->connections.push_back(std::move(c));
    const unsigned producer = ntohl(h.producer);
    rx_->receivers.emplace_back([this, fd, producer] { receive(fd, producer); });
  }
  // The consumer's threads run on any PU (as the kernel's network work does), not on the
  // consumer's own: a spinning consumer would starve the thread that brings its items.
  static void run_anywhere() noexcept {
    cpu_set_t all;
    CPU_ZERO(&all);
    for (long cpu = 0, n = ::sysconf(_SC_NPROCESSORS_CONF); cpu < n && cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &all);
    ::sched_setaffinity(0, sizeof all, &all);  // within the run's cpuset, if it has one
  }
  // One connection: frames into the local queue, waiting while it is full.
  void receive(int fd, unsigned producer) {
    run_anywhere();
    std::vector<char> buffer(std::max<std::size_t>(64 * 1024, 2 * (4 + max_frame_bytes)));
    std::size_t have = 0;
    auto broken = [&](const std::string& what) {
      ::shutdown(fd, SHUT_RDWR);  // dropped: nothing more is read from it
      std::lock_guard g(rx_->lock);
      if (rx_->problem.empty() && !rx_->stopping) rx_->problem = "tcp: producer " + std::to_string(producer) + "'s stream: " + what;
      rx_->not_empty.notify_all();
    };
    for (;;) {
      const ssize_t n = ::recv(fd, buffer.data() + have, buffer.size() - have, 0);
      if (n == 0) return broken(have ? "EOF inside a frame (truncated)" : "EOF before its end frame (the producer is gone)");
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return broken(std::string("recv: ") + std::strerror(errno));
      have += static_cast<std::size_t>(n);
      std::size_t at = 0;
      while (have - at >= 4) {
        std::uint32_t length;
        std::memcpy(&length, buffer.data() + at, 4);
        length = ntohl(length);
        if (length == 0) {  // the end of this producer's stream
          std::lock_guard g(rx_->lock);
          ++rx_->ended;
          rx_->not_empty.notify_all();
          return;
        }
        if (length % sizeof(T) != 0 || length > max_frame_bytes)
          return broken("a frame of " + std::to_string(length) + " bytes: not whole " + std::to_string(sizeof(T)) +
                        "-byte items up to the limit of " + std::to_string(max_frame_bytes) + "; connection dropped");
        if (have - at - 4 < length) break;
        if (!deliver(buffer.data() + at + 4, length / sizeof(T))) return;
        at += 4 + length;
      }
      std::memmove(buffer.data(), buffer.data() + at, have - at);
      have -= at;
    }
  }
  bool deliver(const char* items, std::size_t n) {
    std::unique_lock g(rx_->lock);
    for (std::size_t i = 0; i < n;) {
      rx_->not_full.wait(g, [&] { return rx_->count < capacity_ || rx_->stopping; });
      if (rx_->stopping) return false;
      const bool was_empty = rx_->count == 0;
      for (; i < n && rx_->count < capacity_; ++i, ++rx_->count) {
        std::size_t slot = rx_->head + rx_->count;
        if (slot >= capacity_) slot -= capacity_;
        std::memcpy(&rx_->ring[slot], items + i * sizeof(T), sizeof(T));
      }
      if (was_empty) rx_->not_empty.notify_one();
    }
    return true;
  }
  void stop_receiving() noexcept {
    if (!rx_) return;
    {
      std::lock_guard g(rx_->lock);
      rx_->stopping = true;
      rx_->not_full.notify_all();
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto w = ::write(rx_->stop_event.get(), &one, sizeof one);
    if (rx_->acceptor.joinable()) rx_->acceptor.join();  // first: no receiver is added after it
    for (auto& c : rx_->connections) ::shutdown(c.get(), SHUT_RDWR);
    for (auto& t : rx_->receivers)
      if (t.joinable()) t.join();  // a second stop (leave, then the destructor) finds them joined
  }

  // --- producer ---
  void connect_as_producer(unsigned index) {
    if (!meeting_) throw std::logic_error("tcp: a producer needs the run's segment");
    for (int waited_ms = 0; !meeting_->listening.load(std::memory_order_acquire); ++waited_ms) {
      if (meeting_->failed.load(std::memory_order_acquire)) throw std::runtime_error("tcp: the consumer could not listen");
      if (waited_ms == 10000) throw std::runtime_error("tcp: the consumer did not listen within 10 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    socket_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (socket_.get() < 0) tcp_fail("socket");
    const int nodelay = options_.nodelay ? 1 : 0;
    if (::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay) != 0) tcp_fail("TCP_NODELAY");
    const sockaddr_in to = meeting_->address;
    char text[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &to.sin_addr, text, sizeof text);
    const timeval five_s{5, 0};  // connect and the hello: bounded
    ::setsockopt(socket_.get(), SOL_SOCKET, SO_SNDTIMEO, &five_s, sizeof five_s);
    if (::connect(socket_.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0)
      tcp_fail(std::string("connect ") + text + ":" + std::to_string(ntohs(to.sin_port)));
    const tcp_wire::hello h{htonl(tcp_wire::magic), htonl(tcp_wire::version), htonl(sizeof(T)), htonl(index),
                            htonl(options_.producers)};
    if (::send(socket_.get(), &h, sizeof h, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof h)) tcp_fail("send hello");
    ::fcntl(socket_.get(), F_SETFL, ::fcntl(socket_.get(), F_GETFL) | O_NONBLOCK);
    out_.resize(4 + options_.batch * sizeof(T));
  }
  // The frame of out_count_ items (0: the end frame), whole or not at all.
  bool send_frame() {
    const std::uint32_t length = htonl(static_cast<std::uint32_t>(out_count_ * sizeof(T)));
    std::memcpy(out_.data(), &length, 4);
    const std::size_t total = 4 + out_count_ * sizeof(T);
    std::size_t sent = 0;
    while (sent < total) {
      const ssize_t n = ::send(socket_.get(), out_.data() + sent, total - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) throw peer_lost(std::string("tcp: ") + std::strerror(errno) + ": the consumer is gone");
      if (n < 0 && errno != EAGAIN) tcp_fail("send");
      if (sent == 0) return false;  // no room: nothing of it went
      if (!wait_for_room()) return false;  // closed with half a frame out: the run is being stopped
    }
    out_count_ = 0;
    return true;
  }
  bool wait_for_room() {
    pollfd w[2] = {{socket_.get(), POLLOUT, 0}, {closed_.fd(), POLLIN, 0}};
    if (::poll(w, 2, 100) < 0 && errno != EINTR) tcp_fail("poll");
    return !(w[1].revents & POLLIN);
  }

  std::size_t capacity_;
  stream_options options_;
  meeting* meeting_ = nullptr;
  close_event closed_;  // made before the fork: close() in the conductor wakes every side
  std::unique_ptr<receiving_end> rx_;  // consumer
  unique_fd socket_;                   // producer
  std::vector<char> out_;              // producer: the frame being gathered (length + items)
  unsigned out_count_ = 0;
};

}  // namespace ringlab::ipc
