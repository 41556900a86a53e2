// Wait strategy `block` for a transport that lives in the kernel behind a descriptor
// (pipe, posix_mq, unix sockets): the kernel's own wait queue, as ipc-bench and every
// blocking program use one. A side first tries the non-blocking call; only when that
// says full/empty does it sleep in poll() on the descriptor and on the run's close
// event, an eventfd made with the transport (so before the fork: every side and the
// conductor hold it). close() makes that eventfd readable for good, which wakes every
// sleeper in every process at once; a pop then still takes what is left. A dead peer
// wakes poll too (POLLHUP / POLLERR), and the retried call reports it (ipc::peer_lost).
#pragma once
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace ringlab::ipc {

class close_event {
 public:
  close_event() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  }
  close_event(close_event&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  close_event& operator=(close_event&&) = delete;
  ~close_event() {
    if (fd_ >= 0) ::close(fd_);
  }
  void signal() const noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(fd_, &one, sizeof one);  // never read: readable for good
  }
  int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

// `attempt` is the transport's non-blocking call (false: full/empty); `fd` and `event`
// say what to sleep on (POLLOUT to push, POLLIN to pop). False only once closed and the
// attempt still failed.
template <class Attempt>
bool block_on(int fd, short event, const close_event& closed, Attempt&& attempt) {
  for (;;) {
    if (attempt()) return true;
    pollfd wait[2] = {{fd, event, 0}, {closed.fd(), POLLIN, 0}};
    if (::poll(wait, 2, -1) < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    if (wait[1].revents & POLLIN) return attempt();  // closed: one last look
  }
}

}  // namespace ringlab::ipc
