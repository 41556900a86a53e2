#!/usr/bin/python3
"""Evaluate an experiment's [[claim]]s against its results and print a table.

    claims.py RESULTS.csv [--experiment TOML] [--include-disturbed] [--markdown]

A claim reads `<selector> <metric> <op> <factor> * <selector>`, for example
`mpmc_ring[wait=park] throughput_items_per_s >= 100 * mpmc_ring[wait=spin]`: a
selector is a queue name with optional [column=value,...] filters, op one of
>= <= > <. Within each `per` group (and the claim's `where`), each side must be the
repetitions of exactly one point; the verdict comes from ringlab_stats.

Exit 0 whatever the verdicts; 1 with one line on a malformed claim, a column the
CSV lacks, or unreadable inputs.
"""
import argparse
import signal
import math
import re
import sys
from dataclasses import dataclass

import ringlab_experiment as experiments
import ringlab_stats as stats
from ringlab_stats import DataError

SELECTOR = r"([A-Za-z0-9_][A-Za-z0-9_.:+-]*)(?:\[([^\]]*)\])?"
GRAMMAR = re.compile(rf"^\s*{SELECTOR}\s+([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*"
                     rf"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*\*\s*{SELECTOR}\s*$")


@dataclass
class Side:
    queue: str
    filters: dict             # column -> value (text)


@dataclass
class Claim:
    left: Side
    metric: str
    op: str
    factor: float
    right: Side


def parse(statement):
    """The claim's parts, or ValueError saying what is wrong."""
    m = GRAMMAR.match(statement)
    if not m:
        raise ValueError("expected '<queue>[col=value,...] <metric> <op> <factor> * <queue>[col=value,...]' "
                         "with op one of >= <= > <")
    lq, lf, metric, op, factor, rq, rf = m.groups()
    return Claim(Side(lq, parse_filters(lf)), metric, op, float(factor), Side(rq, parse_filters(rf)))


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
    group: str                # the per-group values, "capacity=1024, wait=spin" ('' without per)
    source: str
    ratio: stats.Ratio = None
    note: str = ""            # why there is no ratio


def evaluate(results, spec, claim, toml_path):
    needed = [claim.metric, "queue", *spec.per, *spec.where, *claim.left.filters, *claim.right.filters]
    experiments.require_columns(results, needed, f"claim '{spec.statement}'", toml_path)
    try:
        stats.require_numeric(results.rows, claim.metric)
    except DataError as e:
        raise DataError(f"{toml_path}: claim '{spec.statement}': {e}") from None
    rows = stats.select(results.rows, spec.where)
    # One grouper unwrapped: pandas 1.5 warns about a list of one.
    groups = rows.groupby(spec.per if len(spec.per) > 1 else spec.per[0], sort=True, dropna=False) if spec.per else [((), rows)]
    out = []
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        group_text = ", ".join(f"{c}={stats.text(v)}" for c, v in zip(spec.per, key))
        sides = [side_values(group, s, claim.metric) for s in (claim.left, claim.right)]
        problems = [p for p in sides if isinstance(p, str)]
        if problems:
            out.append(Row(spec.statement, group_text, spec.source, note="not evaluable: " + "; ".join(problems)))
        else:
            out.append(Row(spec.statement, group_text, spec.source, stats.ratio_of_medians(*sides, claim.op, claim.factor)))
    if not out:
        out.append(Row(spec.statement, "", spec.source, note="not evaluable: no rows match its 'where'"))
    return out


def side_values(rows, side, metric):
    """The metric's values for the one point a side selects, or a message saying why not."""
    chosen = stats.select(rows, {"queue": side.queue, **side.filters})
    points = list(chosen["point"].unique())
    name = side.queue + ("[" + ",".join(f"{c}={v}" for c, v in side.filters.items()) + "]" if side.filters else "")
    if not points:
        return f"{name} matches no point"
    if len(points) > 1:
        shown = "; ".join(points[:3]) + ("; ..." if len(points) > 3 else "")
        return f"{name} matches {len(points)} points ({shown})"
    return chosen[metric].to_numpy(dtype=float)


def number(v):
    return "n/a" if not math.isfinite(v) else f"{v:#.3g}".rstrip(".")  # 3.00, 0.300, 37.7, 120


def measured(row):
    """[ratio with its interval, n left/right, verdict] as text."""
    r = row.ratio
    if r is None:
        return ["", "", row.note]
    ci = f" [{number(r.ci_low)}, {number(r.ci_high)}]" if math.isfinite(r.ci_low) else ""
    return [number(r.ratio) + ci, f"{r.n_left}/{r.n_right}", r.verdict]


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


def main(argv):
    ap = argparse.ArgumentParser(prog="claims.py", description="Evaluate an experiment's [[claim]]s.")
    ap.add_argument("csv", metavar="RESULTS.csv")
    ap.add_argument("--experiment", metavar="TOML", help="default: experiments/<the CSV's experiment>.toml")
    ap.add_argument("--include-disturbed", action="store_true", help="count rows flagged disturbed too")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends us quietly
    try:
        results = stats.load_results(args.csv, args.include_disturbed)
        toml_path = experiments.locate(results, args.experiment)
        exp = experiments.load(toml_path)
        rows = []
        for spec in exp.claims:
            try:
                claim = parse(spec.statement)
            except ValueError as e:
                raise DataError(f"{toml_path}: claim '{spec.statement}': {e}") from None
            rows += evaluate(results, spec, claim, toml_path)
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
