"""A user's own queue, out of tree (-Dextra_queues): the example folder copied outside the
source tree, with two broken copies made here (one drops 1 item in 10 000, one reorders),
configured into a build of its own with -Dbuiltin_queues=false (only the harness, the
commands and these headers: a minute or two, not the full build), then `ringlab list`,
`check` and `run` as a user meets them; a broken copy must fail `check` naming the
property. Last, a header without try_pop must fail to compile naming the member.
Usage: test_extra_queue.py SOURCE_ROOT [meson-options...]"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

SOURCE = None
OPTIONS = []  # the outer build's options that the nested build reuses (buildtype, cpp_args, ...)
TMP = BUILD = RINGLAB = EXTRA = None


def derive(example: str, name: str, anchor: str, replacement: str) -> str:
    """The example renamed to `name` (class and registration), with `anchor` replaced."""
    assert anchor in example, f"the example no longer contains {anchor!r}: update the test"
    return example.replace(anchor, replacement).replace("bounded_ring", name)


def ringlab(*args, timeout=300):
    return subprocess.run([RINGLAB, *args], capture_output=True, text=True, timeout=timeout)


def setUpModule():
    global TMP, BUILD, RINGLAB, EXTRA
    TMP = Path(tempfile.mkdtemp(prefix="ringlab-extra-"))
    EXTRA = TMP / "my_queues"
    shutil.copytree(Path(SOURCE) / "examples" / "extra_queue", EXTRA)
    example = (EXTRA / "bounded_ring.hpp").read_text()
    # Says it pushed every 10 000th item, and drops it.
    (EXTRA / "dropping_ring.hpp").write_text(derive(
        example, "dropping_ring", "    if (size_ == slots_.size()) return false;\n",
        "    if (size_ == slots_.size()) return false;\n    if (++pushes_ % 10000 == 0) return true;\n")
        .replace("  std::size_t size_ = 0;\n", "  std::size_t size_ = 0;\n  std::size_t pushes_ = 0;\n"))
    # Every 1000th push goes in before the item pushed last (when one is inside).
    (EXTRA / "reordering_ring.hpp").write_text(derive(
        example, "reordering_ring", "    ++size_;\n",
        "    ++size_;\n    if (++pushes_ % 1000 == 0 && size_ >= 2)\n"
        "      std::swap(slots_[(head_ + size_ - 1) % slots_.size()], slots_[(head_ + size_ - 2) % slots_.size()]);\n")
        .replace("  std::size_t size_ = 0;\n", "  std::size_t size_ = 0;\n  std::size_t pushes_ = 0;\n")
        .replace("#include <mutex>\n", "#include <mutex>\n#include <utility>\n"))
    BUILD = TMP / "build"
    subprocess.run(["meson", "setup", str(BUILD), SOURCE, *OPTIONS, "-Dtests=false", "-Dbenchmarks=false",
                    "-Dauto_features=disabled", "-Dbuiltin_queues=false", f"-Dextra_queues={EXTRA}"],
                   check=True, capture_output=True, text=True, timeout=300)
    start = time.monotonic()
    built = subprocess.run(["ninja", "-C", str(BUILD), "-j2", "src/ringlab"], capture_output=True, text=True,
                           timeout=900)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-2000:]
    print(f"nested build (harness, commands, 3 extra queues): {time.monotonic() - start:.0f} s", file=sys.stderr)
    RINGLAB = str(BUILD / "src" / "ringlab")


def tearDownModule():
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


class ExtraQueue(unittest.TestCase):
    def test_list_shows_it_with_its_properties(self):
        out = ringlab("list")
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[1:] if line.strip()}
        for name in ["my.bounded_ring", "my.dropping_ring", "my.reordering_ring"]:
            self.assertIn(name, rows, out.stdout)
        self.assertEqual(rows["my.bounded_ring"][1:6], ["thread", "yes", "exact", "no", "PxC"], out.stdout)
        self.assertNotIn("spsc_ring", rows, "-Dbuiltin_queues=false still registered ringlab's own")

    def test_check_passes_the_example(self):
        out = ringlab("check", "my.bounded_ring")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        lines = out.stdout.splitlines()
        properties = [line.split(":")[0] for line in lines]
        for p in ["capacity", "bound", "every value", "exactly-once", "per-producer order", "payload bodies", "wake-ups", "close"]:
            self.assertIn(p, properties, out.stdout)
        for line in lines:
            self.assertRegex(line, r"^[a-z -]+: pass \(", out.stdout)
        self.assertIn("capacities 1 2 3 64 1024", out.stdout)
        self.assertIn("payloads 8 64 1024", out.stdout)

    def assert_check_fails(self, queue, prop):
        out = ringlab("check", queue)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        failing = [line for line in out.stdout.splitlines() if "FAIL" in line]
        self.assertTrue(any(line.startswith(prop + ": FAIL") for line in failing), out.stdout)
        self.assertTrue(all("RINGLAB_SEED=" in line for line in failing), out.stdout)
        return out.stdout

    def test_check_catches_a_dropped_item(self):
        text = self.assert_check_fails("my.dropping_ring", "exactly-once")
        self.assertRegex(text, r"exactly-once: FAIL — .*missing")

    def test_check_catches_reordering(self):
        text = self.assert_check_fails("my.reordering_ring", "per-producer order")
        self.assertRegex(text, r"per-producer order: FAIL — .*item \d+ (popped )?after item \d+")

    def test_check_of_an_unknown_queue_is_one_line_exit_2(self):
        out = ringlab("check", "my.nosuch")
        self.assertEqual(out.returncode, 2)
        self.assertEqual(len(out.stderr.strip().splitlines()), 1, out.stderr)
        self.assertIn("my.nosuch", out.stderr)

    def test_run_gives_a_valid_row(self):
        csv_path = TMP / "run.csv"
        out = ringlab("run", "--queue", "my.bounded_ring", "--producers", "2", "--consumers", "2", "--duration", "0.2",
                      "--out", str(csv_path))
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        with csv_path.open() as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["queue"], "my.bounded_ring")
        self.assertEqual(rows[0]["valid"], "1", rows[0].get("validation_error"))

    def test_zz_a_header_without_try_pop_fails_naming_it(self):
        # Last: it reconfigures the shared build; ninja then compiles only this header.
        broken = EXTRA / "no_pop_ring.hpp"
        example = (EXTRA / "bounded_ring.hpp").read_text()
        broken.write_text(derive(example, "no_pop_ring", "  bool try_pop(T& item) {", "  bool take(T& item) {"))
        try:
            subprocess.run(["meson", "setup", "--reconfigure", str(BUILD), SOURCE], check=True, capture_output=True,
                           timeout=300)
            built = subprocess.run(["ninja", "-C", str(BUILD), "src/ringlab"], capture_output=True, text=True,
                                   timeout=600)
            self.assertNotEqual(built.returncode, 0)
            first_error = next(line for line in built.stdout.splitlines() if "error:" in line)
            self.assertIn("try_pop(T&)", first_error, built.stdout[-3000:])
        finally:
            broken.unlink()


if __name__ == "__main__":
    SOURCE, OPTIONS = sys.argv[1], sys.argv[2:]
    unittest.main(argv=sys.argv[:1], verbosity=2)
