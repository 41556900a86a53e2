// Transports between hosts (scope host) by remote call, the seeds' getAProduct: the serving
// side holds the bounded queue, the consumers ask it for items over gRPC.
//  - rpc: a unary Take per item. Each pop is one round trip, timed into the row (rtt_*:
//    pop_is_a_call), so throughput can be checked against Little's law: consumers x one
//    outstanding call / (round trip + --service-ns).
//  - rpc.batch: a unary Take of up to --batch N items per call.
//  - rpc.stream: one server-streaming call; the items flow back one message each (--batch N
//    per message): the ablation that shows what a call per item costs.
// Where: the queue is shm_condition<T> in the run's segment, so any number of producers
// push into it; producer 0's process runs the gRPC server (threads of gRPC's own, not
// pinned) on its side's address and publishes the port in the segment; the consumers
// connect to it in enter(). The wire is rpc.proto; gRPC's headers stay in rpc_channel.cpp.
// The serving side leaves when every consumer has hung up, or the run was closed.
// A consumer buffers what one call brought; a batch or a stream could carry a pill meant
// for another consumer, so rpc.batch and rpc.stream have one consumer.
#pragma once
#include <arpa/inet.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <ringlab/queue.hpp>

#include "transports/plumbing/net_path.hpp"
#include "transports/net/rpc_channel.hpp"
#include "transports/shm/shm_condition.hpp"
#include "transports/transport.hpp"

namespace ringlab::ipc {

enum class rpc_call { unary, batch, stream };

template <class T, rpc_call Call>
class rpc_transport {
  static_assert(std::is_trivially_copyable_v<T>, "items travel as bytes");
  // In the run's segment, before the queue: where the server listens, who has left.
  struct meeting {
    std::atomic<std::uint32_t> listening{0}, failed{0}, closed{0}, consumers_left{0};
    char address[INET_ADDRSTRLEN]{};
    std::uint32_t port = 0;
  };
  static constexpr std::size_t queue_offset = (sizeof(meeting) + false_sharing_range - 1) / false_sharing_range * false_sharing_range;

 public:
  using value_type = T;
  static constexpr queue_properties properties{.linearizable = Call == rpc_call::unary, .exact_capacity = false,
                                               .lock_free = false, .single_consumer = Call != rpc_call::unary,
                                               .blocks_natively = true, .park_works = false, .block_only = true,
                                               .pop_is_a_call = Call == rpc_call::unary, .stream_options = true};
  static constexpr bool notices_dead_peers = true;
  static constexpr bool over_network = true;
  static constexpr std::size_t max_capacity = std::size_t{1} << 24;
  static constexpr const char* not_probed_because = "a caller needs the serving side's process (enter)";
  static constexpr std::size_t block_bytes(std::size_t capacity) {
    return queue_offset + shm_condition<T>::block_bytes(capacity);
  }

  // Without the run's segment (a capacity check): nothing is made.
  explicit rpc_transport(std::size_t capacity) : capacity_(checked(capacity)) {}
  rpc_transport(std::size_t capacity, void* block, stream_options options = {})
      : capacity_(checked(capacity)), options_(checked(options)) {
    if (!block) return;
    meeting_ = ::new (block) meeting();
    queue_.emplace(capacity, static_cast<std::byte*>(block) + queue_offset);
  }
  rpc_transport(rpc_transport&&) noexcept = default;
  rpc_transport& operator=(rpc_transport&&) = delete;
  ~rpc_transport() {
    stop_reading();
    stop_serving();
  }

  std::size_t capacity() const noexcept { return capacity_; }
  unsigned port() const noexcept { return meeting_ ? meeting_->port : 0; }

  void enter(role r, unsigned index) {
    if (r == role::producer && index == 0) serve();
    if (r == role::consumer) call();
  }
  // A run split across hosts (scopes/hosts/run_split.hpp): where the serving side listens, published
  // by its host and met by the callers'; the callers' host says how many have hung up.
  std::string published() const {
    if (meeting_->failed.load(std::memory_order_acquire)) return "failed";
    if (!meeting_->listening.load(std::memory_order_acquire)) return "";
    return std::string(meeting_->address) + ":" + std::to_string(meeting_->port);
  }
  void meet(const std::string& at) {
    if (at == "failed") return meeting_->failed.store(1, std::memory_order_release);
    const auto [address, port] = split_host_port(at, "rpc: the serving side's address");
    std::strncpy(meeting_->address, address.c_str(), sizeof meeting_->address - 1);
    meeting_->port = port;
    meeting_->listening.store(1, std::memory_order_release);
  }
  void others_left(unsigned consumers) { meeting_->consumers_left.store(consumers, std::memory_order_release); }
  void leave(role r) {
    if (r == role::consumer && client_) {
      stop_reading();
      client_->hang_up();
      client_.reset();
      meeting_->consumers_left.fetch_add(1, std::memory_order_acq_rel);
    }
    if (r == role::producer && server_) {
      // The queue must outlive the producers: the consumers still take what is in it, even
      // once it is closed (join closes it when the producers are done). A consumer that
      // never hangs up (it died) is waited for 10 s after the close, no longer.
      auto closed_since = std::chrono::steady_clock::time_point::max();
      while (meeting_->consumers_left.load(std::memory_order_acquire) < options_.consumers) {
        if (closed_since == std::chrono::steady_clock::time_point::max() && meeting_->closed.load(std::memory_order_acquire))
          closed_since = std::chrono::steady_clock::now();
        if (std::chrono::steady_clock::now() - closed_since > std::chrono::seconds(10)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      stop_serving();
    }
  }

  // Producers: the serving side's queue, in shared memory.
  bool try_push(const T& item) { return ring().try_push(item); }
  bool push(const T& item) { return ring().push(item); }
  void close() noexcept {
    if (!meeting_) return;
    meeting_->closed.store(1, std::memory_order_release);
    queue_->close();
  }

  // Consumers: what the last call brought, then another call.
  bool try_pop(T& item) { return next(item, false); }
  bool pop(T& item) {
    for (;;) {
      if (next(item, true)) return true;
      if (ended_) return false;
    }
  }

 private:
  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0) reject_capacity("rpc", capacity, "is too small: the serving side's queue holds at least 1 item");
    if (capacity > max_capacity) reject_capacity("rpc", capacity, "exceeds 2^24 items in the serving side's queue");
    return capacity;
  }
  static stream_options checked(stream_options o) {
    if (o.nodelay) throw std::invalid_argument("--tcp-nodelay: gRPC sets TCP_NODELAY on its connections itself");
    if (Call == rpc_call::unary && o.batch != 1)
      throw std::invalid_argument("--batch " + std::to_string(o.batch) + ": rpc takes one item per call; rpc.batch takes --batch N");
    return o;
  }
  std::size_t items_per_call() const noexcept { return Call == rpc_call::unary ? 1 : options_.batch; }

  bool next(T& item, bool wait) {
    if constexpr (Call == rpc_call::stream) return next_streamed(item, wait);
    if (have_ == taken_) {
      if (ended_) return false;
      bool closed = false;
      if (!client_) throw std::logic_error("rpc: pop outside a consumer");
      char* to = reinterpret_cast<char*>(buffer_.data());
      have_ = client_->take(to, items_per_call(), wait, closed);
      taken_ = 0;
      ended_ = closed && have_ == 0;
      if (have_ == 0) return false;
    }
    item = buffer_[taken_++];
    return true;
  }

  // The serving side's take: the first item waited for if asked, the rest only if there.
  std::size_t take(char* out, std::size_t most, bool wait, bool& closed) noexcept {
    std::size_t n = 0;
    T item;
    try {
      if (wait && !queue_->pop(item)) return closed = true, 0;
      if (wait) std::memcpy(out, &item, sizeof(T)), n = 1;
      while (n < most && queue_->try_pop(item)) std::memcpy(out + n++ * sizeof(T), &item, sizeof(T));
    } catch (const std::exception&) {  // ENOTRECOVERABLE: the callers hear it as the end
      closed = n == 0;
      return n;
    }
    closed = n == 0 && meeting_->closed.load(std::memory_order_acquire);
    return n;
  }

  // gRPC makes its threads from the thread that starts it: a thread on any PU, so that they
  // do not share the pinned side's (as tcp's receiving threads).
  template <class Start>
  static void unpinned(Start&& start) {
    std::exception_ptr failed;
    std::thread([&] {
      cpu_set_t all;
      CPU_ZERO(&all);
      for (long cpu = 0, n = ::sysconf(_SC_NPROCESSORS_CONF); cpu < n && cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &all);
      ::sched_setaffinity(0, sizeof all, &all);
      try {
        start();
      } catch (...) {
        failed = std::current_exception();
      }
    }).join();
    if (failed) std::rethrow_exception(failed);
  }

  void serve() {
    if (!meeting_) throw std::logic_error("rpc: the serving side needs the run's segment");
    try {
      unpinned([&] {
        server_ = std::make_unique<rpc::server>(this_side_address(), options_.port, sizeof(T), max_frame_items,
                                                [this](char* out, std::size_t most, bool wait, bool& closed) {
                                                  return take(out, most, wait, closed);
                                                });
      });
    } catch (...) {
      meeting_->failed.store(1, std::memory_order_release);  // the consumers stop waiting for us
      throw;
    }
    std::strncpy(meeting_->address, this_side_address().c_str(), sizeof meeting_->address - 1);
    meeting_->port = server_->port();
    meeting_->listening.store(1, std::memory_order_release);
  }
  void call() {
    if (!meeting_) throw std::logic_error("rpc: a caller needs the run's segment");
    for (int waited_ms = 0; !meeting_->listening.load(std::memory_order_acquire); ++waited_ms) {
      if (meeting_->failed.load(std::memory_order_acquire)) throw std::runtime_error("rpc: the serving side could not listen");
      if (waited_ms == 10000) throw std::runtime_error("rpc: the serving side did not listen within 10 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    buffer_.resize(items_per_call());
    unpinned([&] {
      client_ = std::make_unique<rpc::client>(meeting_->address, meeting_->port, sizeof(T));
      if constexpr (Call == rpc_call::stream) {
        client_->open_stream(items_per_call());
        stream_ = std::make_unique<streamed>();
        stream_->reader = std::thread([this] { read_stream(); });
      }
    });
  }

  // rpc.stream: a gRPC read cannot be tried, so a thread of the transport's own reads the
  // stream into a local queue of `capacity` items (as tcp's receiving thread), and pops
  // take from it: try_pop never waits on the network.
  struct streamed {
    std::mutex lock;
    std::condition_variable not_empty, not_full;
    std::deque<T> items;
    bool ended = false, stopping = false;
    std::string problem;  // how the stream broke
    std::thread reader;
  };
  void read_stream() {
    std::vector<T> got(items_per_call());
    for (;;) {
      bool closed = false;
      std::size_t n = 0;
      try {
        n = client_->next_streamed(reinterpret_cast<char*>(got.data()), got.size(), closed);
      } catch (const std::exception& e) {
        std::lock_guard g(stream_->lock);
        if (!stream_->stopping) stream_->problem = e.what();
        stream_->ended = true;
        stream_->not_empty.notify_all();
        return;
      }
      std::unique_lock g(stream_->lock);
      for (std::size_t i = 0; i < n; ++i) {
        stream_->not_full.wait(g, [&] { return stream_->items.size() < capacity_ || stream_->stopping; });
        if (stream_->stopping) return;
        stream_->items.push_back(got[i]);
        stream_->not_empty.notify_one();
      }
      if (n == 0 && closed) {
        stream_->ended = true;
        stream_->not_empty.notify_all();
        return;
      }
    }
  }
  bool next_streamed(T& item, bool wait) {
    std::unique_lock g(stream_->lock);
    if (wait) stream_->not_empty.wait(g, [&] { return !stream_->items.empty() || stream_->ended; });
    if (stream_->items.empty()) {
      if (!stream_->problem.empty()) throw peer_lost(stream_->problem);
      ended_ = stream_->ended;
      return false;
    }
    item = stream_->items.front();
    stream_->items.pop_front();
    stream_->not_full.notify_one();
    return true;
  }
  void stop_reading() noexcept {
    if (!stream_) return;
    {
      std::lock_guard g(stream_->lock);
      stream_->stopping = true;
      stream_->not_full.notify_all();
    }
    client_->cancel();
    if (stream_->reader.joinable()) stream_->reader.join();
  }
  void stop_serving() noexcept {
    if (!server_) return;
    queue_->close();  // a call still waiting in the queue returns (closed)
    server_->stop();
    server_.reset();
  }

  shm_condition<T>& ring() {
    if (!queue_) throw std::logic_error("rpc: push outside a run (no segment)");
    return *queue_;
  }

  std::size_t capacity_;
  stream_options options_;
  meeting* meeting_ = nullptr;
  std::optional<shm_condition<T>> queue_;  // in the segment, after the meeting
  std::unique_ptr<rpc::server> server_;  // producer 0
  std::unique_ptr<rpc::client> client_;  // a consumer
  std::unique_ptr<streamed> stream_;     // a consumer of rpc.stream
  std::vector<T> buffer_;                // a consumer: what the last call brought
  std::size_t have_ = 0, taken_ = 0;
  bool ended_ = false;
};

}  // namespace ringlab::ipc

namespace ringlab::variants {
template <class T> using rpc = ipc::between_processes<ipc::rpc_transport<T, ipc::rpc_call::unary>>;
template <class T> using rpc_batch = ipc::between_processes<ipc::rpc_transport<T, ipc::rpc_call::batch>>;
template <class T> using rpc_stream = ipc::between_processes<ipc::rpc_transport<T, ipc::rpc_call::stream>>;
}  // namespace ringlab::variants
