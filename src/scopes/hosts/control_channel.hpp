// The control channel of a run split across two hosts (`ringlab serve --listen` and
// `ringlab run --connect`): one TCP connection carrying frames, each a 16-byte header
// (magic "RLCC", version, kind, payload length) and a payload of 64-bit words. The header
// is checked before anything is read into memory: a wrong magic or version, an unknown
// kind or a length over the limit drops the connection with one line naming it; a
// payload grows as its bytes arrive, never allocated from the length alone, and a frame
// begun must end within 5 s. Items never travel here: only configuration, phases,
// counts and the sides' results (see scopes/hosts/remote_link.hpp).
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "transports/plumbing/net_path.hpp"  // split_host_port
#include "transports/plumbing/unique_fd.hpp"

namespace ringlab::ipc {

enum class control_kind : std::uint16_t {
  hello = 1,       // both ways, first: byte order, boot id, version
  run,             // run -> serve: a configuration (text)
  refused,         // serve -> run: why it cannot run it (text)
  accepted,        // serve -> run: its half is built
  ready,           // serve -> run: how many of its sides are ready
  meeting,         // either way: where the host with the transport's listener listens ("addr:port")
  start,           // run -> serve: t0 and the schedule
  phase,           // run -> serve: the phase now
  counts,          // serve -> run: producers finished, items pushed (join)
  close,           // run -> serve: the conductor closed the transport
  consumers_left,  // run -> serve: how many consumers have left
  lost,            // either way: this host's half failed (text)
  records,         // serve -> run: its sides' result records
  heartbeat,       // either way, every 250 ms: a silent peer is a lost one
  bye,             // run -> serve: no more runs on this connection
};
inline constexpr std::uint16_t last_control_kind = static_cast<std::uint16_t>(control_kind::bye);
inline constexpr std::uint32_t max_control_payload_bytes = 64u << 20;  // a side's results with its latency log

struct control_frame {
  control_kind kind;
  std::vector<std::uint64_t> words;
};

// Thrown when the connection ends or carries something it should not; what() is one line.
struct control_broken : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class control_channel {
 public:
  control_channel(unique_fd fd, std::string peer);
  void send(control_kind kind, const std::vector<std::uint64_t>& words = {});
  // The next frame, or nothing if none began within timeout_ms (-1: wait).
  std::optional<control_frame> receive(int timeout_ms);
  const std::string& peer() const noexcept { return peer_; }  // "198.18.0.2:41234"
  std::string local_address() const;                         // this end's address: its host's, as the peer sees it

 private:
  unique_fd fd_;
  std::string peer_;
};

// Dials HOST:PORT (a name or an IPv4 address) within `timeout_s`; throws std::runtime_error
// with one line: unknown host, refused, no answer in time.
control_channel dial_control(const std::string& host_port, double timeout_s);
// Listens on ADDR:PORT (a port in use: one line); accept_control waits for one peer
// (nothing within timeout_ms: nothing; -1: wait).
unique_fd listen_control(const std::string& addr_port);
std::optional<control_channel> accept_control(int listener, int timeout_ms);

// Text in words (its length, then 8 bytes a word) and back; a text over 1 MiB is broken.
void put_text(std::vector<std::uint64_t>& words, const std::string& text);
std::string text_of(const control_frame& frame, std::size_t from_word = 0);

}  // namespace ringlab::ipc
