#!/usr/bin/python3
"""ringlab-microbench's JSON as a tidy CSV, and its figures.

    microbench.py convert BENCH.json OUT.csv
    microbench.py plot RESULTS.csv [--out-dir DIR] [--formats png,pdf]

convert: one row per benchmark repetition (Google Benchmark's aggregate rows -- mean,
median, stddev, cv -- are left out: ringlab_stats computes its own), with the columns
    benchmark      push_pop/spsc_ring, round_trip/mpmc_ring, clock/rdtsc, floor/line_stream, ...
    kind           push_pop | round_trip | clock | floor
    queue          the queue's `ringlab list` name (empty for clock and floor)
    repetition     0..n-1
    iterations     iterations in that repetition
    ns_per_op      wall time per iteration (one push+pop pair, one round trip, one clock
                   read, one 8-item line for floor/line_stream)
    cpu_ns_per_op  the benchmark thread's CPU time per iteration (less than ns_per_op when
                   it sleeps: blocking round trips)
    items_per_s    push_pop and floor/line_stream: items moved per wall-clock second
    rtt_ns         round_trip and floor/one_line_pingpong: wall ns per round trip
    label          the PUs used, capacity, wait strategy or clock, as the benchmark says
    num_cpus, mhz_per_cpu, library_build_type   Google Benchmark's context (the machine)
Empty cells where a column does not apply. A benchmark that reported an error is left
out with a warning on stderr. OUT.csv is written whole or not at all (a temporary file,
then a rename); the provenance JSON beside it comes from `ringlab provenance`.

plot: <out-dir>/microbench-push_pop.<fmt> and microbench-round_trip.<fmt> (default
out-dir: plots/<host>/, host from the provenance JSON beside the CSV): a horizontal bar
per queue, the median of its repetitions with the 95% CI of the median (ringlab_stats),
queue colours from ringlab_style (peers hatched, noisy points hollow), a log axis when
the medians span more than 100x, the floors as reference lines, and a footer with host,
CPU and commit. The same CSV and JSON give the same bytes (ringlab_figure).

Bad input (a missing or malformed file, a missing column) is one line on stderr and
exit status 1.
"""
import argparse
import csv
import json
import math
import os
import re
import signal
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import ringlab_figure as figure  # first: it chooses matplotlib's backend and fixed style
import ringlab_stats as stats
import ringlab_style as style
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from ringlab_stats import DataError

REPO_ROOT = Path(__file__).resolve().parent.parent
KINDS = ("push_pop", "round_trip", "clock", "floor")
QUEUE_KINDS = ("push_pop", "round_trip")
CONTEXT = ("num_cpus", "mhz_per_cpu", "library_build_type")
COLUMNS = ["benchmark", "kind", "queue", "repetition", "iterations", "ns_per_op", "cpu_ns_per_op", "items_per_s",
           "rtt_ns", "label", *CONTEXT]
NS_PER = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


# --- convert ----------------------------------------------------------------------

def load_json(path):
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not Google Benchmark JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list) or \
            not isinstance(doc.get("context"), dict):
        raise DataError(f"{path}: not Google Benchmark JSON (no 'context' object and 'benchmarks' list)")
    return doc


def number(entry, key, path, where):
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataError(f"{path}: {where}: '{key}' is missing or not a number")
    return value


def row_of(entry, context, path, index):
    name = entry.get("run_name", entry.get("name"))
    if not isinstance(name, str) or "/" not in name:
        raise DataError(f"{path}: benchmark #{index}: no name of the form <kind>/<what> (got {name!r})")
    kind, what = name.split("/", 1)
    if kind not in KINDS:
        raise DataError(f"{path}: benchmark '{name}': unknown kind '{kind}' (expected one of {', '.join(KINDS)})")
    where = f"benchmark '{name}'"
    unit = entry.get("time_unit", "ns")
    if unit not in NS_PER:
        raise DataError(f"{path}: {where}: unknown time_unit '{unit}'")
    iterations = number(entry, "iterations", path, where)
    if iterations <= 0:
        raise DataError(f"{path}: {where}: ran 0 iterations")
    counters = {k: number(entry, k, path, where) for k in ("items_per_s", "rtt_ns") if k in entry}
    return {
        "benchmark": name, "kind": kind, "queue": what if kind in QUEUE_KINDS else "",
        "repetition": int(entry.get("repetition_index", 0)), "iterations": int(iterations),
        "ns_per_op": number(entry, "real_time", path, where) * NS_PER[unit],
        "cpu_ns_per_op": number(entry, "cpu_time", path, where) * NS_PER[unit],
        "items_per_s": counters.get("items_per_s", ""), "rtt_ns": counters.get("rtt_ns", ""),
        "label": entry.get("label", ""), **{k: context.get(k, "") for k in CONTEXT},
    }


def convert(json_path, csv_path):
    doc = load_json(json_path)
    rows = []
    for i, entry in enumerate(doc["benchmarks"]):
        if not isinstance(entry, dict):
            raise DataError(f"{json_path}: benchmark #{i} is not an object")
        if entry.get("run_type") == "aggregate":
            continue
        if entry.get("error_occurred"):
            print(f"microbench.py: {entry.get('name', f'benchmark #{i}')}: skipped, it reported: "
                  f"{entry.get('error_message', 'an error')}", file=sys.stderr)
            continue
        rows.append(row_of(entry, doc["context"], json_path, i))
    if not rows:
        raise DataError(f"{json_path}: no benchmark repetitions in it")
    write_atomically(Path(csv_path), rows)
    kinds = sorted({r["kind"] for r in rows})
    print(f"{csv_path}: {len(rows)} rows ({len({r['benchmark'] for r in rows})} benchmarks: {', '.join(kinds)})")


def write_atomically(path, rows):
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise DataError(f"{path}: cannot write: {e.strerror}") from None
    try:
        with os.fdopen(fd, "w", newline="") as f:
            out = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
            out.writeheader()
            out.writerows(rows)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp's 0600 would hide the results from others
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise DataError(f"{path}: cannot write: {e.strerror or e}") from None
        raise


# --- plot -------------------------------------------------------------------------

FIGURES = {
    "push_pop": {"metric": "ns_per_op", "quantity": "push + pop", "floor": "floor/line_stream",
                 "title": "push_pop: one try_push + try_pop on one thread, uncontended"},
    "round_trip": {"metric": "rtt_ns", "quantity": "round trip", "floor": "floor/one_line_pingpong",
                   "title": "round_trip: one item there and back between two pinned PUs"},
}
NUMERIC = ["repetition", "ns_per_op", "items_per_s", "rtt_ns"]
WIDTH, BAR_H, AXES_PAD, LEGEND_LINE_H = 7.2, 0.2, 1.0, 0.19   # inches


def load_csv(path):
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""],
                            dtype={c: str for c in ("benchmark", "kind", "queue", "label", "library_build_type")})
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        why = getattr(e, "strerror", None) or (str(e).strip().splitlines() or ["empty"])[0]
        raise DataError(f"{path}: cannot read: {why}") from None
    for column in ["benchmark", "kind", "queue", *NUMERIC]:
        if column not in frame.columns:
            raise DataError(f"{path}: no column '{column}' (not a CSV from 'microbench.py convert'?)")
    for column in NUMERIC:
        if frame[column].notna().any():
            try:
                stats.require_numeric(frame, column)
            except DataError as e:
                raise DataError(f"{path}: {e}") from None
        else:
            frame[column] = frame[column].astype(float)
    return frame


def metric_values(rows, metric):
    """The figure's value per row: rtt_ns for round trips (ns_per_op where it is absent)."""
    return rows[metric].fillna(rows["ns_per_op"]) if metric != "ns_per_op" else rows["ns_per_op"]


@dataclass(frozen=True)
class Floor:
    ns: float          # the median, in ns (per item for the line stream, per round trip for the ping-pong)
    low: float         # its 95% CI (NaN with one repetition)
    high: float
    text: str          # the legend's words


def floor_reference(frame, name):
    """The floor's median and 95% CI in ns, or None when the CSV has none of it."""
    rows = frame[frame["benchmark"] == name]
    if name == "floor/line_stream":
        rates = rows["items_per_s"].dropna()
        rates = rates[rates > 0]
        if rates.empty:
            return None
        rate, low, high = stats.median_ci(rates.to_numpy())   # the CI of ns per item is the rates' CI inverted
        return Floor(1e9 / rate, 1e9 / high, 1e9 / low,
                     f"{name}: {1e9 / rate:.3g} ns per item ({rate / 1e6:.4g} M items/s between two cores)"
                     + ci_words(1e9 / high, 1e9 / low))
    values = metric_values(rows, "rtt_ns").dropna()
    if values.empty:
        return None
    median, low, high = stats.median_ci(values.to_numpy())
    return Floor(median, low, high, f"{name}: {median:.3g} ns per round trip" + ci_words(low, high))


def ci_words(low, high):
    return f", 95% CI {low:.3g}-{high:.3g} (shaded)" if math.isfinite(low) and math.isfinite(high) else ""


def estimates(frame, kind, metric):
    rows = frame[frame["kind"] == kind]
    points = []
    for queue in sorted(rows["queue"].dropna().unique()):
        values = metric_values(rows[rows["queue"] == queue], metric).dropna().to_numpy()
        if len(values):
            points.append((queue, stats.estimate(values)))
    return sorted(points, key=lambda p: (p[1].median, p[0]))   # fastest first (drawn at the top)


def footer_lines(prov, frame, points, kind):
    """What was measured and where: the PUs (from the labels), how round trips wait, the
    Google Benchmark library's build; then host, CPU, commit, date and the statistic."""
    commit = prov.get("git_commit", "")
    commit = commit[:10] + ("-dirty" if prov.get("git_dirty") else "") if commit and commit != "unknown" else "unknown"
    counts = sorted({e.n for _, e in points})
    n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    labels = frame.loc[frame["kind"] == kind, "label"].dropna() if "label" in frame else []
    pus = sorted({m.group(0).rstrip(",") for m in (re.match(r"pu [0-9,]+", str(v)) for v in labels) if m})
    what = ["capacity 1024 (1 for single-slot queues)"] + [f"threads on {'; '.join(pus)}"] * bool(pus)
    if kind == "round_trip":
        what.append("queues that block natively wait in their own push/pop, the others spin (cpu_relax)")
    if "library_build_type" in frame:
        what += [f"Google Benchmark library build: {b}" for b in sorted(frame["library_build_type"].dropna().unique())]
    return ["; ".join(what),
            f"{prov.get('host', 'unknown host')} · {prov.get('cpu_model', 'CPU unknown')} · commit {commit} · "
            f"data {prov.get('date_utc', '?')[:10]} · median of {n} repetitions, 95% CI"]


def value_text(v):
    """3 significant digits, without exponents: 0.0844, 112, 14,060."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def draw(spec, points, floor, footer):
    n = len(points)
    chars = int(WIDTH * figure.FOOTER_CHARS_PER_IN)
    footer = [part for line in footer for part in textwrap.wrap(line, chars)]
    footer_h = figure.LINE_H * len(footer) + 0.15
    legend_h = LEGEND_LINE_H * (bool(floor) + any(style.is_peer(q) for q, _ in points)
                                + any(e.noisy for _, e in points))
    height = AXES_PAD + figure.TITLE_H + BAR_H * max(n, 4) + legend_h + footer_h
    fig = Figure(figsize=(WIDTH, height), dpi=figure.DPI)
    ax = fig.subplots()
    medians = [e.median for _, e in points] + ([floor.ns] if floor else [])
    log = figure.wide([m for m in medians if m > 0])
    # The unit that suits most bars (a few slow queues must not turn 100 ns into 0.1 us).
    factor, unit = style.pick(style.TIME_UNITS, float(np.median(medians)))
    ends = []
    for i, (queue, e) in enumerate(points):
        y, color = n - 1 - i, style.queue_color(queue)
        peer = style.is_peer(queue)  # hatched over a lighter fill, so the hatch shows
        ax.barh([y], [e.median / factor], height=0.7, xerr=figure.whiskers(e, factor), capsize=2,
                color="white" if e.noisy else to_rgba(color, 0.45 if peer else 1.0), edgecolor=color,
                linewidth=1.0, hatch="////" if peer else None,
                error_kw={"elinewidth": 0.8, "ecolor": "#333333"}, zorder=2)
        end = (e.ci_high if math.isfinite(e.ci_high) else e.median) / factor
        ends.append(end)
        ax.annotate(value_text(e.median / factor), (end, y), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=6.5, color="#333333")
    handles = []
    if floor:
        handles.append(ax.axvline(floor.ns / factor, color="#000000", linestyle=":", linewidth=1.2, zorder=3,
                                  label=floor.text))
        if math.isfinite(floor.low) and math.isfinite(floor.high):
            ax.axvspan(floor.low / factor, floor.high / factor, color="#000000", alpha=0.08, linewidth=0, zorder=1)
    if any(style.is_peer(q) for q, _ in points):
        handles.append(Patch(facecolor=to_rgba("#777777", 0.45), edgecolor="#777777", hatch="////",
                             label="peer library"))
    if any(e.noisy for _, e in points):
        handles.append(Patch(facecolor="white", edgecolor="#555555",
                             label=f"noisy (spread > {stats.DEFAULT_NOISY_SPREAD:.0%})"))
    ax.set_yticks(range(n))
    ax.set_yticklabels([q for q, _ in reversed(points)])
    ax.set_ylim(-0.6, max(n, 4) - 0.4)
    ax.grid(axis="y", visible=False)
    lows = [e.median / factor for _, e in points if e.median > 0] + ([floor.ns / factor] if floor else [])
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: style.format_number(v)))
        ax.set_xlim(min(lows) / 2, max(ends + lows) * 4)
    else:
        ax.set_xlim(0, max(ends + lows) * 1.15)
    ax.set_xlabel(f"{spec['quantity']} ({unit}), median and 95% CI")
    ax.set_title(spec["title"], fontsize=10)
    if handles:  # under the axes, above the footer: never over a bar
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, footer_h / height), frameon=False,
                   fontsize=7, borderaxespad=0.2)
    for i, line in enumerate(reversed(footer)):
        fig.text(0.01, (0.05 + i * figure.LINE_H) / height, line, fontsize=6.5, color="#555555", ha="left",
                 va="bottom")
    fig.tight_layout(rect=(0, (footer_h + legend_h) / height, 1, 1))
    return fig


def summary(kind, spec, points, floor, written):
    lines = [f"{kind}: {spec['quantity']} (ns), median of the repetitions"]
    table = [["queue", "n", "median", "95% CI", ""]]
    for queue, e in points:
        ci = f"[{e.ci_low:.4g}, {e.ci_high:.4g}]" if e.n >= 2 else "n/a"
        table.append([queue, str(e.n), f"{e.median:.4g}", ci, f"NOISY (spread {e.spread:.0%})" if e.noisy else ""])
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[4] for r in table]
    if floor:
        lines.append(f"  reference: {floor.text}")
    if written:
        lines.append("  wrote " + ", ".join(written))
    return "\n".join(line.rstrip() for line in lines)


def plot(args):
    path = Path(args.csv)
    frame = load_csv(path)
    prov = stats.load_provenance(path)
    formats = [f for f in args.formats.split(",") if f]
    if not formats or any(f not in figure.METADATA for f in formats):
        raise DataError(f"--formats {args.formats}: choose from {', '.join(figure.METADATA)}")
    if args.out_dir:
        out_dir = Path(args.out_dir)
    elif prov.get("host") and "/" not in prov["host"]:
        out_dir = REPO_ROOT / "plots" / prov["host"]
    else:
        raise DataError(f"{path}: cannot tell the host (no provenance JSON beside it); pass --out-dir")
    drawn = {kind: estimates(frame, kind, spec["metric"]) for kind, spec in FIGURES.items()}
    if not any(drawn.values()):
        raise DataError(f"{path}: no push_pop or round_trip rows to draw")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{out_dir}: cannot create: {e.strerror}") from None
    for kind, spec in FIGURES.items():
        points = drawn[kind]
        if not points:
            print(f"microbench.py: no {kind} rows in {path}; microbench-{kind} not drawn", file=sys.stderr)
            continue
        floor = floor_reference(frame, spec["floor"])
        fig = draw(spec, points, floor, footer_lines(prov, frame, points, kind))
        written = []
        for fmt in formats:
            target = out_dir / f"microbench-{kind}.{fmt}"
            try:
                figure.save(fig, target, fmt)
            except OSError as e:
                raise DataError(f"{target}: cannot write: {e.strerror or e}") from None
            written.append(os.path.relpath(target) if Path.cwd() in target.resolve().parents else str(target))
        print(summary(kind, spec, points, floor, written))


def main(argv):
    ap = argparse.ArgumentParser(prog="microbench.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="Google Benchmark JSON -> tidy CSV")
    c.add_argument("json", metavar="BENCH.json")
    c.add_argument("csv", metavar="OUT.csv")
    p = sub.add_parser("plot", help="draw microbench-push_pop and microbench-round_trip")
    p.add_argument("csv", metavar="RESULTS.csv")
    p.add_argument("--out-dir", metavar="DIR", help="default: plots/<host>/ in the repository")
    p.add_argument("--formats", default="png,pdf", help="comma-separated: png, pdf, svg (default png,pdf)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        if args.command == "convert":
            convert(args.json, args.csv)
        else:
            plot(args)
    except DataError as e:
        print(f"microbench.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
