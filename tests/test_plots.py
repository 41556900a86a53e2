"""The Python side of ringlab: statistics, figures and claims, on hand-made sweeps:
tests/data/plot-fixture.* (the old CSV schema and flat provenance) and
tests/data/plot-efficiency.* (the new schema: harness and native runs, disturbed rows,
provenance sessions); each fixture's .py writes its CSV and says what is in it.
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
EFF_CSV, EFF_TOML = DATA / "plot-efficiency.csv", DATA / "plot-efficiency.toml"
PLOTS = ["throughput", "by-wait", "latency", "overview"]
STEADY = [0.99, 1.0, 1.01, 0.995, 1.005]   # the fixtures' repetition multipliers: median exactly 1
sys.path.insert(0, str(ROOT / "plots"))
import plot  # noqa: E402
import ringlab_efficiency as efficiency  # noqa: E402
import ringlab_experiment as experiments  # noqa: E402
import ringlab_points as points  # noqa: E402
import ringlab_stats as stats  # noqa: E402
import ringlab_style as style  # noqa: E402
import ringlab_tables as tables  # noqa: E402


def script(name, *args, env=None):
    return subprocess.run([sys.executable, str(ROOT / "plots" / name), *map(str, args)], capture_output=True,
                          text=True, timeout=120, env=env)


def fixture_without(tmp, column, csv=CSV):
    """A fixture CSV (cells untouched) minus one column."""
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    path = Path(tmp) / "cut.csv"
    frame.drop(columns=[column]).to_csv(path, index=False)
    return path


def claim_table(csv, toml):
    """{source: [(group, ratio, n, verdict), ...]} from claims.py's Markdown table."""
    r = script("claims.py", csv, "--experiment", toml, "--markdown")
    assert r.returncode == 0, r.stderr
    found = {}
    for line in r.stdout.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        group = cells[0].rsplit("` (", 1)[1][:-1] if "` (" in cells[0] else ""
        found.setdefault(cells[1], []).append((group, *cells[2:]))
    return found


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

    def test_two_regimes_across_runs_are_bimodal_and_scatter_is_not(self):
        self.assertTrue(stats.estimate([100, 104, 98, 160, 155]).bimodal)   # 2 runs 1.49x above 3
        self.assertFalse(stats.estimate([100, 104, 98, 103, 160]).bimodal)  # one outlier is not a regime
        self.assertFalse(stats.estimate([100, 115, 130, 145, 160]).bimodal)  # even steps: scatter, no gap
        self.assertFalse(stats.estimate([100, 104, 98, 125, 122]).bimodal)   # a gap under 1.3x

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

    def test_a_right_side_may_name_a_metric_of_its_own(self):
        # p99 >= p50 of one point holds; p50 >= 2 x p99 of it cannot (the control).
        with tempfile.TemporaryDirectory() as tmp:
            toml = Path(tmp) / "claims.toml"
            point = "spsc_ring[capacity=1024,wait=spin]"
            toml.write_text(f'[[claim]]\nstatement = "{point} lat_p99_ns >= 1 * {point} lat_p50_ns"\nsource = "a"\n'
                            f'[[claim]]\nstatement = "{point} lat_p50_ns >= 2 * {point} lat_p99_ns"\nsource = "b"\n')
            r = script("claims.py", CSV, "--experiment", toml, "--markdown")
            self.assertEqual(r.returncode, 0, r.stderr)
            verdicts = [line.strip("|").split(" | ")[4].strip() for line in r.stdout.splitlines()[2:]]
            self.assertEqual(verdicts, ["held", "not held"])

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

    def test_prose_values_have_three_digits_and_a_scaled_unit(self):
        cases = [("throughput_items_per_s", 312.4e6, "312 M items/s"), ("lat_p99_ns", 118.2, "118 ns"),
                 ("lat_p99_ns", 3400, "3.4 µs"), ("lat_p99_ns", 999.7, "1 µs"), ("capacity", 1024, "1024"),
                 ("harness_efficiency", 0.7512, "0.751"), ("foreign_busy_fraction", 0.123, "12.3%"),
                 ("lat_p99_ns", float("nan"), "n/a")]
        for column, value, expected in cases:
            self.assertEqual(style.prose_value(column, value), expected, column)


class Efficiency(unittest.TestCase):
    """harness_efficiency: pairing, its estimate, its plot (tests/data/plot-efficiency.py lists the points)."""

    def test_harness_points_pair_with_the_native_point_of_the_same_parameters(self):
        found = {p.harness.split()[1]: p for p in efficiency.pairs(stats.load_results(EFF_CSV).rows)}
        self.assertEqual(sorted(found), ["queue=aq.AtomicQueue.spsc", "queue=moodycamel", "queue=rwq.ReaderWriterQueue",
                                         "queue=spsc_ring"])
        self.assertEqual(found["queue=spsc_ring"].native, "group=spsc-native queue=spsc_ring wait=spin mode=native")
        self.assertEqual(found["queue=spsc_ring"].problem, "")
        # Negative controls: no partner, and two partners, are reported rather than guessed.
        self.assertEqual(found["queue=rwq.ReaderWriterQueue"].problem, "no native point with the same parameters")
        self.assertTrue(found["queue=moodycamel"].problem.startswith("2 native points with the same parameters"))
        self.assertIsNone(found["queue=moodycamel"].native)

    def test_the_table_names_a_parameter_its_paired_points_differ_in(self):
        rows = pd.read_csv(EFF_CSV)
        rows = rows[rows["queue"] == "spsc_ring"].assign(producer_work_ns=0)
        slower = [rows.assign(producer_work_ns=w, point=rows["point"] + f" producer_work_ns={w}",
                              throughput_items_per_s=rows["throughput_items_per_s"] / 2) for w in (10, 2)]
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "work.csv"
            pd.concat([rows, *slower]).to_csv(csv, index=False)
            lines = efficiency.efficiency_table(csv).splitlines()
        self.assertTrue(lines[0].startswith("| queue | wait | pattern | capacity | producer_work_ns | native |"), lines[0])
        self.assertEqual([line.split(" | ")[4] for line in lines[2:]], ["0", "2", "10"], "in that order: numbers as numbers")
        # The control: where the paired points differ in nothing else, no column is added.
        self.assertNotIn("producer_work_ns", efficiency.efficiency_table(EFF_CSV).splitlines()[0])

    def test_the_estimate_is_the_ratio_of_medians_with_a_bootstrap_interval(self):
        harness, native = [300 * m for m in STEADY], [400 * m for m in STEADY]
        e = stats.efficiency(harness, native)
        self.assertEqual((e.n, e.median), (5, 0.75))
        rng = stats.np.random.default_rng(stats.SEED)   # the same machinery, by hand
        draws = stats.bootstrap_medians(harness, rng) / stats.bootstrap_medians(native, rng)
        self.assertEqual((e.ci_low, e.ci_high), stats.interval(draws))
        self.assertLess(e.ci_low, 0.75)
        self.assertGreater(e.ci_high, 0.75)
        self.assertEqual(stats.efficiency(harness, native[:3]).n, 3, "n is the smaller side's")
        self.assertTrue(math.isnan(stats.efficiency([300], native).ci_low), "one value a side: no interval")
        self.assertEqual(stats.efficiency([], native).n, 0)

    def test_the_plot_draws_paired_points_and_names_the_rest_in_one_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            runs = [script("plot.py", EFF_CSV, "--experiment", EFF_TOML, "--out-dir", Path(tmp) / d) for d in "ab"]
            r = runs[0]
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr.strip().splitlines(), [
                "plot.py: plot 'efficiency': harness_efficiency: 2 harness point(s) left out: "
                "group=spsc queue=rwq.ReaderWriterQueue wait=spin mode=harness (no native partner); "
                "group=spsc queue=moodycamel wait=spin mode=harness (2 native partners)"])
            self.assertIn("efficiency: harness efficiency (harness / native) by queue", r.stdout)
            medians = {line.split()[1]: line.split()[5] for line in r.stdout.splitlines() if "mode=harness" in line}
            self.assertEqual(medians, {"queue=spsc_ring": "0.75", "queue=aq.AtomicQueue.spsc": "0.5"})
            for fmt in ("png", "pdf"):
                a, b = (Path(tmp) / d / f"plot-efficiency-efficiency.{fmt}" for d in "ab")
                self.assertEqual(a.read_bytes(), b.read_bytes())

    def test_a_csv_without_mode_is_all_harness_and_its_efficiency_plot_is_skipped(self):
        self.assertEqual(set(stats.load_results(CSV).rows["mode"]), {"harness"})
        with tempfile.TemporaryDirectory() as tmp:
            toml = Path(tmp) / "e.toml"
            toml.write_text('[[plot]]\nname = "e"\nx = "queue"\ny = "harness_efficiency"\n')
            r = script("plot.py", CSV, "--experiment", toml, "--out-dir", tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn("no harness point has a native partner; skipped", r.stderr)

    def test_mode_cannot_be_an_efficiency_plots_where_x_series_or_facet(self):
        for extra in ('where = { mode = "harness" }', 'series = "mode"'):
            with tempfile.TemporaryDirectory() as tmp:
                toml = Path(tmp) / "e.toml"
                toml.write_text(f'[[plot]]\nname = "e"\nx = "queue"\ny = "harness_efficiency"\n{extra}\n')
                r = script("plot.py", EFF_CSV, "--experiment", toml, "--out-dir", tmp)
                self.assertEqual((r.returncode, len(r.stderr.strip().splitlines())), (1, 1), r.stderr)
                self.assertIn("'mode' cannot be its x, series, facet or where", r.stderr)

    def test_the_label_is_a_ratio_never_scaled(self):
        self.assertEqual(style.axis_unit("harness_efficiency", 1e7), ("harness efficiency (harness / native)", 1.0))


class Regime(unittest.TestCase):
    def test_the_regime_column_names_the_bottleneck_and_the_unstable(self):
        from types import SimpleNamespace
        steady = pd.DataFrame({"throughput_items_per_s": [200, 201, 202, 199, 200]})
        split = pd.DataFrame({"throughput_items_per_s": [100, 101, 99, 150, 152],
                              "bottleneck": ["consumer"] * 4 + ["producer"], "regime_change": [0, 0, 1, 0, 0]})
        self.assertEqual(efficiency.regime(SimpleNamespace(harness_rows=split, native_rows=steady)),
                         "consumer 4/5; 1 changed mid-run; harness runs bimodal")
        # The control: steady runs without the columns (block, or an older CSV) claim nothing.
        self.assertEqual(efficiency.regime(SimpleNamespace(harness_rows=steady, native_rows=steady)),
                         "bottleneck not known")


class HarnessCost(unittest.TestCase):
    """The harness's cost as consumer work (ringlab_efficiency.work_table): the cost from the
    floor queue, each queue's native curve read at it, harness / that within 1.25."""

    def write(self, tmp, curves):
        """curves: {queue: (harness, {work_ns: native})}, 5 runs each at value x STEADY."""
        rows = []
        for queue, (harness, native) in curves.items():
            for mode, work, value in [("harness", 0, harness)] + [("native", w, v) for w, v in native.items()]:
                for rep, m in enumerate(STEADY):
                    rows.append({"experiment": "f", "repetition": rep, "group": "stream", "queue": queue, "wait": "spin",
                                 "capacity": 1024, "mode": mode, "work_ns": work, "valid": 1,
                                 "throughput_items_per_s": value * m * 1e6})
        path = Path(tmp) / "f.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        return path

    def test_a_queue_taxed_only_by_the_cost_holds_and_one_taxed_more_does_not(self):
        # Floor: harness 200, native 250 M/s: 1/200 - 1/250 = 1 ns. fair: native 400 at 0,
        # 300 at 2 ns: 350 at 1 ns, harness 350 -> 1.0. taxed (the control): harness 175 -> 0.5.
        with tempfile.TemporaryDirectory() as tmp:
            table = efficiency.work_table(self.write(tmp, {
                "floor.line_ring": (200, {0: 250}), "fair": (350, {0: 400, 2: 300}), "taxed": (175, {0: 400, 2: 300})}))
        lines = table.splitlines()
        self.assertTrue(lines[0].startswith("The harness's cost per item here: 1.00 ns ["), lines[0])
        fair = next(line for line in lines if line.startswith("| fair "))
        taxed = next(line for line in lines if line.startswith("| taxed "))
        self.assertIn("| 350 M items/s | 400 M items/s | 350 M items/s | 1.00 [", fair)
        self.assertTrue(fair.endswith("| 5 | held |"), fair)
        self.assertIn("| 0.500 [", taxed)
        self.assertTrue(taxed.endswith("| 5 | not held |"), taxed)
        self.assertFalse(any(line.startswith("| floor.line_ring ") for line in lines), "no curve, no row")

    def test_a_cost_beyond_the_curve_is_said_not_extrapolated(self):
        with tempfile.TemporaryDirectory() as tmp:  # floor: 1/100 - 1/250 = 6 ns; the curve ends at 2
            table = efficiency.work_table(self.write(tmp, {"floor.line_ring": (100, {0: 250}),
                                                           "fair": (350, {0: 400, 2: 300})}))
        self.assertTrue(table.splitlines()[-1].endswith("| beyond the work measured |"), table)

    def test_without_the_floor_or_a_curve_it_says_so(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaisesRegex(stats.DataError, "no harness point of floor.line_ring"):
                efficiency.work_table(self.write(tmp, {"fair": (350, {0: 400, 2: 300})}))
            with self.assertRaisesRegex(stats.DataError, "no native point has work_ns variants"):
                efficiency.work_table(self.write(tmp, {"floor.line_ring": (200, {0: 250}), "fair": (350, {0: 400})}))


class Tables(unittest.TestCase):
    """The README's ranking and detection tables (plots/ringlab_tables.py) from small CSVs."""

    def write(self, tmp, rows):
        path = Path(tmp) / "t.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        return path

    def test_ranking_orders_by_throughput_with_ratios_to_the_base_and_keeps_only_the_filtered_rows(self):
        rows = []
        for queue, scope, thr, p99 in [("shm_spsc", "process", 100e6, 2000), ("pipe", "process", 2e6, 8000),
                                       ("spsc_ring", "thread", 200e6, 1000)]:
            for wait, scale in [("park", 1), ("spin", 1000)]:   # spin rows would reorder everything
                rows.append(dict(valid=1, disturbed=0, queue=queue, scope=scope, wait=wait, payload_bytes=8,
                                 offered_rate_items_per_s=0, throughput_items_per_s=thr * scale if queue == "pipe" else thr,
                                 cpu_ns_per_item=10, lat_p99_ns=None))
                rows.append(dict(valid=1, disturbed=0, queue=queue, scope=scope, wait=wait, payload_bytes=8,
                                 offered_rate_items_per_s=100000, throughput_items_per_s=1e5, cpu_ns_per_item=10,
                                 lat_p99_ns=p99))
        with tempfile.TemporaryDirectory() as tmp:
            csv = self.write(tmp, rows)
            lines = tables.ranking_table(csv, "shm_spsc", 8, {"wait": ["park"]}).splitlines()
            self.assertEqual([line.split(" | ")[0].strip("| `") for line in lines[2:]], ["spsc_ring", "shm_spsc", "pipe"])
            self.assertTrue(lines[2].endswith("| 2 | 0.5 |"), lines[2])
            self.assertTrue(lines[4].endswith("| 0.02 | 4 |"), lines[4])
            # Negative control: without the filter the spin rows count and the pipe leads.
            unfiltered = tables.ranking_table(csv, "shm_spsc", 8).splitlines()
            self.assertIn("`pipe`", unfiltered[2])
            with self.assertRaises(stats.DataError):
                tables.ranking_table(csv, "shm_spsc", 8, {"nonesuch": ["x"]})
            with self.assertRaises(stats.DataError):
                tables.ranking_table(csv, "iceoryx", 8)

    def test_detection_counts_every_outcome_hung_included_and_says_how_the_survivor_knew(self):
        rows = [dict(valid=1, queue="pipe", fault="kill-producer", detect_ns=1000 * k, survivor_detect_ns=2000,
                     detected_by="pidfd; consumer 0: EOF: read returned 0", outcome="failed-clean") for k in (1, 2, 3)]
        rows += [dict(valid=v, queue="shm_spsc", fault="kill-consumer", detect_ns=500, survivor_detect_ns=None,
                      detected_by="pidfd", outcome=o) for v, o in ((1, "recovered"), (0, "hung"))]
        rows.append(dict(valid=1, queue="shm_spsc", fault="none", detect_ns=None, survivor_detect_ns=None,
                         detected_by=None, outcome=None))
        with tempfile.TemporaryDirectory() as tmp:
            lines = tables.detection_table(self.write(tmp, rows)).splitlines()
        self.assertEqual(len(lines), 4, "a row per transport and fault; runs without a fault are not shown")
        self.assertIn("| `pipe` | producer | 2 µs | 2 µs | 2 µs | EOF | 3 failed-clean |", lines[2])
        self.assertIn("| never | never | never (stopped after the grace second) |", lines[3])
        self.assertIn("1 recovered, 1 hung", lines[3])

    def test_detection_splits_waits_counts_silent_survivors_and_shows_the_slowest(self):
        rows = [dict(valid=1, queue="shm_spsc", wait=w, fault="kill-producer", detect_ns=1000, survivor_detect_ns=t,
                     detected_by=None if t is None else "pidfd; consumer 0: the side registry: producer 0 died",
                     outcome="recovered") for w, t in (("spin", 500), ("spin", 900), ("park", 3000), ("park", None))]
        with tempfile.TemporaryDirectory() as tmp:
            lines = tables.detection_table(self.write(tmp, rows)).splitlines()
        self.assertEqual(len(lines), 4, "a row per wait")
        self.assertIn("| `shm_spsc` (park) | producer | 1 µs | 3 µs | 3 µs | the side registry (1 of 2 never) |", lines[2])
        self.assertIn("| `shm_spsc` (spin) | producer | 1 µs | 700 ns | 900 ns | the side registry |", lines[3])
        # Negative control: one wait only, no split (and no silent survivor to count).
        with tempfile.TemporaryDirectory() as tmp:
            one = tables.detection_table(self.write(tmp, rows[:2])).splitlines()
        self.assertIn("| `shm_spsc` | producer |", one[2])
        self.assertNotIn("never)", one[2])

    def test_campaign_counts_kills_lost_doubled_hangs_and_where_the_guarantee_held(self):
        def kill(fault, lost, doubled, outcome="recovered", told=500, guarantee=None, valid=1):
            return dict(valid=valid, queue="shm_mpmc", fault=fault, survivor_detect_ns=told, outcome=outcome,
                        items_lost=lost, items_doubled=doubled,
                        crash_guarantee=guarantee or ("exactly-once" if fault == "kill-producer" else "at-most-once"))
        rows = [kill("kill-consumer", 1, 0), kill("kill-consumer", 0, 0), kill("kill-consumer", 2, 0, valid=0),
                kill("kill-producer", 0, 0), kill("kill-producer", 0, 1, valid=0),
                kill("kill-producer", None, None, outcome="hung", told=None, valid=0)]
        with tempfile.TemporaryDirectory() as tmp:
            lines = tables.campaign_table(self.write(tmp, rows)).splitlines()
        self.assertEqual(len(lines), 4, "a row per transport and fault")
        # consumer: 2 lost beyond at-most-once's one item is the control that fails
        self.assertIn("| `shm_mpmc` | consumer | 3 | 3 | 500 ns / 500 ns | 3 | 3 | 0 | 0 | at-most-once | 2 of 3 | 2 |", lines[2])
        # producer: a doubled item and a hang (its counts unknown) are counted, never hidden
        self.assertIn("| `shm_mpmc` | producer | 3 | 2 | 500 ns / 500 ns | 2 | 0 | 1 | 1 | exactly-once | 1 of 2 | 1 |", lines[3])


class ClaimsOnEfficiency(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.table = claim_table(EFF_CSV, EFF_TOML)

    def verdicts(self, source):
        return [row[-1] for row in self.table[source]]

    def test_efficiency_claims_held_not_held_inconclusive(self):
        self.assertEqual(self.verdicts("efficiency: held"), ["held"])
        self.assertEqual(self.verdicts("efficiency: not held"), ["not held"])   # 1.5 is not >= 2
        self.assertEqual(self.verdicts("efficiency: inconclusive"), ["inconclusive"])  # 0.5/0.75 straddles 0.667
        self.assertTrue(self.table["efficiency: held"][0][1].startswith("1.50 ["), self.table["efficiency: held"])

    def test_an_efficiency_claim_bootstraps_all_four_samples(self):
        rows = stats.load_results(EFF_CSV).rows
        values = {p.harness.split()[1]: (p.harness_rows[efficiency.SOURCE], p.native_rows[efficiency.SOURCE])
                  for p in efficiency.pairs(rows) if not p.problem}
        r = stats.ratio_of_efficiencies(*values["queue=spsc_ring"], *values["queue=aq.AtomicQueue.spsc"], ">=", 1.2)
        self.assertAlmostEqual(r.ratio, 1.5)
        self.assertEqual(self.table["efficiency: held"][0][1],
                         f"{style.three_digits(r.ratio)} "
                         f"[{style.three_digits(r.ci_low)}, {style.three_digits(r.ci_high)}]")

    def test_within(self):
        self.assertEqual(self.verdicts("within: held"), ["held"])          # 1.5 in [1/1.6, 1.6]
        self.assertEqual(self.verdicts("within: not held"), ["not held"])  # 1.5 above [1/1.2, 1.2]
        self.assertTrue(self.verdicts("within: not evaluable (where drops the right side)")[0]
                        .startswith("not evaluable: aq.AtomicQueue.spsc matches no harness point"))
        for low, high, expected in ((0.9, 1.1, "held"), (1.3, 1.5, "not held"), (0.5, 0.6, "not held"),
                                    (0.7, 1.5, "inconclusive"), (0.5, 1.5, "inconclusive")):
            self.assertEqual(stats.verdict(low, high, "within", 1.2), expected, (low, high))

    def test_a_wildcard_gives_a_row_per_other_queue(self):
        rows = self.table["wildcard: efficiency"]
        self.assertEqual([r[0] for r in rows], ["queue=moodycamel", "queue=aq.AtomicQueue.spsc",
                                                "queue=rwq.ReaderWriterQueue"])   # palette order, no spsc_ring
        self.assertTrue(rows[0][-1].startswith("not evaluable: moodycamel: 2 native points"), rows[0])
        self.assertEqual(rows[1][-1], "held")
        self.assertTrue(rows[2][-1].startswith("not evaluable: rwq.ReaderWriterQueue: no native point"), rows[2])
        filtered = self.table["wildcard: spin throughput"]   # *[wait=spin]: aq (wait=block) is not one
        self.assertEqual([r[0] for r in filtered], ["queue=moodycamel", "queue=rwq.ReaderWriterQueue"])
        self.assertEqual(filtered[0][-1], "not held")

    def test_pairing_failures_are_reported_not_evaluable(self):
        self.assertEqual(self.verdicts("pairing: no native point"),
                         ["not evaluable: rwq.ReaderWriterQueue: no native point with the same parameters"])
        self.assertTrue(self.verdicts("pairing: two native points")[0]
                        .startswith("not evaluable: moodycamel: 2 native points with the same parameters ("))

    def test_a_verdict_that_the_disturbed_rows_flip_is_inconclusive(self):
        [(_, ratio, n, verdict)] = self.table["disturbed: flips"]
        self.assertEqual(verdict, "inconclusive (held without disturbed rows, inconclusive with them)")
        self.assertEqual(n, "5/5 (+4 disturbed)")   # 1 row of aq's, 3 of rwq's
        self.assertTrue(ratio.startswith("1.50 ["), "the ratio shown is the undisturbed one")
        # Negative control: a disturbed row close to the rest changes nothing but n.
        self.assertEqual(self.table["disturbed: does not flip"], [("", "2.00 [1.97, 2.03]", "5/5 (+1 disturbed)",
                                                                   "held")])

    def test_grammar_errors(self):
        for statement, words in (("spsc_ring throughput_items_per_s within 1 * aq.AtomicQueue.spsc", "above 1"),
                                 ("spsc_ring throughput_items_per_s >= 1 * *", "expected"),
                                 ("spsc_ring throughput_items_per_s within1.5 * rwq", "expected")):
            with tempfile.TemporaryDirectory() as tmp:
                toml = Path(tmp) / "c.toml"
                toml.write_text(f'[[claim]]\nstatement = "{statement}"\n')
                r = script("claims.py", EFF_CSV, "--experiment", toml)
                self.assertEqual((r.returncode, len(r.stderr.strip().splitlines())), (1, 1), r.stderr)
                self.assertIn(words, r.stderr)


class Footer(unittest.TestCase):
    SPEC = experiments.PlotSpec(name="t", x="capacity", y="throughput_items_per_s", series="queue")

    def panel(self, ns):
        return [(self.SPEC, [points.PlotPoint(f"p{i}", None, "spsc_ring", 2 ** i, None,
                                              stats.Estimate(n, 1.0, 1.0, 1.0, 0.0, False), "spsc_ring")
                             for i, n in enumerate(ns)])]

    def test_one_n_for_every_point(self):
        self.assertEqual(plot.counts_text(self.panel([5, 5, 5])), "median of n = 5 per point, 95% CI")

    def test_n_varying_names_the_points_below_the_largest_n(self):
        self.assertEqual(plot.counts_text(self.panel([5, 3, 5, 4])),
                         "median of n = 3-5 per point (fewer than 5: spsc_ring, capacity=2 n=3; "
                         "spsc_ring, capacity=8 n=4), 95% CI")
        many = plot.counts_text(self.panel([5, 3, 3, 3, 3, 3, 2]))
        self.assertTrue(many.startswith("median of n = 2-5 per point (fewer than 5: spsc_ring, capacity=2 n=3; "), many)
        self.assertTrue(many.endswith("capacity=16 n=3; and 2 more), 95% CI"), many)

    def test_the_fixtures_footers(self):
        rows = stats.load_results(CSV)
        spec = experiments.load(TOML).plots[0]   # throughput, wait=spin: mutex_ring has 2 runs
        pts = points.gather(rows.rows, spec, 0.25)
        line = plot.provenance_line(rows, plot.counts_text([(spec, pts)]))
        self.assertEqual(line, "fixture-host-2pu · Fixture CPU @ 2.00GHz · commit 8799b4b199 · data 2024-05-31 · "
                               "median of n = 2-5 per point (fewer than 5: mutex_ring, capacity=1024 n=2), 95% CI")


class Provenance(unittest.TestCase):
    def test_the_flat_file_is_one_session(self):
        prov = stats.load_provenance(CSV)
        self.assertEqual(prov["git_commit"], "8799b4b19925e2526694889d83b07a5459def5e4")
        self.assertEqual(len(prov["sessions"]), 1)
        self.assertEqual(prov["sessions"][0]["cpu_model"], "Fixture CPU @ 2.00GHz")

    def test_sessions_the_latest_on_top(self):
        prov = stats.load_provenance(EFF_CSV)
        self.assertEqual([s["git_commit"][:10] for s in prov["sessions"]], ["1111111111", "2222222222"])
        self.assertEqual(prov["git_commit"][:10], "2222222222")
        # The second session wrote repetitions 3-4 of 8 points and the 4 disturbed rows.
        self.assertEqual((prov["experiment"], prov["rows_this_session"]), ("plot-efficiency", 20))
        self.assertEqual(stats.load_provenance(DATA / "no-such.csv"), {"sessions": []})

    def test_malformed_sessions_fail_naming_the_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "x.json").write_text('{"sessions": {"host": "h"}}')
            with self.assertRaisesRegex(stats.DataError, r"x\.json: 'sessions' must be a list of objects"):
                stats.load_provenance(Path(tmp) / "x.csv")

    def test_the_footer_names_every_sessions_commit(self):
        with tempfile.TemporaryDirectory() as tmp:
            cut = fixture_without(tmp, "commit", EFF_CSV)
            (Path(tmp) / "cut.json").write_bytes(EFF_CSV.with_suffix(".json").read_bytes())
            line = plot.provenance_line(stats.load_results(cut), "N")
        self.assertIn("commit 1111111111, 2222222222-dirty · data 2024-06-01 to 2024-06-02", line)
        line = plot.provenance_line(stats.load_results(EFF_CSV), "N")   # the column, when there is one
        self.assertIn("commit 1111111111, 2222222222 ·", line)

    def test_new_schema_rows_load_without_attempts(self):
        results = stats.load_results(EFF_CSV)
        self.assertNotIn("attempts", results.rows.columns)
        self.assertEqual(len(results.rows), 40)
        self.assertEqual(len(results.valid_rows), 44, "valid_rows keeps the 4 disturbed rows")
        self.assertIn("pattern", stats.parameter_columns(results.rows))
        self.assertEqual(stats.parameter_columns(results.rows)[:2], ["group", "queue"])


class MachineFloor(unittest.TestCase):
    """A latency figure over rows with the machine's floor (floor_p50_ns, floor_p99_ns):
    the band from the median p50 to the median p99, and a ring on the point whose CI
    reaches it; rows without the floor (every CSV before it) draw as they always did."""
    SPEC = experiments.PlotSpec(name="t", x="capacity", y="lat_p99_ns", series="queue")

    def figure(self, tmp, floor=True, spec=SPEC):
        """Two points: spsc_ring's p99 (~100 ns) inside the floor (p50 20, p99 150 ns), mutex_ring's (~5 us) far above."""
        rows = []
        for queue, lat in (("spsc_ring", 100), ("mutex_ring", 5000)):
            for rep, m in enumerate(STEADY):
                row = {"experiment": "f", "point": queue, "repetition": rep, "queue": queue, "capacity": 1024, "valid": 1,
                       "throughput_items_per_s": 1e6 * m, "lat_p99_ns": lat * m}
                if floor is not None:
                    row.update({"floor_p50_ns": 20 * m if floor else None, "floor_p99_ns": 150 * m if floor else None})
                rows.append(row)
        path = Path(tmp) / "f.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        pts = points.gather(stats.load_results(path).rows, spec, 0.25)
        sc = plot.figure.scales(spec, pts)
        ax = plot.figure.draw(spec, pts, sc, "t", [], 0.25).axes[0]
        bands = [p for p in ax.patches if p.get_gid() == "machine-floor"]
        rings = [line for line in ax.lines if line.get_gid() == "at-floor"]
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        in_ns = [sorted({round(y * sc.ydiv, 6) for _, y in b.get_xy()}) for b in bands]   # bottom and top
        return in_ns, [tuple(r.get_ydata() * sc.ydiv) for r in rings], legend

    def test_the_floor_is_a_band_and_a_point_inside_it_is_ringed(self):
        with tempfile.TemporaryDirectory() as tmp:
            bands, rings, legend = self.figure(tmp)
        self.assertEqual(bands, [[20.0, 150.0]], "from the median floor_p50_ns to the median floor_p99_ns")
        self.assertEqual(rings, [(100.0,)], "spsc_ring only: mutex_ring is far above")
        self.assertIn(plot.figure.AT_FLOOR, legend)
        self.assertIn("machine's floor (p50-p99)", legend)

    def test_without_floor_values_or_for_another_metric_nothing_changes(self):
        throughput = experiments.PlotSpec(name="t", x="capacity", y="throughput_items_per_s", series="queue")
        with tempfile.TemporaryDirectory() as tmp:
            for what, floor, spec in (("no columns", None, self.SPEC), ("empty columns", False, self.SPEC),
                                      ("not a latency", True, throughput)):
                bands, rings, legend = self.figure(tmp, floor, spec)
                self.assertEqual((bands, rings), ([], []), what)
                self.assertEqual(legend, ["mutex_ring", "spsc_ring"], what)



class Censored(unittest.TestCase):
    """A latency point whose censored samples reach into its tail gets an arrow up (a lower
    bound) and a legend entry; below its tail, or without the column, nothing (the control)."""
    SPEC = experiments.PlotSpec(name="t", x="capacity", y="lat_p99_ns", series="queue")

    def arrows(self, tmp, censored_share):
        rows = []
        for queue, lat in (("spsc_ring", 100), ("mutex_ring", 5000)):
            for rep, m in enumerate(STEADY):
                row = {"experiment": "c", "point": queue, "repetition": rep, "queue": queue, "capacity": 1024,
                       "valid": 1, "lat_p99_ns": lat * m, "lat_samples": 1000}
                if censored_share is not None:
                    row["lat_censored_samples"] = int(1000 * censored_share) if queue == "mutex_ring" else 0
                rows.append(row)
        path = Path(tmp) / "c.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        pts = points.gather(stats.load_results(path).rows, self.SPEC, 0.25)
        sc = plot.figure.scales(self.SPEC, pts)
        ax = plot.figure.draw(self.SPEC, pts, sc, "t", [], 0.25).axes[0]
        marks = [tuple(line.get_ydata() * sc.ydiv) for line in ax.lines if line.get_gid() == "censored"]
        return marks, [t.get_text() for t in ax.get_legend().get_texts()]

    def test_a_censored_percentile_is_drawn_as_a_lower_bound(self):
        with tempfile.TemporaryDirectory() as tmp:
            marks, legend = self.arrows(tmp, 0.5)
            self.assertEqual(len(marks), 1, "mutex_ring's only")
            self.assertIn(plot.figure.CENSORED, legend)
            for share in (None, 0.005):  # no column; censored samples within the p99's tail
                marks, legend = self.arrows(tmp, share)
                self.assertEqual(marks, [], share)
                self.assertNotIn(plot.figure.CENSORED, legend)

if __name__ == "__main__":
    unittest.main()
