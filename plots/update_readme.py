#!/usr/bin/python3
"""Regenerate the README's measured numbers from the committed CSVs, so that none is
typed in -- and refuse the ones that are.

    update_readme.py [DOC.md ...] [--check] [--results-dir DIR] [--experiments-dir DIR]

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

    <!-- ringlab:provenance EXP HOST -->          where EXP's rows come from: commits, dates, commands,
    <!-- /ringlab:provenance -->                  rows, runs per point (DIR/HOST/EXP.json + .csv)
    <!-- ringlab:experiments HOST -->             every experiment: its question, its claims' verdicts,
    <!-- /ringlab:experiments -->                 its results' commit and its page (docs/results/HOST/)
    <!-- ringlab:cross_host -->                   each claim's verdict on every host with results for
    <!-- /ringlab:cross_host -->                  it, and whether the hosts' ratios agree in direction

A latency percentile whose rows' censored samples (items due in the window and never sent
by its end: lower bounds) reach into its tail is written "≥ X", never as a plain value
(ringlab_stats.censored).

A comparison word (faster, slower, more than, at least as, beats, ahead of, ...) in a
sentence that cites a measured value (a value or median marker) and no claim is an error
too: a verdict beside generated numbers must be a claim's. It is exempted as a number is.

Typed-in numbers, anywhere in a document (every section): a number with a unit (ns, us,
µs, ms, s, [k/M/G] items/s, M/s), a percentage, a ratio ("1.5x", "2.3×") or any decimal
number ("0.963") outside marker blocks, fenced code, `inline code` and HTML comments is an
error. A number that is not a measurement (a setting, a threshold) is exempted where it
stands, one token at a time, saying why: `<!-- not measured: "10%" the default threshold -->`
on its line. An exemption naming a token the line does not have, without a reason, or
without a token (the whole line) is an error too.

Without arguments every document is processed: README.md, docs/ARCHITECTURE.md,
docs/reference/*.md, docs/results/*.md and docs/results/*/*.md.

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
import ringlab_docs as docs  # noqa: E402
import ringlab_efficiency as efficiency  # noqa: E402
import ringlab_instruments as instruments  # noqa: E402
import ringlab_pooled as pooled  # noqa: E402
import ringlab_stats as stats  # noqa: E402
import ringlab_style as style  # noqa: E402
import ringlab_tables as tables  # noqa: E402
from ringlab_experiment import REPO_ROOT, shown  # noqa: E402
from ringlab_stats import DataError  # noqa: E402

USAGE = {"claims": "EXP HOST", "efficiency": "EXP HOST", "claim": "EXP HOST N",
         "median": "EXP HOST COLUMN [col=value ...]", "value": "EXP HOST COLUMN [col=value ...]",
         "ranking": "EXP HOST BASE_QUEUE PAYLOAD [col=value ...]", "detection": "EXP HOST", "campaign": "EXP HOST",
         "instruments": "NAME HOST", "harness_cost": "EXP HOST", "provenance": "EXP HOST", "experiments": "HOST",
         "cross_host": ""}
TABLES = ("claims", "efficiency", "ranking", "detection", "campaign", "instruments", "harness_cost", "provenance",
          "experiments", "cross_host")         # blocks of whole lines; the others sit inside a sentence
MARKER_START = re.compile(r"<!--\s*/?ringlab:")
MARKER = re.compile(r"<!--\s*(/?)ringlab:([A-Za-z_]*)((?:[ \t]+[^\s>]+)*)[ \t]*-->")
FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*)")
UNIT = r"(?:[kMG] ?items/s|items/s|[kMG]/s|ns|us|µs|ms|s)"
TYPED = re.compile(rf"(?<![\w.,])\d+(?:[.,]\d+)*(?:\s*{UNIT}(?![\w/])|\s?%|[x×](?!\w))"  # with a unit, % or x
                   r"|(?<![\w.,])\d*\.\d+(?![\w.])")                                 # or a decimal
COMMENT = re.compile(r"<!--.*?-->")
COMPARISON = re.compile(r"\b(?:faster|slower|fastest|slowest|more than|less than|fewer than|at least as|as fast as|"
                        r"beats?|outperforms?|ahead of|better|worse|twice|half as)\b", re.IGNORECASE)
SENTENCE = re.compile(r"(?:[^.;]|\.(?=\S))+[.;]?", re.DOTALL)  # up to a full stop or ; before a space
EXEMPTION = re.compile(r"<!--\s*not measured\b(.*?)-->")
EXEMPTION_FORM = re.compile(r':\s*"([^"]+)"\s+(\S.*?)\s*$')


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
        self.doc_dir = REPO_ROOT  # the folder of the document being rendered (for its links)

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

    def censored(self, exp, host, column, where):
        """A latency percentile some of whose samples are lower bounds (items due and never
        sent by the run's end): its median is a lower bound too."""
        return stats.censored(stats.select(self.results(exp, host).rows, where), column)


def render(block, sources):
    """What belongs between the block's markers."""
    if block.kind == "cross_host":
        return "\n" + docs.cross_host_table(sources.results_dir, sources.experiments_dir, sources.claims) + "\n"
    if block.kind == "experiments":
        host = block.args[0]
        return ("\n" + docs.results_header(host, sources.results_dir) + "\n\n"
                + docs.experiments_table(host, sources.results_dir, sources.experiments_dir, REPO_ROOT,
                                         lambda exp: sources.claims(exp, host), sources.doc_dir) + "\n")
    exp, host, *rest = block.args
    if block.kind == "provenance":
        return "\n" + docs.provenance_table(sources.csv(exp, host)) + "\n"
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
    # A latency percentile pools the runs' histograms where the rows carry them.
    if (merged := pooled.pooled(stats.select(sources.results(exp, host).rows, filters(rest[1:])), rest[0])):
        median, low, high, _ = merged
    at_least = "≥ " if sources.censored(exp, host, rest[0], filters(rest[1:])) else ""
    if block.kind == "value":
        return at_least + style.prose_value(rest[0], median)
    return f"{at_least}{median:.3g} (95% CI {low:.3g}-{high:.3g}, {len(values)} runs)"


def comparisons(text, blocks, fenced):
    """{line: [word]}: comparison words in a sentence that cites measured values (a value or
    median marker) and no claim -- a verdict typed beside generated numbers."""
    kinds = {b.start: b.kind for b in blocks}
    flagged = {}
    for paragraph in re.finditer(r"(?:.+\n?)+", text):
        start = paragraph.start()
        if line_of(text, start) in fenced or paragraph.group(0).lstrip().startswith("|"):
            continue  # code, or a table (tables are generated, or list settings)
        for sentence in SENTENCE.finditer(paragraph.group(0)):
            s0, s1 = start + sentence.start(), start + sentence.end()
            cited = {kind for at, kind in kinds.items() if s0 <= at < s1}
            if not cited & {"value", "median"} or cited & {"claim", "claims"}:
                continue
            inside = [(b.start, b.end) for b in blocks if b.start < s1 and b.end > s0]
            for m in COMPARISON.finditer(text, s0, s1):
                if not any(a <= m.start() < b for a, b in inside) and not in_inline_code(text, m.start()):
                    flagged.setdefault(line_of(text, m.start()), []).append(m.group(0))
    return flagged


def typed_numbers(text, blocks, fenced):
    """(line, message) for each typed-in number or uncited comparison, and each malformed or
    idle exemption."""
    masked = list(text)
    for b in blocks:  # blank out each block, keeping its newlines so line numbers hold
        masked[b.start:b.end] = [c if c == "\n" else "\0" for c in text[b.start:b.end]]
    masked = "".join(masked)
    compared = comparisons(text, blocks, fenced)
    for number, (line, original) in enumerate(zip(masked.split("\n"), text.split("\n")), 1):
        if number in fenced:
            continue
        exempt = []
        line = re.sub(r"`[^`]*`", lambda m: " " * len(m.group(0)), line)  # inline code is text
        for e in EXEMPTION.finditer(line):
            form = EXEMPTION_FORM.match(e.group(1))
            if not form:
                yield number, (f"'{e.group(0)}': an exemption names one token and why: "
                               '<!-- not measured: "TOKEN" WHY -->')
            else:
                exempt.append(form.group(1))
        bare = COMMENT.sub(lambda m: " " * len(m.group(0)), line)
        found = [m.group(0) for m in TYPED.finditer(bare)]
        words = compared.get(number, [])
        for token in exempt:
            if token not in found and token not in words:
                yield number, f"the exemption of '{token}' names no typed number or comparison on this line"
        for token in found:
            if token not in exempt:
                yield number, (f"typed-in number '{token}' (use a ringlab marker, or exempt it: "
                               f'<!-- not measured: "{token}" WHY -->)')
        for word in words:
            if word not in exempt:
                yield number, (f"'{word}' compares measured values with no claim in its sentence (cite one: "
                               f'ringlab:claim, or exempt it: <!-- not measured: "{word}" WHY -->)')


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
    errors = list(typed_numbers(text, blocks, fenced))
    return "".join(parts) + text[position:], stale, errors


def documents():
    """Every document with measured numbers, in a fixed order."""
    docs = REPO_ROOT / "docs"
    return [REPO_ROOT / "README.md", docs / "ARCHITECTURE.md", *sorted((docs / "reference").glob("*.md")),
            *sorted((docs / "results").glob("*.md")), *sorted((docs / "results").glob("*/*.md"))]


def update(path, sources, check):
    """Regenerate (or --check) one document: its error lines, and whether it changed."""
    name = shown(path.resolve()) if path.is_absolute() else str(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        return [f"update_readme.py: {name}: cannot read: {getattr(e, 'strerror', None) or e}"], 0
    sources.doc_dir = path.resolve().parent
    new, stale, errors = regenerate(text, sources)
    if check:
        errors += [(b.line, f"{b.name()} is stale") for b in stale]
    if errors:
        return [f"{name}:{line}: {error}" for line, error in sorted(errors, key=lambda e: e[0])], 0
    if new != text and not check:
        try:
            write_atomically(path, new)
        except OSError as e:
            return [f"update_readme.py: {name}: cannot write: {e.strerror or e}"], 0
    return [], len(stale)


def main(argv):
    ap = argparse.ArgumentParser(prog="update_readme.py", description="Regenerate the documents' measured numbers.")
    ap.add_argument("docs", nargs="*", metavar="DOC.md", help="default: README.md, docs/reference/*.md, "
                    "docs/results/*/*.md")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 when a block is stale")
    ap.add_argument("--results-dir", default=str(REPO_ROOT / "results"), metavar="DIR",
                    help="where HOST/EXP.csv are (default: results/)")
    ap.add_argument("--experiments-dir", default=str(REPO_ROOT / "experiments"), metavar="DIR",
                    help="where EXP.toml are (default: experiments/)")
    args = ap.parse_args(argv)
    paths = [Path(d) for d in args.docs] or [p.relative_to(Path.cwd()) if p.is_relative_to(Path.cwd()) else p
                                             for p in documents()]
    sources = Sources(args.results_dir, args.experiments_dir)
    failed, regenerated = False, 0
    for path in paths:  # each document all or nothing: one with an error is left as it was
        lines, stale = update(path, sources, args.check)
        for line in lines:
            print(line, file=sys.stderr)
        failed |= bool(lines)
        regenerated += stale
    if failed:
        return 1
    where = str(paths[0]) if len(paths) == 1 else f"{len(paths)} documents"
    print(f"{where}: {regenerated} block(s) regenerated" if regenerated else f"{where}: every block up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
