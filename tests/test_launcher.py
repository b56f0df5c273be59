"""The `vlmeval` command refuses, in one sentence, a `vlmeval` package that is not this project's: VLMEvalKit
installs an import package with the same name (tested with stand-in folders shaped like VLMEvalKit's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

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


def test_a_run_leaves_with_its_exit_code_and_all_its_output(tmp_path):
    """``python -m vlmeval``: the program itself, so it leaves without tearing the heap down."""
    from tests.conftest import write_jsonl

    records = [{"id": i, "prediction": f"a dog number {i}", "references": [f"a dog {i}"]} for i in range(300)]
    preds = write_jsonl(tmp_path / "p.jsonl", records)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def vlmeval(*args):
        return subprocess.run([sys.executable, "-m", "vlmeval", *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path)  # fmt: skip

    ok = vlmeval("caption", str(preds), "--metrics", "Bleu", "--format", "json", "--out", "r.json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["metrics"]["Bleu_4"] >= 0
    gated = vlmeval("caption", str(preds), "--metrics", "Bleu", "--min", "Bleu_4=2", "--out", "r.json")
    assert gated.returncode == 1 and "gate failed" in gated.stderr and "Bleu_4" in gated.stdout
    bad = vlmeval("caption", "missing.jsonl")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_main_called_by_other_code_raises_system_exit(tmp_path):
    """A wrapper that runs main() and goes on afterwards (a test harness, a script) is not ended under it."""
    code = ("import sys, vlmeval_launcher\nsys.argv = ['vlmeval', '--version']\ntry:\n    vlmeval_launcher.main()\n"
            "except SystemExit as exc:\n    print('caught', exc.code)\nprint('went on')")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert result.returncode == 0 and result.stdout.splitlines()[-2:] == ["caught 0", "went on"], result


def test_leaving_with_a_thread_alive_or_a_message_is_python_s_own_exit():
    import threading

    import vlmeval_launcher

    with pytest.raises(SystemExit) as exit_:
        vlmeval_launcher.leave("a message")
    assert exit_.value.code == "a message"
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with pytest.raises(SystemExit) as exit_:
            vlmeval_launcher.leave(3)
        assert exit_.value.code == 3
    finally:
        stop.set()
        thread.join()


def test_a_profiled_run_returns_to_the_profiler(tmp_path):
    from tests.conftest import write_jsonl

    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "prediction": "a dog", "references": ["a dog"]}])
    stats = tmp_path / "run.prof"
    result = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "vlmeval", "caption", str(preds),
                             "--metrics", "Bleu", "--out", str(tmp_path / "r.json")], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert stats.stat().st_size > 0  # cProfile writes it after the program returns
