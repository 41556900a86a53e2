// Registers the atomic_queue peers (built when libatomic-queue-dev is found).
#include "peers/atomic_queue.hpp"

#include "registry.hpp"

using namespace ringlab::peers;
RINGLAB_QUEUE("aq.AtomicQueue", aq_AtomicQueue, "atomic_queue::AtomicQueue: atomic words, size 1024 or 65536 (compile time); block = optimist push/pop");
RINGLAB_QUEUE("aq.AtomicQueue.spsc", aq_AtomicQueue_spsc, "atomic_queue::AtomicQueue<SPSC>: atomic words, size 1024 or 65536; block = optimist push/pop");
RINGLAB_QUEUE("aq.AtomicQueueB", aq_AtomicQueueB, "atomic_queue::AtomicQueueB: atomic words, run-time size (power of 2, >= 64); block = optimist push/pop");
RINGLAB_QUEUE("aq.AtomicQueueB.spsc", aq_AtomicQueueB_spsc, "atomic_queue::AtomicQueueB<SPSC>: atomic words, run-time size (power of 2, >= 64); block = optimist");
RINGLAB_QUEUE("aq.AtomicQueue2", aq_AtomicQueue2, "atomic_queue::AtomicQueue2: any T, size 1024 or 65536 (compile time); block = optimist push/pop");
RINGLAB_QUEUE("aq.AtomicQueue2.spsc", aq_AtomicQueue2_spsc, "atomic_queue::AtomicQueue2<SPSC>: any T, size 1024 or 65536; block = optimist push/pop");
RINGLAB_QUEUE("aq.AtomicQueueB2", aq_AtomicQueueB2, "atomic_queue::AtomicQueueB2: any T, run-time size (power of 2, >= 4096); block = optimist push/pop");
RINGLAB_QUEUE("aq.AtomicQueueB2.spsc", aq_AtomicQueueB2_spsc, "atomic_queue::AtomicQueueB2<SPSC>: any T, run-time size (power of 2, >= 4096); block = optimist");
