#include "scopes/hosts/remote_link.hpp"

#include <fmt/core.h>

#include <sys/resource.h>

#include <bit>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace ringlab::ipc {
namespace {

constexpr std::uint64_t byte_order_check = 0x0102030405060708;
constexpr int heartbeat_ms = 250;
constexpr std::uint64_t silence_ns = 5'000'000'000;

// The boot id tells two boots of a kernel apart: same id, same machine, one clock.
// RINGLAB_BOOT_ID stands in for another machine's (tests).
std::string boot_id() {
  if (const char* pretend = std::getenv("RINGLAB_BOOT_ID"); pretend && *pretend) return pretend;
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

std::uint64_t now_ns() { return harness::monotonic_now_ns(); }

// This process's CPU time and its reaped children's (the sides), in ns.
std::uint64_t process_cpu_ns() {
  std::uint64_t ns = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage u{};
    ::getrusage(who, &u);
    ns += static_cast<std::uint64_t>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1'000'000'000ull +
          static_cast<std::uint64_t>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1000ull;
  }
  return ns;
}

}  // namespace

remote_link::remote_link(control_channel& channel, half here, const harness::clock_source& clock)
    : channel_(channel), here_(here), clock_(clock) {
  // The hello names the clock each host chose; the link's own copy may change below.
  std::vector<std::uint64_t> hello{byte_order_check};
  put_text(hello, boot_id());
  put_text(hello, clock.name());
  auto expect_hello = [&] {
    const auto frame = channel_.receive(5000);
    if (!frame) throw control_broken(channel_.peer() + ": no hello within 5 s (not a ringlab on the other end?)");
    if (frame->kind != control_kind::hello || frame->words.empty() || frame->words[0] != byte_order_check)
      throw control_broken(channel_.peer() + ": its first frame is not a hello of this byte order");
    const std::string their_boot = text_of(*frame, 1);
    const std::string their_clock = text_of(*frame, 2 + (their_boot.size() + 7) / 8);
    // One machine, one clock: if the two calibrations chose differently, both read CLOCK_MONOTONIC.
    one_clock_ = their_boot == boot_id() && !their_boot.empty();
    if (one_clock_ && their_clock != clock_.name()) clock_.use_tsc = false, clock_.ns_per_tick = 1.0;
  };
  if (here_ == half::consumers) channel_.send(control_kind::hello, hello), expect_hello();
  else expect_hello(), channel_.send(control_kind::hello, hello);
}

remote_link::~remote_link() {
  stop_following();
  if (here_ == half::consumers) try {  // no more runs: the serve ends this connection cleanly
      send(control_kind::bye);
    } catch (const control_broken&) {
    }
}

void remote_link::send(control_kind kind, const std::vector<std::uint64_t>& words) {
  std::lock_guard lock(send_lock_);
  channel_.send(kind, words);
  last_said_ns_ = now_ns();
}

void remote_link::offer(const harness::run_config& cfg) {
  std::vector<std::uint64_t> words;
  put_text(words, config_text(cfg));
  send(control_kind::run, words);
  for (const auto give_up = now_ns() + 30'000'000'000ull; now_ns() < give_up;) {
    const auto frame = channel_.receive(100);
    if (!frame) continue;
    if (frame->kind == control_kind::accepted) return;
    if (frame->kind == control_kind::refused)
      throw std::runtime_error(fmt::format("serve at {} refused the run: {}", peer(), text_of(*frame)));
    // anything else: a straggler of the run before (a heartbeat)
  }
  throw std::runtime_error(fmt::format("serve at {} did not build its half within 30 s", peer()));
}

void remote_link::refuse(const std::string& why) {
  std::vector<std::uint64_t> words;
  put_text(words, why);
  send(control_kind::refused, words);
}

void remote_link::follow(harness::control_block& ctl, const harness::run_config& cfg, split_hooks hooks) {
  ctl_ = &ctl, cfg_ = cfg, hooks_ = std::move(hooks);
  stopping_ = false, close_sent_ = false, close_forwarded_ = met_ = published_ = false;
  their_listener_failed_ = false;
  sent_phase_ = harness::waiting, sent_ready_ = sent_finished_ = sent_exited_ = remote_ready_ = 0, sent_pushed_ = 0;
  last_heard_ns_ = now_ns();
  cpu_at_follow_ns_ = process_cpu_ns(), remote_cpu_ns_ = 0;
  {
    std::lock_guard lock(state_lock_);
    lost_.clear(), lost_here_sent_ = false, have_records_ = false, records_.clear();
    if (broken_) throw control_broken(peer() + ": the connection is gone");
  }
  thread_ = std::thread([this] { bridge(); });
}

void remote_link::stop_following() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void remote_link::bridge() {
  while (!stopping_.load()) {
    try {
      if (auto frame = channel_.receive(1)) last_heard_ns_ = now_ns(), handle(*frame);
      send_changes();
      if (now_ns() - last_said_ns_ > heartbeat_ms * 1'000'000ull) send(control_kind::heartbeat);
    } catch (const control_broken& e) {
      std::string why = e.what();
      if (why.rfind(peer() + ": ", 0) == 0) why.erase(0, peer().size() + 2);
      lose(fmt::format("the other host went away ({})", why), true);
      return;
    }
    if (now_ns() - last_heard_ns_ > silence_ns) {
      lose(fmt::format("the other host ({}) said nothing for {} s", peer(), silence_ns / 1'000'000'000), true);
      return;
    }
  }
}

void remote_link::lose(const std::string& why, bool broken) {
  {
    std::lock_guard lock(state_lock_);
    if (lost_.empty()) lost_ = why;
    broken_ = broken_ || broken;
  }
  records_came_.notify_all();
  ctl_->side_lost.store(1, std::memory_order_release);
  if (here_ == half::producers) hooks_.consumers_left(cfg_.consumers);  // none is left to wait for
  hooks_.stop_all();
  harness::wake_control_waiters(*ctl_);
}

void remote_link::report_lost(const std::string& why) {
  {
    std::lock_guard lock(state_lock_);
    if (lost_here_sent_) return;
    lost_here_sent_ = true;
  }
  std::vector<std::uint64_t> words;
  put_text(words, why);
  try {
    send(control_kind::lost, words);
  } catch (const control_broken&) {  // it is gone already: its own side notices
  }
}

std::string remote_link::lost() const {
  std::lock_guard lock(state_lock_);
  return lost_;
}

bool remote_link::broken() const {
  std::lock_guard lock(state_lock_);
  return broken_;
}

void remote_link::handle(const control_frame& f) {
  using namespace harness;
  control_block& ctl = *ctl_;
  auto word = [&](std::size_t i) {
    if (i >= f.words.size()) throw control_broken(fmt::format("{}: a frame of kind {} is short", peer(), static_cast<int>(f.kind)));
    return f.words[i];
  };
  auto wake = [](std::atomic<std::uint32_t>& w) { detail::futex_wake(w, detail::wake_everyone, shared_futex); };
  switch (f.kind) {
    case control_kind::heartbeat: return;
    case control_kind::lost: return lose(fmt::format("the other host's half failed: {}", text_of(f)));
    case control_kind::meeting:
      met_ = true;
      if (text_of(f) == "failed") their_listener_failed_.store(true);
      return hooks_.meet(text_of(f));
    case control_kind::ready: {  // run: the producers over there count as ready here
      const auto n = static_cast<std::uint32_t>(word(0));
      ctl.ready.fetch_add(n - remote_ready_, std::memory_order_acq_rel);
      remote_ready_ = n;
      return wake(ctl.ready);
    }
    case control_kind::counts:  // pushed first: a consumer that sees them all finished compares with it
      ctl.pushed_total.store(word(1), std::memory_order_release);
      ctl.producers_finished.store(static_cast<std::uint32_t>(word(0)), std::memory_order_release);
      wake(ctl.producers_finished);
      return wake(ctl.join_reached);  // the conductor's join wait looks at done == pushed again
    case control_kind::records: {
      std::vector<std::vector<std::uint64_t>> records;
      word_reader in(f.words);
      for (std::uint64_t n = in.next(), i = 0; i < n && in.ok; ++i) {
        const std::uint64_t size = in.next();
        if (size > f.words.size()) in.fail();
        auto& r = records.emplace_back();
        for (std::uint64_t j = 0; j < size && in.ok; ++j) r.push_back(in.next());
      }
      const std::uint64_t cpu_ns = in.next();  // what the serve's half used (its process and sides)
      if (!in.ok) throw control_broken(peer() + ": its results frame is broken");
      {
        std::lock_guard lock(state_lock_);
        records_ = std::move(records), have_records_ = true, remote_cpu_ns_ = cpu_ns;
      }
      records_came_.notify_all();
      return;
    }
    case control_kind::start: {  // serve: t0 and the schedule, in this host's ticks
      const auto t0 = word(0), their_now = word(1);
      const double their_ns_per_tick = std::bit_cast<double>(word(2)), their_ticks_per_item = std::bit_cast<double>(word(3));
      schedule plan{t0, their_ticks_per_item, static_cast<unsigned>(word(4))};
      if (!one_clock_) {  // two clocks: as far ahead of now as t0 was over there
        const double ahead_ns = (static_cast<double>(t0) - static_cast<double>(their_now)) * their_ns_per_tick;
        plan.t0_ticks = clock_.ticks() + clock_.from_ns(std::max(0.0, ahead_ns));
        plan.ticks_per_item = their_ticks_per_item * their_ns_per_tick / clock_.ns_per_tick;
      }
      ctl.plan = plan;
      ctl.phase.store(static_cast<std::uint32_t>(word(5)), std::memory_order_release);
      return wake(ctl.phase);
    }
    case control_kind::phase:
      ctl.phase.store(static_cast<std::uint32_t>(word(0)), std::memory_order_release);
      return wake(ctl.phase);
    case control_kind::close: return hooks_.close();
    case control_kind::consumers_left:
      ctl.consumers_exited.store(static_cast<std::uint32_t>(word(0)), std::memory_order_release);
      hooks_.consumers_left(static_cast<unsigned>(word(0)));
      return wake(ctl.consumers_exited);
    default:
      throw control_broken(fmt::format("{}: a frame of kind {} in the middle of a run", peer(), static_cast<int>(f.kind)));
  }
}

void remote_link::send_changes() {
  using namespace harness;
  const control_block& ctl = *ctl_;
  if (!met_ && !published_) {
    if (const std::string at = hooks_.published(); !at.empty()) {
      std::vector<std::uint64_t> words;
      put_text(words, at);
      send(control_kind::meeting, words);
      published_ = true;
    }
  }
  if (here_ == half::consumers) {
    if (const auto p = ctl.phase.load(std::memory_order_acquire); p != sent_phase_) {
      if (sent_phase_ == waiting)
        send(control_kind::start, {ctl.plan.t0_ticks, clock_.ticks(), std::bit_cast<std::uint64_t>(clock_.ns_per_tick),
                                   std::bit_cast<std::uint64_t>(ctl.plan.ticks_per_item), ctl.plan.producers, p});
      else send(control_kind::phase, {p});
      sent_phase_ = p;
    }
    if (close_sent_.load() && !close_forwarded_) send(control_kind::close), close_forwarded_ = true;
    if (const auto n = ctl.consumers_exited.load(std::memory_order_acquire); n != sent_exited_)
      send(control_kind::consumers_left, {n}), sent_exited_ = n;
  } else {
    if (const auto n = ctl.ready.load(std::memory_order_acquire); n != sent_ready_) send(control_kind::ready, {n}), sent_ready_ = n;
    const auto finished = ctl.producers_finished.load(std::memory_order_acquire);
    const auto pushed = ctl.pushed_total.load(std::memory_order_acquire);
    if (finished != sent_finished_ || pushed != sent_pushed_)
      send(control_kind::counts, {finished, pushed}), sent_finished_ = finished, sent_pushed_ = pushed;
  }
}

std::vector<std::vector<std::uint64_t>> remote_link::remote_records(double deadline_s) {
  std::unique_lock lock(state_lock_);
  records_came_.wait_for(lock, std::chrono::duration<double>(deadline_s), [&] { return have_records_ || !lost_.empty(); });
  return have_records_ ? records_ : std::vector<std::vector<std::uint64_t>>{};
}

void remote_link::send_records(const std::vector<std::vector<std::uint64_t>>& records) {
  std::vector<std::uint64_t> words{records.size()};
  for (const auto& r : records) words.push_back(r.size()), words.insert(words.end(), r.begin(), r.end());
  words.push_back(process_cpu_ns() - cpu_at_follow_ns_);
  send(control_kind::records, words);
}

// --- the configuration on the wire ---

std::string config_text(const harness::run_config& c) {
  std::ostringstream out;
  auto put = [&](const char* key, const auto& value) { out << key << '=' << value << '\n'; };
  auto num = [&](const char* key, double v) { put(key, fmt::format("{:.17g}", v)); };
  put("queue", c.queue), put("wait", c.wait), put("capacity", c.capacity), put("producers", c.producers);
  put("consumers", c.consumers), num("rate", c.offered_rate), put("payload", c.payload_bytes), put("pin", c.pin);
  num("duration", c.duration_s), put("items", c.items), num("warmup", c.warmup_s), put("termination", to_string(c.ending));
  put("pattern", to_string(c.shape)), put("service_ns", c.service_ns), put("work_ns", c.work_ns), put("producer_work_ns", c.producer_work_ns), put("tcp_nodelay", c.tcp_nodelay ? 1 : 0);
  put("batch", c.batch), put("port", c.port), put("record_latency", c.record_latency ? 1 : 0);
  put("latency_sample", c.latency_sample_every), num("drain_timeout", c.drain_timeout_s), put("connect", c.connect);
  return out.str();
}

harness::run_config config_from_text(const std::string& text) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw std::invalid_argument(fmt::format("configuration line '{}': not key=value", line));
    kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  auto get = [&](const char* key) {
    const auto it = kv.find(key);
    if (it == kv.end()) throw std::invalid_argument(fmt::format("configuration: no {}", key));
    return it->second;
  };
  auto number = [&](const char* key) {
    const std::string v = get(key);
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end) throw std::invalid_argument(fmt::format("configuration: {}={} is not a number", key, v));
    return d;
  };
  auto count = [&](const char* key) {
    const double d = number(key);
    if (d < 0 || d != static_cast<double>(static_cast<std::uint64_t>(d)))
      throw std::invalid_argument(fmt::format("configuration: {}={} is not a count", key, get(key)));
    return static_cast<std::uint64_t>(d);
  };
  harness::run_config c;
  c.queue = get("queue"), c.wait = get("wait"), c.capacity = count("capacity");
  c.producers = static_cast<unsigned>(count("producers")), c.consumers = static_cast<unsigned>(count("consumers"));
  c.offered_rate = number("rate"), c.payload_bytes = count("payload"), c.pin = get("pin");
  c.duration_s = number("duration"), c.items = count("items"), c.warmup_s = number("warmup");
  const std::string ending = get("termination"), shape = get("pattern");
  if (ending != "sentinel" && ending != "join") throw std::invalid_argument("configuration: termination=" + ending);
  if (shape != "stream" && shape != "pingpong") throw std::invalid_argument("configuration: pattern=" + shape);
  c.ending = ending == "join" ? harness::termination::join : harness::termination::sentinel;
  c.shape = shape == "stream" ? harness::pattern::stream : harness::pattern::pingpong;
  c.service_ns = count("service_ns"), c.work_ns = count("work_ns"), c.producer_work_ns = count("producer_work_ns"), c.tcp_nodelay = count("tcp_nodelay") != 0, c.batch = static_cast<unsigned>(count("batch"));
  c.port = static_cast<unsigned>(count("port")), c.record_latency = count("record_latency") != 0;
  c.latency_sample_every = count("latency_sample"), c.drain_timeout_s = number("drain_timeout"), c.connect = get("connect");
  return c;
}

}  // namespace ringlab::ipc
