#!/usr/bin/python3
"""Writes plot-fixture.csv and .json beside this file: a small, hand-designed sweep
for tests/test_plots.py. Run it again after changing the table below.

Points (5 repetitions each unless said): spsc_ring, spsc_ring.lamport, mpmc_ring with
wait=spin at capacities 16, 1024, 65536; mpmc_ring wait=park at 1024; mutex_ring at
1024 with only 2 repetitions (an interrupted sweep). spsc_ring at 65536 is noisy
(spread 70%); spsc_ring at 16 has a 6th, disturbed row and mpmc_ring at 16 a 6th,
invalid row, both far off so that counting them would show.
"""
import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = ("experiment point repetition queue wait capacity producers consumers payload_bytes "
           "offered_rate_items_per_s pin termination duration_s items_requested warmup_s latency_recorded valid "
           "validation_error items_pushed items_popped measured_s throughput_items_per_s "
           "lat_p50_ns lat_p90_ns lat_p99_ns lat_p999_ns lat_p9999_ns lat_max_ns lat_mean_ns "
           "service_p50_ns service_p90_ns service_p99_ns service_p999_ns service_p9999_ns service_max_ns "
           "service_mean_ns lat_samples lat_sample_every producer_cpu_ns_per_item consumer_cpu_ns_per_item "
           "cpu_ns_per_item drain_ns producer_pus consumer_pus oversubscribed probe_before_ns probe_after_ns "
           "foreign_busy_fraction steal_fraction disturbed clock_source clock_read_ns host commit started_utc").split()
STEADY = [0.99, 1.0, 1.01, 0.995, 1.005]
NOISY = [0.65, 1.0, 1.02, 0.98, 1.35]
# (queue, wait, capacity): (M items/s, p99 latency ns, repetition multipliers)
POINTS = {
    ("spsc_ring", "spin", 16): (180, 150, STEADY),
    ("spsc_ring", "spin", 1024): (300, 150, STEADY),
    ("spsc_ring", "spin", 65536): (310, 160, NOISY),
    ("spsc_ring.lamport", "spin", 16): (60, 400, STEADY),
    ("spsc_ring.lamport", "spin", 1024): (100, 400, STEADY),
    ("spsc_ring.lamport", "spin", 65536): (105, 420, STEADY),
    ("mpmc_ring", "spin", 16): (40, 900, STEADY),
    ("mpmc_ring", "spin", 1024): (90, 900, STEADY),
    ("mpmc_ring", "spin", 65536): (95, 950, STEADY),
    ("mpmc_ring", "park", 1024): (30, 5000, STEADY),
    ("mutex_ring", "spin", 1024): (8, 20000, STEADY[:2]),
}


def row(queue, wait, capacity, rep, mitems, p99, valid=1, disturbed=0):
    tput = mitems * 1e6
    items = int(tput * 0.8)
    r = dict.fromkeys(COLUMNS, "")
    r.update(experiment="plot-fixture", point=f"queue={queue} wait={wait} capacity={capacity}", repetition=rep,
             queue=queue, wait=wait, capacity=capacity, producers=1, consumers=1, payload_bytes=8,
             offered_rate_items_per_s=0, pin="compact", termination="sentinel", duration_s="1.000",
             warmup_s="0.200", latency_recorded=1, valid=valid, items_pushed=items, items_popped=items,
             measured_s="0.8000", throughput_items_per_s=f"{tput:.0f}", lat_samples=100000, lat_sample_every=512,
             producer_cpu_ns_per_item=f"{1e9 / tput:.2f}", consumer_cpu_ns_per_item=f"{1e9 / tput:.2f}",
             cpu_ns_per_item=f"{2e9 / tput:.2f}", drain_ns="8000", producer_pus="0", consumer_pus="1",
             oversubscribed=0, probe_before_ns="120.0", probe_after_ns="125.0", foreign_busy_fraction="0.0010",
             steal_fraction="0.0000", disturbed=disturbed, clock_source="tsc", clock_read_ns="9.60",
             host="fixture-host-2pu", commit="8799b4b199", started_utc=f"2024-05-31T10:{rep:02d}:00Z")
    if not valid:
        r["validation_error"] = "producer 0: 1 item lost"
    for prefix, scale in (("lat", 1.0), ("service", 0.8)):
        for name, f in (("p50", 0.3), ("p90", 0.6), ("p99", 1), ("p999", 2), ("p9999", 4), ("max", 10), ("mean", 0.35)):
            r[f"{prefix}_{name}_ns"] = f"{p99 * f * scale:.1f}"
    return r


def rows():
    for (queue, wait, capacity), (mitems, p99, reps) in POINTS.items():
        for rep, m in enumerate(reps):
            yield row(queue, wait, capacity, rep, mitems * m, p99 * m)
    yield row("spsc_ring", "spin", 16, 5, 20, 50000, disturbed=1)
    yield row("mpmc_ring", "spin", 16, 5, 0.001, 1e9, valid=0)


def main():
    with open(HERE / "plot-fixture.csv", "w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        out.writeheader()
        out.writerows(rows())
    provenance = {"host": "fixture-host-2pu", "hostname": "fixture", "cpu_model": "Fixture CPU @ 2.00GHz", "pus": 2,
                  "git_commit": "8799b4b19925e2526694889d83b07a5459def5e4", "git_dirty": False,
                  "date_utc": "2024-05-31T10:05:00Z"}
    (HERE / "plot-fixture.json").write_text(json.dumps(provenance, indent=2) + "\n")


if __name__ == "__main__":
    main()
