// Locking a robust, process-shared pthread mutex without ever sleeping for good.
// pthread_mutex_lock can: an unlock wakes one sleeper; if that side is killed before it
// takes the lock, and another side takes it meanwhile on the fast path (which sets no
// "waiters" bit), the kernel's exit handling finds the lock held and wakes no one, and
// the new holder's unlock wakes no one either, so the other sleepers sleep on. The kill
// campaign caught a shm_condition consumer so (tests/test_shm_sync.cpp rebuilds the
// state). Here a sleep lasts one slice at most and the lock is tried again, so a lost
// wake-up costs a slice; an uncontended lock is one trylock, as pthread_mutex_lock's.
#pragma once
#include <pthread.h>
#include <time.h>

#include <cerrno>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace ringlab::ipc {

inline constexpr long robust_lock_slice_ns = 2'000'000;

// 0, EOWNERDEAD (the last holder died: the caller repairs, then pthread_mutex_consistent),
// or another error (ENOTRECOVERABLE).
inline int lock_robust(pthread_mutex_t& m, long slice_ns = robust_lock_slice_ns) noexcept {
  int e = ::pthread_mutex_trylock(&m);
  while (e == EBUSY) {
    timespec until;
    ::clock_gettime(CLOCK_REALTIME, &until);  // pthread_mutex_timedlock's clock
    until.tv_nsec += slice_ns;
    if (until.tv_nsec >= 1'000'000'000) until.tv_sec += 1, until.tv_nsec -= 1'000'000'000;
    e = ::pthread_mutex_timedlock(&m, &until);
    if (e == ETIMEDOUT) e = EBUSY;
#if defined(__SANITIZE_THREAD__)
    // TSan's interceptor records a timed lock only when it returns 0 (its trylock's, on
    // EOWNERDEAD too): record this one, or our unlock reads as one of an unlocked mutex.
    if (e == EOWNERDEAD) __tsan_mutex_post_lock(&m, __tsan_mutex_try_lock, 0);
#endif
  }
  return e;
}

}  // namespace ringlab::ipc
