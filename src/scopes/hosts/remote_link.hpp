// A run split across two hosts: `ringlab run --connect` runs the consumers and the
// conductor and writes the row; `ringlab serve --listen` runs the producers. Each host
// has its own segment and control block; this link keeps the two control blocks in step
// over the control channel (scopes/hosts/control_channel.hpp), so the sides' code is the same as
// on one host: a thread per host carries what the other needs, within a millisecond —
//   run -> serve: t0 and the schedule, each phase, close, how many consumers have left;
//   serve -> run: how many producers are ready, finished and pushed (join), their results;
//   either way: where the transport's listener is, a side lost, a heartbeat every 250 ms.
// A peer silent for 5 s, a closed connection or a broken frame stops the run on both
// hosts. Clocks: one only when both hosts have the same boot id and clock (namespaces
// of one machine, reading CLOCK_MONOTONIC when their calibrations chose differently);
// otherwise no latency is computed from two clocks (run_split.hpp).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/clock.hpp"
#include "harness/config.hpp"
#include "harness/sides.hpp"
#include "scopes/hosts/control_channel.hpp"

namespace ringlab::ipc {

// What the link does to this host's transport and sides.
struct split_hooks {
  std::function<std::string()> published;        // the listener here: "addr:port", "failed", or "" (not here, not yet)
  std::function<void(const std::string&)> meet;  // the other host's listener
  std::function<void()> close;                   // close this host's end (the conductor closed its own)
  std::function<void(unsigned)> consumers_left;  // serve: that many consumers have left
  std::function<void()> stop_all;                // the other host failed: stop this one's sides
};

class remote_link {
 public:
  enum class half { consumers, producers };  // run --connect, serve

  // Exchanges hellos (5 s at most); throws control_broken when the peer is not a ringlab
  // of this protocol, or std::runtime_error.
  remote_link(control_channel& channel, half here, const harness::clock_source& clock);
  ~remote_link();
  remote_link(const remote_link&) = delete;
  remote_link& operator=(const remote_link&) = delete;

  half here() const noexcept { return here_; }
  bool one_clock() const noexcept { return one_clock_; }
  // The clock this host's half reads (run_context::clock): CLOCK_MONOTONIC on both hosts of
  // one machine whose calibrations chose differently.
  const harness::clock_source& clock() const noexcept { return clock_; }
  const std::string& peer() const noexcept { return channel_.peer(); }
  std::string local_address() const { return channel_.local_address(); }
  control_channel& channel() noexcept { return channel_; }

  // run: send the configuration; returns when the serve has built its half (throws with
  // its reason when it refused, or said nothing within 30 s).
  void offer(const harness::run_config& cfg);
  // serve: the half is built (or why not).
  void accept() { send(control_kind::accepted); }
  void refuse(const std::string& why);

  // During the run: the thread that keeps the two control blocks in step.
  void follow(harness::control_block& ctl, const harness::run_config& cfg, split_hooks hooks);
  void report_lost(const std::string& why);  // a side here failed: the other host stops too
  void closed() { close_sent_.store(true); }  // run: the conductor closed the transport
  // run: the serve's records, once sent (empty when the link was lost or `deadline_s` passed).
  std::vector<std::vector<std::uint64_t>> remote_records(double deadline_s);
  void send_records(const std::vector<std::vector<std::uint64_t>>& records);  // with the half's CPU time
  // run: the CPU time the serve's half used for the run (its process and its sides).
  double remote_cpu_s() const { return static_cast<double>(remote_cpu_ns_) / 1e9; }
  void stop_following();
  std::string lost() const;  // why the other host stopped, or went away; "" if it did not
  // run: the other host's listener failed, so it will send why (its side's record) once it
  // has collected its sides: worth waiting for as long as for results.
  bool their_listener_failed() const { return their_listener_failed_.load(); }
  bool broken() const;       // the connection itself is gone (closed, a bad frame, silence): no more runs on it

 private:
  void send(control_kind kind, const std::vector<std::uint64_t>& words = {});
  void bridge();
  void handle(const control_frame& frame);
  void send_changes();
  void lose(const std::string& why, bool broken = false);

  control_channel& channel_;
  half here_;
  harness::clock_source clock_;
  bool one_clock_ = false;
  std::mutex send_lock_;

  // While following:
  harness::control_block* ctl_ = nullptr;
  harness::run_config cfg_;
  split_hooks hooks_;
  std::thread thread_;
  std::atomic<bool> stopping_{false}, close_sent_{false};
  bool close_forwarded_ = false, met_ = false, published_ = false;
  std::atomic<bool> their_listener_failed_{false};
  std::uint32_t sent_phase_ = harness::waiting, sent_ready_ = 0, sent_finished_ = 0, sent_exited_ = 0, remote_ready_ = 0;
  std::uint64_t sent_pushed_ = 0, last_heard_ns_ = 0, last_said_ns_ = 0, cpu_at_follow_ns_ = 0, remote_cpu_ns_ = 0;
  mutable std::mutex state_lock_;
  std::condition_variable records_came_;
  std::string lost_, lost_here_;
  bool lost_here_sent_ = false, have_records_ = false, broken_ = false;
  std::vector<std::vector<std::uint64_t>> records_;
};

// The configuration as "key=value" lines, and back (std::invalid_argument naming the key).
std::string config_text(const harness::run_config& cfg);
harness::run_config config_from_text(const std::string& text);

}  // namespace ringlab::ipc
