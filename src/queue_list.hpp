// Every queue ringlab knows, listed once. The registry (`ringlab list`, `run`, `sweep`),
// the micro-benchmarks and the test suites all expand these lists, so adding a queue is
// its header plus one X(...) line here (a peer's line goes in its library's block, which
// is compiled only when meson found the library: RINGLAB_HAVE_*).
//   X(name on the command line and in CSV, class template of the item type, description)
#pragma once
#include "queue_variants.hpp"

// Two halves, so that their registrations compile in parallel (src/queues_*.cpp).
#define RINGLAB_OUR_QUEUES(X) RINGLAB_OUR_LOCKING_QUEUES(X) RINGLAB_OUR_LOCK_FREE_QUEUES(X)
#define RINGLAB_OUR_LOCKING_QUEUES(X)                                                                                  \
  X("mutex_ring", ::ringlab::variants::mutex_ring,                                                                     \
    "ring + adaptive mutex + not-full/not-empty condvars; signals only sleepers, spins before sleeping")               \
  X("mutex_ring.std", ::ringlab::variants::mutex_ring_std, "mutex_ring with std::mutex (sleeps at once on contention)") \
  X("mutex_ring.plain", ::ringlab::variants::mutex_ring_plain,                                                         \
    "mutex_ring with std::mutex, signalling every operation, no spinning (the bare monitor)")                          \
  X("two_lock_ring", ::ringlab::variants::two_lock_ring,                                                               \
    "ring with a lock per side (Michael & Scott's two-lock queue), cached opposite indices, condvars; signals only sleepers") \
  X("textbook_mutex_queue", ::ringlab::textbook_mutex_queue,                                                           \
    "std::deque + std::mutex + two condvars, notify_one on every op under the lock, no spin (the tutorial's; naive on purpose)") \
  X("semaphore_ring", ::ringlab::semaphore_ring, "Dijkstra's bounded buffer: empty/full counting semaphores, a mutex per side") \
  X("handoff_slot", ::ringlab::handoff_slot, "one slot handed over by two events (filled / emptied); capacity 1 only")
#define RINGLAB_OUR_LOCK_FREE_QUEUES(X)                                                                                \
  X("spsc_ring", ::ringlab::variants::spsc_ring,                                                                       \
    "SPSC ring, a full/empty flag per slot in the slot's line (FastForward) + a 32-slot gap, batched probes (B-Queue)") \
  X("spsc_ring.reserved0", ::ringlab::variants::spsc_ring_reserved0,                                                   \
    "spsc_ring whose item is its own flag: refuses an item whose first word is 0")                                     \
  X("spsc_ring.rigtorp", ::ringlab::variants::spsc_ring_rigtorp,                                                       \
    "Lamport SPSC ring with cached opposite indices and padded sides (Rigtorp)")                                       \
  X("spsc_ring.fastforward", ::ringlab::variants::spsc_ring_fastforward,                                               \
    "SPSC ring, the item is its own flag (first word 0 refused), no gap, no batch (FastForward as published)")         \
  X("spsc_ring.gap", ::ringlab::variants::spsc_ring_gap,                                                               \
    "spsc_ring.reserved0 without batched probes: the item as flag and the 32-slot gap only")                           \
  X("spsc_ring.lamport", ::ringlab::variants::spsc_ring_lamport,                                                       \
    "Lamport's SPSC ring as published: shared indices, no caching, no padding")                                        \
  X("spsc_ring.uncached", ::ringlab::variants::spsc_ring_uncached, "spsc_ring.rigtorp without cached indices (padded sides)") \
  X("spsc_ring.unpadded", ::ringlab::variants::spsc_ring_unpadded,                                                     \
    "spsc_ring.rigtorp with cached indices but both sides on one line")                                                \
  X("mpmc_ring", ::ringlab::variants::mpmc_ring, "Vyukov bounded MPMC ring, per-slot sequence numbers, any capacity")  \
  X("mpmc_ring.padded", ::ringlab::variants::mpmc_ring_padded, "mpmc_ring with one cache line per slot")                \
  X("floor.pingpong", ::ringlab::variants::floor_pingpong,                                                             \
    "physical floor: one word alone on a line pair, slot as flag (refuses 0); capacity 1")                             \
  X("floor.line_ring", ::ringlab::variants::floor_line_ring,                                                           \
    "physical bound: whole cache lines of 8 items handed over at once (refuses 0; flush at the end)")

// Transports between processes (scope process): sides are forked processes; the rings
// live in POSIX shared memory, the pipe in the kernel (src/transports/). A transport over a
// network (tcp) is scope host: its sides share nothing but the stream. Peer libraries' transports
// follow in their own blocks (src/peers/), all of them in RINGLAB_PROCESS_TRANSPORTS.
#define RINGLAB_OUR_TRANSPORTS(X)                                                                                      \
  X("shm_spsc", ::ringlab::variants::shm_spsc, "spsc_ring in POSIX shared memory; sides in processes that watch each other (side registry)") \
  X("shm_mpmc", ::ringlab::variants::shm_mpmc, "mpmc_ring in POSIX shared memory; sides in processes that watch each other (side registry)") \
  X("shm_spsc.unwatched", ::ringlab::variants::shm_spsc_unwatched,                                                     \
    "shm_spsc without the side registry: no survivor learns of a death by itself (the cost and the control)")         \
  X("shm_mpmc.unwatched", ::ringlab::variants::shm_mpmc_unwatched,                                                     \
    "shm_mpmc without the side registry: no survivor learns of a death by itself (the cost and the control)")         \
  X("pipe", ::ringlab::variants::os_pipe, "an anonymous pipe, whole items per read/write (<= PIPE_BUF), bound = pipe buffer") \
  X("shm_semaphore", ::ringlab::variants::shm_semaphore,                                                               \
    "the seeds' bounded buffer in shared memory: ring + process-shared POSIX semaphores empty/full/mutex")             \
  X("shm_semaphore.robust", ::ringlab::variants::shm_semaphore_robust,                                                 \
    "shm_semaphore made to survive a death: robust mutex, counts in the ring, semaphores as bounded wake-ups")        \
  X("shm_condition", ::ringlab::variants::shm_condition,                                                               \
    "the seeds' Condition in shared memory: ring + robust process-shared mutex (EOWNERDEAD recovered) + 2 condvars")   \
  X("shm_event", ::ringlab::variants::shm_event,                                                                       \
    "the seeds' Event hand-off in shared memory: handoff_slot on process-shared futexes; capacity 1 only")             \
  X("pipe.semaphore", ::ringlab::variants::os_pipe_semaphore,                                                          \
    "the pipe bounded by a process-shared semaphore of free slots: exactly capacity items")                            \
  X("pipe.batch", ::ringlab::variants::os_pipe_batch,                                                                  \
    "the pipe with one write per batch of up to 64 items (<= PIPE_BUF bytes) and reads of whole batches (1P1C)")        \
  X("posix_mq", ::ringlab::variants::posix_mq,                                                                         \
    "a POSIX message queue, one message per item, unlinked at once (capacity <= fs.mqueue.msg_max)")                   \
  X("unix_socket", ::ringlab::variants::unix_socket,                                                                   \
    "a Unix stream socketpair; a split item's tail waits for the next push or flush (1 producer, 1 consumer)")        \
  X("unix_socket.seqpacket", ::ringlab::variants::unix_seqpacket,                                                      \
    "a Unix SOCK_SEQPACKET socketpair: one whole message per item, any number of sides")                              \
  X("tcp", ::ringlab::variants::tcp,                                                                                   \
    "the seeds' TCP: a stream per producer into the consumer's bounded queue (a receiving thread each); --batch, --tcp-nodelay")

#if RINGLAB_HAVE_MOODYCAMEL
#include "peers/moodycamel.hpp"
#define RINGLAB_MOODYCAMEL_QUEUES(X)                                                                                   \
  X("moodycamel", ::ringlab::peers::moodycamel_queue,                                                                  \
    "moodycamel::ConcurrentQueue, tokens, bounded in blocks of 32 (pool of capacity/32; the baseline)")                  \
  X("moodycamel.blocking", ::ringlab::peers::moodycamel_blocking_queue,                                                \
    "moodycamel::BlockingConcurrentQueue, tokens, its own wait_dequeue")                                               \
  X("moodycamel.unbounded", ::ringlab::peers::moodycamel_unbounded_queue,                                              \
    "moodycamel::ConcurrentQueue as its author benchmarks it: enqueue, blocks of 64, no bound (grows; short runs)")
#else
#define RINGLAB_MOODYCAMEL_QUEUES(X)
#endif

#if RINGLAB_HAVE_ATOMIC_QUEUE
#include "peers/atomic_queue.hpp"
#define RINGLAB_ATOMIC_QUEUE_QUEUES(X)                                                                                 \
  X("aq.AtomicQueue", ::ringlab::peers::aq_AtomicQueue,                                                                \
    "atomic_queue::AtomicQueue: atomic words (refuses 0), size 1024 or 65536; block = optimist push/pop")              \
  X("aq.AtomicQueue.spsc", ::ringlab::peers::aq_AtomicQueue_spsc,                                                      \
    "atomic_queue::AtomicQueue<SPSC>, the author's SPSC options (no shuffle); refuses 0; block = optimist")            \
  X("aq.AtomicQueue.spsc.shuffled", ::ringlab::peers::aq_AtomicQueue_spsc_shuffled,                                    \
    "aq.AtomicQueue.spsc with the MPMC options (consecutive items on different lines)")                                \
  X("aq.AtomicQueueB", ::ringlab::peers::aq_AtomicQueueB,                                                              \
    "atomic_queue::AtomicQueueB: atomic words (refuses 0), run-time size (power of 2, >= 64); block = optimist")       \
  X("aq.AtomicQueueB.spsc", ::ringlab::peers::aq_AtomicQueueB_spsc,                                                    \
    "atomic_queue::AtomicQueueB<SPSC>, MAXIMIZE_THROUGHPUT off as the author's SPSC benchmark; block = optimist")      \
  X("aq.AtomicQueue2", ::ringlab::peers::aq_AtomicQueue2,                                                              \
    "atomic_queue::AtomicQueue2: any T, size 1024 or 65536; block = optimist push/pop")                                \
  X("aq.AtomicQueue2.spsc", ::ringlab::peers::aq_AtomicQueue2_spsc,                                                    \
    "atomic_queue::AtomicQueue2<SPSC>, the author's SPSC options; block = optimist push/pop")                          \
  X("aq.AtomicQueueB2", ::ringlab::peers::aq_AtomicQueueB2,                                                            \
    "atomic_queue::AtomicQueueB2: any T, run-time size (power of 2, >= 4096); block = optimist push/pop")              \
  X("aq.AtomicQueueB2.spsc", ::ringlab::peers::aq_AtomicQueueB2_spsc,                                                  \
    "atomic_queue::AtomicQueueB2<SPSC>, MAXIMIZE_THROUGHPUT off; block = optimist")
#else
#define RINGLAB_ATOMIC_QUEUE_QUEUES(X)
#endif

#if RINGLAB_HAVE_BOOST_LOCKFREE
#include "peers/boost_lockfree.hpp"
#define RINGLAB_BOOST_LOCKFREE_QUEUES(X)                                                                               \
  X("boost.spsc_queue", ::ringlab::peers::boost_spsc_queue,                                                            \
    "boost::lockfree::spsc_queue<capacity<N>> (compile-time size, as its authors benchmark it): wait-free SPSC ring")   \
  X("boost.spsc_queue.runtime", ::ringlab::peers::boost_spsc_queue_runtime,                                            \
    "boost::lockfree::spsc_queue sized at run time (size and buffer pointer beside the consumer's index)")             \
  X("boost.queue", ::ringlab::peers::boost_queue,                                                                      \
    "boost::lockfree::queue<capacity<N>>: Michael-Scott over a node pool inside it, bounded_push; N <= 16384 built")      \
  X("boost.queue.runtime", ::ringlab::peers::boost_queue_runtime,                                                      \
    "boost::lockfree::queue<fixed_sized<true>> sized at run time, bounded_push; capacity <= 65534")
#else
#define RINGLAB_BOOST_LOCKFREE_QUEUES(X)
#endif

#if RINGLAB_HAVE_TBB
#include "peers/tbb.hpp"
#define RINGLAB_TBB_QUEUES(X)                                                                                          \
  X("tbb.concurrent_bounded_queue", ::ringlab::peers::tbb_bounded_queue,                                               \
    "oneTBB concurrent_bounded_queue, set_capacity; block = its own blocking push/pop")
#else
#define RINGLAB_TBB_QUEUES(X)
#endif

#if RINGLAB_HAVE_READERWRITERQUEUE
#include "peers/readerwriterqueue.hpp"
#define RINGLAB_READERWRITERQUEUE_QUEUES(X)                                                                            \
  X("rwq.ReaderWriterQueue", ::ringlab::peers::rwq_queue,                                                              \
    "moodycamel::ReaderWriterQueue: SPSC ring of blocks, pre-sized, try_enqueue (bound per block)")                    \
  X("rwq.BlockingReaderWriterCircularBuffer", ::ringlab::peers::rwq_circular_buffer,                                   \
    "moodycamel::BlockingReaderWriterCircularBuffer: SPSC ring + 2 semaphores; block = its wait_enqueue/wait_dequeue")
#else
#define RINGLAB_READERWRITERQUEUE_QUEUES(X)
#endif

#if RINGLAB_HAVE_ZMQ
#include "peers/zmq.hpp"
#define RINGLAB_ZMQ_TRANSPORTS(X)                                                                                      \
  X("zmq.ipc", ::ringlab::peers::zmq_ipc,                                                                              \
    "ZeroMQ PUSH/PULL over ipc:// (a Unix socket), one consumer, HWM = capacity on both sides (approximate bound), DONTWAIT") \
  X("zmq.tcp", ::ringlab::peers::zmq_tcp,                                                                              \
    "ZeroMQ PUSH/PULL over tcp:// (scope host), one consumer, HWM = capacity on both sides, DONTWAIT; block = its own")
#else
#define RINGLAB_ZMQ_TRANSPORTS(X)
#endif

#if RINGLAB_HAVE_BOOST_INTERPROCESS
#include "peers/boost_interprocess.hpp"
#define RINGLAB_BOOST_INTERPROCESS_TRANSPORTS(X)                                                                       \
  X("boost.message_queue", ::ringlab::peers::boost_message_queue,                                                      \
    "boost::interprocess::message_queue in POSIX shared memory (mutex + condvars), try_send/try_receive, exact bound")
#else
#define RINGLAB_BOOST_INTERPROCESS_TRANSPORTS(X)
#endif

#if RINGLAB_HAVE_ICEORYX
#include "peers/iceoryx.hpp"
#define RINGLAB_ICEORYX_TRANSPORTS(X)                                                                                  \
  X("iceoryx", ::ringlab::peers::iceoryx_pubsub,                                                                       \
    "iceoryx 2 publish/subscribe, loan/publish/take (zero-copy chunks), no loss; capacity <= 256; runs iox-roudi itself")
#else
#define RINGLAB_ICEORYX_TRANSPORTS(X)
#endif

// Remote calls (scope host) through gRPC: ours, but built only where meson found gRPC.
#if RINGLAB_HAVE_GRPC
#include "transports/net/rpc_transport.hpp"
#define RINGLAB_RPC_TRANSPORTS(X)                                                                                      \
  X("rpc", ::ringlab::variants::rpc,                                                                                   \
    "the seeds' getAProduct: a gRPC unary Take per item from the serving side's bounded queue; pops timed (rtt_*)")   \
  X("rpc.batch", ::ringlab::variants::rpc_batch,                                                                       \
    "rpc with up to --batch N items per Take call (one consumer)")                                                    \
  X("rpc.stream", ::ringlab::variants::rpc_stream,                                                                     \
    "rpc as one server-streaming call: items flow back without a call each (--batch N per message; one consumer)")
#else
#define RINGLAB_RPC_TRANSPORTS(X)
#endif

#define RINGLAB_PEER_TRANSPORTS(X)                                                                                     \
  RINGLAB_ZMQ_TRANSPORTS(X) RINGLAB_BOOST_INTERPROCESS_TRANSPORTS(X) RINGLAB_ICEORYX_TRANSPORTS(X)               \
  RINGLAB_RPC_TRANSPORTS(X)
#define RINGLAB_PROCESS_TRANSPORTS(X) RINGLAB_OUR_TRANSPORTS(X) RINGLAB_PEER_TRANSPORTS(X)

#define RINGLAB_PEER_QUEUES(X)                                                                                         \
  RINGLAB_MOODYCAMEL_QUEUES(X) RINGLAB_ATOMIC_QUEUE_QUEUES(X) RINGLAB_BOOST_LOCKFREE_QUEUES(X) RINGLAB_TBB_QUEUES(X)   \
  RINGLAB_READERWRITERQUEUE_QUEUES(X)
#define RINGLAB_ALL_QUEUES(X) RINGLAB_OUR_QUEUES(X) RINGLAB_PEER_QUEUES(X)  // threads; processes: above
