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

import numpy as np
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


def table_order(pair, extra=()):
    return tuple(points.order_key(c, first(pair.harness_rows, c)) for c in (*TABLE_COLUMNS, *extra)) + (pair.harness,)


def first(rows, column):
    if column not in rows.columns:
        return None
    value = rows[column].iloc[0]
    return value.item() if hasattr(value, "item") else value


def regime(pair):
    """Which side held the harness runs up (the commonest `bottleneck`, in how many runs),
    how many changed speed mid-window, and which side's runs split into two regimes."""
    rows, parts = pair.harness_rows, []
    if "bottleneck" in rows.columns:
        named = rows["bottleneck"].dropna().astype(str)
        named = named[named != ""]
        if len(named):
            counts = named.value_counts()
            parts.append(f"{counts.index[0]} {counts.iloc[0]}/{len(named)}")
    if not parts:  # `block` (the queue's own calls never try first), or a CSV from before the column
        parts.append("bottleneck not known")
    if "regime_change" in rows.columns:
        changed = int((pd.to_numeric(rows["regime_change"], errors="coerce") == 1).sum())
        if changed:
            parts.append(f"{changed} changed mid-run")
    for side, side_rows in (("harness", pair.harness_rows), ("native", pair.native_rows)):
        if stats.bimodal(stats.clean(side_rows[SOURCE])):
            parts.append(f"{side} runs bimodal")
    return "; ".join(parts)


def varying_columns(rows, paired):
    """The parameters besides TABLE_COLUMNS in which paired harness points of the same
    TABLE_COLUMNS differ (e.g. producer_work_ns): without them two rows would read alike."""
    columns = [c for c in stats.parameter_columns(rows) if c not in (*TABLE_COLUMNS, "mode", "point")]
    alike = {}
    for p in paired:
        alike.setdefault(tuple(stats.text(first(p.harness_rows, c)) for c in TABLE_COLUMNS), []).append(p)
    return [c for c in columns
            if any(len({stats.text(first(p.harness_rows, c)) for p in same}) > 1 for same in alike.values())]


def efficiency_table(csv, noisy_spread=stats.DEFAULT_NOISY_SPREAD):
    """A Markdown table: one row per harness point of the CSV (valid, undisturbed rows)
    that has a native partner, queues in palette order; then one line naming the harness
    points without one, if any. DataError when no point has a partner."""
    results = stats.load_results(csv)
    found = pairs(results.rows)
    paired = [p for p in found if not p.problem]
    unpaired = [p for p in found if p.problem]
    if not paired:
        why = f": {unpaired_line(unpaired)}" if unpaired else " (no harness points)"
        raise DataError(f"{results.path}: no harness point has a native partner{why}")
    varying = varying_columns(results.rows, paired)
    paired.sort(key=lambda p: table_order(p, varying))  # by those too, numbers as numbers
    header = [*TABLE_COLUMNS, *varying, "native", "harness", "harness_efficiency [95% CI]", "n (harness/native)",
              "regime (bottleneck; stability)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for p in paired:
        eff = p.estimate(noisy_spread)
        ci = (f" [{style.three_digits(eff.ci_low)}, {style.three_digits(eff.ci_high)}]"
              if math.isfinite(eff.ci_low) else "")
        harness, native = stats.clean(p.harness_rows[SOURCE]), stats.clean(p.native_rows[SOURCE])
        cells = [stats.text(v) if (v := first(p.harness_rows, c)) is not None else "" for c in [*TABLE_COLUMNS, *varying]]
        cells += [style.prose_value(SOURCE, stats.median_ci(native)[0]),
                  style.prose_value(SOURCE, stats.median_ci(harness)[0]),
                  style.three_digits(eff.median) + ci, f"{len(harness)}/{len(native)}", regime(p)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if unpaired:
        lines += ["", "Without a native partner (not in the table): " + unpaired_line(unpaired, limit=len(unpaired))
                  + "."]
    return "\n".join(lines)


# --- The harness's cost as consumer work (issue 21, item 6) ---------------------------
# The harness's own cost per item on a host: what it adds to the cheapest hand-off there
# is (FLOOR: whole cache lines, no queue contract), 1/harness - 1/native. If the harness
# were nothing but that much work on the slower side, each queue's harness throughput
# would equal its native throughput with that much work per item on the consumer
# (--work-ns), read off the queue's native curve (its work_ns grid, linearly between two
# points). harness / native(work = cost) far from 1 says the harness costs that queue
# something else: waiting, blocking, the regime its sides fall into.
FLOOR = "floor.line_ring"
WORK = "work_ns"
BAND = 1.25  # the claim: harness / native(work = cost) within [1/BAND, BAND]


def _work_curves(rows, pair):
    """{work_ns: native throughputs} of the pair's native point and its work variants."""
    columns = [c for c in stats.parameter_columns(rows) if c not in (*UNPAIRED_COLUMNS, WORK)]
    native = rows[rows["mode"].map(stats.text) == stats.NATIVE]
    wanted = key(pair.native_rows, columns)
    same = native[[tuple(stats.text(v) for v in r) == wanted for r in native[columns].itertuples(index=False)]]
    work = same[WORK].fillna(0) if WORK in same.columns else pd.Series(0, index=same.index)
    return {float(w): stats.clean(group[SOURCE]) for w, group in same.groupby(work)}


def _draws(values, rng):
    return stats.bootstrap_medians(values, rng) if len(values) else None


def _interpolate(grid, curve_draws, work):
    """Per draw i: the curve through (grid, curve_draws[:, i]) at work[i], linearly."""
    grid = np.asarray(grid)
    at = np.clip(np.searchsorted(grid, work, side="right") - 1, 0, len(grid) - 2)
    a, b = grid[at], grid[at + 1]
    cols = np.arange(len(work))
    ya, yb = curve_draws[at, cols], curve_draws[at + 1, cols]
    return ya + (yb - ya) * (work - a) / (b - a)


def work_table(csv, floor=FLOOR):
    """A Markdown table: the harness's cost per item (from `floor`), then per harness point
    with native work variants: harness, native, native with that work on the consumer, and
    harness / the latter with a bootstrap 95% CI and the verdict of "within BAND"."""
    results = stats.load_results(csv)
    rows = results.rows
    found = [p for p in pairs(rows) if not p.problem]
    curves = {p.harness: _work_curves(rows, p) for p in found}
    floor_pair = next((p for p in found if stats.text(first(p.harness_rows, "queue")) == floor), None)
    if floor_pair is None:
        raise DataError(f"{results.path}: no harness point of {floor} with a native partner (the harness's cost)")
    shown_pairs = sorted((p for p in found if len(curves[p.harness]) > 1), key=table_order)
    if not shown_pairs:
        raise DataError(f"{results.path}: no native point has work_ns variants (a group with work_ns > 0)")
    rng = np.random.default_rng(stats.SEED)
    fh, fn = stats.clean(floor_pair.harness_rows[SOURCE]), stats.clean(floor_pair.native_rows[SOURCE])
    cost = max(0.0, 1e9 / np.median(fh) - 1e9 / np.median(fn))
    cost_draws = np.maximum(0.0, 1e9 / _draws(fh, rng) - 1e9 / _draws(fn, rng))
    low, high = stats.interval(cost_draws)
    lines = [f"The harness's cost per item here: {style.three_digits(cost)} ns [{style.three_digits(low)}, "
             f"{style.three_digits(high)}] (`{floor}`: 1/harness − 1/native, medians of {len(fh)}/{len(fn)} runs).", "",
             "| queue | wait | capacity | harness | native | native, that much work per item on the consumer "
             "| harness / that [95% CI] | n | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    for p in shown_pairs:
        grid = sorted(curves[p.harness])
        harness = stats.clean(p.harness_rows[SOURCE])
        n = min(len(harness), *(len(curves[p.harness][w]) for w in grid))
        median_curve = [float(np.median(curves[p.harness][w])) for w in grid]
        predicted = float(np.interp(cost, grid, median_curve))
        ratio = float(np.median(harness)) / predicted
        beyond = cost > grid[-1]
        if n < stats.MIN_REPETITIONS:
            ci, verdict = "", "insufficient data"
        else:
            curve_draws = np.vstack([_draws(curves[p.harness][w], rng) for w in grid])
            ratios = _draws(harness, rng) / _interpolate(grid, curve_draws, np.minimum(cost_draws, grid[-1]))
            r_low, r_high = stats.interval(ratios)
            ci = f" [{style.three_digits(r_low)}, {style.three_digits(r_high)}]"
            verdict = "beyond the work measured" if beyond else stats.verdict(r_low, r_high, stats.WITHIN, BAND)
        cells = [stats.text(first(p.harness_rows, c)) for c in ("queue", "wait", "capacity")]
        cells += [style.prose_value(SOURCE, float(np.median(harness))),
                  style.prose_value(SOURCE, median_curve[0]), style.prose_value(SOURCE, predicted),
                  style.three_digits(ratio) + ci, str(n), verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
