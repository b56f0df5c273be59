"""`vlmeval vqa` and `vlmeval docvqa` through the CLI: official formats, generic records, breakdowns,
variants, missing predictions, gates, bad input."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES, write_jsonl

VQA = FIXTURES / "vqa"
DOC = FIXTURES / "docvqa"


def _report(tmp_path, name="r.json"):
    return json.loads((tmp_path / name).read_text())


def test_vqa_official_format_with_breakdowns(cli, tmp_path):
    official = json.loads((VQA / "official_outputs.json").read_text())["a013f00"]["accuracy"]
    result = cli("vqa", VQA / "results_600.json", "--annotations", VQA / "v2_annotations_600.json",
                 "--questions", VQA / "v2_questions_600.json", "--out", "r.json", "--failures", "3")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path)
    assert report["metrics"]["vqa_accuracy"] == official["overall"]
    assert abs(report["metrics"]["vqa_accuracy_unrounded"] - official["overall"]) < 0.005
    assert {k: v["vqa_accuracy"] for k, v in report["breakdown"]["answer_type"].items()} == official[
        "perAnswerType"
    ]
    assert {k: v["vqa_accuracy"] for k, v in report["breakdown"]["question_type"].items()} == official[
        "perQuestionType"
    ]
    assert report["signature"]["vqa_accuracy"].startswith(
        "VQA-acc|variant:official-2021|parity:GT-Vision-Lab/VQA@a013f00"
    )
    assert len(report["failures"]) == 3 and report["failures"][0]["question"]
    assert len(report["inputs"]) == 3


def test_vqa_variants_and_generic_records(cli, tmp_path):
    official = json.loads((VQA / "official_outputs.json").read_text())
    for variant, version in (("official-2021", "a013f00"), ("official-2017", "a4f1afd")):
        result = cli("vqa", VQA / "vqa_600.jsonl", "--variant", variant, "--out", "r.json", "--quiet")
        assert result.exit_code == 0, result.stderr
        assert _report(tmp_path)["metrics"]["vqa_accuracy"] == official[version]["accuracy"]["overall"]
    result = cli("vqa", VQA / "vqa_600.jsonl", "--variant", "harness", "--out", "r.json", "--quiet")
    assert "variant:harness" in _report(tmp_path)["signature"]["vqa_accuracy"]


def test_vqa_missing_predictions(cli, tmp_path):
    results = json.loads((VQA / "results_600.json").read_text())
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(results[:-2] + [{"question_id": 1, "answer": "x"}]))
    args = ("vqa", partial, "--annotations", VQA / "v2_annotations_600.json")
    result = cli(*args)
    assert result.exit_code == 2
    assert "2 of 600 references have no prediction" in result.stderr and "--allow-missing" in result.stderr
    result = cli(*args, "--allow-missing", "--out", "r.json")
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path)
    assert report["counts"]["missing_prediction"] == 2 and report["counts"]["skipped"] == {
        "extra_prediction": 1
    }
    missing = [results[-1]["question_id"], results[-2]["question_id"]]
    scores = dict(zip(report["per_sample"]["ids"], report["per_sample"]["vqa_accuracy"]))
    assert [scores[str(q)] for q in missing] == [0.0, 0.0]
    assert "scored as 0" in result.stderr


def test_vqa_gates_and_free_form_metrics(cli, tmp_path):
    args = ("vqa", VQA / "vqa_600.jsonl", "--out", "r.json")
    assert cli(*args, "--min", "vqa_accuracy=70").exit_code == 0
    assert cli(*args, "--min", "vqa_accuracy=71").exit_code == 1
    assert cli(*args, "--min", "vqa_accuracy_unrounded=70.02").exit_code == 1  # 70.0166... < 70.02
    assert cli(*args, "--min-cider", "1").exit_code == 2
    result = cli(*args, "--metrics", "vqa_accuracy,ROUGE,Bleu_1", "--quiet")
    assert result.exit_code == 0, result.stderr
    metrics = _report(tmp_path)["metrics"]
    assert list(metrics)[:1] == ["vqa_accuracy"] and {"ROUGE_1", "ROUGE_2", "ROUGE_L", "Bleu_1"} <= set(
        metrics
    )


def test_vqa_bad_input(cli, tmp_path):
    bad = write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "prediction": "yes", "answers": []}])
    result = cli("vqa", bad)
    assert result.exit_code == 2 and f"{bad}:1: 'answers' must be a non-empty list" in result.stderr
    results_only = tmp_path / "res.json"
    results_only.write_text(json.dumps([{"question_id": 1, "answer": "yes"}]))
    result = cli("vqa", results_only)
    assert (
        result.exit_code == 2
        and "official results need the ground truth: pass --annotations" in result.stderr
    )


def test_docvqa_rrc_format_with_breakdowns(cli, tmp_path):
    from tests.reference import rrc_anls

    gt = json.loads((DOC / "gt_400.json").read_text())["data"]
    preds = {p["questionId"]: p["answer"] for p in json.loads((DOC / "submission_400.json").read_text())}
    expected = [rrc_anls(q["answers"], preds[q["questionId"]]) for q in gt]
    result = cli("docvqa", DOC / "submission_400.json", "--refs", DOC / "gt_400.json", "--out", "r.json")
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path)
    assert report["metrics"]["ANLS"] == sum(expected) / len(expected)
    assert set(report["breakdown"]) == {"answer_type", "evidence", "operation", "error_type"}
    table = report["breakdown"]["evidence"]["table/list"]
    members = [e for q, e in zip(gt, expected) if "table/list" in q["evidence"]]
    assert table["count"] == len(members) and table["ANLS"] == sum(members) / len(members)
    result = cli("docvqa", DOC / "docvqa_400.jsonl", "--out", "g.json", "--threshold", "0.8")
    assert result.exit_code == 0
    assert _report(tmp_path, "g.json")["signature"]["ANLS"].startswith("ANLS|tau:0.8|")


def _typed(report):
    """Each failing question's error type, by id, from the report's per-sample list."""
    return {i: t for i, t in zip(report["per_sample"]["ids"], report["per_sample"]["error_type"]) if t}


def test_vqa_error_types_on_model_style_answers(cli, tmp_path):
    """A question fails when fewer than 3 of its 10 humans gave the answer; the 600 fixture answers' failures
    split into the types the README's table defines, and every failure row carries its type."""
    result = cli("vqa", VQA / "vqa_600.jsonl", "--failures", "10", "--out", "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path)
    assert report["metrics"]["failure_rate"] == 200 / 600
    assert {k: v["count"] for k, v in report["breakdown"]["error_type"].items()} == {
        "wrong_other": 67, "wrong_number": 50, "format": 39, "extra_words": 25, "yes_no_flip": 19,
    }  # fmt: skip
    assert report["signature"]["failure_rate"].startswith("failure-rate|failed:matches<min(3,n)|variant:official-2021")
    typed = _typed(report)
    assert typed["457035004"] == "yes_no_flip" and typed["272007001"] == "extra_words"  # "yes" for 10 "no"; "yes, yes"
    assert all(row["error_type"] for row in report["failures"])
    rows = [
        {"id": "empty", "prediction": "", "answers": ["2"] * 10},
        {"id": "refusal", "prediction": "Sorry, I cannot tell.", "answers": ["red"] * 10},
        {"id": "dots", "prediction": "...", "answers": ["red"] * 10},
        {"id": "case", "prediction": "Two", "answers": ["2"] * 10},
        {"id": "right", "prediction": "2", "answers": ["2"] * 10},
    ]
    write_jsonl(tmp_path / "p.jsonl", rows)
    assert cli("vqa", "p.jsonl", "--out", "p.json", "--quiet").exit_code == 0
    typed = _typed(_report(tmp_path, "p.json"))
    assert typed == {"empty": "empty", "refusal": "refusal", "dots": "unparseable", "case": "format"}
    # the harness variant normalises both sides: the case difference is no failure there
    assert cli("vqa", "p.jsonl", "--variant", "harness", "--out", "h.json", "--quiet").exit_code == 0
    assert "case" not in _typed(_report(tmp_path, "h.json"))
    # the types do not depend on --metrics: failure is defined by VQA accuracy, computed anyway
    assert cli("vqa", "p.jsonl", "--metrics", "exact_match", "--out", "e.json", "--quiet").exit_code == 0
    assert _typed(_report(tmp_path, "e.json")) == typed


def test_docvqa_error_types(cli, tmp_path):
    """Failed: ANLS below 1. The fixture's model errors (extra words, truncation, OCR slips) land in their
    types; a missing prediction under --allow-missing is empty."""
    result = cli("docvqa", DOC / "docvqa_400.jsonl", "--failures", "400", "--out", "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path)
    anls = report["per_sample"]["ANLS"]
    assert report["metrics"]["failure_rate"] == sum(a < 1 for a in anls) / len(anls)
    assert {k: v["count"] for k, v in report["breakdown"]["error_type"].items()} == {
        "near_miss": 53, "wrong": 45, "truncated": 36, "extra_words": 26, "empty": 12,
    }  # fmt: skip
    examples = {row["prediction"]: row["error_type"] for row in report["failures"]}
    assert examples["The answer is 1997"] == "extra_words"
    assert examples["ABC-"] == "truncated" and examples["22.2S%"] == "near_miss"
    assert examples["Mary Reynolds"] == "wrong"
    # partial ANLS credit is a failure (near_miss), and the failure rows are worst first
    assert all(row["error_type"] for row in report["failures"] if row["score"] < 1)
    gt = json.loads((DOC / "gt_400.json").read_text())
    subs = json.loads((DOC / "submission_400.json").read_text())
    (tmp_path / "partial.json").write_text(json.dumps(subs[:-1]))
    assert cli("docvqa", "partial.json", "--refs", DOC / "gt_400.json", "--allow-missing", "--out", "m.json",
               "--quiet").exit_code == 0  # fmt: skip
    missing = str(gt["data"][-1]["questionId"])
    assert _typed(_report(tmp_path, "m.json"))[missing] == "empty"
