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
    summary = {}
    for r in records:
        if r.WhichOneof("record_type") == "summary":
            for u in r.summary.update:
                path = [u.key] if u.key else list(u.nested_key)
                node = summary
                for part in path[:-1]:
                    node = node.setdefault(part, {})
                node[path[-1]] = json.loads(u.value_json)
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
