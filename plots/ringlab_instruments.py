"""The instrument tables (README: Why instruments disagree): the same queues measured by
their author's own benchmark program and by `ringlab run --native`, on one machine,
interleaved, from results/HOST/authors-NAME.csv (experiments/authors/NAME.py)."""
import csv
from pathlib import Path
from statistics import median

from ringlab_stats import DataError

OURS = "ringlab::spsc_ring"
THEIRS = "OptimistAtomicQueue"  # atomic_queue's SPSC ring driven by its optimist push/pop
NAMES = {"ringlab::spsc_ring": "spsc_ring", "ringlab::spsc_ring.rigtorp": "spsc_ring.rigtorp",
         "OptimistAtomicQueue": "aq.AtomicQueue.spsc (optimist)", "OptimistAtomicQueueB": "aq.AtomicQueueB.spsc (optimist)",
         "RinglabAq": "ringlab's adapter of aq.AtomicQueue.spsc", "boost::lockfree::spsc_queue": "boost.spsc_queue"}


def load(path):
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist (run: experiments/authors/{path.stem.removeprefix('authors-')}.py UPSTREAM)")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows or "throughput_items_per_s" not in rows[0]:
        raise DataError(f"{path}: not an instrument table (no throughput_items_per_s)")
    medians = {}
    for r in rows:
        key = (int(r["element_bytes"]), int(r["capacity"]), r["queue"], r["instrument"])
        medians.setdefault(key, []).append(float(r["throughput_items_per_s"]))
    queues = list(dict.fromkeys(r["queue"] for r in rows))  # in the order the script wrote them
    return {k: median(v) for k, v in medians.items()}, {k: (min(v), max(v)) for k, v in medians.items()}, \
        rows[0]["upstream_commit"][:7], queues


INSTRUMENTS = ("author's program", "ringlab --native --loop author", "ringlab --native")


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "—"


def mitems(v, spread=None):
    if v is None:
        return "—"
    low, high = spread if spread else (v, v)
    def m(x):  # three figures at most, no trailing zeros: 389, 5.31, 0.412
        return f"{x / 1e6:.3g}"
    return f"{m(v)} M items/s ({m(low)}–{m(high)})"


def instrument_table(path):
    medians, spreads, commit, queues = load(path)
    lines = [f"| element | capacity | queue | author's program ({commit}) | ringlab, its loop (`--loop author`) | ringlab --native "
             "| --loop author / program | --native / program |",
             # each cell: the median of the runs (lowest–highest)
             "|---|---|---|---|---|---|---|---|"]
    configs = sorted({(k[0], k[1]) for k in medians}, key=lambda c: (-c[0], -c[1]))
    for size, cap in configs:
        for queue in sorted(queues, key=lambda q: list(NAMES).index(q) if q in NAMES else len(NAMES)):
            program = medians.get((size, cap, queue, "author's program"))
            loop = medians.get((size, cap, queue, "ringlab --native --loop author"))
            native = medians.get((size, cap, queue, "ringlab --native"))
            if program is None and native is None:
                continue
            cell = {i: mitems(medians.get((size, cap, queue, i)), spreads.get((size, cap, queue, i))) for i in INSTRUMENTS}
            lines.append(f"| {size} B | {cap} | {NAMES.get(queue, queue)} | {' | '.join(cell[i] for i in INSTRUMENTS)} "
                         f"| {ratio(loop, program)} | {ratio(native, program)} |")
        ours = {i: medians.get((size, cap, OURS, i)) for i in INSTRUMENTS}
        theirs = {i: medians.get((size, cap, THEIRS, i)) for i in ours}
        ratios = {i: ours[i] / theirs[i] for i in ours if ours[i] and theirs[i]}
        if not ratios:
            continue
        cells = " | ".join(f"{ratios[i]:.2f}" if i in ratios else "—" for i in INSTRUMENTS)
        differ = f"instruments differ by {max(ratios.values()) / min(ratios.values()):.2f}" if len(ratios) > 1 else ""
        lines.append(f"| {size} B | {cap} | **spsc_ring / aq.AtomicQueue.spsc** | {cells} | {differ} | |")
    return "\n".join(lines)
