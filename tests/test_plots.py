"""The Python side of ringlab: statistics, figures and claims, on a hand-made sweep
(tests/data/plot-fixture.*; plot-fixture.py writes the CSV and says what is in it).
Run with Debian's python, which sees matplotlib: /usr/bin/python3 tests/test_plots.py"""
import math
import os
import subprocess
import sys
import tempfile
import unittest
from math import comb
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CSV, TOML = DATA / "plot-fixture.csv", DATA / "plot-fixture.toml"
PLOTS = ["throughput", "by-wait", "latency", "overview"]
sys.path.insert(0, str(ROOT / "plots"))
import ringlab_stats as stats  # noqa: E402
import ringlab_style as style  # noqa: E402


def script(name, *args, env=None):
    return subprocess.run([sys.executable, str(ROOT / "plots" / name), *map(str, args)], capture_output=True,
                          text=True, timeout=120, env=env)


def fixture_without(tmp, column):
    """The fixture CSV (cells untouched) minus one column."""
    frame = pd.read_csv(CSV, dtype=str, keep_default_na=False)
    path = Path(tmp) / "cut.csv"
    frame.drop(columns=[column]).to_csv(path, index=False)
    return path


class Figures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.first, cls.second = Path(cls.tmp.name) / "a", Path(cls.tmp.name) / "b"
        cls.runs = [script("plot.py", CSV, "--experiment", TOML, "--out-dir", d) for d in (cls.first, cls.second)]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_every_plot_appears_as_png_and_pdf(self):
        self.assertEqual(self.runs[0].returncode, 0, self.runs[0].stderr)
        for name in PLOTS:
            self.assertEqual((self.first / f"plot-fixture-{name}.png").read_bytes()[:8], b"\x89PNG\r\n\x1a\n")
            self.assertEqual((self.first / f"plot-fixture-{name}.pdf").read_bytes()[:5], b"%PDF-")
        self.assertEqual(sorted(p.name for p in self.first.iterdir()),
                         sorted(f"plot-fixture-{n}.{f}" for n in PLOTS for f in ("png", "pdf")))  # no temporaries

    def test_a_second_drawing_gives_the_same_bytes(self):
        for name in PLOTS:
            for fmt in ("png", "pdf"):
                a, b = (d / f"plot-fixture-{name}.{fmt}" for d in (self.first, self.second))
                self.assertEqual(a.read_bytes(), b.read_bytes(), f"{a.name} differs between two drawings")

    def test_summary_gives_each_point_with_n_median_ci_and_noisy_flag(self):
        out = self.runs[0].stdout
        self.assertIn("throughput: throughput (M items/s) by capacity (items), series queue", out)
        noisy = [line for line in out.splitlines() if "NOISY" in line]
        self.assertTrue(noisy and all("queue=spsc_ring wait=spin capacity=65536" in line for line in noisy), out)
        line = next(line for line in out.splitlines() if "queue=spsc_ring wait=spin capacity=16 " in line)
        self.assertEqual(line.split()[3:5], ["5", "180"])  # the disturbed 6th run is not counted

    def test_a_plot_of_several_metrics_summarises_each(self):
        out = self.runs[0].stdout
        self.assertIn("overview: throughput (M items/s) by capacity (items)", out)
        self.assertIn("overview: p99 latency", out)

    def test_a_missing_column_fails_in_one_line_naming_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "figures"
            r = script("plot.py", fixture_without(tmp, "lat_p99_ns"), "--experiment", TOML, "--out-dir", out)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn("no column 'lat_p99_ns' (needed by plot 'latency' in", r.stderr)
            self.assertFalse(out.exists(), "nothing is drawn when a plot cannot be")

    def test_unreadable_inputs_and_no_valid_rows_fail_in_one_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            invalid = Path(tmp) / "invalid.csv"
            pd.read_csv(CSV, dtype=str, keep_default_na=False).assign(valid="0").to_csv(invalid, index=False)
            cases = [([Path(tmp) / "none.csv", "--experiment", TOML], "none.csv: cannot read"),
                     ([CSV, "--experiment", Path(tmp) / "none.toml"], "none.toml: cannot read"),
                     ([invalid, "--experiment", TOML], "no valid rows")]
            for args, words in cases:
                r = script("plot.py", *args, "--out-dir", tmp)
                self.assertEqual((r.returncode, len(r.stderr.strip().splitlines())), (1, 1), r.stderr)
                self.assertIn(words, r.stderr)

    def test_a_failed_write_leaves_the_previous_figure_alone(self):
        import ringlab_figure as figure
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "f.png"
            path.write_bytes(b"previous")
            fig = figure.Figure()
            with self.assertRaises(ValueError):
                figure.save(fig, path, "no-such-format")
            self.assertEqual([p.name for p in Path(tmp).iterdir()], ["f.png"])
            self.assertEqual(path.read_bytes(), b"previous")


class Statistics(unittest.TestCase):
    def test_median_and_ci_against_the_exact_bootstrap_distribution(self):
        # For the values 1..11 a bootstrap median is <= k with probability P(Binomial(11, k/11) >= 6).
        def cdf(k):
            return sum(comb(11, j) * (k / 11) ** j * (1 - k / 11) ** (11 - j) for j in range(6, 12))
        low = min(k for k in range(1, 12) if cdf(k) > 0.025)
        high = min(k for k in range(1, 12) if cdf(k) > 0.975)
        self.assertEqual((low, high), (3, 9))
        self.assertEqual(stats.median_ci(range(1, 12)), (6.0, 3.0, 9.0))

    def test_ci_is_deterministic_and_ignores_row_order(self):
        values = [310, 201.5, 418.5, 303.8, 316.2]
        self.assertEqual(stats.median_ci(values), stats.median_ci(list(reversed(values))))
        self.assertEqual(stats.median_ci([5, 5, 5]), (5.0, 5.0, 5.0))
        self.assertTrue(all(math.isnan(v) for v in stats.median_ci([7])[1:]), "one value has no interval")

    def test_noisy_flag_from_the_spread(self):
        self.assertTrue(stats.estimate([100, 100, 100, 100, 130]).noisy)       # spread 0.30 > 0.25
        self.assertFalse(stats.estimate([100, 100, 100, 100, 120]).noisy)      # spread 0.20
        self.assertFalse(stats.estimate([100, 100, 100, 100, 130], noisy_spread=0.5).noisy)
        points = stats.summarize(stats.load_results(CSV).rows, "throughput_items_per_s")
        self.assertEqual([p for p, e in points.items() if e.noisy], ["queue=spsc_ring wait=spin capacity=65536"])

    def test_disturbed_and_invalid_rows_are_left_out_by_default(self):
        rows = stats.load_results(CSV).rows
        self.assertEqual(len(rows), 52)                                        # 54 minus 1 disturbed, 1 invalid
        self.assertEqual(set(rows["valid"]), {1})
        self.assertEqual(set(rows["disturbed"]), {0})
        with_disturbed = stats.load_results(CSV, include_disturbed=True).rows
        self.assertEqual(len(with_disturbed), 53)
        self.assertEqual(set(with_disturbed["valid"]), {1})
        n16 = stats.summarize(with_disturbed, "throughput_items_per_s")["queue=spsc_ring wait=spin capacity=16"].n
        self.assertEqual(n16, 6)

    def test_without_a_disturbed_column_every_valid_row_counts(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assertEqual(len(stats.load_results(fixture_without(tmp, "disturbed")).rows), 53)

    def test_ratio_verdicts(self):
        steady = [99, 100, 101, 100, 100]
        self.assertEqual(stats.ratio_of_medians([x * 3 for x in steady], steady, ">=", 2).verdict, "held")
        self.assertEqual(stats.ratio_of_medians(steady, [x * 3 for x in steady], ">=", 2).verdict, "not held")
        wide = [60, 100, 102, 98, 140]
        self.assertEqual(stats.ratio_of_medians(wide, steady, ">=", 1.0).verdict, "inconclusive")
        self.assertEqual(stats.ratio_of_medians(steady[:2], steady, ">=", 1).verdict, "insufficient data")
        for op, held, not_held in ((">=", 2, 4), (">", 2, 3.5), ("<=", 4, 2), ("<", 3.5, 2)):
            self.assertEqual(stats.verdict(2.9, 3.1, op, held), "held", op)
            self.assertEqual(stats.verdict(2.9, 3.1, op, not_held), "not held", op)
            self.assertEqual(stats.verdict(2.9, 3.1, op, 3.0), "inconclusive", op)


class Claims(unittest.TestCase):
    def verdicts(self):
        """{source: [verdict, ...]} from the Markdown table."""
        r = script("claims.py", CSV, "--experiment", TOML, "--markdown")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "| claim | source | ratio [95% CI] | n | verdict |")
        found = {}
        for line in lines[2:]:
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            found.setdefault(cells[1], []).append(cells[4])
        return found

    def test_held_not_held_inconclusive_and_the_rest(self):
        v = self.verdicts()
        self.assertEqual(v["fixture: held"], ["held"])
        self.assertEqual(v["fixture: not held"], ["not held"])
        self.assertEqual(v["fixture: inconclusive"], ["inconclusive"])
        self.assertEqual(v["fixture: insufficient data"], ["insufficient data"])
        self.assertEqual(len(v["Rigtorp, SPSCQueue README"]), 3, "one row per capacity (per)")
        self.assertTrue(v["fixture: no such point"][0].startswith("not evaluable"))
        self.assertIn("handoff_slot matches no point", v["fixture: no such point"][0])

    def test_plain_table(self):
        r = script("claims.py", CSV, "--experiment", TOML)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"mpmc_ring\[wait=spin\] throughput_items_per_s >= 2 \* spsc_ring +"
                                   r"fixture: not held +0\.300 \[0\.29\d, 0\.30\d\] +5/5 +not held")

    def claim_error(self, statement):
        with tempfile.TemporaryDirectory() as tmp:
            toml = Path(tmp) / "claims.toml"
            toml.write_text(f'[[claim]]\nstatement = "{statement}"\nsource = "test"\n')
            r = script("claims.py", CSV, "--experiment", toml)
            self.assertEqual((r.returncode, len(r.stderr.strip().splitlines())), (1, 1), r.stderr)
            self.assertIn(str(toml), r.stderr)
            self.assertIn(statement, r.stderr)
            return r.stderr

    def test_a_malformed_statement_exits_1_naming_file_and_claim(self):
        self.assertIn("expected", self.claim_error("spsc_ring throughput_items_per_s >= 1.3 spsc_ring.lamport"))
        self.assertIn("not column=value", self.claim_error("spsc_ring[wait] lat_p99_ns < 2 * mpmc_ring"))

    def test_a_missing_column_exits_1(self):
        self.assertIn("no column 'throughput'", self.claim_error("spsc_ring throughput >= 1.3 * mpmc_ring"))


class Style(unittest.TestCase):
    def test_colours_are_fixed_distinct_and_stable_for_unknown_names(self):
        known = [*style.OUR_COLORS, *style.PEER_COLORS]
        self.assertEqual(len({style.queue_color(q) for q in known}), len(known))
        code = "import ringlab_style as s; print(s.queue_color('shm_ring'))"
        env = dict(os.environ, PYTHONPATH=str(ROOT / "plots"))
        seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=dict(env, PYTHONHASHSEED=seed)).stdout for seed in ("1", "2")}
        self.assertEqual(seen, {style.queue_color("shm_ring") + "\n"})

    def test_peers_dashed_ours_solid(self):
        self.assertEqual([style.line_style(q) for q in ("spsc_ring", "moodycamel", "aq.AtomicQueue2", "rwq.X")],
                         ["-", "--", "--", "--"])

    def test_labels_name_the_unit_the_values_were_scaled_to(self):
        self.assertEqual(style.axis_unit("throughput_items_per_s", 3e8), ("throughput (M items/s)", 1e6))
        self.assertEqual(style.axis_unit("lat_p99_ns", 1500), ("p99 latency (µs)", 1e3))
        self.assertEqual(style.axis_unit("lat_p9999_ns", 50)[0], "p99.99 latency (ns)")
        self.assertEqual(style.axis_unit("cpu_ns_per_item", 30), ("CPU time (ns/item)", 1.0))
        self.assertEqual(style.axis_unit("consume_20_ms", 2500), ("consume 20 (s)", 1e3))


if __name__ == "__main__":
    unittest.main()
