"""Drawing a [[plot]]'s points as a matplotlib figure, the same bytes every time.

Byte-for-byte reproducible because: the Agg backend; matplotlib's built-in defaults
(rcdefaults, so no user matplotlibrc leaks in) plus the fixed RC below (DejaVu Sans,
which matplotlib ships, and a fixed SVG hash salt); a figure size and dpi computed
only from the number of facets, footer lines and legend; no dates or software
versions in the files' metadata (PNG Software, PDF Creator/Producer/CreationDate,
SVG Creator/Date are removed); and nothing drawn that depends on anything but the
CSV and the TOML (the footer's date is the data's, not today's).

Medians are markers joined by lines (bars for kind = "bar"), the 95% intervals are
whiskers, noisy points are hollow; colours and dashes come from ringlab_style.
A latency figure whose rows carry the machine's floor (the noise guard's floor_p50_ns
and floor_p99_ns) shades it as a band per panel and rings each point whose interval
reaches down to it: "at the machine's floor", not to be ranked against another. A
latency percentile whose censored samples reach into its tail (ringlab_stats.censored)
gets an arrow up: a lower bound.
"""
import math
import os
import re
import statistics
import tempfile
import textwrap
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullLocator  # noqa: E402

import ringlab_style as style  # noqa: E402
from ringlab_points import ordered  # noqa: E402
from ringlab_stats import text  # noqa: E402

RC = {"font.family": "DejaVu Sans", "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 9,
      "legend.fontsize": 8, "svg.hashsalt": "ringlab", "pdf.fonttype": 42, "axes.grid": True,
      "grid.color": "#e6e6e6", "grid.linewidth": 0.6, "axes.axisbelow": True}
matplotlib.rcdefaults()
matplotlib.rcParams.update(RC)

DPI = 150
PANEL_W, PANEL_H, LEGEND_W, TITLE_H, LINE_H, MIN_W = 4.6, 3.2, 2.4, 0.3, 0.16, 6.4   # inches
LEGEND_ENTRY_H = 0.19  # inches per legend entry at the figure's font size
FOOTER_CHARS_PER_IN = 19   # 6.5 pt DejaVu Sans, with room to spare
METADATA = {"png": {"Software": None},
            "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
            "svg": {"Creator": None, "Date": None}}
MAX_TICKS = 12        # up to this many distinct x values get a tick each
LATENCY_Y = re.compile(r"^(lat|rtt)_(p\d+|max|mean)_ns$")   # what the machine's floor bounds from below
FLOOR_COLOR, FLOOR_EDGE = "#d9d9d9", "#555555"
AT_FLOOR = "at the machine's floor"
CENSORED = "≥: censored, a lower bound"


@dataclass
class Scales:
    xlabel: str
    xdiv: float
    logx: bool
    categorical: bool     # x as evenly spaced categories (bars, or text x values)
    ylabel: str
    ydiv: float
    logy: bool
    hidden: int = 0       # points a log axis cannot show (a value <= 0)


def finite(values):
    return [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def wide(values):
    """True when the values are all positive and span more than 100x (then log scale)."""
    return len(values) >= 2 and min(values) > 0 and max(values) / min(values) > 100


def magnitude(values, log):
    values = [abs(v) for v in values if v]
    if not values:
        return math.nan
    return math.sqrt(min(values) * max(values)) if log else max(values)


def label(column, custom, values, log):
    """The axis label (custom name + the unit chosen for the data) and the divisor."""
    derived, div = style.axis_unit(column, magnitude(values, log))
    if custom:
        unit = derived[derived.rfind(" ("):] if derived.endswith(")") and " (" in derived else ""
        return custom + unit, div
    return derived, div


def scales(spec, points):
    ys = finite(p.y.median for p in points)
    logy = spec.logy if spec.logy is not None else wide(ys)
    ylabel, ydiv = label(spec.y, spec.ylabel, ys, logy)
    xs = finite(p.x for p in points)
    categorical = spec.kind == "bar" or len(xs) < len(points)
    hidden = sum(1 for p in points if logy and not p.y.median > 0)
    if categorical:
        return Scales(label(spec.x, spec.xlabel, [], False)[0], 1.0, False, True, ylabel, ydiv, logy, hidden)
    logx = spec.logx if spec.logx is not None else wide(xs)
    xlabel, xdiv = label(spec.x, spec.xlabel, xs, logx)
    hidden = sum(1 for p in points if (logy and not p.y.median > 0) or (logx and not p.x > 0))
    return Scales(xlabel, xdiv, logx, False, ylabel, ydiv, logy, hidden)


def whiskers(est, div):
    """[[below], [above]] the median, in plotted units; 0 where there is no interval."""
    low = (est.median - est.ci_low) / div if math.isfinite(est.ci_low) else 0.0
    high = (est.ci_high - est.median) / div if math.isfinite(est.ci_high) else 0.0
    return [[max(low, 0.0)], [max(high, 0.0)]]


class Painter:
    """Colours and styles for one figure: by series value, else by the point's queue."""

    def __init__(self, spec, points):
        self.spec = spec
        self.at_floor = set()   # the points ringed as at the machine's floor (mark_floor)
        self.series = ordered(points, "series", spec.series) if spec.series is not None else []
        self.index = {text(s): i for i, s in enumerate(self.series)}

    def name(self, p):
        """The queue name that decides colour and dashes, when there is one."""
        return p.series if self.spec.series == "queue" else p.queue

    def color(self, p):
        if self.spec.series is not None:
            return style.series_color(self.spec.series, p.series, self.index[text(p.series)])
        return style.queue_color(p.queue) if p.queue is not None else style.NEUTRAL

    def peer(self, p):
        return self.spec.series in ("queue", None) and p.queue is not None and style.is_peer(self.name(p))


def draw_lines(ax, points, painter, sc, categories):
    position = (lambda p: categories.index(text(p.x))) if sc.categorical else (lambda p: float(p.x) / sc.xdiv)
    groups = {}
    for p in points:
        groups.setdefault(text(p.series), []).append(p)
    for group in groups.values():
        group = sorted(group, key=position)
        color, ls, mk = painter.color(group[0]), "--" if painter.peer(group[0]) else "-", marker(painter, group[0])
        xs = [position(p) for p in group]
        ys = [p.y.median / sc.ydiv for p in group]
        ax.plot(xs, ys, color=color, linestyle=ls, linewidth=1.3, zorder=2)
        for p, x, y in zip(group, xs, ys):
            xerr = whiskers(p.x_est, sc.xdiv) if p.x_est is not None else None
            ax.errorbar([x], [y], yerr=whiskers(p.y, sc.ydiv), xerr=xerr, fmt="none", ecolor=color,
                        elinewidth=0.9, capsize=2.5, zorder=2)
            face = "white" if p.y.noisy else color
            ax.plot([x], [y], linestyle="none", marker=mk, markersize=5, markerfacecolor=face,
                    markeredgecolor=color, markeredgewidth=1.2, zorder=3)
            if p.point in painter.at_floor:
                ring(ax, x, y)
            if p.censored:
                lower_bound(ax, x, y)


def marker(painter, p):
    return "s" if painter.peer(p) else "o"


def draw_bars(ax, points, painter, sc, categories):
    # Series side by side within a category; one slot when the series is the category.
    grouped = painter.spec.series is not None and painter.spec.series != painter.spec.x
    slots = max(1, len(painter.series)) if grouped else 1
    width = 0.8 / slots
    for p in points:
        slot = painter.index.get(text(p.series), 0) if grouped else 0
        x = categories.index(text(p.x)) + (slot - (slots - 1) / 2) * width
        color = painter.color(p)
        ax.bar([x], [p.y.median / sc.ydiv], width * 0.9, yerr=whiskers(p.y, sc.ydiv), capsize=2.5,
               color="white" if p.y.noisy else color, edgecolor=color, linewidth=1.0,
               hatch="////" if painter.peer(p) else None, error_kw={"elinewidth": 0.9, "ecolor": "#333333"},
               zorder=2)
        if p.point in painter.at_floor:
            ring(ax, x, p.y.median / sc.ydiv)
        if p.censored:
            lower_bound(ax, x, p.y.median / sc.ydiv)


def floor_band(spec, points):
    """(p50, p99) in ns of the machine's floor under a latency panel: the medians of its
    rows' floor_p50_ns and floor_p99_ns; None for another metric or rows without a floor."""
    low = [v for p in points for v in p.floor_p50]
    high = [v for p in points for v in p.floor_p99]
    if not LATENCY_Y.match(spec.y) or not low or not high:
        return None
    return statistics.median(low), statistics.median(high)


def at_floor(p, band):
    """True when the point's interval (its median without one) reaches the floor's p99."""
    lowest = p.y.ci_low if math.isfinite(p.y.ci_low) else p.y.median
    return band is not None and lowest <= band[1]


def mark_floor(spec, points, painter, sc):
    """The panel's floor band (or None), its points at the floor noted in the painter."""
    band = floor_band(spec, points)
    if band is None or (sc.logy and not band[0] > 0):
        return None
    painter.at_floor |= {p.point for p in points if at_floor(p, band)}
    return band


def shade_floor(ax, band, sc):
    if band is not None:
        ax.axhspan(band[0] / sc.ydiv, band[1] / sc.ydiv, facecolor=FLOOR_COLOR, edgecolor="none", alpha=0.6, zorder=1,
                   gid="machine-floor")


def ring(ax, x, y):
    ax.plot([x], [y], linestyle="none", marker="o", markersize=10, markerfacecolor="none", markeredgecolor=FLOOR_EDGE,
            markeredgewidth=0.9, zorder=4, gid="at-floor")


def lower_bound(ax, x, y):
    """An arrow up from a censored point: the true value is at least this, never ranked."""
    ax.plot([x], [y], linestyle="none", marker=6, markersize=9, color=FLOOR_EDGE, zorder=4, gid="censored")


def censored_handles(points):
    return [Line2D([], [], linestyle="none", marker=6, markersize=9, color=FLOOR_EDGE, label=CENSORED)] \
        if any(p.censored for p in points) else []


def floor_handles(banded, ringed):
    """Legend entries for the floor band and the ring, when the figure has them."""
    handles = [Patch(facecolor=FLOOR_COLOR, edgecolor="none", alpha=0.6, label="machine's floor (p50-p99)")] if banded else []
    if ringed:
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=10, markerfacecolor="none",
                              markeredgecolor=FLOOR_EDGE, markeredgewidth=0.9, label=AT_FLOOR))
    return handles


def legend_handles(spec, painter, points, noisy_spread):
    handles = []
    for s in painter.series:
        p = next(q for q in points if text(q.series) == text(s))
        color = painter.color(p)
        if spec.kind == "bar":
            handles.append(Patch(facecolor=color, edgecolor=color, hatch="////" if painter.peer(p) else None,
                                 label=text(s)))
        else:
            handles.append(Line2D([], [], color=color, linestyle="--" if painter.peer(p) else "-",
                                  marker=marker(painter, p), markersize=5, label=text(s)))
    if any(p.y.noisy for p in points):
        what = f"noisy (spread > {noisy_spread:.0%})"
        handles.append(Patch(facecolor="white", edgecolor="#555555", label=what) if spec.kind == "bar" else
                       Line2D([], [], linestyle="none", marker="o", markersize=5, markerfacecolor="white",
                              markeredgecolor="#555555", label=what))
    return handles


def draw(spec, points, sc, title, footer, noisy_spread):
    """The figure: one panel per facet value (up to three a row), legend at the right,
    `footer` lines (text) at the bottom."""
    facets = ordered(points, "facet", spec.facet)
    categories = [text(v) for v in ordered(points, "x", spec.x)] if sc.categorical else []
    painter = Painter(spec, points)
    bands = {text(f): mark_floor(spec, [p for p in points if text(p.facet) == text(f)], painter, sc) for f in facets}
    handles = legend_handles(spec, painter, points, noisy_spread)
    handles += floor_handles(any(b is not None for b in bands.values()), bool(painter.at_floor))
    handles += censored_handles(points)
    ncols = min(len(facets), 3)
    nrows = math.ceil(len(facets) / ncols)
    width = max(MIN_W, PANEL_W * ncols + (LEGEND_W if handles else 0))
    footer = [part for line in footer for part in textwrap.wrap(line, int(width * FOOTER_CHARS_PER_IN))]
    footer_h = LINE_H * len(footer) + 0.1
    legend_h = LEGEND_ENTRY_H * len(handles) + 0.8  # a long legend must not run into the footer
    height = TITLE_H + max(PANEL_H * nrows, legend_h) + footer_h
    fig = Figure(figsize=(width, height), dpi=DPI)
    # Shared axes: panels compare at a glance, and a sparse panel keeps the full x range.
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, facet in zip(axes, facets):
        mine = [p for p in points if text(p.facet) == text(facet)]
        shade_floor(ax, bands[text(facet)], sc)
        (draw_bars if spec.kind == "bar" else draw_lines)(ax, mine, painter, sc, categories)
        decorate(ax, spec, sc, categories, points)
        if spec.facet is not None:
            ax.set_title(f"{spec.facet} = {text(facet)}")
    if spec.kind == "bar" and sc.logy:
        # Bars stand on 0, which a log axis cannot show: matplotlib then picks a bottom
        # that can hide the smallest bars. Start below the lowest whisker instead.
        lows = [min(p.y.median, p.y.ci_low if math.isfinite(p.y.ci_low) else p.y.median) / sc.ydiv for p in points]
        lows = [v for v in lows if v > 0]
        if lows:
            axes[0].set_ylim(bottom=min(lows) / 2)
    for i, ax in enumerate(axes):
        if i >= len(facets):
            ax.set_visible(False)
        elif i + ncols >= len(facets):  # the lowest panel in its column: it gets the x axis' labels
            ax.set_xlabel(sc.xlabel)
            ax.tick_params(labelbottom=True)
    for ax in axes[::ncols]:
        ax.set_ylabel(sc.ylabel)
    if handles:
        axes[ncols - 1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    # Over the whole figure, not one panel: a long title beside the legend would be cut.
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / height, va="top")
    for i, line in enumerate(reversed(footer)):
        fig.text(0.01, (0.05 + i * LINE_H) / height, line, fontsize=6.5, color="#555555", ha="left", va="bottom")
    fig.tight_layout(rect=(0, footer_h / height, 1, 1 - TITLE_H / height))
    return fig


def draw_metrics(panels, title, footer, noisy_spread):
    """Several metrics of one plot side by side: `panels` is a list of (spec, points,
    scales), one per metric, each with its own y axis; legend and footer shared."""
    spec0, points0, _ = panels[0]
    painter = Painter(spec0, points0)
    handles = legend_handles(spec0, painter, [p for _, pts, _ in panels for p in pts], noisy_spread)
    painters = [Painter(spec, pts) for spec, pts, _ in panels]
    bands = [mark_floor(spec, pts, pa, sc) for (spec, pts, sc), pa in zip(panels, painters)]
    handles += floor_handles(any(b is not None for b in bands), any(pa.at_floor for pa in painters))
    handles += censored_handles([p for _, pts, _ in panels for p in pts])
    ncols = len(panels)
    width = max(MIN_W, PANEL_W * ncols + (LEGEND_W if handles else 0))
    footer = [part for line in footer for part in textwrap.wrap(line, int(width * FOOTER_CHARS_PER_IN))]
    footer_h = LINE_H * len(footer) + 0.1
    height = TITLE_H + PANEL_H + footer_h
    fig = Figure(figsize=(width, height), dpi=DPI)
    axes = fig.subplots(1, ncols, squeeze=False).ravel()
    for ax, (spec, pts, sc), pa, band in zip(axes, panels, painters, bands):
        categories = [text(v) for v in ordered(pts, "x", spec.x)] if sc.categorical else []
        shade_floor(ax, band, sc)
        (draw_bars if spec.kind == "bar" else draw_lines)(ax, pts, pa, sc, categories)
        decorate(ax, spec, sc, categories, pts)
        ax.set_xlabel(sc.xlabel)
        ax.set_ylabel(sc.ylabel)
    if handles:
        axes[-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.suptitle(title, fontsize=10, y=1 - 0.08 / height, va="top")
    for i, line in enumerate(reversed(footer)):
        fig.text(0.01, (0.05 + i * LINE_H) / height, line, fontsize=6.5, color="#555555", ha="left", va="bottom")
    fig.tight_layout(rect=(0, footer_h / height, 1, 1 - TITLE_H / height))
    return fig


def decorate(ax, spec, sc, categories, points):
    if sc.logy:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: style.format_number(v)))  # 0.1, 1, 10
    if sc.categorical:
        ax.set_xticks(range(len(categories)))
        long = len(categories) > 4 or any(len(c) > 10 for c in categories)
        ax.set_xticklabels(categories, rotation=30 if long else 0, ha="right" if long else "center")
        ax.set_xlim(-0.6, len(categories) - 0.4)
        return
    if sc.logx:
        ax.set_xscale("log")
    xs = sorted({float(p.x) for p in points if p.x_est is None and (p.x > 0 or not sc.logx)})
    if xs and len(xs) <= MAX_TICKS and all(p.x_est is None for p in points):
        ax.set_xticks([x / sc.xdiv for x in xs])
        ax.set_xticklabels([style.format_number(x / sc.xdiv) for x in xs])
        ax.xaxis.set_minor_locator(NullLocator())


def save(fig, path, fmt):
    """Write through a temporary file in the same directory, then rename: a reader never
    sees half a figure, and an error leaves the previous one in place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=fmt, dpi=DPI, metadata=METADATA.get(fmt, {}))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp's 0600 would hide figures from others
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
