"""`ringlab sweep` as a user meets it: interrupted sweeps (Ctrl-C and kill -9) leave
whole rows and resume without duplicates or gaps; a damaged row is reported and run
again; a changed experiment (warm-up included), rows of another commit or build are
refused; disturbed runs are repeated until a point has its n; the provenance keeps one
entry per session; --dry-run runs nothing; bad files get one line naming file and line.
Usage: test_sweep.py path/to/ringlab"""
import csv
import json
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


def sweep(*args, guards=False, **kw):
    """Without the noise guards unless asked: their probes and waits are tested on their own."""
    return subprocess.run([RINGLAB, "sweep", *args, "--no-plot", *([] if guards else ["--no-guards"])],
                          capture_output=True, text=True, timeout=300, **kw)


def rows(results_dir, name="t"):
    hosts = os.listdir(results_dir)
    with open(os.path.join(results_dir, hosts[0], name + ".csv")) as f:
        return list(csv.DictReader(f))


class Resume(unittest.TestCase):
    def interrupt_then_resume(self, sig):
        with tempfile.TemporaryDirectory() as d:
            exp = write_experiment(d)
            results = os.path.join(d, "results")
            p = subprocess.Popen([RINGLAB, "sweep", exp, "--no-plot", "--no-guards", "--results-dir", results],
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
            with open(os.path.join(results, os.listdir(results)[0], "t.json")) as f:
                sessions = json.load(f)["sessions"]
            self.assertEqual(len(sessions), 2, "the interrupted session and the resuming one, each its own entry")
            self.assertEqual(sessions[1]["rows_this_session"], 30 - len(first))

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


    def csv_path(self, results):
        return os.path.join(results, os.listdir(results)[0], "t.csv")

    def test_a_damaged_row_is_reported_and_run_again(self):
        with tempfile.TemporaryDirectory() as d:
            results = os.path.join(d, "results")
            exp = write_experiment(d, reps=1)
            self.assertEqual(sweep(exp, "--results-dir", results).returncode, 0)
            path = self.csv_path(results)
            with open(path) as f:
                lines = f.read().splitlines(keepends=True)
            header = lines[0].rstrip("\n").split(",")
            third = lines[3].rstrip("\n").split(",")
            third[header.index("throughput_items_per_s")] = "12x"  # not a number
            lines[3] = ",".join(third) + "\n"
            lines[-1] = lines[-1][:len(lines[-1]) // 2]  # cut short, as by a crash
            with open(path, "w") as f:
                f.write("".join(lines))
            r = sweep(exp, "--results-dir", results)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("line 4 is damaged (throughput_items_per_s is '12x'", r.stderr)
            self.assertIn("line 7 is damaged (unfinished", r.stderr)
            self.assertEqual(r.stderr.count("is damaged"), 2, "a row as ringlab writes it is never damaged: " + r.stderr)
            every = rows(results)
            self.assertEqual(len(every), 6)
            self.assertEqual(len({row["point"] for row in every}), 6, "each point once: the damaged ones ran again")
            self.assertTrue(all(float(row["throughput_items_per_s"]) > 0 for row in every))

    def test_a_changed_warmup_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            results = os.path.join(d, "results")
            self.assertEqual(sweep(write_experiment(d, reps=1), "--results-dir", results).returncode, 0)
            with open(os.path.join(d, "t.toml")) as f:
                text = f.read()
            with open(os.path.join(d, "t.toml"), "w") as f:
                f.write(text.replace("warmup_s = 0.02", "warmup_s = 0.03"))
            r = sweep(os.path.join(d, "t.toml"), "--results-dir", results)
            self.assertEqual(r.returncode, 2)
            self.assertIn("warmup_s is 0.020 in the CSV but 0.030 now", r.stderr)

    def test_rows_of_another_commit_are_refused_unless_mixing_is_allowed(self):
        with tempfile.TemporaryDirectory() as d:
            results = os.path.join(d, "results")
            exp = write_experiment(d, reps=1)
            self.assertEqual(sweep(exp, "--results-dir", results).returncode, 0)
            path = self.csv_path(results)
            with open(path) as f:
                table = list(csv.reader(f))
            column = table[0].index("commit")
            table[2][column] = "0123456789"
            with open(path, "w", newline="") as f:
                csv.writer(f, lineterminator="\n").writerows(table)
            r = sweep(exp, "--results-dir", results)
            self.assertEqual(r.returncode, 2)
            self.assertIn("line 3 was measured by commit '0123456789'", r.stderr)
            self.assertIn("--allow-mixed", r.stderr)
            r = sweep(exp, "--results-dir", results, "--allow-mixed")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(rows(results)), 6, "everything was there already")

    def test_disturbed_runs_are_repeated_until_n_or_their_extra_runs_are_spent(self):
        with tempfile.TemporaryDirectory() as d:
            results = os.path.join(d, "results")
            exp = write_experiment(d, reps=2, duration=0.05)
            # Every run disturbed (others' share of the CPUs is always above -1): each point
            # gets its 2 repetitions plus 3 extra runs, and the sweep says n fell short.
            r = sweep(exp, "--results-dir", results, "--foreign-threshold", "-1", "--quiet-wait", "0",
                      "--extra-runs", "3", guards=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            every = rows(results)
            self.assertEqual(len(every), 6 * 5)
            self.assertTrue(all(row["disturbed"] == "1" for row in every))
            self.assertEqual(sorted({int(row["repetition"]) for row in every}), [0, 1, 2, 3, 4])
            self.assertIn("6 points have fewer than 2 undisturbed repetitions after 3 extra runs each", r.stderr)
            # The negative control: undisturbed, no point runs more than its repetitions.
            r = sweep(exp, "--results-dir", os.path.join(d, "calm"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(rows(os.path.join(d, "calm"))), 6 * 2)
            self.assertNotIn("fewer than", r.stderr)


class Precision(unittest.TestCase):
    """Adaptive repetitions: a point runs past its repetitions until its CIs meet the
    experiment's [precision] targets, or its max_repetitions."""

    ONE_POINT = ('name = "{name}"\ndescription = "precision"\nrepetitions = 2\n{adaptive}'
                 '[fixed]\nwait = "yield"\nduration_s = 0.03\nwarmup_s = 0.01\nqueue = "mpmc_ring"\n'
                 '[axes]\ncapacity = [64, 1024]\n')

    def run_one(self, d, name, adaptive):
        path = os.path.join(d, name + ".toml")
        with open(path, "w") as f:
            f.write(self.ONE_POINT.format(name=name, adaptive=adaptive))
        results = os.path.join(d, name)
        r = sweep(path, "--results-dir", results)
        self.assertEqual(r.returncode, 0, r.stderr)
        host = os.listdir(results)[0]
        with open(os.path.join(results, host, name + ".json")) as f:
            return r, rows(results, name), json.load(f)["sessions"][-1]

    def test_a_point_runs_until_its_target_or_its_cap(self):
        with tempfile.TemporaryDirectory() as d:
            # A target no run can meet: every point runs to its cap, and the JSON names them.
            r, every, session = self.run_one(d, "tight", "max_repetitions = 7\n[precision]\nthroughput_items_per_s = 1e-9\n")
            self.assertEqual(len(every), 2 * 7)
            self.assertEqual(session["points_met_precision"], 0)
            self.assertEqual([p["runs"] for p in session["points_at_cap"]], [7, 7])
            self.assertIn("0 of 2 points met their [precision] targets; 2 stopped at 7 runs", r.stderr)
            # A target any 6 runs meet (a 95% CI of a median needs 6): each stops at 6.
            r, every, session = self.run_one(d, "loose", "max_repetitions = 9\n[precision]\nthroughput_items_per_s = 0.99\n")
            self.assertEqual(len(every), 2 * 6)
            self.assertEqual((session["points_met_precision"], session["points_at_cap"]), (2, []))
            # The control: without max_repetitions, the repetitions and nothing more.
            r, every, session = self.run_one(d, "plain", "")
            self.assertEqual(len(every), 2 * 2)
            self.assertNotIn("points_at_cap", session)

    def test_a_bad_precision_is_one_line(self):
        with tempfile.TemporaryDirectory() as d:
            for adaptive, words in [("max_repetitions = 1\n", "max_repetitions must be 2..1000"),
                                    ("[precision]\nqueue = 0.1\n", "'queue' is not a column a target can be set on"),
                                    ("[precision]\nlat_p99_ns = 5\n", "a relative half-width in (0, 1), not 5")]:
                path = os.path.join(d, "bad.toml")
                with open(path, "w") as f:
                    f.write(self.ONE_POINT.format(name="bad", adaptive=adaptive))
                r = sweep(path, "--results-dir", os.path.join(d, "r"))
                self.assertNotEqual(r.returncode, 0)
                lines = r.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn(words, lines[0])
                self.assertIn("bad.toml", lines[0])
                self.assertFalse(os.path.exists(os.path.join(d, "r")))


class Floor(unittest.TestCase):
    """The machine's floor before each guarded latency run: for --floor seconds, else the
    experiment's floor_s (0: none), else the run's duration."""

    ONE_POINT = ('name = "{name}"\ndescription = "floor"\nrepetitions = 1\n{floor}'
                 '[fixed]\nwait = "yield"\nduration_s = 0.03\nwarmup_s = 0.01\nqueue = "mpmc_ring"\n[axes]\ncapacity = [64]\n')
    # Guards on, but nothing waits for a quiet machine or marks a run disturbed.
    CALM = ["--quiet-wait", "0", "--phase-wait", "0", "--foreign-threshold", "2", "--steal-threshold", "2",
            "--probe-tolerance", "1000"]

    def floor_of(self, d, name, floor, *args):
        path = os.path.join(d, name + ".toml")
        with open(path, "w") as f:
            f.write(self.ONE_POINT.format(name=name, floor=floor))
        results = os.path.join(d, name)
        r = sweep(path, "--results-dir", results, *self.CALM, *args, guards=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return rows(results, name)[0]["floor_p50_ns"]

    def test_the_experiments_floor_s_sets_the_window_and_floor_overrides_it(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(self.floor_of(d, "none", "floor_s = 0\n"), "")
            self.assertNotEqual(self.floor_of(d, "override", "floor_s = 0\n", "--floor", "0.01"), "")
            # The control: no floor_s, the default window: the floor is there.
            self.assertNotEqual(self.floor_of(d, "default", ""), "")

    def test_a_bad_floor_s_is_one_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.toml")
            with open(path, "w") as f:
                f.write(self.ONE_POINT.format(name="bad", floor="floor_s = -1\n"))
            r = sweep(path, "--results-dir", os.path.join(d, "r"))
            self.assertEqual(r.returncode, 2)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn("bad.toml:4: floor_s must be 0..10 seconds (0: no floor), not -1", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "r")))


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

    def test_a_two_host_experiment_runs_only_with_connect(self):
        with tempfile.TemporaryDirectory() as d:
            path = write_experiment(d, reps=1)
            with open(path) as f:
                text = f.read().replace("skip_unsupported = false", "skip_unsupported = false\ntwo_hosts = true")
            with open(path, "w") as f:
                f.write(text)
            results = os.path.join(d, "r")
            r = sweep(path, "--results-dir", results)
            self.assertEqual(r.returncode, 2)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn("t.toml: two_hosts = true: run it with --connect HOST:PORT", r.stderr)
            self.assertFalse(os.path.exists(results), "nothing written")
            with open(path, "w") as f:  # the control: the same experiment on one host runs
                f.write(text.replace("two_hosts = true", "two_hosts = false"))
            r = sweep(path, "--results-dir", results)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(rows(results)), 6)


class RaiseLimits(unittest.TestCase):
    """sweep --raise-limits: a posix_mq point above fs.mqueue.msg_max is refused with a line
    saying how to raise it (the control), and runs once the flag raised it, each row saying
    what changed. The machine's msg_max is put back whatever happens."""
    MSG_MAX = "/proc/sys/fs/mqueue/msg_max"

    def test_a_posix_mq_point_above_msg_max_runs_only_with_the_flag(self):
        if os.geteuid() != 0:
            self.skipTest("raising fs.mqueue.msg_max needs root")
        with open(self.MSG_MAX) as f:
            before = f.read().strip()
        try:
            with tempfile.TemporaryDirectory() as d:
                wanted = int(before) + 6
                text = EXPERIMENT.format(name="t", reps=1, duration=0.05, skip="false").replace(
                    '"mpmc_ring", "mutex_ring"', '"posix_mq"').replace("capacity = [1, 64, 1024]", f"capacity = [{wanted}]")
                path = os.path.join(d, "t.toml")
                with open(path, "w") as f:
                    f.write(text)
                results = os.path.join(d, "r")
                r = sweep(path, "--results-dir", results)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("msg_max", r.stderr)
                self.assertIn("--raise-limits", r.stderr)
                self.assertFalse(os.path.exists(results) and os.listdir(results), "nothing written")
                r = sweep(path, "--results-dir", results, "--raise-limits")
                self.assertEqual(r.returncode, 0, r.stderr)
                (row,) = rows(results)
                self.assertEqual(row["queue"], "posix_mq")
                self.assertEqual(row["capacity"], str(wanted))
                self.assertIn("msg_max", row["limits_raised"])
        finally:
            with open(self.MSG_MAX, "w") as f:
                f.write(before)


if __name__ == "__main__":
    RINGLAB = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
