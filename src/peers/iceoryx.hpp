// Peer transport: Eclipse iceoryx 2.0 (Debian libiceoryx-posh-dev 2.0.3) publish/subscribe,
// the zero-copy shared-memory middleware, driven as its own benchmark drives it (iceoryx_
// examples/iceperf/iceoryx.cpp: each process makes its runtime, a publisher and a
// subscriber on one service, waits until the subscription is SUBSCRIBED and the publisher
// hasSubscribers(), then loans a chunk, fills it, publishes it, and the other side takes
// it, copies it out and releases it). Here with the typed API (iceperf uses the untyped
// one): Publisher<item>::loan(item) + publish(), Subscriber<item>::take(). Settings, and why:
//  - no loss: publisher historyCapacity 0 and ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER,
//    subscriber historyRequest 0, queueCapacity = capacity and QueueFullPolicy::
//    BLOCK_PRODUCER (iceoptions example): a full subscriber queue makes publish wait, it
//    never drops the oldest item (iceoryx's default).
//  - the bound is iceoryx's own, as its authors bound it: the subscriber queue, with
//    BLOCK_PRODUCER making publish wait inside the library (a yield loop) while it is full.
//    So try_push never fails; it waits in publish instead (push_waits_inside), and the
//    producer's wait strategy never runs. No counter of ringlab's sits beside it: an earlier
//    one cost two cross-process read-modify-writes per item on one shared line.
//  - capacity: iceoryx caps a subscriber queue at MAX_SUBSCRIBER_QUEUE_CAPACITY (256 in
//    the Debian build) and would silently clamp a larger one; larger capacities are refused.
//  - one consumer: every subscriber of a topic gets every item (publish/subscribe, not a
//    queue), so a second consumer is refused; many publishers to one subscriber are
//    fine: single_consumer.
//  - processes: an iceoryx runtime must not cross a fork, so each side makes its runtime
//    (a unique name), publisher or subscriber in enter(role, index); the conductor makes
//    none. RouDi, the daemon every runtime registers with, is started by the conductor's
//    object before the fork and stopped when the run ends (iceoryx_roudi.hpp).
//  - order: one subscriber queue, filled in publish order: FIFO and one total order.
//    Not lock-free: the chunk distributor takes a mutex to deliver.
//  - a dead peer: iceoryx sees it only through RouDi's monitoring (seconds); the harness's
//    watcher stops the run first, so this transport never reports peer_lost.
#pragma once
#include <unistd.h>

#include <iceoryx_hoofs/log/logmanager.hpp>
#include <iceoryx_posh/iceoryx_posh_types.hpp>
#include <iceoryx_posh/popo/publisher.hpp>
#include <iceoryx_posh/popo/subscriber.hpp>
#include <iceoryx_posh/runtime/posh_runtime.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include <ringlab/queue.hpp>

#include "transports/transport.hpp"
#include "peers/adapter.hpp"
#include "peers/iceoryx_roudi.hpp"

namespace ringlab::peers {

template <class T>
class iceoryx_transport {
  static_assert(std::is_trivially_copyable_v<T>, "items travel as bytes");
  static constexpr auto connect_limit = std::chrono::seconds(10);

 public:
  using value_type = T;
  // The crash suite's probe is one process holding the conductor's object; iceoryx needs a
  // runtime per process and a publisher or subscriber per side, made in enter().
  static constexpr const char* not_probed_because = "a new user needs its own runtime and port per side (enter)";
  static constexpr queue_properties properties{.lock_free = false, .single_consumer = true, .push_waits_inside = true};
  static constexpr std::size_t max_capacity = iox::MAX_SUBSCRIBER_QUEUE_CAPACITY;
  static constexpr std::size_t block_bytes(std::size_t) { return 0; }

  // Capacity check only (the registry): no RouDi, no runtime.
  explicit iceoryx_transport(std::size_t capacity) : iceoryx_transport(capacity, nullptr) {}
  iceoryx_transport(std::size_t capacity, void* block)
      : capacity_("iceoryx", capacity, max_capacity,
                  "(iceoryx's MAX_SUBSCRIBER_QUEUE_CAPACITY, a build-time constant of the library)") {
    if (block == nullptr) return;
    static std::atomic<unsigned> runs{0};
    std::snprintf(names_, sizeof names_, "ringlab-iox-%ld-%u-", static_cast<long>(::getpid()), runs.fetch_add(1));
    roudi_.emplace();  // before the fork: every side's runtime registers with it
  }
  iceoryx_transport(iceoryx_transport&& other) noexcept
      : capacity_(other.capacity_),
        roudi_(std::move(other.roudi_)),
        publisher_(std::move(other.publisher_)),
        subscriber_(std::move(other.subscriber_)) {
    std::memcpy(names_, other.names_, sizeof names_);
    other.roudi_.reset();
  }
  iceoryx_transport& operator=(iceoryx_transport&&) = delete;
  ~iceoryx_transport() {
    if (roudi_) remove_runtime_sockets(names_);  // the conductor, once every side is gone; then RouDi stops
  }

  std::size_t capacity() const noexcept { return capacity_; }
  // The prefix of this run's runtime names (each leaves a socket /tmp/<name>; tests look).
  const char* runtime_name_prefix() const noexcept { return names_; }

  void enter(ipc::role r, unsigned index) {
    if (r == ipc::role::conductor) return;
    if (r == ipc::role::consumer && index > 0)
      throw std::invalid_argument("iceoryx: one consumer only: a second subscriber would receive every item too "
                                  "(publish/subscribe, not a queue); run it with --consumers 1");
    if (roudi_) roudi_->forget();  // the conductor's lease, copied by the fork: not this side's to end
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn);
    const std::string name = names_ + std::string(r == ipc::role::producer ? "p" : "c") + std::to_string(index);
    // One runtime per process: a round trip's side holds two transports (one each way).
    static bool runtime_started = false;
    if (!std::exchange(runtime_started, true))
      iox::runtime::PoshRuntime::initRuntime(iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
    const iox::capro::ServiceDescription service{"ringlab", iox::capro::IdString_t(iox::cxx::TruncateToCapacity, names_),
                                                 "items"};
    const auto deadline = std::chrono::steady_clock::now() + connect_limit;
    if (r == ipc::role::producer) {
      iox::popo::PublisherOptions options;
      options.historyCapacity = 0;
      options.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
      publisher_ = std::make_unique<iox::popo::Publisher<T>>(service, options);
      while (!publisher_->hasSubscribers()) wait_until(deadline, "no subscriber connected to the publisher");
    } else {
      iox::popo::SubscriberOptions options;
      options.queueCapacity = capacity_;
      options.historyRequest = 0;
      options.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
      subscriber_ = std::make_unique<iox::popo::Subscriber<T>>(service, options);
      while (subscriber_->getSubscriptionState() != iox::SubscribeState::SUBSCRIBED)
        wait_until(deadline, "the subscription was not accepted");
    }
  }

  // Waits inside publish while the subscriber queue is full (BLOCK_PRODUCER); never fails.
  bool try_push(const T& item) {
    auto loaned = publisher_->loan(item);
    if (loaned.has_error()) {
      throw std::runtime_error("iceoryx: loan failed (AllocationError " +
                               std::to_string(static_cast<int>(loaned.get_error())) +
                               "): RouDi's memory pools have no chunk of " + std::to_string(sizeof(T)) + " bytes left");
    }
    loaned.value().publish();
    return true;
  }
  bool try_pop(T& item) {
    auto taken = subscriber_->take();
    if (taken.has_error()) {
      if (taken.get_error() == iox::popo::ChunkReceiveResult::NO_CHUNK_AVAILABLE) return false;
      throw std::runtime_error("iceoryx: take failed: too many chunks held at once");
    }
    item = *taken.value().get();
    return true;  // the sample goes out of scope here: its chunk returns to the pool
  }

 private:
  static void wait_until(std::chrono::steady_clock::time_point deadline, const char* what) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(std::string("iceoryx: ") + what + " within 10 s (is iox-roudi running?)");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  checked_capacity capacity_;
  char names_[64] = {};  // "ringlab-iox-<conductor pid>-<run>-": the service's instance and the runtimes' prefix
  std::optional<roudi_lease> roudi_;  // the conductor's object only
  std::unique_ptr<iox::popo::Publisher<T>> publisher_;
  std::unique_ptr<iox::popo::Subscriber<T>> subscriber_;
};

template <class T>
using iceoryx_pubsub = ipc::between_processes<iceoryx_transport<T>>;

}  // namespace ringlab::peers
