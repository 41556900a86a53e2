"""The instrument tables (docs/results/<host>/instruments.md): the same queues measured by
their author's own benchmark program and by `ringlab run --native`, on one machine,
interleaved, from results/HOST/authors-NAME.csv (experiments/authors/NAME.py). A table
shows throughput (throughput_items_per_s) or, for round-trip programs, the round trip
(rtt_mean_ns); its bold row is our queue / the peer's per instrument (the CSV's `compare`
column: ours, theirs; where the program runs none of ours, two of its own), the ratio a
ranking rests on. A `config` column, when there, labels the rows compared on one line.
Under the table, the pair's ratio taken within each round (the two queues measured moments
apart, by the program in one invocation): the VM's phases last longer than a round, so a
ratio within a round shows whether a ranking survives them when the figures do not."""
import csv
from pathlib import Path
from statistics import median

from ringlab_stats import DataError

# atomic_queue's table predates the `compare` column: its pair by the program's names.
OURS, THEIRS = "ringlab::spsc_ring", "OptimistAtomicQueue"  # the latter: its SPSC ring, optimist push/pop
NAMES = {"ringlab::spsc_ring": "spsc_ring", "ringlab::spsc_ring.rigtorp": "spsc_ring.rigtorp",
         "OptimistAtomicQueue": "aq.AtomicQueue.spsc (optimist)", "OptimistAtomicQueueB": "aq.AtomicQueueB.spsc (optimist)",
         "RinglabAq": "ringlab's adapter of aq.AtomicQueue.spsc", "boost::lockfree::spsc_queue": "boost.spsc_queue"}
INSTRUMENTS = ("author's program", "ringlab --native --loop author", "ringlab --native")
METRICS = ("throughput_items_per_s", "rtt_mean_ns")


def load(path):
    """Medians and (lowest, highest) per (config, queue, instrument); the commit, the queues in
    the script's order, the metric, the pair compared and whether configs carry threads."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist (run: experiments/authors/{path.stem.removeprefix('authors-')}.py UPSTREAM)")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    metric = next((m for m in METRICS if rows and m in rows[0]), None)
    if metric is None:
        raise DataError(f"{path}: not an instrument table (no {' or '.join(METRICS)} column)")
    labelled = "config" in rows[0]  # the script's own label of what is compared (its sizes differ per instrument)
    threads = "threads" in rows[0] and not labelled
    values = {}
    for r in rows:
        if r[metric] == "":
            continue
        config = (r["config"],) if labelled else (int(r["element_bytes"]), int(r["capacity"]), r["threads"] if threads else "")
        values.setdefault((config, r["queue"], r["instrument"]), []).append(float(r[metric]))
    pair = {r.get("compare"): r["queue"] for r in rows if r.get("compare") in ("ours", "theirs")}
    ours, theirs = (pair["ours"], pair["theirs"]) if len(pair) == 2 else (OURS, THEIRS)
    queues = list(dict.fromkeys(r["queue"] for r in rows))  # in the order the script wrote them
    # What readerwriterqueue's program says of its passes, if it says: the consumer's share of
    # the items (taken_fraction), and the median of every pass, not the fastest fifth it prints.
    taken, median_pass, lines_shared = {}, {}, {}
    for r in rows:
        where = (r["config"] if labelled else r["element_bytes"], r["queue"])
        if r.get("item_lines_shared") and r[metric]:  # the consumer's variable beside the other side's (the scripts say which)
            lines_shared.setdefault(where, []).append((r["item_lines_shared"] == "1", float(r[metric])))
        if r.get("taken_fraction"):
            taken.setdefault(where, []).append(float(r["taken_fraction"]))
        if r.get("median_pass_items_per_s"):
            median_pass.setdefault(where, []).append(float(r["median_pass_items_per_s"]))
    return ({k: median(v) for k, v in values.items()}, {k: (min(v), max(v)) for k, v in values.items()},
            rows[0]["upstream_commit"][:7], queues, metric, (ours, theirs), "config" if labelled else threads,
            {k: median(v) for k, v in taken.items()}, {k: median(v) for k, v in median_pass.items()},
            paired_ratios(rows, metric, (ours, theirs), labelled, threads), lines_shared)


def paired_ratios(rows, metric, pair, labelled, threads):
    """{(config, instrument): [ours / theirs within each round (run, placement) that has both]}."""
    rounds = {}
    for r in rows:
        if r[metric] == "" or r["queue"] not in pair:
            continue
        config = (r["config"],) if labelled else (int(r["element_bytes"]), int(r["capacity"]), r["threads"] if threads else "")
        where = (config, r["instrument"])
        rounds.setdefault(where, {}).setdefault((r["run"], r.get("placement", "")), {})[r["queue"]] = float(r[metric])
    ours, theirs = pair
    out = {}
    for where, by_round in rounds.items():
        ratios = [q[ours] / q[theirs] for q in by_round.values() if q.get(ours) and q.get(theirs)]
        if ratios:
            out[where] = ratios
    return out


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "—"


def three(x):  # three figures at most, no trailing zeros: 389, 5.31, 0.412
    return f"{x:.3g}"


def cell(metric, v, spread=None):
    if v is None:
        return "—"
    low, high = spread if spread else (v, v)
    if metric == "rtt_mean_ns":
        return f"{three(v / 1e3)} µs ({three(low / 1e3)}–{three(high / 1e3)})"
    return f"{three(v / 1e6)} M items/s ({three(low / 1e6)}–{three(high / 1e6)})"


def instrument_table(path):
    medians, spreads, commit, queues, metric, (ours, theirs), layout, taken, median_pass, paired, lines_shared = load(path)
    what = "round trip" if metric == "rtt_mean_ns" else ""
    if layout == "config":
        head, rule = "| configuration | ", "|---|"
        configs = list(dict.fromkeys(k[0] for k in medians))  # in the script's order
    else:
        head, rule = ("| element | capacity | threads | ", "|---|---|---|") if layout else ("| element | capacity | ", "|---|---|")
        configs = sorted({k[0] for k in medians}, key=lambda c: (-c[0], -c[1], c[2]))
    lines = [f"{head}queue | author's program ({commit}){' ' + what if what else ''} "
             "| ringlab, its loop (`--loop author`) | ringlab --native | --loop author / program | --native / program |",
             # each cell: the median of the runs (lowest–highest)
             f"{rule}---|---|---|---|---|---|"]
    order = sorted(queues, key=lambda q: list(NAMES).index(q) if q in NAMES else len(NAMES))
    for config in configs:
        if layout == "config":
            lead = f"| {config[0]} | "
        else:
            size, cap, threads = config
            lead = f"| {size} B | {cap} | {threads + ' | ' if layout else ''}"
        for queue in order:
            got = {i: medians.get((config, queue, i)) for i in INSTRUMENTS}
            if got["author's program"] is None and got["ringlab --native"] is None:
                continue
            cells = " | ".join(cell(metric, got[i], spreads.get((config, queue, i))) for i in INSTRUMENTS)
            lines.append(f"{lead}{NAMES.get(queue, queue)} | {cells} "
                         f"| {ratio(got['ringlab --native --loop author'], got[INSTRUMENTS[0]])} "
                         f"| {ratio(got['ringlab --native'], got[INSTRUMENTS[0]])} |")
        a = {i: medians.get((config, ours, i)) for i in INSTRUMENTS}
        b = {i: medians.get((config, theirs, i)) for i in INSTRUMENTS}
        ratios = {i: a[i] / b[i] for i in INSTRUMENTS if a[i] and b[i]}
        if not ratios:
            continue
        cells = " | ".join(f"{ratios[i]:.2f}" if i in ratios else "—" for i in INSTRUMENTS)
        differ = f"instruments differ by {max(ratios.values()) / min(ratios.values()):.2f}" if len(ratios) > 1 else ""
        lines.append(f"{lead}**{NAMES.get(ours, ours)} / {strip(NAMES.get(theirs, theirs))}** | {cells} | {differ} | |")
    if taken:
        shares = "; ".join(f"{queue} {share:.0%} ({where})" for (where, queue), share in taken.items())
        lines += ["", "The share of the items the author's program's consumer took inside its timed region (the rest "
                  f"were still in the queue when it stopped), median over runs: {shares}."]
    if median_pass:
        passes = "; ".join(f"{queue} {cell(metric, v).split(' (')[0]} ({where})" for (where, queue), v in median_pass.items())
        lines += ["", "The author's program's median pass (every pass of a run, where its figure is the mean of the "
                  f"fastest fifth), median over runs: {passes}."]
    if lines_shared:
        def split(runs):
            shared = [v for s, v in runs if s]
            apart = [v for s, v in runs if not s]
            medians = ", ".join(f"{what} {cell(metric, median(v)).split(' (')[0]}" for what, v in
                                (("sharing", shared), ("apart", apart)) if v)
            return f"{len(shared)} of {len(runs)} runs ({medians})"
        parts = "; ".join(f"{NAMES.get(queue, queue)} {split(runs)} ({where})" for (where, queue), runs in lines_shared.items())
        lines += ["", "The runs in which the author's program's consumer dequeued into a variable on a cache line "
                  "of a neighbour in its stack frame that the other side uses (which neighbour: the script's docstring; "
                  "whether on one line depends on where the process's stack starts), and the median each way: "
                  f"{parts}."]
    if paired:
        label = f"{NAMES.get(ours, ours)} / {strip(NAMES.get(theirs, theirs))}"
        where = (lambda c: c[0]) if layout == "config" else (lambda c: f"{c[0]} B, {c[1]}{', ' + c[2] if c[2] else ''}")
        def rounds(v):
            return f"{median(v):.2f} ({min(v):.2f}–{max(v):.2f}, {len(v)} round{'s' if len(v) != 1 else ''})"
        order = sorted(paired.items(), key=lambda kv: (str(kv[0][0]), INSTRUMENTS.index(kv[0][1])
                                                       if kv[0][1] in INSTRUMENTS else len(INSTRUMENTS)))
        parts = "; ".join(f"{instrument}, {where(config)}: {rounds(v)}" for (config, instrument), v in order)
        lines += ["", f"{label} within each round (the two queues measured moments apart; by the author's program, "
                  f"in one invocation), median (lowest–highest): {parts}."]
    return "\n".join(lines)


def strip(name):  # the pair's label names the queue, not how it was driven
    return name.removesuffix(" (optimist)")
