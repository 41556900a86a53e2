"""The `ringlab` command as a user meets it: bad input gets one line naming the option
and value, a non-zero exit and no file; a good run appends one row beside its
provenance; Ctrl-C leaves nothing behind. Usage: test_cli.py path/to/ringlab"""
import csv
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

RINGLAB = None


def ringlab(*args, timeout=60):
    return subprocess.run([RINGLAB, *args], capture_output=True, text=True, timeout=timeout)


class BadInput(unittest.TestCase):
    # (arguments, words the one-line error must contain)
    CASES = [
        (["--queue", "nosuch"], ["--queue", "nosuch", "unknown queue"]),
        (["--wait", "snooze"], ["--wait", "snooze"]),
        (["--queue", "spsc_ring", "--producers", "2"], ["--producers 2", "single-producer"]),
        (["--queue", "spsc_ring", "--consumers", "3"], ["--consumers 3", "single-producer"]),
        (["--capacity", "0"], ["--capacity 0", "too small"]),
        (["--queue", "handoff_slot", "--capacity", "2"], ["--capacity 2", "handoff_slot"]),
        (["--queue", "semaphore_ring", "--capacity", "9999999"], ["--capacity 9999999", "maximum"]),
        (["--pin", "p:0,c:4096"], ["--pin p:0,c:4096", "PU 4096 does not exist"]),
        (["--pin", "sideways"], ["--pin sideways", "unknown policy"]),
        (["--rate", "-5"], ["--rate -5"]),
        (["--rate", "fast"], ["--rate fast"]),
        (["--duration", "-1"], ["--duration -1"]),
        (["--duration", "soon"], ["--duration soon"]),
        (["--payload", "-8"], ["--payload -8"]),
        (["--payload", "100"], ["--payload 100", "8, 64, 256, 1024"]),
        (["--queue", "spsc_ring", "--wait", "block"], ["--wait block", "spsc_ring"]),
        (["--termination", "maybe"], ["--termination maybe"]),
        (["--native", "--queue", "mpmc_ring", "--producers", "2"], ["--native", "--producers 2", "one producer"]),
        (["--native", "--rate", "1000"], ["--native --rate 1000", "closed"]),
        (["--native", "--histogram-out", "h.csv"], ["--native --histogram-out"]),
        (["--rate", "0.5", "--duration", "1"], ["--rate 0.5", "not one item is due"]),
        (["--scope", "process", "--queue", "spsc_ring"], ["--scope process", "spsc_ring is a thread transport"]),
        (["--scope", "thread", "--queue", "shm_spsc"], ["--scope thread", "shm_spsc is a process transport"]),
        (["--scope", "galaxy"], ["--scope galaxy", "thread, process or host"]),
        (["--scope", "process", "--queue", "tcp"], ["--scope process", "tcp is a host transport"]),
        (["--queue", "tcp", "--wait", "park"], ["--wait park", "receiving thread"]),
        (["--queue", "tcp", "--consumers", "2"], ["--consumers 2", "one consumer"]),
        (["--queue", "tcp", "--batch", "0"], ["--batch 0"]),
        (["--queue", "tcp", "--batch", "5000"], ["--batch 5000", "1 to 1024"]),
        (["--queue", "tcp", "--batch", "8", "--pattern", "pingpong"], ["--batch 8", "round trip"]),
        (["--queue", "tcp", "--port", "70000"], ["--port 70000", "not a TCP port"]),
        (["--queue", "tcp", "--net", "wifi"], ["--net wifi", "loopback or veth"]),
        (["--queue", "tcp", "--net", "veth,tbf=fast"], ["--net veth,tbf=fast", "tbf=RATE"]),
        (["--queue", "shm_spsc", "--net", "veth"], ["--net veth", "host transport"]),
        (["--queue", "shm_spsc", "--tcp-nodelay"], ["--tcp-nodelay", "network stream", "shm_spsc"]),
        (["--queue", "mpmc_ring", "--batch", "4"], ["--batch", "mpmc_ring"]),
        (["--service-ns", "-1"], ["--service-ns -1"]),
        (["--service-ns", "2000000000"], ["--service-ns 2000000000", "at most"]),
        (["--native", "--service-ns", "100"], ["--service-ns 100", "--native"]),
        (["--work-ns", "-5"], ["--work-ns -5"]),
        (["--queue", "boost.spsc_queue", "--capacity", "1000"], ["--capacity 1000", "not built", "65536"]),
        (["--queue", "boost.spsc_queue", "--capacity", "1000", "--payload", "64"], ["--capacity 1000", "not built"]),
        (["--loop", "author"], ["--loop author", "--native"]),
        (["--native", "--loop", "sideways"], ["--loop sideways", "ringlab or author"]),
        (["--native", "--loop", "author"], ["--loop author", "--items"]),
        (["--native", "--loop", "author", "--items", "1000", "--payload", "64"], ["--loop author", "8-byte"]),
        (["--native", "--work-ns", "2000000000"], ["--work-ns 2000000000", "at most"]),
        (["--producer-work-ns", "soon"], ["--producer-work-ns soon"]),
        (["--work-ns", "10", "--pattern", "pingpong"], ["--work-ns 10", "pingpong"]),
        (["--queue", "shm_mpmc", "--native", "--payload", "64"], ["--native --payload 64", "8-byte items"]),
        (["--queue", "shm_mpmc", "--pattern", "pingpong", "--kill", "producer"], ["--kill", "pingpong"]),
        (["--queue", "shm_mpmc", "--kill-at-random"], ["--kill-at-random", "--kill"]),
        (["--queue", "shm_mpmc", "--carry-on"], ["--carry-on", "--kill"]),
        (["--queue", "pipe", "--kill", "producer", "--carry-on"], ["--carry-on: pipe", "these can: ", "shm_spsc"]),
        (["--queue", "shm_mpmc", "--producers", "2", "--kill", "consumer", "--carry-on"],
         ["--carry-on with 2 producers", "one of each"]),
    ]

    def test_each_is_one_line_a_nonzero_exit_and_no_file(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            for args, words in self.CASES:
                with self.subTest(args=args):
                    r = ringlab("run", *args, "--duration", "0.1", "--out", out) if "--duration" not in args and "--items" not in args \
                        else ringlab("run", *args, "--out", out)
                    self.assertNotEqual(r.returncode, 0)
                    lines = r.stderr.strip().splitlines()
                    self.assertEqual(len(lines), 1, r.stderr)
                    for w in words:
                        self.assertIn(w, lines[0])
                    self.assertEqual(os.listdir(d), [], "nothing may be written")

    def test_unwritable_output_is_refused_before_running(self):
        with tempfile.TemporaryDirectory() as d:
            for bad in [d, "/proc/ringlab-no/r.csv"]:
                start = time.monotonic()
                r = ringlab("run", "--duration", "5", "--out", bad)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(bad, r.stderr)
                self.assertLess(time.monotonic() - start, 3, "must fail before the 5 s run")

    def test_list_refuses_unknown_queue_and_bad_capacity(self):
        r = ringlab("list", "nosuch")
        self.assertEqual(r.returncode, 2)
        self.assertIn("nosuch", r.stderr)
        r = ringlab("list", "handoff_slot", "--capacity", "3")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--capacity 3", r.stderr)


class QueueDefaults(unittest.TestCase):
    # (queue, what `run` chose for it on stderr) when the option is not given
    CASES = [("py.queue", "--wait block"), ("shm_event", "--capacity 1"), ("handoff_slot", "--capacity 1"),
             ("aq.AtomicQueue", "--termination join"), ("rpc", "--wait block")]

    def test_an_option_not_given_takes_the_queues_default_and_says_so(self):
        with tempfile.TemporaryDirectory() as d:
            for queue, chosen in self.CASES:
                with self.subTest(queue=queue):
                    out = os.path.join(d, queue + ".csv")
                    r = ringlab("run", "--queue", queue, "--duration", "0.2", "--no-guards", "--out", out)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn(chosen, r.stderr)
                    self.assertIn("the queue's own defaults", r.stderr)
                    with open(out) as f:
                        self.assertEqual(len(list(csv.DictReader(f))), 1)

    def test_a_value_given_is_kept_and_still_refused(self):  # the control: defaults never override
        for args, words in [(["--queue", "shm_event", "--capacity", "1024"], ["--capacity 1024", "is not 1"]),
                            (["--queue", "py.queue", "--wait", "spin"], ["--wait spin", "use --wait block"])]:
            with self.subTest(args=args):
                r = ringlab("run", *args, "--duration", "0.1")
                self.assertNotEqual(r.returncode, 0)
                lines = r.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                for w in words:
                    self.assertIn(w, lines[0])


class Output(unittest.TestCase):
    def test_rows_append_under_one_header_with_provenance_beside(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "sub", "r.csv")
            for queue in ["spsc_ring", "mpmc_ring"]:
                r = ringlab("run", "--queue", queue, "--wait", "yield", "--duration", "0.2", "--out", out)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("valid", r.stdout)
            with open(out) as f:
                lines = f.read().splitlines()
            self.assertEqual(len(lines), 3)
            header = lines[0].split(",")
            for column in ["queue", "throughput_items_per_s", "lat_p99_ns", "service_p99_ns", "cpu_ns_per_item",
                           "producer_pus", "consumer_pus", "oversubscribed", "valid", "clock_source"]:
                self.assertIn(column, header)
            row = dict(zip(header, lines[2].split(",")))
            self.assertEqual(row["queue"], "mpmc_ring")
            self.assertEqual(row["valid"], "1")
            with open(os.path.join(d, "sub", "r.json")) as f:
                prov = json.load(f)
            self.assertEqual(len(prov["sessions"]), 2, "one provenance entry per session, appended")
            for session, queue in zip(prov["sessions"], ["spsc_ring", "mpmc_ring"]):
                for key in ["cpu_model", "pus", "topology", "kernel", "compiler", "cxx_flags", "build_type", "build_id",
                            "git_commit", "git_dirty", "date_utc", "clock", "command"]:
                    self.assertIn(key, session)
                self.assertIn(queue, session["command"])
            self.assertEqual(row["build_id"], prov["sessions"][1]["build_id"])
            self.assertTrue(prov["sessions"][1]["git_commit"].startswith(row["commit"].split("-")[0]))
            self.assertGreater(float(row["clock_read_ns"]), 0)

    def test_provenance_for_a_csv_made_elsewhere_records_its_command_and_wall_time(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "authors.csv")
            with open(out, "w") as f:
                f.write("x\n1\n")
            sessions = {}
            for wall in (["--wall-s", "12.34"], []):  # the control: no --wall-s, no wall_s
                r = ringlab("provenance", out, "--command", "their-program --flag", *wall)
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(os.path.join(d, "authors.json")) as f:
                    sessions[bool(wall)] = json.load(f)["sessions"]
            self.assertEqual([s["command"] for s in sessions[True]], ["their-program --flag"])
            self.assertEqual(sessions[True][0]["wall_s"], 12.3)
            self.assertNotIn("wall_s", sessions[False][0])
            r = ringlab("provenance", out, "--wall-s", "-1")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("--wall-s", r.stderr)

    def test_work_per_item_is_done_on_the_side_it_is_asked_of(self):
        """--work-ns / --producer-work-ns: 2000 ns of work per item caps a run at about 0.5 M
        items/s, between threads and natively between processes (the calibrated loop no shorter
        than half of what was asked: a calibration on a busy VM, whose host steals time from the
        vCPU, counts some of it; and a busy machine may make it longer, so the floor only
        catches a wrong unit); the control, the same run without work, is over ten times faster."""
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            runs = [("spsc_ring", "--native", "--work-ns", "2000"), ("spsc_ring", "--native", "--producer-work-ns", "2000"),
                    ("spsc_ring", "--work-ns", "2000",), ("spsc_ring", "--producer-work-ns", "2000"),
                    ("shm_spsc", "--native", "--producer-work-ns", "2000"), ("spsc_ring", "--native",)]
            for queue, *args in runs:
                r = ringlab("run", "--queue", queue, "--wait", "spin", "--duration", "0.3", "--no-guards",
                            "--out", out, *args)
                self.assertEqual(r.returncode, 0, r.stderr)
            with open(out) as f:
                rows = list(csv.DictReader(f))
            for row in rows[:5]:
                with self.subTest(work=row["work_ns"], producer_work=row["producer_work_ns"], mode=row["mode"]):
                    self.assertEqual(row["work_ns"] if row["work_ns"] != "0" else row["producer_work_ns"], "2000")
                    self.assertLess(float(row["throughput_items_per_s"]), 0.5e6 * 2)
                    self.assertGreater(float(row["throughput_items_per_s"]), 0.5e6 / 10, "work of another unit")
            self.assertEqual((rows[5]["work_ns"], rows[5]["producer_work_ns"]), ("0", "0"))
            self.assertGreater(float(rows[5]["throughput_items_per_s"]), 10 * 0.5e6, "the control: no work, no cap")

    def test_the_authors_loop_moves_its_count_and_times_it(self):
        """--loop author: atomic_queue's benchmark loop inside ringlab; every item once, its
        mode in the row, and a figure from the first push to the last pop."""
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            for queue, wait in (("spsc_ring", "spin"), ("aq.AtomicQueue.spsc", "block")):
                r = ringlab("run", "--native", "--loop", "author", "--items", "2000000", "--queue", queue, "--wait", wait,
                            "--no-guards", "--out", out)
                self.assertEqual(r.returncode, 0, r.stderr)
            with open(out) as f:
                for row in csv.DictReader(f):
                    self.assertEqual((row["mode"], row["valid"], row["items_popped"]), ("author", "1", "2000000"))
                    self.assertGreater(float(row["throughput_items_per_s"]), 1e6)
                    self.assertLess(float(row["measured_s"]), 10)

    def test_native_runs_the_queues_own_loop_and_writes_its_mode(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            for extra in [[], ["--pattern", "pingpong"]]:
                r = ringlab("run", "--queue", "spsc_ring", "--native", "--duration", "0.2", "--no-guards", "--out", out, *extra)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("NATIVE", r.stdout)
            with open(out) as f:
                lines = f.read().splitlines()
            header = lines[0].split(",")
            rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
            self.assertEqual([row["mode"] for row in rows], ["native", "native"])
            self.assertEqual([row["latency_recorded"] for row in rows], ["0", "0"])
            self.assertGreater(float(rows[0]["throughput_items_per_s"]), 0)
            self.assertGreater(float(rows[1]["rtt_mean_ns"]), 0)

    def test_a_damaged_last_row_is_refused_not_appended_to(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            r = ringlab("run", "--duration", "0.1", "--no-guards", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out) as f:
                text = f.read()
            with open(out, "w") as f:
                f.write(text[:-20])  # the row cut short, no end of line
            r = ringlab("run", "--duration", "0.1", "--no-guards", "--out", out)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("unfinished", r.stderr)
            with open(out) as f:
                self.assertEqual(f.read(), text[:-20], "nothing appended to a damaged file")

    def test_a_short_write_leaves_no_partial_row(self):
        import resource
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            r = ringlab("run", "--duration", "0.1", "--no-guards", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            size = os.path.getsize(out)
            limit = size + 100  # room for part of a row only: the kernel writes that much and stops

            def small_files():
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            r = subprocess.run([RINGLAB, "run", "--duration", "0.1", "--no-guards", "--out", out], capture_output=True,
                               text=True, timeout=60, preexec_fn=small_files)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("write failed", r.stderr)
            self.assertEqual(os.path.getsize(out), size, "the partial row was cut back")
            # The negative control: without the limit the same row is written whole.
            r = ringlab("run", "--duration", "0.1", "--no-guards", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertGreater(os.path.getsize(out), limit)

    def test_a_file_with_another_header_is_not_touched(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "other.csv")
            with open(out, "w") as f:
                f.write("a,b\n1,2\n")
            r = ringlab("run", "--duration", "0.1", "--out", out)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("header differs", r.stderr)
            with open(out) as f:
                self.assertEqual(f.read(), "a,b\n1,2\n")

    def test_ctrl_c_stops_cleanly_writes_nothing_and_exits_130(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            p = subprocess.Popen([RINGLAB, "run", "--queue", "mpmc_ring", "--wait", "park", "--producers", "2",
                                  "--consumers", "2", "--duration", "20", "--out", out],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            start = time.monotonic()
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=15)
            self.assertEqual(p.returncode, 130, err)
            self.assertLess(time.monotonic() - start, 5)
            self.assertEqual(os.listdir(d), [])



def ringlab_segments():
    return sorted(f for f in os.listdir("/dev/shm") if f.startswith("ringlab-"))


def assert_a_taken_port_is_one_line(test, queue, words):
    """A run of `queue` on a port someone else listens on: one line with `words` (its
    {port} filled in), a non-zero exit, within 10 s."""
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        start = time.monotonic()
        r = ringlab("run", "--queue", queue, "--wait", "block", "--port", str(port), "--no-guards")
        test.assertLess(time.monotonic() - start, 10)
    test.assertNotEqual(r.returncode, 0)
    lines = r.stderr.strip().splitlines()
    test.assertEqual(len(lines), 1, r.stderr)
    test.assertIn(words.format(port=port), lines[0])


class Hosts(unittest.TestCase):
    def test_a_loopback_stream_writes_its_columns_and_service_time(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            for extra in ([], ["--batch", "16", "--tcp-nodelay"]):
                r = ringlab("run", "--queue", "tcp", "--wait", "block", "--producers", "2", "--items", "4000",
                            "--service-ns", "20000", "--no-guards", "--out", out, *extra)
                self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, newline="") as f:
                rows = list(csv.DictReader(f))
            for row, batch, nodelay in zip(rows, ("1", "16"), ("0", "1")):
                self.assertEqual((row["scope"], row["net"], row["batch_items"], row["tcp_nodelay"]),
                                 ("host", "loopback", batch, nodelay))
                self.assertEqual((row["valid"], row["items_popped"]), ("1", "4000"))
                self.assertEqual((row["service_ns"], row["latency_method"]), ("20000", "one_clock"))
                # 20 us of work per item bounds the consumer at 50,000 items/s.
                self.assertLess(float(row["throughput_items_per_s"]), 50000)
        r = ringlab("run", "--queue", "tcp", "--wait", "block", "--items", "4000", "--no-guards")
        self.assertGreater(float(r.stdout.split("sentinel: ")[1].split(" M items/s")[0]) * 1e6, 50000,
                           "the control: without the service time, faster than 50,000 items/s")

    def test_a_port_in_use_is_one_line_and_a_nonzero_exit_at_once(self):
        assert_a_taken_port_is_one_line(self, "tcp", "bind 127.0.0.1:{port}: Address already in use")


def has_queue(name):
    r = ringlab("list")
    return any(line.split()[:1] == [name] for line in r.stdout.splitlines())


class Rpc(unittest.TestCase):
    """rpc (gRPC, a meson feature): skipped where the build has no gRPC."""

    def setUp(self):
        if not has_queue("rpc"):
            self.skipTest("built without gRPC (-Dgrpc): no rpc transports")

    def run_row(self, out, *args):
        r = ringlab("run", "--wait", "block", "--duration", "0.6", "--no-guards", "--out", out, *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, newline="") as f:
            return list(csv.DictReader(f))[-1]

    def test_a_call_per_item_obeys_littles_law_and_streaming_escapes_it(self):
        # One consumer, one call outstanding: throughput = 1 / (round trip + service time).
        # A prediction, not the identity within one run: the round trip of a run without
        # work predicts the throughput of a run with 200 us of work per item.
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            rtt = None
            for service_ns in (0, 200000):
                row = self.run_row(out, "--queue", "rpc", "--service-ns", str(service_ns))
                self.assertEqual((row["valid"], row["scope"]), ("1", "host"), row["validation_error"])
                rtt = rtt or float(row["rtt_mean_ns"])
                self.assertGreater(rtt, 1000, "a round trip over gRPC takes microseconds")
            predicted = 1e9 / (rtt + 200000)
            self.assertAlmostEqual(float(row["throughput_items_per_s"]) / predicted, 1.0, delta=0.2)
            # The control: the stream has no call per item, so it beats that prediction.
            stream = self.run_row(out, "--queue", "rpc.stream")
            self.assertEqual(stream["valid"], "1", stream["validation_error"])
            self.assertEqual(stream["rtt_mean_ns"], "", "no call per item: no round trip in the row")
            self.assertGreater(float(stream["throughput_items_per_s"]), 1.2 * 1e9 / rtt)

    def test_bad_input_is_one_line(self):
        for args, words in ((["--queue", "rpc", "--wait", "spin"], "waits only in its own blocking calls"),
                            (["--queue", "rpc.stream", "--consumers", "2", "--wait", "block"], "has one consumer"),
                            (["--queue", "rpc", "--wait", "block", "--batch", "4"], "rpc takes one item per call")):
            r = ringlab("run", "--duration", "0.2", "--no-guards", *args)
            self.assertNotEqual(r.returncode, 0, args)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(words, lines[0])

    def test_a_port_in_use_and_a_killed_server_end_the_run_at_once(self):
        # gRPC's own log is quiet: our one line says it.
        assert_a_taken_port_is_one_line(self, "rpc", "could not listen on 127.0.0.1:{port}")
        # Producer 0 serves the queue: killed (the crash suite's --kill), the run ends at once
        # and its consumer learnt it from its own failed call (survivor_detect_ns).
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            start = time.monotonic()
            r = ringlab("run", "--queue", "rpc", "--wait", "block", "--duration", "30", "--kill", "producer",
                        "--kill-after", "0.3", "--no-guards", "--out", out)
            self.assertLess(time.monotonic() - start, 15)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, newline="") as f:
                row = next(csv.DictReader(f))
            self.assertEqual(row["fault"], "kill-producer")
            self.assertIn("producer 0 killed", row["validation_error"])
            self.assertLess(float(row["survivor_detect_ns"]), 5e9, "the consumer's call failed and said so")


class Processes(unittest.TestCase):
    def test_a_process_run_writes_scope_and_leaves_no_segment(self):
        before = ringlab_segments()
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            r = ringlab("run", "--queue", "shm_mpmc", "--producers", "2", "--consumers", "2", "--wait", "park",
                        "--duration", "0.3", "--termination", "join", "--no-guards", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, newline="") as f:
                row = next(csv.DictReader(f))
            self.assertEqual(row["scope"], "process")
            self.assertEqual(row["valid"], "1")
            self.assertNotEqual(row["voluntary_switches_per_item"], "")
        self.assertEqual(ringlab_segments(), before)

    def test_a_killed_side_fails_the_run_at_once_and_leaves_nothing(self):
        # A side is SIGKILLed mid-run from outside (no --kill): the run stops within seconds
        # (not at its 60 s end), exits non-zero naming the side and the signal, its row is
        # marked invalid (fault external-kill) with only what is known: no throughput, drain,
        # CPU per item or items pushed (the dead producer's counts died with it), and what
        # arrived is its first items, each once; no segment is left. In the harness and natively.
        for extra in ([], ["--native"]):
            with self.subTest(mode=extra):
                self.kill_a_producer_from_outside(extra)

    def kill_a_producer_from_outside(self, extra):
        before = ringlab_segments()
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            p = subprocess.Popen([RINGLAB, "run", "--queue", "shm_spsc", "--wait", "park", "--duration", "60",
                                  "--no-guards", "--out", out, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            children = []
            for _ in range(100):  # bounded: 10 s
                time.sleep(0.1)
                r = subprocess.run(["ps", "-o", "pid=", "--ppid", str(p.pid)], capture_output=True, text=True)
                children = [int(x) for x in r.stdout.split()]
                if len(children) == 2:
                    break
            self.assertEqual(len(children), 2, "the two sides never showed up")
            os.kill(children[0], signal.SIGKILL)
            start = time.monotonic()
            _, err = p.communicate(timeout=30)
            self.assertLess(time.monotonic() - start, 15)
            self.assertEqual(p.returncode, 1, err)
            self.assertIn("killed by signal 9 (SIGKILL)", err)
            self.assertIn("producer 0", err)
            with open(out, newline="") as f:
                row = next(csv.DictReader(f))
            self.assertEqual(row["valid"], "0")
            self.assertIn("producer 0 was killed by signal 9", row["validation_error"])
            self.assertEqual(row["fault"], "external-kill")
            for unknown in ["throughput_items_per_s", "drain_ns", "items_pushed", "producer_cpu_ns_per_item"]:
                self.assertEqual(row[unknown], "", unknown)
            self.assertNotIn("more than once", row["validation_error"])
            if not extra:
                self.assertIn("is its first items, each once, in order", row["validation_error"])
        self.assertEqual(ringlab_segments(), before)

    def test_ctrl_c_stops_the_sides_too_and_leaves_nothing(self):
        before = ringlab_segments()
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.csv")
            p = subprocess.Popen([RINGLAB, "run", "--queue", "shm_mpmc", "--wait", "park", "--producers", "2",
                                  "--consumers", "2", "--duration", "20", "--no-guards", "--out", out],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            start = time.monotonic()
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=15)
            self.assertEqual(p.returncode, 130, err)
            self.assertLess(time.monotonic() - start, 5)
            self.assertEqual(os.listdir(d), [])
        r = subprocess.run(["ps", "-o", "pid=", "--ppid", str(p.pid)], capture_output=True, text=True)
        self.assertEqual(r.stdout.split(), [], "a side outlived the run")
        self.assertEqual(ringlab_segments(), before)

    def test_a_crash_runs_named_segment_is_never_left_behind_for_long(self):
        # A crash run of a watched transport keeps its segment's name until the dead side's
        # replacement has attached by it (src/scopes/processes/run_processes.hpp). Ctrl-C
        # before the kill leaves nothing; a conductor SIGKILLed meanwhile leaves the name,
        # and `ringlab clean` removes it (its creator is gone). The control that the name is
        # there at all: the segment is seen while the run goes on (a run without --kill
        # unlinks it before its sides start: test_a_process_run_writes_scope_...).
        before = set(ringlab_segments())
        for stop in (signal.SIGINT, signal.SIGKILL):
            with self.subTest(stop=stop), tempfile.TemporaryDirectory() as d:
                p = subprocess.Popen([RINGLAB, "run", "--queue", "shm_spsc", "--kill", "producer", "--kill-after", "20",
                                      "--duration", "30", "--no-guards", "--out", os.path.join(d, "r.csv")],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                named = set()
                for _ in range(100):  # bounded: 10 s
                    time.sleep(0.1)
                    named = set(ringlab_segments()) - before
                    if named:
                        break
                p.send_signal(stop)
                p.communicate(timeout=15)
                self.assertEqual(len(named), 1, "the crash run's segment was never seen by its name")
                if stop == signal.SIGINT:
                    self.assertEqual(p.returncode, 130)
                else:
                    self.assertEqual(set(ringlab_segments()) - before, named, "a killed conductor leaves its name")
                    r = ringlab("clean")
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn("gone (stale): removed", r.stdout)
                self.assertEqual(set(ringlab_segments()) - before, set())

    def test_clean_removes_a_stale_segment_and_keeps_a_foreign_one(self):
        # Ours (src/transports/plumbing/segment.hpp: magic, size, creator pid and start time, layout
        # version 1) from a creator that is gone; and one under our prefix that is not ours.
        gone = subprocess.Popen(["true"])
        gone.wait()
        stale = "/dev/shm/ringlab-%d-0" % gone.pid
        foreign = "/dev/shm/ringlab-test-foreign-%d" % os.getpid()
        with open(stale, "wb") as f:
            f.write(struct.pack("<8sQqQI4x", b"RINGLAB\0", 4096, gone.pid, 1, 1).ljust(4096, b"\0"))
        with open(foreign, "wb") as f:
            f.write(b"x" * 512)
        try:
            r = ringlab("clean", "--dry-run")
            self.assertIn("gone (stale): would be removed", r.stdout)
            self.assertTrue(os.path.exists(stale), "--dry-run removed something")
            r = ringlab("clean")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("gone (stale): removed", r.stdout)
            self.assertFalse(os.path.exists(stale), "the stale segment is still there")
            self.assertIn("not a ringlab segment", r.stdout)
            self.assertTrue(os.path.exists(foreign), "clean removed a segment that is not ours")
        finally:
            for path in (stale, foreign):
                if os.path.exists(path):
                    os.unlink(path)


if __name__ == "__main__":
    RINGLAB = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
