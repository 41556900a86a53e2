#!/usr/bin/python3
"""Instruments on one machine: readerwriterqueue's own benchmark program (its "Heavy
concurrent" test), `ringlab run --native` and `ringlab run --native --loop author`,
interleaved, on moodycamel's ReaderWriterQueue and ringlab's spsc_ring (docs/results/<host>/instruments.md: Why
instruments disagree).

    git clone https://github.com/cameron314/readerwriterqueue /tmp/readerwriterqueue
    git -C /tmp/readerwriterqueue checkout v1.0.6     # the version Debian packages
    /usr/bin/python3 experiments/authors/readerwriterqueue.py /tmp/readerwriterqueue

The program (benchmarks/bench.cpp with systemtime.cpp, ext/ and tests/common/) is built
from that checkout in a temporary folder (nothing of it is kept here) with its makefile's
flags (-Wpedantic -Wall -DNDEBUG -O3 -g -pthread -lrt) except -std=c++20 for its -std=c++11
(spsc_ring is C++20), against the checkout's own readerwriterqueue.h, which at v1.0.6 is
byte for byte Debian's /usr/include/readerwriterqueue/ one (as are readerwritercircularbuffer.h
and atomicops.h). A small patch of ours adds ringlab's spsc_ring as a fifth queue, run
after its four (ReaderWriterQueue, BlockingReaderWriterCircularBuffer, 1024cores'
spsc_queue, folly's ProducerConsumerQueue) and reported as they are
(ringlab_in_readerwriterqueue.hpp), makes the element type settable (its own: int, 4 bytes;
and 8 bytes, what ringlab moves) and prints its seconds with 7 decimals instead of 4
(0.0001 s is 5% of a 2 ms test). It also prints, per queue, whether the variable the test's
consumer dequeues into (`element`, beside the queue object in the test's stack frame) lies on
one of the queue object's cache lines in this process (item_lines_shared: 1 or 0; where the
process's stack starts decides it): then every dequeue writes a line of the queue object.

Its "Heavy concurrent" test constructs the queue for all 1,000,000 items (the capacity
used here throughout), starts a consumer thread that calls try_dequeue 1,000,000 times
(once per call: no retry, so it may end with items still in the queue, or none taken)
and a producer thread that calls enqueue 1,000,000 times, and times with
CLOCK_MONOTONIC_RAW from before the threads start until both are joined. It runs each test
25 times per queue and prints the mean of the fastest 20% (5 runs), in seconds: the Avg
column used here. It is no transfer rate: with the consumer started first, its 1,000,000
polls can end before the producer's first enqueue, and the fastest runs are those. Once here
(2 vCPUs; items counted after the timed region), most ReaderWriterQueue runs left all
1,000,000 items in the queue and most spsc_ring runs left none: the two figures then time
different things (enqueues alone; a transfer). Converted: throughput_items_per_s =
1,000,000 items (one per enqueue) / those seconds; printed_items_per_s = the program's own rate for the test, its operation
count (an enqueue and a try_dequeue per item: 2,000,000) / the same seconds, so the printed
seconds are 2,000,000 / printed_items_per_s. The program does not pin its threads: ringlab
runs them unpinned (--pin none) and pinned (compact), at capacity 1,000,000, `--loop
author` with 1,000,000 items (pushed and all popped, timed from the first push to the last
pop). To tell the queue's size from the loop's shape, both ringlab loops also run pinned at
capacities 65,536 and 1,024 (rows labelled with their capacity; the program has no such
setting). Every measurement holds /tmp/ringlab-bench.lock (flock) while it runs.
Writes results/<host>/authors-readerwriterqueue.csv and its provenance JSON."""
import argparse
import contextlib
import csv
import fcntl
import os
import re
import shutil
import subprocess
import time
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from atomic_queue import host_id, ringlab_native, summarise  # noqa: E402  (one machine, one way to run ringlab)

LOCK = "/tmp/ringlab-bench.lock"  # held by every benchmark execution, so that none overlap
ITEMS = 1_000_000  # "Heavy concurrent": items enqueued, try_dequeue calls, and the queue's size
# the program's table columns, in its order, and the queue each is; then the one we add
COLUMNS = [("RWQ", "rwq.ReaderWriterQueue"), ("BRWCB", "rwq.BlockingReaderWriterCircularBuffer"),
           ("SPSC", "1024cores spsc_queue"), ("Folly", "folly ProducerConsumerQueue")]
OURS, THEIRS = "spsc_ring", "rwq.ReaderWriterQueue"
COMPARE = {OURS: "ours", THEIRS: "theirs"}
ELEMENTS = [("int", 4), ("long long", 8)]  # the program's own element, and ringlab's size
# ringlab's loops at smaller queues too (pinned only): the program's shape, another size
SMALLER = [65536, 1024]
INSTRUMENTS = [("ringlab --native", ["--duration", "0.5"]),
               ("ringlab --native --loop author", ["--loop", "author", "--items", str(ITEMS)])]
RUN_OURS = """		for (int i = 0; i < TEST_COUNT; ++i) {
			ringlabResults[benchmark][i] = runBenchmark<RinglabSpsc<RINGLAB_T>>((BenchmarkType)benchmark, randSeeds[benchmark], ringlabOps[benchmark][i]);
		}
"""
PRINT_OURS = """		std::cout << "ringlab::spsc_ring | " << benchmarkName((BenchmarkType)benchmark) << " | " << std::fixed << std::setprecision(7)
			<< ringlabResults[benchmark][0] << "s | " << ringlabResults[benchmark][max - 1] << "s | "
			<< std::accumulate(&ringlabResults[benchmark][0], &ringlabResults[benchmark][0] + max, 0.0) / max << "s\\n";
"""


def fail(message):
    print(f"readerwriterqueue.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def patched(source):
    """The program's source with the changes above; each anchor must be found as often as said."""
    def times(text, old, new, count=1):
        if text.count(old) != count:
            fail(f"benchmarks/bench.cpp: '{old.strip()[:50]}' found {text.count(old)} times, not {count} (not v1.0.6?)")
        return text.replace(old, new)
    s = times(source, '#include "systemtime.h"\n',
              '#include "systemtime.h"\n#include <typeinfo>\n#include "ringlab_in_readerwriterqueue.hpp"\n')
    s = times(s, "\t\tresult = getTimeDelta(start);\n\t\tforceNoOptimizeDummy = (int)(q.try_dequeue(element));\n"
                 "\t} break;\n\tcase bench_random_concurrent:",
              "\t\tresult = getTimeDelta(start);\n\t\tforceNoOptimizeDummy = ringlab_report_taken(typeid(TQueue).name(), "
              "result, q, element, MAX);\n\t} break;\n\tcase bench_random_concurrent:")
    s = times(s, "<int>>((BenchmarkType)", "<RINGLAB_T>>((BenchmarkType)", 4)
    s = times(s, "\t\tint element = -1;", "\t\tRINGLAB_T element = -1;", 6)
    s = times(s, "\t\t\tint element;", "\t\t\tRINGLAB_T element;")
    s = times(s, "\t\tint temp = -1;", "\t\tRINGLAB_T temp = -1;")
    s = times(s, "\tdouble follyOps[BENCHMARK_COUNT][TEST_COUNT];\n",
              "\tdouble follyOps[BENCHMARK_COUNT][TEST_COUNT];\n"
              "\tdouble ringlabResults[BENCHMARK_COUNT][TEST_COUNT], ringlabOps[BENCHMARK_COUNT][TEST_COUNT];\n")
    s = times(s, "\t}\n\n\t// Sort results\n", RUN_OURS + "\t}\n\n\t// Sort results\n")
    sort = "std::sort(&follyResults[benchmark][0], &follyResults[benchmark][0] + TEST_COUNT);\n"
    s = times(s, sort, sort + "\t\tstd::sort(&ringlabResults[benchmark][0], &ringlabResults[benchmark][0] + TEST_COUNT);\n")
    s = times(s, '\t\t\t<< "\\n"\n\t\t;\n', '\t\t\t<< "\\n"\n\t\t;\n' + PRINT_OURS)
    return times(s, "std::setprecision(4)", "std::setprecision(7)", 12)


def build_program(build, element):
    """The patched program for one element type; the path of its executable."""
    exe = os.path.join(build, f"benchmarks-{element.replace(' ', '-')}")
    cmd = ["g++", "-std=c++20", "-Wpedantic", "-Wall", "-DNDEBUG", "-O3", "-g", f"-DRINGLAB_T={element}",
           f"-I{ROOT}/include", f"-I{ROOT}/src", "bench.cpp", "../tests/common/simplethread.cpp", "systemtime.cpp",
           "-o", exe, "-pthread", "-Wl,--no-as-needed", "-lrt"]
    r = subprocess.run(cmd, cwd=os.path.join(build, "benchmarks"), capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"building benchmarks/bench.cpp ({element}) failed:\n{r.stderr[-2000:]}")
    return exe


def run_program(exe):
    """One run of the program: {queue: the mean seconds of its fastest "Heavy concurrent" runs}."""
    r = subprocess.run(["flock", LOCK, exe], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{os.path.basename(exe)} failed (exit {r.returncode}): {r.stderr.strip()[-500:]}")
    m = re.search(r"^Heavy concurrent\s*\|(.*)$", r.stdout, re.M)
    ours = re.search(r"^ringlab::spsc_ring \| Heavy concurrent \| ([0-9.]+)s \| ([0-9.]+)s \| ([0-9.]+)s$", r.stdout, re.M)
    if not m or not ours:
        fail(f"{os.path.basename(exe)} printed no Heavy concurrent row:\n{r.stdout[-1500:]}")
    cells = [c.strip() for c in m.group(1).split("|")]
    if len(cells) != 14 or not all(re.fullmatch(r"[0-9.]+s", c) for c in cells[:12]):
        fail(f"{os.path.basename(exe)}: unexpected Heavy concurrent row: {m.group(0)}")
    seconds = {queue: float(cell[:-1]) for (_, queue), cell in zip(COLUMNS, cells[8:12])}  # Min x4, Max x4, Avg x4
    seconds[OURS] = float(ours.group(3))
    if min(seconds.values()) <= 0:
        fail(f"{os.path.basename(exe)}: a Heavy concurrent time of 0 s: {m.group(0)}")
    return (seconds, *taken_fractions(r.stderr, os.path.basename(exe)))  # taken, median pass, lines shared


# The queue's C++ type (typeid's name) holds one of these; the order matters (the first that is in it).
TYPES = [("RinglabSpsc", OURS), ("BlockingReaderWriterCircularBuffer", "rwq.BlockingReaderWriterCircularBuffer"),
         ("ReaderWriterQueue", "rwq.ReaderWriterQueue"), ("ProducerConsumerQueue", "folly ProducerConsumerQueue"),
         ("spsc_queue", "1024cores spsc_queue")]


def taken_fractions(stderr, program):
    """{queue: the share of the items its consumer took inside the timed region}, over the runs
    the program's figure averages (its fastest fifth), from our patch's `ringlab-taken` lines."""
    runs, shared = {}, {}
    for line in stderr.splitlines():
        if line.startswith("ringlab-taken "):
            _, kind, time, taken, lines_shared = line.split()
            queue = next((q for t, q in TYPES if t in kind), None)
            if queue is None:
                fail(f"{program}: a Heavy concurrent run of an unknown queue type {kind}")
            runs.setdefault(queue, []).append((float(time), int(taken)))
            shared[queue] = max(shared.get(queue, 0), int(lines_shared))  # one frame per queue per process
    if set(runs) != {q for _, q in TYPES}:
        fail(f"{program}: no taken count for {sorted({q for _, q in TYPES} - set(runs))}")
    fastest = {q: sorted(r)[:max(2, len(r) * 20 // 100)] for q, r in runs.items()}  # its FASTEST_PERCENT_CONSIDERED
    taken = {q: sum(t for _, t in r) / len(r) / ITEMS for q, r in fastest.items()}
    # Every pass, not its fastest fifth; the patch prints the program's own times, in ms.
    median_pass_s = {q: sorted(r)[len(r) // 2][0] / 1000 for q, r in runs.items()}
    return taken, median_pass_s, shared


@contextlib.contextmanager
def bench_lock():
    """The lock `flock /tmp/ringlab-bench.lock` takes (the same flock(2) lock), for ringlab runs."""
    with open(LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("upstream", help="a checkout of github.com/cameron314/readerwriterqueue (tag v1.0.6)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each instrument, interleaved")
    ap.add_argument("--ringlab", default=os.path.join(ROOT, "build", "src", "ringlab"))
    ap.add_argument("--out", help="default: results/<host>/authors-readerwriterqueue.csv")
    a = ap.parse_args()
    started = time.monotonic()  # the wall time, for the provenance
    if not os.path.isfile(os.path.join(a.upstream, "benchmarks", "bench.cpp")):
        fail(f"{a.upstream}: no benchmarks/bench.cpp (a checkout of cameron314/readerwriterqueue?)")
    if not os.access(a.ringlab, os.X_OK):
        fail(f"{a.ringlab}: not built (scripts/run builds it)")
    if not shutil.which("flock"):
        fail("flock not found (util-linux)")
    head = subprocess.run(["git", "-C", a.upstream, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    build = tempfile.mkdtemp(prefix="ringlab-rwq-")
    rows = []
    try:
        shutil.copytree(os.path.join(a.upstream, "benchmarks"), os.path.join(build, "benchmarks"))
        shutil.copytree(os.path.join(a.upstream, "tests", "common"), os.path.join(build, "tests", "common"))
        for header in ("readerwriterqueue.h", "readerwritercircularbuffer.h", "atomicops.h"):
            shutil.copy(os.path.join(a.upstream, header), build)
        with open(os.path.join(a.upstream, "benchmarks", "bench.cpp")) as f:
            source = patched(f.read())
        with open(os.path.join(build, "benchmarks", "bench.cpp"), "w") as f:
            f.write(source)
        shutil.copy(os.path.join(HERE, "ringlab_in_readerwriterqueue.hpp"), os.path.join(build, "benchmarks"))
        programs = [(size, build_program(build, element)) for element, size in ELEMENTS]
        for run in range(a.runs):
            for size, exe in programs:
                times, taken, median_pass_s, shared = run_program(exe)
                for queue, seconds in times.items():
                    rows.append({"instrument": "author's program", "queue": queue, "placement": "none",
                                 "element_bytes": size, "capacity": ITEMS, "run": run, "printed_items_per_s": round(2 * ITEMS / seconds),
                                 "throughput_items_per_s": round(ITEMS / seconds), "items_per_run": ITEMS,
                                 "taken_fraction": round(taken[queue], 4),
                                 "median_pass_items_per_s": round(ITEMS / median_pass_s[queue]),
                                 "item_lines_shared": shared[queue]})
            for pin, capacity in [("none", ITEMS), ("compact", ITEMS)] + [("compact", c) for c in SMALLER]:
                for instrument, how in INSTRUMENTS:
                    for queue in (THEIRS, OURS):
                        value = ringlab_native(a.ringlab, queue, "spin", capacity, how, pin=pin)  # under the lock
                        rows.append({"instrument": instrument, "queue": queue, "placement": pin, "element_bytes": 8,
                                     "capacity": capacity, "run": run, "printed_items_per_s": value,
                                     "throughput_items_per_s": round(value), "items_per_run": ITEMS if "--items" in how else ""})
    finally:
        shutil.rmtree(build, ignore_errors=True)
    if not a.out:
        with bench_lock():
            host = host_id(a.ringlab)
    out = a.out or os.path.join(ROOT, "results", host, "authors-readerwriterqueue.csv")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    tmp = out + ".part"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["instrument", "queue", "placement", "element_bytes", "capacity", "run",
                                          "printed_items_per_s", "throughput_items_per_s", "upstream_commit",
                                          "items_per_run", "compare", "taken_fraction", "median_pass_items_per_s",
                                          "config", "item_lines_shared"])
        w.writeheader()
        for row in rows:  # config: what the README's table compares on one line
            config = f"{row['element_bytes']} B, {'unpinned' if row['placement'] == 'none' else 'pinned ' + row['placement']}"
            if row["capacity"] != ITEMS:
                config += f", capacity {row['capacity']}"
            w.writerow({**row, "upstream_commit": head, "compare": COMPARE.get(row["queue"], ""),
                        "config": config})
    os.replace(tmp, out)
    subprocess.run([a.ringlab, "provenance", out, "--command",
                    " ".join(["experiments/authors/readerwriterqueue.py", *sys.argv[1:]]),
                    "--wall-s", f"{time.monotonic() - started:.1f}"], check=True)
    summarise([{**r, "queue": f"{r['queue']} ({r['placement']})"} for r in rows])
    ratios(rows)
    print(f"wrote {out}")


def ratios(rows):
    """Median spsc_ring / median ReaderWriterQueue per instrument, element and placement."""
    from statistics import median
    groups = {}
    for r in rows:
        if r["queue"] in COMPARE:
            groups.setdefault((r["instrument"], r["element_bytes"], r["placement"], r["capacity"]), {}).setdefault(
                r["queue"], []).append(r["throughput_items_per_s"])
    for (instrument, size, placement, capacity), g in sorted(groups.items()):
        if OURS in g and THEIRS in g:
            print(f"{instrument:30} {size} B {placement:8} cap {capacity:7} spsc_ring / ReaderWriterQueue "
                  f"{median(g[OURS]) / median(g[THEIRS]):.2f}")


if __name__ == "__main__":
    main()
