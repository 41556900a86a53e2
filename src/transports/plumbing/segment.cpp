#include "transports/plumbing/segment.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace ringlab::ipc {
namespace fs = std::filesystem;
namespace {

std::string error_text() { return std::strerror(errno); }

// The segment's header as raw bytes read through a file (no mapping): for listing
// segments that may not be ours.
bool read_header(const std::string& name, segment_header& header, std::uint64_t& size) {
  const int fd = ::shm_open(name.c_str(), O_RDONLY, 0);
  if (fd < 0) return false;
  struct stat st {};
  const bool ok = ::fstat(fd, &st) == 0 && static_cast<std::size_t>(st.st_size) >= sizeof header &&
                  ::pread(fd, &header, sizeof header, 0) == static_cast<ssize_t>(sizeof header);
  size = static_cast<std::uint64_t>(st.st_size);
  ::close(fd);
  return ok;
}

bool magic_is_ours(const segment_header& h) { return std::memcmp(h.magic, segment_magic, sizeof h.magic) == 0; }

}  // namespace

std::uint64_t process_start_time(std::int64_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string text;
  if (!std::getline(in, text)) return 0;
  // Field 22 (starttime), counted after the ")" that ends the command name.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  return 0;
}

segment segment::create(std::size_t bytes) {
  static std::atomic<unsigned> counter{0};
  segment s;
  s.bytes_ = data_offset + bytes;
  for (int attempt = 0;; ++attempt) {
    s.name_ = fmt::format("{}{}-{}", segment_prefix, ::getpid(), counter.fetch_add(1));
    const int fd = ::shm_open(s.name_.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) {
      if (errno == EEXIST && attempt < 100) continue;
      throw std::runtime_error(fmt::format("shared memory {}: cannot create: {}", s.name_, error_text()));
    }
    s.creator_ = s.linked_ = true;
    if (::ftruncate(fd, static_cast<off_t>(s.bytes_)) != 0) {
      const std::string why = error_text();
      ::close(fd);
      ::shm_unlink(s.name_.c_str());
      throw std::runtime_error(fmt::format("shared memory {}: cannot size it to {} bytes: {} (is /dev/shm full?)",
                                           s.name_, s.bytes_, why));
    }
    s.base_ = ::mmap(nullptr, s.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (s.base_ == MAP_FAILED) {
      s.base_ = nullptr;
      ::shm_unlink(s.name_.c_str());
      throw std::runtime_error(fmt::format("shared memory {}: cannot map: {}", s.name_, error_text()));
    }
    auto* h = ::new (s.base_) segment_header{};
    std::memcpy(h->magic, segment_magic, sizeof h->magic);
    h->bytes = s.bytes_;
    h->creator_pid = ::getpid();
    h->creator_start = process_start_time(::getpid());
    h->version = 0;
    return s;
  }
}

segment segment::attach(const std::string& name) {
  segment_header header{};
  std::uint64_t size = 0;
  if (!read_header(name, header, size))
    throw std::runtime_error(fmt::format("shared memory {}: cannot open it: {}", name, error_text()));
  if (std::memcmp(header.magic, segment_magic, sizeof header.magic) != 0)
    throw std::runtime_error(fmt::format("shared memory {}: not a ringlab segment (wrong magic); left alone", name));
  if (header.version != segment_layout_version)
    throw std::runtime_error(fmt::format("shared memory {}: layout version {} (this ringlab reads {}): another "
                                         "ringlab's, or not ready; left alone",
                                         name, header.version, segment_layout_version));
  if (header.bytes != size)
    throw std::runtime_error(fmt::format("shared memory {}: header says {} bytes, it has {}", name, header.bytes, size));
  const int fd = ::shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("shared memory {}: cannot open it: {}", name, error_text()));
  segment s;
  s.name_ = name;
  s.bytes_ = size;
  s.base_ = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (s.base_ == MAP_FAILED) {
    s.base_ = nullptr;
    throw std::runtime_error(fmt::format("shared memory {}: cannot map: {}", name, error_text()));
  }
  return s;
}

segment::segment(segment&& other) noexcept
    : name_(std::move(other.name_)), base_(std::exchange(other.base_, nullptr)), bytes_(other.bytes_),
      creator_(std::exchange(other.creator_, false)), linked_(std::exchange(other.linked_, false)) {}

segment& segment::operator=(segment&& other) noexcept {
  std::swap(name_, other.name_);
  std::swap(base_, other.base_);
  std::swap(bytes_, other.bytes_);
  std::swap(creator_, other.creator_);
  std::swap(linked_, other.linked_);
  return *this;
}

segment::~segment() {
  unlink();
  if (base_) ::munmap(base_, bytes_);
}

void segment::mark_ready() noexcept {
  std::atomic_ref<std::uint32_t>(static_cast<segment_header*>(base_)->version).store(segment_layout_version,
                                                                                     std::memory_order_release);
}

void segment::unlink() noexcept {
  if (creator_ && linked_) ::shm_unlink(name_.c_str());
  linked_ = false;
}

void segment::unmap_inherited() noexcept {
  if (base_) ::munmap(base_, bytes_);
  base_ = nullptr;
  creator_ = linked_ = false;
}

std::string shm_entry::describe() const {
  if (!ours) return fmt::format("{} ({} bytes): not a ringlab segment of this layout; left alone", name, bytes);
  return fmt::format("{} ({} bytes): created by pid {}, {}", name, bytes, creator_pid,
                     creator_alive ? "still running" : "gone (stale)");
}

std::vector<shm_entry> list_segments() {
  std::vector<shm_entry> out;
  std::error_code ec;
  if (!fs::exists("/dev/shm", ec)) return out;
  const std::string prefix = std::string(segment_prefix).substr(1);
  for (const auto& f : fs::directory_iterator("/dev/shm", ec)) {
    const std::string file = f.path().filename().string();
    if (file.rfind(prefix, 0) != 0) continue;
    shm_entry e;
    e.name = "/" + file;
    segment_header h{};
    // Ours: our magic, and our layout version or 0 (its creator died while building it,
    // or is building it now); anything else under our prefix is left alone.
    if (read_header(e.name, h, e.bytes) && magic_is_ours(h) && (h.version == segment_layout_version || h.version == 0)) {
      e.ours = true;
      e.creator_pid = h.creator_pid;
      const auto start = process_start_time(h.creator_pid);
      e.creator_alive = start != 0 && start == h.creator_start;
    }
    out.push_back(e);
  }
  return out;
}

std::vector<shm_entry> remove_stale_segments() {
  std::vector<shm_entry> removed;
  for (const auto& e : list_segments())
    if (e.ours && !e.creator_alive && remove_segment(e.name)) removed.push_back(e);
  return removed;
}

bool remove_segment(const std::string& name) { return ::shm_unlink(name.c_str()) == 0; }

}  // namespace ringlab::ipc
