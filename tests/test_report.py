"""`ringlab report`: the documents as a static site, opened in headless Chromium (Debian's
`chromium`): every page renders, with every figure it shows loaded and every link it
makes pointing inside the site. The controls: a figure taken out of the site and a link
bent to nothing are caught; a document linking to a missing file is refused by the
report in one line, writing nothing.

    test_report.py path/to/ringlab

Chromium runs in a network namespace of its own with no interface (unshare -n), with its
background services off and every host name unresolvable: it reaches nothing. Exits 77
(skipped) where there is no chromium."""
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RINGLAB = None
CHROMIUM = shutil.which("chromium")
# On load, each page copy says how many images it has and which failed, and how many links.
PROBE = """<script>window.addEventListener('load', () => {
  const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
  document.body.setAttribute('data-probe', JSON.stringify({images: document.images.length, broken: broken,
    links: document.links.length, text: document.body.innerText.length}));
});</script>"""
PROBE_RESULT = re.compile(r'data-probe="([^"]*)"')
QUIET = ["--headless=new", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps", "--no-default-browser-check",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--allow-file-access-from-files", "--virtual-time-budget=5000"]


def isolated():
    """unshare -n where we may (root): no network at all; else only the flags above."""
    ok = subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    return ["unshare", "-n"] if ok else []


def probe(page, profile):
    """What Chromium saw of one page: {images, broken, links, text}."""
    import html
    import json
    copy = page.with_name(page.stem + ".probe.html")  # beside it, so relative paths hold
    copy.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    try:
        done = subprocess.run([*isolated(), CHROMIUM, "--no-sandbox", f"--user-data-dir={profile}", *QUIET,
                               "--dump-dom", copy.as_uri()], capture_output=True, text=True, timeout=120)
    finally:
        copy.unlink()
    found = PROBE_RESULT.search(done.stdout)
    if not found:
        return {"error": f"no probe result (exit {done.returncode}): {done.stderr.strip()[-300:]}"}
    return json.loads(html.unescape(found.group(1)))


def local_links(page, site):
    """Each href/src of a page that stays on this machine, resolved: (target, path)."""
    for target in re.findall(r'(?:href|src)="([^"#]+)(?:#[^"]*)?"', page.read_text()):
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target):
            yield target, (page.parent / target).resolve()


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.site = Path(cls.tmp.name) / "site"
        cls.made = subprocess.run([RINGLAB, "report", "--out", str(cls.site)], capture_output=True, text=True,
                                  timeout=300, cwd=ROOT)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def pages(self):
        return sorted(self.site.rglob("*.html"))

    def probe_all(self, pages):
        profiles = [Path(self.tmp.name) / f"profile{i}" for i in range(len(pages))]
        with ThreadPoolExecutor(max_workers=2) as pool:
            return dict(zip(pages, pool.map(probe, pages, profiles)))

    def test_every_page_renders_with_its_figures_and_no_missing_link(self):
        self.assertEqual(self.made.returncode, 0, self.made.stderr)
        pages = self.pages()
        results = [p for p in pages if "/docs/results/" in p.as_posix()]
        self.assertGreaterEqual(len(results), 15, "a page per experiment")
        self.assertIn(self.site / "index.html", pages)
        for page in pages:
            for target, path in local_links(page, self.site):
                self.assertTrue(path.is_file() and path.is_relative_to(self.site),
                                f"{page.relative_to(self.site)}: '{target}' points to nothing in the site")
        seen = self.probe_all(pages)
        images = 0
        for page, saw in seen.items():
            name = page.relative_to(self.site)
            self.assertNotIn("error", saw, name)
            self.assertEqual(saw["broken"], [], f"{name}: figures that did not load")
            self.assertGreater(saw["text"], 200, f"{name}: rendered next to nothing")
            images += saw["images"]
        self.assertGreaterEqual(images, 40, "the results pages show their figures")

    def test_the_controls_a_missing_figure_and_a_bent_link_are_caught(self):
        self.assertEqual(self.made.returncode, 0, self.made.stderr)
        control = Path(self.tmp.name) / "control"
        shutil.copytree(self.site, control)
        page = control / "docs" / "results" / "amd-epyc-2pu" / "fairness.html"
        figure = next(path for target, path in local_links(page, control) if target.endswith(".png"))
        figure.unlink()
        saw = probe(page, Path(self.tmp.name) / "profile-control")
        self.assertEqual(len(saw["broken"]), 1, saw)
        page.write_text(page.read_text().replace('href="README.html"', 'href="no-such-page.html"', 1))
        missing = [t for t, path in local_links(page, control) if not path.is_file()]
        self.assertIn("no-such-page.html", missing)

    def test_a_link_to_nothing_is_refused_in_one_line_writing_nothing(self):
        root = Path(self.tmp.name) / "repo"
        (root / "docs").mkdir(parents=True)
        (root / "README.md").write_text("# x\n\n[gone](docs/gone.md)\n")
        out = Path(self.tmp.name) / "refused"
        done = subprocess.run([sys.executable, str(ROOT / "plots" / "report.py"), "--root", str(root), "--no-check",
                               "--out", str(out)], capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stderr.strip().splitlines(),
                         ["report.py: README.md: link 'docs/gone.md' points to nothing"])
        self.assertFalse(out.exists())
        self.assertEqual([p.name for p in out.parent.iterdir() if p.name.startswith(".refused")], [], "no leftovers")


if __name__ == "__main__":
    if not CHROMIUM:
        print("skipped: no chromium (scripts/test installs Debian's)")
        sys.exit(77)
    RINGLAB = str(Path(sys.argv.pop(1)).resolve())  # meson passes it relative to the build tree
    unittest.main()
