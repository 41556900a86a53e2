// The Slurm engine: a sweep that outgrows one machine is handed to the cluster's own
// scheduler, never to a runner of ours. Submitting writes one job array — a task per
// chunk of runs, in the sweep's interleaved order — and a merge job that runs when the
// array is done. Each task, on whatever node Slurm gives it (--exclusive: two
// measurements never share a node), runs its runs into its own part file,
// results/<host>/X.parts/<task>.csv, with its provenance beside it. `ringlab merge` joins
// the parts into results/<host>/X.csv (one per host: each host's results are its own),
// with the local sweep's checks. Re-submitting submits only the tasks not finished.
#pragma once
#include "sweep/merge.hpp"  // the merge job runs `ringlab merge`
#include <string>
#include <vector>

#include "sweep/sweep.hpp"

namespace ringlab::sweep {

// ringlab sweep X.toml --engine slurm: submit (or, with SLURM_ARRAY_TASK_ID set, run that
// one task here: how Slurm runs it, and how a user replays it).
int slurm_sweep(const experiment& e, const sweep_options& options);


// ringlab status X.toml: the array's tasks pending / running / done / failed, and an ETA.
int slurm_status(const experiment& e, const sweep_options& options);

}  // namespace ringlab::sweep
