#!/usr/bin/python3
"""Instruments on one machine: atomic_queue's own benchmark program, `ringlab run --native`
and `ringlab run --native --loop author` (that program's loop inside ringlab), interleaved,
on the same SPSC queues (docs/results/<host>/instruments.md: Why instruments disagree).

    git clone https://github.com/max0x7ba/atomic_queue /tmp/atomic_queue
    git -C /tmp/atomic_queue checkout 83774a2        # the commit Debian packages
    apt-get install libxenium-dev                    # the program also benchmarks xenium's queues
    /usr/bin/python3 experiments/authors/atomic_queue.py /tmp/atomic_queue

The program is built from that checkout in a temporary folder (nothing of it is kept
here) with its Makefile's release flags; its throughput list is cut down to the SPSC
queues compared here plus ringlab's spsc_ring and ringlab's own adapter of atomic_queue
(ringlab_in_atomic_queue.hpp), its element type, capacity and item count made settable.
It converts TSC ticks to seconds with the GHz in /proc/cpuinfo's model name and falls
back to 1 GHz when the name has none (AMD EPYC VMs): its figures are then low by the TSC
frequency, so each row keeps the printed figure and the corrected one.
The program reports, per placement, the fastest of three runs; ringlab's `--loop author`
row is selected the same way (the fastest of three runs, all three kept in `runs_items_per_s`),
so that the two rows of one loop differ in the instrument only, not in the statistic. Every
measurement holds /tmp/ringlab-bench.lock (flock) while it runs.
Writes results/<host>/authors-atomic_queue.csv and its provenance JSON."""
import argparse
import csv
import os
import re
import shutil
import subprocess
import time
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LOCK = "/tmp/ringlab-bench.lock"  # held by every benchmark execution, so that none overlap
BEST_OF = 3  # the program's RUNS: it prints the fastest of three runs per placement
# (the program's name for a queue, ringlab's name, ringlab's wait): each queue as its author drives it
QUEUES = [("ringlab::spsc_ring", "spsc_ring", "spin"),
          ("ringlab::spsc_ring.rigtorp", "spsc_ring.rigtorp", "spin"),
          ("OptimistAtomicQueue", "aq.AtomicQueue.spsc", "block"),
          ("OptimistAtomicQueueB", "aq.AtomicQueueB.spsc", "block"),
          ("RinglabAq", None, None),
          ("boost::lockfree::spsc_queue", "boost.spsc_queue", "spin")]
LIST = """    run_throughput_spsc_benchmark("boost::lockfree::spsc_queue", hp, hw_thread_ids, Type<BoostSpScAdapter<boost::lockfree::spsc_queue<RINGLAB_T, boost::lockfree::capacity<SIZE>>>>{});
    run_throughput_spsc_benchmark("ringlab::spsc_ring", hp, hw_thread_ids, Type<RinglabSpsc<RINGLAB_T, SIZE>>{});
    run_throughput_spsc_benchmark("ringlab::spsc_ring.rigtorp", hp, hw_thread_ids, Type<RinglabSpsc<RINGLAB_T, SIZE, ringlab::rigtorp_spsc>>{});
#if RINGLAB_AQ_ADAPTER  // ringlab's adapter carries 8-byte words only
    run_throughput_spsc_benchmark("RinglabAq", hp, hw_thread_ids, Type<RinglabAq<RINGLAB_T, SIZE>>{});
#endif
    using SPSC = QueueTypes<SIZE, true, false, false>;
    run_throughput_spsc_benchmark("OptimistAtomicQueue", hp, hw_thread_ids, SPSC::OptimistAtomicQueue{});
    run_throughput_spsc_benchmark("OptimistAtomicQueueB", hp, hw_thread_ids, SPSC::OptimistAtomicQueueB{});
"""


def fail(message):
    print(f"atomic_queue.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def patched(source):
    """The program's source with the changes above; each anchor must be found once."""
    def once(text, old, new):
        if text.count(old) != 1:
            fail(f"src/benchmarks.cc: '{old.strip()[:50]}' found {text.count(old)} times (not commit 83774a2?)")
        return text.replace(old, new)
    s = once(source, '#include "moodycamel.h"\n', '#include "moodycamel.h"\n#include "ringlab_in_atomic_queue.hpp"\n')
    s = once(s, "using T = unsigned;", "using T = RINGLAB_T;")
    s = once(s, "using Allocator = HugePageAllocator<unsigned>;", "using Allocator = HugePageAllocator<RINGLAB_T>;")
    s = s.replace("boost::lockfree::queue<unsigned, BoostAllocator", "boost::lockfree::queue<RINGLAB_T, BoostAllocator")
    s = once(s, "int constexpr SIZE = 65536;", "int constexpr SIZE = RINGLAB_CAPACITY;")
    s = s.replace("hw_thread_ids, 1000000, 1, 1);", "hw_thread_ids, RINGLAB_ITEMS, 1, 1);")
    start = s.index('    run_throughput_spsc_benchmark("boost::lockfree::spsc_queue"')
    end = s.index('    std::printf("\\n");\n}', start)
    s = s[:start] + LIST + s[end:]
    return once(s, "    run_ping_pong_benchmarks(hp, cpu_topology);\n", "")


def tsc_ghz(ringlab):
    out = subprocess.run([ringlab, "topology"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"tsc ([0-9.]+) GHz", out)
    return float(m.group(1)) if m else None


def program_ghz():
    """What the program divides ticks by (its cpu_base_frequency())."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            m = re.match(r"model name\s*:[^@]+@\s*([0-9.]+)\s*GHz", line)
            if m:
                return float(m.group(1))
    return 1.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("upstream", help="a checkout of github.com/max0x7ba/atomic_queue (commit 83774a2)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each instrument, interleaved")
    ap.add_argument("--items", type=int, default=50_000_000, help="items per run of the program (its own: 1000000)")
    ap.add_argument("--ringlab", default=os.path.join(ROOT, "build", "src", "ringlab"))
    ap.add_argument("--out", help="default: results/<host>/authors-atomic_queue.csv")
    a = ap.parse_args()
    started = time.monotonic()  # the wall time, for the provenance
    if not os.path.isfile(os.path.join(a.upstream, "src", "benchmarks.cc")):
        fail(f"{a.upstream}: no src/benchmarks.cc (a checkout of max0x7ba/atomic_queue?)")
    if not os.access(a.ringlab, os.X_OK):
        fail(f"{a.ringlab}: not built (scripts/run builds it)")
    head = subprocess.run(["git", "-C", a.upstream, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    ghz, divides_by = tsc_ghz(a.ringlab), program_ghz()
    scale = ghz / divides_by if ghz else 1.0
    build = tempfile.mkdtemp(prefix="ringlab-aq-")
    try:
        for sub in ("src", "include"):
            shutil.copytree(os.path.join(a.upstream, sub), os.path.join(build, sub))
        with open(os.path.join(a.upstream, "src", "benchmarks.cc")) as f:
            source = patched(f.read())
        with open(os.path.join(build, "src", "benchmarks.cc"), "w") as f:
            f.write(source)
        shutil.copy(os.path.join(HERE, "ringlab_in_atomic_queue.hpp"), os.path.join(build, "src"))
        flags = ["-O3", "-mtune=native", "-ffast-math", "-falign-functions=64", "-falign-loops=64", "-DNDEBUG", "-pthread",
                 "-march=native", "-std=gnu++20", f"-I{build}/include", f"-I{build}/src", "-I/usr/include/concurrentqueue",
                 f"-I{ROOT}/include", f"-I{ROOT}/src"]
        configs = [("unsigned long", 8, 65536), ("unsigned long", 8, 1024), ("unsigned", 4, 65536)]
        programs = {}
        for element, size, capacity in configs:
            exe = os.path.join(build, f"benchmarks-{size}-{capacity}")
            cmd = ["g++", *flags, f"-DRINGLAB_T={element}", f"-DRINGLAB_CAPACITY={capacity}", f"-DRINGLAB_ITEMS={a.items}u", f"-DRINGLAB_AQ_ADAPTER={int(size == 8)}",
                   "-o", exe] + [os.path.join(build, "src", s) for s in ("benchmarks.cc", "cpu_base_frequency.cc", "huge_pages.cc")]
            r = subprocess.run(cmd + ["-ltbb", "-lrt", "-ldl"], capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"building the program failed (libxenium-dev, libtbb-dev, libboost-dev installed?):\n{r.stderr[-2000:]}")
            programs[(size, capacity)] = exe
        rows = []
        for run in range(a.runs):
            for (size, capacity), exe in programs.items():
                out = subprocess.run(["flock", LOCK, exe], capture_output=True, text=True).stdout
                for m in re.finditer(r"^\s*(\S.*?), 1,([si]):\s+([0-9]+) msg/sec", out, re.M):
                    name, placement, printed = m.group(1), m.group(2), float(m.group(3))
                    rows.append({"instrument": "author's program", "queue": name, "placement": placement, "element_bytes": size,
                                 "capacity": capacity, "run": run, "printed_items_per_s": printed,
                                 "throughput_items_per_s": round(printed * scale)})
                if size != 8:
                    continue
                for name, queue, wait in QUEUES:
                    if not queue:
                        continue
                    for instrument, how in (("ringlab --native", ["--duration", "0.5"]),
                                            ("ringlab --native --loop author", ["--loop", "author", "--items", str(a.items)])):
                        tries = BEST_OF if "--loop" in how else 1  # the author's loop, selected as the program selects
                        values = [ringlab_native(a.ringlab, queue, wait, capacity, how) for _ in range(tries)]
                        rows.append({"instrument": instrument, "queue": name, "placement": "compact", "element_bytes": 8,
                                     "capacity": capacity, "run": run, "printed_items_per_s": max(values),
                                     "throughput_items_per_s": round(max(values)),
                                     "runs_items_per_s": ";".join(str(round(v)) for v in values)})
    finally:
        shutil.rmtree(build, ignore_errors=True)
    out = a.out
    if not out:
        out = os.path.join(ROOT, "results", host_id(a.ringlab), "authors-atomic_queue.csv")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".part"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["instrument", "queue", "placement", "element_bytes", "capacity", "run",
                                          "printed_items_per_s", "throughput_items_per_s", "tsc_ghz", "program_ghz",
                                          "upstream_commit", "items_per_run", "runs_items_per_s"])
        w.writeheader()
        for row in rows:
            w.writerow({**row, "tsc_ghz": ghz, "program_ghz": divides_by, "upstream_commit": head, "items_per_run": a.items})
    os.replace(tmp, out)
    subprocess.run([a.ringlab, "provenance", out, "--command", " ".join(["experiments/authors/atomic_queue.py", *sys.argv[1:]]),
                    "--wall-s", f"{time.monotonic() - started:.1f}"],
                   check=True)
    summarise(rows)
    print(f"wrote {out}")


def ringlab_native(ringlab, queue, wait, capacity, how, pin="compact"):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.csv")
        r = subprocess.run(["flock", LOCK, ringlab, "run", "--native", "--queue", queue, "--wait", wait, "--capacity", str(capacity),
                            "--pin", pin, "--termination", "join", "--out", path, *how], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"ringlab run --native --queue {queue} {' '.join(how)}: {r.stderr.strip()}")
        with open(path) as f:
            return float(next(csv.DictReader(f))["throughput_items_per_s"])


def host_id(ringlab):
    """The host id ringlab files results under (the sweep's own)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.csv")
        subprocess.run([ringlab, "run", "--queue", "spsc_ring", "--duration", "0.05", "--no-guards", "--out", path],
                       capture_output=True, check=True)
        with open(path) as f:
            return next(csv.DictReader(f))["host"]


def summarise(rows):
    """Median per instrument, queue, element and capacity, and spsc_ring / OptimistAtomicQueue."""
    from statistics import median
    groups = {}
    for r in rows:
        groups.setdefault((r["instrument"], r["element_bytes"], r["capacity"], r["queue"]), []).append(r["throughput_items_per_s"])
    for key in sorted(groups):
        print(f"{key[0]:18} {key[1]} B cap {key[2]:6} {key[3]:30} median {median(groups[key]) / 1e6:7.1f} M items/s "
              f"(runs {', '.join(f'{v / 1e6:.0f}' for v in groups[key])})")


if __name__ == "__main__":
    main()
