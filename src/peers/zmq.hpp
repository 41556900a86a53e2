// Peer transport: ZeroMQ (libzmq 4.3, Debian libzmq3-dev) PUSH/PULL over ipc:// (a Unix
// domain socket), driven as its authors' throughput tools drive it (libzmq perf/
// local_thr.cpp and remote_thr.cpp): the receiver makes a context and a PULL socket and
// binds, the sender makes its own context and a PUSH socket and connects, one message
// per item; default context (one I/O thread). Differences, and why:
//  - `block` is the tools' own way: blocking zmq_send / zmq_recv, zmq's own sleep. Its
//    sockets time out every 10 ms (ZMQ_SNDTIMEO/RCVTIMEO, unused while items flow) to
//    look at close(), a flag in the segment. Every other wait strategy drives
//    try_push = zmq_send(ZMQ_DONTWAIT), try_pop = zmq_recv(ZMQ_DONTWAIT) and decides how a
//    side waits (but see "in transit" below).
//  - the bound: ZMQ_SNDHWM on every PUSH socket and ZMQ_RCVHWM on the PULL socket are the
//    capacity. The tools keep the default 1000: `--capacity 1000` (or the default 1024) runs
//    it as they do; at a small capacity libzmq's reader sends the writer a credit every
//    capacity/2 messages (every 4 at 8) instead of every 500. zmq's queue is that HWM on each side plus
//    what the kernel's socket buffers hold between them, so more than capacity() items can
//    be in flight, and how many depends on the item size: exact_capacity = false.
//  - sockets cannot cross a fork: the conductor creates no context and no socket, only the
//    endpoint name (a fixed char array, so the object stays a plain copy in every side).
//    Each side makes its context and socket in enter(role, index).
//  - one consumer (PULL binds <path>.0), any number of producers (each PUSH connects to
//    it; the consumer fair-queues among them: zmq's pipeline pattern, many workers into
//    one sink). Several consumers would each need their own pipes, and an item pushed to
//    one of them can only be popped by that one: a wake-up that the harness's park gives
//    to any sleeping consumer (or producer) can go to one that cannot proceed while the
//    one that could sleeps on, which stalls a run until it is stopped: single_consumer.
//    The code keeps one PUSH socket per consumer, strictly in turn, for the day the
//    harness can route wake-ups.
//  - in transit: zmq delivers through its I/O threads after zmq_send has returned, so an
//    item pushed may not be poppable yet, and a sender's HWM credit comes back late. Each
//    side counts what it sent / received in the segment (its own cache lines, one store
//    per item); on EAGAIN, try_pop waits in zmq_poll while items are in transit (returns
//    false only when nothing is), and try_push waits while fewer than capacity items to
//    that consumer are untaken (returns false only when that many are): "full" and
//    "empty" as the other side last left them, which is what a sleeping side (park)
//    needs to be woken by the other side's next operation. Up to 64 producers (the
//    counters' room in the segment).
//  - order: each producer's pipe is FIFO and PULL fair-queues among producers, so
//    per-producer order holds (fifo); no total order across producers (not linearizable).
//  - the end: ZMQ_LINGER is -1 (keep unsent messages), but a side leaves with _exit, which
//    drops whatever zmq still queues; the harness keeps producers alive until every
//    consumer has left, so nothing a consumer needs is still queued then. zmq hides a
//    vanished peer (it reconnects), so this transport never reports peer_lost; the
//    harness's watcher stops a run whose side died.
//  - files: the socket file lives under /tmp (ringlab-zmq-<pid>-<n>.0); the conductor's
//    object unlinks it when the run ends (a SIGKILLed conductor leaves them;
//    zmq's bind replaces a stale file of the same name).
//  - zmq.tcp (scope host): the same over tcp://, as the tools run between machines: the
//    PULL binds its side's address (transports/plumbing/net_path.hpp) on a port the kernel picks and
//    publishes the endpoint in the segment. The in-transit counts live in the run's
//    segment too, so its sides are on one machine (loopback or the run's namespaces).
#pragma once
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ringlab/queue.hpp>

#include "transports/plumbing/net_path.hpp"
#include "transports/transport.hpp"
#include "peers/adapter.hpp"

namespace ringlab::peers {

template <class T, bool OverTcp = false>
class zmq_push_pull {
  static_assert(std::is_trivially_copyable_v<T>, "items travel as bytes");
  static constexpr unsigned max_sides = 64;
  // In the run's segment: who has entered, and how many items each producer sent to each
  // consumer and each consumer received, each written by one side only (its own lines)
  // and read by the others only when zmq says full or empty (see try_push / try_pop).
  struct alignas(64) producer_row {
    std::atomic<std::uint64_t> sent_to[max_sides];
  };
  struct alignas(64) consumer_count {
    std::atomic<std::uint64_t> received;
  };
  struct shared_counts {
    std::atomic<std::uint32_t> producers{0}, consumers{0};
    std::atomic<bool> closed{false};  // `block`: close() was called
    char tcp_endpoints[max_sides][48];  // zmq.tcp: where each consumer's PULL is bound, once bound
    producer_row rows[max_sides];
    consumer_count received[max_sides];
  };
  static_assert(std::is_trivially_destructible_v<shared_counts>);

 public:
  using value_type = T;
  // The crash suite's probe is one process holding the conductor's object; zmq needs a
  // socket per side, made in enter(), so a probe could only report its own lack of one.
  static constexpr const char* not_probed_because = "a new user needs a socket of its own per side (enter)";
  static constexpr queue_properties properties{.linearizable = false, .exact_capacity = false, .lock_free = false,
                                               .single_consumer = true, .blocks_natively = true};
  static constexpr bool over_network = OverTcp;
  static constexpr const char* name = OverTcp ? "zmq.tcp" : "zmq.ipc";
  static constexpr std::size_t block_bytes(std::size_t) { return sizeof(shared_counts); }  // 36 KiB

  // Capacity check only (the registry): no endpoint, no socket.
  explicit zmq_push_pull(std::size_t capacity) : zmq_push_pull(capacity, nullptr) {}
  zmq_push_pull(std::size_t capacity, void* block)
      : capacity_(name, capacity, INT_MAX, "(ZMQ_SNDHWM/ZMQ_RCVHWM are ints)") {
    if (block == nullptr) return;
    counts_ = ::new (block) shared_counts();
    static std::atomic<unsigned> runs{0};
    std::snprintf(path_, sizeof path_, "/tmp/ringlab-zmq-%ld-%u", static_cast<long>(::getpid()), runs.fetch_add(1));
    owns_files_ = true;
  }
  zmq_push_pull(zmq_push_pull&& other) noexcept
      : capacity_(other.capacity_),
        counts_(other.counts_),
        owns_files_(std::exchange(other.owns_files_, false)),
        context_(std::exchange(other.context_, nullptr)),
        pull_(std::exchange(other.pull_, nullptr)),
        pushes_(std::move(other.pushes_)),
        sent_(std::move(other.sent_)),
        received_(other.received_),
        next_(other.next_),
        index_(other.index_) {
    std::memcpy(path_, other.path_, sizeof path_);
  }
  zmq_push_pull& operator=(zmq_push_pull&&) = delete;
  ~zmq_push_pull() {
    // Only an object that never forked gets here with sockets (the sides leave with _exit):
    // the run is over, so nothing waits for unsent messages.
    const int no_linger = 0;
    for (void* s : pushes_) ::zmq_setsockopt(s, ZMQ_LINGER, &no_linger, sizeof no_linger), ::zmq_close(s);
    if (pull_) ::zmq_close(pull_);
    if (context_) ::zmq_ctx_term(context_);
    if (owns_files_ && !OverTcp)  // the conductor, once every side is gone
      for (std::uint32_t c = 0, n = counts_->consumers.load(std::memory_order_acquire); c < n; ++c)
        ::unlink(file_of(c).c_str());
  }

  std::size_t capacity() const noexcept { return capacity_; }
  // The socket file of consumer `index` (tests look for leftovers).
  std::string file_of(unsigned index) const { return std::string(path_) + "." + std::to_string(index); }

  void enter(ipc::role r, unsigned index) {
    if (r == ipc::role::conductor) return;  // it only owns the names
    if (r == ipc::role::consumer && index > 0)
      throw std::invalid_argument(std::string(name) + ": one consumer only (an item sent to one consumer cannot wake "
                                  "another); run it with --consumers 1");
    if (index >= max_sides)
      throw std::invalid_argument(std::string(name) + ": at most " + std::to_string(max_sides) + " producers");
    owns_files_ = false;
    index_ = index;
    context_ = ::zmq_ctx_new();
    if (!context_) fail("zmq_ctx_new");
    if (r == ipc::role::producer) {
      counts_->producers.fetch_add(1, std::memory_order_acq_rel);
    } else {
      pull_ = socket(ZMQ_PULL, ZMQ_RCVHWM);
      if constexpr (OverTcp) {
        const std::string at = "tcp://" + ipc::this_side_address() + ":*";
        if (::zmq_bind(pull_, at.c_str()) != 0) fail("zmq_bind " + at);
        char bound[48] = {};
        std::size_t len = sizeof bound;
        if (::zmq_getsockopt(pull_, ZMQ_LAST_ENDPOINT, bound, &len) != 0) fail("ZMQ_LAST_ENDPOINT");
        std::memcpy(counts_->tcp_endpoints[index], bound, sizeof bound);
      } else if (::zmq_bind(pull_, ("ipc://" + file_of(index)).c_str()) != 0) {
        fail("zmq_bind " + file_of(index));
      }
      counts_->consumers.fetch_add(1, std::memory_order_acq_rel);  // bound: producers may connect
    }
  }

  // `block`: zmq's blocking calls, as local_thr / remote_thr make them.
  bool push(const T& item) {
    if (pushes_.empty()) [[unlikely]]
      connect_to_consumers();
    for (;;) {
      if (::zmq_send(pushes_[next_], &item, sizeof item, 0) == static_cast<int>(sizeof item)) {
        counts_->rows[index_].sent_to[next_].store(++sent_[next_], std::memory_order_release);
        if (++next_ == pushes_.size()) next_ = 0;
        return true;
      }
      if (errno != EAGAIN && errno != EINTR) fail("zmq_send");
      if (counts_->closed.load(std::memory_order_acquire)) return false;  // timed out, and closed
    }
  }
  bool pop(T& item) {
    for (;;) {
      const int n = ::zmq_recv(pull_, &item, sizeof item, 0);
      if (n == static_cast<int>(sizeof item)) {
        counts_->received[index_].received.store(++received_, std::memory_order_release);
        return true;
      }
      if (n >= 0) throw std::runtime_error(std::string(name) + ": a message of " + std::to_string(n) + " bytes, not one item");
      if (errno != EAGAIN && errno != EINTR) fail("zmq_recv");
      if (counts_->closed.load(std::memory_order_acquire)) return try_pop(item);  // closed: what is left
    }
  }
  void close() noexcept { counts_->closed.store(true, std::memory_order_release); }

  // zmq moves an item through its I/O threads after zmq_send returns: a receiver may see
  // nothing yet, and a sender's HWM credit comes back only after the receiver read. A
  // side that sleeps (park) until the other side's next operation would then sleep for
  // good after the last one. So "full" and "empty" are decided by the counts: EAGAIN
  // while items are in transit waits (zmq_poll) for zmq to deliver them, which it does
  // without any further call from the other side; EAGAIN with nothing in transit (empty),
  // or with capacity items not yet received (full), returns false.
  bool try_push(const T& item) {
    if (pushes_.empty()) [[unlikely]]
      connect_to_consumers();
    for (;;) {
      if (::zmq_send(pushes_[next_], &item, sizeof item, ZMQ_DONTWAIT) == static_cast<int>(sizeof item)) {
        counts_->rows[index_].sent_to[next_].store(++sent_[next_], std::memory_order_release);
        if (++next_ == pushes_.size()) next_ = 0;
        return true;
      }
      if (errno != EAGAIN && errno != EINTR) fail("zmq_send");
      if (in_transit_to(next_) >= capacity_) return false;  // full: the consumer has not taken them
      wait_for(pushes_[next_], ZMQ_POLLOUT);                // the HWM credit is on its way back
    }
  }
  bool try_pop(T& item) {
    for (;;) {
      const int n = ::zmq_recv(pull_, &item, sizeof item, ZMQ_DONTWAIT);
      if (n == static_cast<int>(sizeof item)) {
        counts_->received[index_].received.store(++received_, std::memory_order_release);
        return true;
      }
      if (n >= 0) throw std::runtime_error(std::string(name) + ": a message of " + std::to_string(n) + " bytes, not one item");
      if (errno != EAGAIN && errno != EINTR) fail("zmq_recv");
      if (in_transit_to(index_) == 0) return false;  // empty
      wait_for(pull_, ZMQ_POLLIN);                   // sent, not here yet
    }
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::runtime_error(std::string(name) + ": " + what + ": " + ::zmq_strerror(errno));
  }
  void* socket(int type, int hwm_option) {
    void* s = ::zmq_socket(context_, type);
    if (!s) fail("zmq_socket");
    const int hwm = static_cast<int>(static_cast<std::size_t>(capacity_)), linger = -1, timeout_ms = 10;
    if (::zmq_setsockopt(s, hwm_option, &hwm, sizeof hwm) != 0 || ::zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        ::zmq_setsockopt(s, type == ZMQ_PUSH ? ZMQ_SNDTIMEO : ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) != 0)
      fail("zmq_setsockopt");
    return s;
  }
  // Sent to `consumer` by every producer and not yet received by it.
  std::uint64_t in_transit_to(std::size_t consumer) const {
    std::uint64_t sent = 0;
    for (std::uint32_t p = 0, n = counts_->producers.load(std::memory_order_acquire); p < n; ++p)
      sent += counts_->rows[p].sent_to[consumer].load(std::memory_order_acquire);
    const std::uint64_t received = counts_->received[consumer].received.load(std::memory_order_acquire);
    return sent > received ? sent - received : 0;  // a receive may be counted before its send is
  }
  void wait_for(void* socket, short event) {
    zmq_pollitem_t item{socket, 0, event, 0};
    if (::zmq_poll(&item, 1, 10) < 0 && errno != EINTR) fail("zmq_poll");  // at most 10 ms, then look again
  }
  // At the first push every consumer has bound (it entered before the run started).
  void connect_to_consumers() {
    const std::uint32_t consumers = counts_->consumers.load(std::memory_order_acquire);
    if (consumers == 0) throw std::runtime_error(std::string(name) + ": no consumer has bound its endpoint");
    for (std::uint32_t c = 0; c < consumers; ++c) {
      pushes_.push_back(socket(ZMQ_PUSH, ZMQ_SNDHWM));
      const std::string to = OverTcp ? std::string(counts_->tcp_endpoints[c]) : "ipc://" + file_of(c);
      if (::zmq_connect(pushes_.back(), to.c_str()) != 0) fail("zmq_connect " + to);
    }
    sent_.assign(consumers, 0);
    next_ = index_ % consumers;  // producers start on different consumers
  }

  checked_capacity capacity_;
  shared_counts* counts_ = nullptr;
  char path_[64] = {};
  bool owns_files_ = false;
  void* context_ = nullptr;
  void* pull_ = nullptr;
  std::vector<void*> pushes_;  // producer: one PUSH socket per consumer
  std::vector<std::uint64_t> sent_;  // producer: items sent to each consumer
  std::uint64_t received_ = 0;       // consumer: items received
  std::size_t next_ = 0;
  unsigned index_ = 0;  // this side's index among the producers or the consumers
};

template <class T>
using zmq_ipc = ipc::between_processes<zmq_push_pull<T>>;
template <class T>
using zmq_tcp = ipc::between_processes<zmq_push_pull<T, true>>;

}  // namespace ringlab::peers
