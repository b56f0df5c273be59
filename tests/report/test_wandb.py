"""`vlmeval report --to-wandb` with real wandb in offline mode, read back from the run-*.wandb file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import CAPTION_JSONL
from tests.report.wandb_reader import read_records

wandb = pytest.importorskip("wandb")


@pytest.fixture
def wandb_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))  # artifact staging
    monkeypatch.setenv("WANDB_SILENT", "true")
    for key in ("WANDB_API_KEY", "WANDB_ENTITY", "WANDB_PROJECT"):
        monkeypatch.delenv(key, raising=False)
    return tmp_path


def test_offline_run_is_written_and_reads_back(cli, wandb_env, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    result = cli(
        "caption",
        CAPTION_JSONL,
        "--metrics",
        "Bleu,CIDEr",
        "--bootstrap",
        "100",
        "--failures",
        "5",
        "--meta",
        "step=1500",
        "--meta",
        "model=m",
        "--out",
        "r.json",
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads((wandb_env / "r.json").read_text())
    result = cli(
        "report",
        "r.json",
        "--to-wandb",
        "--project",
        "vlm",
        "--run-name",
        "base",
        "--tags",
        "ci",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    runs = list((wandb_env / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 1
    records = read_records(runs[0])
    kinds = [r.WhichOneof("record_type") for r in records]
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    assert run.project == "vlm" and run.display_name == "base" and list(run.tags) == ["ci"]
    config = {u.key: json.loads(u.value_json) for u in run.config.update}
    assert config["signature"]["CIDEr"] == report["signature"]["CIDEr"]
    assert config["inputs"][0]["sha256"] == report["inputs"][0]["sha256"]
    assert config["meta"] == report["meta"] == {"step": 1500, "model": "m"} and config["counts"] == report["counts"]
    summary = _summary(records)
    assert summary["CIDEr"] == pytest.approx(report["metrics"]["CIDEr"])
    assert summary["CIDEr_ci_low"] == pytest.approx(report["ci"]["CIDEr"][0])
    assert summary["failures"]["_type"] == "table-file" and summary["failures"]["nrows"] == 5
    assert summary["per_sample/CIDEr"]["_type"] == "histogram"
    table = json.loads(next((runs[0].parent / "files").rglob("failures_*.table.json")).read_text())
    assert table["columns"][:2] == ["id", "score"] and len(table["data"]) == 5
    assert [str(row[0]) for row in table["data"]] == [str(f["id"]) for f in report["failures"]]
    artifacts = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"]
    assert any(a.type == "vlmeval-report" for a in artifacts)
    assert "history" in kinds


def _summary(records) -> dict:
    """The run's summary as W&B stores it: nested keys (``failures``' table file) as nested dicts."""
    summary: dict = {}
    for r in records:
        if r.WhichOneof("record_type") == "summary":
            for u in r.summary.update:
                path = [u.key] if u.key else list(u.nested_key)
                node = summary
                for part in path[:-1]:
                    node = node.setdefault(part, {})
                node[path[-1]] = json.loads(u.value_json)
    return summary


def test_error_types_in_the_summary_and_the_failures_table(cli, wandb_env, monkeypatch):
    """The summary has failure_rate and each type's rate (error_type/<type>: its share of all samples, the
    rates summing to failure_rate); the failures table has the error_type column beside the score."""
    from tests.conftest import FIXTURES

    monkeypatch.setenv("WANDB_MODE", "offline")
    result = cli("vqa", FIXTURES / "vqa/vqa_600.jsonl", "--failures", "5", "--out", "v.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    report = json.loads((wandb_env / "v.json").read_text())
    assert cli("report", "v.json", "--to-wandb", "--project", "vlm", "--format", "json").exit_code == 0
    run_file = next((wandb_env / "wandb").glob("offline-run-*/run-*.wandb"))
    summary = _summary(read_records(run_file))
    assert summary["failure_rate"] == pytest.approx(report["metrics"]["failure_rate"])
    rates = {k.split("/", 1)[1]: v for k, v in summary.items() if k.startswith("error_type/")}
    assert rates == {k: pytest.approx(v["count"] / 600) for k, v in report["breakdown"]["error_type"].items()}
    assert sum(rates.values()) == pytest.approx(summary["failure_rate"])
    table = json.loads(next((run_file.parent / "files").rglob("failures_*.table.json")).read_text())
    assert table["columns"][:3] == ["id", "score", "error_type"]
    assert [row[2] for row in table["data"]] == [f["error_type"] for f in report["failures"]]
    assert all(row[2] for row in table["data"])


def test_wandb_failure_keeps_the_report_and_exits_2(cli, wandb_env, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv(
        "WANDB_BASE_URL", "http://127.0.0.1:9"
    )  # nothing listens: no traffic leaves the machine
    monkeypatch.setenv("HOME", str(wandb_env))  # no stored login
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)  # a well-formed key the (absent) server will never see
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "5")
    assert cli("caption", CAPTION_JSONL, "--metrics", "Bleu", "--out", "r.json", "--quiet").exit_code == 0
    before = (wandb_env / "r.json").read_bytes()
    result = cli("report", "r.json", "--to-wandb")
    assert result.exit_code == 2
    assert "W&B logging failed" in result.stderr and "the report is safe at r.json" in result.stderr
    assert (wandb_env / "r.json").read_bytes() == before
    assert os.environ["WANDB_MODE"] == "online"


def test_a_failed_gate_still_says_so_and_exits_1_when_wandb_fails_too(cli, wandb_env, monkeypatch):
    """The retry command keeps the options that placed the run (a checkpoint of a series)."""
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("HOME", str(wandb_env))
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "5")
    result = cli("caption", CAPTION_JSONL, "--metrics", "Bleu", "--min", "Bleu_4=0.99", "--wandb", "--out", "r.json")
    assert result.exit_code == 1
    assert "gate failed: Bleu_4" in result.stderr and "W&B logging failed" in result.stderr
    assert cli("caption", CAPTION_JSONL, "--metrics", "Bleu", "--out", "r.json", "--quiet").exit_code == 0
    result = cli("report", "r.json", "--to-wandb", "--run-id", "series-1", "--step", "3")
    assert result.exit_code == 2 and "retry with `vlmeval report r.json --to-wandb --run-id series-1 --step 3`" in result.stderr


def test_histograms_skip_unscored_samples_and_a_part_is_not_a_run(cli, wandb_env, monkeypatch):
    """A report read back holds null for a sample a metric did not score: the histogram has the others. A
    --shard part is refused, as --wandb --shard is."""
    from tests.conftest import write_jsonl

    monkeypatch.setenv("WANDB_MODE", "offline")
    records = [{"id": 0, "prediction": "[1, 1, 5, 5]", "gt_boxes": []}]
    records += [{"id": i, "prediction": "[1, 1, 5, 5]", "gt_boxes": [[1, 1, 4 + i, 5]]} for i in range(1, 9)]
    write_jsonl(wandb_env / "g.jsonl", records)
    assert cli("grounding", "g.jsonl", "--out", "g.json", "--quiet").exit_code == 0
    assert json.loads((wandb_env / "g.json").read_text())["per_sample"]["mean_iou"][0] is None
    assert cli("report", "g.json", "--to-wandb", "--format", "json").exit_code == 0
    run_file = next((wandb_env / "wandb").glob("offline-run-*/run-*.wandb"))
    assert "per_sample/mean_iou" in _summary(read_records(run_file))
    assert cli("grounding", "g.jsonl", "--shard", "1/2", "--out", "part.json", "--quiet").exit_code == 0
    result = cli("report", "part.json", "--to-wandb")
    assert result.exit_code == 2 and "part 1 of 2 of a sharded run: log the merged report" in result.stderr


def test_wandb_flag_on_a_task_logs_images_with_box_overlays(cli, wandb_env, monkeypatch):
    """`vlmeval grounding --wandb`: the failures table carries each image with its boxes as W&B overlays."""
    from tests.conftest import FIXTURES, write_jsonl

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_PROJECT", "vlm-ground")
    grounding = FIXTURES / "grounding"
    keep = {"000000000802.jpg", "000000117645.jpg"}
    refs = [json.loads(x) for x in (grounding / "refs.jsonl").read_text().splitlines() if x]
    refs = [r for r in refs if r.get("image") in keep]
    ids = {r["id"] for r in refs}
    preds = [json.loads(x) for x in (grounding / "preds_xyxy.jsonl").read_text().splitlines() if x]
    write_jsonl(wandb_env / "refs.jsonl", refs)
    write_jsonl(wandb_env / "preds.jsonl", [p for p in preds if p["id"] in ids])
    result = cli(
        "grounding", wandb_env / "preds.jsonl", "--refs", wandb_env / "refs.jsonl", "--images",
        grounding / "images", "--failures", "3", "--out", "g.json", "--wandb", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads((wandb_env / "g.json").read_text())
    runs = list((wandb_env / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 1
    records = read_records(runs[0])
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    assert run.project == "vlm-ground"
    # wandb 0.31 writes a table with media twice: a run file (media as names) and a run_table artifact with
    # the full cells; the artifact's manifest points at its staged files
    table_artifact = next(
        r.artifact
        for r in records
        if r.WhichOneof("record_type") == "artifact" and r.artifact.type == "run_table"
    )
    files = {e.path: Path(e.local_path) for e in table_artifact.manifest.contents}
    table = json.loads(files[next(p for p in files if p.endswith("failures.table.json"))].read_text())
    column = table["columns"].index("image")
    cells = [row[column] for row in table["data"]]
    assert len(cells) == 3 and all(c["_type"] == "image-file" for c in cells)
    for cell, failure in zip(cells, report["failures"]):
        gt = cell["boxes"]["ground_truth"]
        pred = cell["boxes"]["predictions"]
        assert len(gt) == len(failure["reference"]) and len(pred) == 1
        # positions are in the logged thumbnail's pixels: the original box times the thumbnail scale
        scale = max(cell["width"], cell["height"]) / 640
        assert gt[0]["position"]["minX"] == pytest.approx(failure["reference"][0][0] * scale, rel=0.02)
        assert pred[0]["position"]["maxY"] == pytest.approx(failure["box"][3] * scale, rel=0.02)
        media = files[cell["path"]]
        assert media.is_file() and media.stat().st_size > 1000


def test_checkpoints_logged_at_their_steps_become_one_run_with_a_history_row_each(cli, wandb_env, monkeypatch):
    """Five `vlmeval report R_k.json --to-wandb --run-id X --step k`, offline: each call writes its own run
    folder under the one run id (resume="allow"; `wandb sync` joins them), holding the history row at step k
    with the summary's keys: the metrics and their intervals."""
    from tests.report.checkpoints import PEAKED, write_series

    monkeypatch.setenv("WANDB_MODE", "offline")
    reports = write_series(cli, wandb_env, "ckpt", PEAKED, "--bootstrap", "50")
    for step, path in zip(PEAKED, reports):
        result = cli("report", path, "--to-wandb", "--project", "vlm", "--run-id", "sweep-1", "--step", step,
                     "--format", "json")  # fmt: skip
        assert result.exit_code == 0, result.stderr
    files = list((wandb_env / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == len(PEAKED)
    history = []
    for records in map(read_records, files):
        run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
        assert (run.run_id, run.project) == ("sweep-1", "vlm")
        for r in records:
            if r.WhichOneof("record_type") == "history":
                row = {u.key or "/".join(u.nested_key): json.loads(u.value_json) for u in r.history.item}
                history.append((r.history.step.num, row))
    assert sorted(step for step, _ in history) == list(PEAKED)  # one row per checkpoint, at its step
    for step, row in history:
        report = json.loads(reports[list(PEAKED).index(step)].read_text())
        assert row["_step"] == step
        for key, value in report["metrics"].items():
            if value is not None:
                assert row[key] == pytest.approx(value), key
        for key, (low, high) in report["ci"].items():
            assert (row[f"{key}_ci_low"], row[f"{key}_ci_high"]) == (pytest.approx(low), pytest.approx(high))
    accuracy = [row["vqa_accuracy"] for _, row in sorted(history, key=lambda item: item[0])]
    assert accuracy.index(max(accuracy)) == 2  # the curve W&B draws peaks at step 3


def test_a_resumed_run_drops_the_earlier_checkpoints_interval_and_error_type_keys(cli, wandb_env, monkeypatch):
    """Resuming a run (--run-id) keeps its summary: keys only the earlier checkpoint had would stay and make
    the summary no one checkpoint's. (Offline every call is its own run; a stand-in run shows the resume.)"""
    from vlmeval.report.report import load_report
    from vlmeval.report.wandb_log import log_report

    assert cli("caption", CAPTION_JSONL, "--metrics", "Bleu", "--out", "r.json", "--quiet").exit_code == 0

    class Summary(dict):
        pass

    class Run:
        step, dir = 0, ""

        def __init__(self):
            self.summary = Summary({"Bleu_1_ci_low": 0.1, "Bleu_1_ci_high": 0.2, "error_type/spam": 0.5, "Bleu_1": 0.3,
                                    "my_own": 1})  # fmt: skip

        def log(self, *a, **k):
            pass

        def log_artifact(self, *a):
            pass

        def finish(self):
            pass

    run = Run()
    monkeypatch.setattr(wandb, "init", lambda **kwargs: run)
    log_report(load_report(wandb_env / "r.json"), wandb_env / "r.json", project="p", entity=None, run_name=None,
               tags=[], run_id="series", step=5)  # fmt: skip
    assert "Bleu_1_ci_low" not in run.summary and "error_type/spam" not in run.summary
    assert run.summary["my_own"] == 1 and run.summary["Bleu_1"] != 0.3
