"""The `vlmeval` command refuses, in one sentence, a `vlmeval` package that is not this project's: VLMEvalKit
installs an import package with the same name (tested with stand-in folders shaped like VLMEvalKit's)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def _launch(pythonpath: str, *args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    code = "import vlmeval_launcher; vlmeval_launcher.main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd)


def test_our_package_runs():
    result = _launch(str(ROOT), "--version")
    assert result.returncode == 0 and result.stdout.startswith("vlmeval ")


def test_vlmevalkit_package_shadowing_ours(tmp_path):
    theirs = tmp_path / "vlmeval"
    (theirs / "smp").mkdir(parents=True)
    (theirs / "dataset").mkdir()
    (theirs / "__init__.py").write_text("raise ImportError('VLMEvalKit needs torch')\n")
    result = _launch(f"{tmp_path}{os.pathsep}{ROOT}", "--version", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "is not this vlmeval" in result.stderr and "VLMEvalKit installs an import package" in result.stderr


def test_one_folder_holding_both_packages(tmp_path):
    mixed = tmp_path / "vlmeval"
    (mixed / "tasks").mkdir(parents=True)
    for name in ("cli.py", "run.py", "__init__.py"):
        (mixed / name).write_text("")
    (mixed / "smp").mkdir()
    result = _launch(f"{tmp_path}{os.pathsep}{ROOT}", "--version", cwd=tmp_path)
    assert result.returncode == 2 and "also holds VLMEvalKit's modules" in result.stderr
