"""Write the golden reports (``python -m tests.golden.make_golden [CASE ...]``, from the repository root).

Run it only when a change is meant to change a report, and say why in CHANGELOG.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.golden.cases import CASES, GOLDEN, ROOT, normalise


def run_case(name: str, out_dir: Path) -> dict:
    out = out_dir / f"{name}.json"
    args = [sys.executable, "-m", "vlmeval", *CASES[name], "--out", str(out), "--quiet"]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"})
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{name}: exit {proc.returncode}: {proc.stderr.strip()}")
    return normalise(json.loads(out.read_text(encoding="utf-8")))


def main(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name in names or list(CASES):
            report = run_case(name, Path(tmp))
            path = GOLDEN / f"{name}.json"
            path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
