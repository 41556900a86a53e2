"""plots/update_readme.py on a small README and the plot fixtures (tests/data/plot-*):
every marker kind, --check, the typed-in-number lint, and one-line errors that leave the
README as it was. Run with Debian's python: /usr/bin/python3 tests/test_readme.py"""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
HOST = "fixture-host-2pu"
sys.path.insert(0, str(ROOT / "plots"))
import ringlab_stats as stats  # noqa: E402
import ringlab_style as style  # noqa: E402

README = textwrap.dedent(f"""\
    # Fixture

    ## Goals

    A goal, exempted token by token: 300 M items/s <!-- not measured: "300 M items/s" a goal, not a result -->.

    ## Results on {HOST}

    Not units: p99.9, 4P4C, 0x10, 2 PUs, 2024-05-31, 5 repetitions.

    <!-- ringlab:claims plot-fixture {HOST} -->
    <!-- /ringlab:claims -->

    spsc_ring moves <!-- ringlab:value plot-fixture {HOST} throughput_items_per_s queue=spsc_ring wait=spin capacity=1024 -->?<!-- /ringlab:value --> at 1024 slots,
    p99 <!-- ringlab:median plot-fixture {HOST} lat_p99_ns queue=spsc_ring,spsc_ring.lamport capacity=16 -->old<!-- /ringlab:median --> ns;
    claim 4 gives <!-- ringlab:claim plot-fixture {HOST} 4 --><!-- /ringlab:claim -->.

    ### Harness efficiency

    <!-- ringlab:efficiency plot-efficiency {HOST} -->
    old table
    <!-- /ringlab:efficiency -->

    The goal was 2x the textbook queue. <!-- not measured: "2x" the goal's ratio -->

    ```
    $ ringlab run     # 5 ns in code; so is <!-- ringlab:claims no such -->
    ```

    Markers in `<!-- ringlab:value EXP HOST COLUMN -->` inline code are text too.

    ## Layout

    Every section is checked: 3 ns. <!-- not measured: "3 ns" an example -->
    """)


def line_of(text, words):
    return next(i for i, line in enumerate(text.splitlines(), 1) if words in line)


class ReadmeCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        results = self.dir / "results" / HOST
        results.mkdir(parents=True)
        for name in ("plot-fixture", "plot-efficiency"):
            for ext in ("csv", "json"):
                shutil.copy(DATA / f"{name}.{ext}", results / f"{name}.{ext}")
        self.readme = self.dir / "README.md"
        self.readme.write_text(README)

    def tearDown(self):
        self.tmp.cleanup()

    def run_script(self, *args):
        return subprocess.run([sys.executable, str(ROOT / "plots" / "update_readme.py"), "README.md", *args,
                               "--results-dir", "results", "--experiments-dir", str(DATA)],
                              capture_output=True, text=True, timeout=120, cwd=self.dir)

    def regenerated(self):
        r = self.run_script()
        self.assertEqual(r.returncode, 0, r.stderr)
        return self.readme.read_text()

    def fails_leaving_readme(self, text, *args):
        """Write `text`, run; expect exit 1 and the README byte for byte as it was. The stderr lines."""
        self.readme.write_text(text)
        before = self.readme.stat().st_mtime_ns
        r = self.run_script(*args)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(self.readme.read_text(), text)
        self.assertEqual(self.readme.stat().st_mtime_ns, before)
        return r.stderr.strip().splitlines()


class Regenerate(ReadmeCase):
    def test_after_regeneration_check_passes_and_changes_nothing(self):
        text = self.regenerated()
        self.assertNotEqual(text, README)
        r = self.run_script("--check")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(self.readme.read_text(), text)
        self.assertEqual(self.regenerated(), text, "a second run is a fixed point")

    def test_claims_table_is_claims_py_markdown(self):
        text = self.regenerated()
        done = subprocess.run([sys.executable, str(ROOT / "plots" / "claims.py"), str(DATA / "plot-fixture.csv"),
                               "--experiment", str(DATA / "plot-fixture.toml"), "--markdown"],
                              capture_output=True, text=True, timeout=120)
        self.assertIn(f"<!-- ringlab:claims plot-fixture {HOST} -->\n{done.stdout}<!-- /ringlab:claims -->", text)

    def test_value_median_and_claim_markers(self):
        text = self.regenerated()
        # spsc_ring at 1024: 300 M items/s x STEADY, median exactly 300 M.
        self.assertIn("-->300 M items/s<!-- /ringlab:value --> at 1024", text)
        # p99 of spsc_ring (~150 ns) and lamport (~400 ns) at 16: 10 runs (the disturbed 11th left out),
        # median between the 5th (151.5) and the 6th (396.0).
        _, low, high = stats.median_ci([148.5, 150.0, 151.5, 149.2, 150.8, 396.0, 400.0, 404.0, 398.0, 402.0])
        self.assertIn(f"-->274 (95% CI {low:.3g}-{high:.3g}, 10 runs)<!-- /ringlab:median --> ns", text)
        # Row 4 of the fixture's claims table (3 per-capacity rows come first).
        self.assertIn("-->0.300 [0.296, 0.305], not held<!-- /ringlab:claim -->.", text)

    def test_a_censored_percentile_is_written_as_a_lower_bound(self):
        import pandas as pd
        csv = self.dir / "results" / HOST / "plot-fixture.csv"
        frame = pd.read_csv(csv, keep_default_na=False, na_values=[""])
        lamport = frame["queue"] == "spsc_ring.lamport"
        p99 = f"<!-- ringlab:value plot-fixture {HOST} lat_p99_ns queue=spsc_ring.lamport capacity=16 -->"
        p50 = f"<!-- ringlab:value plot-fixture {HOST} lat_p50_ns queue=spsc_ring.lamport capacity=16 -->"
        for share, p99_bound, p50_bound in [(0.0, False, False),    # the control: nothing censored
                                            (0.005, False, False),  # censored, within p99's tail: still bounded
                                            (0.02, True, False),    # into p99's tail, not p50's
                                            (1.0, True, True)]:     # every sample censored (rpc's case)
            frame["lat_censored_samples"] = 0
            frame.loc[lamport, "lat_censored_samples"] = (frame.loc[lamport, "lat_samples"] * share).astype(int)
            frame.to_csv(csv, index=False)
            self.readme.write_text(README + f"\n{p99}?<!-- /ringlab:value --> {p50}?<!-- /ringlab:value -->\n")
            text = self.regenerated()
            self.assertEqual(f"{p99}≥ " in text, p99_bound, share)
            self.assertEqual(f"{p50}≥ " in text, p50_bound, share)

    def test_a_claim_on_a_censored_percentile_is_not_ranked(self):
        import claims
        import pandas as pd
        csv = self.dir / "results" / HOST / "plot-fixture.csv"
        toml = self.dir / "censored.toml"
        toml.write_text((DATA / "plot-fixture.toml").read_text().split("[[claim]]")[0] +
                        '[[claim]]\nstatement = "spsc_ring lat_p99_ns <= 1 * spsc_ring.lamport"\n'
                        'where = { capacity = 16 }\nsource = "fixture: censored"\n')
        frame = pd.read_csv(csv, keep_default_na=False, na_values=[""])
        verdicts = []
        for share in (0.0, 1.0):  # the control, then every sample censored
            frame["lat_censored_samples"] = 0
            lamport = frame["queue"] == "spsc_ring.lamport"
            frame.loc[lamport, "lat_censored_samples"] = (frame.loc[lamport, "lat_samples"] * share).astype(int)
            frame.to_csv(csv, index=False)
            verdicts.append(claims.evaluate_all(stats.load_results(csv), str(toml))[1][0].verdict)
        self.assertNotIn("censored", verdicts[0])
        self.assertEqual(claims.short(verdicts[1]), "not evaluable", verdicts[1])
        self.assertIn("spsc_ring.lamport's lat_p99_ns is censored (a lower bound), never ranked", verdicts[1])

    def test_the_cross_host_table_says_where_hosts_agree(self):
        import pandas as pd
        other = self.dir / "results" / "other-host-4pu"
        shutil.copytree(self.dir / "results" / HOST, other)
        marker = "<!-- ringlab:cross_host -->\n<!-- /ringlab:cross_host -->\n"
        self.readme.write_text(README + marker)
        text = self.regenerated()
        self.assertIn(f"| experiment | claim | {HOST} | other-host-4pu | direction |", text)
        self.assertIn("agrees", text)
        self.assertNotIn("differs", text)  # the control: the same rows on both hosts
        frame = pd.read_csv(other / "plot-fixture.csv", keep_default_na=False, na_values=[""])
        park = (frame["queue"] == "mpmc_ring") & (frame["wait"] == "park")
        frame.loc[park, "throughput_items_per_s"] *= 10  # park now ahead of spin on the other host
        frame.to_csv(other / "plot-fixture.csv", index=False)
        self.readme.write_text(README + marker)
        row = next(line for line in self.regenerated().splitlines()
                   if line.startswith("| plot-fixture |") and "2 * mpmc_ring[wait=park]" in line)
        self.assertTrue(row.endswith("| differs |"), row)

    def test_the_provenance_says_what_ended_adaptive_points(self):
        import json
        marker = f"<!-- ringlab:provenance plot-fixture {HOST} -->\n<!-- /ringlab:provenance -->\n"
        self.readme.write_text(README + marker)
        self.assertNotIn("Adaptive:", self.regenerated())  # the control: the fixture's sessions were not adaptive
        prov_path = self.dir / "results" / HOST / "plot-fixture.json"
        prov = json.loads(prov_path.read_text())
        prov.setdefault("sessions", [{}])[-1].update(
            {"max_repetitions": 10, "precision": {"lat_p99_ns": 0.2}, "points_met_precision": 5,
             "points_at_cap": [{"point": "x", "wider_than_target": "lat_p99_ns", "runs": 10}]})
        prov_path.write_text(json.dumps(prov))
        self.readme.write_text(README + marker)
        text = self.regenerated()
        self.assertIn("(lat_p99_ns 20%) or 10 runs: 5 points met their targets, 1 stopped at the cap.", text)
        self.assertEqual(text.count("Adaptive:"), 1, "the latest session is also at load_provenance's top: said once")
        # A Slurm merge: the same members at the top of the file, every point run to its cap.
        prov["sessions"][-1] = {k: v for k, v in prov["sessions"][-1].items() if k not in
                                ("max_repetitions", "precision", "points_met_precision", "points_at_cap")}
        prov.update({"max_repetitions": 10, "ran_cap_up_front": True, "precision": {"lat_p99_ns": 0.2},
                     "points_met_precision": 4, "points_at_cap": []})
        prov_path.write_text(json.dumps(prov))
        self.readme.write_text(README + marker)
        text = self.regenerated()
        self.assertIn("every point ran its cap of 10 runs (a Slurm array's tasks cannot wait on each other's results): "
                      "4 points met their targets (lat_p99_ns 20%), 0 did not.", text)
        self.assertEqual(text.count("Adaptive:"), 1)

    def test_a_claim_on_latency_at_the_machines_floor_is_not_ranked(self):
        import claims
        import pandas as pd
        csv = self.dir / "results" / HOST / "plot-fixture.csv"
        toml = self.dir / "floor.toml"
        toml.write_text((DATA / "plot-fixture.toml").read_text().split("[[claim]]")[0] +
                        '[[claim]]\nstatement = "spsc_ring lat_p99_ns <= 1 * spsc_ring.lamport"\n'
                        'where = { capacity = 16 }\nsource = "fixture: floor"\n')
        frame = pd.read_csv(csv, keep_default_na=False, na_values=[""])
        verdicts = []
        for floor in (10.0, 1000.0):  # the control: a floor far below both p99s; then above them
            frame["floor_p99_ns"] = floor
            frame.to_csv(csv, index=False)
            verdicts.append(claims.evaluate_all(stats.load_results(csv), str(toml))[1][0].verdict)
        self.assertNotIn("floor", verdicts[0])
        self.assertEqual(claims.short(verdicts[1]), "not evaluable", verdicts[1])
        self.assertIn("lat_p99_ns is at the machine's floor, never ranked", verdicts[1])

    def test_a_filter_value_may_hold_a_comma_and_an_equals_sign(self):
        import update_readme
        self.assertEqual(update_readme.filters(["net=veth,tbf=100mbit", "queue=a,b"]),
                         {"net": ["veth,tbf=100mbit"], "queue": ["a", "b"]})
        # The control: a plain list still splits.
        self.assertEqual(update_readme.filters(["net=veth,loopback"]), {"net": ["veth", "loopback"]})

    def test_efficiency_table(self):
        text = self.regenerated()
        block = text.split(f"<!-- ringlab:efficiency plot-efficiency {HOST} -->\n")[1].split("<!-- /")[0]
        rows = stats.load_results(DATA / "plot-efficiency.csv").rows

        def eff(queue):
            def side(mode):
                return rows[(rows["queue"] == queue) & (rows["mode"] == mode)]["throughput_items_per_s"]
            e = stats.efficiency(side("harness"), side("native"))
            return f"{style.three_digits(e.median)} [{style.three_digits(e.ci_low)}, {style.three_digits(e.ci_high)}]"
        self.assertEqual(block.splitlines(), [
            "| queue | wait | pattern | capacity | native | harness | harness_efficiency [95% CI] "
            "| n (harness/native) | regime (bottleneck; stability) |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| spsc_ring | spin | stream | 1024 | 400 M items/s | 300 M items/s | {eff('spsc_ring')} | 5/5 "
            "| bottleneck not known |",
            f"| aq.AtomicQueue.spsc | block | stream | 1024 | 300 M items/s | 150 M items/s | "
            f"{eff('aq.AtomicQueue.spsc')} | 5/5 | bottleneck not known |",
            "",
            "Without a native partner (not in the table): "
            "group=spsc queue=rwq.ReaderWriterQueue wait=spin mode=harness (no native partner); "
            "group=spsc queue=moodycamel wait=spin mode=harness (2 native partners)."])
        self.assertTrue(eff("spsc_ring").startswith("0.750 ["))
        self.assertTrue(eff("aq.AtomicQueue.spsc").startswith("0.500 ["))

    def test_instrument_table(self):
        """ringlab:instruments: per instrument the median (lowest-highest) and the ratio to the
        author's program; spsc_ring / atomic_queue per instrument and how far they differ."""
        shutil.copy(DATA / "authors-fixture.csv", self.dir / "results" / HOST / "authors-fixture.csv")
        self.readme.write_text(README + f"\n<!-- ringlab:instruments fixture {HOST} -->\n<!-- /ringlab:instruments -->\n")
        block = self.regenerated().split(f"<!-- ringlab:instruments fixture {HOST} -->\n")[1].split("<!-- /")[0]
        self.assertIn("| 8 B | 1024 | spsc_ring | 200 M items/s (100–300) | 150 M items/s (150–150) | "
                      "300 M items/s (300–300) | 0.75 | 1.50 |", block)
        self.assertIn("| 8 B | 1024 | **spsc_ring / aq.AtomicQueue.spsc** | 0.50 | 0.50 | 1.50 | instruments differ by 3.00 | |",
                      block)
        (self.dir / "results" / HOST / "authors-fixture.csv").unlink()  # the control: no CSV, one line, no rewrite
        lines = self.fails_leaving_readme(self.readme.read_text())
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("authors-fixture.csv does not exist", lines[0])

    def test_instrument_table_pairs_the_queues_within_each_round(self):
        """Under the table: ours / theirs within each round (run, placement) per instrument; the
        control: rounds that never hold both queues give no such line."""
        target = self.dir / "results" / HOST / "authors-fixture.csv"
        shutil.copy(DATA / "authors-fixture.csv", target)
        self.readme.write_text(README + f"\n<!-- ringlab:instruments fixture {HOST} -->\n<!-- /ringlab:instruments -->\n")
        block = self.regenerated().split(f"<!-- ringlab:instruments fixture {HOST} -->\n")[1].split("<!-- /")[0]
        self.assertIn("spsc_ring / aq.AtomicQueue.spsc within each round", block)
        self.assertIn("author's program, 8 B, 1024: 0.40 (0.25–0.75, 3 rounds); "
                      "ringlab --native --loop author, 8 B, 1024: 0.50 (0.50–0.50, 1 round); "
                      "ringlab --native, 8 B, 1024: 1.50 (1.50–1.50, 1 round).", block)
        lines = target.read_text().splitlines()  # the control: the peer's rows in rounds of their own
        fields = [line.split(",") for line in lines[1:]]
        for f in fields:
            if f[1] == "OptimistAtomicQueue":
                f[5] = str(int(f[5]) + 10)  # the run
        target.write_text("\n".join(lines[:1] + [",".join(f) for f in fields]) + "\n")
        self.readme.write_text(README + f"\n<!-- ringlab:instruments fixture {HOST} -->\n<!-- /ringlab:instruments -->\n")
        block = self.regenerated().split(f"<!-- ringlab:instruments fixture {HOST} -->\n")[1].split("<!-- /")[0]
        self.assertIn("**spsc_ring / aq.AtomicQueue.spsc**", block)
        self.assertNotIn("within each round", block)

    def test_instrument_table_of_round_trips(self):
        """A round-trip program's table (rtt_mean_ns), its pair from the CSV's `compare` column
        and a threads column; without the pair, no bold row (the control)."""
        target = self.dir / "results" / HOST / "authors-rtt.csv"
        shutil.copy(DATA / "authors-rtt-fixture.csv", target)
        self.readme.write_text(README + f"\n<!-- ringlab:instruments rtt {HOST} -->\n<!-- /ringlab:instruments -->\n")
        block = self.regenerated().split(f"<!-- ringlab:instruments rtt {HOST} -->\n")[1].split("<!-- /")[0]
        self.assertIn("| 8 B | 8 | 1P1C | iceoryx | 2.5 µs (2–3) | — | 1 µs (1–1) | — | 0.40 |", block)
        self.assertIn("| 8 B | 8 | 1P1C | **posix_mq / iceoryx** | 3.20 | — | 6.00 | instruments differ by 1.88 | |", block)
        target.write_text(target.read_text().replace(",ours\n", ",\n"))
        self.readme.write_text(README + f"\n<!-- ringlab:instruments rtt {HOST} -->\n<!-- /ringlab:instruments -->\n")
        block = self.regenerated().split(f"<!-- ringlab:instruments rtt {HOST} -->\n")[1].split("<!-- /")[0]
        self.assertNotIn("**", block)

    def test_instrument_table_by_the_scripts_configuration(self):
        """A `config` column labels the rows compared (their sizes differ per instrument), in the
        script's order; a `taken_fraction` column adds the author's consumer's share of the items."""
        head = "instrument,queue,config,element_bytes,capacity,run,throughput_items_per_s,upstream_commit,compare,taken_fraction\n"
        rows = ["author's program,q,4 B unpinned,4,9,0,400,abc,theirs,0.25", "author's program,q,8 B unpinned,8,9,0,300,abc,theirs,0.5",
                "author's program,r,8 B unpinned,8,9,0,150,abc,ours,1", "ringlab --native,q,8 B unpinned,8,9,0,100,abc,theirs,",
                "ringlab --native,r,8 B unpinned,8,9,0,200,abc,ours,", "ringlab --native,r,8 B pinned,8,9,0,250,abc,ours,"]
        (self.dir / "results" / HOST / "authors-cfg.csv").write_text(head + "\n".join(rows) + "\n")
        self.readme.write_text(README + f"\n<!-- ringlab:instruments cfg {HOST} -->\n<!-- /ringlab:instruments -->\n")
        block = self.regenerated().split(f"<!-- ringlab:instruments cfg {HOST} -->\n")[1].split("<!-- /")[0]
        lines = block.strip().splitlines()
        self.assertTrue(lines[0].startswith("| configuration | queue | author's program (abc) |"), lines[0])
        self.assertEqual([line.split(" | ")[0] for line in lines[2:7]], ["| 4 B unpinned", "| 8 B unpinned", "| 8 B unpinned",
                                                                         "| 8 B unpinned", "| 8 B pinned"])
        self.assertIn("| 8 B unpinned | **r / q** | 0.50 | — | 2.00 | instruments differ by 4.00 | |", block)
        self.assertIn("median over runs: q 25% (4 B unpinned); q 50% (8 B unpinned); r 100% (8 B unpinned).", block)
        self.assertNotIn("median pass", block)  # the control of the next tests: no such column, no such line
        self.assertNotIn("cache line", block)

    def test_instrument_table_gives_the_programs_median_pass_where_the_script_kept_it(self):
        head = "instrument,queue,config,element_bytes,capacity,run,throughput_items_per_s,upstream_commit,compare,median_pass_items_per_s\n"
        rows = ["author's program,q,8 B unpinned,8,9,0,3e8,abc,theirs,1e8", "author's program,q,8 B unpinned,8,9,1,3e8,abc,theirs,3e8",
                "author's program,q,8 B unpinned,8,9,2,3e8,abc,theirs,2e8", "ringlab --native,q,8 B unpinned,8,9,0,1e8,abc,theirs,"]
        (self.dir / "results" / HOST / "authors-pass.csv").write_text(head + "\n".join(rows) + "\n")
        self.readme.write_text(README + f"\n<!-- ringlab:instruments pass {HOST} -->\n<!-- /ringlab:instruments -->\n")
        block = self.regenerated().split(f"<!-- ringlab:instruments pass {HOST} -->\n")[1].split("<!-- /")[0]
        self.assertIn("fastest fifth), median over runs: q 200 M items/s (8 B unpinned).", block)

    def test_instrument_table_splits_the_programs_runs_by_a_shared_line_where_the_script_recorded_it(self):
        head = "instrument,queue,config,element_bytes,capacity,run,throughput_items_per_s,upstream_commit,compare,item_lines_shared\n"
        rows = ["author's program,q,8 B unpinned,8,9,0,3e8,abc,theirs,", "author's program,r,8 B unpinned,8,9,0,6e7,abc,,1",
                "author's program,r,8 B unpinned,8,9,1,1.7e8,abc,,0", "author's program,r,8 B unpinned,8,9,2,5e7,abc,,1",
                "ringlab --native,q,8 B unpinned,8,9,0,1e8,abc,theirs,"]
        (self.dir / "results" / HOST / "authors-line.csv").write_text(head + "\n".join(rows) + "\n")
        self.readme.write_text(README + f"\n<!-- ringlab:instruments line {HOST} -->\n<!-- /ringlab:instruments -->\n")
        block = self.regenerated().split(f"<!-- ringlab:instruments line {HOST} -->\n")[1].split("<!-- /")[0]
        self.assertIn("the median each way: r 2 of 3 runs (sharing 55 M items/s, apart 170 M items/s) (8 B unpinned).", block)

    def test_markers_in_code_are_left_alone(self):
        text = self.regenerated()
        self.assertIn("# 5 ns in code; so is <!-- ringlab:claims no such -->\n", text)
        self.assertIn("`<!-- ringlab:value EXP HOST COLUMN -->`", text)

    def test_the_rewrite_is_a_rename_keeping_the_mode(self):
        os.chmod(self.readme, 0o640)
        self.regenerated()
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()), ["README.md", "results"])  # no temporary
        self.assertEqual(self.readme.stat().st_mode & 0o777, 0o640)


class Check(ReadmeCase):
    def test_a_stale_block_fails_check_naming_its_line(self):
        text = self.regenerated()
        stale = text.replace("-->300 M items/s<!--", "-->301 M items/s<!--")
        self.assertEqual(self.fails_leaving_readme(stale, "--check"), [
            f"README.md:{line_of(stale, 'ringlab:value')}: ringlab:value plot-fixture {HOST} throughput_items_per_s "
            "queue=spsc_ring wait=spin capacity=1024 is stale"])

    def test_every_stale_block_is_a_line(self):
        lines = self.fails_leaving_readme(README, "--check")
        self.assertEqual([line.split(": ")[1].split()[0] for line in lines],
                         ["ringlab:claims", "ringlab:value", "ringlab:median", "ringlab:claim", "ringlab:efficiency"])
        self.assertTrue(all(line.endswith(" is stale") for line in lines), lines)


class TypedNumbers(ReadmeCase):
    TYPED = ["1.43x", "2.3×", "118 ns", "3.4 us", "3.4 µs", "12 ms", "312 M items/s", "5 items/s", "150 M/s",
             "2 k items/s", "0.963", "21 %", "31%", "0.3 s"]

    @staticmethod
    def typed(token):
        return f"typed-in number '{token}' (use a ringlab marker, or exempt it: <!-- not measured: \"{token}\" WHY -->)"

    def test_a_typed_number_fails_both_modes(self):
        for typed in self.TYPED:
            text = README.replace("Not units:", f"We measured {typed} here. Not units:")
            line = line_of(text, "We measured")
            for mode in (["--check"], []):
                lines = self.fails_leaving_readme(text, *mode)
                self.assertEqual([x for x in lines if "typed-in" in x], [f"README.md:{line}: {self.typed(typed)}"],
                                 (typed, mode))

    def test_exempted_tokens_code_and_look_alikes_pass(self):
        # The base README has exempted numbers, numbers in code, and look-alikes (p99.9,
        # 4P4C, 0x10, a date): after regeneration --check passes.
        self.regenerated()
        self.assertEqual(self.run_script("--check").returncode, 0)

    def test_every_section_is_checked(self):
        text = self.regenerated()
        for heading in ("## Goals", "### Harness efficiency", "## Layout"):
            with_number = text.replace(heading + "\n", heading + "\n\nAbout 0.75x.\n")
            self.assertEqual(self.fails_leaving_readme(with_number, "--check"),
                             [f"README.md:{line_of(with_number, 'About 0.75x')}: {self.typed('0.75x')}"], heading)

    def test_an_exemption_covers_its_own_token_only(self):
        text = self.regenerated()
        line = 'Two: 4 ns and 5 ns. <!-- not measured: "4 ns" an example -->'
        text = text.replace("## Layout\n", f"## Layout\n\n{line}\n")
        self.assertEqual(self.fails_leaving_readme(text, "--check"),
                         [f"README.md:{line_of(text, 'Two: 4 ns')}: {self.typed('5 ns')}"])

    def test_a_comparison_beside_measured_values_needs_a_claim(self):
        text = self.regenerated()
        value = f"<!-- ringlab:value plot-fixture {HOST} throughput_items_per_s queue=spsc_ring wait=spin capacity=1024 -->"
        claim = f"<!-- ringlab:claim plot-fixture {HOST} 4 -->"
        typed = text.replace("## Layout\n", f"## Layout\n\nspsc_ring is faster: {value}?<!-- /ringlab:value -->.\n")
        lines = [line for line in self.fails_leaving_readme(typed, "--check") if "stale" not in line]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(f"README.md:{line_of(typed, 'is faster')}: 'faster' compares measured values with no claim", lines[0])
        # The controls: the same sentence citing a claim, or saying why it is no verdict.
        for ok in (f"spsc_ring is faster: {value}?<!-- /ringlab:value -->, {claim}?<!-- /ringlab:claim -->.",
                   f'spsc_ring is faster <!-- not measured: "faster" a test --> : {value}?<!-- /ringlab:value -->.',
                   "Without a measured value it is faster, and no number: prose."):
            self.readme.write_text(text.replace("## Layout\n", f"## Layout\n\n{ok}\n"))
            self.assertEqual(self.run_script().returncode, 0, ok)

    def test_a_whole_line_idle_or_unexplained_exemption_is_refused(self):
        text = self.regenerated()
        for line, error in [("Line: 4 ns. <!-- not measured -->", "an exemption names one token and why"),
                            ('Line: 4 ns. <!-- not measured: "4 ns" -->', "an exemption names one token and why"),
                            ('Line: none. <!-- not measured: "4 ns" a reason -->',
                             "the exemption of '4 ns' names no typed number or comparison on this line")]:
            bad = text.replace("## Layout\n", f"## Layout\n\n{line}\n")
            lines = self.fails_leaving_readme(bad, "--check")
            self.assertIn(error, lines[0], line)
            self.assertTrue(lines[0].startswith(f"README.md:{line_of(bad, 'Line: ')}: "), lines)


class Errors(ReadmeCase):
    VALUE = f"<!-- ringlab:value plot-fixture {HOST} throughput_items_per_s -->?<!-- /ringlab:value -->"

    def case(self, replacement, words):
        """Put `replacement` where the README's value marker is: one line naming that line."""
        original = next(line for line in README.splitlines() if "ringlab:value" in line)
        text = README.replace(original, replacement)
        lines = self.fails_leaving_readme(text)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith(f"README.md:{line_of(text, replacement[:30])}: "), lines)
        self.assertIn(words, lines[0])

    def test_missing_csv(self):
        self.case(self.VALUE.replace(HOST, "no-host"), "results/no-host/plot-fixture.csv does not exist")

    def test_unknown_column_or_filter_column(self):
        self.case(self.VALUE.replace("throughput_items_per_s", "nope"), "no column 'nope'")
        self.case(self.VALUE.replace("throughput_items_per_s", "lat_p99_ns nope=1"), "no column 'nope'")

    def test_a_filter_matching_nothing(self):
        self.case(self.VALUE.replace("throughput_items_per_s", "lat_p99_ns queue=handoff_slot"),
                  "no valid, undisturbed row has a value of 'lat_p99_ns' where queue=handoff_slot")

    def test_bad_marker_syntax(self):
        cases = [(f"<!-- ringlab:value plot-fixture {HOST} -->?<!-- /ringlab:value -->", "takes EXP HOST COLUMN"),
                 (f"<!-- ringlab:value plot-fixture {HOST} lat_p99_ns queue -->?<!-- /ringlab:value -->",
                  "filter 'queue' is not col=value"),
                 (f"<!-- ringlab:claim plot-fixture {HOST} 0 --><!-- /ringlab:claim -->", "a row number from 1"),
                 (f"<!-- ringlab:claim plot-fixture {HOST} 99 --><!-- /ringlab:claim -->",
                  "claims table has 8 rows, not 99"),
                 (f"<!-- ringlab:valeu plot-fixture {HOST} x -->?<!-- /ringlab:valeu -->", "unknown marker"),
                 (f"<!-- ringlab:value plot-fixture {HOST} lat_p99_ns ->?<!-- /ringlab:value -->",
                  "malformed ringlab marker"),
                 (f"{self.VALUE[:-len('<!-- /ringlab:value -->')]}", "is not closed"),
                 ("text <!-- /ringlab:value -->", "closes no open ringlab:value")]
        for replacement, words in cases:
            with self.subTest(replacement=replacement):
                self.case(replacement, words)

    def test_an_unclosed_last_marker(self):
        text = README + f"<!-- ringlab:value plot-fixture {HOST} lat_p99_ns -->\n"
        lines = self.fails_leaving_readme(text)
        self.assertEqual(lines, [f"README.md:{len(text.splitlines())}: ringlab:value has no <!-- /ringlab:value -->"])


class Predictions(unittest.TestCase):
    """A prediction claim (claims.py: littles_law(...)) can hold and can fail: from the
    round trip at 1 consumer, 2 consumers that double the throughput hold it; 4 whose
    server saturates (the same throughput as 2) fail it -- the control."""

    def test_a_prediction_holds_where_the_law_does_and_fails_where_it_does_not(self):
        import claims
        import numpy as np
        rows = []
        rng = np.random.default_rng(7)
        for consumers, throughput in ((1, 1e4), (2, 2e4), (4, 2e4)):  # rtt 100 us: 1e4 a consumer
            for rep in range(7):
                rows.append({"experiment": "p", "point": f"queue=rpc consumers={consumers}", "repetition": rep,
                             "queue": "rpc", "consumers": consumers, "service_ns": 0, "valid": 1, "disturbed": 0,
                             "throughput_items_per_s": throughput * rng.uniform(0.98, 1.02),
                             "rtt_mean_ns": 1e5 * consumers * 1e4 / throughput * rng.uniform(0.98, 1.02)})
        with tempfile.TemporaryDirectory() as tmp:
            csv, toml = Path(tmp) / "p.csv", Path(tmp) / "p.toml"
            import pandas as pd
            pd.DataFrame(rows).to_csv(csv, index=False)
            toml.write_text('name = "p"\ndescription = "d"\nrepetitions = 7\n[axes]\nconsumers = [1, 2, 4]\n'
                            '[[claim]]\nstatement = "rpc throughput_items_per_s within 1.2 * '
                            'littles_law(rpc[consumers=1,service_ns=0])"\nper = ["consumers"]\n'
                            'source = "Little 1961"\n')
            verdicts = {r.group: r.verdict for r in claims.evaluate_all(stats.load_results(csv), str(toml))[1]}
        self.assertEqual(verdicts["consumers=1"], "not evaluable: the configuration predicted from is not a prediction")
        self.assertEqual(verdicts["consumers=2"], "held")
        self.assertEqual(verdicts["consumers=4"], "not held")  # the control: the law's prediction fails


class ProjectReadme(unittest.TestCase):
    """The project's own README: every generated number matches the committed results."""

    def test_every_block_is_current(self):
        r = subprocess.run([sys.executable, str(ROOT / "plots" / "update_readme.py"), "--check"],
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
    # Its negative control is Check.test_a_stale_block_fails_check_naming_its_line:
    # the same --check on a README with a stale block fails.


if __name__ == "__main__":
    unittest.main()
