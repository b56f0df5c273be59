"""What every command does with its outputs and streams: output paths checked before any work, model text
shown as data, a closed stdout, a terminal that cannot encode, one-line usage errors, short default output."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import CAPTION_JSONL, ROOT, sha256, write_jsonl

FAST = ("--metrics", "Bleu,ROUGE_L,CIDEr")


def _records(n=4, prediction="a dog runs on the grass"):
    return [{"id": i, "prediction": prediction, "references": ["a dog runs", "a brown dog on grass"]} for i in range(n)]


def test_out_through_a_link_writes_its_target_and_refuses_streams(cli, tmp_path):
    """The atomic rename would replace a link itself (as root, --out /dev/stdout replaced /dev/stdout)."""
    preds = write_jsonl(tmp_path / "p.jsonl", _records())
    (tmp_path / "target.json").write_text("{}")
    os.symlink("target.json", tmp_path / "link.json")
    assert cli("caption", preds, *FAST, "--out", "link.json", "--quiet").exit_code == 0
    assert os.path.islink(tmp_path / "link.json") and json.loads((tmp_path / "target.json").read_text())["metrics"]
    os.symlink("/proc/self/fd/1", tmp_path / "so.json")
    for out in ("/dev/stdout", "so.json", "/dev/null"):
        result = cli("caption", preds, *FAST, "--out", out)
        assert result.exit_code == 2 and "is a device or a process's stream" in result.stderr, out


def test_file_names_that_are_not_utf8(tmp_path):
    """A name Python keeps as lone surrogates is written into the report as its JSON escape."""
    name = os.fsdecode(b"preds\xff.jsonl")
    write_jsonl(tmp_path / name, _records())
    result = _process("caption", tmp_path / name, *FAST, "--out", tmp_path / os.fsdecode(b"out\xfe.json"), "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / os.fsdecode(b"out\xfe.json")).read_bytes())
    assert report["inputs"][0]["path"].endswith("preds\udcff.jsonl")


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink", "dotted"])
def test_out_may_not_be_an_input(cli, tmp_path, link):
    preds = write_jsonl(tmp_path / "p.jsonl", _records())
    before = sha256(preds)
    out = {"same": "p.jsonl", "dotted": "./sub/../p.jsonl", "symlink": "s.jsonl", "hardlink": "h.jsonl"}[link]
    (tmp_path / "sub").mkdir()
    if link == "symlink":
        os.symlink(preds, tmp_path / out)
    elif link == "hardlink":
        os.link(preds, tmp_path / out)
    result = cli("caption", preds, *FAST, "--out", out)
    assert result.exit_code == 2 and "is also an input (PREDS" in result.stderr
    assert sha256(preds) == before


@pytest.mark.parametrize("out, message", [
    ("", "--out is empty"), ("newdir/", "names a directory"), (".", "names a directory"),
    ("missing/r.json", "directory missing does not exist"),
])  # fmt: skip
def test_out_must_be_a_file_path(cli, tmp_path, out, message):
    preds = write_jsonl(tmp_path / "p.jsonl", _records())
    result = cli("caption", preds, *FAST, "--out", out)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "newdir").exists()


def test_report_and_compare_outputs_may_not_be_their_inputs(cli, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", _records())
    assert cli("caption", preds, *FAST, "--out", "a.json", "--quiet").exit_code == 0
    assert cli("caption", preds, *FAST, "--out", "b.json", "--quiet").exit_code == 0
    before = sha256(tmp_path / "a.json")
    result = cli("report", "a.json", "--html", "a.json")
    assert result.exit_code == 2 and "--html a.json is also an input" in result.stderr
    result = cli("compare", "a.json", "b.json", "--out", "a.json")
    assert result.exit_code == 2 and "--out a.json is also an input (BASE" in result.stderr
    assert sha256(tmp_path / "a.json") == before


def test_gz_report_is_gzipped_and_read_back(cli, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", _records())
    assert cli("caption", preds, *FAST, "--out", "r.json.gz", "--quiet").exit_code == 0
    report = json.loads(gzip.decompress((tmp_path / "r.json.gz").read_bytes()))
    assert report["schema"] == "vlmeval.report/1"
    result = cli("report", "r.json.gz", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["metrics"] == report["metrics"]


HOSTILE = "[/INST] a dog [bold red]x[/bold red] \x1b[2J\x1b]0;title\x07 \u202eevil"


def test_model_text_is_data_in_every_table(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that no cell wraps inside the text looked for
    records = _records(3) + [{"id": "[/x]", "prediction": HOSTILE, "references": ["[b]a dog[/b]"]}]
    preds = write_jsonl(tmp_path / "p.jsonl", records)
    result = cli("caption", preds, *FAST, "--failures", "4", "--out", "r.json")
    assert result.exit_code == 0, result.stderr
    assert "[bold red]x[/bold red]" in result.stdout and "[/INST]" in result.stdout and "[/x]" in result.stdout
    assert "\x1b" not in result.stdout and "\\x1b[2J" in result.stdout and "\\u202e" in result.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert HOSTILE in [row["prediction"] for row in report["failures"]]  # the report keeps the text exactly
    again = cli("report", "r.json", "-v")
    assert again.exit_code == 0 and "\\x1b" in again.stdout and "\x1b" not in again.stdout


def _process(*args, env=None, pipe_to_head=False):
    command = [sys.executable, "-m", "vlmeval", *map(str, args)]
    environ = {**os.environ, **(env or {})}
    if pipe_to_head:
        shell = " ".join(f"'{a}'" for a in command) + " | head -1; exit ${PIPESTATUS[0]}"
        return subprocess.run(["bash", "-c", shell], capture_output=True, text=True, env=environ, cwd=ROOT, timeout=300)
    return subprocess.run(command, capture_output=True, text=True, env=environ, cwd=ROOT, timeout=300)


def test_closed_stdout_keeps_the_gates_exit_code(tmp_path):
    out = tmp_path / "r.json"
    passed = _process("caption", CAPTION_JSONL, *FAST, "-v", "--out", out, pipe_to_head=True)
    assert passed.returncode == 0 and "report written to" in passed.stderr and "Traceback" not in passed.stderr
    failed = _process("caption", CAPTION_JSONL, *FAST, "--min", "CIDEr=9", "--out", out, pipe_to_head=True)
    assert failed.returncode == 1 and "gate failed" in failed.stderr


@pytest.mark.parametrize("redirect, gate, code", [
    ("2>&-", "CIDEr=0", 0),  # stderr closed: Python has no sys.stderr, Rich exited 1 (the gate-failed code)
    ("2>&-", "CIDEr=9", 1),
    ("2>&1 | true", "CIDEr=0", 0),  # stderr a pipe nobody reads
    ("> /dev/full", "CIDEr=0", 2),  # stdout full: one sentence, exit 2 (was an internal error, exit 3)
])
def test_diagnostics_and_results_streams_that_fail_keep_the_exit_code(tmp_path, redirect, gate, code):
    out = tmp_path / "r.json"
    command = " ".join(f"'{a}'" for a in [sys.executable, "-m", "vlmeval", "caption", CAPTION_JSONL, *FAST,
                                           "--min", gate, "--out", out])  # fmt: skip
    shell = f"{command} {redirect}; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == code, done.stderr
    assert out.exists() and "Traceback" not in done.stderr and "internal error" not in done.stderr
    if code == 2:
        assert "cannot write the results to stdout: No space left on device" in done.stderr


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("yesno", "--help")])
def test_help_and_version_into_a_full_or_closed_stdout(args):
    command = " ".join(f"'{a}'" for a in [sys.executable, "-m", "vlmeval", *args])
    for redirect, code in (("> /dev/full", 2), (">&-", 0)):
        done = subprocess.run(["bash", "-c", f"{command} {redirect}"], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert done.returncode == code and "Traceback" not in done.stderr, (redirect, done.stderr)


def test_a_terminal_that_cannot_encode_degrades(tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", _records(3) + [{"id": 9, "prediction": "ein Hund · 犬", "references": ["a dog"]}])
    result = _process("caption", preds, *FAST, "--failures", "4", "--out", tmp_path / "r.json",
                      env={"PYTHONIOENCODING": "ascii"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Bleu_1" in result.stdout and "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (("--iou", "2"), "error: --iou must be in (0, 1], got 2"),
    (("--iou", "nan"), "error: --iou must be a finite number"),
    (("--score-threshold", "nan"), "--score-threshold must be a finite number"),
    (("--bootstrap", "99999999999999999999"), "--bootstrap must be in [0, 1e+06]"),
    (("--seed", "-5"), "--seed must be in [0,"),
    (("--min-pixels", "1000000", "--max-pixels", "10"), "--min-pixels 1000000 is more than --max-pixels 10"),
    (("--metrics", ""), "--metrics names no metric"),
    (("--metrics", ","), "--metrics names no metric"),
    (("--nope",), "error: No such option"),  # click words the rest differently by version
    (("--box-format", "xyz"), "error: Invalid value for '--box-format'"),
])  # fmt: skip
def test_usage_errors_are_one_line(cli, tmp_path, args, message):
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "prediction": "[1, 2, 3, 4]", "gt_boxes": [[1, 2, 3, 4]]}])
    result = cli("grounding", preds, *args, "--out", "r.json")
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert args[0] in result.stderr  # the message names the option
    assert not (tmp_path / "r.json").exists()


def test_compare_refuses_nan_drop_and_corrupt_reports(cli, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", _records())
    cli("caption", preds, *FAST, "--out", "a.json", "--quiet")
    result = cli("compare", "a.json", "a.json", "--max-drop", "CIDEr=nan")
    assert result.exit_code == 2 and "finite DELTA" in result.stderr
    report = json.loads((tmp_path / "a.json").read_text())
    report["per_sample"]["CIDEr"] = report["per_sample"]["CIDEr"][:2]
    (tmp_path / "bad.json").write_text(json.dumps(report))
    result = cli("compare", "a.json", "bad.json")
    assert result.exit_code == 2 and "per_sample.CIDEr has 2 values for 4 samples" in result.stderr
    report["metrics"] = [1, 2]
    (tmp_path / "bad.json").write_text(json.dumps(report))
    result = cli("report", "bad.json")
    assert result.exit_code == 2 and "'metrics' must be an object" in result.stderr


def test_default_output_is_short_and_verbose_is_whole(cli, tmp_path):
    vqa = ROOT / "fixtures" / "vqa" / "vqa_600.jsonl"
    short = cli("vqa", vqa, "--out", "r.json")
    assert short.exit_code == 0
    assert "VQA-acc|" not in short.stdout and "the 10 largest of 60 groups" in short.stdout
    assert "report written to r.json" in short.stderr
    whole = cli("vqa", vqa, "--out", "r.json", "-v")
    assert "VQA-acc|" in whole.stdout and "largest of" not in whole.stdout
    assert "report written" not in cli("vqa", vqa, "--out", "r.json", "--quiet").stderr


def test_counts_read_as_english(cli, tmp_path):
    records = [{"id": "e", "prediction": "", "references": ["a dog"]}, *_records(3)]
    result = cli("caption", write_jsonl(tmp_path / "p.jsonl", records), *FAST)
    assert "1 empty prediction" in result.stdout and "1 empty predictions" not in result.stdout
    assert "4 scored of 4 records" in result.stdout


def test_help_shows_no_bool_metavar_and_keeps_brackets(cli):
    result = cli("retrieval", "--help")
    assert result.exit_code == 0 and "<bool>" not in result.stdout and "[ids]" in result.stdout
    listing = cli("metrics")
    assert "vlmeval[neural]" in listing.stdout


def test_help_describes_the_arguments(cli):
    """click 8.5 resets an argument's help that typer 0.24 set (vlmeval.cli puts it back)."""
    caption = " ".join(cli("caption", "--help").stdout.split())
    assert "Predictions: JSONL/JSON/CSV/TSV/Parquet records" in caption
    report = " ".join(cli("report", "--help").stdout.split())
    assert "A report written by a vlmeval command" in report
    assert "report [OPTIONS] REPORT..." in report  # it takes several
    assert "merge [OPTIONS] PART..." in " ".join(cli("merge", "--help").stdout.split())


def test_the_metric_listing_has_failure_rate_and_each_tasks_scale():
    from rich.console import Console

    from vlmeval.report.table import metrics_listing

    console = Console(width=400, color_system=None, record=True)
    console.print(metrics_listing())
    rows = {line.split("│")[0].strip(): line for line in console.export_text().splitlines() if "│" in line}
    assert "caption vqa docvqa grounding retrieval mcq yesno" in rows["failure_rate"]
    assert "grounding: 0-1; yesno: 0-100" in rows["precision"]


def test_metrics_names_reported_with_others_say_so(cli, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "prediction": "[1, 2, 3, 4]", "gt_boxes": [[1, 2, 3, 4]]}])
    result = cli("grounding", preds, "--metrics", "matched_iou", "--out", "r.json")
    assert result.exit_code == 2 and "matched_iou is reported with precision, recall, f1" in result.stderr
    result = cli("grounding", preds, "--metrics", "failure_rate", "--out", "r.json")
    assert result.exit_code == 2 and "failure_rate is in every report" in result.stderr


def test_meta_records_run_facts(cli, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", _records())
    result = cli("caption", preds, *FAST, "--meta", "step=1500", "--meta", "lr=1e-4", "--meta", "model=qwen2.5-vl-7b",
                 "--out", "r.json", "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["meta"] == {"step": 1500, "lr": 1e-4, "model": "qwen2.5-vl-7b"}
    for bad, message in (("step", "KEY=VALUE"), ("=3", "KEY=VALUE")):
        result = cli("caption", preds, *FAST, "--meta", bad, "--out", "r.json")
        assert result.exit_code == 2 and message in result.stderr
    result = cli("caption", preds, *FAST, "--meta", "a=1", "--meta", "a=2", "--out", "r.json")
    assert result.exit_code == 2 and "given twice" in result.stderr
    assert cli("caption", preds, *FAST, "--out", "plain.json", "--quiet").exit_code == 0
    assert "meta" not in json.loads((tmp_path / "plain.json").read_text())  # written only when given


WRITE_FAILS = """
import errno, sys
from vlmeval.report import report
def full(data, path):
    raise OSError(errno.ENOSPC, "No space left on device")
report.write_json_atomic = full
sys.argv = ["vlmeval", *sys.argv[1:]]
import vlmeval_launcher
vlmeval_launcher.main()
"""


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_the_report_is_written_beside_the_table_and_a_failed_write_shows_nothing(cli, tmp_path, fmt):
    """The report is written by a forked process while the table is drawn (a fresh process: it can fork):
    the same table and file as one process gives; a write that fails is one sentence, exit 2, and nothing
    on stdout."""
    out = tmp_path / "r.json"
    args = ["caption", CAPTION_JSONL, *FAST, "--format", fmt, "--out", out]
    forked = _process(*args)
    assert forked.returncode == 0 and out.exists()
    inline = cli(*args[:-1], tmp_path / "inline.json")
    assert forked.stdout == inline.stdout.replace(str(tmp_path / "inline.json"), str(out))
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["metrics"] == json.loads((tmp_path / "inline.json").read_text(encoding="utf-8"))["metrics"]
    failed = subprocess.run([sys.executable, "-c", WRITE_FAILS, *map(str, args)], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)  # fmt: skip
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.strip().endswith(f"cannot write the report to {out}: No space left on device")
