#!/usr/bin/python3
"""Regenerate the README's measured numbers from the committed CSVs, so that none is
typed in -- and refuse the ones that are.

    update_readme.py [README.md] [--check] [--results-dir DIR] [--experiments-dir DIR]

A marker block is replaced by what it names (EXP: an experiment, read from
DIR/HOST/EXP.csv with experiments/EXP.toml; FILTER: col=value or col=v1,v2, rows must
match every one; medians are over the valid, undisturbed rows):

    <!-- ringlab:claims EXP HOST -->             the claims table (as claims.py --markdown)
    <!-- /ringlab:claims -->
    <!-- ringlab:efficiency EXP HOST -->         the harness-efficiency table
    <!-- /ringlab:efficiency -->
    <!-- ringlab:ranking EXP HOST BASE PAYLOAD [FILTER ...] -->  queues by throughput, p99, ratios to BASE
    <!-- /ringlab:ranking -->
    <!-- ringlab:detection EXP HOST -->          the crash suite: who noticed a kill, how fast
    <!-- /ringlab:detection -->
    <!-- ringlab:harness_cost EXP HOST -->       the harness's cost per item, and each queue's harness
    <!-- /ringlab:harness_cost -->               throughput / its native one with that much consumer work
    <!-- ringlab:instruments NAME HOST -->       an author's program vs ringlab --native, from
    <!-- /ringlab:instruments -->                DIR/HOST/authors-NAME.csv (experiments/authors/NAME.py)
    <!-- ringlab:claim EXP HOST N -->...<!-- /ringlab:claim -->     claims row N: "RATIO [LOW, HIGH], VERDICT"
    <!-- ringlab:median EXP HOST COLUMN [FILTER ...] -->...<!-- /ringlab:median -->
                                                 "MEDIAN (95% CI LOW-HIGH, N runs)"
    <!-- ringlab:value EXP HOST COLUMN [FILTER ...] -->...<!-- /ringlab:value -->
                                                 the median for a sentence: "312 M items/s"

Typed-in numbers: in a section whose "## " heading starts with "Results" (subsections
included), a number with a unit (ns, us, µs, ms, [k/M/G] items/s, M/s) or a ratio
("1.5x", "2.3×") outside marker blocks and fenced code, on a line without
<!-- not measured -->, is an error.

Without --check the README is rewritten (a temporary file renamed over it) when a block
changed; --check writes nothing and prints a line per stale block. Either way a stale
block (--check), a typed-in number, a missing CSV, an unknown column or a malformed
marker is one line naming the README's line, exit 1, and the README left as it was.
Markers inside fenced code or `inline code` are text, not markers.
"""
import argparse
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import claims  # noqa: E402
import ringlab_efficiency as efficiency  # noqa: E402
import ringlab_instruments as instruments  # noqa: E402
import ringlab_stats as stats  # noqa: E402
import ringlab_style as style  # noqa: E402
import ringlab_tables as tables  # noqa: E402
from ringlab_experiment import REPO_ROOT, shown  # noqa: E402
from ringlab_stats import DataError  # noqa: E402

USAGE = {"claims": "EXP HOST", "efficiency": "EXP HOST", "claim": "EXP HOST N",
         "median": "EXP HOST COLUMN [col=value ...]", "value": "EXP HOST COLUMN [col=value ...]",
         "ranking": "EXP HOST BASE_QUEUE PAYLOAD [col=value ...]", "detection": "EXP HOST", "campaign": "EXP HOST",
         "instruments": "NAME HOST", "harness_cost": "EXP HOST"}
TABLES = ("claims", "efficiency", "ranking", "detection", "campaign", "instruments", "harness_cost")         # blocks of whole lines; the others sit inside a sentence
MARKER_START = re.compile(r"<!--\s*/?ringlab:")
MARKER = re.compile(r"<!--\s*(/?)ringlab:([A-Za-z_]*)((?:[ \t]+[^\s>]+)*)[ \t]*-->")
FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*)")
NOT_MEASURED = "<!-- not measured -->"
UNIT = r"(?:[kMG] ?items/s|items/s|[kMG]/s|ns|us|µs|ms)"
TYPED = re.compile(rf"(?<![\w.])\d+(?:\.\d+)?(?:\s*{UNIT}(?![\w/])|[x×](?!\w))")


class MarkerError(Exception):
    def __init__(self, line, message):
        super().__init__(message)
        self.line = line


@dataclass
class Block:
    kind: str
    args: list
    line: int                 # the opening marker's line
    start: int                # where the opening marker starts
    body_start: int           # text[body_start:body_end] is what gets regenerated
    body_end: int = -1
    end: int = -1             # just after the closing marker

    def name(self):
        return " ".join([f"ringlab:{self.kind}", *self.args])


def line_of(text, index):
    return text.count("\n", 0, index) + 1


def fenced_lines(text):
    """Line numbers inside fenced code blocks, the fences included."""
    inside, fenced = None, set()
    for number, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if inside or m:
            fenced.add(number)
        if m and (inside is None or m.group(1) == inside):
            inside = None if inside else m.group(1)
    return fenced


def in_inline_code(text, index):
    start = text.rfind("\n", 0, index) + 1
    return text.count("`", start, index) % 2 == 1


def find_blocks(text, fenced):
    """The marker blocks in order; MarkerError for a malformed, unknown, unclosed or stray marker."""
    blocks, open_block = [], None
    for start in MARKER_START.finditer(text):
        line = line_of(text, start.start())
        if line in fenced or in_inline_code(text, start.start()):
            continue
        m = MARKER.match(text, start.start())
        if not m:
            raise MarkerError(line, "malformed ringlab marker (expected <!-- ringlab:KIND ARGS --> "
                                    "... <!-- /ringlab:KIND -->)")
        closing, kind, args = m.group(1) == "/", m.group(2), m.group(3).split()
        if kind not in USAGE:
            raise MarkerError(line, f"unknown marker 'ringlab:{kind}' (known: {', '.join(USAGE)})")
        if closing:
            if open_block is None or open_block.kind != kind or args:
                raise MarkerError(line, f"<!-- /ringlab:{kind} --> closes no open ringlab:{kind}")
            open_block.body_end, open_block.end = m.start(), m.end()
            blocks.append(open_block)
            open_block = None
            continue
        if open_block is not None:
            raise MarkerError(open_block.line, f"ringlab:{open_block.kind} is not closed by "
                                               f"<!-- /ringlab:{open_block.kind} --> before line {line}")
        check_args(line, kind, args)
        open_block = Block(kind, args, line, m.start(), m.end())
    if open_block is not None:
        raise MarkerError(open_block.line, f"ringlab:{open_block.kind} has no <!-- /ringlab:{open_block.kind} -->")
    return blocks


def check_args(line, kind, args):
    fixed = len(USAGE[kind].split("[")[0].split())
    filters = "[" in USAGE[kind]
    if len(args) < fixed or (len(args) > fixed and not filters):
        raise MarkerError(line, f"ringlab:{kind} takes {USAGE[kind]}, not '{' '.join(args)}'")
    if kind == "claim" and not (args[2].isdigit() and int(args[2]) >= 1):
        raise MarkerError(line, f"ringlab:claim: N must be a row number from 1, not '{args[2]}'")
    for f in args[fixed:]:
        col, eq, value = f.partition("=")
        if not (col and eq and value):
            raise MarkerError(line, f"ringlab:{kind}: filter '{f}' is not col=value")


def filters(args):
    """{col: [values]} from col=v1,v2 arguments. A piece holding '=' belongs to the value
    before it (`net=veth,tbf=100mbit` is one value: a list item is never key=value)."""
    out = {}
    for col, _, value in (a.partition("=") for a in args):
        values = []
        for piece in value.split(","):
            if "=" in piece and values:
                values[-1] += "," + piece
            else:
                values.append(piece)
        out[col] = values
    return out


class Sources:
    """Results, claims and tables, each computed once however many blocks use it."""

    def __init__(self, results_dir, experiments_dir):
        self.results_dir, self.experiments_dir = Path(results_dir), Path(experiments_dir)
        self.cache = {}

    def once(self, key, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def csv(self, exp, host):
        path = self.results_dir / host / f"{exp}.csv"
        if not path.is_file():
            raise DataError(f"{shown(path)} does not exist (run: ringlab sweep experiments/{exp}.toml)")
        return path

    def results(self, exp, host):
        return self.once(("results", exp, host), lambda: stats.load_results(self.csv(exp, host)))

    def claims(self, exp, host):
        def evaluate():
            toml = self.experiments_dir / f"{exp}.toml"
            if not toml.is_file():
                raise DataError(f"{shown(toml)} does not exist")
            rows = claims.evaluate_all(self.results(exp, host), shown(toml))[1]
            if not rows:
                raise DataError(f"{shown(toml)} has no [[claim]]")
            return rows
        return self.once(("claims", exp, host), evaluate)

    def values(self, exp, host, column, where):
        """The column's values over the rows matching `where` (valid, undisturbed)."""
        results = self.results(exp, host)
        for col in [column, *where]:
            if col not in results.rows.columns:
                raise DataError(f"{shown(results.path)}: no column '{col}'")
        stats.require_numeric(results.rows, column)
        values = stats.select(results.rows, where)[column].dropna()
        if values.empty:
            what = " where " + " ".join(f"{c}={','.join(v)}" for c, v in where.items()) if where else ""
            raise DataError(f"{shown(results.path)}: no valid, undisturbed row has a value of '{column}'{what}")
        return values


def render(block, sources):
    """What belongs between the block's markers."""
    exp, host, *rest = block.args
    if block.kind == "claims":
        return "\n" + claims.markdown_table(sources.claims(exp, host)) + "\n"
    if block.kind == "efficiency":
        table = sources.once(("efficiency", exp, host), lambda: efficiency.efficiency_table(sources.csv(exp, host)))
        return "\n" + table + "\n"
    if block.kind == "harness_cost":
        return "\n" + efficiency.work_table(sources.csv(exp, host)) + "\n"
    if block.kind == "ranking":
        return "\n" + tables.ranking_table(sources.csv(exp, host), rest[0], rest[1], filters(rest[2:])) + "\n"
    if block.kind == "detection":
        return "\n" + tables.detection_table(sources.csv(exp, host)) + "\n"
    if block.kind == "campaign":
        return "\n" + tables.campaign_table(sources.csv(exp, host)) + "\n"
    if block.kind == "instruments":
        return "\n" + instruments.instrument_table(sources.results_dir / host / f"authors-{exp}.csv") + "\n"
    if block.kind == "claim":
        rows, n = sources.claims(exp, host), int(rest[0])
        if n > len(rows):
            raise DataError(f"{exp}'s claims table has {len(rows)} rows, not {n}")
        return claims.inline(rows[n - 1])
    values = sources.values(exp, host, rest[0], filters(rest[1:]))
    median, low, high = stats.median_ci(values)
    if block.kind == "value":
        return style.prose_value(rest[0], median)
    return f"{median:.3g} (95% CI {low:.3g}-{high:.3g}, {len(values)} runs)"


def typed_numbers(text, blocks, fenced):
    """(line, 'number unit') for each typed-in number in a Results section."""
    masked = list(text)
    for b in blocks:  # blank out each block, keeping its newlines so line numbers hold
        masked[b.start:b.end] = [c if c == "\n" else "\0" for c in text[b.start:b.end]]
    masked = "".join(masked)
    in_results = False
    for number, (line, original) in enumerate(zip(masked.split("\n"), text.split("\n")), 1):
        if number in fenced:
            continue
        heading = HEADING.match(original)
        if heading and len(heading.group(1)) <= 2:
            in_results = len(heading.group(1)) == 2 and heading.group(2).startswith("Results")
        if in_results and NOT_MEASURED not in original:
            for m in TYPED.finditer(line):
                yield number, m.group(0)


def write_atomically(path, text):
    """A temporary file beside `path`, renamed over it: a reader never sees half a README."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def regenerate(text, sources):
    """(new text, stale blocks, [(line, error)])."""
    fenced = fenced_lines(text)
    try:
        blocks = find_blocks(text, fenced)
    except MarkerError as e:
        return text, [], [(e.line, str(e))]
    parts, stale, position = [], [], 0
    for b in blocks:
        try:
            body = render(b, sources)
        except DataError as e:
            return text, [], [(b.line, f"{b.name()}: {e}")]
        if body != text[b.body_start:b.body_end]:
            stale.append(b)
        parts += [text[position:b.body_start], body]
        position = b.body_end
    errors = [(line, f"typed-in number '{number}' (use a ringlab marker, or mark the line {NOT_MEASURED})")
              for line, number in typed_numbers(text, blocks, fenced)]
    return "".join(parts) + text[position:], stale, errors


def main(argv):
    ap = argparse.ArgumentParser(prog="update_readme.py", description="Regenerate the README's measured numbers.")
    ap.add_argument("readme", nargs="?", default=str(REPO_ROOT / "README.md"), metavar="README.md")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 when a block is stale")
    ap.add_argument("--results-dir", default=str(REPO_ROOT / "results"), metavar="DIR",
                    help="where HOST/EXP.csv are (default: results/)")
    ap.add_argument("--experiments-dir", default=str(REPO_ROOT / "experiments"), metavar="DIR",
                    help="where EXP.toml are (default: experiments/)")
    args = ap.parse_args(argv)
    readme = Path(args.readme)
    name = shown(readme.resolve()) if readme.is_absolute() else args.readme
    try:
        text = readme.read_text()
    except (OSError, UnicodeDecodeError) as e:
        print(f"update_readme.py: {name}: cannot read: {getattr(e, 'strerror', None) or e}", file=sys.stderr)
        return 1
    new, stale, errors = regenerate(text, Sources(args.results_dir, args.experiments_dir))
    if args.check:
        errors += [(b.line, f"{b.name()} is stale") for b in stale]
    for line, error in sorted(errors, key=lambda e: e[0]):  # in the README's order
        print(f"{name}:{line}: {error}", file=sys.stderr)
    if errors:
        return 1
    if new != text and not args.check:
        try:
            write_atomically(readme, new)
        except OSError as e:
            print(f"update_readme.py: {name}: cannot write: {e.strerror or e}", file=sys.stderr)
            return 1
    print(f"{name}: {len(stale)} block(s) regenerated" if stale else f"{name}: every block up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
