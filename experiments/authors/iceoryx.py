#!/usr/bin/python3
"""Instruments on one machine: iceoryx's own benchmark program (iceoryx_examples/iceperf)
and `ringlab run --native --pattern pingpong`, interleaved, round trips between two
processes over iceoryx, a POSIX message queue and a Unix socket (docs/results/<host>/instruments.md: Why instruments
disagree).

    git clone https://github.com/eclipse-iceoryx/iceoryx /tmp/iceoryx
    git -C /tmp/iceoryx checkout v2.0.3               # the version Debian packages (iceoryx 2.0.3+dfsg-1)
    /usr/bin/python3 experiments/authors/iceoryx.py /tmp/iceoryx

The program (iceperf-bench-leader and iceperf-bench-follower) is built from that checkout
in a temporary folder (nothing of it is kept here), against Debian's iceoryx headers
(/usr/include/iceoryx/v2.0.3) and libraries (libiceoryx_posh, _hoofs, _platform), with its
CMake's Release flags (-O3 -DNDEBUG, C++14). Two changes, both in that folder: the iceoryx
C API is left out (Debian packages no iceoryx_binding_c: its include and its block in
iceperf_leader.cpp and iceperf_follower.cpp go), and the leader's payload list (1 kB to
4096 kB, each size measured in turn) is cut to its smallest, 1 kB: the large sizes take
minutes over a socket or a message queue (split into 4 kB sub-packets) and are not
compared here. Everything else is the program's own.

How it measures: the leader sends a 1 kB PerfTopic, then N times (-n, its default 10000;
here --round-trips) takes the follower's reply and sends the next one, timed with
steady_clock around the N iterations; both sides run unpinned. iceoryx: untyped
publisher/subscriber (subscriber queue capacity 1), both sides busy-poll take() (no
waitset); the message queue (mq_maxmsg 8, mq_msgsize 4096) and the Unix socket (SOCK_DGRAM,
unconnected, sendto a path in /tmp, 4 kB datagrams at most) block in mq_receive / recvfrom. It prints
"Average Latency [µs]" = the N round trips' time / (2 N), in whole ns, divided by 1000 and
printed with 2 significant digits (std::setprecision(2): "1.7", "45", "1.2e+02"): half a
round trip, so rtt_mean_ns = printed µs * 2 * 1000 (up to 5% off by the program's rounding).

The program needs RouDi for its settings topic (all technologies) and for iceoryx: this
script starts /usr/bin/iox-roudi (its built-in configuration) before the pair and stops it
after (SIGTERM; RouDi then removes its shared memory and sockets), and refuses to start
when some RouDi already answers on /tmp/roudi. iceoryx 2.0.3's follower hangs at the end of
the iceoryx part now and then (Iceoryx::shutdown waits for its publisher to *have*
subscribers, a race with the leader's unsubscribe; still so upstream): it is given 2 s after
the leader is done, then SIGTERM, and RouDi is stopped only after its monitoring dropped
that runtime (1.8 s; otherwise RouDi 2.0.3 aborts on SIGTERM without cleaning up, see
src/peers/iceoryx_roudi.cpp). What the pair or RouDi
leave behind (runtime sockets /tmp/iceperf-bench-*, /tmp/Leader and /tmp/Follower, the
queues /Leader and /Follower, RouDi's /dev/shm segments and /tmp/roudi*) is removed. No
RouDi of ours runs while ringlab runs: ringlab's iceoryx transport starts its own (it
would use a running one).

ringlab side: `ringlab run --scope process --pattern pingpong --termination sentinel
--native --capacity 8 --duration D`, 8-byte items (pingpong carries 8-byte items only),
rtt_mean_ns as it writes it, for iceoryx (--wait spin: busy polling, as iceperf), posix_mq
and unix_socket.seqpacket (--wait block, as iceperf's blocking receives; ringlab's stream
unix_socket cannot ping-pong, and it has no SOCK_DGRAM transport: seqpacket is the nearest,
one message per item), each --pin none (as iceperf runs) and --pin compact (as ringlab's
experiments run). Every measurement (RouDi + leader + follower; each ringlab run) holds an
exclusive flock on /tmp/ringlab-bench.lock.

Rows: instrument "author's program" or "ringlab --native"; queue in ringlab's names
(iceperf's UNIX DOMAIN SOCKET under unix_socket.seqpacket); placement none or compact;
element_bytes 1024 (iceperf) or 8 (ringlab); capacity (iceperf: its subscriber queue 1,
mq_maxmsg 8, the datagram socket's net.unix.max_dgram_qlen + 1; ringlab: 8); threads 1P1C
(one process each side); printed_value: iceperf's figure as printed, in µs for half a
round trip, or ringlab's rtt_mean_ns, in ns for a whole one; rtt_mean_ns:
a whole round trip in ns; round_trips_per_run: iceperf's -n, or ringlab's round trips in
its measured window (measured_s / rtt_mean_ns); compare: left empty; disturbed: ringlab's
noise guard (1: others used the CPUs during the run), empty for iceperf.
Writes results/<host>/authors-iceoryx.csv and its provenance JSON."""
import argparse
import csv
import ctypes
import fcntl
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from atomic_queue import host_id  # noqa: E402  (one machine, one way to run ringlab)

ROUDI = "/usr/bin/iox-roudi"
ROUDI_SOCKET = "/tmp/roudi"
LOCK = "/tmp/ringlab-bench.lock"
INCLUDE = "/usr/include/iceoryx/v2.0.3"
CAPACITY = 8  # ringlab's capacity (experiments/transports.toml's)
# iceperf's section title -> (ringlab's queue, iceperf's capacity: None = the socket's, dgram_capacity())
TECHNOLOGIES = {"MESSAGE QUEUE": ("posix_mq", 8), "UNIX DOMAIN SOCKET": ("unix_socket.seqpacket", None),
                "ICEORYX": ("iceoryx", 1)}
# ringlab's queue -> its wait (as iceperf waits: iceoryx busy-polls, the others block)
RINGLAB = [("iceoryx", "spin"), ("posix_mq", "block"), ("unix_socket.seqpacket", "block")]
PAYLOADS = "const std::vector<uint32_t> payloadSizesInKB{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};"
C_API = """    if (m_settings.technology == Technology::ALL || m_settings.technology == Technology::ICEORYX_C_API)
    {
        std::cout << std::endl << "******   ICEORYX C API    ********" << std::endl;
        IceoryxC iceoryxc(PUBLISHER, SUBSCRIBER);
        doMeasurement(iceoryxc);
    }
"""
SOURCES = {"leader": ["main_leader.cpp", "iceperf_leader.cpp"], "follower": ["main_follower.cpp", "iceperf_follower.cpp"]}
COMMON = ["base.cpp", "iceoryx.cpp", "uds.cpp", "mq.cpp"]  # CMakeLists.txt's, less iceoryx_c.cpp
# What iceperf and RouDi may leave: the runtimes' sockets and locks, the UDS sockets, RouDi's own.
TMP_FILES = ["/tmp/iceperf-bench-leader", "/tmp/iceperf-bench-leader.lock", "/tmp/iceperf-bench-follower",
             "/tmp/iceperf-bench-follower.lock", "/tmp/Leader", "/tmp/Follower"]
ROUDI_FILES = [ROUDI_SOCKET, "/tmp/roudi.lock", "/tmp/iox-unique-roudi.lock", "/dev/shm/iceoryx_mgmt",
               "/dev/shm/" + pwd.getpwuid(os.getuid()).pw_name]
MQUEUES = [b"/Leader", b"/Follower"]
# RouDi drops a runtime that stopped answering after PROCESS_KEEP_ALIVE_TIMEOUT (1.5 s),
# looked at every DISCOVERY_INTERVAL (0.1 s): as ringlab's stop_roudi waits.
ROUDI_DROPS_S = 1.5 + 3 * 0.1

libc = ctypes.CDLL(None, use_errno=True)


def fail(message):
    print(f"iceoryx.py: error: {message}", file=sys.stderr)
    sys.exit(2)


class bench_lock:
    """The exclusive lock every benchmark on this machine holds while it measures."""
    def __enter__(self):
        self.fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def dgram_capacity():
    """The datagrams a Unix SOCK_DGRAM socket's receive queue holds: net.unix.max_dgram_qlen,
    and one more (the kernel refuses a datagram when the queue is longer than the limit)."""
    with open("/proc/sys/net/unix/max_dgram_qlen") as f:
        return int(f.read()) + 1


def roudi_answers():
    """Whether some RouDi (ours or anyone's) accepts on its socket (as ringlab asks)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        try:
            s.connect(ROUDI_SOCKET)
            return True
        except OSError:
            return False


def child_dies_with_us(sig):
    """For Popen: its own process group (a terminal's Ctrl-C is for this script, which then
    stops it), and sig when this script dies."""
    def setup():
        os.setpgid(0, 0)
        libc.prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
    return setup


def build_program(upstream, build):
    """iceperf-bench-leader and -follower from the checkout's iceperf, with the two changes
    of the docstring, against Debian's iceoryx."""
    src = os.path.join(build, "iceperf")
    shutil.copytree(os.path.join(upstream, "iceoryx_examples", "iceperf"), src)

    def patch(name, old, new):
        path = os.path.join(src, name)
        with open(path) as f:
            text = f.read()
        if text.count(old) != 1:
            fail(f"iceoryx_examples/iceperf/{name}: '{old.strip()[:50]}' found {text.count(old)} times (not tag v2.0.3?)")
        with open(path, "w") as f:
            f.write(text.replace(old, new))
    for name in ("iceperf_leader.cpp", "iceperf_follower.cpp"):
        patch(name, '#include "iceoryx_c.hpp"\n', "")
        patch(name, C_API, "")
    patch("iceperf_leader.cpp", PAYLOADS, "const std::vector<uint32_t> payloadSizesInKB{1};")
    programs = {}
    for side, mains in SOURCES.items():
        exe = os.path.join(build, f"iceperf-bench-{side}")
        cmd = ["g++", "-std=c++14", "-O3", "-DNDEBUG", f"-I{INCLUDE}", "-o", exe,
               *[os.path.join(src, s) for s in mains + COMMON],
               "-liceoryx_posh", "-liceoryx_hoofs", "-liceoryx_platform", "-lrt", "-pthread"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"building iceperf-bench-{side} failed (libiceoryx-posh-dev installed?):\n{r.stderr[-2000:]}")
        programs[side] = exe
    return programs


def remove_leftovers(roudi_clean):
    """What a killed follower (its runtime socket and lock) and the technologies leave; and,
    when RouDi did not leave normally, its own files."""
    for path in TMP_FILES + ([] if roudi_clean else ROUDI_FILES):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    for name in MQUEUES:
        libc.mq_unlink(name)


def stop(proc, sig=signal.SIGTERM, limit=5.0):
    """Signal proc, wait up to limit s, then SIGKILL; its exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def run_program(programs, round_trips, work):
    """One run of the pair, RouDi started before and stopped after: {section title: printed µs}."""
    if roudi_answers():
        fail(f"a RouDi already answers on {ROUDI_SOCKET} (someone else's iceoryx run?): not starting ours")
    logs = {name: open(os.path.join(work, f"{name}.log"), "w+") for name in ("roudi", "follower")}
    roudi = follower = leader = None
    someone_killed = False
    roudi_clean = False
    try:
        roudi = subprocess.Popen([ROUDI, "--log-level", "warning"], stdin=subprocess.DEVNULL, stdout=logs["roudi"],
                                 stderr=subprocess.STDOUT, preexec_fn=child_dies_with_us(signal.SIGTERM))
        deadline = time.monotonic() + 5
        while not roudi_answers():
            if roudi.poll() is not None or time.monotonic() > deadline:
                fail(f"{ROUDI} did not accept clients within 5 s (it said: {tail(logs['roudi'])})")
            time.sleep(0.005)
        follower = subprocess.Popen([programs["follower"]], stdin=subprocess.DEVNULL, stdout=logs["follower"],
                                    stderr=subprocess.STDOUT, preexec_fn=child_dies_with_us(signal.SIGKILL))
        leader = subprocess.Popen([programs["leader"], "-n", str(round_trips)], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  preexec_fn=child_dies_with_us(signal.SIGKILL))
        limit = 120 + round_trips * len(TECHNOLOGIES) * 500e-6  # busy polling on a busy machine: 100s of us
        try:
            out, _ = leader.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            fail(f"iceperf-bench-leader did not finish within {limit:.0f} s (follower said: {tail(logs['follower'])})")
        if leader.returncode != 0:
            fail(f"iceperf-bench-leader failed (exit {leader.returncode}): {out.strip()[-500:]}")
        try:
            follower.wait(timeout=2)
        except subprocess.TimeoutExpired:  # iceoryx 2.0.3's Iceoryx::shutdown (see the docstring)
            someone_killed = True
            stop(follower)
    finally:
        for proc in (leader, follower):
            if proc is not None and proc.poll() is None:
                someone_killed = True
                stop(proc, signal.SIGKILL)
        if roudi is not None:
            if someone_killed:
                time.sleep(ROUDI_DROPS_S)  # RouDi drops the silent runtime first, else it aborts on SIGTERM
            roudi_clean = stop(roudi) == 0
        remove_leftovers(roudi_clean)
        for f in logs.values():
            f.close()
    return parse(out, round_trips)


def tail(f):
    f.flush()
    f.seek(0)
    lines = [line.strip() for line in f.read().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def parse(out, round_trips):
    """The 1 kB row of each technology's table: {title: printed text}."""
    figures = {}
    for section in re.split(r"^\*{6}\s+", out, flags=re.M)[1:]:
        title = re.match(r"(.+?)\s+\*{8}", section)
        row = re.search(r"^\|\s+1 \|\s+(\S+) \|$", section, re.M)
        trips = re.search(r"^([0-9]+) round trips for each payload", section, re.M)
        if not (title and row and trips) or int(trips.group(1)) != round_trips:
            fail(f"iceperf-bench-leader printed no 1 kB result in: {section.strip()[:300]}")
        figures[title.group(1)] = row.group(1)
    if set(figures) != set(TECHNOLOGIES):
        fail(f"iceperf-bench-leader measured {sorted(figures)}, not {sorted(TECHNOLOGIES)}")
    return figures


def ringlab_rtt(ringlab, queue, wait, pin, duration):
    """One native round-trip run: (rtt_mean_ns, round trips in its window, disturbed)."""
    with tempfile.TemporaryDirectory(prefix="ringlab-iox-") as d:
        path = os.path.join(d, "r.csv")
        with bench_lock():
            if queue == "iceoryx" and roudi_answers():
                fail(f"a RouDi answers on {ROUDI_SOCKET}: ringlab would use it rather than start its own")
            r = subprocess.run([ringlab, "run", "--scope", "process", "--queue", queue, "--pattern", "pingpong",
                                "--termination", "sentinel", "--native", "--wait", wait, "--capacity", str(CAPACITY),
                                "--pin", pin, "--duration", str(duration), "--out", path], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"ringlab run --native --pattern pingpong --queue {queue} --pin {pin}: {r.stderr.strip()}")
        with open(path) as f:
            row = next(csv.DictReader(f))
        rtt = float(row["rtt_mean_ns"])
        return rtt, round(float(row["measured_s"]) * 1e9 / rtt), row["disturbed"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("upstream", help="a checkout of github.com/eclipse-iceoryx/iceoryx (tag v2.0.3)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each instrument, interleaved")
    ap.add_argument("--round-trips", type=int, default=50_000, help="iceperf's -n per technology (its own: 10000)")
    ap.add_argument("--duration", type=float, default=0.5, help="seconds per ringlab run")
    ap.add_argument("--ringlab", default=os.path.join(ROOT, "build", "src", "ringlab"))
    ap.add_argument("--out", help="default: results/<host>/authors-iceoryx.csv")
    a = ap.parse_args()
    started = time.monotonic()  # the wall time, for the provenance
    if not os.path.isdir(os.path.join(a.upstream, "iceoryx_examples", "iceperf")):
        fail(f"{a.upstream}: no iceoryx_examples/iceperf (a checkout of eclipse-iceoryx/iceoryx?)")
    if not os.access(a.ringlab, os.X_OK):
        fail(f"{a.ringlab}: not built (scripts/run builds it)")
    if not os.access(ROUDI, os.X_OK):
        fail(f"{ROUDI}: not installed (apt-get install iceoryx)")
    if not os.path.isdir(INCLUDE):
        fail(f"{INCLUDE}: missing (apt-get install libiceoryx-posh-dev: iceoryx 2.0.3)")
    head = subprocess.run(["git", "-C", a.upstream, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    # a SIGTERM ends the script through its finally clauses (RouDi and the pair stopped, files removed)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sockets_hold = dgram_capacity()
    build = tempfile.mkdtemp(prefix="ringlab-iceperf-")
    rows = []
    try:
        programs = build_program(a.upstream, build)
        for run in range(a.runs):
            with bench_lock():
                figures = run_program(programs, a.round_trips, build)
            for title, printed in figures.items():
                queue, capacity = TECHNOLOGIES[title]
                rows.append({"instrument": "author's program", "queue": queue, "placement": "none",
                             "element_bytes": 1024, "capacity": sockets_hold if capacity is None else capacity,
                             "run": run, "printed_value": printed,
                             "rtt_mean_ns": round(float(printed) * 2 * 1000, 1),
                             "round_trips_per_run": a.round_trips, "disturbed": ""})
            for queue, wait in RINGLAB:
                for pin in ("none", "compact"):
                    rtt, trips, disturbed = ringlab_rtt(a.ringlab, queue, wait, pin, a.duration)
                    rows.append({"instrument": "ringlab --native", "queue": queue, "placement": pin,
                                 "element_bytes": 8, "capacity": CAPACITY, "run": run, "printed_value": rtt,
                                 "rtt_mean_ns": rtt, "round_trips_per_run": trips, "disturbed": disturbed})
    finally:
        shutil.rmtree(build, ignore_errors=True)
    out = a.out or os.path.join(ROOT, "results", host_id(a.ringlab), "authors-iceoryx.csv")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".part"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["instrument", "queue", "placement", "element_bytes", "capacity", "threads", "run",
                                          "printed_value", "rtt_mean_ns", "upstream_commit", "round_trips_per_run",
                                          "compare", "disturbed", "config"])
        w.writeheader()
        for row in rows:  # compare: the README's bold row, posix_mq / iceoryx, a ranking both instruments make
            config = "unpinned" if row["placement"] == "none" else "pinned " + row["placement"]
            w.writerow({**row, "threads": "1P1C", "upstream_commit": head, "config": config,
                        "compare": {"posix_mq": "ours", "iceoryx": "theirs"}.get(row["queue"], "")})
    os.replace(tmp, out)
    subprocess.run([a.ringlab, "provenance", out, "--command", " ".join(["experiments/authors/iceoryx.py", *sys.argv[1:]]),
                    "--wall-s", f"{time.monotonic() - started:.1f}"],
                   check=True)
    summarise(rows)
    print(f"wrote {out}")


def summarise(rows):
    """Median round trip per instrument, placement and queue, and each instrument's iceoryx /
    posix_mq and iceoryx / unix_socket.seqpacket."""
    from statistics import median
    groups = {}
    for r in rows:
        groups.setdefault((r["instrument"], r["placement"], r["queue"]), []).append(r["rtt_mean_ns"])
    for key in sorted(groups):
        print(f"{key[0]:18} pin {key[1]:8} {key[2]:22} median round trip {median(groups[key]) / 1e3:8.2f} us "
              f"(runs {', '.join(f'{v / 1e3:.2f}' for v in groups[key])})")
    for instrument, placement in sorted({k[:2] for k in groups}):
        m = {q: median(v) for (i, p, q), v in groups.items() if (i, p) == (instrument, placement)}
        if "iceoryx" in m:
            ratios = ", ".join(f"iceoryx / {q} {m['iceoryx'] / m[q]:.2f}" for q in ("posix_mq", "unix_socket.seqpacket") if q in m)
            print(f"{instrument:18} pin {placement:8} {ratios}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # RouDi and the pair were stopped on the way out
        sys.exit(130)
