#!/usr/bin/python3
"""Evaluate an experiment's [[claim]]s against its results and print a table.

    claims.py RESULTS.csv [--experiment TOML] [--markdown]

A claim reads `<side> <metric> <op> <factor> * <side> [<metric>]`, for example
`mpmc_ring[wait=park] throughput_items_per_s >= 100 * mpmc_ring[wait=spin]`, or with a
metric of its own on the right (another column of that side's rows), e.g.
`rpc throughput_items_per_s within 1.25 * rpc littles_law_items_per_s`:
- a side is a queue name with optional [column=value,...] filters; the left side may
  be `*` (filters allowed: `*[wait=spin]`): one row per queue in the rows other than
  the right side's queue, its group saying "queue=<name>";
- op is one of >= <= > < (the ratio of medians against the factor) or `within`
  (the ratio in [1/factor, factor]; factor > 1);
- metric is a column, or harness_efficiency: each side is then its harness point's
  efficiency (over its native partner, see ringlab_efficiency) and the ratio is of
  the two efficiencies.
Within each `per` group (and the claim's `where`), each side must be the repetitions of
exactly one point; the verdict comes from ringlab_stats (a latency percentile on both
sides, where every row has its histogram: from the pooled percentiles, ringlab_pooled).

A prediction puts a model on the right: `rpc throughput_items_per_s within 1.2 *
littles_law(rpc[consumers=1,service_ns=0])` predicts each left point's throughput from
the round trip measured in another configuration (the right side, selected among all the
claim's rows, not within the group): consumers x 1e9 / (that point's rtt_mean_ns + the
left point's service_ns) -- Little's law with one call outstanding per consumer, which
holds only while nothing else (a saturated server) adds to the round trip. The left
point that is the configuration itself is not a prediction: not evaluable.

Every claim is evaluated twice: on the valid undisturbed rows and on every valid row.
The table shows the first (its n, plus "+k disturbed" when the second used k disturbed
rows); when the two verdicts differ the verdict is inconclusive, saying both.

Exit 0 whatever the verdicts; 1 with one line on a malformed claim, a column the
CSV lacks, or unreadable inputs.
"""
import argparse
import signal
import math
import re
import sys
from dataclasses import dataclass

import ringlab_efficiency as efficiency
import ringlab_experiment as experiments
import ringlab_pooled as pooled
import ringlab_stats as stats
import ringlab_style as style
from ringlab_stats import DataError

QUEUE = r"[A-Za-z0-9_][A-Za-z0-9_.:+-]*"
WILDCARD = "*"
GRAMMAR = re.compile(rf"^\s*(\*|{QUEUE})(?:\[([^\]]*)\])?\s+([A-Za-z_][A-Za-z0-9_]*)"
                     rf"(?:\s*(>=|<=|>|<)\s*|\s+(within)\s+)"
                     rf"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*\*\s*"
                     rf"(?:({QUEUE})(?:\[([^\]]*)\])?(?:\s+([A-Za-z_][A-Za-z0-9_]*))?"
                     rf"|(littles_law)\(\s*({QUEUE})(?:\[([^\]]*)\])?\s*\))\s*$")
MODELS = {"littles_law": "rtt_mean_ns"}  # a model: the column it predicts from


@dataclass
class Side:
    queue: str                # a queue name, or * (left side only)
    filters: dict             # column -> value (text)

    def name(self):
        return self.queue + ("[" + ",".join(f"{c}={v}" for c, v in self.filters.items()) + "]" if self.filters else "")


@dataclass
class Claim:
    left: Side
    metric: str
    op: str
    factor: float
    right: Side
    right_metric: str  # the metric itself, or another column of the right side's rows
    model: str = ""    # a prediction's model (MODELS): the right side is what it predicts from

    def metric_of(self, side):
        return self.right_metric if side is self.right else self.metric


def parse(statement):
    """The claim's parts, or ValueError saying what is wrong."""
    m = GRAMMAR.match(statement)
    if not m:
        raise ValueError("expected '<queue or *>[col=value,...] <metric> <op> <factor> * <queue>[col=value,...] "
                         "[<metric>]' with op one of >= <= > < within")
    lq, lf, metric, op, within, factor, rq, rf, right_metric, model, mq, mf = m.groups()
    if model:
        if lq == WILDCARD:
            raise ValueError("a prediction's left side is one queue, not *")
        return Claim(Side(lq, parse_filters(lf)), metric, op or within, float(factor), Side(mq, parse_filters(mf)),
                     MODELS[model], model)
    claim = Claim(Side(lq, parse_filters(lf)), metric, op or within, float(factor), Side(rq, parse_filters(rf)),
                  right_metric or metric)
    if efficiency.METRIC in (metric, right_metric) and claim.right_metric != metric:
        raise ValueError(f"{efficiency.METRIC} compares with itself only")
    if claim.op == stats.WITHIN and not claim.factor > 1:
        raise ValueError(f"'within {factor}' needs a factor above 1 (the band is [1/factor, factor])")
    return claim


def parse_filters(text):
    filters = {}
    for part in (text or "").split(",") if text is not None else []:
        col, eq, value = part.partition("=")
        if not eq or not col.strip() or not value.strip():
            raise ValueError(f"filter '{part.strip()}' is not column=value")
        filters[col.strip()] = value.strip()
    return filters


@dataclass
class Row:
    statement: str
    group: str                # "capacity=1024, wait=spin" ('' without per); "queue=x, ..." for a * claim
    source: str
    ratio: stats.Ratio = None  # on the undisturbed rows
    note: str = ""            # why there is no ratio
    disturbed: int = 0        # disturbed rows the evaluation on every valid row used
    verdict: str = ""         # the one reported, from both evaluations


@dataclass
class Sample:
    parts: list               # [values], or [harness values, native values] for harness_efficiency
    disturbed: int            # how many of those values come from disturbed rows
    histograms: list = None   # a percentile's runs' lat_histogram texts, where every row has one


def evaluate(results, spec, claim, toml_path):
    needed = [*efficiency.columns_needed(claim.metric), *efficiency.columns_needed(claim.right_metric), "queue",
              *spec.per, *spec.where, *claim.left.filters, *claim.right.filters,
              *(["consumers", "point"] if claim.model else [])]
    experiments.require_columns(results, needed, f"claim '{spec.statement}'", toml_path)
    try:
        for metric in {claim.metric, claim.right_metric}:
            stats.require_numeric(results.valid_rows, efficiency.columns_needed(metric)[0])
    except DataError as e:
        raise DataError(f"{toml_path}: claim '{spec.statement}': {e}") from None
    rows = stats.select(results.valid_rows, spec.where)
    # One grouper unwrapped: pandas 1.5 warns about a list of one.
    groups = rows.groupby(spec.per if len(spec.per) > 1 else spec.per[0], sort=True, dropna=False) if spec.per else [((), rows)]
    out = []
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        group_text = ", ".join(f"{c}={stats.text(v)}" for c, v in zip(spec.per, key))
        if claim.model:
            out.append(two_ways(group, claim.left, claim, Row(spec.statement, group_text, spec.source), rows))
            continue
        if claim.left.queue != WILDCARD:
            out.append(two_ways(group, claim.left, claim, Row(spec.statement, group_text, spec.source)))
            continue
        lefts = wildcard(group, claim)
        if not lefts:
            out.append(Row(spec.statement, group_text, spec.source, verdict=f"not evaluable: no queue other than "
                           f"{claim.right.queue} matches {claim.left.name()}"))
        for left in lefts:
            shown = ", ".join(t for t in (f"queue={left.queue}", group_text) if t)
            out.append(two_ways(group, left, claim, Row(spec.statement, shown, spec.source)))
    if not out:
        out.append(Row(spec.statement, "", spec.source, verdict="not evaluable: no rows match its 'where'"))
    return out


def wildcard(rows, claim):
    """The left sides a * stands for: each queue with rows matching its filters, but the right side's."""
    chosen = stats.select(rows, claim.left.filters)
    if claim.metric == efficiency.METRIC:
        chosen = chosen[chosen["mode"].map(stats.text) != stats.NATIVE]
    queues = {stats.text(q) for q in chosen["queue"].dropna()} - {claim.right.queue}
    return [Side(q, claim.left.filters) for q in sorted(queues, key=style.queue_order)]


def two_ways(rows, left, claim, row, model_rows=None):
    """Fill `row` from the undisturbed rows and from every valid row; a verdict that
    depends on the disturbed rows is inconclusive. `model_rows`: where a prediction's
    right side is (all of the claim's rows)."""
    clean = stats.undisturbed(rows)
    clean_model = None if model_rows is None else stats.undisturbed(model_rows)
    mine, _ = judge(clean, left, claim, clean_model)
    theirs, row.disturbed = judge(rows, left, claim, model_rows) if len(clean) < len(rows) else (mine, 0)
    if isinstance(mine, stats.Ratio) and not isinstance(theirs, stats.Ratio):
        # The disturbed rows made a side ambiguous: count those its selector matches.
        row.disturbed = sum(disturbed_rows(stats.select(rows, {"queue": s.queue, **s.filters}), claim.metric_of(s))
                            for s in (left, claim.right))
    if isinstance(mine, stats.Ratio):
        row.ratio = mine
    else:
        row.note = mine
    row.verdict = reported(mine, theirs)
    return row


def outcome(result):
    return result.verdict if isinstance(result, stats.Ratio) else result


def short(verdict):
    """'not evaluable: X matches no point' -> 'not evaluable'; 'inconclusive (why)' -> 'inconclusive'."""
    return verdict.split(":")[0].split(" (")[0]


def reported(mine, theirs):
    if short(outcome(mine)) == short(outcome(theirs)):
        return outcome(mine)
    return f"inconclusive ({short(outcome(mine))} without disturbed rows, {short(outcome(theirs))} with them)"


def judge(rows, left, claim, model_rows=None):
    """(Ratio, disturbed rows used) for the claim on these rows, or ('not evaluable: why', 0)."""
    if claim.model:
        return predict(rows, left, claim, model_rows)
    sides = [side_values(rows, s, claim.metric_of(s)) for s in (left, claim.right)]
    problems = [s for s in sides if isinstance(s, str)]
    problems += [f"{s.name()}'s {claim.metric_of(s)} is censored (a lower bound), never ranked"
                 for s in (left, claim.right)
                 if stats.censored(stats.select(rows, {"queue": s.queue, **s.filters}), claim.metric_of(s))]
    problems += [f"{s.name()}'s {claim.metric_of(s)} is at the machine's floor, never ranked"
                 for s in (left, claim.right)
                 if stats.at_floor(stats.select(rows, {"queue": s.queue, **s.filters}), claim.metric_of(s))]
    if problems:
        return "not evaluable: " + "; ".join(problems), 0
    left, right = sides
    if left.histograms and right.histograms and claim.metric == claim.right_metric:  # pooled percentiles
        return (pooled.compare(left.histograms, right.histograms, claim.metric, claim.op, claim.factor),
                left.disturbed + right.disturbed)
    return stats.compare(left.parts, right.parts, claim.op, claim.factor), left.disturbed + right.disturbed


def predict(rows, left, claim, model_rows):
    """A prediction: the left point's measured values against the model's, made from the
    right side's point (found among `model_rows`)."""
    measured_side = side_values(rows, left, claim.metric)
    source = side_values(model_rows, claim.right, claim.right_metric)
    problems = [s for s in (measured_side, source) if isinstance(s, str)]
    if problems:
        return "not evaluable: " + "; ".join(problems), 0
    target = stats.select(rows, {"queue": left.queue, **left.filters})
    if set(target["point"]) == set(stats.select(model_rows, {"queue": claim.right.queue, **claim.right.filters})["point"]):
        return "not evaluable: the configuration predicted from is not a prediction", 0
    consumers = float(target["consumers"].iloc[0])
    service_ns = float(target["service_ns"].fillna(0).iloc[0]) if "service_ns" in target.columns else 0.0
    predicted = consumers * 1e9 / (source.parts[0] + service_ns)
    return (stats.compare(measured_side.parts, [predicted], claim.op, claim.factor),
            measured_side.disturbed + source.disturbed)


def disturbed_rows(rows, metric):
    column = efficiency.columns_needed(metric)[0]
    if "disturbed" not in rows.columns:
        return 0
    return int(((rows["disturbed"] == 1) & rows[column].notna()).sum())


def side_values(rows, side, metric):
    """A side's Sample: the values of the one point it selects (for harness_efficiency,
    of that harness point and its native partner), or a message saying why not."""
    chosen = stats.select(rows, {"queue": side.queue, **side.filters})
    what = "point"
    if metric == efficiency.METRIC:
        chosen, what = chosen[chosen["mode"].map(stats.text) != stats.NATIVE], "harness point"
    points = list(chosen["point"].unique())
    if not points:
        return f"{side.name()} matches no {what}"
    if len(points) > 1:
        shown = "; ".join(points[:3]) + ("; ..." if len(points) > 3 else "")
        return f"{side.name()} matches {len(points)} {what}s ({shown})"
    if metric != efficiency.METRIC:
        with_value = chosen[chosen[metric].notna()]
        return Sample([chosen[metric].to_numpy(dtype=float)], disturbed_rows(chosen, metric),
                      pooled.histograms(with_value, metric))
    pair = next(p for p in efficiency.pairs(rows) if p.harness == points[0])
    if pair.problem:
        return f"{side.name()}: {pair.problem}"
    used = [pair.harness_rows, pair.native_rows]
    return Sample([r[efficiency.SOURCE].to_numpy(dtype=float) for r in used],
                  sum(disturbed_rows(r, metric) for r in used))


def measured(row):
    """[ratio with its interval, n left/right (+k disturbed), verdict] as text."""
    r = row.ratio
    ratio = n = ""
    if r is not None:
        ci = f" [{style.three_digits(r.ci_low)}, {style.three_digits(r.ci_high)}]" if math.isfinite(r.ci_low) else ""
        ratio, n = style.three_digits(r.ratio) + ci, f"{r.n_left}/{r.n_right}"
    if row.disturbed:
        n = f"{n} (+{row.disturbed} disturbed)".strip()
    return [ratio, n, row.verdict]


def inline(row):
    """'RATIO [LOW, HIGH], VERDICT' for a sentence (the README's ringlab:claim marker)."""
    ratio, _, verdict = measured(row)
    return f"{ratio}, {verdict}" if ratio else verdict


HEADER = ["claim", "source", "ratio [95% CI]", "n", "verdict"]


def plain_table(rows):
    claim = [r.statement + (f" ({r.group})" if r.group else "") for r in rows]
    table = [HEADER] + [[c, r.source, *measured(r)] for c, r in zip(claim, rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)) + "  " + line[-1] for line in table)


def markdown_table(rows):
    def md(text):
        return text.replace("|", "\\|")
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        claim = f"`{r.statement}`" + (f" ({md(r.group)})" if r.group else "")
        lines.append("| " + " | ".join([claim] + [md(c) for c in [r.source, *measured(r)]]) + " |")
    return "\n".join(lines)


def evaluate_all(results, toml_path):
    """(the experiment, a Row per claim and group) for the experiment file at toml_path."""
    exp = experiments.load(toml_path)
    rows = []
    for spec in exp.claims:
        try:
            claim = parse(spec.statement)
        except ValueError as e:
            raise DataError(f"{toml_path}: claim '{spec.statement}': {e}") from None
        rows += evaluate(results, spec, claim, toml_path)
    return exp, rows


def main(argv):
    ap = argparse.ArgumentParser(prog="claims.py", description="Evaluate an experiment's [[claim]]s.")
    ap.add_argument("csv", metavar="RESULTS.csv")
    ap.add_argument("--experiment", metavar="TOML", help="default: experiments/<the CSV's experiment>.toml")
    ap.add_argument("--include-disturbed", action="store_true",
                    help="accepted as plot.py does; claims always look with and without disturbed rows")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends us quietly
    try:
        results = stats.load_results(args.csv, args.include_disturbed)
        toml_path = experiments.locate(results, args.experiment)
        _, rows = evaluate_all(results, toml_path)
    except DataError as e:
        print(f"claims.py: {e}", file=sys.stderr)
        return 1
    if not rows:
        print(f"{toml_path}: no claims")
        return 0
    print(markdown_table(rows) if args.markdown else plain_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
