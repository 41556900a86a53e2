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
    lines = ["| commit | date (UTC) | command | rows | machine |", "|---|---|---|---|---|"]
    for s in sessions(Path(csv_path).with_suffix(".json")):
        commit = (s.get("git_commit") or "?")[:7] + (" (dirty)" if s.get("git_dirty") else "")
        machine = ", ".join(str(s[k]) for k in ("cpu_model", "topology", "kernel", "compiler") if s.get(k))
        lines.append(f"| {commit} | {s.get('date_utc', '?')} | `{s.get('command', '?')}` | "
                     f"{s.get('rows_this_session', '?')} | {machine} |")
    per_point = results.rows.groupby("point").size() if "point" in results.rows.columns else None
    if per_point is not None and len(per_point):
        runs = f"{per_point.min()}" if per_point.min() == per_point.max() else f"{per_point.min()}-{per_point.max()}"
        lines += ["", f"Runs per point that count (valid, undisturbed): {runs}, over {len(per_point)} points; "
                      f"{results.all_rows} rows in `{Path(csv_path).name}`."]
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
    commits, dates = set(), []
    files = sorted((Path(results_dir) / host).glob("*.json"))
    for j in files:
        for s in sessions(j):
            commits.add((s.get("git_commit") or "?")[:7])
            if s.get("date_utc"):
                dates.append(s["date_utc"])
    span = f" between {min(dates)} and {max(dates)}" if dates else ""
    return (f"{len(files)} result files on {host}, measured at {len(commits)} code "
            f"commit{'s' if len(commits) != 1 else ''}{span} (each file's commit: below and in its JSON).")
