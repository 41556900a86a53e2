#!/usr/bin/python3
"""Regenerate the README's result tables from the committed CSVs, so that no number in
it is typed in. A block

    <!-- ringlab:claims EXPERIMENT HOST -->
    ...anything...
    <!-- /ringlab:claims -->

is replaced by `claims.py results/HOST/EXPERIMENT.csv --markdown`, and a block

    <!-- ringlab:median EXPERIMENT HOST COLUMN -->...<!-- /ringlab:median -->

by the median of COLUMN over the valid, undisturbed rows, with its 95% CI.

    update_readme.py [README.md]      (default: the repository's README.md)
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- ringlab:claims (\S+) (\S+) -->\n)(.*?)(<!-- /ringlab:claims -->)", re.S)
MEDIAN = re.compile(r"(<!-- ringlab:median (\S+) (\S+) (\S+) -->)(.*?)(<!-- /ringlab:median -->)", re.S)


def table(experiment, host):
    csv = ROOT / "results" / host / f"{experiment}.csv"
    if not csv.is_file():
        raise SystemExit(f"update_readme.py: {csv} does not exist (run: ringlab sweep experiments/{experiment}.toml)")
    done = subprocess.run([sys.executable, str(ROOT / "plots" / "claims.py"), str(csv), "--markdown"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip() or f"update_readme.py: claims.py failed on {csv}")
    return done.stdout.rstrip("\n") + "\n"


def median(experiment, host, column):
    sys.path.insert(0, str(ROOT / "plots"))
    import ringlab_stats as stats
    csv = ROOT / "results" / host / f"{experiment}.csv"
    try:
        rows = stats.load_results(csv).rows
    except stats.DataError as e:
        raise SystemExit(f"update_readme.py: {e}")
    if column not in rows.columns:
        raise SystemExit(f"update_readme.py: {csv}: no column '{column}'")
    m, low, high = stats.median_ci(rows[column])
    return f"{m:.3g} (95% CI {low:.3g}-{high:.3g}, {rows[column].notna().sum()} runs)"


def main(argv):
    readme = Path(argv[0]) if argv else ROOT / "README.md"
    text = readme.read_text()
    new = BLOCK.sub(lambda m: m.group(1) + table(m.group(2), m.group(3)) + m.group(5), text)
    new = MEDIAN.sub(lambda m: m.group(1) + median(m.group(2), m.group(3), m.group(4)) + m.group(6), new)
    if new != text:
        readme.write_text(new)
    print(f"{readme}: {len(BLOCK.findall(text))} claim tables and {len(MEDIAN.findall(text))} medians regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
