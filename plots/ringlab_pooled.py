"""Pooled latency percentiles: a point's runs' latency histograms merged, not the median of
their percentiles (a p99 of seven p99s is no p99 of anything).

Each row's `lat_histogram` (src/harness/histogram.hpp, coarsened to 16 buckets a power of
two: within 3.2%) is "MID:COUNT MID:COUNT ...", bucket midpoints in ns. A point's pooled
percentile is the percentile of the sum of its runs' histograms; its 95% interval is by
bootstrap over runs (runs resampled with replacement, their histograms summed), so a
noisy run widens it as it should. Rows without a histogram (older CSVs) give None: the
caller falls back to the median of the runs' own percentiles. Claims on a percentile
compare two points' pooled percentiles the same way (compare())."""
import dataclasses
import math

import numpy as np

import ringlab_stats as stats

QUANTILE = {"lat_p50_ns": 0.5, "lat_p90_ns": 0.9, "lat_p99_ns": 0.99, "lat_p999_ns": 0.999, "lat_p9999_ns": 0.9999}


def parse(text):
    """{midpoint: count} of one row's histogram; DataError on a malformed one."""
    out = {}
    for pair in str(text).split():
        mid, sep, count = pair.partition(":")
        try:
            out[float(mid)] = out.get(float(mid), 0) + int(count)
        except ValueError:
            raise stats.DataError(f"lat_histogram: '{pair}' is not MIDPOINT:COUNT") from None
        if not sep:
            raise stats.DataError(f"lat_histogram: '{pair}' is not MIDPOINT:COUNT")
    return out


def percentile(mids, counts, q):
    """The value at rank ceil(q * total) of a histogram given as sorted arrays."""
    total = counts.sum()
    if total == 0:
        return math.nan
    rank = max(1, math.ceil(q * total))
    return float(mids[np.searchsorted(np.cumsum(counts), rank)])


def matrix_of(texts):
    """(bucket midpoints, runs x buckets counts) of the runs' histogram texts."""
    runs = [parse(t) for t in texts]
    mids = np.array(sorted({m for r in runs for m in r}))
    index = {m: i for i, m in enumerate(mids)}
    matrix = np.zeros((len(runs), len(mids)), dtype=np.int64)
    for i, r in enumerate(runs):
        for m, c in r.items():
            matrix[i, index[m]] = c
    return mids, matrix


def histograms(rows, column):
    """The rows' histogram texts when `column` is a percentile they all carry, else None."""
    if column not in QUANTILE or "lat_histogram" not in rows.columns or rows.empty:
        return None
    texts = rows["lat_histogram"]
    if texts.isna().any() or (texts.astype(str).str.strip() == "").any():
        return None
    return list(texts)


def draws(texts, column, rng):
    """(pooled percentile, its bootstrap draws): the runs resampled with replacement and
    their histograms summed, RESAMPLES times."""
    mids, matrix = matrix_of(texts)
    q = QUANTILE[column]
    value = percentile(mids, matrix.sum(axis=0), q)
    picks = rng.integers(0, len(texts), size=(stats.RESAMPLES, len(texts)))
    cumulative = np.cumsum(matrix[picks].sum(axis=1), axis=1)  # (resamples, buckets)
    ranks = np.maximum(1, np.ceil(q * cumulative[:, -1]))
    return value, mids[np.argmax(cumulative >= ranks[:, None], axis=1)]


def pooled(rows, column):
    """(percentile, low, high, runs) of `column` pooled over the rows' histograms, or None
    when the column is no percentile or a row has no histogram."""
    texts = histograms(rows, column)
    if texts is None:
        return None
    if len(texts) < 2:
        mids, matrix = matrix_of(texts)
        return percentile(mids, matrix.sum(axis=0), QUANTILE[column]), math.nan, math.nan, len(texts)
    value, sample = draws(texts, column, np.random.default_rng(stats.SEED))
    low, high = stats.interval(sample)
    return value, low, high, len(texts)


def compare(left, right, column, op, factor):
    """A claim's Ratio of two points' pooled percentiles (each a list of histogram texts),
    its interval by bootstrap over each side's runs."""
    n_left, n_right = len(left), len(right)
    rng = np.random.default_rng(stats.SEED)
    (top, top_draws), (bottom, bottom_draws) = draws(left, column, rng), draws(right, column, rng)
    ratio = top / bottom if bottom else math.nan
    if min(n_left, n_right) < stats.MIN_REPETITIONS:
        return stats.Ratio(ratio, math.nan, math.nan, "insufficient data", n_left, n_right)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = top_draws / bottom_draws
    if not np.all(np.isfinite(ratios)) or not math.isfinite(ratio):
        return stats.Ratio(ratio, math.nan, math.nan, "inconclusive (the right side's percentile can be 0)",
                           n_left, n_right)
    low, high = stats.interval(ratios)
    return stats.Ratio(ratio, low, high, stats.verdict(low, high, op, factor), n_left, n_right)


def estimate(rows, column, noisy_spread=stats.DEFAULT_NOISY_SPREAD):
    """A point's Estimate of a latency percentile, pooled where its rows have histograms
    (the runs' spread and noise flags still from their own percentiles); None otherwise."""
    result = pooled(rows, column)
    if result is None:
        return None
    value, low, high, _ = result
    return dataclasses.replace(stats.estimate(rows[column], noisy_spread), median=value, ci_low=low, ci_high=high)
