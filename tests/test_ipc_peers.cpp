// The peer libraries' process transports (src/peers/zmq.hpp, boost_interprocess.hpp,
// iceoryx.hpp), each compiled when meson found its library: every item exactly once and
// in order across forked processes, in the shapes each can take; a transport that drops
// an item is caught (the negative control of that check); and what each leaves behind:
// no socket file (zmq), no shared memory (boost), and for iceoryx no RouDi process, no
// segment in /dev/shm and no runtime socket in /tmp, also when the process holding RouDi
// is killed. Each leftovers check is first shown to find a leftover planted for it.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/run.hpp"
#include "scopes/run_point.hpp"
#include "queue_list.hpp"

namespace ringlab::harness {
namespace {

namespace fs = std::filesystem;

const run_context& context() {
  static const topology topo = topology::this_machine();
  static const run_context ctx{&calibrated_clock(), &topo, "test-host", "test", "test-build"};
  return ctx;
}

run_config items_run(const char* queue, unsigned producers, unsigned consumers, std::uint64_t capacity,
                     std::uint64_t payload, const char* wait = "park") {
  run_config c;
  c.queue = queue;
  c.producers = producers;
  c.consumers = consumers;
  c.capacity = capacity;
  c.payload_bytes = payload;
  c.wait = wait;
  c.items = 2000 * producers;  // many runs, each short: zmq at capacity 1 with 3 producers is the slowest
  c.drain_timeout_s = 20;
  return c;
}

template <template <class> class Transport>
void expect_exactly_once_in_order(const run_config& c) {
  const run_result r = run_point<Transport>(c, context());
  SCOPED_TRACE(describe(r));
  EXPECT_TRUE(r.valid) << r.validation_error;
  EXPECT_EQ(r.items_popped, c.items);
  EXPECT_EQ(r.items_pushed, c.items);
  EXPECT_EQ(r.config.scope, "process");
}

// Files in `dir` whose name starts with `prefix`.
std::vector<std::string> files_starting(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path().string());
  return out;
}

// A transport that loses one item in 997 (its try_push says "pushed" and sends nothing):
// the same run must come out invalid, or the exactly-once checks above prove nothing.
template <class Base>
struct dropping : Base {
  using Base::Base;
  bool try_push(const typename Base::value_type& item) {
    if (++pushes % 997 == 0) return true;
    return Base::try_push(item);
  }
  std::uint64_t pushes = 0;  // in the producer's process
};

template <class Base>
void expect_a_lost_item_is_caught(const char* name, unsigned producers = 1) {
  run_config c = items_run(name, producers, 1, 64, 8, "yield");
  c.drain_timeout_s = 3;  // the consumers wait for items that never come
  const run_result r = ipc::run_processes_typed<ipc::between_processes<dropping<Base>>, yield, tag>(c, context());
  EXPECT_FALSE(r.valid);
  EXPECT_NE(r.validation_error.find("never arrived"), std::string::npos) << r.validation_error;
}

#if RINGLAB_HAVE_ZMQ
std::string zmq_prefix() { return "ringlab-zmq-" + std::to_string(::getpid()) + "-"; }

TEST(ZmqIpc, EveryItemOnceAndInOrderAcrossProcesses) {
  // One consumer (single_consumer), one or several producers.
  for (unsigned p : {1u, 3u})
    for (std::uint64_t capacity : {1, 64})
      for (std::uint64_t payload : {8, 1024})
        expect_exactly_once_in_order<peers::zmq_ipc>(items_run("zmq.ipc", p, 1, capacity, payload));
  expect_exactly_once_in_order<peers::zmq_ipc>(items_run("zmq.ipc", 2, 1, 1, 64, "spin"));
}

TEST(ZmqIpc, ALostItemIsCaught) { expect_a_lost_item_is_caught<peers::zmq_push_pull<tag>>("zmq.ipc", 2); }

TEST(ZmqIpc, NoSocketFileIsLeft) {
  // The check finds a file planted under the prefix (its negative control)...
  const std::string planted = "/tmp/" + zmq_prefix() + "planted.0";
  std::ofstream(planted) << "x";
  EXPECT_EQ(files_starting("/tmp", zmq_prefix()), std::vector<std::string>{planted});
  fs::remove(planted);
  // ...and none after runs of one and of several consumers.
  expect_exactly_once_in_order<peers::zmq_ipc>(items_run("zmq.ipc", 1, 1, 64, 8));
  expect_exactly_once_in_order<peers::zmq_ipc>(items_run("zmq.ipc", 3, 1, 64, 8));
  EXPECT_EQ(files_starting("/tmp", zmq_prefix()), std::vector<std::string>{});
}

TEST(ZmqIpc, RefusesWhatItCannotDo) {
  EXPECT_THROW(peers::zmq_ipc<tag>(0), std::invalid_argument);
  EXPECT_THROW(peers::zmq_ipc<tag>(std::size_t{1} << 40), std::invalid_argument);
  peers::zmq_ipc<tag> q(4);  // a capacity check only: no endpoint
  EXPECT_THROW(q.enter(ipc::role::consumer, 1), std::invalid_argument);
}
#endif

#if RINGLAB_HAVE_BOOST_INTERPROCESS
std::string mq_prefix() { return "ringlab_mq." + std::to_string(::getpid()) + "."; }

TEST(BoostMessageQueue, EveryItemOnceAndInOrderAcrossProcesses) {
  for (auto [p, c] : {std::pair{1u, 1u}, {2u, 2u}, {4u, 4u}})
    for (std::uint64_t capacity : {1, 3, 1024})
      expect_exactly_once_in_order<peers::boost_message_queue>(items_run("boost.message_queue", p, c, capacity, 64));
  expect_exactly_once_in_order<peers::boost_message_queue>(items_run("boost.message_queue", 1, 1, 64, 1024, "spin"));
}

TEST(BoostMessageQueue, ALostItemIsCaught) {
  expect_a_lost_item_is_caught<peers::boost_mq_transport<tag>>("boost.message_queue", 2);
}

TEST(BoostMessageQueue, HoldsExactlyItsCapacityAndIsFifo) {
  peers::boost_message_queue<tag> q(3);
  for (tag t = 1; t <= 3; ++t) EXPECT_TRUE(q.try_push(t));
  EXPECT_FALSE(q.try_push(4));
  for (tag t = 1; t <= 3; ++t) {
    tag out = 0;
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(out, t);
  }
  tag out = 0;
  EXPECT_FALSE(q.try_pop(out));
}

TEST(BoostMessageQueue, NothingIsLeftInDevShm) {
  const std::string planted = "/" + mq_prefix() + "planted";
  const int fd = ::shm_open(planted.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_EQ(files_starting("/dev/shm", mq_prefix()).size(), 1u) << "the check does not see a planted queue";
  ::shm_unlink(planted.c_str());
  peers::boost_message_queue<tag> alive(16);  // even while a queue exists, its name is gone
  EXPECT_EQ(files_starting("/dev/shm", mq_prefix()), std::vector<std::string>{});
  expect_exactly_once_in_order<peers::boost_message_queue>(items_run("boost.message_queue", 2, 2, 64, 8));
  EXPECT_EQ(files_starting("/dev/shm", mq_prefix()), std::vector<std::string>{});
}
#endif

#if RINGLAB_HAVE_ICEORYX
// Processes named iox-roudi, and whether `pid` is still a live one (a zombie is not).
std::vector<int> roudi_processes() {
  std::vector<int> pids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string text;
    if (!std::getline(stat, text)) continue;
    const auto open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 2 >= text.size()) continue;
    if (text.substr(open + 1, close - open - 1) == "iox-roudi" && text[close + 2] != 'Z') pids.push_back(std::stoi(pid));
  }
  return pids;
}

// What an iceoryx run may leave: RouDi, its segments, its socket, our runtimes' sockets.
std::vector<std::string> iceoryx_leftovers() {
  std::vector<std::string> found;
  for (int pid : roudi_processes()) found.push_back("process iox-roudi " + std::to_string(pid));
  for (const auto& f : files_starting("/dev/shm", "iceoryx_mgmt")) found.push_back(f);
  if (const passwd* user = ::getpwuid(::getuid()))  // RouDi's data segment is named after the user
    if (const std::string f = std::string("/dev/shm/") + user->pw_name; fs::exists(f)) found.push_back(f);
  for (const char* f : {"/tmp/roudi", "/tmp/roudi.lock", "/tmp/iox-unique-roudi.lock"})
    if (fs::exists(f)) found.push_back(f);
  for (const auto& f : files_starting("/tmp", "ringlab-iox-" + std::to_string(::getpid()) + "-")) found.push_back(f);
  return found;
}

class Iceoryx : public ::testing::Test {
 protected:
  void SetUp() override {
    if (peers::roudi_answers() || !roudi_processes().empty())
      GTEST_SKIP() << "another iox-roudi is running on this machine; these tests start and stop their own";
  }
};

TEST_F(Iceoryx, EveryItemOnceAndInOrderAcrossProcesses) {
  for (std::uint64_t capacity : {1, 3, 256})
    for (std::uint64_t payload : {8, 1024})
      expect_exactly_once_in_order<peers::iceoryx_pubsub>(items_run("iceoryx", 1, 1, capacity, payload));
  // Many publishers to its one subscriber work too (single_consumer).
  expect_exactly_once_in_order<peers::iceoryx_pubsub>(items_run("iceoryx", 3, 1, 64, 64));
  expect_exactly_once_in_order<peers::iceoryx_pubsub>(items_run("iceoryx", 1, 1, 64, 8, "spin"));
}

TEST_F(Iceoryx, ALostItemIsCaught) { expect_a_lost_item_is_caught<peers::iceoryx_transport<tag>>("iceoryx"); }

TEST_F(Iceoryx, NothingIsLeftAfterARun) {
  // The check sees a running RouDi with its segments, and the socket a runtime leaves.
  {
    peers::roudi_lease lease;
    const std::string planted = "/tmp/ringlab-iox-" + std::to_string(::getpid()) + "-planted";
    std::ofstream(planted) << "x";
    const auto seen = iceoryx_leftovers();
    EXPECT_GE(seen.size(), 4u) << "the leftovers check misses a running RouDi";
    EXPECT_NE(std::find(seen.begin(), seen.end(), planted), seen.end());
    fs::remove(planted);
    EXPECT_GT(peers::roudi_child_pid(), 0);
  }
  EXPECT_EQ(iceoryx_leftovers(), std::vector<std::string>{}) << "RouDi did not clean up after SIGTERM";
  expect_exactly_once_in_order<peers::iceoryx_pubsub>(items_run("iceoryx", 1, 1, 64, 8));
  EXPECT_EQ(iceoryx_leftovers(), std::vector<std::string>{});
  EXPECT_EQ(peers::roudi_child_pid(), -1);
}

TEST_F(Iceoryx, AKilledHolderLeavesNothing) {
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t holder = ::fork();
  if (holder == 0) {  // starts RouDi, says so, waits to be killed
    ::close(report[0]);
    peers::roudi_lease lease;
    const int pid = peers::roudi_child_pid();
    (void)!::write(report[1], &pid, sizeof pid);
    ::pause();
    ::_exit(0);
  }
  ::close(report[1]);
  int roudi = -1;
  ASSERT_EQ(::read(report[0], &roudi, sizeof roudi), static_cast<ssize_t>(sizeof roudi));
  ::close(report[0]);
  ASSERT_GT(roudi, 0);
  EXPECT_FALSE(iceoryx_leftovers().empty());
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  std::vector<std::string> left;
  for (int i = 0; i < 500; ++i) {  // RouDi gets SIGTERM from PR_SET_PDEATHSIG and cleans up
    left = iceoryx_leftovers();
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(left, std::vector<std::string>{});
}

TEST_F(Iceoryx, RefusesWhatItCannotDo) {
  try {
    peers::iceoryx_pubsub<tag> q(257);
    ADD_FAILURE() << "capacity 257 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("MAX_SUBSCRIBER_QUEUE_CAPACITY"), std::string::npos) << e.what();
  }
  peers::iceoryx_pubsub<tag> q(4);  // a capacity check only: no RouDi
  EXPECT_EQ(peers::roudi_child_pid(), -1);
  EXPECT_THROW(q.enter(ipc::role::consumer, 1), std::invalid_argument);
}
#endif

}  // namespace
}  // namespace ringlab::harness
