#!/usr/bin/python3
"""Writes plot-efficiency.csv and .json beside this file: a small sweep in the new CSV
schema (`pattern`, `mode`, `group`, `disturbance`, `build_id`, no `attempts`) for the
harness-efficiency, disturbed-row and provenance tests. Run it again after changing
the table below.

Points, all capacity 1024, 1P1C, pattern stream, 5 repetitions (values x STEADY, whose
median is exactly 1):
  spsc_ring            wait=spin   harness 300 M/s, native 400 M/s   -> efficiency 0.75
  aq.AtomicQueue.spsc  wait=block  harness 150 M/s, native 300 M/s   -> efficiency 0.5;
                                   plus a 6th, disturbed harness row at 148 M/s (close:
                                   it must not change any verdict)
  rwq.ReaderWriterQueue wait=spin  harness 100 M/s, no native rows    -> no partner; plus
                                   3 disturbed rows (repetitions 5-7) at 300 M/s (far off:
                                   they flip a claim against it)
  moodycamel           wait=spin   harness 200 M/s, native 250 M/s in group spsc-native and
                                   260 M/s in group spsc-native-again -> two partners
Harness rows are in group "spsc", native ones in "spsc-native" (and "-again"). The
provenance is the sessions format: two sessions at different commits; the rows'
`commit` column says which session wrote them (repetitions 0-2 the first).
"""
import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = ("experiment point repetition group queue wait capacity producers consumers payload_bytes "
           "offered_rate_items_per_s pin termination pattern mode duration_s items_requested warmup_s "
           "latency_recorded valid validation_error items_pushed items_popped measured_s throughput_items_per_s "
           "lat_p50_ns lat_p90_ns lat_p99_ns lat_p999_ns lat_p9999_ns lat_max_ns lat_mean_ns "
           "service_p50_ns service_p90_ns service_p99_ns service_p999_ns service_p9999_ns service_max_ns "
           "service_mean_ns rtt_p50_ns rtt_p99_ns rtt_p999_ns rtt_max_ns rtt_mean_ns lat_samples "
           "lat_censored_samples lat_sample_every producer_cpu_ns_per_item consumer_cpu_ns_per_item cpu_ns_per_item "
           "drain_ns producer_pus consumer_pus oversubscribed probe_before_ns probe_after_ns probe_reference_ns "
           "foreign_busy_fraction steal_fraction disturbed disturbance clock_source clock_read_ns host commit "
           "build_id started_utc").split()
STEADY = [0.99, 1.0, 1.01, 0.995, 1.005]
COMMITS = ["1111111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "2222222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]
# (group, queue, wait, mode): M items/s
POINTS = {
    ("spsc", "spsc_ring", "spin", "harness"): 300,
    ("spsc-native", "spsc_ring", "spin", "native"): 400,
    ("spsc", "aq.AtomicQueue.spsc", "block", "harness"): 150,
    ("spsc-native", "aq.AtomicQueue.spsc", "block", "native"): 300,
    ("spsc", "rwq.ReaderWriterQueue", "spin", "harness"): 100,
    ("spsc", "moodycamel", "spin", "harness"): 200,
    ("spsc-native", "moodycamel", "spin", "native"): 250,
    ("spsc-native-again", "moodycamel", "spin", "native"): 260,
}
DISTURBED = [(("spsc", "aq.AtomicQueue.spsc", "block", "harness"), 5, 148),
             *((("spsc", "rwq.ReaderWriterQueue", "spin", "harness"), rep, 300) for rep in (5, 6, 7))]


def row(group, queue, wait, mode, rep, mitems, disturbed=0):
    tput = mitems * 1e6
    items = int(tput * 0.8)
    native = mode == "native"
    r = dict.fromkeys(COLUMNS, "")
    r.update(experiment="plot-efficiency", point=f"group={group} queue={queue} wait={wait} mode={mode}",
             repetition=rep, group=group, queue=queue, wait=wait, capacity=1024, producers=1, consumers=1,
             payload_bytes=8, offered_rate_items_per_s=0, pin="compact", termination="sentinel", pattern="stream",
             mode=mode, duration_s="1.000", warmup_s="0.200", latency_recorded=1, valid=1, items_pushed=items,
             items_popped=items, measured_s="0.8000", throughput_items_per_s=f"{tput:.0f}",
             producer_cpu_ns_per_item=f"{1e9 / tput:.2f}", consumer_cpu_ns_per_item=f"{1e9 / tput:.2f}",
             cpu_ns_per_item=f"{2e9 / tput:.2f}", drain_ns="8000", producer_pus="0", consumer_pus="1",
             oversubscribed=0, probe_before_ns="120.0", probe_after_ns="125.0", probe_reference_ns="118.0",
             foreign_busy_fraction="0.0010", steal_fraction="0.0000", disturbed=disturbed,
             disturbance="probe 300 ns > 1.5 x 118 ns" if disturbed else "", clock_source="tsc",
             clock_read_ns="9.60", host="fixture-host-2pu", commit=COMMITS[rep >= 3][:10],
             build_id=f"build-{rep >= 3}", started_utc=f"2024-06-0{1 + (rep >= 3)}T10:{rep:02d}:00Z")
    if not native:  # the bare loop times no items
        r.update(lat_samples=1000, lat_censored_samples=0, lat_sample_every=512)
        for name, f in (("p50", 0.3), ("p90", 0.6), ("p99", 1), ("p999", 2), ("p9999", 4), ("max", 10), ("mean", 0.35)):
            r[f"lat_{name}_ns"] = r[f"service_{name}_ns"] = f"{200 * f:.1f}"
    return r


def rows():
    for (group, queue, wait, mode), mitems in POINTS.items():
        for rep, m in enumerate(STEADY):
            yield row(group, queue, wait, mode, rep, mitems * m)
    for (group, queue, wait, mode), rep, mitems in DISTURBED:
        yield row(group, queue, wait, mode, rep, mitems, disturbed=1)


def session(i, rows_written):
    return {"host": "fixture-host-2pu", "hostname": "fixture", "cpu_model": "Fixture CPU @ 2.00GHz", "pus": 2,
            "build_id": f"build-{bool(i)}", "git_commit": COMMITS[i], "git_head": COMMITS[i], "git_dirty": i == 1,
            "date_utc": f"2024-06-0{1 + i}T10:00:00Z", "clock": {"source": "tsc", "read_ns": 9.6},
            "command": "ringlab sweep tests/data/plot-efficiency.toml", "rows_this_session": rows_written}


def main():
    written = list(rows())
    with open(HERE / "plot-efficiency.csv", "w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        out.writeheader()
        out.writerows(written)
    first = sum(1 for r in written if r["repetition"] < 3)
    provenance = {"experiment": "plot-efficiency", "experiment_file": "tests/data/plot-efficiency.toml",
                  "sessions": [session(0, first), session(1, len(written) - first)]}
    (HERE / "plot-efficiency.json").write_text(json.dumps(provenance, indent=2) + "\n")


if __name__ == "__main__":
    main()
