// A deliberately racy SPSC ring (plain, non-atomic indices). Under the TSan build this
// program must be reported and killed (meson test expects it to fail); if it ever
// passes there, the sanitizer is not really watching the stress tests.
#include <cstdint>
#include <cstdio>
#include <thread>

int main() {
  constexpr std::size_t slots = 64;
  static std::uint64_t ring[slots];
  static std::size_t head = 0, tail = 0;  // the defect: shared without atomics
  std::thread producer([] {
    for (std::uint64_t i = 0; i < 100000; ++i) {
      while ((tail + 1) % slots == head) std::this_thread::yield();
      ring[tail] = i;
      tail = (tail + 1) % slots;
    }
  });
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < 100000; ++i) {
    while (head == tail) std::this_thread::yield();
    sum += ring[head];
    head = (head + 1) % slots;
  }
  producer.join();
  std::printf("sum %llu (no race reported: TSan is not active)\n", static_cast<unsigned long long>(sum));
  return 0;
}
