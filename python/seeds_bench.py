#!/usr/bin/python3
"""One measured point of the seeds' own Python mechanisms (../shared/seeds): the baseline
ringlab's C++ queues grew from. `ringlab run --queue py.*` runs this script
(src/peers/python_seeds.cpp) and turns what it prints into an ordinary CSV row.

Mechanisms, used the way the seed articles use them:
  queue           threads and queue.Queue(maxsize=capacity)
  mp_queue        processes and multiprocessing.Queue(capacity)
  joinable_queue  processes and multiprocessing.JoinableQueue(capacity) (task_done / join)
  pipe            processes and a one-way multiprocessing.Pipe, bounded by a
                  multiprocessing.Semaphore(capacity) that a producer takes before each
                  send and a consumer gives back after each recv, as in the seed

The measurement follows the C++ harness (src/harness/sides.hpp, run.cpp): an item is
(producer, sequence, due time, enqueue time, payload bytes); the payload starts with the
item's own 8-byte tag and goes on with a fixed pattern, and the consumer checks both.
Open loop: producer p's item s is due at t0 + (s * P + p) / rate and latency is dequeue
minus due (no coordinated omission; items due in the window but never sent by the stop
count as lower bounds); service latency is dequeue minus the actual enqueue. Closed loop
(rate 0): as fast as put() allows. Times are time.monotonic_ns(), CLOCK_MONOTONIC, the
same clock in every process of the host. Every item is checked: exactly once (count and
a mixed sum per producer, as src/harness/validation.hpp) and per-producer order.
Termination: sentinel = one pill (None) per consumer once every producer is done (the
second seed article); join = task_done per item and join() by the conductor, which marks
the end; pills then release the consumers still blocked in get() so they can report
(the article makes them daemons and lets them die instead).

Output: "key value" lines on stdout, then the latency samples as "lat N" / "svc N" lines
(ns); nothing else. An error is one line on stderr and a non-zero exit.
Standard library only; run with Debian's /usr/bin/python3.
"""
import argparse
import ctypes
import fcntl
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import resource
import sys
import threading
import time
import types

now = time.monotonic_ns
GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1
SAMPLES_CAP = 200_000          # latency samples kept over all sides, at most
START_MARGIN_NS = 20_000_000   # from "everyone ready" to t0: Python wakes slowly
READY_TIMEOUT_S = 30
NEVER = 1 << 62                # the stop of an items run
PIPE_ATOMIC = 4096             # PIPE_BUF: a write up to this size is never interleaved


class Refused(Exception):
    """What the caller asked cannot be run: one line on stderr, exit 2."""


def mix64(s):
    """The harness's bijective mix (src/harness/validation.hpp), for exactly-once sums."""
    x = ((s + 1) * GOLDEN) & MASK64
    return x ^ (x >> 29)


def tag_of(p, s):
    return ((p << 48) | s).to_bytes(8, "little")


def pattern_tail(payload):
    # The rest of the payload after the tag: the pattern the C++ items carry (i * 131 + 7).
    return bytes((i * 131 + 7) & 0xFF for i in range(8, payload))


def pin(pu):
    """Bind the calling thread (a thread side) or process (a process side) to one PU."""
    if pu >= 0:
        try:
            os.sched_setaffinity(0, {pu})
        except OSError as e:
            raise RuntimeError("cannot pin to PU %d: %s" % (pu, e.strerror)) from None


def current_pu():
    """The PU the calling thread last ran on (/proc .../stat field 39), or -1."""
    try:
        with open("/proc/thread-self/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[36])
    except (OSError, IndexError, ValueError):
        return -1


def precise_sleeps():
    # A sleep may overshoot by the timer slack (50 us by default): pacing an open loop
    # wants it small. Per thread; best effort.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(29, 1, 0, 0, 0)  # PR_SET_TIMERSLACK, 1 ns
    except (OSError, AttributeError):
        pass


def die_with_parent():
    # A process side dies with the script's main process (PR_SET_PDEATHSIG, SIGKILL), as
    # the main process dies with ringlab: nothing is left behind if either is killed.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)
    except (OSError, AttributeError):
        pass


# --- Mechanisms: put / get / task_done for the sides, pill / join for the conductor ---

class ThreadQueue:
    """Seed 1, "Queue": threads and queue.Queue(maxsize)."""
    scope = "thread"
    has_join = True

    def __init__(self, a, ctx):
        self.q = queue.Queue(maxsize=a.capacity)
        self.put, self.get, self.task_done, self.join = self.q.put, self.q.get, self.q.task_done, self.q.join


class ProcessQueue:
    """Seed 1, "消息队列" / seed 2 part 2: processes and multiprocessing.Queue(maxsize)."""
    scope = "process"
    has_join = False

    def __init__(self, a, ctx):
        self.q = ctx.Queue(a.capacity)
        self.put, self.get, self.task_done = self.q.put, self.q.get, None


class ProcessJoinableQueue:
    """Seed 2 part 3: processes and multiprocessing.JoinableQueue(maxsize), task_done/join."""
    scope = "process"
    has_join = True

    def __init__(self, a, ctx):
        self.q = ctx.JoinableQueue(a.capacity)
        self.put, self.get, self.task_done, self.join = self.q.put, self.q.get, self.q.task_done, self.q.join


class SemaphorePipe:
    """Seed 1, "管道": a pipe bounded by a semaphore of `capacity` free slots. One-way
    (duplex=False: a kernel pipe; the seed's default duplex Pipe is a socket pair), so
    that several producers may send without a lock: a message is one write() of at most
    PIPE_BUF bytes, which the kernel never interleaves. Several consumers take a lock
    around recv() (a message is read in two parts). The pipe buffer is grown to hold
    `capacity` messages where the kernel allows (fs.pipe-max-size); beyond that the
    kernel's buffer bounds it before the semaphore does."""
    scope = "process"
    has_join = False

    def __init__(self, a, ctx):
        reader, writer = ctx.Pipe(duplex=False)
        slots = ctx.Semaphore(a.capacity)
        read_lock = ctx.Lock() if a.consumers > 1 else None
        message = len(pickle.dumps((a.producers, NEVER, NEVER, NEVER, bytes(a.payload)))) + 4
        if message > PIPE_ATOMIC:
            raise Refused("--payload %d: a pipe message of %d bytes would exceed PIPE_BUF" % (a.payload, message))
        try:
            with open("/proc/sys/fs/pipe-max-size") as f:
                most = int(f.read())
            want = min(most, (a.capacity + a.consumers) * message)
            if want > 65536:
                fcntl.fcntl(writer.fileno(), fcntl.F_SETPIPE_SZ, want)
        except (OSError, ValueError, AttributeError):
            pass  # the default 64 KiB then
        acquire, send, recv, release = slots.acquire, writer.send, reader.recv, slots.release

        def put(item):
            acquire()
            send(item)

        if read_lock is None:
            def get():
                item = recv()
                release()
                return item
        else:
            def get():
                with read_lock:
                    item = recv()
                release()
                return item
        self.put, self.get, self.task_done = put, get, None
        self.keep = (reader, writer)  # both ends stay open in every side


MECHANISMS = {"queue": ThreadQueue, "mp_queue": ProcessQueue, "joinable_queue": ProcessJoinableQueue,
              "pipe": SemaphorePipe}


# --- The sides ---

class Usage:
    """CPU time and context switches of a side: its thread (thread sides) or its whole
    process, feeder threads included (process sides)."""

    def __init__(self, who):
        self.who = who
        self.start = resource.getrusage(who)

    def finish(self):
        end = resource.getrusage(self.who)
        cpu = (end.ru_utime + end.ru_stime) - (self.start.ru_utime + self.start.ru_stime)
        return {"cpu_ns": int(cpu * 1e9), "vcsw": end.ru_nvcsw - self.start.ru_nvcsw,
                "ivcsw": end.ru_nivcsw - self.start.ru_nivcsw}


def await_start(env):
    env.ready.release()
    env.go.wait()
    t0 = env.t0.value
    delay = t0 - now()
    if delay > 0:
        time.sleep(delay / 1e9)
    return t0


def producer_side(env, p):
    a = env.args
    pin(a.producer_pus[p])
    open_loop = a.rate > 0
    if open_loop:
        precise_sleeps()
    put = env.mech.put
    P = a.producers
    quota = a.items // P + (1 if p < a.items % P else 0) if a.items else NEVER
    tail = pattern_tail(a.payload)
    fault = env.fault if p == 0 else None
    fault_seq = 3 if fault else -1
    ns_per_item = 1e9 / a.rate if open_loop else 0.0
    t0 = await_start(env)
    usage = Usage(env.rusage_who)
    measure_start = t0 + int(a.warmup * 1e9)
    stop = measure_start + int(a.duration * 1e9) if not a.items else NEVER
    s = 0
    t = t0
    while s < quota:
        if open_loop:
            due = t0 + int((s * P + p) * ns_per_item)
            if due >= stop:
                break
            t = now()
            if t >= stop:
                break
            if t < due:
                time.sleep((due - t) / 1e9)
                t = now()
        else:
            t = now()
            if t >= stop:
                break
            due = t
        if s == fault_seq:
            if fault == "duplicate":
                put((p, s, due, t, tag_of(p, s) + tail))
            elif fault == "corrupt":
                put((p, s, due, t, tag_of(p, s + 1) + tail))  # another item's tag
                s += 1
                continue
            if fault == "drop":
                s += 1
                continue
        put((p, s, due, t, tag_of(p, s) + tail))
        s += 1
    last_push = now()
    result = usage.finish()
    # Open loop: the items due in the window but never sent (an overloaded producer is
    # behind its schedule) have waited at least stop - due (lower bounds).
    censored, every = [], 1
    if open_loop and not a.items and a.latency:
        beyond = int(((stop - t0) / ns_per_item - p) / P) + 1  # no sequence from here on is due before the stop
        every = a.sample_floor
        while (beyond - s) / every > SAMPLES_CAP // (P + a.consumers):
            every *= 2
        seq = -(-s // every) * every
        while True:
            due = t0 + int((seq * P + p) * ns_per_item)
            if due >= stop:
                break
            if due >= measure_start:
                censored.append((seq, stop - due))
            seq += every
    result.update(pushed=s, last_push=last_push, pu=current_pu(), censored=censored, every=every, end=now())
    return result


def consumer_side(env, c):
    a = env.args
    pin(a.consumer_pus[c])
    get, task_done = env.mech.get, env.mech.task_done if a.termination == "join" else None
    P = a.producers
    payload = a.payload
    tail = pattern_tail(payload)
    open_loop = a.rate > 0
    record = a.latency
    cap = max(1, SAMPLES_CAP // (P + a.consumers))
    counts, sums, last = [0] * P, [0] * P, [-1] * P
    disorder = [0] * P
    first_disorder = [-1] * P
    corrupt = torn = popped = in_window = 0
    samples = []
    every = a.sample_floor
    mask = every - 1
    t0 = await_start(env)
    usage = Usage(env.rusage_who)
    measure_start = t0 + int(a.warmup * 1e9)
    stop = measure_start + int(a.duration * 1e9) if not a.items else NEVER
    last_pop = 0
    if env.fault == "stall" and c == 0:  # negative control: a consumer that stops taking
        get()
        time.sleep(3600)
    while True:
        item = get()
        t = now()
        if item is None:
            if task_done:
                task_done()
            break
        popped += 1
        try:
            p, s, due, enq, body = item
            if not 0 <= p < P:
                raise ValueError
        except (TypeError, ValueError):
            corrupt += 1
            if task_done:
                task_done()
            continue
        counts[p] += 1
        x = ((s + 1) * GOLDEN) & MASK64
        sums[p] += x ^ (x >> 29)
        if s > last[p]:
            last[p] = s
        else:
            if not disorder[p]:
                first_disorder[p] = s
            disorder[p] += 1
        if len(body) != payload or body[:8] != tag_of(p, s) or not body.endswith(tail):
            torn += 1
        if measure_start <= t < stop:
            in_window += 1
        last_pop = t
        if record and not s & mask:
            lat = t - due if due >= measure_start and (not open_loop or due < stop) else -1
            svc = t - enq if measure_start <= enq < stop else -1
            if lat >= 0 or svc >= 0:
                samples.append((s, lat, svc))
                if len(samples) > cap:  # keep every other one: still spread over the window
                    every *= 2
                    mask = every - 1
                    samples = [x for x in samples if not x[0] & mask]
        if task_done:
            task_done()
    end = now()
    result = usage.finish()
    result.update(counts=counts, sums=[x & MASK64 for x in sums], disorder=disorder, first_disorder=first_disorder,
                  corrupt=corrupt, torn=torn, popped=popped, in_window=in_window, last_pop=last_pop,
                  samples=samples, every=every, pu=current_pu(), end=end)
    return result


def side_process(env, body, index, results):
    """A process side: its result, or its error, goes back through its own pipe."""
    die_with_parent()
    try:
        out = body(env, index)
    except Exception as e:  # reported by the conductor as the side's error
        out = {"error": str(e) or type(e).__name__}
    results.send(out)
    results.close()


# --- The conductor ---

class Lost(Exception):
    """The run cannot finish: a side died or stalled. The row is invalid, for this reason."""


def parse_pus(text, n, option):
    if not text:
        return [-1] * n
    try:
        pus = [int(x) for x in text.split(",")]
    except ValueError:
        raise Refused("%s %s: must be a comma-separated list of PU numbers (-1: not bound)" % (option, text))
    if len(pus) != n:
        raise Refused("%s %s: %d PUs for %d sides" % (option, text, len(pus), n))
    return pus


def run(a, fault):
    mech_class = MECHANISMS[a.mechanism]
    if a.termination == "join" and not mech_class.has_join:
        raise Refused("--termination join: %s has no task_done/join (use joinable_queue or queue, or sentinel)"
                      % a.mechanism)
    threads = mech_class.scope == "thread"
    ctx = multiprocessing.get_context("fork")
    mech = mech_class(a, ctx)
    env = types.SimpleNamespace(args=a, mech=mech, fault=fault)
    if threads:
        env.ready, env.go, env.t0 = threading.Semaphore(0), threading.Event(), types.SimpleNamespace(value=0)
        env.rusage_who = resource.RUSAGE_THREAD
    else:
        env.ready, env.go, env.t0 = ctx.Semaphore(0), ctx.Event(), ctx.RawValue("q", 0)
        env.rusage_who = resource.RUSAGE_SELF
    # Sides: producers first, then consumers.
    sides = [("producer %d" % p, producer_side, p) for p in range(a.producers)] + \
            [("consumer %d" % c, consumer_side, c) for c in range(a.consumers)]
    handles = []
    for who, body, index in sides:
        if threads:
            box = {}

            def thread_body(body=body, index=index, box=box):
                try:
                    box["result"] = body(env, index)
                except Exception as e:
                    box["result"] = {"error": str(e) or type(e).__name__}
            h = threading.Thread(target=thread_body, name=who, daemon=True)
            h.box = box
        else:
            reader, writer = ctx.Pipe(duplex=False)
            h = ctx.Process(target=side_process, args=(env, body, index, writer), name=who, daemon=True)
            h.results, h.writer = reader, writer
        h.who = who
        h.start()
        if not threads:
            writer.close()  # the side holds it: EOF when the side dies
        handles.append(h)
    producers, consumers = handles[:a.producers], handles[a.producers:]

    def collect(h, deadline):
        """A side's result by the deadline, or Lost."""
        if threads:
            h.join(max(0.0, (deadline - now()) / 1e9))
            if h.is_alive():
                raise Lost("%s did not finish within %g s of the end (items lost or a side stuck); stopped"
                           % (h.who, a.drain_timeout))
            out = h.box.get("result", {"error": "no result"})
        else:
            if not h.results.poll(max(0.0, (deadline - now()) / 1e9)):
                raise Lost("%s did not finish within %g s of the end (items lost or a side stuck); stopped"
                           % (h.who, a.drain_timeout))
            try:
                out = h.results.recv()
            except EOFError:
                h.join(1)
                code = h.exitcode
                how = "killed by signal %d" % -code if code is not None and code < 0 else "exited with status %s" % code
                raise Lost("%s process %s" % (h.who, how)) from None
        if "error" in out:
            raise RuntimeError("%s: %s" % (h.who, out["error"]))
        if not threads:
            # A process side is done when it has exited: multiprocessing.Queue's feeder
            # thread writes the last items only then, and a pill must not overtake them.
            h.join(max(0.0, (deadline - now()) / 1e9))
            if h.is_alive():
                raise Lost("%s did not exit within %g s of the end (its feeder thread stuck?); stopped"
                           % (h.who, a.drain_timeout))
        return out

    try:
        deadline = now() + READY_TIMEOUT_S * 1_000_000_000
        ready = 0
        while ready < len(sides):
            if env.ready.acquire(timeout=0.05):
                ready += 1
                continue
            for h in handles:
                if not h.is_alive():
                    collect(h, now())  # its error, or how it died
                    raise Lost("%s left before the start" % h.who)
            if now() > deadline:
                raise Lost("the sides did not start within %d s" % READY_TIMEOUT_S)
        clock_read_ns = measure_clock_read()
        t0 = now() + START_MARGIN_NS
        env.t0.value = t0
        env.go.set()
        measure_start = t0 + int(a.warmup * 1e9)
        stop = measure_start + int(a.duration * 1e9) if not a.items else NEVER
        if not a.items:
            while now() < stop:
                time.sleep(max(0.0, (stop - now()) / 1e9))
        drain = int(a.drain_timeout * 1e9)
        producer_deadline = now() + (drain if not a.items else 3600 * 1_000_000_000)
        made = [collect(h, producer_deadline) for h in producers]
        join_at = None
        # The end: join (task_done counting) then release, or one pill per consumer. Done
        # in a helper thread, so a stuck put or join is noticed by the deadline.
        finish_deadline = now() + drain
        finished = {}

        def finish():
            if a.termination == "join":
                mech.join()
                finished["join_at"] = now()
            for _ in range(a.consumers):
                mech.put(None)
            finished["done"] = True
        helper = threading.Thread(target=finish, daemon=True)
        helper.start()
        helper.join(max(0.0, (finish_deadline - now()) / 1e9))
        if "done" not in finished:
            raise Lost("the %s did not complete within %g s of the end (items lost or a side stuck); stopped"
                       % ("join" if a.termination == "join" and "join_at" not in finished else "pills", a.drain_timeout))
        join_at = finished.get("join_at")
        got = [collect(h, finish_deadline) for h in consumers]
    except Lost as e:
        for h in handles:
            if not threads and h.is_alive():
                h.kill()
        return {"valid": 0, "validation_error": str(e)}
    for h in handles:
        if not threads:
            h.join(5)
            if h.is_alive():
                h.kill()
    return analyse(a, made, got, clock_read_ns, measure_start, stop, join_at)


def measure_clock_read():
    n = 20000
    start = time.perf_counter_ns()
    for _ in range(n):
        now()
    return (time.perf_counter_ns() - start) / n


def analyse(a, made, got, clock_read_ns, measure_start, stop, join_at):
    P = a.producers
    out = {}
    problems = []
    total_corrupt = sum(c["corrupt"] for c in got)
    total_torn = sum(c["torn"] for c in got)
    for p in range(P):
        n = made[p]["pushed"]
        count = sum(c["counts"][p] for c in got)
        mixed = sum(c["sums"][p] for c in got) & MASK64
        disorder = sum(c["disorder"][p] for c in got)
        if count < n:
            problems.append("producer %d: %d of %d items never arrived" % (p, n - count, n))
        elif count > n:
            problems.append("producer %d: %d items arrived more than once" % (p, count - n))
        elif mixed != sum(map(mix64, range(n))) & MASK64:
            problems.append("producer %d: right count but wrong items (some lost, others duplicated)" % p)
        if disorder:
            first = next(c["first_disorder"][p] for c in got if c["disorder"][p])
            problems.append("producer %d: %d items out of order (first: sequence %d arrived late)" % (p, disorder, first))
    if total_corrupt:
        problems.append("%d items carried no valid producer" % total_corrupt)
    if total_torn:
        problems.append("%d payload bodies were not their own tag and pattern" % total_torn)
    text = "; ".join(problems[:4]) + ("; and %d more" % (len(problems) - 4) if len(problems) > 4 else "")
    out["valid"] = 0 if problems else 1
    out["validation_error"] = text
    out["items_pushed"] = sum(m["pushed"] for m in made)
    out["items_popped"] = sum(c["popped"] for c in got)
    out["warmup_s"] = a.warmup
    in_window = sum(c["in_window"] for c in got)
    if a.items:
        # The window ends with the last item (join: when join() returned), not the pills.
        end = join_at if join_at is not None else max(c["last_pop"] for c in got)
        measured_ns = max(0, end - measure_start)
    else:
        measured_ns = stop - measure_start
    out["measured_s"] = measured_ns / 1e9
    out["window_items"] = in_window
    out["throughput_items_per_s"] = in_window / (measured_ns / 1e9) if measured_ns > 0 else float("nan")
    out["producer_cpu_ns"] = sum(m["cpu_ns"] for m in made)
    out["consumer_cpu_ns"] = sum(c["cpu_ns"] for c in got)
    out["voluntary_switches"] = sum(s["vcsw"] for s in made + got)
    out["involuntary_switches"] = sum(s["ivcsw"] for s in made + got)
    last_push = max(m["last_push"] for m in made)
    last_exit = max(c["end"] for c in got)
    out["drain_ns"] = max(0, last_exit - last_push)
    out["clock_read_ns"] = clock_read_ns
    out["producer_pus"] = ";".join(str(m["pu"]) for m in made)
    out["consumer_pus"] = ";".join(str(c["pu"]) for c in got)
    lat, svc, censored = [], [], 0
    if a.latency:
        every = max([m["every"] for m in made] + [c["every"] for c in got])
        mask = every - 1
        for c in got:
            for s, l, v in c["samples"]:
                if not s & mask:
                    if l >= 0:
                        lat.append(l)
                    if v >= 0:
                        svc.append(v)
        for m in made:
            for s, l in m["censored"]:
                if not s & mask:
                    lat.append(l)
                    censored += 1
        out["sample_every"] = every
    else:
        out["sample_every"] = 0
    out["lat_censored"] = censored
    out["lat"] = lat
    out["svc"] = svc
    return out


def report(out):
    lines = []
    for key in ("valid", "validation_error", "items_pushed", "items_popped", "warmup_s", "measured_s", "window_items",
                "throughput_items_per_s", "producer_cpu_ns", "consumer_cpu_ns", "voluntary_switches",
                "involuntary_switches", "drain_ns", "clock_read_ns", "sample_every", "lat_censored", "producer_pus",
                "consumer_pus"):
        if key in out:
            value = out[key]
            if key == "validation_error":
                value = " ".join(str(value).split())  # one line
                if not value:
                    continue
            lines.append("%s %s" % (key, value))
    lines.extend("lat %d" % v for v in out.get("lat", ()))
    lines.extend("svc %d" % v for v in out.get("svc", ()))
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        raise Refused(message)


def main():
    ap = OneLineParser(description="One point of a seed mechanism (see the module docstring).")
    ap.add_argument("--mechanism", required=True, choices=sorted(MECHANISMS))
    ap.add_argument("--producers", type=int, default=1)
    ap.add_argument("--consumers", type=int, default=1)
    ap.add_argument("--capacity", type=int, default=1024)
    ap.add_argument("--payload", type=int, default=8)
    ap.add_argument("--rate", type=float, default=0.0, help="items/s over all producers; 0: closed loop")
    ap.add_argument("--warmup", type=float, default=0.0)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--items", type=int, default=0, help="total items instead of a duration")
    ap.add_argument("--termination", choices=["sentinel", "join"], default="sentinel")
    ap.add_argument("--producer-pus", default="")
    ap.add_argument("--consumer-pus", default="")
    ap.add_argument("--latency", type=int, choices=[0, 1], default=1)
    ap.add_argument("--sample-floor", type=int, default=1, help="keep every k-th item's latency at least (power of 2)")
    ap.add_argument("--drain-timeout", type=float, default=10.0)
    a = ap.parse_args()
    if a.producers < 1 or a.consumers < 1:
        raise Refused("--producers %d --consumers %d: need at least one of each" % (a.producers, a.consumers))
    if a.capacity < 1:
        raise Refused("--capacity %d: must be at least 1" % a.capacity)
    if a.payload < 8:
        raise Refused("--payload %d: must be at least 8 bytes (the tag)" % a.payload)
    if a.rate < 0 or a.warmup < 0 or a.drain_timeout <= 0 or (not a.items and a.duration <= 0) or a.items < 0:
        raise Refused("--rate, --warmup, --duration, --items and --drain-timeout must not be negative")
    if a.items and a.items < a.producers:
        raise Refused("--items %d: fewer items than producers (%d)" % (a.items, a.producers))
    if a.sample_floor < 1 or a.sample_floor & (a.sample_floor - 1):
        raise Refused("--sample-floor %d: must be a power of two" % a.sample_floor)
    a.producer_pus = parse_pus(a.producer_pus, a.producers, "--producer-pus")
    a.consumer_pus = parse_pus(a.consumer_pus, a.consumers, "--consumer-pus")
    # Negative controls for the tests (not an option): make producer 0 lose, repeat or
    # damage one item, or consumer 0 stop taking items, so that the delivery check and
    # the drain time-out are seen to fail.
    fault = os.environ.get("RINGLAB_PY_SEEDS_FAULT") or None
    if fault not in (None, "drop", "duplicate", "corrupt", "stall"):
        raise Refused("RINGLAB_PY_SEEDS_FAULT=%s: must be drop, duplicate, corrupt or stall" % fault)
    report(run(a, fault))


if __name__ == "__main__":
    try:
        main()
    except Refused as e:
        sys.stderr.write("seeds_bench.py: %s\n" % e)
        sys.stdout.flush()
        os._exit(2)
    except Exception as e:  # anything else: one line, not a traceback
        sys.stderr.write("seeds_bench.py: error: %s\n" % (" ".join(str(e).split()) or type(e).__name__))
        os._exit(1)
    sys.stdout.flush()
    os._exit(0)  # daemon sides stuck in a blocking call must not hold the exit
