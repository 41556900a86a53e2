#include "harness/output.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "build_info.hpp"

namespace ringlab::harness {
namespace fs = std::filesystem;

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string& f = fields[i];
    if (i) line += ',';
    if (f.find_first_of(",\"\n\r") == std::string::npos) {
      line += f;
    } else {
      line += '"';
      for (char ch : f) line += ch == '"' ? std::string("\"\"") : std::string(1, ch == '\n' ? ' ' : ch);
      line += '"';
    }
  }
  return line + '\n';
}

std::vector<std::string> parse_csv_line(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
      else if (ch == '"') quoted = false;
      else fields.back() += ch;
    } else if (ch == '"') quoted = true;
    else if (ch == ',') fields.emplace_back();
    else if (ch != '\n' && ch != '\r') fields.back() += ch;
  }
  return fields;
}

void check_writable(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  if (fs::is_directory(p, ec)) throw std::runtime_error(fmt::format("{}: is a directory", path));
  if (fs::exists(p, ec)) {
    if (access(path.c_str(), W_OK) != 0) throw std::runtime_error(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
    return;
  }
  // Prove it: make the directory and a scratch file in it (removed at once).
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create {}: {}", path, dir.string(), ec.message()));
  const std::string probe = (dir / (".ringlab-probe-" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot write in {}: {}", path, dir.string(), std::strerror(errno)));
  ::close(fd);
  ::unlink(probe.c_str());
}

void append_row(const std::string& path, const std::vector<std::string>& header, const std::vector<std::string>& values) {
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::string text;
  std::error_code ec;
  const bool fresh = !fs::exists(p, ec) || fs::file_size(p, ec) == 0;
  if (fresh) {
    text = csv_line(header);
  } else {
    std::ifstream in(path, std::ios::binary);
    std::string first;
    std::getline(in, first);
    if (parse_csv_line(first) != header)
      throw std::runtime_error(fmt::format("{}: its header differs from this run's columns (another ringlab version or "
                                           "another experiment?); write to a new file", path));
    in.clear();
    in.seekg(-1, std::ios::end);
    if (in.get() != '\n')
      throw std::runtime_error(fmt::format("{}: its last row is unfinished (damaged); remove it before adding rows", path));
  }
  text += csv_line(values);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat before {};
  ::fstat(fd, &before);
  // One write: a row is all there or absent. A short write (disk full, a file size
  // limit) is cut back to where the file ended, so no partial row is ever left.
  const ssize_t written = ::write(fd, text.data(), text.size());
  const int saved = errno;
  const bool whole = written == static_cast<ssize_t>(text.size());
  if (!whole && written > 0 && ::ftruncate(fd, before.st_size) != 0) {
    ::close(fd);
    throw std::runtime_error(fmt::format("{}: write failed ({}) and the partial row could not be removed: {}", path,
                                         std::strerror(saved), std::strerror(errno)));
  }
  ::close(fd);
  if (!whole)
    throw std::runtime_error(fmt::format("{}: write failed: {} (nothing of the row was kept)", path,
                                         written >= 0 ? "short write" : std::strerror(saved)));
}

namespace {

std::string first_line_of(const std::string& command) {
  std::string out;
  if (FILE* f = ::popen(command.c_str(), "r")) {
    char buf[512];
    if (std::fgets(buf, sizeof buf, f)) out = buf;
    ::pclose(f);
  }
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

}  // namespace

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\', out += ch;
    else if (static_cast<unsigned char>(ch) < 0x20) out += fmt::format("\\u{:04x}", ch);
    else out += ch;
  }
  return out + '"';
}

std::string utc_now() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string machine_host_id(const topology& topo) {
  if (const char* h = std::getenv("RINGLAB_HOST"); h && *h) return h;
  std::string slug;
  for (char ch : cpu_model()) {
    if (std::isalnum(static_cast<unsigned char>(ch))) slug += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    else if (!slug.empty() && slug.back() != '-') slug += '-';
  }
  for (const char* noise : {"-processor", "-cpu"})
    if (auto at = slug.find(noise); at != std::string::npos) slug.erase(at);
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  if (slug.size() > 32) slug.resize(32);
  return fmt::format("{}-{}pu", slug.empty() ? "host" : slug, topo.pus().size());
}

std::string provenance::short_commit() const {
  if (git_commit == "unknown") return git_commit;
  return git_commit.substr(0, 10) + (git_dirty ? "-dirty" : "");
}

std::string provenance::build_id() const { return fmt::format("{} {} {}", build_type, cxx_flags, compiler); }

namespace {
std::string& command_line() {
  static std::string line;
  return line;
}
}  // namespace

void set_command_line(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) line += (i ? " " : "") + std::string(argv[i]);
  command_line() = line;
}

provenance collect_provenance(const clock_source& clock, const topology& topo, const std::string& command) {
  provenance p;
  p.host = machine_host_id(topo);
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  p.hostname = name;
  p.cpu_model = cpu_model();
  p.pus = static_cast<unsigned>(topo.pus().size());
  p.topology_summary = topo.summary();
  utsname u{};
  uname(&u);
  p.kernel = fmt::format("{} {} {} {}", u.sysname, u.release, u.version, u.machine);
  p.compiler = fmt::format("g++ {}", __VERSION__);
  p.cxx_flags = RINGLAB_CXX_FLAGS;
  p.build_type = RINGLAB_BUILD_TYPE;
  p.version = RINGLAB_VERSION;
  const std::string git = fmt::format("git -C '{}' ", RINGLAB_SOURCE_DIR);
  const std::string code = " -- src include meson.build meson_options.txt scripts 2>/dev/null";
  p.git_commit = first_line_of(git + "log -1 --format=%H" + code);
  p.git_head = first_line_of(git + "rev-parse HEAD 2>/dev/null");
  if (p.git_commit.size() != 40) p.git_commit = "unknown";
  else p.git_dirty = !first_line_of(git + "status --porcelain" + code).empty();
  p.date_utc = utc_now();
  p.session = fmt::format("{} pid {}", p.date_utc, ::getpid());
  p.command = command.empty() ? command_line() : command;
  p.clock_json = fmt::format(
      "{{\"source\": {}, \"read_ns\": {:.2f}, \"tsc_ghz\": {:.6f}, \"tsc_read_ns\": {:.2f}, \"monotonic_read_ns\": {:.2f}, "
      "\"tsc_invariant\": {}, \"tsc_consistent\": {}, \"kernel_clocksource\": {}}}",
      json_string(clock.name()), clock.read_ns(), clock.tsc_ghz, clock.tsc_read_ns, clock.monotonic_read_ns,
      clock.tsc_invariant, clock.tsc_consistent, json_string(clock.kernel_clocksource));
  return p;
}

namespace {

std::string session_entry(const provenance& p, const std::string& extra) {
  return fmt::format(
      "    {{\"session\": {}, \"host\": {}, \"hostname\": {}, \"cpu_model\": {}, \"pus\": {}, \"topology\": {}, "
      "\"kernel\": {}, \"compiler\": {}, \"cxx_flags\": {}, \"build_type\": {}, \"build_id\": {}, "
      "\"ringlab_version\": {}, \"git_commit\": {}, \"git_head\": {}, \"git_dirty\": {}, \"date_utc\": {}, "
      "\"command\": {}, \"clock\": {}{}{}}}",
      json_string(p.session), json_string(p.host), json_string(p.hostname), json_string(p.cpu_model), p.pus,
      json_string(p.topology_summary), json_string(p.kernel), json_string(p.compiler), json_string(p.cxx_flags),
      json_string(p.build_type), json_string(p.build_id()), json_string(p.version), json_string(p.git_commit),
      json_string(p.git_head), p.git_dirty, json_string(p.date_utc), json_string(p.command), p.clock_json,
      extra.empty() ? "" : ", ", extra);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

// The file is laid out here alone: top members, then "sessions": [ one entry a line ].
// An older, flat file (one object, no sessions) becomes the first entry.
std::vector<std::string> provenance_entries(const std::string& json_path) {
  std::vector<std::string> entries;
  std::error_code ec;
  if (!fs::exists(json_path, ec)) return entries;
  const std::string old = read_text(json_path);
  const std::string open = "\"sessions\": [\n";
  const auto at = old.find(open);
  if (at != std::string::npos) {
    std::istringstream lines(old.substr(at + open.size()));
    for (std::string line; std::getline(lines, line) && line.rfind("  ]", 0) != 0;)
      entries.push_back(line.size() && line.back() == ',' ? line.substr(0, line.size() - 1) : line);
  } else if (auto first = old.find('{'), last = old.rfind('}'); first != std::string::npos && last != std::string::npos) {
    std::string flat = old.substr(first, last - first + 1);
    std::replace(flat.begin(), flat.end(), '\n', ' ');
    entries.push_back("    " + flat);
  }
  return entries;
}

void write_provenance_entries(const std::string& csv_path, const std::string& top, const std::vector<std::string>& entries) {
  const fs::path json = fs::path(csv_path).replace_extension(".json");
  if (json.has_parent_path()) fs::create_directories(json.parent_path());
  std::string body = "{\n";
  if (!top.empty()) body += "  " + top + ",\n";
  body += "  \"sessions\": [\n";
  for (std::size_t i = 0; i < entries.size(); ++i) body += entries[i] + (i + 1 < entries.size() ? ",\n" : "\n");
  body += "  ]\n}\n";
  const fs::path tmp = json.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << body;
    if (!out) throw std::runtime_error(fmt::format("{}: cannot write", tmp.string()));
  }
  fs::rename(tmp, json);  // whole or not at all
}

void write_provenance(const std::string& csv_path, const provenance& p, const std::string& extra,
                      const std::string& top, bool fresh) {
  const fs::path json = fs::path(csv_path).replace_extension(".json");
  std::vector<std::string> entries = fresh ? std::vector<std::string>{} : provenance_entries(json.string());
  const std::string mine = session_entry(p, extra);
  const std::string tag = "    {\"session\": " + json_string(p.session) + ",";
  if (!entries.empty() && entries.back().rfind(tag, 0) == 0) entries.back() = mine;
  else entries.push_back(mine);
  write_provenance_entries(csv_path, top, entries);
}

std::string provenance_member(const std::string& json_path, const std::string& key) {
  const std::string text = read_text(json_path);
  const std::string name = "\"" + key + "\": ";
  const auto at = text.find(name);
  if (at == std::string::npos) return "";
  std::size_t i = at + name.size();
  if (i < text.size() && text[i] == '"') {
    std::string value;
    for (++i; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) ++i;
      value += text[i];
    }
    return value;
  }
  const auto end = text.find_first_of(",}\n", i);
  return text.substr(i, end - i);
}

}  // namespace ringlab::harness
