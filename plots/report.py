#!/usr/bin/python3
"""The documents as a static HTML site: the map (README.md) as index.html, each results
page, the reference and the architecture, with the figures they show.

    report.py [--out DIR] [--root DIR] [--no-check]

Reads README.md, docs/ARCHITECTURE.md, docs/reference/*.md and docs/results/*/*.md under
--root (default: the repository) and writes DIR (default: report/) mirroring their
paths, .md links turned into .html and every file a page links to (figures, TOML, ...)
copied beside it. First checks that the documents are current (update_readme.py
--check: a report of stale numbers would mislead); --no-check skips that. A link to a
file that does not exist, or a stale document, is one line naming the document and the
link, exit 1, and DIR left as it was: the site is built beside it and renamed over it.
"""
import argparse
import html
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import markdown

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ringlab_experiment import REPO_ROOT  # noqa: E402

LINK = re.compile(r'(href|src)="([^"]*)"')
STYLE = """body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em;line-height:1.45}
table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:.2em .4em;vertical-align:top}
code,pre{background:#f4f4f4}pre{padding:.5em;overflow-x:auto}img{max-width:100%}nav{margin-bottom:1em}"""


class ReportError(Exception):
    pass


def documents(root):
    """The same documents as update_readme.py's, under `root`."""
    docs = root / "docs"
    return [root / "README.md", docs / "ARCHITECTURE.md", *sorted((docs / "reference").glob("*.md")),
            *sorted((docs / "results").glob("*.md")), *sorted((docs / "results").glob("*/*.md"))]


def page_path(doc, root):
    """Where a document's page goes in the site: README.md at the top is index.html."""
    relative = doc.relative_to(root)
    return Path("index.html") if relative == Path("README.md") else relative.with_suffix(".html")


def rewrite_links(body, doc, root, pages, copies):
    """Point .md links at pages, note the other files to copy; ReportError for a link to
    nothing."""
    def one(m):
        attribute, target = m.group(1), html.unescape(m.group(2))
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#") or not target:
            return m.group(0)  # another site, or a place on this page
        path, _, fragment = target.partition("#")
        resolved = (doc.parent / path).resolve()
        if resolved in pages:
            new = os.path.relpath(pages[resolved], page_path(doc, root).parent)
        elif resolved.is_file() and resolved.is_relative_to(root):
            copies.add(resolved.relative_to(root))
            new = path
        else:
            raise ReportError(f"{doc.relative_to(root)}: link '{target}' points to nothing")
        new = Path(new).as_posix() + (f"#{fragment}" if fragment else "")
        return f'{attribute}="{html.escape(new)}"'
    return LINK.sub(one, body)


def render(doc, root, pages, copies):
    text = doc.read_text()
    title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), doc.stem)
    body = markdown.markdown(text, extensions=["tables", "fenced_code"], output_format="html")
    body = rewrite_links(body, doc, root, pages, copies)
    home = os.path.relpath("index.html", page_path(doc, root).parent)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head>\n<body><nav><a href=\"{home}\">ringlab</a></nav>\n{body}\n</body></html>\n")


def check_current(root):
    import update_readme
    failed = []
    sources = update_readme.Sources(root / "results", root / "experiments")
    for doc in documents(root):
        lines, _ = update_readme.update(doc, sources, check=True)
        failed += lines
    if failed:
        raise ReportError(f"{failed[0]} (and {len(failed) - 1} more; run /usr/bin/python3 plots/update_readme.py)"
                          if len(failed) > 1 else f"{failed[0]} (run /usr/bin/python3 plots/update_readme.py)")


def build(root, out):
    docs = [d.resolve() for d in documents(root) if d.is_file()]
    pages = {d: page_path(d, root) for d in docs}
    copies, rendered = set(), {}
    for doc in docs:
        rendered[pages[doc]] = render(doc, root, pages, copies)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for page, text in rendered.items():
            (staging / page).parent.mkdir(parents=True, exist_ok=True)
            (staging / page).write_text(text)
        for relative in copies:
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / relative, staging / relative)
        os.chmod(staging, 0o755)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / "site")
        os.replace(staging, out)
        if old:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(rendered), len(copies)


def main(argv):
    ap = argparse.ArgumentParser(prog="report.py", description="The documents as a static HTML site.")
    ap.add_argument("--out", default="report", metavar="DIR", help="where the site goes (default: report/)")
    ap.add_argument("--root", default=str(REPO_ROOT), metavar="DIR", help="the repository (default: this one)")
    ap.add_argument("--no-check", action="store_true", help="do not check that the documents are current")
    args = ap.parse_args(argv)
    root, out = Path(args.root).resolve(), Path(args.out).resolve()
    try:
        if not (root / "README.md").is_file():
            raise ReportError(f"{root}: no README.md (--root is the repository)")
        if not args.no_check:
            check_current(root)
        pages, files = build(root, out)
    except ReportError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"report.py: {out}: cannot write: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"report: {pages} pages and {files} files linked from them in {out}/ (open {out}/index.html)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
