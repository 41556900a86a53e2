// The kernel transports between processes (pipe, pipe.semaphore, posix_mq, unix_socket,
// unix_socket.seqpacket), each between a forked producer and a forked consumer: every
// item exactly once, in order and whole; the bounds they claim; a stream's split items
// (a naive reader that takes half an item is caught); posix_mq's limits (msg_max refused
// with a message naming it, raised and restored as root) and that /dev/mqueue keeps
// nothing of ours whatever dies; and that a dead consumer shows as peer_lost to the
// producer (a dead producer as EOF to the consumer) within a bounded time.
#include <gtest/gtest.h>

#include <mqueue.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "harness/run.hpp"
#include "scopes/run_point.hpp"
#include "transports/kernel/pipe.hpp"
#include "transports/kernel/posix_mq.hpp"
#include "transports/kernel/unix_socket.hpp"
#include "queue_variants.hpp"

namespace ringlab::ipc {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// An item whose every byte depends on its sequence: a shifted, half or mixed item shows.
template <std::size_t Bytes>
struct test_item {
  std::uint64_t seq;
  unsigned char body[Bytes - sizeof(std::uint64_t)];
};
template <>
struct test_item<8> {
  std::uint64_t seq;
};
template <class Item>
Item make_item(std::uint64_t seq) {
  Item item;
  item.seq = seq;
  auto* body = reinterpret_cast<unsigned char*>(&item) + sizeof seq;
  for (std::size_t i = 0; i < sizeof item - sizeof seq; ++i) body[i] = static_cast<unsigned char>(seq * 131 + i);
  return item;
}
template <class Item>
bool intact(const Item& item, std::uint64_t seq) {
  if (item.seq != seq) return false;
  const auto* body = reinterpret_cast<const unsigned char*>(&item) + sizeof seq;
  for (std::size_t i = 0; i < sizeof item - sizeof seq; ++i)
    if (body[i] != static_cast<unsigned char>(seq * 131 + i)) return false;
  return true;
}

// Shared memory inherited by fork: the transport's block and the test's own flags.
struct shared_memory {
  explicit shared_memory(std::size_t bytes) : size(std::max<std::size_t>(bytes, 4096)) {
    data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) throw std::runtime_error("mmap");
  }
  ~shared_memory() { ::munmap(data, size); }
  std::size_t size;
  void* data;
};

// Exit codes of a side, and what they mean in a failure message.
enum side_exit : int { ok = 0, out_of_order = 2, torn = 3, lost_peer = 4, timed_out = 5, threw = 6 };
std::string describe(int code) {
  switch (code) {
    case ok: return "ok";
    case out_of_order: return "an item out of order or missing";
    case torn: return "an item not whole (its body is not its own)";
    case lost_peer: return "ipc::peer_lost";
    case timed_out: return "gave up waiting";
    case threw: return "threw";
    case -1: return "did not finish in time (killed)";
  }
  return "exit/signal code " + std::to_string(code);
}

template <class F>
pid_t fork_side(F&& body) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::signal(SIGPIPE, SIG_IGN);  // as the harness's sides: a dead reader is an EPIPE
  int code = threw;
  try {
    code = body();
  } catch (const peer_lost&) {
    code = lost_peer;
  } catch (...) {
  }
  ::_exit(code);
}

// The side's exit code, 128 + signal if killed, -1 if it ran past the deadline (killed then).
int wait_side(pid_t pid, std::chrono::duration<double> limit) {
  const auto deadline = clock_type::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (clock_type::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(1ms);
  }
}

template <class Q>
void wait_push(Q& q, const typename Q::value_type& item) {
  while (!q.try_push(item)) ::sched_yield();
}

// A forked producer sends n items, a forked consumer checks each: sequence and every byte.
// Naive: the consumer reads the consumers' end raw, one recv per item (the negative control).
// The smallest send buffer the kernel gives (4608 bytes): every item of 64 KiB is split.
template <class Q>
void shrink_send_buffer(Q& q) {
  const int one = 1;
  ASSERT_EQ(::setsockopt(q.write_end(), SOL_SOCKET, SO_SNDBUF, &one, sizeof one), 0);
}

template <class Q, bool Naive = false, bool Tiny = false>
std::pair<int, int> transfer(std::size_t capacity, std::uint64_t n) {
  using item = typename Q::value_type;
  shared_memory block(Q::block_bytes(capacity));
  Q q(capacity, block.data);
  if constexpr (Tiny) shrink_send_buffer(q);
  const pid_t producer = fork_side([&] {
    enter(q, role::producer, 0);
    for (std::uint64_t s = 0; s < n; ++s) wait_push(q, make_item<item>(s));
    ringlab::flush(q);
    return ok;
  });
  const pid_t consumer = fork_side([&] {
    enter(q, role::consumer, 0);
    auto it = std::make_unique<item>();
    for (std::uint64_t s = 0; s < n; ++s) {
      if constexpr (Naive) {
        while (::recv(q.read_end(), it.get(), sizeof(item), 0) <= 0) ::sched_yield();
      } else {
        while (!q.try_pop(*it)) ::sched_yield();
      }
      if (it->seq != s) return intact(*it, it->seq) ? out_of_order : torn;
      if (!intact(*it, s)) return torn;
    }
    return ok;
  });
  enter(q, role::conductor, 0);
  return {wait_side(producer, 120s), wait_side(consumer, 120s)};
}

template <template <class> class Transport>
void transfers_in_order(std::size_t capacity) {
  for (const auto& [p, c] : {transfer<Transport<test_item<8>>>(capacity, 20000),
                             transfer<Transport<test_item<1024>>>(capacity, 5000)}) {
    EXPECT_EQ(p, ok) << "producer: " << describe(p);
    EXPECT_EQ(c, ok) << "consumer: " << describe(c);
  }
}

std::size_t msg_max() {
  std::ifstream in("/proc/sys/fs/mqueue/msg_max");
  std::size_t v = 10;
  in >> v;
  return v;
}

TEST(KernelTransports, PipeDeliversExactlyOnceInOrder) { transfers_in_order<pipe_transport>(64); }
TEST(KernelTransports, PipeSemaphoreDeliversExactlyOnceInOrder) { transfers_in_order<semaphore_pipe_transport>(64); }
TEST(KernelTransports, PosixMqDeliversExactlyOnceInOrder) { transfers_in_order<posix_mq>(std::min<std::size_t>(8, msg_max())); }
TEST(KernelTransports, UnixSocketDeliversExactlyOnceInOrder) { transfers_in_order<unix_socket>(64); }
TEST(KernelTransports, UnixSeqpacketDeliversExactlyOnceInOrder) { transfers_in_order<unix_seqpacket>(64); }
TEST(KernelTransports, PipeBatchDeliversExactlyOnceInOrder) { transfers_in_order<batched_pipe_transport>(64); }

// pipe.batch holds items until a batch is full or flushed, then hands the batch over in
// one write: nothing of a partial batch is visible (the control: the plain pipe shows
// each item at once), everything of a full or flushed one is, in order.
TEST(KernelTransports, PipeBatchWritesWholeBatchesAndFlushes) {
  using item = std::uint64_t;
  pipe_transport<item> plain(64);
  ASSERT_TRUE(plain.try_push(7));
  item got = 0;
  EXPECT_TRUE(plain.try_pop(got)) << "the plain pipe shows an item at once";
  batched_pipe_transport<item> q(64);
  constexpr std::size_t batch = batched_pipe_transport<item>::batch;
  static_assert(batch == 64, "8-byte items: 64 a write (512 bytes, under PIPE_BUF)");
  for (item s = 0; s + 1 < batch; ++s) ASSERT_TRUE(q.try_push(s));
  EXPECT_FALSE(q.try_pop(got)) << "a partial batch is held back";
  ASSERT_TRUE(q.try_push(batch - 1));
  for (item s = 0; s < batch; ++s) {
    ASSERT_TRUE(q.try_pop(got));
    EXPECT_EQ(got, s);
  }
  for (item s = 0; s < 3; ++s) ASSERT_TRUE(q.try_push(100 + s));
  EXPECT_FALSE(q.try_pop(got));
  q.flush();
  for (item s = 0; s < 3; ++s) {
    ASSERT_TRUE(q.try_pop(got));
    EXPECT_EQ(got, 100 + s);
  }
  EXPECT_FALSE(q.try_pop(got));
}

// How many pushes an empty transport takes (in this process, nothing popped).
template <class Q>
std::size_t fill(Q& q) {
  std::size_t n = 0;
  while (q.try_push(make_item<typename Q::value_type>(n))) ++n;
  return n;
}

TEST(KernelTransports, ExactBoundsAreExact) {
  for (std::size_t capacity : {1, 5, 100}) {  // 64 items of 64 bytes would be the pipe's page exactly
    shared_memory block(semaphore_pipe_transport<test_item<64>>::block_bytes(capacity));
    semaphore_pipe_transport<test_item<64>> bounded(capacity, block.data);
    EXPECT_EQ(fill(bounded), capacity) << "pipe.semaphore, capacity " << capacity;
    test_item<64> out;
    ASSERT_TRUE(bounded.try_pop(out));  // a pop frees exactly one slot
    EXPECT_TRUE(bounded.try_push(make_item<test_item<64>>(0)));
    EXPECT_FALSE(bounded.try_push(make_item<test_item<64>>(0)));
    // The negative control: the bare pipe's bound is its buffer (a page at least), not the capacity.
    pipe_transport<test_item<64>> bare(capacity);
    EXPECT_GT(fill(bare), capacity) << "the pipe alone is bounded as tightly: the test cannot tell";
  }
  // 1 MiB of items: the pipe cannot have its two spare pages above pipe-max-size (1 MiB by
  // default; root without CAP_SYS_RESOURCE cannot exceed it), and still takes them all.
  shared_memory block(semaphore_pipe_transport<test_item<1024>>::block_bytes(1024));
  semaphore_pipe_transport<test_item<1024>> at_the_limit(1024, block.data);
  EXPECT_EQ(fill(at_the_limit), 1024u);
  const std::size_t max = msg_max();
  for (std::size_t capacity : {std::size_t{1}, max}) {
    posix_mq<test_item<1024>> mq(capacity);
    EXPECT_EQ(fill(mq), capacity) << "posix_mq, capacity " << capacity;
  }
}

// A socket's bound is what it really holds, reported: as many pushes succeed as capacity()
// says, and about what was asked for (the kernel's minimum buffer makes small ones larger).
TEST(KernelTransports, SocketCapacityIsWhatItHolds) {
  for (std::size_t capacity : {1, 16, 64, 200}) {
    unix_socket<test_item<8>> s8(capacity);
    unix_seqpacket<test_item<1024>> p1024(capacity);
    const std::size_t got8 = s8.capacity(), got1024 = p1024.capacity();
    EXPECT_EQ(fill(s8), got8);
    EXPECT_EQ(fill(p1024), got1024);
    EXPECT_GE(got8, capacity);
    EXPECT_GE(got1024, capacity);
    if (capacity >= 16) {  // above the kernel's minimum buffer, close to what was asked
      EXPECT_LE(got8, capacity + 2) << "asked " << capacity;
      EXPECT_LE(got1024, capacity + 2) << "asked " << capacity;
    }
  }
}

// A stream splits items larger than half its buffer: 64 KiB items in the smallest buffer
// (4608 bytes) are always split. The transport takes an item whose head alone went in, sends the tail first on the
// next push (or flush), and a pop returns whole items only.
using big_item = test_item<64 * 1024>;

TEST(UnixSocketStream, SplitItemsAreSentAndReadWhole) {
  unix_socket<big_item> q(1);
  shrink_send_buffer(q);
  constexpr std::uint64_t n = 100;
  std::uint64_t tails_held = 0, heads_held = 0, popped = 0;
  std::thread consumer([&] {  // the consumer's half of the object is its own (the producer's too)
    auto out = std::make_unique<big_item>();
    for (; popped < n; ++popped) {
      while (!q.try_pop(*out)) {
        heads_held += q.head_bytes() != 0;
        std::this_thread::yield();
      }
      if (!intact(*out, popped)) return;
    }
  });
  auto next = std::make_unique<big_item>();
  for (std::uint64_t s = 0; s < n; ++s) {
    *next = make_item<big_item>(s);
    while (!q.try_push(*next)) std::this_thread::yield();
    tails_held += q.tail_bytes() != 0;
  }
  q.flush();
  consumer.join();
  EXPECT_EQ(popped, n) << "item " << popped << " came back not whole or out of order";
  EXPECT_EQ(q.tail_bytes() + q.head_bytes(), 0u);
  EXPECT_GT(tails_held, 0u) << "no push left a tail: this buffer split nothing, the test tests nothing";
  EXPECT_GT(heads_held, 0u) << "no pop held half an item";
}

TEST(UnixSocketStream, SplitItemsBetweenProcesses) {
  const auto [p, c] = transfer<unix_socket<big_item>, false, true>(1, 100);
  EXPECT_EQ(p, ok) << "producer: " << describe(p);
  EXPECT_EQ(c, ok) << "consumer: " << describe(c);
}

// Filled until it refuses, the socket ends with half an item (its tail held by the
// producer). The transport's reader returns the whole items, and the last once flushed;
// the negative control, a reader that takes what one recv gives as an item, is caught.
TEST(UnixSocketStream, ANaiveReaderOfHalfItemsIsCaught) {
  for (const bool naive : {false, true}) {
    unix_socket<big_item> q(1);
    shrink_send_buffer(q);
    std::uint64_t pushed = 0;
    while (q.try_push(make_item<big_item>(pushed))) ++pushed;
    ASSERT_GT(q.tail_bytes(), 0u) << "the socket took whole items only: nothing half to read, the test tests nothing";
    auto it = std::make_unique<big_item>();
    std::uint64_t read = 0, torn = 0;
    if (naive) {
      while (::recv(q.read_end(), it.get(), sizeof *it, 0) > 0) torn += !intact(*it, read++);
      EXPECT_GT(torn, 0u) << "a naive reader's half item went unseen";
    } else {
      while (q.try_pop(*it)) torn += !intact(*it, read++);
      EXPECT_EQ(read, pushed - 1) << "the last item is half sent: it must not come out yet";
      std::thread producer([&] { q.flush(); });  // the tail, a buffer at a time
      while (read < pushed)
        if (q.try_pop(*it)) torn += !intact(*it, read++);
      producer.join();
      EXPECT_EQ(torn, 0u);
    }
  }
}

// posix_mq's limits: above msg_max is refused for everyone (root too) before mq_open,
// naming the limit and what to do; at msg_max it works (the control).
TEST(PosixMq, AboveMsgMaxIsRefusedNamingIt) {
  const std::size_t max = msg_max();
  try {
    posix_mq<test_item<8>> q(max + 1);
    ADD_FAILURE() << "capacity " << max + 1 << " above msg_max " << max << " was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("/proc/sys/fs/mqueue/msg_max (" + std::to_string(max) + ")"), std::string::npos) << what;
    EXPECT_NE(what.find("--raise-limits"), std::string::npos) << what;
    EXPECT_NE(what.find("sysctl fs.mqueue.msg_max="), std::string::npos) << what;
  }
  EXPECT_NO_THROW(posix_mq<test_item<8>> q(max));
  // What the kernel charges is checked too: a queue beyond RLIMIT_MSGQUEUE is refused by name.
  const auto why = mq_capacity_problem(4, 1024, mq_limits{10, 8192, 2048});
  EXPECT_NE(why.find("RLIMIT_MSGQUEUE"), std::string::npos) << why;
  EXPECT_EQ(mq_capacity_problem(2, 1024, mq_limits{10, 8192, 4096}), "");
  EXPECT_NE(mq_capacity_problem(2, 1024, mq_limits{10, 512, 1 << 20}).find("msgsize_max (512)"), std::string::npos);
}

// Restores what raise_mq_limits changes, whatever the test does.
struct restore_mq_limits {
  restore_mq_limits() { ::getrlimit(RLIMIT_MSGQUEUE, &rlimit_before); }
  ~restore_mq_limits() {
    std::ofstream("/proc/sys/fs/mqueue/msg_max") << msg_max_before << '\n';
    std::ofstream("/proc/sys/fs/mqueue/msgsize_max") << msgsize_max_before << '\n';
    ::setrlimit(RLIMIT_MSGQUEUE, &rlimit_before);
  }
  std::size_t msg_max_before = msg_max();
  std::size_t msgsize_max_before = current_mq_limits().msgsize_max;
  rlimit rlimit_before{};
};

TEST(PosixMq, RaisedLimitsAsRootAndRestored) {
  const std::size_t before = msg_max();
  // 64-byte items: a queue of 1024 stays within the default RLIMIT_MSGQUEUE, whose hard
  // limit root cannot raise without CAP_SYS_RESOURCE (as in a container).
  const std::size_t wanted = std::max<std::size_t>(1024, before + 1);
  if (::geteuid() != 0) {
    EXPECT_THROW((void)raise_mq_limits(wanted, 64), std::runtime_error);  // says root is needed
    GTEST_SKIP() << "not root: raise_mq_limits refuses (checked); raising needs root";
  }
  {
    restore_mq_limits guard;
    std::string changed;
    try {
      changed = raise_mq_limits(wanted, 64);
    } catch (const std::runtime_error& e) {
      GTEST_SKIP() << "cannot raise the limits here: " << e.what();
    }
    EXPECT_NE(changed.find("fs.mqueue.msg_max " + std::to_string(before) + " -> " + std::to_string(wanted)),
              std::string::npos) << changed;
    EXPECT_EQ(raise_mq_limits(wanted, 64), "") << "raised twice";
    posix_mq<test_item<64>> q(wanted);
    EXPECT_EQ(fill(q), wanted);
  }
  EXPECT_EQ(msg_max(), before) << "msg_max was not restored";
  EXPECT_THROW((void)raise_mq_limits(65537, 8), std::runtime_error);  // above the kernel's ceiling
}

// /dev/mqueue: where the mqueue file system is mounted; mounted for the test (as root)
// where it is not, and unmounted after.
struct mqueue_fs {
  mqueue_fs() {
    std::ifstream mounts("/proc/self/mounts");
    std::string device, where, type, rest;
    while (mounts >> device >> where >> type && std::getline(mounts, rest))
      if (type == "mqueue") {
        dir = where;
        return;
      }
    if (::geteuid() != 0) return;
    char name[] = "/tmp/ringlab-mqueue-XXXXXX";
    if (!::mkdtemp(name)) return;
    if (::mount("mqueue", name, "mqueue", 0, nullptr) == 0) {
      dir = name;
      mounted_here = true;
    } else {
      ::rmdir(name);
    }
  }
  ~mqueue_fs() {
    if (!mounted_here) return;
    ::umount2(dir.c_str(), MNT_DETACH);
    ::rmdir(dir.c_str());
  }
  std::vector<std::string> ours() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().filename().string().starts_with("ringlab-mq-")) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string dir;
  bool mounted_here = false;
};

const harness::run_context& context() {
  static const harness::topology topo = harness::topology::this_machine();
  static const harness::run_context ctx{&harness::calibrated_clock(), &topo, "test-host", "test", "test-build"};
  return ctx;
}

TEST(PosixMq, NothingIsLeftInDevMqueueWhateverDies) {
  const mqueue_fs fs;
  if (fs.dir.empty()) GTEST_SKIP() << "no mqueue file system mounted (and not root to mount one): cannot look";
  const auto before = fs.ours();
  // The negative control: a queue left behind is seen.
  const std::string left = "/ringlab-mq-" + std::to_string(::getpid()) + "-left-behind";
  mq_attr attr{};
  attr.mq_maxmsg = 1, attr.mq_msgsize = 8;
  const mqd_t stray = ::mq_open(left.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
  ASSERT_NE(stray, mqd_t(-1)) << std::strerror(errno);
  EXPECT_NE(fs.ours(), before) << "a queue left in " << fs.dir << " is not seen: the check below cannot fail";
  ::mq_close(stray);
  ::mq_unlink(left.c_str());
  EXPECT_EQ(fs.ours(), before);

  {  // alive: nothing, while the queue is in use
    posix_mq<test_item<8>> q(2);
    EXPECT_TRUE(q.try_push(make_item<test_item<8>>(0)));
    EXPECT_EQ(fs.ours(), before);
  }
  // Killed while holding a queue full of items.
  const pid_t victim = fork_side([] {
    posix_mq<test_item<8>> q(2);
    wait_push(q, make_item<test_item<8>>(0));
    ::raise(SIGKILL);
    return ok;
  });
  EXPECT_EQ(wait_side(victim, 10s), 128 + SIGKILL);
  EXPECT_EQ(fs.ours(), before);
  // A forked transfer and whole harness runs (2x2, both terminations).
  const auto [p, c] = transfer<posix_mq<test_item<64>>>(2, 2000);
  EXPECT_EQ(p, ok);
  EXPECT_EQ(c, ok);
  for (auto ending : {harness::termination::sentinel, harness::termination::join}) {
    harness::run_config cfg;
    cfg.queue = "posix_mq";
    cfg.producers = cfg.consumers = 2;
    cfg.capacity = std::min<std::size_t>(8, msg_max());
    cfg.payload_bytes = 64;
    cfg.items = 10000;
    cfg.ending = ending;
    cfg.drain_timeout_s = 10;
    const auto r = harness::run_point<variants::posix_mq>(cfg, context());
    EXPECT_TRUE(r.valid) << r.validation_error;
    EXPECT_EQ(r.items_popped, cfg.items);
  }
  EXPECT_EQ(fs.ours(), before) << "a run left a queue in " << fs.dir;
}

// A consumer that dies: the producer's next write reports peer_lost, within a bounded
// time. Control: while the consumer lives (asleep), the producer reports nothing.
struct death_report {
  int producer;   // exit code: lost_peer, or timed_out
  double after_s; // from the kill to the producer's peer_lost
};

template <class Q>
death_report producer_sees_consumer_die(bool kill_it) {
  using item = typename Q::value_type;
  constexpr std::size_t capacity = 16;
  shared_memory block(Q::block_bytes(capacity));
  shared_memory flags(sizeof(std::atomic<std::int64_t>) * 2);
  auto* ready = ::new (flags.data) std::atomic<std::int64_t>{0};
  auto* noticed_ns = ready + 1;
  ::new (noticed_ns) std::atomic<std::int64_t>{0};
  Q q(capacity, block.data);
  const pid_t consumer = fork_side([&] {
    enter(q, role::consumer, 0);
    item it;
    for (int i = 0; i < 10; ++i)
      while (!q.try_pop(it)) ::sched_yield();
    ready->store(1);
    for (;;) ::pause();  // alive, reading nothing
    return ok;
  });
  const pid_t producer = fork_side([&] {
    enter(q, role::producer, 0);
    const auto give_up = clock_type::now() + (kill_it ? 20s : 1s);
    try {
      for (std::uint64_t s = 0; clock_type::now() < give_up; ++s)
        while (!q.try_push(make_item<item>(s)) && clock_type::now() < give_up) ::sched_yield();
    } catch (const peer_lost&) {
      noticed_ns->store(clock_type::now().time_since_epoch().count());
      return lost_peer;
    }
    return timed_out;
  });
  enter(q, role::conductor, 0);
  const auto wait_ready = clock_type::now() + 20s;
  while (ready->load() == 0 && clock_type::now() < wait_ready) std::this_thread::sleep_for(1ms);
  const auto killed_at = clock_type::now();
  if (kill_it) ::kill(consumer, SIGKILL);
  const int p = wait_side(producer, 30s);
  ::kill(consumer, SIGKILL);
  wait_side(consumer, 10s);
  const auto noticed = clock_type::time_point(clock_type::duration(noticed_ns->load()));
  return {p, std::chrono::duration<double>(noticed - killed_at).count()};
}

// A producer that dies: the consumer's next read, once it has taken what was sent, is EOF.
template <class Q>
int consumer_sees_producer_die() {
  using item = typename Q::value_type;
  shared_memory block(Q::block_bytes(16));
  Q q(16, block.data);
  const pid_t producer = fork_side([&] {
    enter(q, role::producer, 0);
    for (std::uint64_t s = 0; s < 5; ++s) wait_push(q, make_item<item>(s));
    ringlab::flush(q);
    ::raise(SIGKILL);
    return ok;
  });
  const pid_t consumer = fork_side([&] {
    enter(q, role::consumer, 0);
    item it;
    const auto give_up = clock_type::now() + 20s;
    for (std::uint64_t s = 0; clock_type::now() < give_up;)
      if (q.try_pop(it)) {
        if (!intact(it, s++)) return torn;
      } else {
        ::sched_yield();
      }
    return timed_out;
  });
  enter(q, role::conductor, 0);
  wait_side(producer, 10s);
  return wait_side(consumer, 30s);
}

template <class Q>
void dead_peers_are_noticed(const char* name) {
  const death_report killed = producer_sees_consumer_die<Q>(true);
  EXPECT_EQ(killed.producer, lost_peer) << name << ": producer " << describe(killed.producer);
  EXPECT_LT(killed.after_s, 2.0) << name << ": the producer noticed late";
  const death_report alive = producer_sees_consumer_die<Q>(false);
  EXPECT_EQ(alive.producer, timed_out) << name << ": the producer reported a live consumer as lost";
  const int c = consumer_sees_producer_die<Q>();
  EXPECT_EQ(c, lost_peer) << name << ": consumer " << describe(c);
}

TEST(KernelTransports, ADeadPeerIsNoticedPipe) { dead_peers_are_noticed<pipe_transport<test_item<64>>>("pipe"); }
TEST(KernelTransports, ADeadPeerIsNoticedPipeSemaphore) {
  dead_peers_are_noticed<semaphore_pipe_transport<test_item<64>>>("pipe.semaphore");
}
TEST(KernelTransports, ADeadPeerIsNoticedPipeBatch) {
  dead_peers_are_noticed<batched_pipe_transport<test_item<64>>>("pipe.batch");
}
TEST(KernelTransports, ADeadPeerIsNoticedUnixSocket) { dead_peers_are_noticed<unix_socket<test_item<64>>>("unix_socket"); }
TEST(KernelTransports, ADeadPeerIsNoticedUnixSeqpacket) {
  dead_peers_are_noticed<unix_seqpacket<test_item<64>>>("unix_socket.seqpacket");
}

}  // namespace
}  // namespace ringlab::ipc
