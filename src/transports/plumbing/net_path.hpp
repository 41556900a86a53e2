// The network between a host transport's sides (scope host): `--net loopback` (default:
// both sides on 127.0.0.1) or `--net veth[,tbf=RATE][,netem=DELAY]`: the run creates two
// network namespaces of its own joined by a veth pair, producers in one (198.18.0.1),
// consumers in the other (198.18.0.2; RFC 2544's benchmarking range, reachable only inside
// those namespaces), optionally shapes the producers' end with tc (tbf: a rate; netem: a
// delay, where the kernel has it), and removes them when the run ends. Names carry the
// creator's pid (rl<pid>p / rl<pid>c): the next run and `ringlab clean` remove the pairs of
// a creator that is gone. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and iproute2.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace ringlab::ipc {

// Frames on a network stream carry at most this many items (--batch; the receiver's
// length limit: a frame header is never trusted as a size to allocate).
inline constexpr unsigned max_frame_items = 1024;

struct net_path {
  std::string spec = "loopback";
  bool veth = false;
  std::string tbf_rate;     // "100mbit": tc's tbf on the producers' end
  std::string netem_delay;  // "1ms": tc's netem on the producers' end
};
// Throws std::invalid_argument saying what is wrong with `spec`.
net_path parse_net_path(const std::string& spec);
// "HOST:PORT" -> its parts; throws std::invalid_argument naming `option` and the text.
std::pair<std::string, unsigned> split_host_port(const std::string& text, const char* option);

// parse_net_path as a check (registration stores it: the harness validates --net without this header).
inline void check_net_spec(const std::string& spec) { (void)parse_net_path(spec); }

// Where one side of a run lives: its namespace ("" = the caller's) and its address there.
struct side_net {
  std::string netns;
  std::string address = "127.0.0.1";
};

// The namespaces of one run (nothing for loopback); removed by the destructor.
class net_sides {
 public:
  explicit net_sides(const net_path& path);  // throws std::runtime_error with the tool's own words
  net_sides(const net_sides&) = delete;
  net_sides& operator=(const net_sides&) = delete;
  ~net_sides();
  const side_net& producers() const { return producers_; }
  const side_net& consumers() const { return consumers_; }

 private:
  side_net producers_, consumers_;
  bool created_ = false;
};

// In a side process, before its transport's enter(): move into `side.netns` and make its
// address the one a listening transport binds (this_side_address()).
void enter_side_net(const side_net& side);
const std::string& this_side_address();

// The namespace pairs of ringlab runs whose creator is gone (removed by the next run and
// `ringlab clean`). Each: its name and whether it was removed.
std::vector<std::string> stale_namespaces();
std::vector<std::string> remove_stale_namespaces();

}  // namespace ringlab::ipc
