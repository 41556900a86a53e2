"""harness_efficiency, a derived metric: how much of a queue's bare speed is left inside
the harness. A harness point (mode = harness; a CSV without `mode` is all harness) is
paired with the native point (mode = native: the queue's own API in a bare two-thread
loop) whose parameters are the same except `mode`, `group` and `latency_recorded` (the
native loop records none; the sweep may put native
runs in groups of their own). Its efficiency is median(harness throughput) /
median(native throughput), with the interval from ringlab_stats.efficiency.

A harness point with no such native point, or with several, has no efficiency: it is
a Pair with a `problem`, and whoever needs the number says so.
"""
import math
from dataclasses import dataclass

import pandas as pd

import ringlab_points as points
import ringlab_stats as stats
import ringlab_style as style
from ringlab_stats import DataError

METRIC = stats.EFFICIENCY
SOURCE = "throughput_items_per_s"      # the column both sides' medians come from
UNPAIRED_COLUMNS = ("mode", "group", "latency_recorded")  # may differ: the native loop records no latency
TABLE_COLUMNS = ["queue", "wait", "pattern", "capacity"]


@dataclass
class Pair:
    harness: str              # the harness point
    harness_rows: pd.DataFrame
    native: str = None        # its native partner, when there is exactly one
    native_rows: pd.DataFrame = None
    problem: str = ""         # why there is no partner, in full
    partners: int = 1         # how many native points would pair with it

    def estimate(self, noisy_spread=stats.DEFAULT_NOISY_SPREAD):
        return stats.efficiency(self.harness_rows[SOURCE], self.native_rows[SOURCE], noisy_spread)


def columns_needed(metric):
    """The CSV columns a metric is computed from (a derived metric's source)."""
    return [SOURCE] if metric == METRIC else [metric]


def is_harness(group):
    return stats.text(group["mode"].iloc[0]) != stats.NATIVE


def key(group, columns):
    return tuple(stats.text(group[c].iloc[0]) for c in columns)


def pairs(rows):
    """One Pair per harness point in `rows`, in order of first appearance."""
    stats.require_numeric(rows, SOURCE)
    columns = [c for c in stats.parameter_columns(rows) if c not in UNPAIRED_COLUMNS]
    points = list(rows.groupby("point", sort=False))
    natives = {}
    for point, group in points:
        if not is_harness(group):
            natives.setdefault(key(group, columns), []).append((point, group))
    out = []
    for point, group in points:
        if not is_harness(group):
            continue
        partners = natives.get(key(group, columns), [])
        if len(partners) == 1:
            out.append(Pair(point, group, *partners[0]))
        elif not partners:
            out.append(Pair(point, group, problem="no native point with the same parameters", partners=0))
        else:
            shown = "; ".join(p for p, _ in partners[:3]) + ("; ..." if len(partners) > 3 else "")
            out.append(Pair(point, group, problem=f"{len(partners)} native points with the same parameters ({shown})",
                            partners=len(partners)))
    return out


def unpaired_line(unpaired, limit=4):
    """'p (no native partner); q (2 native partners)' for harness points without an
    efficiency, up to `limit` listed."""
    listed = [f"{p.harness} ({'no' if not p.partners else p.partners} native partner{'s' * bool(p.partners)})"
              for p in unpaired[:limit]]
    return "; ".join(listed) + (f"; and {len(unpaired) - limit} more" if len(unpaired) > limit else "")


def gather(rows, spec, noisy_spread):
    """A [[plot]] with y = harness_efficiency: (one PlotPoint per harness point with a
    partner, the Pairs without one). x, series and facet come from the harness point."""
    found = pairs(stats.select(rows, spec.where))
    drawn = []
    for pair in (p for p in found if not p.problem):
        group, point = pair.harness_rows, pair.harness
        queue = points.plain(group["queue"].iloc[0]) if group["queue"].nunique(dropna=False) == 1 else None
        drawn.append(points.PlotPoint(point, points.constant(group, spec.facet, point, "facet"),
                                      points.constant(group, spec.series, point, "series"),
                                      points.constant(group, spec.x, point, "x"), None,
                                      pair.estimate(noisy_spread), queue))
    points.check_distinct(drawn, spec)
    drawn.sort(key=lambda p: (points.order_key(spec.facet, p.facet), points.order_key(spec.series, p.series),
                              points.order_key(spec.x, p.x)))
    return drawn, [p for p in found if p.problem]


def table_order(pair):
    return tuple(points.order_key(c, first(pair.harness_rows, c)) for c in TABLE_COLUMNS) + (pair.harness,)


def first(rows, column):
    if column not in rows.columns:
        return None
    value = rows[column].iloc[0]
    return value.item() if hasattr(value, "item") else value


def efficiency_table(csv, noisy_spread=stats.DEFAULT_NOISY_SPREAD):
    """A Markdown table: one row per harness point of the CSV (valid, undisturbed rows)
    that has a native partner, queues in palette order; then one line naming the harness
    points without one, if any. DataError when no point has a partner."""
    results = stats.load_results(csv)
    found = pairs(results.rows)
    paired = sorted((p for p in found if not p.problem), key=table_order)
    unpaired = [p for p in found if p.problem]
    if not paired:
        why = f": {unpaired_line(unpaired)}" if unpaired else " (no harness points)"
        raise DataError(f"{results.path}: no harness point has a native partner{why}")
    header = [*TABLE_COLUMNS, "native", "harness", "harness_efficiency [95% CI]", "n (harness/native)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for p in paired:
        eff = p.estimate(noisy_spread)
        ci = (f" [{style.three_digits(eff.ci_low)}, {style.three_digits(eff.ci_high)}]"
              if math.isfinite(eff.ci_low) else "")
        harness, native = stats.clean(p.harness_rows[SOURCE]), stats.clean(p.native_rows[SOURCE])
        cells = [stats.text(v) if (v := first(p.harness_rows, c)) is not None else "" for c in TABLE_COLUMNS]
        cells += [style.prose_value(SOURCE, stats.median_ci(native)[0]),
                  style.prose_value(SOURCE, stats.median_ci(harness)[0]),
                  style.three_digits(eff.median) + ci, f"{len(harness)}/{len(native)}"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if unpaired:
        lines += ["", "Without a native partner (not in the table): " + unpaired_line(unpaired, limit=len(unpaired))
                  + "."]
    return "\n".join(lines)
