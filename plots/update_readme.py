#!/usr/bin/python3
"""Regenerate the README's result tables from the committed CSVs, so that no number in
it is typed in. A block

    <!-- ringlab:claims EXPERIMENT HOST -->
    ...anything...
    <!-- /ringlab:claims -->

is replaced by `claims.py results/HOST/EXPERIMENT.csv --markdown`.

    update_readme.py [README.md]      (default: the repository's README.md)
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- ringlab:claims (\S+) (\S+) -->\n)(.*?)(<!-- /ringlab:claims -->)", re.S)


def table(experiment, host):
    csv = ROOT / "results" / host / f"{experiment}.csv"
    if not csv.is_file():
        raise SystemExit(f"update_readme.py: {csv} does not exist (run: ringlab sweep experiments/{experiment}.toml)")
    done = subprocess.run([sys.executable, str(ROOT / "plots" / "claims.py"), str(csv), "--markdown"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip() or f"update_readme.py: claims.py failed on {csv}")
    return done.stdout.rstrip("\n") + "\n"


def main(argv):
    readme = Path(argv[0]) if argv else ROOT / "README.md"
    text = readme.read_text()
    new = BLOCK.sub(lambda m: m.group(1) + table(m.group(2), m.group(3)) + m.group(5), text)
    if new != text:
        readme.write_text(new)
    print(f"{readme}: {len(BLOCK.findall(text))} claim tables regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
