// `ringlab merge`: a Slurm sweep's parts (one file per task, results/<host>/X.parts/) joined
// into results/<host>/X.csv, one per host, with the local sweep's checks (sweep/slurm.hpp).
#pragma once
#include <string>
#include <vector>

namespace ringlab::sweep {

struct merge_options {
  bool allow_mixed = false;
  bool plot = true;
  std::string results_dir;  // for the hosts' parts folders; default: the one above the part folders given
};
// ringlab merge results/<host>/X.parts/...: the parts of one experiment into the CSVs.
int merge_parts(const std::vector<std::string>& parts_dirs, const merge_options& options);

}  // namespace ringlab::sweep
