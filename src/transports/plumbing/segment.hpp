// A POSIX shared-memory segment of ringlab's (after iceoryx's segment management): a
// header — magic, layout version, size, creator pid and that process's start time —
// whose version is written last, as the ready flag; then the run's shared state. Created
// O_EXCL under a unique name (/ringlab-<pid>-<n>), unlinked as soon as every side has
// mapped it (in a crash run of a transport whose sides watch each other, once the dead
// side's replacement has attached to it by name) and on every exit path before that. A
// segment named like ours whose creator is gone is stale: the next run
// removes it (and `ringlab clean`); one whose header is not ours (magic, version) is
// refused with a message and never mapped as ours.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace ringlab::ipc {

inline constexpr char segment_magic[8] = {'R', 'I', 'N', 'G', 'L', 'A', 'B', '\0'};
inline constexpr std::uint32_t segment_layout_version = 1;
inline constexpr const char* segment_prefix = "/ringlab-";

struct segment_header {
  char magic[8];
  std::uint64_t bytes;             // the whole mapping
  std::int64_t creator_pid;
  std::uint64_t creator_start;     // the creator's start time (/proc/<pid>/stat): a reused pid is not it
  std::uint32_t version;            // written last (release); 0 while the creator builds the segment
};
static_assert(std::is_trivially_copyable_v<segment_header>, "read from a file with pread");

class segment {
 public:
  static constexpr std::size_t data_offset = 256;  // after the header, on its own lines

  // A new segment of `bytes` of shared state (zeroed), not yet marked ready.
  static segment create(std::size_t bytes);
  // Map an existing one; throws std::runtime_error naming it when it is not ours, not
  // ready, or of another layout version.
  static segment attach(const std::string& name);

  segment() = default;
  segment(segment&& other) noexcept;
  segment& operator=(segment&& other) noexcept;
  ~segment();  // unmaps; the creator also unlinks, if it has not yet

  void* data() const noexcept { return static_cast<std::byte*>(base_) + data_offset; }
  std::size_t data_bytes() const noexcept { return bytes_ - data_offset; }
  const std::string& name() const noexcept { return name_; }
  void mark_ready() noexcept;  // the creator, once the shared state is built
  void unlink() noexcept;      // the creator, once every side has mapped it
  // In a forked child: unmap the mapping it inherited, leaving the name to the parent.
  void unmap_inherited() noexcept;

 private:
  std::string name_;
  void* base_ = nullptr;
  std::size_t bytes_ = 0;
  bool creator_ = false, linked_ = false;
};

// What /dev/shm holds under ringlab's prefix.
struct shm_entry {
  std::string name;         // "/ringlab-..."
  std::uint64_t bytes = 0;
  bool ours = false;        // our magic and layout version
  std::int64_t creator_pid = 0;
  bool creator_alive = false;
  std::string describe() const;
};
std::vector<shm_entry> list_segments();
// Removes every segment of ours whose creator is gone; returns them.
std::vector<shm_entry> remove_stale_segments();
bool remove_segment(const std::string& name);

// The start time of a process (clock ticks since boot, from /proc/<pid>/stat); 0 if gone.
std::uint64_t process_start_time(std::int64_t pid);

}  // namespace ringlab::ipc
