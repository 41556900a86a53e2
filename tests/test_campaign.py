"""The kill campaigns in CI form: experiments/crash_campaign.toml or carry_on.toml with a
few repetitions.

    test_campaign.py RINGLAB CAMPAIGN_TOML REPETITIONS

Every kill must be learnt of by the survivor itself, no item doubled, the declared
guarantee held, nothing hung, and every row valid; and the transport taken over by a
replacement that attached to the run by name (crash_campaign: outcome recovered), or by
one that carried on the dead side's part of the run (carry_on: outcome carried-on). The
checker first proves it can fail: on doctored copies of a good row (doubled, hung, an item
lost beyond the guarantee, a survivor that never knew, a replacement that did not attach
by name or did not carry on) it must object.
"""
import csv
import subprocess
import sys
import tempfile
from pathlib import Path


CARRIED_ON = "a replacement took its place and carried on"


def problems(rows):
    found = []
    for r in rows:
        where = f"{r['queue']} {r['fault']} {r['producers']}P{r['consumers']}C rep {r['repetition']}"
        expected = "carried-on" if r["fault"].endswith("-carry-on") else "recovered"
        if r["valid"] != "1":
            found.append(f"{where}: invalid: {r['validation_error']}")
        if r["outcome"] != expected:
            found.append(f"{where}: outcome {r['outcome'] or 'none'}, not {expected}")
        if r["outcome"] == "recovered" and "replacement that attached to the run by name" not in r["validation_error"]:
            found.append(f"{where}: the replacement did not attach to the run by name")
        if r["outcome"] == "carried-on" and CARRIED_ON not in r["validation_error"]:
            found.append(f"{where}: the row does not say that a replacement carried on")
        if not r["survivor_detect_ns"]:
            found.append(f"{where}: the survivor never learnt of the death by itself")
        if r["items_lost"] == "" or r["items_doubled"] == "":
            found.append(f"{where}: lost and doubled items not counted")
            continue
        lost, doubled = float(r["items_lost"]), float(r["items_doubled"])
        allowed = 0 if r["crash_guarantee"] == "exactly-once" else 1
        if doubled or lost > allowed:
            found.append(f"{where}: {lost:g} lost, {doubled:g} doubled under {r['crash_guarantee'] or 'no guarantee'}")
    return found


def controls(good):
    """Each doctored row must be objected to: the check can fail."""
    doctored = {"doubled": {"items_doubled": "1"}, "hung": {"outcome": "hung"},
                "lost beyond the guarantee": {"items_lost": "2"}, "never knew": {"survivor_detect_ns": ""},
                "invalid": {"valid": "0"}}
    if good["fault"].endswith("-carry-on"):
        doctored["stopped, not carried on"] = {"outcome": "recovered"}
        doctored["silent on the replacement"] = {"validation_error": good["validation_error"].replace(CARRIED_ON, "")}
    else:
        doctored["not by name"] = {"validation_error": good["validation_error"].replace(
            "a replacement that attached to the run by name", "a new process")}
    missed = [name for name, change in doctored.items() if not problems([{**good, **change}])]
    return [f"control: a row {name} passed the check" for name in missed]


def main(argv):
    ringlab, toml, repetitions = argv[1], argv[2], argv[3]
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run([ringlab, "sweep", toml, "--repetitions", repetitions, "--results-dir", tmp, "--no-plot"],
                             capture_output=True, text=True, timeout=600)
        csvs = list(Path(tmp).glob(f"*/{Path(toml).stem}.csv"))
        if not csvs:
            print(run.stdout, run.stderr, sep="\n")
            print("the campaign wrote no CSV")
            return 1
        rows = list(csv.DictReader(csvs[0].open()))
    found = controls(rows[0]) + problems(rows)
    for f in found[:20]:
        print(f)
    kills = {}
    for r in rows:
        kills[r["queue"]] = kills.get(r["queue"], 0) + 1
    print(f"{len(rows)} kills ({', '.join(f'{q} {n}' for q, n in sorted(kills.items()))}): "
          f"{len(found)} problems; sweep exit {run.returncode}")
    return 1 if found or run.returncode else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
