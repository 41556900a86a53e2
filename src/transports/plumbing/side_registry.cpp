#include "transports/plumbing/side_registry.hpp"

#include <fmt/core.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>

#include "transports/plumbing/segment.hpp"

namespace ringlab::ipc {

std::size_t side_registry::bytes(unsigned sides) { return entries_offset + sides * sizeof(entry); }

side_registry* side_registry::build(void* memory, unsigned sides) {
  auto* r = ::new (memory) side_registry{};
  r->sides_ = sides;
  pthread_mutexattr_t ma;
  ::pthread_mutexattr_init(&ma);
  ::pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  ::pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  for (unsigned i = 0; i < sides; ++i) {
    entry* e = ::new (&r->entries()[i]) entry{};
    if (const int err = ::pthread_mutex_init(&e->life, &ma); err != 0) {
      ::pthread_mutexattr_destroy(&ma);
      throw std::runtime_error(fmt::format("side registry: pthread_mutex_init: {}", std::strerror(err)));
    }
  }
  ::pthread_mutexattr_destroy(&ma);
  return r;
}

void side_registry::destroy() noexcept {
  for (unsigned i = 0; i < sides_; ++i) ::pthread_mutex_destroy(&entries()[i].life);
}

void side_registry::claim(entry& e, const std::string& who) noexcept {
  e.pid = ::getpid();
  e.start_time = process_start_time(e.pid);
  std::memset(e.who, 0, name_bytes);
  std::memcpy(e.who, who.data(), std::min(who.size(), name_bytes - 1));
  e.state.store(alive, std::memory_order_release);
}

void side_registry::join(unsigned index, const std::string& who) {
  entry& e = entries()[index];
  int err = ::pthread_mutex_lock(&e.life);
  if (err == EOWNERDEAD) err = ::pthread_mutex_consistent(&e.life);  // the dead one's place
  if (err != 0) throw std::runtime_error(fmt::format("side registry: {} could not take its life lock: {}", who, std::strerror(err)));
  claim(e, who);
}

void side_registry::take_over(unsigned index, const std::string& who) {
  if (index >= sides_)
    throw std::runtime_error(fmt::format("side registry: {} names side {}, and this run has {} sides; nothing taken over",
                                         who, index, sides_));
  entry& e = entries()[index];
  const std::uint32_t seen = e.state.load(std::memory_order_acquire);
  if (seen == empty)
    throw std::runtime_error(fmt::format("side registry: side {} never joined; there is no dead side to replace", index));
  if (seen == left)
    throw std::runtime_error(fmt::format("side registry: {} left when its work was done; there is no dead side to replace", e.who));
  int err = ::pthread_mutex_trylock(&e.life);
  if (err == EBUSY)
    throw std::runtime_error(fmt::format("side registry: {} (pid {}) is alive and holds its place; not taken over", e.who, e.pid));
  if (err == EOWNERDEAD) err = ::pthread_mutex_consistent(&e.life);
  else if (err == 0 && e.state.load(std::memory_order_acquire) != dead) {  // free, not found dead: it was leaving
    ::pthread_mutex_unlock(&e.life);
    throw std::runtime_error(fmt::format("side registry: {} let go of its place without dying; not taken over", e.who));
  }
  if (err != 0) throw std::runtime_error(fmt::format("side registry: {} could not take {}'s place: {}", who, e.who, std::strerror(err)));
  claim(e, who);
}

side_registry::vacancy side_registry::take_over_if_dead(unsigned index, const std::string& who) {
  // Only once a survivor has found it dead: that survivor then waits in await_repair, where
  // the repair needs it (a side that had not noticed would go on using the transport).
  const std::uint32_t seen = entries()[index].state.load(std::memory_order_acquire);
  if (seen == left) return vacancy::gone;
  if (seen == empty || seen == alive) return vacancy::alive;  // not joined yet, or not found dead
  take_over(index, who);
  return vacancy::taken;
}

bool side_registry::others_idle(unsigned index) const noexcept {
  unsigned running = 0;
  for (unsigned i = 0; i < sides_; ++i)
    if (i != index && entries()[i].state.load(std::memory_order_acquire) == alive) ++running;
  return idle_.load(std::memory_order_acquire) >= running;
}

bool side_registry::others_left(unsigned index) const noexcept {
  for (unsigned i = 0; i < sides_; ++i)
    if (i != index && entries()[i].state.load(std::memory_order_acquire) != left) return false;
  return true;
}

void side_registry::leave(unsigned index) noexcept {
  entry& e = entries()[index];
  e.state.store(left, std::memory_order_release);  // before the unlock: a look then never sees a free lock as a death
  ::pthread_mutex_unlock(&e.life);
}

std::string side_registry::obituary(const entry& e, const char* how) const {
  return fmt::format("{} (pid {}, started at tick {}) died: {}", e.who, e.pid, e.start_time, how);
}

std::string side_registry::dead_other_than(unsigned index) noexcept {
  for (unsigned i = 0; i < sides_; ++i) {
    if (i == index) continue;
    entry& e = entries()[i];
    const std::uint32_t seen = e.state.load(std::memory_order_acquire);
    if (seen == dead) return obituary(e, "the registry says so (another side found its life lock abandoned)");
    if (seen != alive) continue;
    const int err = ::pthread_mutex_trylock(&e.life);
    if (err == EBUSY) continue;  // held: alive
    if (err == EOWNERDEAD) {  // the lock let go before the word says dead: a replacement may then take it at once
      ::pthread_mutex_consistent(&e.life);
      ::pthread_mutex_unlock(&e.life);
      e.state.store(dead, std::memory_order_release);
      return obituary(e, "its life lock came back EOWNERDEAD");
    }
    if (err == 0) ::pthread_mutex_unlock(&e.life);  // it was leaving (state read before it said so)
  }
  return "";
}

void peer_watch::arm(side_registry& registry, unsigned me) noexcept {
  me_ = me;
  registry_ = &registry;
}

void peer_watch::disarm() noexcept { registry_ = nullptr; }

bool peer_watch::look_if_due() {
  if (!registry_) return false;
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const std::uint64_t now_ns = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(now.tv_nsec);
  if (now_ns - last_look_ns_ < static_cast<std::uint64_t>(look_every_ns)) return false;
  last_look_ns_ = now_ns;
  std::string dead = registry_->dead_other_than(me_);
  if (dead.empty()) return false;
  obituary_ = "the side registry: " + dead;
  return true;
}

side_membership::side_membership(side_registry* registry, unsigned index, const std::string& who)
    : registry_(registry), index_(index) {
  if (!registry_) return;
  registry_->join(index, who);
  peer_watch::arm(*registry_, index);
}

side_membership::~side_membership() {
  if (!registry_) return;
  peer_watch::disarm();
  registry_->leave(index_);
}

}  // namespace ringlab::ipc
