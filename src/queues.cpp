// Our queues, one line each (see registry.hpp). Ablation variants are registered under
// their own names so every experiment can put them side by side.
#include "registry.hpp"

#include "queue_variants.hpp"

using namespace ringlab;
RINGLAB_QUEUE("mutex_ring", variants::mutex_ring, "ring + adaptive mutex + not-full/not-empty condvars; signals only sleepers, spins before sleeping");
RINGLAB_QUEUE("mutex_ring.std", variants::mutex_ring_std, "mutex_ring with std::mutex (sleeps at once on contention)");
RINGLAB_QUEUE("mutex_ring.plain", variants::mutex_ring_plain, "mutex_ring with std::mutex, signalling every operation, no spinning (the bare monitor)");
RINGLAB_QUEUE("two_lock_ring", variants::two_lock_ring, "ring with a lock per side (Michael & Scott's two-lock queue), cached opposite indices, condvars; signals only sleepers");
RINGLAB_QUEUE("textbook_mutex_queue", textbook_mutex_queue, "std::deque + std::mutex + two condvars, notify_one on every op under the lock, no spin (the tutorial's; naive on purpose)");
RINGLAB_QUEUE("semaphore_ring", semaphore_ring, "Dijkstra's bounded buffer: empty/full counting semaphores, a mutex per side");
RINGLAB_QUEUE("handoff_slot", handoff_slot, "one slot handed over by two events (filled / emptied); capacity 1 only");
RINGLAB_QUEUE("spsc_ring", variants::spsc_ring, "SPSC ring, slots as flags (FastForward) + a 32-slot gap, batched probes (B-Queue)");
RINGLAB_QUEUE("spsc_ring.rigtorp", variants::spsc_ring_rigtorp, "Lamport SPSC ring with cached opposite indices and padded sides (Rigtorp)");
RINGLAB_QUEUE("spsc_ring.fastforward", variants::spsc_ring_fastforward, "SPSC ring, slots as flags, no gap, no batch (FastForward as published)");
RINGLAB_QUEUE("spsc_ring.gap", variants::spsc_ring_gap, "spsc_ring without batched probes: slots as flags and the 32-slot gap only");
RINGLAB_QUEUE("spsc_ring.lamport", variants::spsc_ring_lamport, "Lamport's SPSC ring as published: shared indices, no caching, no padding");
RINGLAB_QUEUE("spsc_ring.uncached", variants::spsc_ring_uncached, "spsc_ring.rigtorp without cached indices (padded sides)");
RINGLAB_QUEUE("spsc_ring.unpadded", variants::spsc_ring_unpadded, "spsc_ring.rigtorp with cached indices but both sides on one line");
RINGLAB_QUEUE("mpmc_ring", variants::mpmc_ring, "Vyukov bounded MPMC ring, per-slot sequence numbers, any capacity");
RINGLAB_QUEUE("mpmc_ring.padded", variants::mpmc_ring_padded, "mpmc_ring with one cache line per slot");
RINGLAB_QUEUE("floor.pingpong", variants::floor_pingpong, "physical floor: one word alone on a line pair, slot as flag; capacity 1");
RINGLAB_QUEUE("floor.line_ring", variants::floor_line_ring, "physical bound: whole cache lines of 8 items handed over at once (flush at the end)");
