"""The layers of docs/ARCHITECTURE.md hold: each folder includes only what its layer may.

    test_layers.py SOURCE_ROOT            # the tree: every #include "..." obeys the rules
    test_layers.py SOURCE_ROOT --control  # a copy with one forbidden include must fail

A violation is one line: file:line, the include, and the rule it breaks."""
import re
import shutil
import sys
import tempfile
from pathlib import Path

# folder -> the project folders (or files) its #include "..." may name. Anything else of
# the project is forbidden; system headers (<...>) and generated files are not checked.
PROJECT = ("harness/", "scopes/", "transports/", "peers/", "sweep/", "commands/", "bench/", "registry.hpp",
           "registration.hpp", "queue_list.hpp", "queue_variants.hpp", "build_info.hpp")
ALLOWED = {
    "include/ringlab/": (),  # the contract: system headers and <ringlab/...> only
    "src/transports/": ("transports/",),
    "src/harness/": ("harness/", "registry.hpp", "build_info.hpp"),
    "src/scopes/": ("scopes/", "harness/", "transports/"),
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def violations(root: Path) -> list[str]:
    found = []
    for folder, allowed in ALLOWED.items():
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".hpp", ".cpp", ".h"):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                if not target.startswith(PROJECT) or target.startswith(allowed):
                    continue
                found.append(f"{path.relative_to(root)}:{number}: includes \"{target}\": {folder} may include "
                             f"only {', '.join(allowed) or 'the contract and system headers'}")
    return found


def main() -> int:
    root = Path(sys.argv[1])
    if "--control" in sys.argv:  # the check must catch the harness including a scope
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp)
            for folder in ALLOWED:
                shutil.copytree(root / folder, copy / folder)
            victim = copy / "src/harness/run.hpp"
            victim.write_text(victim.read_text().replace('#include "harness/result.hpp"',
                                                         '#include "harness/result.hpp"\n#include "scopes/run_point.hpp"', 1))
            found = violations(copy)
        if len(found) == 1 and "src/harness/run.hpp" in found[0] and "scopes/run_point.hpp" in found[0]:
            print(f"control: caught, as it must: {found[0]}")
            return 0
        print(f"control: expected one violation in src/harness/run.hpp, got {found}")
        return 1
    found = violations(root)
    for v in found:
        print(v)
    if found:
        return 1
    checked = sum(1 for f in ALLOWED for p in (root / f).rglob("*") if p.suffix in (".hpp", ".cpp"))
    print(f"{checked} files in {len(ALLOWED)} layers: every include is one its layer may make")
    return 0


if __name__ == "__main__":
    sys.exit(main())
