"""ringlab's statistics: the one place that turns result rows into numbers.

Rows: a results CSV (one row per run) is loaded with its provenance JSON beside it.
Only valid rows (valid == 1) count, and rows flagged disturbed (disturbed == 1) are
dropped unless asked otherwise. Rows are grouped by `point` (the sweep's canonical
string of the point's parameters); a CSV without that column (from `ringlab run`)
gets one built from the parameter columns that vary in the file.

Per point and metric: n (non-empty cells), the median, a 95% confidence interval of
the median, spread = (max - min) / median, and noisy = spread > noisy_spread.

The interval is a percentile bootstrap: RESAMPLES = 10000 resamples (with
replacement, of the same size) of the point's values, the median of each, and the
2.5th and 97.5th percentiles (numpy's linear interpolation) of those medians. It is
deterministic: every interval starts a fresh numpy PCG64 generator from SEED and
resamples the values sorted, so it depends only on the multiset of values -- not on
row order nor on other points in the file -- and the same CSV always gives the
same interval (for a given numpy; Debian 12 pins it). With 5 repetitions this
interval of the median is about [min, max], as order-statistic theory says it
should be (the exact distribution-free interval for n = 5 is [x(1), x(5)]).

Claims compare two points: the ratio of medians left / right, with a 95% interval
from 10000 bootstrap medians of each side drawn independently (left then right from
one generator seeded with SEED) and divided pairwise. The verdict is "held" when the
whole interval satisfies `ratio op factor`, "not held" when the whole interval
violates it, "inconclusive" when it straddles; fewer than MIN_REPETITIONS values on
either side is "insufficient data".
"""
import json
import math
import operator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240531
RESAMPLES = 10000
CONFIDENCE = 0.95
MIN_REPETITIONS = 3
DEFAULT_NOISY_SPREAD = 0.25

# The run's parameters in the harness's column order (src/harness/result.cpp); the
# sweep may put more of them right after its context columns.
CONTEXT_COLUMNS = ["experiment", "point", "repetition"]
PARAMETER_COLUMNS = ["queue", "wait", "capacity", "producers", "consumers", "payload_bytes",
                     "offered_rate_items_per_s", "pin", "termination", "duration_s", "items_requested",
                     "warmup_s", "latency_recorded"]
TEXT_COLUMNS = ["experiment", "point", "queue", "wait", "pin", "termination", "validation_error",
                "producer_pus", "consumer_pus", "clock_source", "host", "commit", "started_utc"]
OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


class DataError(Exception):
    """Something about the inputs a user must fix; the message is one line."""


@dataclass
class Results:
    path: Path
    rows: pd.DataFrame        # the rows that count (valid, and undisturbed unless asked)
    all_rows: int             # rows in the file
    provenance: dict          # the JSON beside the CSV ({} when absent)


@dataclass(frozen=True)
class Estimate:
    n: int
    median: float
    ci_low: float
    ci_high: float
    spread: float
    noisy: bool


@dataclass(frozen=True)
class Ratio:
    ratio: float
    ci_low: float
    ci_high: float
    verdict: str              # held | not held | inconclusive | insufficient data
    n_left: int
    n_right: int


def load_results(csv_path, include_disturbed=False):
    path = Path(csv_path)
    try:
        # Only empty cells are missing values: a queue called "null" stays a name.
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""],
                            dtype={c: str for c in TEXT_COLUMNS}, low_memory=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DataError(f"{csv_path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    if "valid" not in frame.columns:
        raise DataError(f"{csv_path}: no column 'valid' (not a ringlab results CSV?)")
    keep = frame["valid"] == 1
    if not include_disturbed and "disturbed" in frame.columns:
        keep &= frame["disturbed"] != 1
    rows = frame[keep].copy()
    if rows.empty:
        hint = "" if include_disturbed else " (disturbed rows were left out; --include-disturbed keeps them)"
        raise DataError(f"{csv_path}: no valid rows among {len(frame)}{hint}")
    if "point" not in rows.columns:
        rows["point"] = fallback_points(rows)
    return Results(path, rows.reset_index(drop=True), len(frame), load_provenance(path))


def load_provenance(csv_path):
    try:
        return json.loads(csv_path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


def parameter_columns(frame):
    """The sweep's extra parameter columns (between the context and `queue`), then the harness's."""
    columns = list(frame.columns)
    extra = columns[:columns.index("queue")] if "queue" in columns else []
    return [c for c in extra if c not in CONTEXT_COLUMNS] + [c for c in PARAMETER_COLUMNS if c in columns]


def fallback_points(frame):
    """A `point` string from the parameters that vary, for CSVs written without one."""
    params = parameter_columns(frame)
    varying = [c for c in params if frame[c].nunique(dropna=False) > 1] or params[:1]
    return frame.apply(lambda row: " ".join(f"{c}={text(row[c])}" for c in varying), axis=1)


def text(value):
    """A cell as people write it: 1024 rather than 1024.0, '' for empty."""
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else (str(int(value)) if float(value).is_integer() else repr(float(value)))
    return str(value)


def matches(column, wanted):
    """Rows whose `column` equals `wanted` (a value or a list of values): numerically
    when the column is numeric (so 1024, "1024" and 1024.0 agree), as text otherwise."""
    values = wanted if isinstance(wanted, list) else [wanted]
    numeric = pd.api.types.is_numeric_dtype(column)
    hit = pd.Series(False, index=column.index)
    for v in values:
        if numeric:
            try:
                hit |= column == float(v)
            except (TypeError, ValueError):
                pass
        else:
            hit |= column.map(text) == text(v)
    return hit


def select(frame, where):
    """The rows matching every column = value(s) in `where` (a dict)."""
    keep = pd.Series(True, index=frame.index)
    for col, wanted in (where or {}).items():
        keep &= matches(frame[col], wanted)
    return frame[keep]


def require_numeric(frame, column):
    if not pd.api.types.is_numeric_dtype(frame[column]):
        example = frame[column].dropna().iloc[0] if frame[column].notna().any() else ""
        raise DataError(f"column '{column}' is not numeric (it holds values like '{example}')")


def bootstrap_medians(values, rng, resamples=RESAMPLES):
    values = np.sort(np.asarray(values, dtype=float))
    picks = rng.integers(0, len(values), size=(resamples, len(values)))
    return np.median(values[picks], axis=1)


def interval(samples):
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def median_ci(values):
    """(median, low, high); the interval is NaN for fewer than two values."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    median = float(np.median(values))
    if len(values) < 2:
        return median, math.nan, math.nan
    return (median, *interval(bootstrap_medians(values, np.random.default_rng(SEED))))


def estimate(values, noisy_spread=DEFAULT_NOISY_SPREAD):
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    median, low, high = median_ci(values)
    if len(values) == 0:
        return Estimate(0, median, low, high, math.nan, False)
    width = float(values.max() - values.min())
    spread = width / abs(median) if median else (0.0 if width == 0 else math.inf)
    return Estimate(len(values), median, low, high, spread, spread > noisy_spread)


def summarize(frame, metric, noisy_spread=DEFAULT_NOISY_SPREAD):
    """{point: Estimate} for one metric, points in order of first appearance."""
    return {point: estimate(group[metric], noisy_spread)
            for point, group in frame.groupby("point", sort=False)}


def ratio_of_medians(left, right, op, factor):
    """Compare two points' values: median(left) / median(right) against `op factor`."""
    left = np.asarray(left, dtype=float)
    right = np.asarray(right, dtype=float)
    left, right = left[~np.isnan(left)], right[~np.isnan(right)]
    if len(left) < MIN_REPETITIONS or len(right) < MIN_REPETITIONS:
        ratio = float(np.median(left) / np.median(right)) if len(left) and len(right) and np.median(right) else math.nan
        return Ratio(ratio, math.nan, math.nan, "insufficient data", len(left), len(right))
    rng = np.random.default_rng(SEED)
    left_medians, right_medians = bootstrap_medians(left, rng), bootstrap_medians(right, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = left_medians / right_medians
    ratio = float(np.median(left) / np.median(right)) if np.median(right) else math.nan
    if not np.all(np.isfinite(ratios)) or not math.isfinite(ratio):
        return Ratio(ratio, math.nan, math.nan, "inconclusive (the right side's median can be 0)",
                     len(left), len(right))
    low, high = interval(ratios)
    return Ratio(ratio, low, high, verdict(low, high, op, factor), len(left), len(right))


def verdict(low, high, op, factor):
    test = OPERATORS[op]
    if test(low, factor) and test(high, factor):
        return "held"
    if not test(low, factor) and not test(high, factor):
        return "not held"
    return "inconclusive"
