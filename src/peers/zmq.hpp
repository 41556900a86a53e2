// Peer transport: ZeroMQ (libzmq 4.3, Debian libzmq3-dev) PUSH/PULL over ipc:// (a Unix
// domain socket), driven as its authors' throughput tools drive it (libzmq perf/
// local_thr.cpp and remote_thr.cpp): the receiver makes a context and a PULL socket and
// binds, the sender makes its own context and a PUSH socket and connects, one message
// per item; default context (one I/O thread). Differences, and why:
//  - non-blocking: try_push is zmq_send(ZMQ_DONTWAIT) (EAGAIN: full), try_pop is
//    zmq_recv(ZMQ_DONTWAIT) (EAGAIN: empty); the wait strategy decides how a side waits.
//  - the bound: ZMQ_SNDHWM on every PUSH socket and ZMQ_RCVHWM on the PULL socket are the
//    capacity (the tools keep the default 1000). zmq's queue is that HWM on each side plus
//    what the kernel's socket buffers hold between them, so more than capacity() items can
//    be in flight, and how many depends on the item size: exact_capacity = false.
//  - sockets cannot cross a fork: the conductor creates no context and no socket, only the
//    endpoint name (a fixed char array, so the object stays a plain copy in every side).
//    Each side makes its context and socket in enter(role, index).
//  - several consumers: each binds its own endpoint (<path>.<index>), and each producer
//    keeps one PUSH socket per consumer and sends item k to consumer k mod C strictly (a
//    full one makes try_push fail rather than go to the next). One PUSH socket connected
//    to every consumer would be zmq's own load balancing, but it skips a full peer, so one
//    consumer could get two of a producer's end-of-run pills and another none: the
//    harness needs each consumer to get one pill from every producer, after that
//    producer's items to it. A producer learns C at its first push (the consumers count
//    themselves in the segment in enter(), and every side has entered before any pushes).
//  - order: each producer→consumer pipe is FIFO and PULL fair-queues among producers, so
//    per-producer order holds (fifo); no total order across producers (not linearizable).
//  - the end: ZMQ_LINGER is -1 (keep unsent messages), but a side leaves with _exit, which
//    drops whatever zmq still queues; the harness keeps producers alive until every
//    consumer has left, so nothing a consumer needs is still queued then. zmq hides a
//    vanished peer (it reconnects), so this transport never reports peer_lost; the
//    harness's watcher stops a run whose side died.
//  - files: the socket files live under /tmp (ringlab-zmq-<pid>-<n>.<consumer>); the
//    conductor's object unlinks them when the run ends (a SIGKILLed conductor leaves them;
//    zmq's bind replaces a stale file of the same name).
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

#include "ipc/transport.hpp"
#include "peers/adapter.hpp"

namespace ringlab::peers {

template <class T>
class zmq_push_pull {
  static_assert(std::is_trivially_copyable_v<T>, "items travel as bytes");
  // In the run's segment: how many consumers have bound (counted before their bind, so
  // that the conductor unlinks every file that may exist).
  struct shared_counts {
    std::atomic<std::uint32_t> consumers{0};
  };

 public:
  using value_type = T;
  static constexpr queue_properties properties{.linearizable = false, .exact_capacity = false, .lock_free = false};
  static constexpr std::size_t block_bytes(std::size_t) { return sizeof(shared_counts); }

  // Capacity check only (the registry): no endpoint, no socket.
  explicit zmq_push_pull(std::size_t capacity) : zmq_push_pull(capacity, nullptr) {}
  zmq_push_pull(std::size_t capacity, void* block)
      : capacity_("zmq.ipc", capacity, INT_MAX, "(ZMQ_SNDHWM/ZMQ_RCVHWM are ints)") {
    if (block == nullptr) return;
    counts_ = ::new (block) shared_counts{};
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
        next_(other.next_),
        producer_index_(other.producer_index_) {
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
    if (owns_files_)  // the conductor, once every side is gone
      for (std::uint32_t c = 0, n = counts_->consumers.load(std::memory_order_acquire); c < n; ++c)
        ::unlink(file_of(c).c_str());
  }

  std::size_t capacity() const noexcept { return capacity_; }
  // The socket file of consumer `index` (tests look for leftovers).
  std::string file_of(unsigned index) const { return std::string(path_) + "." + std::to_string(index); }

  void enter(ipc::role r, unsigned index) {
    if (r == ipc::role::conductor) return;  // it only owns the names
    owns_files_ = false;
    context_ = ::zmq_ctx_new();
    if (!context_) fail("zmq_ctx_new");
    producer_index_ = index;
    if (r == ipc::role::consumer) {
      counts_->consumers.fetch_add(1, std::memory_order_acq_rel);
      pull_ = socket(ZMQ_PULL, ZMQ_RCVHWM);
      if (::zmq_bind(pull_, ("ipc://" + file_of(index)).c_str()) != 0) fail("zmq_bind " + file_of(index));
    }
  }

  bool try_push(const T& item) {
    if (pushes_.empty()) [[unlikely]]
      connect_to_consumers();
    if (::zmq_send(pushes_[next_], &item, sizeof item, ZMQ_DONTWAIT) == static_cast<int>(sizeof item)) {
      if (++next_ == pushes_.size()) next_ = 0;
      return true;
    }
    if (errno == EAGAIN || errno == EINTR) return false;  // this consumer's pipe is at its HWM
    fail("zmq_send");
  }
  bool try_pop(T& item) {
    const int n = ::zmq_recv(pull_, &item, sizeof item, ZMQ_DONTWAIT);
    if (n == static_cast<int>(sizeof item)) return true;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    if (n >= 0) throw std::runtime_error("zmq.ipc: a message of " + std::to_string(n) + " bytes, not one item");
    fail("zmq_recv");
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::runtime_error("zmq.ipc: " + what + ": " + ::zmq_strerror(errno));
  }
  void* socket(int type, int hwm_option) {
    void* s = ::zmq_socket(context_, type);
    if (!s) fail("zmq_socket");
    const int hwm = static_cast<int>(static_cast<std::size_t>(capacity_)), linger = -1;
    if (::zmq_setsockopt(s, hwm_option, &hwm, sizeof hwm) != 0 || ::zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0)
      fail("zmq_setsockopt");
    return s;
  }
  // At the first push every consumer has bound (it entered before the run started).
  void connect_to_consumers() {
    const std::uint32_t consumers = counts_->consumers.load(std::memory_order_acquire);
    if (consumers == 0) throw std::runtime_error("zmq.ipc: no consumer has bound its endpoint");
    for (std::uint32_t c = 0; c < consumers; ++c) {
      pushes_.push_back(socket(ZMQ_PUSH, ZMQ_SNDHWM));
      if (::zmq_connect(pushes_.back(), ("ipc://" + file_of(c)).c_str()) != 0) fail("zmq_connect " + file_of(c));
    }
    next_ = producer_index_ % consumers;  // producers start on different consumers
  }

  checked_capacity capacity_;
  shared_counts* counts_ = nullptr;
  char path_[64] = {};
  bool owns_files_ = false;
  void* context_ = nullptr;
  void* pull_ = nullptr;
  std::vector<void*> pushes_;  // producer: one PUSH socket per consumer
  std::size_t next_ = 0;
  unsigned producer_index_ = 0;
};

template <class T>
using zmq_ipc = ipc::between_processes<zmq_push_pull<T>>;

}  // namespace ringlab::peers
