// What a sweep knows about its runs and its CSV, shared by the local sweep, the Slurm
// tasks and `ringlab merge`: which points can run here and in what interleaved order;
// the row a point's run writes; reading a results CSV with every row checked (a damaged
// row is set aside, never counted) and rewriting one whole.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "harness/pinning.hpp"
#include "harness/result.hpp"
#include "sweep/experiment.hpp"

namespace ringlab::sweep {

// The experiment's points that can run on this machine; the others are named in
// `skipped` when the experiment says skip_unsupported, else refused (experiment_error).
std::vector<point> runnable_points(const experiment& e, const harness::topology& topo, std::vector<std::string>& skipped);

// Every (point, repetition) of the main pass in its order: repetition r visits all the
// points, shuffled with seed r, before r + 1.
struct planned_run {
  const point* p;
  unsigned repetition;
};
std::vector<planned_run> interleaved_runs(const std::vector<point>& points, unsigned repetitions);

// A row as a run of `p` writes it (context, parameters, metric columns) with empty results.
harness::run_result prototype_row(const experiment& e, const point& p, unsigned repetition = 0);

struct row {
  std::size_t line = 0;  // 1-based line in its file
  std::map<std::string, std::string> fields;
  const std::string& at(const std::string& column) const;
};

struct checked_rows {
  std::vector<row> rows;              // whole rows
  std::vector<std::string> damaged;   // one line each: file, line and why
};

// Reads a results CSV whose header must be `header`: rows with the wrong field count, a
// number that does not parse, a bad repetition or no end of line are damaged. A missing
// or empty file has no rows. Throws experiment_error for another header.
checked_rows read_rows(const std::string& csv, const std::vector<std::string>& header);

// Writes `rows` under `header` to `csv` through a temporary file: whole or not at all.
void write_rows(const std::string& csv, const std::vector<std::string>& header, const std::vector<row>& rows);

// Why row `r` cannot count for point `p` (a parameter differs), or "" when it can.
std::string mismatch(const experiment& e, const point& p, const row& r);

}  // namespace ringlab::sweep
