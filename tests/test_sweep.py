"""`ringlab sweep` as a user meets it: interrupted sweeps (Ctrl-C and kill -9) leave
whole rows and resume without duplicates or gaps; a changed experiment is refused;
--dry-run runs nothing; bad files get one line naming file and line.
Usage: test_sweep.py path/to/ringlab"""
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

RINGLAB = None

EXPERIMENT = """name = "{name}"
description = "test sweep"
repetitions = {reps}
skip_unsupported = {skip}
[fixed]
wait = "yield"
duration_s = {duration}
warmup_s = 0.02
[axes]
queue = ["mpmc_ring", "mutex_ring"]
capacity = [1, 64, 1024]
"""


def write_experiment(directory, name="t", reps=5, duration=0.1, skip="false", extra=""):
    path = os.path.join(directory, name + ".toml")
    with open(path, "w") as f:
        f.write(EXPERIMENT.format(name=name, reps=reps, duration=duration, skip=skip) + extra)
    return path


def sweep(*args, **kw):
    return subprocess.run([RINGLAB, "sweep", *args, "--no-plot"], capture_output=True, text=True, timeout=300, **kw)


def rows(results_dir, name="t"):
    hosts = os.listdir(results_dir)
    with open(os.path.join(results_dir, hosts[0], name + ".csv")) as f:
        return list(csv.DictReader(f))


class Resume(unittest.TestCase):
    def interrupt_then_resume(self, sig):
        with tempfile.TemporaryDirectory() as d:
            exp = write_experiment(d)
            results = os.path.join(d, "results")
            p = subprocess.Popen([RINGLAB, "sweep", exp, "--no-plot", "--results-dir", results],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            # Interrupt once a few rows are in (the machine may be busy: poll, don't guess).
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and p.poll() is None:
                host_dirs = os.listdir(results) if os.path.isdir(results) else []
                csv_path = os.path.join(results, host_dirs[0], "t.csv") if host_dirs else ""
                if csv_path and os.path.exists(csv_path) and sum(1 for _ in open(csv_path)) >= 4:
                    break
                time.sleep(0.05)
            p.send_signal(sig)
            _, err = p.communicate(timeout=30)
            if sig == signal.SIGINT:
                self.assertEqual(p.returncode, 130, err)
                self.assertIn("resume", err)
            first = rows(results)
            self.assertGreater(len(first), 0)
            self.assertLess(len(first), 30, "the sweep must have been cut short")
            r = sweep(exp, "--results-dir", results)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("resuming, {} of 30".format(len(first)), r.stderr)
            every = rows(results)
            keys = [(row["point"], row["repetition"]) for row in every]
            self.assertEqual(len(keys), 30)
            self.assertEqual(len(set(keys)), 30, "no duplicate")
            self.assertEqual({k[0] for k in keys}, {"capacity={} queue={}".format(c, q)
                                                    for c in (1, 64, 1024) for q in ("mpmc_ring", "mutex_ring")})
            self.assertTrue(all(row["valid"] == "1" for row in every))
            self.assertTrue(os.path.exists(os.path.join(results, os.listdir(results)[0], "t.json")))

    def test_ctrl_c(self):
        self.interrupt_then_resume(signal.SIGINT)

    def test_kill_9(self):
        self.interrupt_then_resume(signal.SIGKILL)

    def test_a_changed_experiment_is_refused_until_fresh(self):
        with tempfile.TemporaryDirectory() as d:
            results = os.path.join(d, "results")
            self.assertEqual(sweep(write_experiment(d, reps=1), "--results-dir", results).returncode, 0)
            changed = write_experiment(d, reps=1, duration=0.15)
            r = sweep(changed, "--results-dir", results)
            self.assertEqual(r.returncode, 2)
            self.assertIn("--fresh", r.stderr)
            self.assertIn("duration_s", r.stderr)
            self.assertEqual(sweep(changed, "--results-dir", results, "--fresh").returncode, 0)
            self.assertEqual(len(rows(results)), 6)


class Reporting(unittest.TestCase):
    def test_dry_run_lists_points_and_time_and_runs_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            results = os.path.join(d, "results")
            r = sweep(write_experiment(d), "--results-dir", results, "--dry-run")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("6 points x 5 repetitions = 30 runs, about", r.stdout)
            self.assertIn("capacity=64 queue=mutex_ring", r.stdout)
            self.assertFalse(os.path.exists(results))

    def test_without_a_terminal_one_line_per_run(self):
        with tempfile.TemporaryDirectory() as d:
            r = sweep(write_experiment(d, reps=1), "--results-dir", os.path.join(d, "r"))
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = [l for l in r.stderr.splitlines() if l.startswith("[")]
            self.assertEqual(len(lines), 6)
            self.assertIn("[6/6]", lines[-1])

    def test_a_bad_file_is_one_line_and_writes_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            bad = write_experiment(d, extra='[[plot]]\nname = "p"\nx = "capacity"\ny = "lat_p99_ns"\nhue = "queue"\n')
            results = os.path.join(d, "results")
            r = sweep(bad, "--results-dir", results)
            self.assertEqual(r.returncode, 2)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn("t.toml:16: [[plot]]: unknown key 'hue'", lines[0])
            self.assertFalse(os.path.exists(results))

    def test_a_point_the_queue_refuses_is_named_or_skipped(self):
        with tempfile.TemporaryDirectory() as d:
            extra = '[[exclude]]\nqueue = "mpmc_ring"\n'
            text = EXPERIMENT.format(name="t", reps=1, duration=0.1, skip="false").replace(
                '"mpmc_ring", "mutex_ring"', '"handoff_slot"')
            path = os.path.join(d, "t.toml")
            with open(path, "w") as f:
                f.write(text)
            r = sweep(path, "--results-dir", os.path.join(d, "r"))
            self.assertEqual(r.returncode, 2)
            self.assertIn("point 'capacity=64 queue=handoff_slot' cannot run", r.stderr)
            with open(path, "w") as f:
                f.write(text.replace("skip_unsupported = false", "skip_unsupported = true"))
            r = sweep(path, "--results-dir", os.path.join(d, "r"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(rows(os.path.join(d, "r"))), 1, "only capacity 1 runs")


if __name__ == "__main__":
    RINGLAB = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
