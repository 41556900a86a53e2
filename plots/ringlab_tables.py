"""Tables for the result pages computed from a results CSV (plots/update_readme.py):

ranking_table: every queue of an experiment ordered by closed-loop throughput, with CPU
per item, p99 latency at the open-loop rate, and both figures as ratios to one queue
(medians of valid, undisturbed rows; one payload size, and the rows matching `where`).
detection_table: the crash suite, per transport and fault: how fast the conductor and
the survivor noticed (medians), how the survivor knew, and the outcomes of every run.
campaign_table: a kill campaign, per transport and fault: kills, how many the survivor
learnt of by itself and how fast (median, p99), recovered, items lost and doubled, hung,
and in how many runs the transport's declared guarantee held.
"""
import math

import pandas as pd

import ringlab_stats as stats
import ringlab_style as style


def _median(frame, column):
    values = frame[column].dropna()
    return float(values.median()) if len(values) else math.nan


def _ratio(value, base):
    return f"{value / base:.3g}" if math.isfinite(value) and math.isfinite(base) and base else "n/a"


def ranking_table(csv_path, base, payload, where=None):
    rows = stats.load_results(csv_path).rows
    for column in where or {}:
        if column not in rows.columns:
            raise stats.DataError(f"{csv_path}: no column '{column}'")
    rows = stats.select(rows[rows["payload_bytes"].astype(str) == str(payload)], where)
    closed, opened = rows[rows["offered_rate_items_per_s"] == 0], rows[rows["offered_rate_items_per_s"] > 0]
    if closed.empty or base not in set(closed["queue"]):
        raise stats.DataError(f"{csv_path}: no closed-loop row of {base} at {payload} B")
    table = []
    for queue, group in closed.groupby("queue"):
        lat = opened[opened["queue"] == queue]
        table.append((queue, group["scope"].iloc[0], _median(group, "throughput_items_per_s"),
                      _median(group, "cpu_ns_per_item"), _median(lat, "lat_p99_ns") if len(lat) else math.nan,
                      stats.censored(lat, "lat_p99_ns") or stats.at_floor(lat, "lat_p99_ns")))
    table.sort(key=lambda r: -r[2])
    base_row = next(r for r in table if r[0] == base)
    rate = style.prose_value("offered_rate_items_per_s", float(opened["offered_rate_items_per_s"].iloc[0])) \
        if len(opened) else "n/a"
    lines = [f"| queue | scope | throughput | CPU per item | p99 latency at {rate} | throughput / {base} "
             f"| p99 / {base} |", "|---|---|---:|---:|---:|---:|---:|"]
    for queue, scope, thr, cpu, p99, lower_bound in table:
        # A censored p99 is a lower bound, one at the machine's floor no queue's own: neither
        # is put in a ratio (a censored one is written "≥ X").
        p99_ratio = "not ranked" if lower_bound or base_row[5] else _ratio(p99, base_row[4])
        lower_bound = lower_bound and stats.censored(opened[opened["queue"] == queue], "lat_p99_ns")
        lines.append(f"| `{queue}` | {scope} | {style.prose_value('throughput_items_per_s', thr)} "
                     f"| {style.prose_value('cpu_ns_per_item', cpu)} "
                     f"| {'≥ ' if lower_bound else ''}{style.prose_value('lat_p99_ns', p99)} "
                     f"| {_ratio(thr, base_row[2])} | {p99_ratio} |")
    return "\n".join(lines)


def detection_table(csv_path):
    try:
        frame = pd.read_csv(csv_path, keep_default_na=False, na_values=[""], low_memory=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise stats.DataError(f"{csv_path}: cannot read: {e}") from None
    for column in ("fault", "detect_ns", "survivor_detect_ns", "detected_by", "outcome"):
        if column not in frame.columns:
            raise stats.DataError(f"{csv_path}: no column '{column}' (not a crash-suite CSV?)")
    frame = frame[frame["fault"] != "none"]
    # Several wait strategies in one CSV: each its own row (a parked survivor looks less often).
    by_wait = "wait" in frame.columns and frame["wait"].nunique() > 1
    keys = ["queue", "wait", "fault"] if by_wait else ["queue", "fault"]
    lines = ["| transport | killed | conductor noticed (pidfd) | survivor noticed | slowest survivor | how the survivor knew | outcomes |",
             "|---|---|---:|---:|---:|---|---|"]
    for key, group in sorted(frame.groupby(keys), key=lambda kv: kv[0]):
        queue, fault = key[0], key[-1]
        told = group[group["survivor_detect_ns"].notna()]
        how = "never (stopped after the grace second)"
        if len(told):
            how = str(told["detected_by"].iloc[0]).split("; ", 1)[-1].split(": ", 1)[-1].split(":")[0]
        untold = len(group) - len(told)
        if len(told) and untold:
            how += f" ({untold} of {len(group)} never)"
        outcomes = ", ".join(f"{n} {o}" for o, n in group["outcome"].fillna("not reached").value_counts().items())
        name = f"`{queue}` ({key[1]})" if by_wait else f"`{queue}`"
        slowest = style.prose_value('survivor_detect_ns', told['survivor_detect_ns'].max()) if len(told) else 'never'
        lines.append(f"| {name} | {fault.removeprefix('kill-')} "
                     f"| {style.prose_value('detect_ns', _median(group, 'detect_ns'))} "
                     f"| {style.prose_value('survivor_detect_ns', _median(told, 'survivor_detect_ns')) if len(told) else 'never'} "
                     f"| {slowest} | {how} | {outcomes} |")
    return "\n".join(lines)


def _held(row):
    """Whether a campaign row kept the guarantee its transport declares (None: not known)."""
    if pd.isna(row["items_lost"]) or pd.isna(row["items_doubled"]):
        return None
    if row["crash_guarantee"] == "exactly-once":
        return row["items_lost"] == 0 and row["items_doubled"] == 0
    if row["crash_guarantee"] == "at-most-once":
        return row["items_doubled"] == 0 and row["items_lost"] <= 1
    return None


def campaign_table(csv_path):
    try:
        frame = pd.read_csv(csv_path, keep_default_na=False, na_values=[""], low_memory=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise stats.DataError(f"{csv_path}: cannot read: {e}") from None
    for column in ("fault", "survivor_detect_ns", "outcome", "items_lost", "items_doubled", "crash_guarantee", "valid"):
        if column not in frame.columns:
            raise stats.DataError(f"{csv_path}: no column '{column}' (not a kill campaign's CSV?)")
    frame = frame[frame["fault"].isin(["kill-producer", "kill-consumer", "kill-producer-carry-on", "kill-consumer-carry-on"])]
    # Several shapes: each its own row (with two producers, the consumers learn of one's
    # death only when they next wait: the other keeps them busy).
    if {"producers", "consumers"} <= set(frame.columns) and len(frame.groupby(["producers", "consumers"])) > 1:
        frame = frame.assign(shape=frame["producers"].astype(str) + "P" + frame["consumers"].astype(str) + "C")
    else:
        frame = frame.assign(shape="")
    lines = ["| transport | killed | kills | survivor knew | survivor p50 / p99 | recovered | items lost | items doubled "
             "| hung | declared | held in | valid |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for (queue, shape, fault), group in sorted(frame.groupby(["queue", "shape", "fault"]), key=lambda kv: kv[0]):
        told = group["survivor_detect_ns"].dropna()
        held = [h for h in (_held(r) for _, r in group.iterrows()) if h is not None]
        timing = (f"{style.prose_value('survivor_detect_ns', float(told.median()))} / "
                  f"{style.prose_value('survivor_detect_ns', float(told.quantile(0.99)))}") if len(told) else "never"
        lines.append(f"| `{queue}`{' ' + shape if shape else ''} | {fault.removeprefix('kill-')} | {len(group)} | {len(told)} | {timing} "
                     f"| {int((group['outcome'] == 'recovered').sum())} | {int(group['items_lost'].fillna(0).sum())} "
                     f"| {int(group['items_doubled'].fillna(0).sum())} | {int((group['outcome'] == 'hung').sum())} "
                     f"| {group['crash_guarantee'].dropna().iloc[0] if group['crash_guarantee'].notna().any() else '-'} "
                     f"| {sum(held)} of {len(held)} | {int(group['valid'].sum())} |")
    return "\n".join(lines)
