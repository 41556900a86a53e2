"""The seeds' Python mechanisms (py.*, python/seeds_bench.py) through `ringlab run` and
`ringlab sweep`: each runs and writes a valid row with latency; what it cannot do is
refused in one line; a lost, repeated or damaged item and a stuck consumer make the row
invalid (the negative controls, through a hidden environment variable of the script);
Ctrl-C leaves no Python process behind. Usage: test_python_seeds.py path/to/ringlab"""
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

RINGLAB = None
SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ["py.queue", "py.mp_queue", "py.joinable_queue", "py.pipe"]


def ringlab(*args, env=None, timeout=120):
    full = dict(os.environ, **(env or {}))
    return subprocess.run([RINGLAB, *args], capture_output=True, text=True, timeout=timeout, env=full)


def run_row(*args, env=None):
    """`ringlab run` with --out: (completed process, the row or None)."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.csv")
        r = ringlab("run", "--wait", "block", "--no-guards", "--out", out, *args, env=env)
        row = None
        if os.path.exists(out):
            with open(out, newline="") as f:
                rows = list(csv.DictReader(f))
            row = rows[0] if rows else None
        return r, row


def group_members(pgid):
    """The live processes of a process group (zombies, already dead, are left out)."""
    r = subprocess.run(["ps", "-eo", "pid=,pgid=,stat="], capture_output=True, text=True)
    return [int(pid) for pid, g, stat in (line.split() for line in r.stdout.splitlines())
            if int(g) == pgid and not stat.startswith("Z")]


class Runs(unittest.TestCase):
    def check_row(self, r, row, name, producers, consumers, items):
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNotNone(row)
        self.assertEqual(row["queue"], name)
        self.assertEqual(row["valid"], "1", row["validation_error"])
        self.assertEqual(row["scope"], "thread" if name == "py.queue" else "process")
        self.assertEqual(int(row["items_pushed"]), items)
        self.assertEqual(int(row["items_popped"]), items)
        self.assertGreater(float(row["throughput_items_per_s"]), 0)
        for column in ["lat_p50_ns", "lat_p99_ns", "lat_max_ns", "service_p50_ns", "service_p99_ns",
                       "producer_cpu_ns_per_item", "consumer_cpu_ns_per_item", "voluntary_switches_per_item"]:
            self.assertNotEqual(row[column], "", column)
        self.assertGreater(int(row["lat_samples"]), 0)
        self.assertEqual(row["clock_source"], "clock_monotonic")
        self.assertEqual(len(row["producer_pus"].split(";")), producers)
        self.assertEqual(len(row["consumer_pus"].split(";")), consumers)
        self.assertNotEqual(row["commit"], "")
        self.assertNotEqual(row["host"], "")

    def test_each_mechanism_1p1c_and_2p2c(self):
        for name in NAMES:
            for p, c in [(1, 1), (2, 2)]:
                with self.subTest(queue=name, producers=p, consumers=c):
                    r, row = run_row("--queue", name, "--producers", str(p), "--consumers", str(c), "--items", "3000",
                                     "--capacity", "16", "--pin", "none")
                    self.check_row(r, row, name, p, c, 3000)

    def test_join_where_the_mechanism_has_it(self):
        for name in ["py.queue", "py.joinable_queue"]:
            with self.subTest(queue=name):
                r, row = run_row("--queue", name, "--producers", "2", "--consumers", "2", "--items", "2000",
                                 "--termination", "join", "--pin", "none")
                self.check_row(r, row, name, 2, 2, 2000)
                self.assertEqual(row["termination"], "join")

    def test_open_loop_for_a_duration(self):
        # 2000 items/s for 0.4 s after a 0.1 s warm-up: about 800 in the window.
        r, row = run_row("--queue", "py.mp_queue", "--producers", "2", "--consumers", "2", "--rate", "2000",
                         "--duration", "0.4", "--warmup", "0.1", "--payload", "1024")
        self.check_row(r, row, "py.mp_queue", 2, 2, int(row["items_pushed"]) if row else -1)
        self.assertAlmostEqual(float(row["throughput_items_per_s"]), 2000, delta=300)
        self.assertAlmostEqual(float(row["measured_s"]), 0.4, delta=0.01)
        self.assertEqual(row["offered_rate_items_per_s"], "2000")

    def test_pinned_sides_report_their_pu(self):
        r, row = run_row("--queue", "py.pipe", "--items", "1000", "--pin", "p:0,c:0")
        self.check_row(r, row, "py.pipe", 1, 1, 1000)
        self.assertEqual(row["producer_pus"], "0")
        self.assertEqual(row["consumer_pus"], "0")


class BadInput(unittest.TestCase):
    CASES = [
        (["--queue", "py.mp_queue", "--wait", "spin"], ["--wait spin", "py.mp_queue", "--wait block"]),
        (["--queue", "py.queue", "--wait", "park"], ["--wait park", "py.queue", "--wait block"]),
        (["--queue", "py.pipe", "--wait", "block", "--capacity", "0"], ["--capacity 0", "py.pipe", "at least 1"]),
        (["--queue", "py.queue", "--wait", "block", "--capacity", "9999999"], ["--capacity 9999999", "maximum"]),
        (["--queue", "py.mp_queue", "--wait", "block", "--termination", "join"],
         ["--termination join", "multiprocessing.Queue has no task_done/join"]),
        (["--queue", "py.pipe", "--wait", "block", "--termination", "join"],
         ["--termination join", "multiprocessing.Pipe has no task_done/join"]),
        (["--queue", "py.queue", "--wait", "block", "--pattern", "pingpong"], ["--pattern pingpong", "py.queue"]),
        (["--queue", "py.queue", "--wait", "block", "--native"], ["--native", "py.queue"]),
        (["--queue", "py.joinable_queue", "--wait", "block", "--payload", "256"], ["--payload 256", "cannot carry"]),
        (["--queue", "py.queue", "--wait", "block", "--scope", "process"], ["--scope process", "thread transport"]),
    ]

    def test_each_is_one_line_a_nonzero_exit_and_no_file(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            for args, words in self.CASES:
                with self.subTest(args=args):
                    r = ringlab("run", *args, "--duration", "0.1", "--no-guards", "--out", out)
                    self.assertNotEqual(r.returncode, 0)
                    lines = r.stderr.strip().splitlines()
                    self.assertEqual(len(lines), 1, r.stderr)
                    for w in words:
                        self.assertIn(w, lines[0])
                    self.assertEqual(os.listdir(d), [], "nothing may be written")

    def test_the_script_alone_refuses_in_one_line(self):
        script = os.path.join(SOURCE, "python", "seeds_bench.py")
        for args, words in [(["--mechanism", "pipe", "--termination", "join"], ["--termination join", "pipe"]),
                            (["--mechanism", "queue", "--capacity", "0"], ["--capacity 0"]),
                            (["--mechanism", "nosuch"], ["--mechanism", "nosuch"])]:
            with self.subTest(args=args):
                r = subprocess.run(["/usr/bin/python3", script, *args], capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 2)
                self.assertEqual(r.stdout, "")
                lines = r.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                for w in words:
                    self.assertIn(w, lines[0])


class NegativeControls(unittest.TestCase):
    """The delivery check must be able to fail: the script's hidden fault makes producer 0
    lose, repeat or damage one item (sequence 3); the same runs without it are valid."""
    FAULTS = [("drop", "1 of 1000 items never arrived"), ("duplicate", "1 items arrived more than once"),
              ("corrupt", "payload bodies were not their own tag")]

    def test_a_lost_repeated_or_damaged_item_makes_the_row_invalid(self):
        for name in NAMES:
            for fault, words in self.FAULTS:
                with self.subTest(queue=name, fault=fault):
                    r, row = run_row("--queue", name, "--producers", "2", "--consumers", "2", "--items", "2000",
                                     "--pin", "none", env={"RINGLAB_PY_SEEDS_FAULT": fault})
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertIn("delivery check failed", r.stderr)
                    self.assertEqual(row["valid"], "0")
                    self.assertIn(words, row["validation_error"])
            with self.subTest(queue=name, fault=None):
                r, row = run_row("--queue", name, "--producers", "2", "--consumers", "2", "--items", "2000", "--pin", "none")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(row["valid"], "1")

    def test_a_stuck_consumer_is_stopped_after_the_drain_timeout(self):
        for name in ["py.queue", "py.mp_queue"]:
            with self.subTest(queue=name):
                start = time.monotonic()
                r, row = run_row("--queue", name, "--duration", "0.3", "--drain-timeout", "1", "--pin", "none",
                                 env={"RINGLAB_PY_SEEDS_FAULT": "stall"})
                self.assertLess(time.monotonic() - start, 15)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertEqual(row["valid"], "0")
                self.assertIn("did not finish within 1 s", row["validation_error"])
                self.assertEqual(row["throughput_items_per_s"], "", "a stopped run has no throughput")


class Interrupt(unittest.TestCase):
    def test_ctrl_c_kills_the_python_group_and_writes_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            p = subprocess.Popen([RINGLAB, "run", "--queue", "py.mp_queue", "--wait", "block", "--producers", "2",
                                  "--consumers", "2", "--duration", "30", "--no-guards", "--out", out],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            python = []
            for _ in range(100):  # bounded: 10 s
                time.sleep(0.1)
                r = subprocess.run(["ps", "-o", "pid=", "--ppid", str(p.pid)], capture_output=True, text=True)
                python = [int(x) for x in r.stdout.split()]
                if python and len(group_members(python[0])) >= 5:  # the script and its 4 sides
                    break
            self.assertEqual(len(python), 1, "the python process never showed up")
            self.assertGreaterEqual(len(group_members(python[0])), 5, "the sides never showed up")
            start = time.monotonic()
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=15)
            self.assertEqual(p.returncode, 130, err)
            self.assertLess(time.monotonic() - start, 5)
            self.assertEqual(os.listdir(d), [])
            for _ in range(50):  # SIGKILL takes effect asynchronously: up to 5 s
                if not group_members(python[0]):
                    break
                time.sleep(0.1)
            self.assertEqual(group_members(python[0]), [], "a Python process outlived the run")


class Sweep(unittest.TestCase):
    def test_the_experiment_plans(self):
        with tempfile.TemporaryDirectory() as d:
            r = ringlab("sweep", os.path.join(SOURCE, "experiments", "python_seeds.toml"), "--dry-run",
                        "--results-dir", d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("skipped", r.stdout)
            for name in NAMES + ["semaphore_ring", "mutex_ring"]:
                self.assertIn(name, r.stdout)
            self.assertIn("24 points", r.stdout)
            self.assertEqual(os.listdir(d), [], "a dry run writes nothing")


if __name__ == "__main__":
    RINGLAB = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
