// glibc's adaptive mutex (PTHREAD_MUTEX_ADAPTIVE_NP): on contention it spins a little
// before sleeping in the kernel, where std::mutex goes to sleep at once. Between a
// producer and a consumer taking turns every few hundred nanoseconds, sleeping on
// every collision costs a futex round trip each time.
#pragma once
#include <pthread.h>

namespace ringlab::detail {

class adaptive_mutex {
 public:
  adaptive_mutex() noexcept {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&mutex_, &attributes);
    pthread_mutexattr_destroy(&attributes);
  }
  ~adaptive_mutex() { pthread_mutex_destroy(&mutex_); }
  adaptive_mutex(const adaptive_mutex&) = delete;
  adaptive_mutex& operator=(const adaptive_mutex&) = delete;

  void lock() noexcept { pthread_mutex_lock(&mutex_); }
  bool try_lock() noexcept { return pthread_mutex_trylock(&mutex_) == 0; }
  void unlock() noexcept { pthread_mutex_unlock(&mutex_); }

 private:
  pthread_mutex_t mutex_;
};

}  // namespace ringlab::detail
