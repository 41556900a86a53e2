"""What a [[plot]] draws: one PlotPoint per sweep point that passes the plot's
`where`, with its facet, series and x values and the y estimate from ringlab_stats.

x is normally a parameter (constant within a point). When it is measured (say
throughput on x, latency on y), the point sits at the median x and gets an x
interval too. Two points that would land on the same spot (same facet, series and
x -- say the plot forgot that `wait` varies) are an error, not a silent merge.
"""
import math
from dataclasses import dataclass

import pandas as pd

import ringlab_pooled as pooled
import ringlab_stats as stats
import ringlab_style as style
from ringlab_stats import DataError


@dataclass
class PlotPoint:
    point: str
    facet: object             # None without a facet column
    series: object            # None without a series column
    x: object                 # the x value (the median for a measured x)
    x_est: stats.Estimate     # None when x is a parameter
    y: stats.Estimate
    queue: object             # the point's queue, when it has one (for colours)
    floor_p50: tuple = ()     # its rows' machine floor (floor_p50_ns, floor_p99_ns), where measured
    floor_p99: tuple = ()
    censored: bool = False    # its y is a latency percentile only bounded below (ringlab_stats.censored)


def order_key(column, value):
    """Numbers ascending, queues in palette order, other text alphabetically, missing last."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (3, 0, "")
    if column == "queue":
        return (1, *style.queue_order(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (2, 0, str(value))


def constant(group, column, point, role):
    """The one value `column` has within a point (None without a column)."""
    if column is None:
        return None
    values = group[column].unique()
    if len(values) != 1:
        raise DataError(f"column '{column}' (the {role}) varies within point '{point}'; "
                        "it must be a parameter of the sweep")
    return plain(values[0])


def plain(value):
    """numpy scalars to Python ones, so values print and sort alike."""
    return value.item() if hasattr(value, "item") else value


def gather(rows, spec, noisy_spread):
    rows = stats.select(rows, spec.where)
    stats.require_numeric(rows, spec.y)
    points = []
    for point, group in rows.groupby("point", sort=False):
        x_values = group[spec.x]
        if x_values.nunique(dropna=False) == 1:
            x, x_est = plain(x_values.iloc[0]), None
        elif pd.api.types.is_numeric_dtype(x_values):
            x_est = stats.estimate(x_values, noisy_spread)
            x = x_est.median
        else:
            raise DataError(f"column '{spec.x}' (x) varies within point '{point}'")
        # A latency percentile pools the runs' histograms where the rows carry them.
        y = pooled.estimate(group, spec.y, noisy_spread) or stats.estimate(group[spec.y], noisy_spread)
        one_queue = "queue" in group.columns and group["queue"].nunique(dropna=False) == 1
        queue = plain(group["queue"].iloc[0]) if one_queue else None
        points.append(PlotPoint(point, constant(group, spec.facet, point, "facet"),
                                constant(group, spec.series, point, "series"), x, x_est, y, queue,
                                measured(group, "floor_p50_ns"), measured(group, "floor_p99_ns"),
                                stats.censored(group, spec.y)))
    check_distinct(points, spec)
    return sorted(points, key=lambda p: (order_key(spec.facet, p.facet), order_key(spec.series, p.series),
                                         order_key(spec.x, p.x)))


def measured(group, column):
    """The column's finite values in the point's rows; none without the column (CSVs
    written before it) or when it is empty (runs it was not measured for)."""
    if column not in group.columns or not pd.api.types.is_numeric_dtype(group[column]):
        return ()
    return tuple(float(v) for v in group[column] if math.isfinite(v))


def check_distinct(points, spec):
    seen = {}
    for p in points:
        if p.x_est is not None:
            continue
        key = (stats.text(p.facet), stats.text(p.series), stats.text(p.x))
        if key in seen:
            raise DataError(f"points '{seen[key]}' and '{p.point}' fall on the same spot ({describe(p, spec)}); "
                            "tell them apart with the plot's 'where', 'series' or 'facet'")
        seen[key] = p.point


def describe(p, spec):
    """'spsc_ring, wait=spin, capacity=1024': the point as the figure shows it (the
    point's own string when x is measured, as then x does not tell points apart)."""
    if p.x_est is not None:
        return p.point
    parts = [] if spec.series is None else [stats.text(p.series)]
    if spec.facet is not None:
        parts.append(f"{spec.facet}={stats.text(p.facet)}")
    parts.append(f"{spec.x}={stats.text(p.x)}")
    return ", ".join(parts)


def ordered(points, attr, column):
    """The distinct values of one attribute across points, in drawing order."""
    values = {}
    for p in points:
        values.setdefault(stats.text(getattr(p, attr)), getattr(p, attr))
    return sorted(values.values(), key=lambda v: order_key(column, v))
