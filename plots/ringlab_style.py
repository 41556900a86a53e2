"""How ringlab figures look: one colour per queue in every figure, ours solid and
peers dashed, and axis labels that say the unit the values were scaled to.

Every plot script imports this, so a queue keeps its colour from figure to figure
and paper to paper. Families share a hue (spsc_ring and its ablations are blues,
mpmc_ring greens, the mutex rings reds, moodycamel orange, atomic_queue olive/brown);
a name not listed gets a colour from a hash of the name (hashlib, not hash(), which
Python salts per process), so it too is the same in every figure.
"""
import colorsys
import hashlib
import math
import re

OUR_COLORS = {
    "mutex_ring": "#d62728",
    "mutex_ring.std": "#e6550d",
    "mutex_ring.plain": "#ff9896",
    "two_lock_ring": "#a50f15",
    "semaphore_ring": "#9467bd",
    "handoff_slot": "#8c564b",
    "spsc_ring": "#1f77b4",
    "spsc_ring.gap": "#3182bd",
    "spsc_ring.fastforward": "#9ecae1",
    "spsc_ring.rigtorp": "#4a6fa5",
    "spsc_ring.lamport": "#6baed6",
    "spsc_ring.uncached": "#08306b",
    "spsc_ring.unpadded": "#17becf",
    "mpmc_ring": "#2ca02c",
    "mpmc_ring.padded": "#98df8a",
    "textbook_mutex_queue": "#7f7f7f",
    "floor.pingpong": "#c7c7c7",   # the yardsticks: greys
    "floor.line_ring": "#a0a0a0",
}
PEER_COLORS = {
    "moodycamel": "#ff7f0e",
    "moodycamel.blocking": "#ffbb78",
    "aq.AtomicQueue": "#bcbd22",
    "aq.AtomicQueue.spsc": "#dbdb8d",
    "aq.AtomicQueueB": "#637939",
    "aq.AtomicQueueB.spsc": "#b5cf6b",
    "aq.AtomicQueue2": "#8c6d31",
    "aq.AtomicQueue2.spsc": "#e7ba52",
    "aq.AtomicQueueB2": "#843c39",
    "aq.AtomicQueueB2.spsc": "#e7969c",
    "boost.spsc_queue": "#e377c2",
    "boost.queue": "#7b4173",
    "tbb.concurrent_bounded_queue": "#393b79",
    "rwq.ReaderWriterQueue": "#000000",
    "rwq.BlockingReaderWriterCircularBuffer": "#525252",
}
PEER_PREFIXES = ("aq.", "boost.", "tbb.", "rwq.", "moodycamel")
# Legend order: ours, then peers, each as listed above; unknown names last, sorted.
KNOWN_ORDER = {name: i for i, name in enumerate([*OUR_COLORS, *PEER_COLORS])}
NEUTRAL = "#333333"  # a figure with one unnamed series
CYCLE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def is_peer(name):
    return str(name).startswith(PEER_PREFIXES)


def queue_color(name):
    name = str(name)
    if name in OUR_COLORS:
        return OUR_COLORS[name]
    if name in PEER_COLORS:
        return PEER_COLORS[name]
    digest = hashlib.sha256(name.encode()).digest()
    hue = digest[0] / 256 + digest[1] / 65536
    r, g, b = colorsys.hsv_to_rgb(hue, 0.55 + digest[2] / 1024, 0.55 + digest[3] / 1024)
    return "#%02x%02x%02x" % (round(r * 255), round(g * 255), round(b * 255))


def line_style(name):
    return "--" if is_peer(name) else "-"


def marker(name):
    return "s" if is_peer(name) else "o"


def queue_order(name):
    """Sort key that puts queues in the palette's order (ours first)."""
    return (KNOWN_ORDER.get(str(name), len(KNOWN_ORDER)), str(name))


def series_color(column, value, index):
    """Queues keep their palette colour; any other series column cycles by position."""
    return queue_color(value) if column == "queue" else CYCLE[index % len(CYCLE)]


# --- labels and units -------------------------------------------------------------

TIME_UNITS = [(1.0, "ns"), (1e3, "µs"), (1e6, "ms"), (1e9, "s")]  # factors in ns
RATE_UNITS = [(1.0, "items/s"), (1e3, "k items/s"), (1e6, "M items/s"), (1e9, "G items/s")]
BYTE_UNITS = [(1.0, "B"), (1024.0, "KiB"), (1024.0**2, "MiB"), (1024.0**3, "GiB")]
TIME_SUFFIXES = {"_ns": 1.0, "_us": 1e3, "_ms": 1e6, "_s": 1e9}  # how many ns one unit is
STEM_NAMES = {
    "throughput": "throughput", "offered_rate": "offered rate", "cpu": "CPU time",
    "producer_cpu": "producer CPU time", "consumer_cpu": "consumer CPU time", "drain": "drain time",
    "payload": "payload", "measured": "measured time", "duration": "duration", "warmup": "warm-up",
    "clock_read": "clock read", "probe_before": "probe before", "probe_after": "probe after",
    "foreign_busy": "foreign busy", "steal": "steal time",
}
PLAIN_NAMES = {"capacity": "capacity (items)", "producers": "producers", "consumers": "consumers",
               "queue": "queue", "wait": "wait strategy", "pin": "pinning", "termination": "termination",
               "pattern": "pattern", "mode": "mode", "scope": "scope",
               "harness_efficiency": "harness efficiency (harness / native)"}   # a ratio: never scaled
LATENCY = re.compile(r"^(lat|service)_(p\d+|max|mean)$")


def percentile_name(code):
    """p50 -> p50, p999 -> p99.9, p9999 -> p99.99 (the CSV drops the decimal point)."""
    digits = code[1:]
    return "p" + (digits if len(digits) <= 2 else digits[:2] + "." + digits[2:])


def stem_name(stem):
    m = LATENCY.match(stem)
    if m:
        what = "latency" if m.group(1) == "lat" else "service time"
        return f"{m.group(2) if m.group(2) in ('max', 'mean') else percentile_name(m.group(2))} {what}"
    return STEM_NAMES.get(stem, stem.replace("_", " "))


def pick(units, magnitude):
    """The largest unit not bigger than the magnitude (the first for 0 or NaN)."""
    chosen = units[0]
    for factor, name in units:
        if math.isfinite(magnitude) and abs(magnitude) >= factor:
            chosen = (factor, name)
    return chosen


def split_unit(column):
    """(stem, unit suffix) of a column whose values carry a unit, else (column, '')."""
    for suffix in ("_items_per_s", "_ns_per_item", "_bytes", "_fraction", *TIME_SUFFIXES):
        if column.endswith(suffix) and len(column) > len(suffix):
            return column[:-len(suffix)], suffix
    return column, ""


def value_unit(column, magnitude=float("nan")):
    """(unit, divisor): a value / divisor reads in `unit`, chosen so that `magnitude` (a
    typical value) reads well; ('', 1.0) for counts, names and ratios."""
    suffix = split_unit(column)[1]
    if suffix == "_items_per_s":
        factor, unit = pick(RATE_UNITS, magnitude)
        return unit, factor
    if suffix == "_ns_per_item":
        factor, unit = pick(TIME_UNITS, magnitude)
        return f"{unit}/item", factor
    if suffix == "_bytes":
        factor, unit = pick(BYTE_UNITS, magnitude)
        return unit, factor
    if suffix == "_fraction":
        return "%", 0.01
    if suffix:
        ns = TIME_SUFFIXES[suffix]
        factor, unit = pick(TIME_UNITS, magnitude * ns)
        return unit, factor / ns
    return "", 1.0


def axis_unit(column, magnitude=float("nan")):
    """(label, divisor) for a column: plotted values are value / divisor and the label
    names the unit, chosen so that `magnitude` (a typical value) reads well."""
    if column in PLAIN_NAMES:
        return PLAIN_NAMES[column], 1.0
    stem, suffix = split_unit(column)
    if not suffix:
        return stem_name(column), 1.0
    unit, divisor = value_unit(column, magnitude)
    return f"{stem_name(stem)} ({unit})", divisor


def prose_value(column, value):
    """A measured value for a sentence: 3 significant digits in the unit that reads best
    ('312 M items/s', '118 ns', '3.4 µs'; whole numbers from 1000 up, never 1e+03;
    a whole count without a unit as it is)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if not value_unit(column)[0] and float(value).is_integer():
        return str(int(value))        # a count (capacity 1024) as it is
    rounded = float(f"{value:.3g}")   # first, so 999.7 ns becomes 1 µs rather than 1e+03 ns
    unit, divisor = value_unit(column, rounded)
    scaled = rounded / divisor
    digits = f"{scaled:.3g}" if abs(scaled) < 1000 else f"{scaled:.0f}"
    return digits + ("" if not unit else unit if unit == "%" else " " + unit)


def three_digits(value):
    """A ratio in a table: 3 significant digits, zeros kept (3.00, 0.300, 37.7, 120); n/a for NaN."""
    return "n/a" if not math.isfinite(value) else f"{value:#.3g}".rstrip(".")


def format_number(value):
    """Compact, stable text for a number in labels and tables."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}" if isinstance(value, float) else str(value)
