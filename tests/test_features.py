"""Every queue and transport the documents' tables name is in this build's `ringlab list`.

A feature meson skipped (a missing package, a feature switched off) leaves its queues out
of the binary; this test is what makes that loud. Usage:
    test_features.py SOURCE_ROOT path/to/ringlab [--switched-off grpc,zmq]   # must pass
    test_features.py SOURCE_ROOT path/to/ringlab --expect-missing rpc,rpc.batch,rpc.stream
The documents: SOURCE_ROOT's README.md and docs/reference/*.md (or one file, given instead).
The second form is the negative control: a binary built without one feature's registration
(tests/meson.build) must fail the check, naming exactly what it lacks. A feature the user
switched off on purpose (-Dgrpc=disabled) turns a failure into a skip (exit 77) that says so."""
import re
import subprocess
import sys
from pathlib import Path

# A documenting table's header names what its first column holds.
FIRST_COLUMN_HEADERS = {"queue", "transport", "name"}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def documents(root: Path) -> list[Path]:
    return [root] if root.is_file() else [root / "README.md", *sorted((root / "docs" / "reference").glob("*.md"))]


def documented_names(root: Path) -> dict[str, str]:
    """name -> 'document:line', for each backticked name in the first cell of a documenting table."""
    names = {}
    for doc in documents(root):
        for name, number in names_in(doc).items():
            names.setdefault(name, f"{doc}:{number}")
    return names


def names_in(readme: Path) -> dict[str, int]:
    names, in_table = {}, False
    for number, line in enumerate(readme.read_text().splitlines(), 1):
        if not line.startswith("|"):
            in_table = False
            continue
        first = line.split("|")[1].strip()
        if not in_table:  # a header row starts a table
            in_table, documenting = True, first.strip("` ").lower() in FIRST_COLUMN_HEADERS
            continue
        if documenting:
            for token in re.findall(r"`([^`]+)`", first):
                if NAME.match(token):
                    names.setdefault(token, number)
    return names


def listed_names(ringlab: str) -> set[str]:
    out = subprocess.run([ringlab, "list"], capture_output=True, text=True, timeout=60, check=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        if not line.strip():
            break  # the queues end where the wait strategies begin
        names.add(line.split()[0])
    return names


def main() -> int:
    args = sys.argv[1:]
    def option(flag):
        if flag not in args:
            return set()
        i = args.index(flag)
        values = set(filter(None, args[i + 1].split(",")))
        del args[i:i + 2]
        return values
    expect_missing, switched_off = option("--expect-missing"), option("--switched-off")
    readme, ringlab = Path(args[0]), args[1]
    documented = documented_names(readme)
    if len(documented) < 40:  # the tables themselves went missing: the check would pass vacuously
        print(f"{readme}: only {len(documented)} names found in its queue/transport tables")
        return 1
    missing = sorted(set(documented) - listed_names(ringlab))
    for name in missing:
        print(f"{documented[name]}: '{name}' is documented but not in `{ringlab} list` "
              "(its meson feature was skipped or switched off: see the meson summary)")
    if expect_missing:  # negative control: the check must fail, naming exactly these
        if set(missing) != expect_missing:
            print(f"control: expected the check to report {sorted(expect_missing)}, it reported {missing}")
            return 1
        print(f"control: the check failed as it must, naming {', '.join(missing)}")
        return 0
    if missing and switched_off:
        print(f"skipped: features switched off in this build ({', '.join(sorted(switched_off))}); "
              "configure them enabled to check every documented queue")
        return 77
    if missing:
        return 1
    print(f"all {len(documented)} documented queues and transports are in this build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
