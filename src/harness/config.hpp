// One run = one point: what `ringlab run` is asked for, after validation.
#pragma once
#include <cstdint>
#include <string>

namespace ringlab::harness {

enum class termination { sentinel, join };
// stream: producers push, consumers pop; pingpong: 1P1C round trips through two queues.
enum class pattern { stream, pingpong };

struct run_config {
  std::string queue = "spsc_ring";
  std::string wait = "spin";            // spin | yield | park | block
  std::uint64_t capacity = 1024;
  unsigned producers = 1;
  unsigned consumers = 1;
  double offered_rate = 0;              // items/s over all producers; 0 = closed loop
  std::uint64_t payload_bytes = 8;
  std::string pin = "compact";
  double duration_s = 1.0;              // used when items == 0
  std::uint64_t items = 0;              // total items; 0 = run for duration_s
  double warmup_s = -1;                 // -1: 20% of the duration, at most 0.2 s; 0 in items mode
  termination ending = termination::sentinel;
  pattern shape = pattern::stream;
  bool native = false;                  // mode native: the queue's own loop, no harness (native.hpp)
  bool author_loop = false;             // mode author: native, as atomic_queue's benchmark program loops (native.hpp)
  std::string scope;                    // thread | process: where the sides live; "" = the queue's own
  std::string fault = "none";           // none | kill-producer | kill-consumer (+ -carry-on): the crash suite (scope process)
  double fault_after_s = 0;             // when the side is killed, from the start of the run (warm-up included)
  std::string fault_at = "fixed";       // fixed: at fault_after_s; random: uniform in [fault_after_s / 10, fault_after_s]
  bool raise_limits = false;            // may raise the kernel limits a transport needs (root; recorded)
  std::uint64_t service_ns = 0;         // the consumer's work per item (a busy wait), every scope
  std::uint64_t work_ns = 0;            // stream: the consumer's work per item, a calibrated loop (work.hpp)
  std::uint64_t producer_work_ns = 0;   // stream: the producer's, before each push
  // Scope host (a network stream): the path between the sides and the stream's options.
  std::string net = "loopback";         // loopback | veth[,tbf=RATE][,netem=DELAY] (transports/plumbing/net_path.hpp)
  bool tcp_nodelay = false;             // TCP_NODELAY on the producers' connections (the seeds: off)
  unsigned batch = 1;                   // items per write (one frame)
  unsigned port = 0;                    // the consumer's port; 0 = one the kernel picks (not in the row)
  std::string connect;                  // HOST:PORT of a `ringlab serve` running the producers; "" = all here
  bool record_latency = true;
  std::uint64_t latency_sample_every = 0;  // initial k; 0 = 1 in open loop, 64 closed
  std::string histogram_out;            // optional: full histograms as CSV
  double drain_timeout_s = 10;          // a run that cannot finish is stopped and marked invalid
  bool count_unsent = true;             // latency counts items due but never sent (false: the coordinated-
                                        // omission ablation the tests use as a negative control; no option)

  double effective_warmup_s() const {
    if (warmup_s >= 0) return warmup_s;
    return items ? 0.0 : std::min(0.2, 0.2 * duration_s);
  }
  bool kills_consumer() const { return fault.rfind("kill-consumer", 0) == 0; }
  // After the kill a replacement carries on the dead side's part of the run (--carry-on).
  bool carries_on() const { return fault.ends_with("-carry-on"); }
};

// Throws std::invalid_argument naming the option and value for anything a run cannot
// take: an unknown queue or wait strategy, block on a queue without its own blocking,
// P or C > 1 on an SPSC-only queue, a capacity the queue refuses, an unsupported
// payload, negative numbers.
void validate(const run_config& config);

// The most items a network stream sends in one write (--batch): its frame's bound
// (transports/plumbing/net_path.hpp's max_frame_items; src/registration.hpp checks they agree).
inline constexpr unsigned max_batch_items = 1024;

const char* to_string(termination t);
const char* to_string(pattern p);
inline const char* mode_name(bool native, bool author_loop = false) { return author_loop ? "author" : native ? "native" : "harness"; }

}  // namespace ringlab::harness
