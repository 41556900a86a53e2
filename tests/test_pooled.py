"""plots/ringlab_pooled.py: a point's latency percentiles from its runs' histograms merged,
with a bootstrap over runs. Run with Debian's python: /usr/bin/python3 tests/test_pooled.py"""
import math
import sys
import unittest
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plots"))
import ringlab_pooled as pooled  # noqa: E402
import ringlab_stats as stats  # noqa: E402


def histogram(values):
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return " ".join(f"{m}:{c}" for m, c in sorted(counts.items()))


class Pooled(unittest.TestCase):
    def test_the_pooled_p99_is_the_p99_of_every_sample_not_the_median_of_p99s(self):
        # Six quiet runs (p99 100) and one with a tail: 200 samples of 5000 in 7000.
        quiet = [10] * 990 + [100] * 10
        tail = [10] * 800 + [5000] * 200
        rows = pd.DataFrame({"lat_histogram": [histogram(quiet)] * 6 + [histogram(tail)],
                             "lat_p99_ns": [100.0] * 6 + [5000.0]})
        value, low, high, runs = pooled.pooled(rows, "lat_p99_ns")
        self.assertEqual(runs, 7)
        self.assertEqual(value, 5000.0)  # 200 + 60 samples above 10 of 7000: the top 1% is the tail's
        self.assertEqual(float(rows["lat_p99_ns"].median()), 100.0)  # the control: the median hides it
        self.assertLessEqual(low, value)
        self.assertLessEqual(value, high)
        self.assertLess(low, high, "resampling the runs moves the pooled p99: it has an interval")
        p50 = pooled.pooled(rows, "lat_p50_ns")[0]
        self.assertEqual(p50, 10.0)

    def test_a_plot_point_takes_the_pooled_figure(self):
        import ringlab_points as points
        from types import SimpleNamespace
        quiet, tail = [10] * 990 + [100] * 10, [10] * 800 + [5000] * 200
        rows = pd.DataFrame({"point": ["p"] * 7, "capacity": [64] * 7, "queue": ["q"] * 7, "valid": [1] * 7,
                             "lat_histogram": [histogram(quiet)] * 6 + [histogram(tail)],
                             "lat_p99_ns": [100.0] * 6 + [5000.0]})
        spec = SimpleNamespace(where={}, y="lat_p99_ns", x="capacity", facet=None, series=None)
        (point,) = points.gather(rows, spec, 0.25)
        self.assertEqual(point.y.median, 5000.0)
        self.assertEqual(point.y.n, 7)
        (plain,) = points.gather(rows.drop(columns=["lat_histogram"]), spec, 0.25)
        self.assertEqual(plain.y.median, 100.0)  # the control: without histograms, the median of p99s

    def test_a_claim_on_a_percentile_compares_pooled_percentiles(self):
        import claims
        quiet, tail, steady = [10] * 990 + [100] * 10, [10] * 800 + [5000] * 200, [10] * 980 + [200] * 20
        rows = pd.DataFrame({"point": ["a"] * 7 + ["b"] * 7, "queue": ["q"] * 7 + ["r"] * 7,
                             "valid": [1] * 14, "disturbed": [0] * 14,
                             "lat_histogram": [histogram(quiet)] * 6 + [histogram(tail)] + [histogram(steady)] * 7,
                             "lat_p99_ns": [100.0] * 6 + [5000.0] + [200.0] * 7})
        claim = claims.parse("q lat_p99_ns <= 1 * r")
        ratio, _ = claims.judge(rows, claim.left, claim)
        self.assertEqual(ratio.ratio, 25.0, "q's pooled p99 (its tail run's) over r's")
        self.assertNotEqual(ratio.verdict, "held")
        plain, _ = claims.judge(rows.drop(columns=["lat_histogram"]), claim.left, claim)
        self.assertEqual(plain.ratio, 0.5)  # the control: the medians of the runs' p99s hide q's tail
        self.assertEqual(plain.verdict, "held")

    def test_without_histograms_there_is_no_pooled_figure(self):
        rows = pd.DataFrame({"lat_p99_ns": [1.0, 2.0]})
        self.assertIsNone(pooled.pooled(rows, "lat_p99_ns"))
        rows["lat_histogram"] = ["10:1", math.nan]
        self.assertIsNone(pooled.pooled(rows, "lat_p99_ns"), "one run without one: none")
        self.assertIsNone(pooled.pooled(pd.DataFrame({"lat_histogram": ["10:1"]}), "throughput_items_per_s"))

    def test_a_malformed_histogram_is_one_error(self):
        with self.assertRaises(stats.DataError) as e:
            pooled.pooled(pd.DataFrame({"lat_histogram": ["10:1 20"]}), "lat_p99_ns")
        self.assertIn("'20' is not MIDPOINT:COUNT", str(e.exception))


if __name__ == "__main__":
    unittest.main()
