"""Heavy libraries load only in the commands that need them (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import CAPTION_JSONL

# pydantic: typer from 0.25 on validates every option through it, 0.15-0.2 s on every start
HEAVY = ("torch", "transformers", "wandb", "pandas", "pydantic")


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint('HEAVY:', *[m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    line = [x for x in out.stdout.splitlines() if x.startswith("HEAVY:")][-1]
    return line.split()[1:]


def test_help_imports_nothing_heavy():
    code = "from vlmeval.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass"
    assert _loaded_after(code) == []


def test_console_script_help_runs():
    out = subprocess.run(
        [sys.executable, "-m", "vlmeval", "--help"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "caption" in out.stdout


def test_ngram_caption_run_imports_nothing_heavy(tmp_path):
    code = (
        "from vlmeval.cli import app\n"
        "try:\n"
        f"    app(['caption', {str(CAPTION_JSONL)!r}, '--metrics', 'Bleu,ROUGE_L,CIDEr', '--quiet',"
        f" '--out', {str(tmp_path / 'r.json')!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code"
    )
    assert _loaded_after(code) == []
