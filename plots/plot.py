#!/usr/bin/python3
"""Draw an experiment's [[plot]]s from its results, and print what they show.

    plot.py RESULTS.csv [--experiment TOML] [--out-dir DIR] [--formats png,pdf] [--include-disturbed]

For each [[plot]] in the experiment's TOML (default: experiments/<the CSV's
experiment>.toml) writes <out-dir>/<experiment>-<plot name>.<format> (default out-dir:
plots/<host>/ in the repository) and prints each point's n, median, 95% CI and a
NOISY flag. The figures are a pure function of the CSV (+ its JSON) and the TOML:
the same inputs give the same bytes (see ringlab_figure).

A plot's xlabel / ylabel replace the quantity's name; the unit the values were
scaled to is still appended, since it depends on the data. y = "harness_efficiency"
draws each harness point over its native partner (ringlab_efficiency); harness points
without one are named in one warning line. A plot whose `where` matches no row is
skipped with a warning. The footer gives n per point: one n, or the range and the
points below the largest. Errors (unreadable input, a missing column, no valid rows)
are one line on stderr and exit status 1.
"""
import argparse
import dataclasses
import signal
import sys
from pathlib import Path

import ringlab_efficiency as efficiency
import ringlab_experiment as experiments
import ringlab_figure as figure
import ringlab_points as points
import ringlab_stats as stats
import ringlab_style as style
from ringlab_stats import DataError


def provenance_line(results, counts):
    """host · CPU · commit(s) · the data's date · what the markers mean (`counts`: see counts_text)."""
    rows, prov = results.rows, results.provenance
    sessions = prov.get("sessions", [])
    host = one_of(rows, "host") or prov.get("host", "unknown host")
    cpus = distinct(s.get("cpu_model") for s in sessions) or ["CPU unknown"]
    commit = one_of(rows, "commit")
    if not commit:   # from the sessions that wrote the rows: every commit among them
        commit = ", ".join(sorted({s["git_commit"][:10] + ("-dirty" if s.get("git_dirty") else "")
                                   for s in sessions if s.get("git_commit")}))
    days = sorted({d[:10] for d in rows["started_utc"].dropna()}) if "started_utc" in rows else []
    if not days:
        days = sorted({s["date_utc"][:10] for s in sessions if s.get("date_utc")})
    date = (days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}") if days else "?"
    return f"{host} · {', '.join(cpus)} · commit {commit or 'unknown'} · data {date} · {counts}"


def distinct(values):
    """The values without repeats, in order."""
    return list(dict.fromkeys(v for v in values if v))


def counts_text(panels, limit=4):
    """'median of n = 5 per point, 95% CI', or with n varying, the range and the points
    below the largest n as the figure shows them ('spsc_ring, capacity=16 n=3'), up to `limit`."""
    counted = list(dict.fromkeys((points.describe(p, spec), p.y.n) for spec, pts in panels for p in pts))
    ns = sorted({n for _, n in counted})
    if len(ns) == 1:
        return f"median of n = {ns[0]} per point, 95% CI"
    fewer = [f"{shown} n={n}" for shown, n in counted if n < ns[-1]]
    more = f"; and {len(fewer) - limit} more" if len(fewer) > limit else ""
    return (f"median of n = {ns[0]}-{ns[-1]} per point (fewer than {ns[-1]}: " + "; ".join(fewer[:limit]) + more
            + "), 95% CI")


def one_of(rows, column):
    """The column's values joined ('a, b' when a resumed sweep spans several)."""
    if column not in rows:
        return ""
    return ", ".join(sorted(str(v) for v in rows[column].dropna().unique()))


def noisy_line(spec, pts, noisy_spread, limit=4):
    noisy = [p for p in pts if p.y.noisy]
    if not noisy:
        return []
    # A point that two panels share is listed once.
    noisy = list(dict.fromkeys(f"{points.describe(p, spec)} ({p.y.spread:.0%})" for p in noisy))
    listed = noisy[:limit]
    more = f" and {len(noisy) - limit} more" if len(noisy) > limit else ""
    return [f"hollow: noisy, spread (max-min)/median > {noisy_spread:.0%}: " + "; ".join(listed) + more]


def summary(spec, pts, sc, written):
    where = " and ".join(f"{c} in {v}" if isinstance(v, list) else f"{c}={v}" for c, v in spec.where.items())
    lines = [f"{spec.name}: {sc.ylabel} by {sc.xlabel}" + (f", series {spec.series}" if spec.series else "")
             + (f", facet {spec.facet}" if spec.facet else "") + (f", where {where}" if where else "")]
    table = [["point", "n", "median", "95% CI", ""]]
    for p in pts:
        ci = (f"[{style.format_number(p.y.ci_low / sc.ydiv)}, {style.format_number(p.y.ci_high / sc.ydiv)}]"
              if p.y.n >= 2 else "n/a")
        flag = " ".join(([f"NOISY (spread {p.y.spread:.0%})"] if p.y.noisy else [])
                        + (["BIMODAL (two regimes across runs)"] if p.y.bimodal else []))
        table.append([p.point, str(p.y.n), style.format_number(p.y.median / sc.ydiv), ci, flag])
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[4] for r in table]
    if written:
        lines.append("  wrote " + ", ".join(written))
    return "\n".join(line.rstrip() for line in lines)


def out_dir_for(results, override):
    if override:
        return Path(override)
    host = one_of(results.rows, "host") or results.provenance.get("host", "")
    if not host or "," in host or "/" in host:
        raise DataError(f"{results.path}: cannot tell the host (got '{host}'); pass --out-dir")
    return experiments.REPO_ROOT / "plots" / host


def gather(rows, spec, noisy_spread):
    """The points a panel draws; for harness_efficiency, say in one line which harness
    points have no efficiency (no native partner, or several)."""
    if spec.y != efficiency.METRIC:
        return [p for p in points.gather(rows, spec, noisy_spread) if p.y.n > 0]
    pts, unpaired = efficiency.gather(rows, spec, noisy_spread)
    if unpaired:
        what = "no harness point has a native partner; skipped" if not pts else \
            f"{len(unpaired)} harness point(s) left out"
        print(f"plot.py: plot '{spec.name}': {efficiency.METRIC}: {what}: {efficiency.unpaired_line(unpaired)}",
              file=sys.stderr)
    elif not pts:
        print(f"plot.py: plot '{spec.name}': {efficiency.METRIC}: no harness point matches its 'where'; skipped",
              file=sys.stderr)
    return [p for p in pts if p.y.n > 0]


def draw_all(args):
    results = stats.load_results(args.csv, args.include_disturbed)
    toml_path = experiments.locate(results, args.experiment)
    exp = experiments.load(toml_path)
    formats = [f for f in args.formats.split(",") if f]
    unknown = [f for f in formats if f not in figure.METADATA]
    if unknown or not formats:
        raise DataError(f"--formats {args.formats}: choose from {', '.join(figure.METADATA)}")
    if not exp.plots:
        print(f"{toml_path}: no [[plot]] tables; nothing to draw")
    for spec in exp.plots:  # check every plot before drawing any
        metrics = [c for m in spec.metrics or [spec.y] for c in efficiency.columns_needed(m)]
        needed = [spec.x, *metrics, spec.series, spec.facet, *spec.where]
        experiments.require_columns(results, needed, f"plot '{spec.name}'", toml_path)
    out_dir = out_dir_for(results, args.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{out_dir}: cannot create: {e.strerror}") from None
    for spec in exp.plots:
        # A plot of several metrics is one panel per metric, drawn in one figure.
        panels = []
        for metric in spec.metrics or [spec.y]:
            one = dataclasses.replace(spec, y=metric, metrics=[], ylabel=None if spec.metrics else spec.ylabel)
            try:
                pts = gather(results.rows, one, exp.noisy_spread)
            except DataError as e:
                raise DataError(f"{results.path}: plot '{spec.name}': {e}") from None
            if not pts and metric == efficiency.METRIC:
                continue  # gather said why
            if not pts:
                print(f"plot.py: plot '{spec.name}': no valid rows with a value of '{metric}' match its 'where'; "
                      "skipped", file=sys.stderr)
                continue
            sc = figure.scales(one, pts)
            if sc.hidden:
                print(f"plot.py: plot '{spec.name}': {sc.hidden} point(s) with a value <= 0 cannot be drawn on its "
                      "log axis (listed in the summary)", file=sys.stderr)
            panels.append((one, pts, sc))
        if not panels:
            continue
        one, pts, sc = panels[0]
        every = [p for _, ps, _ in panels for p in ps]
        title = spec.title or f"{exp.name}: {sc.ylabel.split(' (')[0]} by {sc.xlabel.split(' (')[0]}"
        counts = counts_text([(one, pts) for one, pts, _ in panels])
        footer = (noisy_line(spec, every, exp.noisy_spread) + stats.adaptive_text(results.provenance)
                  + [provenance_line(results, counts)])
        fig = (figure.draw_metrics(panels, title, footer, exp.noisy_spread) if spec.metrics
               else figure.draw(one, pts, sc, title, footer, exp.noisy_spread))
        written = []
        for fmt in formats:
            path = out_dir / f"{exp.name}-{spec.name}.{fmt}"
            try:
                figure.save(fig, path, fmt)
            except OSError as e:
                raise DataError(f"{path}: cannot write: {e.strerror or e}") from None
            written.append(experiments.shown(path.resolve()))
        for one, pts, sc in panels:
            print(summary(one, pts, sc, written if one is panels[-1][0] else []))


def main(argv):
    ap = argparse.ArgumentParser(prog="plot.py", description="Draw an experiment's [[plot]]s from its results CSV.")
    ap.add_argument("csv", metavar="RESULTS.csv")
    ap.add_argument("--experiment", metavar="TOML", help="default: experiments/<the CSV's experiment>.toml")
    ap.add_argument("--out-dir", metavar="DIR", help="default: plots/<host>/ in the repository")
    ap.add_argument("--formats", default="png,pdf", help="comma-separated: png, pdf, svg (default png,pdf)")
    ap.add_argument("--include-disturbed", action="store_true", help="draw rows flagged disturbed too")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends us quietly
    try:
        draw_all(args)
    except DataError as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
