#!/usr/bin/python3
"""Instruments on one machine: moodycamel::ConcurrentQueue's own benchmark program
(benchmarks/benchmarks.cpp) and `ringlab run --native`, interleaved, one producer and one
consumer, moodycamel's queue against ringlab's mpmc_ring (docs/results/<host>/instruments.md: Why instruments disagree).

    git clone https://github.com/cameron314/concurrentqueue /tmp/concurrentqueue
    git -C /tmp/concurrentqueue checkout v1.0.3      # the version Debian packages (libconcurrentqueue-dev)
    /usr/bin/python3 experiments/authors/concurrentqueue.py /tmp/concurrentqueue

The program is built from that checkout in a temporary folder (nothing of it is kept
here) with its makefile's release flags (-O2 -g -DNDEBUG -pthread, its vendored TBB built
as the makefile builds it; boost and dlib are its vendored headers), but -std=c++20 instead
of c++11 for ringlab's headers (its vendored boost.lockfree's allocator rebind ported to
C++20: port_vendored_boost()). It runs `--run mpsc` only, the benchmark ringlab's adapter
follows (src/peers/moodycamel.hpp): a consumer thread try_dequeues until it has every item
while producer threads enqueue (no bound: its queues grow), unpinned, started together by a
spin barrier, timed by the consumer from the barrier to its last item. Its thread counts are
cut to 2 (one producer, one consumer: the one ringlab's --native loop also has; the program
would go on with 3P1C). The program picks the items per run itself (a single-thread
dequeue ramp-up to 10 ms, divided by 2^sqrt(3)), runs 10 times, keeps the fastest half
(--precise: its own option, 30 ms, 100 times, the fastest 8%).
The patch (patched() below) also
- makes the element type settable (the program's is int, 4 bytes; ringlab's items are 8),
- adds ringlab's mpmc_ring and spsc_ring (ringlab_in_concurrentqueue.hpp), bounded at
  --capacity, to the mpsc benchmark only, with moodycamel's own item count (their
  single-thread ramp-up would fill a ring), in both of the program's loops: with tokens (the
  program's dummy token, so the same calls) and without,
- adds a consumer that pauses after a failed try_dequeue (PausingConsumer, as ringlab's
  `spin` does) around mpmc_ring and around moodycamel's queue: the one difference left
  between the program's loop and ringlab's,
- prints a line after each of the program's own: the items per run, the items/s, and
  whether its consumer's item_rec (the variable the loop without tokens dequeues into, in
  the frame that also holds the item its producer enqueues) shares a cache line with that
  item in this process (item_lines_shared: 1 or 0; empty for the loop with tokens, whose
  consumer dequeues into a variable of its own thread). Where they share one, the consumer
  writes the line the producer reads before each enqueue.
The program's figure, "Ops/s", counts every try_dequeue, the failed ones on an empty queue
too, so it is no throughput: each row keeps it (printed_items_per_s) and the items over the
same time (throughput_items_per_s: items per run x runs kept / their summed time).
ringlab runs `--native` (tokens, spin) moodycamel.unbounded (enqueue: as the program),
moodycamel (bounded), mpmc_ring and spsc_ring at --capacity, unpinned as the program runs
and pinned compact as ringlab's experiments run (disturbed: ringlab's noise guards' verdict,
1 = others used the CPUs meanwhile; empty for the program, which has none). To tell the run's
length from the loop, ringlab also runs the program's own shape on the compared pair: `--native
--loop author --items N` (the producer pushes 1..N+1, the consumer takes until N+1, timed from
the first push to the last pop), N the items per run the program chose for moodycamel's queue at
8 bytes in the same round, ten runs kept as the program keeps its own (the fastest half: their
items over their summed time; all ten in `runs_items_per_s`). Column compare: "ours" (mpmc_ring) over
"theirs" (moodycamel's queue as the program drives it: with tokens, unbounded), both in the
program's loop with tokens.
Every run holds the lock /tmp/ringlab-bench.lock (flock). Writes
results/<host>/authors-concurrentqueue.csv and its provenance JSON."""
import argparse
import csv
import fcntl
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
from atomic_queue import host_id, summarise  # noqa: E402  (one machine, one way to name it)

LOCK = "/tmp/ringlab-bench.lock"
# the program's queue (tokens or not) -> (the queue column, compare)
NAMES = {("moodycamel::ConcurrentQueue", 1): ("moodycamel.unbounded", "theirs"),
         ("moodycamel::ConcurrentQueue", 0): ("moodycamel.unbounded (no tokens)", ""),
         ("moodycamel::BlockingConcurrentQueue", 1): ("moodycamel::BlockingConcurrentQueue (try_dequeue)", ""),
         ("moodycamel::BlockingConcurrentQueue", 0): ("moodycamel::BlockingConcurrentQueue (try_dequeue; no tokens)", ""),
         ("boost::lockfree::queue", 0): ("boost::lockfree::queue (vendored)", ""),
         ("tbb::concurrent_queue", 0): ("tbb::concurrent_queue (vendored)", ""),
         ("ringlab::mpmc_ring", 1): ("mpmc_ring", "ours"),  # tokens: the loop moodycamel's queue is compared in
         ("ringlab::mpmc_ring", 0): ("mpmc_ring (no tokens)", ""),
         ("ringlab::spsc_ring", 1): ("spsc_ring", ""),
         ("ringlab::spsc_ring", 0): ("spsc_ring (no tokens)", ""),
         ("ringlab::mpmc_ring (pausing consumer)", 1): ("mpmc_ring (pausing consumer)", ""),
         ("ringlab::mpmc_ring (pausing consumer)", 0): ("mpmc_ring (pausing consumer; no tokens)", ""),
         ("moodycamel::ConcurrentQueue (pausing consumer)", 1): ("moodycamel.unbounded (pausing consumer)", ""),
         ("moodycamel::ConcurrentQueue (pausing consumer)", 0): ("moodycamel.unbounded (pausing consumer; no tokens)", "")}
# ringlab --native: (queue, compare)
RINGLAB = [("moodycamel.unbounded", "theirs"), ("moodycamel", ""), ("mpmc_ring", "ours"), ("spsc_ring", "")]
ELEMENTS = [("int", 4), ("long", 8)]  # the program's own, and ringlab's 8-byte item
PROGRAM_RUNS = 10  # the program runs each test ten times and keeps the fastest half


def fail(message):
    print(f"concurrentqueue.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def patched(source):
    """The program's source with the changes above; each anchor must be found as often as said."""
    def n_times(text, old, new, n=1):
        if text.count(old) != n:
            fail(f"benchmarks/benchmarks.cpp: '{old.strip()[:50]}' found {text.count(old)} times, not {n} (not v1.0.3?)")
        return text.replace(old, new)
    s = n_times(source, '#include "cpuid.h"\n', '#include "cpuid.h"\n#include "ringlab_in_concurrentqueue.hpp"\n')
    # the element type
    s = n_times(s, "<int>, int>", "<RINGLAB_T>, RINGLAB_T>", 12)
    s = n_times(s, "<int, Traits>, int>", "<RINGLAB_T, Traits>, RINGLAB_T>", 4)
    s = n_times(s, "\tint item;\n", "\titem_t item;\n", 8)
    # mpsc: one producer and one consumer only
    s = n_times(s, "\t{ 1, 3, 7, 15,  0,  0,  0,  0, 0 },\n\t{ 2, 4, 8, 16,  0,  0,  0,  0, 0 },\n",
                "\t{ 1, 3, 7, 15,  0,  0,  0,  0, 0 },\n\t{ 2, 0, 0, 0,  0,  0,  0,  0, 0 },\n")
    # ringlab's rings, and a consumer that pauses around mpmc_ring and around moodycamel's
    # queue (PausingConsumer): four queues, the mpsc benchmark only, each with and without tokens
    s = n_times(s, "\tqueue_dlib,\n\tQUEUE_COUNT", "\tqueue_dlib,\n\tqueue_ringlab_mpmc,\n\tqueue_ringlab_spsc,\n"
                "\tqueue_ringlab_mpmc_pausing,\n\tqueue_moodycamel_pausing,\n\tQUEUE_COUNT")
    s = n_times(s, '\t"dlib::pipe"\n};', '\t"dlib::pipe",\n\t"ringlab::mpmc_ring",\n\t"ringlab::spsc_ring",\n'
                '\t"ringlab::mpmc_ring (pausing consumer)",\n\t"moodycamel::ConcurrentQueue (pausing consumer)"\n};')
    s = n_times(s, '\t"single thread only",\n\t""\n};', '\t"single thread only",\n\t""' + ',\n\t""' * 4 + '\n};')
    s = n_times(s, "\tfalse,\n\tfalse\n};", "\tfalse,\n\tfalse" + ",\n\ttrue" * 4 + "\n};")  # dummy tokens: both loops
    s = n_times(s, "\t1,\n\t-1\n};", "\t1,\n\t-1,\n\t-1,\n\t2,\n\t-1,\n\t-1\n};")
    mpsc_only = "\t{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 }"
    s = n_times(s, "\t{ 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1 }\n};",
                "\t{ 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1 },\n" + ",\n".join([mpsc_only] * 4) + "\n};")
    args = "((benchmark_type_t)benchmark, nthreads, (bool)useTokens, seed"
    old = f"maxOps = determineMaxOpsForBenchmark<DlibQueueWrapper<RINGLAB_T>, RINGLAB_T>{args});\n\t\t\t\t\t\tbreak;\n"
    ours = ("queue_ringlab_mpmc", "queue_ringlab_spsc", "queue_ringlab_mpmc_pausing", "queue_moodycamel_pausing")
    s = n_times(s, old, old + "".join(f"\t\t\t\t\tcase {q}:\n" for q in ours) +  # moodycamel's item count
                f"\t\t\t\t\t\tmaxOps = determineMaxOpsForBenchmark<moodycamel::ConcurrentQueue<RINGLAB_T, Traits>, RINGLAB_T>{args});\n"
                "\t\t\t\t\t\tbreak;\n")
    old = f"elapsed = runBenchmark<DlibQueueWrapper<RINGLAB_T>, RINGLAB_T>{args}, maxOps, maxThreads, ops);\n\t\t\t\t\t\t\tbreak;\n"
    types = ("RinglabMpmc<RINGLAB_T>", "RinglabSpsc<RINGLAB_T>", "PausingConsumer<RinglabMpmc<RINGLAB_T>>",
             "PausingConsumer<moodycamel::ConcurrentQueue<RINGLAB_T, Traits>>")
    s = n_times(s, old, old + "".join(f"\t\t\t\t\t\tcase {q}:\n\t\t\t\t\t\t\telapsed = runBenchmark<{t}, RINGLAB_T>{args}, "
                                      "maxOps, maxThreads, ops);\n\t\t\t\t\t\t\tbreak;\n" for q, t in zip(ours, types)))
    # the items it moved, whether the consumer's item_rec (no tokens) shares a line with the
    # producer's item, and the line the script reads
    old = "\t\tcounter_t elementsToDequeue = maxOps * (nthreads - 1);\n\t\tstd::vector<SimpleThread> threads(nthreads);\n"
    s = n_times(s, old, old + "\t\tringlab_items_per_run = elementsToDequeue;\n"
                "\t\tringlab_item_lines_shared = ((std::uintptr_t)&item >> 6) == ((std::uintptr_t)&item_rec >> 6);\n")
    old = "pretty(opsPerSecond), pretty(opsst));\n"
    return n_times(s, old, old + '\t\t\t\t\tstd::printf("ringlab-row\\t%s\\t%d\\t%d\\t%llu\\t%d\\t%.17g\\n", QUEUE_NAMES[queue], useTokens, '
                   "nthreads, (unsigned long long)ringlab_items_per_run, ringlab_item_lines_shared, "
                   "safe_divide((double)ringlab_items_per_run * consideredCount, time / 1000.0));\n")


def port_vendored_boost(build):
    """The program's own boost.lockfree (2013) names std::allocator<T>::rebind, gone in C++20:
    the same type through std::allocator_traits (3 places, nothing else changed)."""
    found = 0
    for name in ("detail/parameter.hpp", "queue.hpp"):
        path = os.path.join(build, "benchmarks", "boost", "lockfree", name)
        with open(path) as f:
            text, n = re.subn(r"typename (\w+)::template rebind<(\w+)>::other",
                              r"typename std::allocator_traits<\1>::template rebind_alloc<\2>", f.read())
        with open(path, "w") as f:
            f.write(text)
        found += n
    if found != 3:
        fail(f"benchmarks/boost/lockfree: allocator rebind found {found} times, not 3 (not v1.0.3?)")


def build_program(upstream, build, capacity):
    """The patched program for each element type; its TBB as its makefile builds it."""
    for sub in ("benchmarks", "tests"):
        shutil.copytree(os.path.join(upstream, sub), os.path.join(build, sub))
    for header in ("concurrentqueue.h", "blockingconcurrentqueue.h", "lightweightsemaphore.h"):
        shutil.copy(os.path.join(upstream, header), build)
    with open(os.path.join(upstream, "benchmarks", "benchmarks.cpp")) as f:
        source = patched(f.read())
    with open(os.path.join(build, "benchmarks", "benchmarks.cpp"), "w") as f:
        f.write(source)
    shutil.copy(os.path.join(HERE, "ringlab_in_concurrentqueue.hpp"), os.path.join(build, "benchmarks"))
    port_vendored_boost(build)
    tbb = [f"benchmarks/tbb/{name}.cpp" for name in
           ("cache_aligned_allocator", "concurrent_monitor", "concurrent_queue", "dynamic_link", "tbb_misc")]
    r = subprocess.run(["nice", "g++", "-std=c++11", "-O2", "-DNDEBUG", "-D__TBB_BUILD=1", "-Ibenchmarks", "-c", *tbb],
                       cwd=build, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"building the program's TBB failed:\n{r.stderr[-2000:]}")
    subprocess.run(["ar", "-rc", "libtbb.a", *(os.path.basename(t)[:-4] + ".o" for t in tbb)], cwd=build, check=True)
    programs = {}
    for element, size in ELEMENTS:
        exe = os.path.join(build, f"benchmarks-{size}")
        r = subprocess.run(["nice", "g++", "-std=c++20", "-Wall", "-Wpedantic", "-pthread", "-O2", "-g", "-DNDEBUG",
                            f"-DRINGLAB_T={element}", f"-DRINGLAB_CAPACITY={capacity}", "-Ibenchmarks", f"-I{ROOT}/include",
                            "benchmarks/cpuid.cpp", "tests/common/simplethread.cpp", "tests/common/systemtime.cpp",
                            "benchmarks/benchmarks.cpp", "-o", exe, "-L.", "-ltbb", "-lrt"],
                           cwd=build, capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"building benchmarks/benchmarks.cpp failed:\n{r.stderr[-3000:]}")
        programs[size] = exe
    return programs


def run_program(exe, build, precise):
    """One run of `--run mpsc`: {(queue, tokens): (printed Ops/s, items per run, item lines shared, items/s)} at 2 threads."""
    r = subprocess.run(["flock", LOCK, exe, "--run", "mpsc", *(["--precise"] if precise else [])], cwd=build, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        fail(f"{os.path.basename(exe)} --run mpsc failed: {(r.stdout + r.stderr)[-1000:]}")
    found = {}
    pattern = r"^\s*2\s+threads:.*?Ops/s:\s*([0-9.]+)([kMG]?)\s+Ops/s/t:.*\nringlab-row\t(.+?)\t([01])\t2\t([0-9]+)\t([01])\t(\S+)$"
    for m in re.finditer(pattern, r.stdout, re.M):
        printed = float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]
        found[(m.group(3), int(m.group(4)))] = (printed, int(m.group(5)), int(m.group(6)), float(m.group(7)))
    if not any(k[0] == "ringlab::mpmc_ring" for k in found) or not any(k[0] == "moodycamel::ConcurrentQueue" for k in found):
        fail(f"{os.path.basename(exe)} printed no 2-thread mpsc figures for both queues:\n{r.stdout[-1500:]}")
    return found


def ringlab_native(ringlab, queue, capacity, pin, duration, items=None):
    """ringlab run --native, 1P1C, spin, under the lock: (items/s, items popped, ringlab's disturbed flag);
    with `items`, the author's loop over that many items instead of `duration` seconds."""
    how = ["--loop", "author", "--items", str(items)] if items else ["--duration", str(duration)]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.csv")
        r = subprocess.run(["flock", LOCK, ringlab, "run", "--native", "--queue", queue, "--wait", "spin",
                            "--capacity", str(capacity), "--pin", pin, "--termination", "join",
                            *how, "--out", path], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"ringlab run --native --queue {queue} --pin {pin}: {r.stderr.strip()}")
        with open(path) as f:
            row = next(csv.DictReader(f))
        return float(row["throughput_items_per_s"]), int(row["items_popped"]), row["disturbed"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("upstream", help="a checkout of github.com/cameron314/concurrentqueue (tag v1.0.3)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each instrument, interleaved")
    ap.add_argument("--capacity", type=int, default=1024, help="ringlab's queues' capacity, in the program and in ringlab")
    ap.add_argument("--duration", type=float, default=0.5, help="seconds per ringlab run")
    ap.add_argument("--precise", action="store_true", help="the program's --precise: 100 runs of >= 30 ms, the fastest 8%% kept")
    ap.add_argument("--ringlab", default=os.path.join(ROOT, "build", "src", "ringlab"))
    ap.add_argument("--out", help="default: results/<host>/authors-concurrentqueue.csv")
    a = ap.parse_args()
    started = time.monotonic()  # the wall time, for the provenance
    if not os.path.isfile(os.path.join(a.upstream, "benchmarks", "benchmarks.cpp")):
        fail(f"{a.upstream}: no benchmarks/benchmarks.cpp (a checkout of cameron314/concurrentqueue?)")
    if not os.access(a.ringlab, os.X_OK):
        fail(f"{a.ringlab}: not built (scripts/run builds it)")
    head = subprocess.run(["git", "-C", a.upstream, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    build = tempfile.mkdtemp(prefix="ringlab-cq-")
    rows = []
    try:
        programs = build_program(a.upstream, build, a.capacity)
        started = time.monotonic()
        for run in range(a.runs):
            program_items = None  # the items per run the program chose for moodycamel's queue, 8 B, this round
            for size, exe in programs.items():
                for (name, tokens), (printed, items, shared, value) in run_program(exe, build, a.precise).items():
                    if size == 8 and (name, tokens) == ("moodycamel::ConcurrentQueue", 1):
                        program_items = items
                    queue, compare = NAMES.get((name, tokens), (name, ""))
                    rows.append({"instrument": "author's program", "queue": queue, "placement": "none", "element_bytes": size,
                                 "capacity": a.capacity, "run": run, "printed_items_per_s": printed,
                                 "throughput_items_per_s": round(value), "items_per_run": items, "compare": compare,
                                 "item_lines_shared": "" if tokens else shared})
            for queue, compare in RINGLAB:
                for pin in ("none", "compact"):
                    value, items, disturbed = ringlab_native(a.ringlab, queue, a.capacity, pin, a.duration)
                    rows.append({"instrument": "ringlab --native", "queue": queue, "placement": pin, "element_bytes": 8,
                                 "capacity": a.capacity, "run": run, "printed_items_per_s": value,
                                 "throughput_items_per_s": round(value), "items_per_run": items, "compare": compare,
                                 "disturbed": disturbed})
            for queue, compare in RINGLAB:
                for pin in ("none", "compact"):
                    if compare and program_items:
                        tries = [ringlab_native(a.ringlab, queue, a.capacity, pin, a.duration, program_items)
                                 for _ in range(PROGRAM_RUNS)]
                        kept = sorted((t[0] for t in tries), reverse=True)[:PROGRAM_RUNS // 2]
                        value = len(kept) / sum(1 / v for v in kept)  # N x runs kept / their summed time
                        rows.append({"instrument": "ringlab --native --loop author", "queue": queue, "placement": pin,
                                     "element_bytes": 8, "capacity": a.capacity, "run": run, "printed_items_per_s": value,
                                     "throughput_items_per_s": round(value), "items_per_run": program_items,
                                     "compare": compare, "disturbed": max(t[2] for t in tries),
                                     "runs_items_per_s": ";".join(str(round(t[0])) for t in tries)})
        measured = time.monotonic() - started
    finally:
        shutil.rmtree(build, ignore_errors=True)
    with open(LOCK, "a") as lock:  # host_id runs ringlab for a moment
        fcntl.flock(lock, fcntl.LOCK_EX)
        host = host_id(a.ringlab)
    out = a.out or os.path.join(ROOT, "results", host, "authors-concurrentqueue.csv")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".part"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["instrument", "queue", "placement", "element_bytes", "capacity", "run",
                                          "printed_items_per_s", "throughput_items_per_s", "upstream_commit", "items_per_run",
                                          "compare", "disturbed", "config", "runs_items_per_s", "item_lines_shared"])
        w.writeheader()
        for row in rows:  # config: what the README's table compares on one line
            config = f"{row['element_bytes']} B, {'unpinned' if row['placement'] == 'none' else 'pinned ' + row['placement']}"
            w.writerow({**row, "upstream_commit": head, "config": config})
    os.replace(tmp, out)
    subprocess.run([a.ringlab, "provenance", out, "--command", " ".join(["experiments/authors/concurrentqueue.py", *sys.argv[1:]]),
                    "--wall-s", f"{time.monotonic() - started:.1f}"],
                   check=True)
    summarise([{**r, "queue": f"{r['queue']} [{r['placement']}]"} for r in rows])
    print(f"measured for {measured:.0f} s (waits for the lock included); wrote {out}")


if __name__ == "__main__":
    main()
