#include "scopes/hosts/control_channel.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace ringlab::ipc {
namespace {

constexpr std::uint32_t control_magic = 0x52'4c'43'43;  // "RLCC"
constexpr std::uint16_t control_version = 1;
constexpr int frame_deadline_ms = 5000;  // a frame begun must end within this

struct header {
  std::uint32_t magic;
  std::uint16_t version, kind;
  std::uint32_t payload_bytes, reserved;
};
static_assert(sizeof(header) == 16);

std::string address_text(const sockaddr_in& a) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
  return fmt::format("{}:{}", text, ntohs(a.sin_port));
}

// Exactly n bytes, each piece within the frame's deadline; false at EOF, throws when late.
bool read_exactly(int fd, void* to, std::size_t n, const std::string& peer) {
  auto* p = static_cast<char*>(to);
  while (n) {
    pollfd w{fd, POLLIN, 0};
    const int r = ::poll(&w, 1, frame_deadline_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) throw control_broken(fmt::format("{}: a frame stopped half-way (nothing for {} ms)", peer, frame_deadline_ms));
    const ssize_t got = ::recv(fd, p, n, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw control_broken(fmt::format("{}: {}", peer, std::strerror(errno)));
    if (got == 0) return false;
    p += got, n -= static_cast<std::size_t>(got);
  }
  return true;
}

void tune(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // control frames are small and waited for
  const timeval five_s{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &five_s, sizeof five_s);  // a peer that stopped reading: bounded
}

}  // namespace

control_channel::control_channel(unique_fd fd, std::string peer) : fd_(std::move(fd)), peer_(std::move(peer)) { tune(fd_.get()); }

void control_channel::send(control_kind kind, const std::vector<std::uint64_t>& words) {
  const std::size_t bytes = words.size() * sizeof(std::uint64_t);
  if (bytes > max_control_payload_bytes) throw control_broken(fmt::format("{}: a frame of {} bytes is over the limit", peer_, bytes));
  const header h{control_magic, control_version, static_cast<std::uint16_t>(kind), static_cast<std::uint32_t>(bytes), 0};
  auto write_all = [&](const void* from, std::size_t n) {
    const auto* p = static_cast<const char*>(from);
    while (n) {
      const ssize_t sent = ::send(fd_.get(), p, n, MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR) continue;
      if (sent <= 0) throw control_broken(fmt::format("{}: {}", peer_, sent < 0 ? std::strerror(errno) : "closed"));
      p += sent, n -= static_cast<std::size_t>(sent);
    }
  };
  write_all(&h, sizeof h);
  write_all(words.data(), bytes);
}

std::optional<control_frame> control_channel::receive(int timeout_ms) {
  pollfd w{fd_.get(), POLLIN, 0};
  const int r = ::poll(&w, 1, timeout_ms);
  if (r == 0 || (r < 0 && errno == EINTR)) return std::nullopt;
  header h{};
  if (!read_exactly(fd_.get(), &h, sizeof h, peer_)) throw control_broken(peer_ + ": the connection was closed");
  if (h.magic != control_magic)
    throw control_broken(fmt::format("{}: not a ringlab control frame (magic {:#010x}, not {:#010x})", peer_, h.magic, control_magic));
  if (h.version != control_version)
    throw control_broken(fmt::format("{}: control protocol version {}, this ringlab speaks {}", peer_, h.version, control_version));
  if (h.kind == 0 || h.kind > last_control_kind) throw control_broken(fmt::format("{}: unknown frame kind {}", peer_, h.kind));
  if (h.payload_bytes > max_control_payload_bytes || h.payload_bytes % sizeof(std::uint64_t) != 0)
    throw control_broken(fmt::format("{}: a frame announces {} bytes (at most {}, whole 8-byte words); dropped", peer_,
                                     h.payload_bytes, max_control_payload_bytes));
  control_frame frame{static_cast<control_kind>(h.kind), {}};
  constexpr std::size_t piece_words = 8192;  // grows with what arrives, not with what is announced
  for (std::size_t left = h.payload_bytes / sizeof(std::uint64_t); left;) {
    const std::size_t n = std::min(left, piece_words);
    frame.words.resize(frame.words.size() + n);
    if (!read_exactly(fd_.get(), frame.words.data() + frame.words.size() - n, n * sizeof(std::uint64_t), peer_))
      throw control_broken(fmt::format("{}: a frame was cut short ({} of {} bytes)", peer_,
                                       (frame.words.size() - n) * sizeof(std::uint64_t), h.payload_bytes));
    left -= n;
  }
  return frame;
}

std::string control_channel::local_address() const {
  sockaddr_in at{};
  socklen_t len = sizeof at;
  ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&at), &len);
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &at.sin_addr, text, sizeof text);
  return text;
}

control_channel dial_control(const std::string& host_port, double timeout_s) {
  const auto [host, port] = split_host_port(host_port, "--connect");
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int e = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); e != 0)
    throw std::runtime_error(fmt::format("--connect {}: unknown host {} ({})", host_port, host, ::gai_strerror(e)));
  sockaddr_in to{};
  std::memcpy(&to, found->ai_addr, sizeof to);
  ::freeaddrinfo(found);
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) throw std::runtime_error(fmt::format("--connect {}: socket: {}", host_port, std::strerror(errno)));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    if (errno != EINPROGRESS) throw std::runtime_error(fmt::format("--connect {}: {}", host_port, std::strerror(errno)));
    pollfd w{fd.get(), POLLOUT, 0};
    int r;
    while ((r = ::poll(&w, 1, static_cast<int>(timeout_s * 1000))) < 0 && errno == EINTR) {
    }
    if (r == 0) throw std::runtime_error(fmt::format("--connect {}: no answer within {} s", host_port, timeout_s));
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0)
      throw std::runtime_error(fmt::format("--connect {}: {}{}", host_port, std::strerror(error),
                                           error == ECONNREFUSED ? " (is `ringlab serve --listen` running there?)" : ""));
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  return control_channel(std::move(fd), address_text(to));
}

unique_fd listen_control(const std::string& addr_port) {
  const auto [address, port] = split_host_port(addr_port, "--listen");
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &at.sin_addr) != 1)
    throw std::invalid_argument(fmt::format("--listen {}: {} is not an IPv4 address", addr_port, address));
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 || ::listen(fd.get(), 4) != 0)
    throw std::runtime_error(fmt::format("--listen {}: {}", addr_port, std::strerror(errno)));
  return fd;
}

std::optional<control_channel> accept_control(int listener, int timeout_ms) {
  pollfd w{listener, POLLIN, 0};
  if (::poll(&w, 1, timeout_ms) <= 0) return std::nullopt;
  sockaddr_in from{};
  socklen_t len = sizeof from;
  unique_fd fd(::accept4(listener, reinterpret_cast<sockaddr*>(&from), &len, SOCK_CLOEXEC));
  if (fd.get() < 0) return std::nullopt;
  return control_channel(std::move(fd), address_text(from));
}

void put_text(std::vector<std::uint64_t>& words, const std::string& text) {
  words.push_back(text.size());
  for (std::size_t i = 0; i < text.size(); i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, text.data() + i, std::min<std::size_t>(8, text.size() - i));
    words.push_back(w);
  }
}

std::string text_of(const control_frame& frame, std::size_t from_word) {
  const auto& w = frame.words;
  if (from_word >= w.size() || w[from_word] > (1u << 20) || (w[from_word] + 7) / 8 > w.size() - from_word - 1)
    throw control_broken("a text in a control frame is broken");
  std::string text(w[from_word], '\0');
  std::memcpy(text.data(), w.data() + from_word + 1, text.size());
  return text;
}

}  // namespace ringlab::ipc
