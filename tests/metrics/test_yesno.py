"""Yes/no labels and scores against the benchmarks' own scripts, restated in tests/reference.

References: POPE's evaluate.py (tests/reference/pope.py, AoiDragon/POPE 08d957b), MME's calculation.py
(tests/reference/mme.py, Awesome-MLLM Evaluation branch 1c1d69e), VLMEvalKit e8e78f0's YOrN_Extraction,
POPE_rating F1 and MME_rating (tests/reference/vlmevalkit.py), lmms-eval 75571cf's POPE and MME utils
(tests/reference/lmms_eval.py). Fixtures: fixtures/yesno/pope_coco.jsonl (324 real POPE COCO questions,
108 per split) and mme_style.jsonl (168 MME-style questions, 14 subtasks x 6 images x 2), with predictions
in the styles models write. Every expected number comes from running a reference here.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES
from tests.reference import lmms_eval as olm
from tests.reference import mme as omme
from tests.reference import pope as opope
from tests.reference import vlmevalkit as ovk
from vlmeval.io.choice import read_yesno_records
from vlmeval.metrics.yesno import RULES, breakdown, mme_scores, parse_yesno, score_yesno

YESNO = FIXTURES / "yesno"


@pytest.fixture(scope="module")
def pope():
    return read_yesno_records(YESNO / "pope_coco.jsonl")


@pytest.fixture(scope="module")
def mme():
    return read_yesno_records(YESNO / "mme_style.jsonl")


def _split(data, split):
    idx = [i for i, c in enumerate(data.categories) if c == split]
    return [data.predictions[i] for i in idx], [data.answers[i] for i in idx]


@pytest.mark.parametrize("split", [None, "random", "popular", "adversarial"])
def test_pope_equals_evaluate_py(pope, split):
    preds, answers = (pope.predictions, pope.answers) if split is None else _split(pope, split)
    ref = opope.evaluate([{"answer": p} for p in preds], answers)
    ours = score_yesno(preds, answers, rule="pope")
    assert [1 if lab == "yes" else 0 for lab in ours.labels] == ref["pred_list"]
    assert (ours.tp.sum(), ours.fp.sum(), ours.tn.sum(), ours.fn.sum()) == (
        ref["TP"],
        ref["FP"],
        ref["TN"],
        ref["FN"],
    )
    m = ours.metrics()
    for key, theirs in [("accuracy", "Accuracy"), ("precision", "Precision"), ("recall", "Recall"), ("f1", "F1 score"),
                        ("yes_ratio", "Yes ratio")]:  # fmt: skip
        assert m[key] == pytest.approx(100 * ref[theirs], abs=1e-9)
    assert m["unparsed"] == 0


def test_pope_breakdown_per_split(pope):
    scores = score_yesno(pope.predictions, pope.answers, rule="pope", categories=pope.categories)
    table = breakdown(scores, pope.categories)
    assert sorted(table) == ["adversarial", "popular", "random"]
    for split, row in table.items():
        preds, answers = _split(pope, split)
        ref = opope.evaluate([{"answer": p} for p in preds], answers)
        assert row["f1"] == pytest.approx(100 * ref["F1 score"], abs=1e-9) and row["count"] == 108


def test_vlmevalkit_labels_and_pope_rating(pope):
    extracted, hits = ovk.yorn_scores([a.capitalize() for a in pope.answers], pope.predictions)
    ours = score_yesno(pope.predictions, pope.answers, rule="vlmevalkit")
    assert ours.labels == [{"Yes": "yes", "No": "no", "Unknown": None}[e] for e in extracted]
    assert ours.correct.tolist() == [int(h) for h in hits]
    f1, precision, recall = ovk.pope_f1(
        [int(a == "yes") for a in pope.answers], [int(e == "Yes") for e in extracted]
    )
    m = ours.metrics()
    assert (m["f1"], m["precision"], m["recall"]) == pytest.approx(
        (100 * f1, 100 * precision, 100 * recall), abs=1e-9
    )
    assert m["accuracy"] == pytest.approx(100 * sum(hits) / len(hits), abs=1e-9)
    assert m["unparsed"] == extracted.count("Unknown") > 0


def test_exact_equals_lmms_eval_pope(pope):
    results = [olm.pope_process_results({"question_id": i, "answer": a}, [p])["pope_accuracy"]
               for i, (p, a) in enumerate(zip(pope.predictions, pope.answers))]  # fmt: skip
    ours = score_yesno(pope.predictions, pope.answers, rule="exact")
    assert ours.labels == [r["prediction"] if r["prediction"] in ("yes", "no") else None for r in results]
    m = ours.metrics()
    assert m["accuracy"] == pytest.approx(100 * olm.pope_aggregate_accuracy(results), abs=1e-9)
    assert m["precision"] == pytest.approx(100 * olm.pope_aggregate_precision(results), abs=1e-9)
    # lmms-eval's recall leaves unparsed answers to yes-questions out of FN; ours counts them as misses
    unparsed_yes = int((ours.unparsed & ours.truth).sum())
    assert unparsed_yes > 0
    tp = int(ours.tp.sum())
    assert olm.pope_aggregate_recall(results) == pytest.approx(tp / (tp + int(ours.fn.sum()) - unparsed_yes))
    # lmms-eval's yes ratio is the ground truth's (the bug the card names); ours is the predictions'
    assert olm.pope_aggregate_yes_ratio(results) == pytest.approx(
        sum(a == "yes" for a in pope.answers) / len(pope.answers)
    )
    assert m["yes_ratio"] == pytest.approx(100 * sum(lab == "yes" for lab in ours.labels) / len(ours.labels))


def test_exact_recall_equals_lmms_eval_when_every_answer_parses():
    preds, answers = ["yes", "no", "Yes ", "no", "yes"], ["yes", "yes", "no", "no", "yes"]
    results = [olm.pope_process_results({"question_id": i, "answer": a}, [p])["pope_accuracy"]
               for i, (p, a) in enumerate(zip(preds, answers))]  # fmt: skip
    m = score_yesno(preds, answers, rule="exact").metrics()
    assert m["recall"] == pytest.approx(100 * olm.pope_aggregate_recall(results))
    assert m["f1"] == pytest.approx(100 * olm.pope_aggregate_f1_score(results))


def _mme_lines(data):
    """calculation.py's input: one file per subtask, lines image\\tquestion\\tanswer\\tresponse\\n, the two
    questions of an image on consecutive lines (the fixture's order)."""
    lines: dict[str, list[str]] = {}
    for image, q, a, p, c in zip(
        data.images, data.questions, data.answers, data.predictions, data.categories
    ):
        lines.setdefault(c, []).append(f"{image}\t{q}\t{a.capitalize()}\t{p}\n")
    return lines


def test_mme_score_equals_calculation_py(mme):
    ref = omme.calculate_metrics().process_result(_mme_lines(mme))
    ours = score_yesno(mme.predictions, mme.answers, rule="mme", categories=mme.categories, images=mme.images)
    m = ours.metrics()
    assert m["mme_perception"] == pytest.approx(ref["Perception"]["total"], abs=1e-9)
    assert m["mme_cognition"] == pytest.approx(ref["Cognition"]["total"], abs=1e-9)
    assert m["mme_score"] == pytest.approx(ref["Perception"]["total"] + ref["Cognition"]["total"], abs=1e-9)
    tasks = {**ref["Perception"]["tasks"], **ref["Cognition"]["tasks"]}
    labels = {**ref["Perception"]["labels"], **ref["Cognition"]["labels"]}
    for task, score in tasks.items():
        assert ours.mme.subtasks[task]["score"] == pytest.approx(score, abs=1e-9)
    per_row = []
    for c in mme.categories:
        per_row.append(labels[c].pop(0))
    assert [{"other": None}.get(x, x) for x in per_row] == ours.labels
    assert ours.mme.unpaired == 0 and m["unparsed"] > 0
    table = breakdown(ours, mme.categories)
    assert table["existence"]["mme_score"] == pytest.approx(tasks["existence"], abs=1e-9)


def test_mme_rating_of_vlmevalkit(mme):
    ours = score_yesno(
        mme.predictions, mme.answers, rule="vlmevalkit", categories=mme.categories, images=mme.images
    )
    extracted, hits = ovk.yorn_scores([a.capitalize() for a in mme.answers], mme.predictions)
    rows = [
        {"category": c, "image_path": im, "score": h} for c, im, h in zip(mme.categories, mme.images, hits)
    ]
    ref = ovk.MME_rating(rows)
    m = ours.metrics()
    assert m["mme_perception"] == pytest.approx(ref["perception"], abs=1e-9)
    assert m["mme_cognition"] == pytest.approx(ref["reasoning"], abs=1e-9)


def test_mme_aggregate_of_lmms_eval(mme):
    """lmms-eval's aggregation (acc + acc+ averaged per image) gives calculation.py's sum; its parser differs."""
    results = [olm.mme_process_results({"question_id": f"{c}/{im}", "category": c, "answer": a}, [p])
               for p, a, c, im in zip(mme.predictions, mme.answers, mme.categories, mme.images)]  # fmt: skip
    entries = [next(iter(r.values())) for r in results]
    total, per_category = olm.mme_aggregate_results(entries)
    ours = mme_scores([e["score"] for e in entries], mme.categories, mme.images)
    assert sum(v["score"] for v in ours.subtasks.values()) == pytest.approx(total, abs=1e-9)
    for cat, score in per_category.items():
        assert ours.subtasks[cat]["score"] == pytest.approx(score, abs=1e-9)


def test_mme_parsers_differ_as_documented():
    for pred, calc, lmms in [("y", None, "yes"), ("n", None, "no"), ("...yes", None, "yes"), (" no", "no", "no"),
                             ("Not sure", "no", "no"), ("know", "no", "no"), ("I think yes", None, "other")]:  # fmt: skip
        label = omme.calculate_metrics().parse_pred_ans((pred + "\n").lower())
        assert {"other": None}.get(label, label) == calc
        assert parse_yesno(pred, "mme") == calc
        assert olm.mme_parse_pred_ans(pred) == lmms


def test_zero_denominators_are_zero():
    m = score_yesno(["no", "no"], ["no", "yes"], rule="exact").metrics()
    assert (m["precision"], m["recall"], m["f1"], m["yes_ratio"], m["accuracy"]) == (0.0, 0.0, 0.0, 0.0, 50.0)
    with pytest.raises(ZeroDivisionError):  # where POPE's script stops
        opope.evaluate([{"answer": "No"}, {"answer": "No"}], ["no", "yes"])


def test_pope_case_sensitivity_as_the_script():
    assert (
        [parse_yesno(p) for p in ["NO", "Not sure.", "no.", "There is not a car.", "", "No, there is none"]]
        == [
            opope.pope_label(p)
            for p in ["NO", "Not sure.", "no.", "There is not a car.", "", "No, there is none"]
        ]
        == ["yes", "yes", "no", "no", "yes", "no"]
    )


def test_bad_inputs():
    with pytest.raises(ValueError, match="row 0"):
        score_yesno(["yes"], ["maybe"])
    with pytest.raises(ValueError, match="unknown yes/no rule"):
        parse_yesno("yes", "gpt")


# ---------------------------------------------------------------------------------------------
# Drawn answers (hypothesis)

WORDS = ["Yes", "yes", "YES", "No", "no", "NO", "not", "Not", "none", "know", "nope", "y", "n", "there", "is", "a", "dog",
         "sure", "I", "think", ",", ".", "...", "!", "?", "(yes)", "no,", "1,2", "3.5", "-", "/", '"', "\n", "\t", " ", ""]  # fmt: skip
texts = (
    st.lists(st.sampled_from(WORDS), max_size=15).map(" ".join)
    | st.lists(st.sampled_from(WORDS), max_size=8).map("".join)
    | st.text(max_size=30)
)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_drawn_answers_every_rule(text):
    assert parse_yesno(text, "pope") == opope.pope_label(text)
    assert (
        parse_yesno(text, "vlmevalkit")
        == {"Yes": "yes", "No": "no", "Unknown": None}[ovk.YOrN_Extraction(text)]
    )
    lmms = olm.pope_process_results({"question_id": 0, "answer": "yes"}, [text])["pope_accuracy"][
        "prediction"
    ]
    assert parse_yesno(text, "exact") == (lmms if lmms in ("yes", "no") else None)
    if "\n" not in text and "\r" not in text and "\t" not in text:  # what one line of an MME file can hold
        calc = omme.calculate_metrics().parse_pred_ans((text + "\n").lower())
        assert parse_yesno(text, "mme") == {"other": None}.get(calc, calc)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(texts, st.booleans()), min_size=1, max_size=30), st.sampled_from(RULES))
def test_drawn_batches(rows, rule):
    preds = [t for t, _ in rows]
    answers = ["yes" if y else "no" for _, y in rows]
    s = score_yesno(preds, answers, rule=rule)
    assert (s.tp + s.fp + s.fn + s.tn + (s.unparsed & (1 - s.truth))).tolist() == [1] * len(rows)
    m = s.metrics()
    assert all(0 <= m[k] <= 100 for k in ("accuracy", "precision", "recall", "f1", "yes_ratio"))
