"""Which hostile cases fail today, grouped by class: the FAILING block of xfails.py, printed.

    .venv/bin/python -m tests.hostile.calibrate [pytest -k expression]

Runs the suite with --runxfail (every case as if unmarked) and groups the failing cases by their tag; a
failing case without a tag is listed under "untagged": it is new, and needs a class (or a fix) by a person.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.hostile.harness import ROOT


def failing(extra: list[str]) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "r.xml"
        cmd = [sys.executable, "-m", "pytest", "tests/hostile", "-q", "-p", "no:cacheprovider", "--runxfail",
               "-rN", f"--junitxml={junit}", *extra]  # fmt: skip
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
        names = []
        for case in ET.parse(junit).iter("testcase"):
            if any(child.tag in ("failure", "error") for child in case):
                names.append(case.get("name").removeprefix("test_case[").removesuffix("]"))
        return names


def main() -> None:
    from tests.hostile.test_hostile import CASES

    tags = {c.name: c.tag or "untagged" for c in CASES}
    groups: dict[str, list[str]] = {}
    for name in failing(sys.argv[1:]):
        groups.setdefault(tags.get(name, "untagged"), []).append(name)
    print("FAILING: dict[str, list[str]] = {")
    for cls in sorted(groups, key=lambda c: (c == "untagged", c)):
        print(f"    {cls!r}: [")
        for name in sorted(groups[cls]):
            print(f"        {name!r},")
        print("    ],")
    print("}")


if __name__ == "__main__":
    main()
