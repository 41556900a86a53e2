// The tcp transport's receiving end (and rpc's server) against what the network may bring: frames are
// checked against the length limit before anything is read on (never a size to allocate),
// a truncated or misshapen frame fails the stream with its length, a stranger's hello is
// refused and the run goes on. Each check beside its control: a well-formed frame that
// arrives whole. The runs themselves (loopback, namespaces, faults) are in test_process
// and test_hosts.py.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "harness/item.hpp"
#include "transports/net/tcp_stream.hpp"
#if RINGLAB_HAVE_GRPC
#include "transports/net/rpc_channel.hpp"
#endif

namespace ringlab::ipc {
namespace {

using item = harness::item_of<64>;
using stream = tcp_stream<item>;

// A consumer listening in this process (127.0.0.1, a port the kernel picks).
struct listening {
  alignas(64) std::byte block[stream::block_bytes(8)];
  stream s{8, block, stream_options{1, false, 1, 0}};
  listening() { s.enter(role::consumer, 0); }
};

int dial(unsigned port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0) << std::strerror(errno);
  return fd;
}
void send_all(int fd, const void* data, std::size_t n) {
  ASSERT_EQ(::send(fd, data, n, MSG_NOSIGNAL), static_cast<ssize_t>(n));
}
void hello(int fd, std::uint32_t magic = tcp_wire::magic, std::uint32_t item_bytes = sizeof(item)) {
  const tcp_wire::hello h{htonl(magic), htonl(tcp_wire::version), htonl(item_bytes), htonl(0), htonl(1)};
  send_all(fd, &h, sizeof h);
}
void frame_header(int fd, std::uint32_t length) {
  const std::uint32_t n = htonl(length);
  send_all(fd, &n, 4);
}
// What try_pop says within 2 s: an item (""), or the problem it throws.
std::string pop_or_problem(stream& s, item& out) {
  for (int i = 0; i < 2000; ++i) {
    try {
      if (s.try_pop(out)) return "";
    } catch (const peer_lost& e) {
      return e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return "nothing within 2 s";
}

TEST(TcpFrames, AWellFormedFrameArrivesWhole) {  // the control for every test below
  listening l;
  const int fd = dial(l.s.port());
  hello(fd);
  item sent = harness::with_tag(item{}, 42);
  for (std::size_t i = 0; i < sizeof sent.body; ++i) sent.body[i] = static_cast<std::byte>(i * 7);
  frame_header(fd, sizeof(item));
  send_all(fd, &sent, sizeof sent);
  item got{};
  EXPECT_EQ(pop_or_problem(l.s, got), "");
  EXPECT_EQ(std::memcmp(&got, &sent, sizeof got), 0);
  ::close(fd);
}

TEST(TcpFrames, AnOversizedLengthIsRejectedBeforeAnythingIsRead) {
  listening l;
  const int fd = dial(l.s.port());
  hello(fd);
  frame_header(fd, 0xFFFFFFC0u);  // a multiple of 64: only the limit can refuse it
  item got{};
  const std::string problem = pop_or_problem(l.s, got);
  EXPECT_NE(problem.find("a frame of 4294967232 bytes"), std::string::npos) << problem;
  EXPECT_NE(problem.find("limit of " + std::to_string(max_frame_items * sizeof(item))), std::string::npos) << problem;
  char byte;
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0) << "the connection is dropped";
  ::close(fd);
}

TEST(TcpFrames, ALengthThatIsNotWholeItemsIsRejected) {
  listening l;
  const int fd = dial(l.s.port());
  hello(fd);
  frame_header(fd, 65);
  item got{};
  const std::string problem = pop_or_problem(l.s, got);
  EXPECT_NE(problem.find("a frame of 65 bytes: not whole 64-byte items"), std::string::npos) << problem;
  ::close(fd);
}

TEST(TcpFrames, ATruncatedFrameFailsTheStream) {
  listening l;
  const int fd = dial(l.s.port());
  hello(fd);
  frame_header(fd, sizeof(item));
  send_all(fd, "0123456789", 10);
  ::close(fd);
  item got{};
  const std::string problem = pop_or_problem(l.s, got);
  EXPECT_NE(problem.find("EOF inside a frame (truncated)"), std::string::npos) << problem;
}

TEST(TcpFrames, AStrangersHelloIsRefusedAndTheProducerStillGetsIn) {
  listening l;
  const int stranger = dial(l.s.port());
  hello(stranger, 0x47455420 /* "GET " */);
  char byte;
  EXPECT_EQ(::recv(stranger, &byte, 1, 0), 0) << "the stranger's connection is closed";
  EXPECT_NE(l.s.rejected().find("bad magic"), std::string::npos) << l.s.rejected();
  const int wrong_size = dial(l.s.port());
  hello(wrong_size, tcp_wire::magic, 8);
  EXPECT_EQ(::recv(wrong_size, &byte, 1, 0), 0);
  EXPECT_NE(l.s.rejected().find("items of 8 bytes, not 64"), std::string::npos) << l.s.rejected();
  const int producer = dial(l.s.port());  // the run's producer still gets in
  hello(producer);
  const item sent = harness::with_tag(item{}, 7);
  frame_header(producer, sizeof(item));
  send_all(producer, &sent, sizeof sent);
  item got{};
  EXPECT_EQ(pop_or_problem(l.s, got), "");
  EXPECT_EQ(harness::tag_of(got), 7u);
  for (int fd : {stranger, wrong_size, producer}) ::close(fd);
}

TEST(TcpFrames, AConsumerThatLeftCanStillBeDestroyed) {
  listening l;
  const int fd = dial(l.s.port());
  hello(fd);
  frame_header(fd, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // its receiver has ended
  l.s.leave(role::consumer);  // stops and joins; the destructor then stops again
  ::close(fd);
}

TEST(TcpFrames, EofBeforeTheEndFrameIsALostPeerAndAfterItIsTheEnd) {
  listening lost;
  int fd = dial(lost.s.port());
  hello(fd);
  ::close(fd);
  item got{};
  const std::string problem = pop_or_problem(lost.s, got);
  EXPECT_NE(problem.find("EOF before its end frame"), std::string::npos) << problem;

  listening ended;  // the control: an end frame first
  fd = dial(ended.s.port());
  hello(fd);
  frame_header(fd, 0);
  ::close(fd);
  EXPECT_EQ(pop_or_problem(ended.s, got), "nothing within 2 s");
}

// Not under TSan: gRPC's own threads hand the calls over through code it cannot see.
#if RINGLAB_HAVE_GRPC && !defined(__SANITIZE_THREAD__)
// rpc's server holds 8-byte items: a caller asking for another size is refused (never
// handed bytes to reinterpret), and at most as many items come back as asked for; the
// control, a caller of the right size, gets them.
TEST(RpcCalls, AWrongItemSizeIsRefusedAndTheRightOneServed) {
  std::uint64_t next = 0;
  rpc::server server("127.0.0.1", 0, 8, 16, [&](char* out, std::size_t most, bool, bool& closed) {
    for (std::size_t i = 0; i < most; ++i, ++next) std::memcpy(out + 8 * i, &next, 8);
    closed = false;
    return most;
  });
  ASSERT_NE(server.port(), 0u);
  std::vector<char> got(64 * 16);
  bool closed = false;
  rpc::client wrong("127.0.0.1", server.port(), 64);
  try {
    wrong.take(got.data(), 1, true, closed);
    ADD_FAILURE() << "a 64-byte caller was served 8-byte items";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("items of 64 bytes asked for"), std::string::npos) << e.what();
  }
  rpc::client right("127.0.0.1", server.port(), 8);
  EXPECT_EQ(right.take(got.data(), 4, true, closed), 4u);
  std::uint64_t third;
  std::memcpy(&third, got.data() + 16, 8);
  EXPECT_EQ(third, 2u);
  EXPECT_EQ(right.take(got.data(), 100, true, closed), 16u) << "no more than the server's limit per call";
}

// A port in use is refused at once, in one line (gRPC's reuse of ports is switched off).
TEST(RpcCalls, APortInUseIsRefused) {
  rpc::server first("127.0.0.1", 0, 8, 1, [](char*, std::size_t, bool, bool& closed) { return closed = true, 0; });
  try {
    rpc::server second("127.0.0.1", first.port(), 8, 1, [](char*, std::size_t, bool, bool& closed) { return closed = true, 0; });
    ADD_FAILURE() << "two servers on one port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("could not listen on 127.0.0.1:" + std::to_string(first.port())), std::string::npos);
  }
}
#endif

}  // namespace
}  // namespace ringlab::ipc
