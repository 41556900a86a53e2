"""ringlab-microbench end to end, cheaply: a few benchmarks for a few milliseconds each,
their JSON converted to the tidy CSV, the CSV plotted, and bad input refused.
Run with Debian's python (it sees matplotlib):
    /usr/bin/python3 tests/test_microbench.py build/src/ringlab-microbench"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "plots" / "microbench.py"
FILTER = "clock/|push_pop/spsc_ring$|round_trip/mpmc_ring$"
EXPECTED = {"clock/clock_gettime_monotonic", "clock/harness", "push_pop/spsc_ring", "round_trip/mpmc_ring"}
EXE = None  # the binary, from the command line


def script(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120)


@unittest.skipIf(len(os.sched_getaffinity(0)) < 2, "round_trip needs two PUs (it reports an error on one)")
class Microbench(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name)
        cls.json = cls.dir / "bench.json"
        run = subprocess.run([EXE, f"--benchmark_filter={FILTER}", "--benchmark_min_time=0.01",
                              "--benchmark_repetitions=2", "--benchmark_format=json"],
                             capture_output=True, text=True, timeout=120)
        cls.bench = run
        cls.json.write_text(run.stdout)
        cls.csv = cls.dir / "microbench.csv"
        cls.converted = script("convert", cls.json, cls.csv)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_a_the_binary_reports_each_benchmark_with_a_positive_time(self):
        self.assertEqual(self.bench.returncode, 0, self.bench.stderr)
        doc = json.loads(self.bench.stdout)
        for key in ("num_cpus", "mhz_per_cpu", "library_build_type", "ringlab_host"):
            self.assertIn(key, doc["context"])
        runs = [b for b in doc["benchmarks"] if b.get("run_type") == "iteration"]
        names = {b["name"] for b in runs}
        self.assertTrue(EXPECTED <= names, f"missing {EXPECTED - names}")
        self.assertFalse(names - EXPECTED - {"clock/rdtsc"}, "the filter matched more than asked")
        for b in runs:
            self.assertFalse(b.get("error_occurred"), f"{b['name']}: {b.get('error_message')}")
            self.assertGreater(b["real_time"], 0, b["name"])
            self.assertGreater(b["iterations"], 0, b["name"])
        rtt = [b for b in runs if b["name"] == "round_trip/mpmc_ring"]
        self.assertTrue(all(b["rtt_ns"] > 0 for b in rtt))
        # Times are in the unit the JSON says (ns by default): a clock read is nowhere near 100 us.
        self.assertTrue(all(b["time_unit"] == "ns" for b in runs))
        clock = min(b["real_time"] for b in runs if b["name"] == "clock/clock_gettime_monotonic")
        self.assertLess(clock, 100_000, "a clock read should take well under 100 us")

    def test_b_convert_writes_one_row_per_repetition(self):
        self.assertEqual(self.converted.returncode, 0, self.converted.stderr)
        with self.csv.open() as f:
            reader = csv.DictReader(f)
            rows = list(reader)
        self.assertEqual(reader.fieldnames, ["benchmark", "kind", "queue", "repetition", "iterations", "ns_per_op",
                                             "cpu_ns_per_op", "items_per_s", "rtt_ns", "label", "num_cpus",
                                             "mhz_per_cpu", "library_build_type"])
        by_name = {}
        for r in rows:
            by_name.setdefault(r["benchmark"], []).append(r)
        self.assertTrue(EXPECTED <= set(by_name))
        for name, reps in by_name.items():
            self.assertEqual(sorted(int(r["repetition"]) for r in reps), [0, 1], f"{name}: aggregates must be left out")
        for r in rows:
            self.assertGreater(float(r["ns_per_op"]), 0)
            self.assertEqual(r["kind"], r["benchmark"].split("/")[0])
            self.assertGreater(int(r["num_cpus"]), 0)
        pp = by_name["push_pop/spsc_ring"][0]
        self.assertEqual((pp["kind"], pp["queue"]), ("push_pop", "spsc_ring"))
        self.assertGreater(float(pp["items_per_s"]), 0)
        rt = by_name["round_trip/mpmc_ring"][0]
        self.assertEqual((rt["kind"], rt["queue"]), ("round_trip", "mpmc_ring"))
        self.assertGreater(float(rt["rtt_ns"]), 0)
        self.assertEqual(by_name["clock/harness"][0]["queue"], "")
        self.assertEqual(by_name["clock/harness"][0]["rtt_ns"], "")

    def test_c_plot_writes_both_figures(self):
        out = self.dir / "figures"
        drawn = script("plot", self.csv, "--out-dir", out)
        self.assertEqual(drawn.returncode, 0, drawn.stderr)
        for kind in ("push_pop", "round_trip"):
            self.assertEqual((out / f"microbench-{kind}.png").read_bytes()[:8], b"\x89PNG\r\n\x1a\n")
            self.assertEqual((out / f"microbench-{kind}.pdf").read_bytes()[:5], b"%PDF-")
        self.assertEqual(len(list(out.iterdir())), 4, "no temporary files left behind")
        again = script("plot", self.csv, "--out-dir", self.dir / "again", "--formats", "png")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual((out / "microbench-round_trip.png").read_bytes(),
                         (self.dir / "again" / "microbench-round_trip.png").read_bytes(), "same CSV, same bytes")

    def test_d_bad_input_is_one_line_and_exit_1(self):
        bad = self.dir / "bad.json"
        cases = {"truncated": self.json.read_text()[:200], "not an object": "[1, 2]",
                 "no time": json.dumps({"context": {}, "benchmarks": [{"name": "clock/rdtsc", "iterations": 3}]})}
        for what, text in cases.items():
            bad.write_text(text)
            out = self.dir / "never.csv"
            result = script("convert", bad, out)
            self.assertEqual(result.returncode, 1, what)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, f"{what}: {result.stderr}")
            self.assertIn("bad.json", result.stderr)
            self.assertFalse(out.exists(), f"{what}: nothing may be written")
        missing = script("convert", self.dir / "absent.json", self.dir / "never.csv")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("cannot read", missing.stderr)
        not_csv = script("plot", self.json, "--out-dir", self.dir / "x")
        self.assertEqual(not_csv.returncode, 1)
        self.assertEqual(len(not_csv.stderr.strip().splitlines()), 1, not_csv.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_microbench.py PATH/TO/ringlab-microbench")
    EXE = sys.argv.pop(1)
    unittest.main(verbosity=2)
