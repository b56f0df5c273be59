"""`vlmeval caption` through the CLI: exit codes, gates, report shape, streams, every bad-input case."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import CAPTION_JSONL, sha256, write_jsonl

FAST = ("--metrics", "Bleu,ROUGE_L,CIDEr")


def _records(n=5):
    return [
        {
            "id": i,
            "prediction": f"a dog number {i} runs",
            "references": [f"a dog {i} runs fast", "a dog is running"],
        }
        for i in range(n)
    ]


def test_report_shape_and_streams(cli, tmp_path):
    result = cli("caption", CAPTION_JSONL, *FAST, "--out", "r.json")
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    for key in (
        "schema",
        "task",
        "metrics",
        "scale",
        "signature",
        "counts",
        "per_sample",
        "inputs",
        "environment",
    ):
        assert key in report
    assert report["schema"] == "vlmeval.report/1" and report["task"] == "caption"
    assert list(report["metrics"]) == ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr", "failure_rate"]
    assert report["scale"]["CIDEr"] == "0-10" and report["scale"]["Bleu_4"] == "0-1"
    assert report["signature"]["CIDEr"].startswith("CIDEr-D|n:4|sigma:6|idf:corpus-500|")
    assert report["signature"]["CIDEr"].endswith("|v:0.1.0")
    assert report["counts"]["records"] == 500 and report["counts"]["scored"] == 500
    assert report["counts"]["empty_prediction"] == 2
    assert len(report["per_sample"]["ids"]) == 500 == len(report["per_sample"]["CIDEr"])
    assert report["inputs"][0]["sha256"] == sha256(CAPTION_JSONL)
    assert report["environment"]["vlmeval"] == "0.1.0"
    assert "CIDEr" in result.stdout and "Traceback" not in result.stderr
    assert list(tmp_path.glob(".r.json.*")) == []  # the temporary file was renamed, not left behind


def test_json_on_stdout_is_the_reports_summary(cli, tmp_path):
    """--format json prints the report's numbers and how they were made; the per-sample lists (a 1 MB
    report on COCO-5k) stay in the file, whose path it names."""
    from vlmeval.report.report import SUMMARY

    result = cli("caption", CAPTION_JSONL, *FAST, "--format", "json", "--out", "r.json")
    assert result.exit_code == 0
    printed, report = json.loads(result.stdout), json.loads((tmp_path / "r.json").read_text())
    assert printed.pop("report") == "r.json" and "per_sample" not in printed
    assert printed == {k: report[k] for k in SUMMARY if k in report}


@pytest.mark.parametrize(
    "gate, code",
    [
        (("--min-cider", "0.5"), 0),
        (("--min-cider", "5"), 1),
        (("--min", "cider=0.5", "--min", "Bleu_4=0.9"), 1),
        (("--max", "ROUGE_L=0.1"), 1),
        (("--max", "ROUGE_L=1"), 0),
    ],
)
def test_gates(cli, tmp_path, gate, code):
    result = cli("caption", CAPTION_JSONL, *FAST, *gate, "--out", "r.json")
    assert result.exit_code == code, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())  # written whatever the gates say
    assert [g["passed"] for g in report["gates"]].count(False) == (1 if code else 0)
    if code:
        assert "gate failed" in result.stderr


@pytest.mark.parametrize(
    "gate, message",
    [
        (("--min", "SPIDEr=1"), "cannot gate on 'SPIDEr'"),
        (("--min", "CIDEr"), "--min expects METRIC=VALUE"),
        (("--min", "CIDEr=high"), "is not a number"),
        (("--metrics", "BLEU,nope"), "unknown metric 'nope'"),
    ],
)
def test_bad_usage_exits_2_before_any_work(cli, tmp_path, gate, message):
    result = cli("caption", CAPTION_JSONL, *gate, "--out", "r.json")
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r.json").exists()


def test_malformed_line_is_file_line_and_nothing_is_written(cli, tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text(
        '{"id": 1, "prediction": "a", "references": ["a"]}\n{"id": 2, "prediction": \n', encoding="utf-8"
    )
    result = cli("caption", preds, "--out", "r.json")
    assert result.exit_code == 2
    assert f"{preds}:2: not valid JSON" in result.stderr
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize(
    "record, message",
    [
        ({"id": 9, "references": ["a"]}, "missing field 'prediction' (fields present: id, references)"),
        ({"id": 9, "prediction": "a", "references": "a"}, "'references' must be a list of strings"),
        ({"id": 9, "prediction": "a", "references": []}, "'references' is empty"),
        ({"id": 9, "prediction": None, "references": ["a"]}, "'prediction' is null"),
        ({"id": None, "prediction": "a", "references": ["a"]}, "'id' must be a string or an integer"),
        ({"id": 1e30, "prediction": "a", "references": ["a"]},
         "'id' must be a string or an integer, got the number 1e+30, a float too large to hold an integer exactly"),
        ({"id": 1, "prediction": "a", "references": ["a"]}, "duplicate prediction id '1' (first at line 2)"),
    ],
)
def test_bad_records(cli, tmp_path, record, message):
    preds = write_jsonl(tmp_path / "p.jsonl", _records(3) + [record])
    result = cli("caption", preds, *FAST)
    assert result.exit_code == 2
    assert f"{preds}:4: {message}" in result.stderr


def test_missing_extra_and_allow_missing(cli, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": i, "prediction": "a dog runs"} for i in (0, 1, 2, 7)])
    refs = write_jsonl(
        tmp_path / "r.jsonl", [{"id": i, "references": ["a dog runs", "a dog"]} for i in range(5)]
    )
    result = cli("caption", preds, "--refs", refs, *FAST)
    assert result.exit_code == 2
    assert "2 of 5 references have no prediction ('3', '4'); pass --only-predicted" in result.stderr
    assert "or --allow-missing to score them as empty predictions" in result.stderr
    result = cli("caption", preds, "--refs", refs, *FAST, "--allow-missing", "--out", "r.json")
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["counts"]["missing_prediction"] == 2
    assert report["counts"]["skipped"] == {"extra_prediction": 1}
    assert report["counts"]["scored"] == 5
    assert report["per_sample"]["ROUGE_L"][3:] == [0.0, 0.0]  # scored as empty predictions
    assert "1 predictions have no reference and were skipped ('7')" in result.stderr
    assert "warning" not in cli("caption", preds, "--refs", refs, *FAST, "--allow-missing", "--quiet").stderr


def test_no_common_ids(cli, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": "x", "prediction": "a"}])
    refs = write_jsonl(tmp_path / "r.jsonl", [{"id": "y", "references": ["a"]}])
    result = cli("caption", preds, "--refs", refs)
    assert result.exit_code == 2 and "no prediction id matches a reference id" in result.stderr


def test_small_corpus_warns_about_cider(cli, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", _records(3))
    result = cli("caption", preds, *FAST)
    assert result.exit_code == 0
    assert "CIDEr-D on 3 images" in result.stderr


def test_inputs_are_not_modified(cli, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", _records(4))
    before = sha256(preds)
    cli("caption", preds, *FAST)
    assert sha256(preds) == before


def test_csv_input(cli, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        'id,prediction,references\n1,a dog runs,"[""a dog runs"", ""a dog""]"\n2,a cat,a cat sits\n'
    )
    result = cli("caption", path, *FAST, "--out", "r.json")
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["counts"]["scored"] == 2


def test_report_command(cli, tmp_path):
    cli("caption", CAPTION_JSONL, *FAST, "--out", "r.json")
    result = cli("report", "r.json")
    assert result.exit_code == 0 and "CIDEr" in result.stdout
    (tmp_path / "bad.json").write_text('{"schema": "other"}')
    result = cli("report", "bad.json")
    assert result.exit_code == 2 and "not a vlmeval report" in result.stderr


def test_metrics_command_lists_every_metric(cli):
    from vlmeval.tasks import listed_metrics

    result = cli("metrics")
    assert result.exit_code == 0
    for key in listed_metrics():
        assert key in result.stdout


def test_cider_interval_does_not_depend_on_the_chunk_size():
    """Above 10,000 images a corpus is scored in chunks; CIDEr-D's bootstrap must still resample the
    document frequencies of the whole corpus (it fell back to a fixed-IDF mean of per-image scores, under
    the same signature, whenever there was more than one chunk)."""
    from vlmeval.io.captions import load_captions
    from vlmeval.progress import QUIET
    from vlmeval.report.bootstrap import add_intervals
    from vlmeval.run import build_report
    from vlmeval.tasks.caption import TASK, evaluate

    data = load_captions(CAPTION_JSONL)
    intervals = []
    for chunk in (10_000, 37, 250):
        result = evaluate(data, ["CIDEr"], {}, QUIET, chunk_images=chunk)
        report = build_report(TASK, result)
        add_intervals(report, 200, 12345, result.estimators)
        intervals.append(report.ci["CIDEr"])
    for other in intervals[1:]:
        np.testing.assert_allclose(other, intervals[0], rtol=0, atol=1e-12)


def test_only_predicted_scores_the_predicted_subset_as_pycocoevalcap(cli, tmp_path):
    """pycocoevalcap's ``cocoEval.params['image_id'] = cocoRes.getImgIds()``: only the images with a
    prediction are scored, and CIDEr-D's IDF comes from them. Oracle: pycocoevalcap on that subset."""
    from tests.conftest import CAPTION_COCO_ANN, CAPTION_COCO_RES
    from tests.reference import coco_caption_eval

    results = json.loads(CAPTION_COCO_RES.read_text())
    subset = results[::3]
    (tmp_path / "res.json").write_text(json.dumps(subset))
    result = cli("caption", tmp_path / "res.json", "--refs", CAPTION_COCO_ANN, *FAST, "--out", "r.json")
    assert result.exit_code == 2 and "--only-predicted" in result.stderr
    result = cli("caption", tmp_path / "res.json", "--refs", CAPTION_COCO_ANN, *FAST, "--only-predicted", "--out", "r.json")
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["counts"]["scored"] == len(subset)
    assert report["counts"]["skipped"]["reference_without_prediction"] == 500 - len(subset)
    annotations = json.loads(CAPTION_COCO_ANN.read_text())
    kept = {r["image_id"] for r in subset}
    annotations["images"] = [im for im in annotations["images"] if im["id"] in kept]
    annotations["annotations"] = [a for a in annotations["annotations"] if a["image_id"] in kept]
    (tmp_path / "ann.json").write_text(json.dumps(annotations))
    theirs, _, _, _ = coco_caption_eval(tmp_path / "ann.json", tmp_path / "res.json", meteor=False)
    for key in ("Bleu_4", "ROUGE_L", "CIDEr"):
        assert abs(report["metrics"][key] - theirs[key]) < 1e-9, key


def test_rouge_family_is_rouge_1_2_and_l(cli, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", _records(5))
    result = cli("caption", preds, "--metrics", "ROUGE", "--out", "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert list(report["metrics"]) == ["ROUGE_L", "ROUGE_1", "ROUGE_2", "failure_rate"]
    assert report["signature"]["ROUGE_1"].startswith("ROUGE-1|f:f1|tok:rouge-score")


def test_captions_with_line_breaks_are_counted_and_explained(cli, tmp_path):
    records = _records(3) + [{"id": 9, "prediction": "a dog\ron a mat", "references": ["a dog on a mat"]}]
    result = cli("caption", write_jsonl(tmp_path / "p.jsonl", records), *FAST, "--out", "r.json")
    assert result.exit_code == 0
    assert json.loads((tmp_path / "r.json").read_text())["counts"]["caption_line_breaks"] == 1
    assert "pycocoevalcap's tokenizer would split each in two" in result.stderr


def test_error_types_omission_and_the_edge_cases(cli, tmp_path, caption_records):
    """A caption fails when a rule applies (CIDEr has no fixed bar). On the fixture: its two empty
    predictions, the 'a a a a a' loop, and captions about something else than what the references share."""
    result = cli("caption", CAPTION_JSONL, *FAST, "--failures", "500", "--out", "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert {k: v["count"] for k, v in report["breakdown"]["error_type"].items()} == {
        "omission": 131, "empty": 2, "repetition": 1,
    }  # fmt: skip
    assert report["metrics"]["failure_rate"] == 134 / 500
    assert report["signature"]["failure_rate"].startswith("failure-rate|failed:a-type-applies|")
    rows = {row["id"]: row for row in report["failures"]}
    assert rows["233139"]["error_type"] == "empty"
    omitted = [row["score"] for row in rows.values() if row["error_type"] == "omission"]
    kept = [row["score"] for row in rows.values() if row["error_type"] is None]
    assert np.median(omitted) < np.median(kept) / 2  # the rule finds captions CIDEr ranks low


def test_error_types_hallucination_with_chair(cli, tmp_path):
    """With --instances, a caption that mentions an object its image lacks is a hallucination: the CHAIR
    fixture's captions of other images and its VLM-style captions with planted objects."""
    fixtures = CAPTION_JSONL.parents[1]
    captions = json.loads((fixtures / "chair/captions_val2017_mini.json").read_text())
    refs: dict = {}
    for ann in captions["annotations"]:
        refs.setdefault(ann["image_id"], []).append(ann["caption"])
    rows = [json.loads(x) for x in (fixtures / "chair/preds_val2017_mini.jsonl").read_text().splitlines()]
    write_jsonl(tmp_path / "p.jsonl", [
        {"id": r["id"], "image_id": r["image_id"], "prediction": r["caption"], "references": refs[r["image_id"]]}
        for r in rows
    ])  # fmt: skip
    # the original variant needs no tagger model (the others need NLTK's, which no registry ships)
    result = cli("caption", "p.jsonl", "--metrics", "CHAIR", "--chair-variant", "original", "--instances",
                 fixtures / "detection/instances_val2017_mini.json", "--out", "r.json", "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    types = dict(zip(report["per_sample"]["ids"], report["per_sample"]["error_type"]))
    hallucinated = dict(zip(report["per_sample"]["ids"], report["per_sample"]["chair_hallucinated"]))
    for r in rows:
        if types[r["id"]] not in ("empty", "repetition"):
            assert (types[r["id"]] == "hallucination") == bool(hallucinated[r["id"]]), r["id"]
    planted = [types[r["id"]] for r in rows if r["kind"] == "long_vlm_style"]
    # each has 1-3 planted objects; CHAIR's original variant misses two ("mug" for cup, "glass of wine")
    assert len(planted) == 79 and planted.count("hallucination") == 77
    assert "types:empty,repetition,hallucination,omission" in report["signature"]["failure_rate"]


def test_error_types_beside_the_run_equal_one_pass(monkeypatch):
    """Past one chunk the error types are found in a worker process, slice by slice, while the run scores
    (tasks/caption.py ``_TypesBeside``; the last slices are shared with this process); one chunk finds them
    in a forked process. Each slice's types depend on its own texts only: all equal one pass over the corpus."""
    import dataclasses

    import vlmeval.metrics.errors as errors
    from vlmeval.io.captions import load_captions
    from vlmeval.metrics.errors import caption_error_types
    from vlmeval.progress import QUIET
    from vlmeval.tasks.caption import evaluate

    data = load_captions(CAPTION_JSONL)
    # a few failures of each kind among the real captions: empty, a generation loop, low recall
    predictions = list(data.predictions)
    predictions[3], predictions[80] = "", "a dog a dog a dog a dog"
    predictions[200:210] = ["purple elephants juggling"] * 10
    data = dataclasses.replace(data, predictions=predictions)
    expected = caption_error_types(data.predictions, data.references)
    assert {"empty", "repetition", "omission"} <= set(expected)
    import vlmeval.tasks.caption as task

    monkeypatch.setattr(errors, "ERROR_CHUNK", 37)  # the slices this process cuts (the worker keeps 10,000)
    monkeypatch.setattr(task, "EARLY_TYPES", 100)  # one chunk of 500 images: the forked process
    for chunk in (37, 120, 10_000):
        result = evaluate(data, ["Bleu_4"], {}, QUIET, chunk_images=chunk)
        assert result.error_types == expected
