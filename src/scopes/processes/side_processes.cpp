#include "scopes/processes/side_processes.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "scopes/processes/side_image.hpp"

namespace ringlab::ipc {
namespace {

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

bool write_all(int fd, const void* data, std::size_t bytes) {
  const auto* at = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, at, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += n, bytes -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::string describe_exit(int code, int status) {
  if (code == CLD_EXITED) return fmt::format("exited with status {}", status);
  const char* name = sigabbrev_np(status);
  return fmt::format("killed by signal {} (SIG{}){}", status, name ? name : "?", code == CLD_DUMPED ? ", core dumped" : "");
}

void side_processes::spawn(std::string who, const std::function<std::vector<std::uint64_t>()>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("{}: cannot make a pipe: {}", who, strerror(errno)));
  const pid_t conductor = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]), ::close(fds[1]);
    throw std::runtime_error(fmt::format("{}: cannot fork: {}", who, strerror(errno)));
  }
  if (pid == 0) {
    // The side: die with the conductor; leave Ctrl-C to it (the terminal sends it to us too).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != conductor) ::_exit(4);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);  // a dead reader shows as EPIPE from write, which a transport reports
    ::close(fds[0]);
    for (const auto& s : sides_) ::close(s.results_fd), ::close(s.pidfd);
    std::vector<std::uint64_t> record;
    int status = 0;
    try {
      record = body();
    } catch (const std::exception& e) {
      record = error_image(e.what());
      status = 3;
    }
    if (!write_all(fds[1], record.data(), record.size() * sizeof record[0])) status = 5;
    ::_exit(status);
  }
  ::close(fds[1]);
  side s;
  s.who = std::move(who);
  s.pid = pid;
  s.results_fd = fds[0];
  s.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (s.pidfd < 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(fds[0]);
    throw std::runtime_error(fmt::format("{}: pidfd_open: {}", s.who, strerror(errno)));
  }
  sides_.push_back(std::move(s));
}

void side_processes::watch(std::function<void(const lost_side&)> on_lost) {
  watcher_ = std::thread([this, on_lost = std::move(on_lost)] {
    while (!stopping_.load(std::memory_order_acquire)) {
      std::vector<pollfd> fds;
      std::vector<side*> watched;
      for (auto& s : sides_)
        if (!s.exited) fds.push_back({s.pidfd, POLLIN, 0}), watched.push_back(&s);
      if (fds.empty()) return;
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        siginfo_t info{};
        // WNOWAIT: look, do not reap (collect() reaps, so the pid cannot be reused meanwhile).
        if (::waitid(P_PID, static_cast<id_t>(watched[i]->pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
          continue;
        watched[i]->exited = true;
        if (info.si_code == CLD_EXITED && info.si_status == 0) continue;
        lost_side lost{watched[i]->who, describe_exit(info.si_code, info.si_status), monotonic_ns()};
        {
          std::lock_guard lock(lost_mutex_);
          lost.killed_by_us = watched[i]->killed_by_us;
          lost_.push_back(lost);
        }
        on_lost(lost);
      }
    }
  });
}

std::vector<std::vector<std::uint64_t>> side_processes::collect(double deadline_s) {
  std::vector<std::vector<std::uint64_t>> records(sides_.size());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(deadline_s);
  std::vector<std::vector<char>> bytes(sides_.size());
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < sides_.size(); ++i)
      if (sides_[i].results_fd >= 0) fds.push_back({sides_[i].results_fd, POLLIN, 0}), which.push_back(i);
    if (fds.empty()) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left, 100))) <= 0) continue;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      auto& s = sides_[which[k]];
      char buffer[65536];
      const ssize_t n = ::read(s.results_fd, buffer, sizeof buffer);
      if (n > 0) bytes[which[k]].insert(bytes[which[k]].end(), buffer, buffer + n);
      else if (n == 0 || errno != EINTR) ::close(s.results_fd), s.results_fd = -1;
    }
  }
  for (std::size_t i = 0; i < sides_.size(); ++i) {
    const std::size_t words = bytes[i].size() / sizeof(std::uint64_t);
    records[i].resize(words);
    if (words) std::memcpy(records[i].data(), bytes[i].data(), words * sizeof(std::uint64_t));
  }
  kill_and_reap_all();
  return records;
}

std::vector<side_processes::lost_side> side_processes::lost() const {
  std::lock_guard lock(lost_mutex_);
  return lost_;
}

void side_processes::stop_watching() {
  stopping_.store(true, std::memory_order_release);
  if (watcher_.joinable()) watcher_.join();
}

void side_processes::kill_and_reap_all() noexcept {
  // A side still running now is stuck (its results are in, or its deadline passed).
  for (auto& s : sides_)
    if (!s.reaped && s.results_fd >= 0) {
      {
        std::lock_guard lock(lost_mutex_);
        s.killed_by_us = true;
      }
      ::kill(s.pid, SIGKILL);
    }
  stop_watching();
  for (auto& s : sides_) {
    if (s.reaped) continue;
    // Bounded: a side that does not leave within 2 s of its pipe closing is killed.
    siginfo_t info{};
    for (int i = 0; i < 200; ++i) {
      info = {};
      if (::waitid(P_PID, static_cast<id_t>(s.pid), &info, WEXITED | WNOHANG) != 0 || info.si_pid != 0) break;
      if (i == 199) ::kill(s.pid, SIGKILL), ::waitpid(s.pid, nullptr, 0);
      else ::usleep(10000);
    }
    s.reaped = true;
    if (s.results_fd >= 0) ::close(s.results_fd), s.results_fd = -1;
    if (s.pidfd >= 0) ::close(s.pidfd), s.pidfd = -1;
  }
}

side_processes::~side_processes() {
  for (auto& s : sides_)
    if (!s.reaped) ::kill(s.pid, SIGKILL);
  kill_and_reap_all();
}

}  // namespace ringlab::ipc
