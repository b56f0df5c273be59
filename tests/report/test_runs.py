"""`vlmeval compare` over runs and checkpoints (schema vlmeval.runs/1), the blind comparison
(vlmeval.blind/1) and the series HTML page, through the CLI on real fixture data (tests/report/checkpoints.py:
the 600 VQA v2 questions with their real answers, broken sample by sample into checkpoints)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.report.checkpoints import PEAKED, prior_answers, records, score, write_flat, write_series
from tests.report.test_html import _chromium, _parse

FAST = ("--bootstrap", "300", "--trials", "300")


def _invoke(*args: object):
    from typer.testing import CliRunner

    from vlmeval.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def peaked(tmp_path_factory):
    """Five checkpoints whose answers get better up to step 3, then worse (lr and model alike in all)."""
    folder = tmp_path_factory.mktemp("peaked")
    return write_series(_invoke, folder, "peak", PEAKED, "--meta", "lr=3e-4", "--meta", "model=qwen2.5-vl-2b")


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    return write_flat(_invoke, tmp_path_factory.mktemp("flat"))


def _json(result) -> dict:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _load(paths):
    from vlmeval.report.report import load_report

    return [load_report(p) for p in paths]


def test_five_checkpoints_peak_at_step_3_and_the_decline_is_significant(cli, tmp_path, peaked):
    from vlmeval.tasks import higher_is_better

    shuffled = [peaked[i] for i in (4, 2, 0, 3, 1)]  # given out of order: ordered by meta.step
    out = _json(cli("compare", *shuffled, "--format", "json", "--out", "runs.json"))
    assert json.loads((tmp_path / "runs.json").read_text()) == out
    assert out["schema"] == "vlmeval.runs/1" and out["order"] == "step" and out["shared"] == {"ids": 600}
    assert [run["meta"]["step"] for run in out["runs"]] == [1, 2, 3, 4, 5]
    assert [run["label"] for run in out["runs"]] == [f"peak{k}" for k in range(1, 6)]  # the file names
    accuracy = [run["metrics"]["vqa_accuracy"] for run in out["runs"]]
    values = [m["value"] for m in accuracy]
    assert values[0] < values[1] < values[2] > values[3] > values[4]
    for metric, path in zip(accuracy, peaked):
        assert metric["value"] == json.loads(path.read_text())["metrics"]["vqa_accuracy"]
        assert metric["ci_source"] == "bootstrap" and metric["ci"][0] < metric["value"] < metric["ci"][1]
    peak = out["peak"]["vqa_accuracy"]
    assert (peak["label"], peak["step"], peak["last"], peak["last_step"]) == ("peak3", 3, "peak5", 5)
    assert peak["declined"] is True and peak["p_decline"] < 0.05 and peak["drop_ci"][0] > 0
    assert peak["drop"] == pytest.approx(values[2] - values[4], abs=0.01)  # paired, on the unrounded means
    best = out["best"]["vqa_accuracy"]
    assert (best["run"], best["runner_up"]) == ("peak3", "peak4") and best["p"] < 0.05
    for key, row in out["best"].items():  # higher or lower is better, as each metric declares
        scores = [run["metrics"][key]["value"] for run in out["runs"]]
        assert row["value"] == (max if higher_is_better("vqa", key) else min)(scores), key
        assert out["peak"][key]["label"] == "peak3", key


def test_a_flat_series_does_not_decline(cli, flat):
    out = _json(cli("compare", *flat, "--format", "json", "--out", "runs.json"))
    peak = out["peak"]["vqa_accuracy"]
    assert peak["declined"] is False and peak["p_decline"] >= 0.05
    assert peak["drop_ci"][0] < 0 < peak["drop_ci"][1]


@pytest.mark.parametrize("test", ["paired-bootstrap", "approx-randomization"])
def test_best_and_its_p_value_equal_compare_reports_on_that_pair(flat, test):
    from vlmeval.report.compare import P_KEYS, compare_reports
    from vlmeval.report.runs import compare_runs

    runs = compare_runs(_load(flat), flat, resamples=300, trials=300, test=test)
    by_label = {p.stem: p for p in flat}
    tested = [key for key, best in runs.best.items() if best["p"] is not None]
    assert "vqa_accuracy" in tested
    for key in tested:
        best = runs.best[key]
        pair = compare_reports(*_load([by_label[best["runner_up"]], by_label[best["run"]]]), resamples=300,
                               trials=300, test=test)  # fmt: skip
        row = pair.rows[key]
        assert (best["delta"], best["ci"], best["p"]) == (row["delta"], row["ci"], row[P_KEYS[test]]), key


def test_max_drop_gates_the_newest_run_against_the_best_earlier_one(cli, tmp_path, peaked, flat):
    failed = cli("compare", *peaked, *FAST, "--max-drop", "vqa_accuracy=1", "--out", "g.json")
    assert failed.exit_code == 1, failed.stderr
    assert re.search(r"gate failed: vqa_accuracy dropped [\d.]+ from peak3 to peak5 \(max 1, p=", failed.stderr)
    (gate,) = json.loads((tmp_path / "g.json").read_text())["gates"]
    assert (gate["run"], gate["against"], gate["passed"]) == ("peak5", "peak3", False) and gate["p"] < 0.05
    assert cli("compare", *peaked, *FAST, "--max-drop", "vqa_accuracy=50", "--out", "g.json").exit_code == 0
    # the newest of a flat series is not significantly worse than the best before it, whatever DELTA
    assert cli("compare", *flat, *FAST, "--max-drop", "vqa_accuracy=0", "--out", "g.json").exit_code == 0


def test_signature_mismatch_is_refused_unless_forced(cli, tmp_path, peaked):
    harness = score(cli, tmp_path, "harness", records(), 6, "--variant", "harness")
    refused = cli("compare", *peaked[:2], harness, *FAST, "--out", "c.json")
    assert refused.exit_code == 2 and "signatures differ" in refused.stderr and "--force" in refused.stderr
    assert not (tmp_path / "c.json").exists()
    forced = cli("compare", *peaked[:2], harness, *FAST, "--force", "--out", "c.json", "--format", "json")
    assert forced.exit_code == 0 and "compared because of --force" in forced.stderr


def test_a_blind_run_that_answers_as_well_warns(cli, tmp_path, flat):
    """FULL and BLIND each miss a different random 5%: the image adds nothing measurable."""
    from vlmeval.report.runs import blind_gain

    result = cli("compare", flat[2], "--blind", flat[3], "--format", "json", "--out", "b.json")
    out = _json(result)
    assert out["schema"] == "vlmeval.blind/1" and out["primary"] == "vqa_accuracy"
    gain = out["multimodal_gain"]["vqa_accuracy"]
    assert gain["significant"] is False and gain["p"] >= 0.05 and gain["ci"][0] < 0 < gain["ci"][1]
    assert "the model may be ignoring the image" in result.stderr
    assert blind_gain(*_load([flat[2], flat[3]]), [flat[2], flat[3]]).to_dict() == out  # the API gives the same


def test_a_blind_run_on_the_language_prior_does_not_warn(cli, tmp_path, peaked):
    """BLIND answers every question with its answer type's commonest answer, as a model that never looks."""
    prior = score(cli, tmp_path, "prior", prior_answers(records()), None)
    result = cli("compare", peaked[2], "--blind", prior, "--format", "json", "--out", "b.json")
    gain = _json(result)["multimodal_gain"]["vqa_accuracy"]
    assert gain["significant"] is True and gain["p"] < 0.05 and gain["ci"][0] > 0
    assert gain["delta"] == pytest.approx(gain["full"] - gain["blind"])
    assert "ignoring the image" not in result.stderr
    table = cli("compare", peaked[2], "--blind", prior, *FAST, "--out", "b.json")
    assert table.exit_code == 0 and "image withheld" in table.stdout


def test_two_reports_are_a_pair_and_with_runs_a_series(cli, peaked):
    pair = _json(cli("compare", *peaked[:2], *FAST, "--format", "json", "--out", "p.json"))
    assert pair["schema"] == "vlmeval.compare/1"
    runs = _json(cli("compare", *peaked[:2], "--runs", *FAST, "--format", "json", "--out", "r.json"))
    assert runs["schema"] == "vlmeval.runs/1" and len(runs["runs"]) == 2
    assert runs["best"]["vqa_accuracy"]["run"] == "peak2"
    assert runs["best"]["vqa_accuracy"]["delta"] == pair["metrics"]["vqa_accuracy"]["delta"]
    peak = runs["peak"]["vqa_accuracy"]  # the best is the last checkpoint: nothing to decline from
    assert (peak["step"], peak["declined"], peak["p_decline"], peak["drop"]) == (2, False, None, 0.0)


def test_the_run_table_shows_the_meta_that_differs_and_the_best_in_bold(cli, peaked):
    from vlmeval.report.runs import compare_runs
    from vlmeval.report.table import runs_tables

    result = cli("compare", *peaked, *FAST, "--out", "t.json")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("run "))
    assert re.split(r"\s*┃\s*", header.strip())[:3] == ["run", "step", "vqa_accuracy"]
    assert "lr" not in header and "model" not in header  # the same in every run
    assert [line.split()[0] for line in lines if line.lstrip().startswith("peak")] == [f"peak{k}" for k in range(1, 6)]
    assert any("Best and peak" in line for line in lines)
    table = runs_tables(compare_runs(_load(peaked), peaked, resamples=300, trials=300))[0]
    column = next(c for c in table.columns if str(c.header) == "vqa_accuracy")
    assert [i for i, cell in enumerate(column.cells) if "bold" in str(cell.style)] == [2]  # step 3
    assert cli("report", *peaked).stdout.count("peak3") >= 2  # `report` over several: the same tables


def _hostile_series(folder, peaked) -> list:
    """The series with model and user text in its labels, meta and a file name."""
    paths = []
    for k, path in enumerate(peaked):
        doc = json.loads(path.read_text())
        doc["meta"]["note"] = f"<img src=x onerror=alert({k})>"
        if k:
            doc["meta"]["run"] = f"<script>alert({k})</script> ckpt & co"
        paths.append(folder / (f"a&<i>{k}.json" if not k else f"h{k}.json"))
        paths[-1].write_text(json.dumps(doc))
    return paths


def test_the_series_page_has_a_plot_per_metric_and_escapes_every_user_string(cli, tmp_path, peaked):
    hostile = _hostile_series(tmp_path, peaked)
    out = _json(cli("compare", *hostile, "--html", "s.html", "--out", "s.json", "--format", "json"))
    text = (tmp_path / "s.html").read_text(encoding="utf-8")
    for raw in ("<script>alert", "<img src=x", "<i>0", "& co"):
        assert raw not in text, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ckpt &amp; co" in text and "&lt;img src=x onerror=alert(2)&gt;" in text
    assert "a&amp;&lt;i&gt;0" in text  # the label from the file name
    assert "paired-bootstrap on the 600 samples all runs share · 1000 resamples, seed 12345" in text
    page = _parse(tmp_path / "s.html")
    assert {"runs", "best", "plots"} <= page.ids
    plotted = [k for k in out["scale"] if any(run["metrics"][k]["value"] is not None for run in out["runs"])]
    banded = [k for k in plotted if all(run["metrics"][k]["ci"] for run in out["runs"])]
    assert page.classes["series"] == len(plotted) and page.classes["band"] == len(banded)
    assert page.classes["peak"] == len(plotted)  # one peak circled on each
    assert page.classes["best"] == len(out["best"])  # one best cell per metric in the run table
    assert cli("report", *hostile, "--html", "r.html", "-q").exit_code == 0
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == text  # `report A B C --html`: the same page


@pytest.mark.skipif(_chromium() is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_the_series_page_renders_in_headless_chromium(cli, tmp_path, peaked):
    out = _json(cli("compare", *peaked, *FAST, "--html", "s.html", "--out", "s.json", "--format", "json"))
    dom = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--enable-logging=stderr",
         "--v=0", "--dump-dom", (tmp_path / "s.html").resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    root = re.search(r"<html[^>]*>", dom.stdout).group(0)
    assert 'data-rendered="ok"' in root
    assert f'data-plots="{len(out["scale"])}"' in root and f'data-peaks="{len(out["scale"])}"' in root
    assert '<table id="runs">' in dom.stdout and dom.stdout.count("<polygon") >= 3  # interval bands
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
