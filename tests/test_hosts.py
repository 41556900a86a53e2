"""Scope host across real network namespaces: `ringlab run --net veth` makes two namespaces
joined by a veth pair (198.18.0.1 / 198.18.0.2, inside them only), runs the producers in
one and the consumer in the other, and removes them. Checked here: every host transport
delivers exactly once across them; tc's tbf on the veth bounds the stream (its control:
the same veth unshaped goes past the rate); netem's delay shows in the round trip where
the kernel has netem; a side killed across the namespaces is reported within a bounded
time; sockperf (the reference round trip) runs on the same path; `ringlab serve` in one
namespace and `ringlab run --connect` in another run a split run whole; no namespace is
left behind and `ringlab clean` removes those of a dead run.
Exits 77 (meson: skipped), saying why, where network namespaces cannot be made.
Usage: test_hosts.py path/to/ringlab"""
import csv
import os
import subprocess
import sys
import tempfile
import time
import unittest

RINGLAB = None


def ringlab(*args, timeout=120):
    return subprocess.run([RINGLAB, *args], capture_output=True, text=True, timeout=timeout)


def run_rows(*args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.csv")
        r = ringlab("run", "--no-guards", *args, "--out", out)
        if r.returncode != 0:
            raise AssertionError(f"ringlab run {' '.join(args)}: {r.stderr.strip()}")
        with open(out) as f:
            return list(csv.DictReader(f))


def our_namespaces():
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30)
    return sorted(line.split()[0] for line in r.stdout.splitlines() if line.startswith("rl"))


def host_transports():
    """Scope host, but not the references (ref.*: another tool's own loop)."""
    r = ringlab("list")
    return [f[0] for f in (line.split() for line in r.stdout.splitlines()[1:])
            if len(f) > 1 and f[1] == "host" and not f[0].startswith("ref.")]


class AcrossNamespaces(unittest.TestCase):
    def setUp(self):
        self.before = our_namespaces()

    def tearDown(self):
        self.assertEqual(our_namespaces(), self.before, "a run left a network namespace behind")

    def test_every_host_transport_delivers_exactly_once_across_them(self):
        transports = host_transports()
        self.assertIn("tcp", transports)
        extras = {"tcp": ([], ["--batch", "32", "--tcp-nodelay"]), "rpc.batch": (["--batch", "32"],)}
        for queue in transports:
            # A gRPC call per item takes ~0.2 ms here: a fifth of the items check the same.
            items = "4000" if queue == "rpc" else "20000"
            for extra in extras.get(queue, ([],)):
                with self.subTest(queue=queue, extra=extra):
                    rows = run_rows("--queue", queue, "--wait", "block", "--net", "veth", "--producers", "2",
                                    "--items", items, "--payload", "64", "--capacity", "64", *extra)
                    row = rows[0]
                    self.assertEqual(row["valid"], "1", row["validation_error"])
                    self.assertEqual(row["items_popped"], items)
                    self.assertEqual((row["scope"], row["net"]), ("host", "veth"))
                    if queue == "tcp":
                        self.assertEqual(row["batch_items"], "32" if extra else "1")
                        self.assertEqual(row["tcp_nodelay"], "1" if extra else "0")

    def test_tbf_bounds_the_stream_and_the_unshaped_veth_does_not(self):
        rate_bits = 100e6
        goodput = {}
        for net in ("veth,tbf=100mbit", "veth"):
            row = run_rows("--queue", "tcp", "--wait", "block", "--net", net, "--payload", "1024", "--batch", "8",
                           "--duration", "2")[0]
            self.assertEqual(row["valid"], "1", row["validation_error"])
            self.assertEqual(row["net"], net)
            goodput[net] = float(row["throughput_items_per_s"]) * 1024 * 8
        # Goodput: the items' bytes; TCP/IP headers take ~4.5% of the wire at a 1500-byte MTU.
        shaped = goodput["veth,tbf=100mbit"] / rate_bits
        self.assertGreater(shaped, 0.90, f"shaped to 100 Mbit/s, the stream moved {shaped:.3f} of it")
        self.assertLess(shaped, 1.0, f"shaped to 100 Mbit/s, the stream moved {shaped:.3f} of it")
        self.assertGreater(goodput["veth"] / rate_bits, 1.1, "the control: unshaped, the veth goes past the rate")

    def test_netem_delay_shows_in_the_round_trip_where_the_kernel_has_it(self):
        r = ringlab("run", "--no-guards", "--queue", "tcp", "--wait", "block", "--pattern", "pingpong", "--tcp-nodelay",
                    "--net", "veth,netem=1ms", "--duration", "0.5")
        if r.returncode != 0 and "no netem" in r.stderr:
            self.skipTest(f"this kernel has no netem: {r.stderr.strip()}")
        self.assertEqual(r.returncode, 0, r.stderr)
        delayed = run_rows("--queue", "tcp", "--wait", "block", "--pattern", "pingpong", "--tcp-nodelay",
                           "--net", "veth,netem=1ms", "--duration", "0.5")[0]
        plain = run_rows("--queue", "tcp", "--wait", "block", "--pattern", "pingpong", "--tcp-nodelay",
                         "--net", "veth", "--duration", "0.5")[0]
        self.assertGreater(float(delayed["rtt_p50_ns"]), 1e6)
        self.assertLess(float(plain["rtt_p50_ns"]), 1e6, "the control: without netem, under a millisecond")

    def test_a_killed_side_is_reported_across_them_in_bounded_time(self):
        for side, said in (("producer", "EOF before its end frame"), ("consumer", "the consumer is gone")):
            with self.subTest(side=side):
                start = time.monotonic()
                row = run_rows("--queue", "tcp", "--wait", "block", "--net", "veth", "--kill", side,
                               "--kill-after", "0.3", "--duration", "30")[0]
                self.assertLess(time.monotonic() - start, 10, "the run waited for its end")
                self.assertIn(said, row["detected_by"])
                self.assertLess(float(row["survivor_detect_ns"]), 1e9)

    def test_sockperf_measures_the_same_path_and_says_when_it_cannot(self):
        for net in ("loopback", "veth"):
            row = run_rows("--queue", "ref.sockperf", "--wait", "block", "--pattern", "pingpong", "--tcp-nodelay",
                           "--net", net, "--duration", "1")[0]
            self.assertEqual((row["valid"], row["net"], row["scope"]), ("1", net, "host"), row["validation_error"])
            self.assertGreater(float(row["rtt_p50_ns"]), 1000)
            self.assertLess(float(row["rtt_p50_ns"]), 1e7)
        # The control: without sockperf on PATH, one line saying so, and a non-zero exit.
        r = subprocess.run([RINGLAB, "run", "--no-guards", "--queue", "ref.sockperf", "--wait", "block", "--pattern",
                            "pingpong", "--duration", "1"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, PATH="/nonexistent"))
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("sockperf: not found", r.stderr)

    def test_serve_and_connect_run_across_two_namespaces(self):
        """`ringlab serve` in one namespace, `ringlab run --connect` in the other: two hosts
        but for the kernel (one clock). Addresses 198.18.1.1/2, inside these namespaces only."""
        serve_ns, run_ns = f"rlsplit{os.getpid()}s", f"rlsplit{os.getpid()}r"
        ip = lambda *a: subprocess.run(["ip", *a], check=True, capture_output=True, timeout=30)
        try:
            ip("netns", "add", serve_ns), ip("netns", "add", run_ns)
            ip("link", "add", "rlsplits", "netns", serve_ns, "type", "veth", "peer", "name", "rlsplitr", "netns", run_ns)
            for ns, dev, addr in ((serve_ns, "rlsplits", "198.18.1.1/24"), (run_ns, "rlsplitr", "198.18.1.2/24")):
                ip("-n", ns, "addr", "add", addr, "dev", dev), ip("-n", ns, "link", "set", dev, "up")
            serve = subprocess.Popen(["ip", "netns", "exec", serve_ns, RINGLAB, "serve", "--listen", "198.18.1.1:0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                target = "198.18.1.1:" + serve.stdout.readline().strip().rsplit(":", 1)[1]
                for queue, items, extra in (("tcp", "20000", ["--producers", "2"]), ("rpc", "1000", [])):
                    with tempfile.TemporaryDirectory() as d, self.subTest(queue=queue):
                        out = os.path.join(d, "r.csv")
                        r = subprocess.run(["ip", "netns", "exec", run_ns, RINGLAB, "run", "--connect", target,
                                            "--queue", queue, "--wait", "block", "--items", items, "--payload", "64",
                                            "--no-guards", "--out", out, *extra], capture_output=True, text=True,
                                           timeout=120)
                        self.assertEqual(r.returncode, 0, r.stderr)
                        with open(out) as f:
                            row = next(csv.DictReader(f))
                        self.assertEqual((row["valid"], row["items_popped"]), ("1", items), row["validation_error"])
                        self.assertEqual((row["net"], row["latency_method"]), (f"connect={target}", "one_clock"))
            finally:
                serve.kill()
                serve.communicate(timeout=30)
        finally:
            for ns in (serve_ns, run_ns):
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)

    def test_clean_removes_the_namespaces_of_a_dead_run_and_keeps_a_live_ones(self):
        dead = "rl4194399p"  # above pid_max: no such process
        live = f"rl{os.getpid()}c"
        for name in (dead, live):
            subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
        try:
            r = ringlab("clean")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(f"network namespace {dead} (its run is gone): removed", r.stdout)
            self.assertNotIn(dead, our_namespaces())
            self.assertIn(live, our_namespaces(), "the control: a namespace whose run lives is kept")
        finally:
            for name in (dead, live):
                subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


def can_make_namespaces():
    """Exit 77 with the reason where this machine cannot make network namespaces."""
    if os.geteuid() != 0:
        print("skipped: making network namespaces needs root")
        sys.exit(77)
    probe = f"rlprobe{os.getpid()}"
    try:
        r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        print("skipped: no `ip` (iproute2)")
        sys.exit(77)
    if r.returncode != 0:
        print(f"skipped: ip netns add failed: {r.stderr.strip()}")
        sys.exit(77)
    subprocess.run(["ip", "netns", "del", probe], timeout=30)


if __name__ == "__main__":
    RINGLAB = os.path.abspath(sys.argv.pop(1))
    can_make_namespaces()
    sys.exit(0 if unittest.main(verbosity=2, exit=False).result.wasSuccessful() else 1)
