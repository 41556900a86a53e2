"""A run split across two hosts: `ringlab serve --listen` runs the producers, `ringlab run
--connect` the consumers and writes the row (here both on loopback; test_hosts.py puts
them in two network namespaces). Checked: the split run is whole and timed on one clock
when both hosts are one machine, and never from two clocks when they are not (its
control: one machine gives latency from the items); bad targets, a taken port, a killed
serve and a killed run each end in one line, a non-zero exit and bounded time, with no
row; malformed control frames are dropped, never trusted as a size, and the serve goes on
(their control: a well-formed hello is answered). Usage: test_split.py path/to/ringlab"""
import csv
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

RINGLAB = None
MAGIC, VERSION = 0x524C4343, 1
HELLO, RUN, REFUSED = 1, 2, 3


def ringlab(*args, timeout=60):
    return subprocess.run([RINGLAB, *args], capture_output=True, text=True, timeout=timeout)


class Serve:
    """`ringlab serve --listen 127.0.0.1:0` for a `with` block: its port, its process."""

    def __init__(self, *extra, env=None, netns=None):
        cmd = [RINGLAB, "serve", "--listen", "127.0.0.1:0", *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})}, start_new_session=True)
        line = self.proc.stdout.readline()  # "ringlab serve: listening on 127.0.0.1:PORT" (bounded by the test's timeout)
        if "listening on" not in line:
            raise AssertionError(f"serve did not listen: {line!r} {self.proc.stderr.read()}")
        self.port = int(line.rsplit(":", 1)[1])
        self.target = f"127.0.0.1:{self.port}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.stdout, self.stderr = self.proc.communicate(timeout=30)


def split_row(serve, *args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.csv")
        r = ringlab("run", "--connect", serve.target, "--no-guards", "--wait", "block", *args, "--out", out)
        if r.returncode != 0:
            raise AssertionError(f"run --connect {' '.join(args)}: {r.stderr.strip()}")
        with open(out) as f:
            return list(csv.DictReader(f))[0]


def ringlab_segments():
    return sorted(f for f in os.listdir("/dev/shm") if f.startswith("ringlab-"))


def frame(kind, payload=b"", magic=MAGIC, version=VERSION, length=None):
    return struct.pack("<IHHII", magic, version, kind, len(payload) if length is None else length, 0) + payload


def text(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b + b"\0" * (-len(b) % 8)


def hello():
    return frame(HELLO, struct.pack("<Q", 0x0102030405060708) + text("another-boot") + text("tsc"))


def read_frame(sock):
    head = b""
    while len(head) < 16:
        got = sock.recv(16 - len(head))
        if not got:
            return None
        head += got
    magic, version, kind, length, _ = struct.unpack("<IHHII", head)
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return kind, body


class SplitRuns(unittest.TestCase):
    def test_every_split_transport_is_whole_on_one_clock(self):
        with Serve() as serve:
            for queue, extra, items in (("tcp", ["--producers", "2", "--batch", "8"], "20000"),
                                        ("rpc", ["--consumers", "2"], "1000"),
                                        ("rpc.batch", ["--batch", "8", "--termination", "join"], "4000"),
                                        ("rpc.stream", [], "4000")):
                with self.subTest(queue=queue):
                    row = split_row(serve, "--queue", queue, "--items", items, "--payload", "64", "--capacity", "64",
                                    *extra)
                    self.assertEqual((row["valid"], row["items_popped"]), ("1", items), row["validation_error"])
                    self.assertEqual((row["scope"], row["net"]), ("host", f"connect={serve.target}"))
                    self.assertEqual(row["latency_method"], "one_clock")
                    self.assertGreater(int(row["lat_samples"]), 0)
        self.assertEqual(ringlab_segments(), [])

    def test_two_clocks_are_never_compared(self):
        with Serve(env={"RINGLAB_BOOT_ID": "another-machine"}) as serve:
            tcp = split_row(serve, "--queue", "tcp", "--items", "20000")
            rpc = split_row(serve, "--queue", "rpc", "--items", "1000")
        self.assertIn("two clocks", serve.stdout)
        self.assertEqual((tcp["valid"], tcp["latency_method"], tcp["lat_p50_ns"], tcp["drain_ns"]),
                         ("1", "none_two_clocks", "", ""))
        self.assertEqual((rpc["valid"], rpc["latency_method"]), ("1", "round_trip_half"))
        self.assertAlmostEqual(float(rpc["lat_p50_ns"]), float(rpc["rtt_p50_ns"]) / 2, delta=1)
        with Serve() as serve:  # the control: one machine, latency from the items themselves
            tcp = split_row(serve, "--queue", "tcp", "--items", "20000")
        self.assertEqual(tcp["latency_method"], "one_clock")
        self.assertNotEqual(tcp["lat_p50_ns"], "")

    def test_the_serves_half_on_this_machine_is_not_foreign_load(self):
        """The noise guard counts the serve's producers as the run's own CPU on one machine;
        the control: a serve that says it is another machine is load the guard cannot
        tell from a stranger's."""
        foreign = {}
        for name, env in (("one machine", None), ("another boot", {"RINGLAB_BOOT_ID": "another-machine"})):
            with Serve(env=env) as serve, tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "r.csv")
                r = ringlab("run", "--connect", serve.target, "--queue", "tcp", "--wait", "block", "--duration", "1",
                            "--quiet-wait", "0", "--phase-wait", "0", "--out", out)
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(out) as f:
                    foreign[name] = float(next(csv.DictReader(f))["foreign_busy_fraction"])
        self.assertLess(foreign["one machine"], 0.2, foreign)
        self.assertGreater(foreign["another boot"], 0.3, foreign)


class SplitFaults(unittest.TestCase):
    def assert_one_line(self, r, words, seconds, started):
        self.assertLess(time.monotonic() - started, seconds)
        self.assertNotEqual(r.returncode, 0)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(words, lines[0])

    def test_bad_targets_are_one_line_each_in_bounded_time(self):
        with socket.socket() as s:  # a port nobody listens on: bound, never listening
            s.bind(("127.0.0.1", 0))
            closed_port = s.getsockname()[1]
            cases = [(["tcp", "--wait", "block", "--connect", f"127.0.0.1:{closed_port}"], "Connection refused"),
                     (["tcp", "--wait", "block", "--connect", "127.0.0.1"], "--connect 127.0.0.1: must be HOST:PORT"),
                     (["tcp", "--wait", "block", "--connect", "127.0.0.1:99999"], "the port must be a number"),
                     (["spsc_ring", "--wait", "spin", "--connect", "127.0.0.1:7"], "cannot be split across two hosts"),
                     (["tcp", "--wait", "block", "--connect", "127.0.0.1:7", "--net", "veth"], "the two hosts' own network")]
            for args, words in cases:
                with tempfile.TemporaryDirectory() as d, self.subTest(args=args):
                    started = time.monotonic()
                    r = ringlab("run", "--no-guards", "--queue", *args, "--out",
                                os.path.join(d, "r.csv"))
                    self.assert_one_line(r, words, 10, started)
                    self.assertEqual(os.listdir(d), [], "no file for a run that did not happen")
        if os.geteuid() == 0:  # in a namespace of its own no name server can be reached: nothing is asked
            started = time.monotonic()
            r = subprocess.run(["unshare", "--net", RINGLAB, "run", "--queue", "tcp", "--wait", "block", "--no-guards",
                                "--connect", "no-such-host.invalid:7000"], capture_output=True, text=True, timeout=60)
            self.assert_one_line(r, "unknown host no-such-host.invalid", 10, started)

    def test_a_taken_listen_port_is_one_line(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            started = time.monotonic()
            r = ringlab("serve", "--listen", f"127.0.0.1:{port}")
            self.assert_one_line(r, f"--listen 127.0.0.1:{port}: Address already in use", 10, started)

    def test_a_taken_data_port_is_one_line_from_either_host(self):
        with Serve() as serve, socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            for queue, words in (("tcp", f"bind 127.0.0.1:{port}: Address already in use"),  # the consumer, here
                                 ("rpc", f"serve at {serve.target}: the other host's half failed")):  # the serve's
                with self.subTest(queue=queue):
                    started = time.monotonic()
                    r = ringlab("run", "--connect", serve.target, "--queue", queue, "--wait", "block", "--port",
                                str(port), "--no-guards")
                    self.assert_one_line(r, words, 10, started)
                    if queue == "rpc":
                        self.assertIn(str(port), r.stderr)

    def test_a_killed_serve_fails_the_run_in_bounded_time_and_writes_no_row(self):
        with tempfile.TemporaryDirectory() as d, Serve() as serve:
            out = os.path.join(d, "r.csv")
            run = subprocess.Popen([RINGLAB, "run", "--connect", serve.target, "--queue", "tcp", "--wait", "block",
                                    "--duration", "4", "--no-guards", "--out", out], stderr=subprocess.PIPE, text=True)
            time.sleep(1.5)
            os.killpg(serve.proc.pid, signal.SIGKILL)  # the serve and its producers
            killed = time.monotonic()
            _, err = run.communicate(timeout=60)
            self.assertLess(time.monotonic() - killed, 5)
            self.assertNotEqual(run.returncode, 0)
            self.assertIn(f"serve at {serve.target}", err)
            self.assertIn("went away", err)
            self.assertFalse(os.path.exists(out), "no row from a run whose other half died")
        self.assertEqual(ringlab_segments(), [])

    def test_a_killed_run_ends_its_serve_in_bounded_time(self):
        with Serve("--once") as serve:
            run = subprocess.Popen([RINGLAB, "run", "--connect", serve.target, "--queue", "rpc", "--wait", "block",
                                    "--duration", "4", "--no-guards"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
            time.sleep(1.5)
            run.kill()
            killed = time.monotonic()
            run.wait(timeout=30)
            self.assertEqual(serve.proc.wait(timeout=30), 1)
            self.assertLess(time.monotonic() - killed, 5)
        self.assertIn("the other host went away", serve.stderr)
        self.assertEqual(ringlab_segments(), [])

    def test_malformed_frames_are_dropped_and_the_serve_goes_on(self):
        bad = {"not ringlab": b"GET / HTTP/1.0\r\n\r\n",
               "version": frame(HELLO, version=9),
               "kind": frame(99),
               "oversized": frame(HELLO, length=0x7FFFFFF8),  # 2 GiB announced, nothing sent
               "truncated": frame(HELLO, b"\0" * 8, length=64)}
        with Serve() as serve:
            for name, data in bad.items():
                with socket.create_connection(("127.0.0.1", serve.port), timeout=10) as s, self.subTest(frame=name):
                    try:
                        s.sendall(data)
                        s.shutdown(socket.SHUT_WR)
                        answer = s.recv(64)
                    except (ConnectionResetError, BrokenPipeError, OSError):  # dropped before we were done
                        answer = b""
                    self.assertEqual(answer, b"", "the serve drops the connection")
            with socket.create_connection(("127.0.0.1", serve.port), timeout=10) as s:
                s.sendall(hello())  # the control: a well-formed hello is answered by one
                self.assertEqual(read_frame(s)[0], HELLO)
                s.sendall(frame(RUN, text("queue=tcp\nwait=block\n")))
                kind, body = read_frame(s)
                self.assertEqual(kind, REFUSED)
                self.assertIn(b"configuration: no capacity", body)
            row = split_row(serve, "--queue", "tcp", "--items", "2000")
            self.assertEqual(row["valid"], "1", "the serve goes on serving")
            with open(f"/proc/{serve.proc.pid}/status") as f:
                peak_kib = int(next(line for line in f if line.startswith("VmHWM")).split()[1])
            self.assertLess(peak_kib, 256 * 1024, "an announced size was allocated")
        lines = [line for line in serve.stderr.splitlines() if "connection dropped" in line]
        self.assertEqual(len(lines), len(bad), serve.stderr)
        for line, words in zip(lines, ("not a ringlab control frame", "version 9", "unknown frame kind 99",
                                       "announces 2147483640 bytes", "cut short")):
            self.assertIn(words, line)
        self.assertIn("refused a run: configuration: no capacity", serve.stderr)


if __name__ == "__main__":
    RINGLAB = os.path.abspath(sys.argv.pop(1))
    sys.exit(0 if unittest.main(verbosity=2, exit=False).result.wasSuccessful() else 1)
