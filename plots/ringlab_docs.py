"""What the documents' map and result pages say of an experiment, generated: where its
rows come from (ringlab:provenance) and the table of every experiment with its claims'
verdicts and its page (ringlab:experiments). Used by update_readme.py."""
import json
import os
import re
import tomllib
from collections import Counter
from pathlib import Path

import claims
import ringlab_stats as stats
from ringlab_stats import DataError

RESULTS_PAGES = Path("docs") / "results"


def sessions(json_path):
    """The provenance sessions beside a CSV: [{git_commit, date_utc, command, ...}]."""
    try:
        return json.loads(Path(json_path).read_text()).get("sessions", [])
    except (OSError, ValueError) as e:
        raise DataError(f"{json_path}: cannot read its provenance: {e}")


def provenance_table(csv_path):
    """Each session that wrote rows (commit, date, command, rows, machine) and the runs
    per point that count (valid, undisturbed)."""
    results = stats.load_results(csv_path)
    lines = ["| commit | date (UTC) | command | rows | wall time | machine |", "|---|---|---|---|---|---|"]
    every = sessions(Path(csv_path).with_suffix(".json"))
    for s in every:
        commit = (s.get("git_commit") or "?")[:7] + (" (dirty)" if s.get("git_dirty") else "")
        machine = ", ".join(str(s[k]) for k in ("cpu_model", "topology", "kernel", "compiler") if s.get(k))
        wall = f"{s['wall_s'] / 60:.1f} min" if isinstance(s.get("wall_s"), (int, float)) else "not recorded"
        lines.append(f"| {commit} | {s.get('date_utc', '?')} | `{s.get('command', '?')}` | "
                     f"{s.get('rows_this_session', '?')} | {wall} | {machine} |")
    per_point = results.rows.groupby("point").size() if "point" in results.rows.columns else None
    if per_point is not None and len(per_point):
        runs = f"{per_point.min()}" if per_point.min() == per_point.max() else f"{per_point.min()}-{per_point.max()}"
        lines += ["", f"Runs per point that count (valid, undisturbed): {runs}, over {len(per_point)} points; "
                      f"{results.all_rows} rows in `{Path(csv_path).name}`."]
    lines += [f"Adaptive: {text}." for text in stats.adaptive_text(results.provenance)]
    return "\n".join(lines)


def page_of(exp, host, root):
    """The results page that shows `exp`: the one named for it, else the one whose title
    names its TOML, else one with a marker on it, else one that names it in bold (the
    gallery); None when no page does."""
    folder = root / RESULTS_PAGES / host
    if (folder / f"{exp}.md").is_file():
        return (folder / f"{exp}.md").relative_to(root)
    pages = [(p, p.read_text()) for p in sorted(folder.glob("*.md")) if p.name != "README.md"]
    toml = f"experiments/{exp}.toml"
    for test in (lambda text: toml in text.split("\n", 1)[0],
                 lambda text: re.search(rf"ringlab:\w+ {re.escape(exp)} ", text),
                 lambda text: f"**{exp}**" in text):
        for page, text in pages:
            if test(text):
                return page.relative_to(root)
    return None


VERDICT_ORDER = {"held": 0, "not held": 1, "inconclusive": 2}


def experiments_table(host, results_dir, experiments_dir, root, claim_rows, link_from):
    """Every experiment: its question (its description), its claims' verdicts, the commit
    its rows were measured at, and its page (linked from the folder `link_from`).
    `claim_rows(exp)` evaluates its claims."""
    lines = ["| experiment | question | claims: verdicts | measured at | page |", "|---|---|---|---|---|"]
    for toml in sorted(Path(experiments_dir).glob("*.toml")):
        exp = toml.stem
        with open(toml, "rb") as f:
            description = tomllib.load(f).get("description", "")
        csv = Path(results_dir) / host / f"{exp}.csv"
        if not csv.is_file():
            lines.append(f"| {exp} | {description} | not measured on {host} | | |")
            continue
        verdicts = "no claims: figures and tables"
        if "[[claim]]" in toml.read_text():
            counts = Counter(claims.short(r.verdict) for r in claim_rows(exp))
            verdicts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items(), key=lambda kv: VERDICT_ORDER.get(kv[0], 3)))
        commits = sorted({(s.get("git_commit") or "?")[:7] for s in sessions(csv.with_suffix(".json"))})
        page = page_of(exp, host, root)
        link = f"[{page.stem}]({Path(os.path.relpath(root / page, link_from)).as_posix()})" if page else "none"
        lines.append(f"| {exp} | {description} | {verdicts} | {', '.join(commits)} | {link} |")
    return "\n".join(lines)


def results_header(host, results_dir):
    """'N experiments measured at K commits between D1 and D2': from the provenance."""
    commits, dates, wall, unrecorded = set(), [], 0.0, 0
    files = sorted((Path(results_dir) / host).glob("*.json"))
    for j in files:
        for s in sessions(j):
            commits.add((s.get("git_commit") or "?")[:7])
            if s.get("date_utc"):
                dates.append(s["date_utc"])
            if isinstance(s.get("wall_s"), (int, float)):
                wall += s["wall_s"]
            else:
                unrecorded += 1
    span = f" between {min(dates)} and {max(dates)}" if dates else ""
    walls = f"; sweeps' wall time {wall / 3600:.1f} h" if wall else ""
    walls += f" ({unrecorded} sessions without one recorded)" if unrecorded and wall else \
        ("; wall time not recorded" if unrecorded else "")
    return (f"{len(files)} result files on {host}, measured at {len(commits)} code "
            f"commit{'s' if len(commits) != 1 else ''}{span}{walls} (each file's commit: below and in its JSON).")


def cross_host_table(results_dir, experiments_dir, claim_rows):
    """Each claim's verdict on each host with results for its experiment, and whether the
    hosts' ratios fall on the same side of 1. `claim_rows(exp, host)` evaluates them."""
    hosts = sorted(d.name for d in Path(results_dir).iterdir() if d.is_dir() and list(d.glob("*.json")))
    lines = []
    for toml in sorted(Path(experiments_dir).glob("*.toml")):
        exp = toml.stem
        on = [h for h in hosts if (Path(results_dir) / h / f"{exp}.csv").is_file()]
        if len(on) < 2 or "[[claim]]" not in toml.read_text():
            continue
        by_host = {h: {(r.statement, r.group): r for r in claim_rows(exp, h)} for h in on}
        keys = list(dict.fromkeys(k for h in on for k in by_host[h]))
        if not lines:
            lines = ["| experiment | claim | " + " | ".join(hosts) + " | direction |",
                     "|---|---|" + "---|" * len(hosts) + "---|"]
        for statement, group in keys:
            cells, signs = [], set()
            for h in hosts:
                row = by_host.get(h, {}).get((statement, group))
                if row is None:
                    cells.append("—")
                    continue
                cells.append(claims.inline(row))
                if row.ratio is not None and row.ratio.ratio != 1:
                    signs.add(row.ratio.ratio > 1)
            agree = "n/a" if sum(c != "—" for c in cells) < 2 or not signs else ("agrees" if len(signs) == 1 else "differs")
            shown = f"`{statement}`" + (f" ({group})" if group else "")
            lines.append(f"| {exp} | {shown} | " + " | ".join(cells) + f" | {agree} |")
    if not lines:
        return (f"Results on one host only ({', '.join(hosts) or 'none'}): no claim can be compared across hosts "
                "until a second host's results are committed.")
    return "\n".join(lines)
