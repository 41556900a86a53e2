"""The parts of experiments/<name>.toml that the plot and claim scripts use: name,
noisy_spread, the [[plot]] and [[claim]] tables -- read, checked key by key (a typo
is an error, not a silently ignored setting) and returned as plain dataclasses.
Also: where an experiment's file lives, and the check that the CSV has the columns
a plot or claim needs, whose message names the CSV, the column, the user and the TOML.
"""
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ringlab_stats import DEFAULT_NOISY_SPREAD, EFFICIENCY, DataError

REPO_ROOT = Path(__file__).resolve().parent.parent
PLOT_KEYS = {"name", "x", "y", "series", "facet", "where", "logx", "logy", "kind", "title", "xlabel", "ylabel"}
CLAIM_KEYS = {"statement", "per", "where", "source"}
PLOT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")  # it becomes part of a file name


@dataclass
class PlotSpec:
    name: str
    x: str
    y: str                     # one metric; see `metrics` for a plot of several

    series: str = None
    facet: str = None
    where: dict = field(default_factory=dict)
    logx: bool = None          # None: decide from the data
    logy: bool = None
    kind: str = "line"
    title: str = None
    xlabel: str = None
    ylabel: str = None
    metrics: list = field(default_factory=list)  # y = [a, b]: one panel per metric, side by side


@dataclass
class ClaimSpec:
    statement: str
    per: list = field(default_factory=list)
    where: dict = field(default_factory=dict)
    source: str = ""


@dataclass
class Experiment:
    path: str
    name: str
    description: str
    noisy_spread: float
    plots: list
    claims: list


def shown(path):
    """A path as the user would type it: relative to the working directory when inside it."""
    path = Path(path)
    try:
        return os.path.relpath(path) if path.is_absolute() and Path.cwd() in path.parents else str(path)
    except (OSError, ValueError):
        return str(path)


def locate(results, override):
    """The TOML to use: --experiment, else experiments/<the CSV's experiment>.toml."""
    if override:
        return override
    names = results.rows["experiment"].dropna().unique() if "experiment" in results.rows.columns else []
    if len(names) != 1:
        what = "no 'experiment' column" if len(names) == 0 else f"several experiments ({', '.join(map(str, names))})"
        raise DataError(f"{results.path}: {what}; pass --experiment FILE.toml")
    path = REPO_ROOT / "experiments" / f"{names[0]}.toml"
    if not path.is_file():
        raise DataError(f"{results.path}: no {shown(path)} for its experiment '{names[0]}'; pass --experiment FILE.toml")
    return shown(path)


def load(path):
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise DataError(f"{path}: not valid TOML: {e}") from None
    noisy = doc.get("noisy_spread", DEFAULT_NOISY_SPREAD)
    if not isinstance(noisy, (int, float)) or isinstance(noisy, bool) or noisy < 0:
        raise DataError(f"{path}: noisy_spread must be a non-negative number, not {noisy!r}")
    plots = [plot_spec(path, i, t) for i, t in enumerate(tables(path, doc, "plot"))]
    claims = [claim_spec(path, i, t) for i, t in enumerate(tables(path, doc, "claim"))]
    seen = set()
    for p in plots:
        if p.name in seen:
            raise DataError(f"{path}: two plots named '{p.name}'")
        seen.add(p.name)
    name = doc.get("name", Path(path).stem)
    return Experiment(str(path), str(name), str(doc.get("description", "")), float(noisy), plots, claims)


def tables(path, doc, key):
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise DataError(f"{path}: '{key}' must be an array of tables ([[{key}]])")
    return value


def check_keys(path, what, table, known):
    for key in table:
        if key not in known:
            raise DataError(f"{path}: {what}: unknown key '{key}' (known: {', '.join(sorted(known))})")


def text_field(path, what, table, key, required=False):
    value = table.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise DataError(f"{path}: {what}: '{key}' must be a non-empty string")
    return value


def where_field(path, what, table):
    where = table.get("where", {})
    if not isinstance(where, dict):
        raise DataError(f"{path}: {what}: 'where' must be a table of column = value or [values]")
    for col, v in where.items():
        items = v if isinstance(v, list) else [v]
        if not items or not all(isinstance(i, (str, int, float, bool)) for i in items):
            raise DataError(f"{path}: {what}: where.{col} must be a value or a list of values")
    return where


def plot_spec(path, index, t):
    what = f"plot '{t['name']}'" if isinstance(t.get("name"), str) else f"plot #{index + 1}"
    check_keys(path, what, t, PLOT_KEYS)
    name = text_field(path, what, t, "name", required=True)
    if not PLOT_NAME.match(name):
        raise DataError(f"{path}: {what}: the name may hold only letters, digits, '.', '_' and '-'")
    for key in ("logx", "logy"):
        if key in t and not isinstance(t[key], bool):
            raise DataError(f"{path}: {what}: '{key}' must be true or false")
    if t.get("kind", "line") not in ("line", "bar"):
        raise DataError(f"{path}: {what}: kind must be \"line\" or \"bar\", not {t['kind']!r}")
    metrics = []
    if isinstance(t.get("y"), list):  # several metrics: one panel each
        metrics = t["y"]
        if len(metrics) < 2 or not all(isinstance(m, str) and m for m in metrics):
            raise DataError(f"{path}: {what}: 'y' must be a column or a list of two or more columns")
        if "facet" in t:
            raise DataError(f"{path}: {what}: a plot of several metrics cannot also have a facet")
        t = {**t, "y": metrics[0]}
    texts = {k: text_field(path, what, t, k, required=k in ("x", "y"))
             for k in ("x", "y", "series", "facet", "title", "xlabel", "ylabel")}
    where = where_field(path, what, t)
    if EFFICIENCY in (metrics or [texts["y"]]) and "mode" in (texts["x"], texts["series"], texts["facet"], *where):
        # Each efficiency is a harness point over its native partner: mode is already used up.
        raise DataError(f"{path}: {what}: y = {EFFICIENCY} pairs mode=harness with mode=native points, "
                        "so 'mode' cannot be its x, series, facet or where")
    return PlotSpec(name=name, where=where, logx=t.get("logx"), logy=t.get("logy"),
                    kind=t.get("kind", "line"), metrics=metrics, **texts)


def claim_spec(path, index, t):
    what = f"claim #{index + 1}"
    check_keys(path, what, t, CLAIM_KEYS)
    statement = text_field(path, what, t, "statement", required=True)
    per = t.get("per", [])
    if not isinstance(per, list) or not all(isinstance(c, str) and c for c in per):
        raise DataError(f"{path}: claim '{statement}': 'per' must be a list of column names")
    source = t.get("source", "")
    if not isinstance(source, str):
        raise DataError(f"{path}: claim '{statement}': 'source' must be a string")
    return ClaimSpec(statement, per, where_field(path, f"claim '{statement}'", t), source)


def require_columns(results, columns, user, toml_path):
    """Fail naming the first column `user` needs that the CSV lacks."""
    for col in columns:
        if col and col not in results.rows.columns:
            raise DataError(f"{results.path}: no column '{col}' (needed by {user} in {toml_path})")
