#!/usr/bin/python3
"""Instruments on one machine: libzmq's own throughput tools (perf/local_thr and
perf/remote_thr) and `ringlab run --native --queue zmq.ipc`, interleaved, 8-byte messages
over ipc:// (docs/results/<host>/instruments.md: Why instruments disagree).

    git clone https://github.com/zeromq/libzmq /tmp/libzmq
    git -C /tmp/libzmq checkout v4.3.4                # the version Debian packages (libzmq3-dev)
    /usr/bin/python3 experiments/authors/libzmq.py /tmp/libzmq

The two tools are built from that checkout in a temporary folder (nothing of them is kept
here), unchanged, against Debian's libzmq, with -O2. They run as the
README of perf/ says: local_thr binds a PULL socket and receives, remote_thr connects a
PUSH socket and sends, one context and one I/O thread each, default HWM (1000), no
pinning; the figure is local_thr's (messages over the time from the first to the last).
ringlab runs zmq.ipc the same way (PULL binds, PUSH connects, one context each, blocking
send/recv: `--wait block`) at capacity 1000 (its HWM = the capacity, so the tools' 1000),
once unpinned as the tools run and once pinned (compact) as ringlab's experiments run;
and at capacity 8 (HWM 8), where experiments/transports.toml runs every transport.
Writes results/<host>/authors-libzmq.csv and its provenance JSON."""
import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from atomic_queue import host_id, ringlab_native, summarise  # noqa: E402  (one machine, one way to run ringlab)

CAPACITY = 1000  # the tools' HWM (libzmq's default), and ringlab's capacity = HWM


def fail(message):
    print(f"libzmq.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def build_tools(upstream, build):
    """local_thr and remote_thr from the checkout, against Debian's libzmq."""
    os.makedirs(os.path.join(build, "perf"))
    os.makedirs(os.path.join(build, "include"))
    for header in ("zmq.h", "zmq_utils.h"):  # they include "../include/zmq.h": the installed one
        os.symlink(os.path.join("/usr/include", header), os.path.join(build, "include", header))
    tools = {}
    for tool in ("local_thr", "remote_thr"):
        source = os.path.join(build, "perf", f"{tool}.cpp")
        shutil.copy(os.path.join(upstream, "perf", f"{tool}.cpp"), source)
        exe = os.path.join(build, tool)
        r = subprocess.run(["g++", "-O2", "-DNDEBUG", "-o", exe, source, "-lzmq"], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"building perf/{tool}.cpp failed (libzmq3-dev installed?):\n{r.stderr[-2000:]}")
        tools[tool] = exe
    return tools


def run_tools(tools, count):
    """One run of the pair over ipc://; local_thr's mean throughput in messages/s. Here, over
    ipc://, remote_thr's last messages are lost when it ends its context right after sending
    (local_thr then waits for ever; over tcp:// they arrive), so the sender is asked for 5%
    more than the receiver counts, and stopped once the receiver has its count."""
    with tempfile.TemporaryDirectory(prefix="ringlab-zmqperf-") as d:
        endpoint = f"ipc://{d}/thr"
        local = subprocess.Popen([tools["local_thr"], endpoint, "8", str(count)], stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)  # bound before the sender connects (zmq would also retry)
        remote = subprocess.Popen([tools["remote_thr"], endpoint, "8", str(count + count // 20)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            out, _ = local.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            local.kill()
            remote.kill()
            fail(f"local_thr did not receive {count} messages within 120 s")
        remote.kill()
        remote.wait()
        if local.returncode != 0:
            fail(f"local_thr failed: {out.strip()}")
        m = re.search(r"mean throughput: ([0-9]+) \[msg/s\]", out)
        if not m:
            fail(f"local_thr printed no throughput: {out.strip()}")
        return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("upstream", help="a checkout of github.com/zeromq/libzmq (tag v4.3.4)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each instrument, interleaved")
    ap.add_argument("--messages", type=int, default=5_000_000, help="messages per run of the tools")
    ap.add_argument("--ringlab", default=os.path.join(ROOT, "build", "src", "ringlab"))
    ap.add_argument("--out", help="default: results/<host>/authors-libzmq.csv")
    a = ap.parse_args()
    started = time.monotonic()  # the wall time, for the provenance
    for tool in ("local_thr", "remote_thr"):
        if not os.path.isfile(os.path.join(a.upstream, "perf", f"{tool}.cpp")):
            fail(f"{a.upstream}: no perf/{tool}.cpp (a checkout of zeromq/libzmq?)")
    if not os.access(a.ringlab, os.X_OK):
        fail(f"{a.ringlab}: not built (scripts/run builds it)")
    head = subprocess.run(["git", "-C", a.upstream, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    build = tempfile.mkdtemp(prefix="ringlab-zmq-")
    rows = []
    try:
        tools = build_tools(a.upstream, build)
        for run in range(a.runs):
            value = run_tools(tools, a.messages)
            rows.append({"instrument": "author's program", "queue": "zmq.ipc (unpinned)", "placement": "none",
                         "run": run, "capacity": CAPACITY, "printed_items_per_s": value, "throughput_items_per_s": round(value)})
            # and at capacity 8 (HWM 8), where transports.toml runs every transport
            for queue, pin, capacity in (("zmq.ipc (unpinned)", "none", CAPACITY),
                                         ("zmq.ipc (pinned compact)", "compact", CAPACITY),
                                         ("zmq.ipc (pinned compact)", "compact", 8)):
                value = ringlab_native(a.ringlab, "zmq.ipc", "block", capacity, ["--duration", "1"], pin=pin)
                rows.append({"instrument": "ringlab --native", "queue": queue, "placement": pin, "run": run,
                             "capacity": capacity, "printed_items_per_s": value, "throughput_items_per_s": round(value)})
    finally:
        shutil.rmtree(build, ignore_errors=True)
    for row in rows:
        row.update(element_bytes=8)
    out = a.out or os.path.join(ROOT, "results", host_id(a.ringlab), "authors-libzmq.csv")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".part"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["instrument", "queue", "placement", "element_bytes", "capacity", "run",
                                          "printed_items_per_s", "throughput_items_per_s", "upstream_commit", "items_per_run"])
        w.writeheader()
        for row in rows:
            w.writerow({**row, "upstream_commit": head, "items_per_run": a.messages})
    os.replace(tmp, out)
    subprocess.run([a.ringlab, "provenance", out, "--command", " ".join(["experiments/authors/libzmq.py", *sys.argv[1:]]),
                    "--wall-s", f"{time.monotonic() - started:.1f}"],
                   check=True)
    summarise(rows)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
