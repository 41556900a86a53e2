"""`ringlab sweep --engine slurm` on a real one-node Slurm cluster that this test starts
and stops itself (scripts/slurm-local, from Debian's slurm-wlm and munge): the quick
experiment as a job array gives the local sweep's CSV shape (a small copy of it: 12
runs, so the three sweeps here wait on Slurm seconds, not minutes); a killed task is the only
one submitted again; bad input (no sbatch, an unknown partition, a part of another
experiment) is one line and a non-zero exit. Exits 77 (meson: skipped), saying why,
where the daemons cannot start.
Usage: test_slurm.py path/to/ringlab"""
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

RINGLAB = None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = None  # setUpModule: experiments/quick.toml, cut to POINTS x REPS runs, in a temporary folder
POINTS, REPS = 4, 3
ENV = dict(os.environ)


def ringlab(*args, env=None, timeout=600):
    return subprocess.run([RINGLAB, *args], capture_output=True, text=True, timeout=timeout, env=env or ENV)


def squeue_jobs():
    r = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T"], capture_output=True, text=True, env=ENV, timeout=30)
    return [line.split() for line in r.stdout.splitlines() if line.strip()]


def wait_until_queue_empty(limit=300):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not squeue_jobs():
            return True
        time.sleep(0.5)
    return False


def small_quick(folder):
    """experiments/quick.toml with two queues, two capacities and three repetitions."""
    with open(os.path.join(ROOT, "experiments", "quick.toml")) as f:
        text = f.read()
    for anchor, small in [("repetitions = 5", f"repetitions = {REPS}"),
                          ('queue = ["spsc_ring", "mpmc_ring", "mutex_ring", "moodycamel"]',
                           'queue = ["spsc_ring", "mpmc_ring"]'),
                          ("capacity = [16, 1024, 65536]", "capacity = [16, 1024]")]:
        assert anchor in text, f"experiments/quick.toml no longer has {anchor!r}: update the test"
        text = text.replace(anchor, small)
    path = os.path.join(folder, "quick.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def merged_rows(results):
    paths = [p for p in glob.glob(os.path.join(results, "*", "quick.csv"))]
    if not paths:
        return []
    with open(paths[0]) as f:
        return list(csv.DictReader(f))


class SlurmEngine(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ringlab-slurm-test-")
        self.results = os.path.join(self.dir, "results")

    def tearDown(self):
        subprocess.run(["scancel", "--full", "--quiet", "--user", "root"], env=ENV, timeout=30)
        wait_until_queue_empty(60)
        shutil.rmtree(self.dir, ignore_errors=True)

    def sweep(self, *args, **kw):
        return ringlab("sweep", QUICK, "--engine", "slurm", "--results-dir", self.results, "--no-guards", "--no-plot",
                       *args, **kw)

    def test_the_quick_experiment_as_a_job_array_gives_the_local_shape(self):
        r = self.sweep("--runs-per-task", "3", "--wait")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("submitted job", r.stderr)
        self.assertIn("4 of 4 tasks", r.stderr)
        rows = merged_rows(self.results)
        self.assertEqual(len(rows), POINTS * REPS)
        self.assertEqual(len({(row["point"], row["repetition"]) for row in rows}), POINTS * REPS)
        self.assertTrue(all(row["valid"] == "1" for row in rows))
        host_dir = os.path.dirname(glob.glob(os.path.join(self.results, "*", "quick.csv"))[0])
        with open(os.path.join(host_dir, "quick.json")) as f:
            prov = json.load(f)
        self.assertEqual(len(prov["sessions"]), 4, "one provenance entry per task (node session)")
        # The control of the adaptive test below: the repetitions, no cap, no --floor passed on.
        self.assertNotIn("ran_cap_up_front", prov)
        with open(os.path.join(self.results, "slurm-jobs", "quick", "job.sh")) as f:
            self.assertNotIn("--floor", f.read())
        # Re-submitting a finished sweep submits nothing and merges again.
        r = self.sweep("--runs-per-task", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("every task is finished", r.stderr)

    def test_an_adaptive_experiment_runs_every_points_cap_and_the_merge_says_which_met(self):
        adaptive = os.path.join(self.dir, "adaptive")
        os.makedirs(adaptive)
        with open(QUICK) as f:
            text = f.read().replace(f"repetitions = {REPS}\n", f"repetitions = {REPS}\nmax_repetitions = {REPS + 3}\n")
        path = os.path.join(adaptive, "quick.toml")
        with open(path, "w") as f:
            f.write(text + "\n[precision]\nthroughput_items_per_s = 1e-9\n")  # a target no run meets
        r = ringlab("sweep", path, "--engine", "slurm", "--results-dir", self.results, "--no-guards", "--no-plot",
                    "--floor", "0.01", "--runs-per-task", str(REPS + 3), "--wait")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"runs every point {REPS + 3} times up front", r.stderr)
        rows = merged_rows(self.results)
        self.assertEqual(len({(row["point"], row["repetition"]) for row in rows}), POINTS * (REPS + 3))
        with open(glob.glob(os.path.join(self.results, "*", "quick.json"))[0]) as f:
            prov = json.load(f)
        self.assertEqual((prov["ran_cap_up_front"], prov["max_repetitions"]), (True, REPS + 3))
        self.assertEqual((prov["points_met_precision"], len(prov["points_at_cap"])), (0, POINTS))
        with open(os.path.join(self.results, "slurm-jobs", "quick", "job.sh")) as f:
            self.assertIn("'--floor' '0.01'", f.read(), "the tasks run with the submitting command's guards")

    def test_a_killed_task_is_the_only_one_submitted_again(self):
        r = self.sweep("--runs-per-task", "4", "--max-parallel", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        job = r.stderr.split("submitted job ")[1].split(":")[0]
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:  # kill the second task while it runs
            for jid, state in squeue_jobs():
                if jid == f"{job}_1" and state == "RUNNING":
                    victim = jid
            time.sleep(0.2)
        self.assertIsNotNone(victim, "task 1 never ran")
        status = ringlab("status", QUICK, "--results-dir", self.results)
        self.assertEqual(status.returncode, 0, status.stderr)
        self.assertRegex(status.stdout, r"3 tasks: [01] done, 1 running, [01] pending, 0 failed")
        subprocess.run(["scancel", victim], env=ENV, timeout=30)
        self.assertTrue(wait_until_queue_empty(), "the array and its merge job did not finish")
        status = ringlab("status", QUICK, "--results-dir", self.results)
        self.assertIn("3 tasks: 2 done, 0 running, 0 pending, 1 failed", status.stdout)
        merge_log = os.path.join(self.results, "slurm-jobs", "quick", "merge.out")
        with open(merge_log) as f:
            self.assertIn("tasks 1 of 3 are missing", f.read())
        self.assertEqual(merged_rows(self.results), [], "nothing merged while a task is missing")
        r = self.sweep("--runs-per-task", "4", "--wait")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("1 of 3 tasks", r.stderr)
        self.assertIn("2 finished already", r.stderr)
        rows = merged_rows(self.results)
        self.assertEqual(len(rows), POINTS * REPS)
        self.assertEqual(len({(row["point"], row["repetition"]) for row in rows}), POINTS * REPS)

    def test_no_sbatch_is_one_line_and_writes_nothing(self):
        env = dict(ENV, PATH="/usr/local/nowhere")
        r = ringlab("sweep", QUICK, "--engine", "slurm", "--results-dir", self.results, env=env)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("no sbatch on PATH", r.stderr)
        self.assertFalse(os.path.exists(self.results))

    def test_an_unknown_partition_quotes_slurm_and_writes_nothing(self):
        r = self.sweep("--partition", "nosuchpartition")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("sbatch refused the job", r.stderr)
        self.assertIn("partition", r.stderr.lower())
        self.assertEqual(glob.glob(os.path.join(self.results, "*", "*.csv")), [])
        self.assertFalse(os.path.exists(os.path.join(self.results, "slurm-jobs", "quick", "job.sh")))

    def test_a_part_of_another_experiment_is_refused_by_name(self):
        r = self.sweep("--runs-per-task", "6", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        parts = sorted(glob.glob(os.path.join(self.results, "*", "quick.parts", "*.csv")))
        stranger = os.path.join(os.path.dirname(parts[0]), "7.csv")
        shutil.copy(parts[0], stranger)
        with open(parts[0].replace(".csv", ".json")) as f:
            text = f.read().replace('"experiment": "quick"', '"experiment": "peers"')
        with open(stranger.replace(".csv", ".json"), "w") as f:
            f.write(text)
        r = ringlab("merge", os.path.dirname(parts[0]), "--no-plot")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("7.csv is a part of experiment 'peers', not 'quick'", r.stderr)


def start_cluster():
    """Start the one-node cluster; exit 77 with the reason where it cannot start."""
    if os.geteuid() != 0:
        print("skipped: the one-node Slurm cluster needs root (munged, slurmd)")
        sys.exit(77)
    state = tempfile.mkdtemp(prefix="ringlab-slurm-")
    env = dict(os.environ, RINGLAB_SLURM_DIR=state)
    r = subprocess.run([os.path.join(ROOT, "scripts", "slurm-local"), "start"], capture_output=True, text=True,
                       env=env, timeout=120)
    if r.returncode != 0:
        print(f"skipped: scripts/slurm-local start failed: {r.stderr.strip() or r.stdout.strip()}")
        sys.exit(77)
    ENV.update(RINGLAB_SLURM_DIR=state, SLURM_CONF=os.path.join(state, "slurm.conf"))
    return env


def stop_cluster(env):
    subprocess.run([os.path.join(ROOT, "scripts", "slurm-local"), "stop"], env=env, timeout=120)


if __name__ == "__main__":
    RINGLAB = os.path.abspath(sys.argv.pop(1))
    cluster = start_cluster()
    folder = tempfile.mkdtemp(prefix="ringlab-slurm-quick-")
    QUICK = small_quick(folder)
    try:
        result = unittest.main(verbosity=2, exit=False).result
    finally:
        stop_cluster(cluster)
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if result.wasSuccessful() else 1)
