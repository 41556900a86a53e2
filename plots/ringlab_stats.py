"""ringlab's statistics: the one place that turns result rows into numbers.

Rows: a results CSV (one row per run) is loaded with its provenance JSON beside it.
Only valid rows (valid == 1) count, and rows flagged disturbed (disturbed == 1) are
dropped unless asked otherwise (claims look both ways: Results.valid_rows keeps them).
Rows are grouped by `point` (the sweep's canonical string of the point's parameters);
a CSV without that column (from `ringlab run`) gets one built from the parameter
columns that vary in the file. A CSV from before the `mode` column is all harness
rows: it gets mode = "harness".

Per point and metric: n (non-empty cells), the median, a 95% confidence interval of
the median, spread = (max - min) / median, noisy = spread > noisy_spread, and bimodal:
the runs, sorted, fall into two groups of at least BIMODAL_MIN_RUNS each with a gap of
at least BIMODAL_GAP times between them (two regimes, not scatter: its median is then
the regime that happened to get more runs, and ranks nothing).

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
either side is "insufficient data". `within F` asks for the ratio in [1/F, F]: held when
the whole interval lies in that band, not held when it lies wholly outside.

Harness efficiency (efficiency()) is median(harness) / median(native) throughput of two
paired points, its interval the same bootstrap of the ratio of the two sides' medians.
A claim on it compares two such ratios: the four samples are resampled independently
(left harness, left native, right harness, right native, from one generator seeded
with SEED) and the interval is that of (lh / ln) / (rh / rn).
"""
import json
import math
import re
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
                     "offered_rate_items_per_s", "pin", "termination", "pattern", "mode", "scope", "duration_s",
                     "items_requested", "warmup_s", "latency_recorded", "service_ns", "work_ns", "producer_work_ns"]
TEXT_COLUMNS = ["experiment", "point", "queue", "wait", "pin", "termination", "pattern", "mode", "scope",
                "validation_error", "producer_pus", "consumer_pus", "disturbance", "clock_source", "host",
                "commit", "build_id", "started_utc", "lat_histogram"]
HARNESS, NATIVE = "harness", "native"   # the values of `mode`
OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
WITHIN = "within"                       # the claim operator for "ratio in [1/F, F]"
EFFICIENCY = "harness_efficiency"       # the derived metric (ringlab_efficiency)


class DataError(Exception):
    """Something about the inputs a user must fix; the message is one line."""


@dataclass
class Results:
    path: Path
    rows: pd.DataFrame        # the rows that count (valid, and undisturbed unless asked)
    all_rows: int             # rows in the file
    provenance: dict          # the JSON beside the CSV (see load_provenance)
    valid_rows: pd.DataFrame  # every valid row, disturbed ones too (claims look both ways)


@dataclass(frozen=True)
class Estimate:
    n: int
    median: float
    ci_low: float
    ci_high: float
    spread: float
    noisy: bool
    bimodal: bool = False


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
    valid = frame[frame["valid"] == 1].copy()
    # Before the `mode` column every run went through the harness.
    valid["mode"] = valid["mode"].fillna(HARNESS) if "mode" in valid.columns else HARNESS
    if "point" not in valid.columns:
        valid["point"] = fallback_points(valid)
    valid = valid.reset_index(drop=True)
    rows = valid if include_disturbed else undisturbed(valid)
    if rows.empty:
        hint = "" if include_disturbed else " (disturbed rows were left out; --include-disturbed keeps them)"
        raise DataError(f"{csv_path}: no valid rows among {len(frame)}{hint}")
    return Results(path, rows.reset_index(drop=True), len(frame), load_provenance(path), valid)


def undisturbed(frame):
    """The rows the noise guards did not flag (all of them without a `disturbed` column)."""
    return frame[frame["disturbed"] != 1] if "disturbed" in frame.columns else frame


def load_provenance(csv_path):
    """The JSON beside the CSV as one dict: the latest session's fields at the top level
    and "sessions", every session that wrote rows, oldest first. The file is either
    {"experiment", "experiment_file", "sessions": [...]} (one entry appended per session)
    or, from before sessions, one flat object -- then that object is the only session.
    No file, or one that is not JSON: {"sessions": []}."""
    path = Path(csv_path).with_suffix(".json")
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"sessions": []}
    if not isinstance(doc, dict):
        raise DataError(f"{path}: not a JSON object")
    if "sessions" not in doc:
        return {**doc, "sessions": [doc]}
    sessions = doc["sessions"]
    if not isinstance(sessions, list) or not all(isinstance(s, dict) for s in sessions):
        raise DataError(f"{path}: 'sessions' must be a list of objects")
    latest = sessions[-1] if sessions else {}
    return {**{k: v for k, v in doc.items() if k != "sessions"}, **latest, "sessions": sessions}


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


TAIL = {"lat_p50_ns": 0.5, "lat_p90_ns": 0.1, "lat_p99_ns": 0.01, "lat_p999_ns": 0.001, "lat_p9999_ns": 0.0001,
        "lat_max_ns": 0.0, "lat_mean_ns": 0.0}  # the share of samples above each figure


def at_floor(frame, column):
    """Whether a latency column's median over the rows is within the machine's floor
    measured beside them (the median floor_p99_ns: a do-nothing loop's p99 gap on the
    same PUs): no queue is told from another there, so it is never ranked."""
    if not re.match(r"^(lat|rtt)_(p\d+|max|mean)_ns$", column) or "floor_p99_ns" not in frame.columns:
        return False
    floor, values = frame["floor_p99_ns"].dropna(), frame[column].dropna()
    return bool(len(floor) and len(values) and values.median() <= floor.median())


def censored(frame, column="lat_p99_ns"):
    """Whether a latency figure of the rows is only a lower bound. A censored sample (an
    item due in the window and never sent by its end: `lat_censored_samples`) counts with
    the time it had waited by then; its true latency is longer. A percentile stays
    bounded while the censored samples fit in the tail above it (fewer than its share
    of the samples); once they reach into it, as when every sample is censored, it is
    written "≥ X" and never ranked. True when any row's is."""
    if column not in TAIL or "lat_censored_samples" not in frame.columns or "lat_samples" not in frame.columns:
        return False
    censored_samples = frame["lat_censored_samples"].fillna(0)
    return bool((censored_samples > TAIL[column] * frame["lat_samples"].fillna(0)).any())


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


BIMODAL_GAP = 1.3
BIMODAL_MIN_RUNS = 2


def bimodal(values):
    """Two groups of runs with a gap of BIMODAL_GAP x between the sorted neighbours."""
    v = np.sort(np.asarray(values, dtype=float))
    if len(v) < 2 * BIMODAL_MIN_RUNS or v[0] <= 0:
        return False
    gaps = v[BIMODAL_MIN_RUNS:len(v) - BIMODAL_MIN_RUNS + 1] / v[BIMODAL_MIN_RUNS - 1:len(v) - BIMODAL_MIN_RUNS]
    return bool(gaps.max() >= BIMODAL_GAP)


def estimate(values, noisy_spread=DEFAULT_NOISY_SPREAD):
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    median, low, high = median_ci(values)
    if len(values) == 0:
        return Estimate(0, median, low, high, math.nan, False)
    width = float(values.max() - values.min())
    spread = width / abs(median) if median else (0.0 if width == 0 else math.inf)
    return Estimate(len(values), median, low, high, spread, spread > noisy_spread, bimodal(values))


def summarize(frame, metric, noisy_spread=DEFAULT_NOISY_SPREAD):
    """{point: Estimate} for one metric, points in order of first appearance."""
    return {point: estimate(group[metric], noisy_spread)
            for point, group in frame.groupby("point", sort=False)}


def clean(values):
    values = np.asarray(values, dtype=float)
    return values[~np.isnan(values)]


def median_quotient(parts):
    """median(parts[0]) or, for a side that is itself a ratio, median(parts[0]) / median(parts[1])."""
    medians = [float(np.median(p)) for p in parts]
    if len(medians) == 1:
        return medians[0]
    return medians[0] / medians[1] if medians[1] else math.nan


def bootstrap_quotient(parts, rng):
    """The bootstrap medians of one side (a ratio of two sides' medians when two parts)."""
    medians = [bootstrap_medians(p, rng) for p in parts]
    if len(medians) == 1:
        return medians[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return medians[0] / medians[1]


def ratio_of_medians(left, right, op, factor):
    """Compare two points' values: median(left) / median(right) against `op factor`."""
    return compare([left], [right], op, factor)


def ratio_of_efficiencies(left_harness, left_native, right_harness, right_native, op, factor):
    """Compare two harness efficiencies: (lh / ln) / (rh / rn) against `op factor`."""
    return compare([left_harness, left_native], [right_harness, right_native], op, factor)


def compare(left, right, op, factor):
    """`left` and `right` are a side's samples: [values] for a metric, [numerator,
    denominator] for a side that is a ratio itself. n per side is its smallest sample."""
    left, right = [clean(p) for p in left], [clean(p) for p in right]
    n_left, n_right = min(len(p) for p in left), min(len(p) for p in right)
    if min(n_left, n_right) < MIN_REPETITIONS:
        ratio = quotient(left, right) if min(n_left, n_right) > 0 else math.nan
        return Ratio(ratio, math.nan, math.nan, "insufficient data", n_left, n_right)
    rng = np.random.default_rng(SEED)
    left_draws, right_draws = bootstrap_quotient(left, rng), bootstrap_quotient(right, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = left_draws / right_draws
    ratio = quotient(left, right)
    if not np.all(np.isfinite(ratios)) or not math.isfinite(ratio):
        return Ratio(ratio, math.nan, math.nan, "inconclusive (the right side's median can be 0)", n_left, n_right)
    low, high = interval(ratios)
    return Ratio(ratio, low, high, verdict(low, high, op, factor), n_left, n_right)


def quotient(left, right):
    top, bottom = median_quotient(left), median_quotient(right)
    return top / bottom if bottom and math.isfinite(bottom) else math.nan


def efficiency(harness, native, noisy_spread=DEFAULT_NOISY_SPREAD):
    """median(harness) / median(native) as an Estimate: n is the smaller side's, the
    interval the bootstrap of the two sides' medians' ratio (NaN under two values a
    side), and the spread that of the noisier side."""
    harness, native = clean(harness), clean(native)
    n = min(len(harness), len(native))
    if n == 0:
        return Estimate(0, math.nan, math.nan, math.nan, math.nan, False)
    ratio = median_quotient([harness, native])
    low = high = math.nan
    if n >= 2:
        draws = bootstrap_quotient([harness, native], np.random.default_rng(SEED))
        if np.all(np.isfinite(draws)):
            low, high = interval(draws)
    spread = max(estimate(harness).spread, estimate(native).spread)
    return Estimate(n, ratio, low, high, spread, spread > noisy_spread)


def verdict(low, high, op, factor):
    if op == WITHIN:  # the band [1/factor, factor]
        if 1 / factor <= low and high <= factor:
            return "held"
        if high < 1 / factor or low > factor:
            return "not held"
        return "inconclusive"
    test = OPERATORS[op]
    if test(low, factor) and test(high, factor):
        return "held"
    if not test(low, factor) and not test(high, factor):
        return "not held"
    return "inconclusive"


def adaptive_text(provenance):
    """What ended the points' runs, from a results JSON: one phrase per local session with
    adaptive repetitions (its max_repetitions, precision, points_met_precision,
    points_at_cap), and one for a Slurm merge (the same at the top, ran_cap_up_front: the
    array ran every point's cap); [] when nothing was adaptive."""
    out = []
    merged = [provenance] if provenance.get("ran_cap_up_front") else []  # load_provenance's top: also the latest session
    for s in [*merged, *provenance.get("sessions", [])]:
        if "max_repetitions" not in s:
            continue
        targets = ", ".join(f"{column} {half:.0%}" for column, half in s.get("precision", {}).items())
        capped = len(s.get("points_at_cap", []))
        if s.get("ran_cap_up_front"):
            out.append(f"every point ran its cap of {s['max_repetitions']} runs (a Slurm array's tasks cannot wait on "
                       f"each other's results): {s.get('points_met_precision', '?')} points met their targets "
                       f"({targets}), {capped} did not")
        else:
            out.append(f"runs repeated until each median's 95% CI was within its target ({targets}) or "
                       f"{s['max_repetitions']} runs: {s.get('points_met_precision', '?')} points met their targets, "
                       f"{capped} stopped at the cap")
    return out
