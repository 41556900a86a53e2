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

struct provenance {
  std::string host;       // short stable id: RINGLAB_HOST, else CPU model + PU count
  std::string hostname, cpu_model, topology_summary, kernel, compiler, cxx_flags, build_type, version;
  unsigned pus = 0;
  std::string git_commit;  // full hash, or "unknown"
  bool git_dirty = false;  // code changed since the commit (results/ and plots/ excepted)
  std::string date_utc;
  std::string clock_json;
  std::string short_commit() const;  // "1a2b3c4d" or "1a2b3c4d-dirty"
};

provenance collect_provenance(const clock_source& clock, const topology& topo);
std::string machine_host_id(const topology& topo);
std::string utc_now();
// The JSON beside `csv_path` (X.csv -> X.json); `extra` is more JSON members ("\"k\": v, ...").
void write_provenance(const std::string& csv_path, const provenance& p, const std::string& extra = "");
std::string json_string(const std::string& s);

}  // namespace ringlab::harness
