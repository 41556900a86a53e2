// Where results go: CSV rows appended whole (one write each, header on a new file, a
// different header refused), and the provenance JSON beside each CSV.
#pragma once
#include <string>
#include <vector>

#include "harness/clock.hpp"
#include "harness/pinning.hpp"

namespace ringlab::harness {

// Throws std::runtime_error naming the file if it cannot be written or its header
// differs. Checks first, so nothing is created for a run that will not write.
void check_writable(const std::string& csv_path);
void append_row(const std::string& csv_path, const std::vector<std::string>& header,
                const std::vector<std::string>& values);
std::string csv_line(const std::vector<std::string>& fields);
std::vector<std::string> parse_csv_line(const std::string& line);

// Where results come from. The code's commit is the last one that changed what is built
// (src, include, meson files, scripts): a commit of README or results alone does not
// change it, so rows measured before and after such a commit stay comparable.
struct provenance {
  std::string host;       // short stable id: RINGLAB_HOST, else CPU model + PU count
  std::string hostname, cpu_model, topology_summary, kernel, compiler, cxx_flags, build_type, version;
  unsigned pus = 0;
  std::string git_commit;  // the code's commit (full hash), or "unknown"
  std::string git_head;    // HEAD when measured
  bool git_dirty = false;  // the code differs from that commit
  std::string date_utc;
  std::string session;     // date and pid: which session wrote an entry
  std::string command;     // the command line
  std::string clock_json;
  std::string short_commit() const;  // "1a2b3c4d5e" or "1a2b3c4d5e-dirty"
  std::string build_id() const;      // "release -std=c++20 -O2 -march=native g++ 12.2.0": rows of one build
};

// `command`: the command line; empty = the one given to set_command_line (main()).
provenance collect_provenance(const clock_source& clock, const topology& topo, const std::string& command = "");
void set_command_line(int argc, char** argv);
std::string machine_host_id(const topology& topo);
std::string utc_now();
std::string json_string(const std::string& s);
// The JSON beside `csv_path` (X.csv -> X.json): {top members..., "sessions": [one entry
// per session]}. Appends this session's entry (`extra`: more members, "\"k\": v, ..."),
// or replaces it if the last entry is this session's; `top` are the file's own members.
// Written whole through a temporary file. `fresh` starts the file over.
void write_provenance(const std::string& csv_path, const provenance& p, const std::string& extra = "",
                      const std::string& top = "", bool fresh = false);
// The session entries of a provenance JSON (one JSON object each, as written above), and
// writing a JSON of given entries (merging parts: every node's sessions).
std::vector<std::string> provenance_entries(const std::string& json_path);
void write_provenance_entries(const std::string& csv_path, const std::string& top, const std::vector<std::string>& entries);
// A member of that JSON, as its text ("" if absent): a string without its quotes, or a number.
std::string provenance_member(const std::string& json_path, const std::string& key);

}  // namespace ringlab::harness
