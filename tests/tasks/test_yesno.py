"""`vlmeval yesno` through the CLI: every rule by name against the benchmarks' own scripts restated in
tests/reference, POPE's numbers per split, MME's acc+ and score as calculation.py computes them, error types,
gates, intervals (P/R/F1 from per-sample counts, MME scores over resampled images), compare, bad input.

Every expected number is computed here by a reference: tests/reference/pope.py (POPE's evaluate.py,
08d957b), tests/reference/mme.py (MME's calculation.py, 1c1d69e), tests/reference/vlmevalkit.py
(VLMEvalKit e8e78f0's YOrN_Extraction, MME_rating), tests/reference/lmms_eval.py (lmms-eval 75571cf's POPE
utils). Fixtures: fixtures/yesno/pope_coco.jsonl (324 real POPE COCO questions, 108 per split) and
mme_style.jsonl (168 MME-style questions, 14 subtasks x 6 images x 2), predictions in model styles.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.conftest import FIXTURES, write_jsonl
from tests.reference import lmms_eval as olm
from tests.reference import mme as omme
from tests.reference import pope as opope
from tests.reference import vlmevalkit as ovk
from vlmeval.io.choice import read_yesno_records
from vlmeval.metrics.yesno import MME_COGNITION, MME_PERCEPTION, RULES

POPE, MME = FIXTURES / "yesno" / "pope_coco.jsonl", FIXTURES / "yesno" / "mme_style.jsonl"
# the refusal error type's definition (vlmeval.metrics.yesno.REFUSAL), restated
REFUSAL_WORDS = ("sorry", "not sure", "unsure", "hard to tell", "unable to", "do not know", "don't know",
                 "cannot tell", "can't tell", "cannot determine", "can't determine", "cannot say", "can't say")  # fmt: skip


def _run(cli, tmp_path, *args, out="r.json"):
    result = cli("yesno", *args, "--out", out, "--quiet")
    assert result.exit_code == 0, result.stderr
    return json.loads((tmp_path / out).read_text(encoding="utf-8"))


def reference_label(rule, text):
    """'yes', 'no' or None (the script cannot tell), by the benchmark's own code."""
    if rule == "pope":
        return opope.pope_label(text)
    if rule == "vlmevalkit":
        return {"Yes": "yes", "No": "no", "Unknown": None}[ovk.YOrN_Extraction(text)]
    if rule == "exact":
        said = olm.pope_process_results({"question_id": 0, "answer": "yes"}, [text])["pope_accuracy"][
            "prediction"
        ]
        return said if said in ("yes", "no") else None
    label = omme.calculate_metrics().parse_pred_ans((text + "\n").lower())  # one line of an MME result file
    return None if label == "other" else label


def _refusal(text):
    return any(re.search(rf"\b{re.escape(w)}\b", text.lower()) for w in REFUSAL_WORDS)


def _mme_lines(data):
    """calculation.py's input: one file per subtask, the two questions of an image on consecutive lines."""
    lines: dict[str, list[str]] = {}
    for image, q, a, p, c in zip(
        data.images, data.questions, data.answers, data.predictions, data.categories
    ):
        lines.setdefault(c, []).append(f"{image}\t{q}\t{a.capitalize()}\t{p}\n")
    return lines


@pytest.mark.parametrize("split", [None, "random", "popular", "adversarial"])
def test_pope_rule_equals_evaluate_py(cli, tmp_path, split):
    data = read_yesno_records(POPE)
    report = _run(cli, tmp_path, POPE)
    idx = [i for i, c in enumerate(data.categories) if split is None or c == split]
    ref = opope.evaluate([{"answer": data.predictions[i]} for i in idx], [data.answers[i] for i in idx])
    numbers = report["metrics"] if split is None else report["breakdown"]["category"][split]
    for ours, theirs in [("accuracy", "Accuracy"), ("precision", "Precision"), ("recall", "Recall"),
                         ("f1", "F1 score"), ("yes_ratio", "Yes ratio")]:  # fmt: skip
        assert numbers[ours] == pytest.approx(100 * ref[theirs], abs=1e-9), ours
    assert numbers["unparsed"] == 0
    if split is None:
        assert [1 if lab == "yes" else 0 for lab in report["per_sample"]["label"]] == ref["pred_list"]
        assert report["signature"]["f1"].startswith(
            "YesNo-F1|rule:pope|parity:POPE-evaluate.py@08d957b|pos:yes|"
        )
    else:
        assert numbers["count"] == len(idx) == 108


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("path", [POPE, MME], ids=["pope", "mme"])
def test_every_rule_by_name_equals_its_reference(cli, tmp_path, rule, path):
    data = read_yesno_records(path)
    report = _run(cli, tmp_path, path, "--rule", rule)
    # MME's script reads one line per answer: answers holding a line break are not what it can be given
    one_line = [i for i, p in enumerate(data.predictions) if not re.search(r"[\n\r\t]", p)]
    if rule == "mme":
        assert len(one_line) > 0.85 * len(data.ids)  # POPE's padded style (" yes \n") is the rest
    rows = one_line if rule == "mme" else range(len(data.ids))
    labels = report["per_sample"]["label"]
    assert [labels[i] for i in rows] == [reference_label(rule, data.predictions[i]) for i in rows]
    hits = [label == a for label, a in zip(labels, data.answers)]
    assert report["per_sample"]["accuracy"] == [100.0 * h for h in hits]
    said_yes = [label == "yes" for label in labels]
    truth = [a == "yes" for a in data.answers]
    tp = sum(s and t for s, t in zip(said_yes, truth))
    assert report["metrics"]["precision"] == pytest.approx(100 * tp / max(sum(said_yes), 1), abs=1e-9)
    assert report["metrics"]["recall"] == pytest.approx(100 * tp / sum(truth), abs=1e-9)
    assert report["metrics"]["yes_ratio"] == pytest.approx(100 * sum(said_yes) / len(labels), abs=1e-9)
    assert report["metrics"]["unparsed"] == labels.count(None) == report["counts"]["unparsed_answer"]
    assert report["counts"]["vlmevalkit_judged_answer"] == sum(
        ovk.YOrN_Extraction(p) == "Unknown" for p in data.predictions
    )
    types = [None if h else "refusal" if _refusal(p) else "unparsed" if label is None else "wrong_choice"
             for h, p, label in zip(hits, data.predictions, labels)]  # fmt: skip
    assert report["per_sample"]["error_type"] == types
    assert report["counts"]["refusal"] == sum(map(_refusal, data.predictions)) > 0
    assert f"rule:{rule}|" in report["signature"]["accuracy"]


def test_vlmevalkit_rule_equals_pope_rating_and_mme_rating(cli, tmp_path):
    data = read_yesno_records(POPE)
    extracted, hits = ovk.yorn_scores([a.capitalize() for a in data.answers], data.predictions)
    f1, precision, recall = ovk.pope_f1(
        [int(a == "yes") for a in data.answers], [int(e == "Yes") for e in extracted]
    )
    m = _run(cli, tmp_path, POPE, "--rule", "vlmevalkit")["metrics"]
    assert (m["f1"], m["precision"], m["recall"]) == pytest.approx(
        (100 * f1, 100 * precision, 100 * recall), abs=1e-9
    )
    assert m["accuracy"] == pytest.approx(100 * sum(hits) / len(hits), abs=1e-9)
    mme = read_yesno_records(MME)
    _, hits = ovk.yorn_scores([a.capitalize() for a in mme.answers], mme.predictions)
    ref = ovk.MME_rating([{"category": c, "image_path": im, "score": h}
                          for c, im, h in zip(mme.categories, mme.images, hits)])  # fmt: skip
    m = _run(cli, tmp_path, MME, "--rule", "vlmevalkit", out="m.json")["metrics"]
    assert m["mme_perception"] == pytest.approx(ref["perception"], abs=1e-9)
    assert m["mme_cognition"] == pytest.approx(ref["reasoning"], abs=1e-9)


def test_comma_joined_pope_categories_count_in_each_as_pope_rating_counts_them(cli, tmp_path):
    """VLMEvalKit's POPE file keeps a question several splits share once, its category the splits joined;
    POPE_rating explodes it into each split and into the overall numbers."""
    import random

    rng = random.Random(5)
    splits = ["adversarial", "popular", "random"]
    rows = []
    for i in range(300):
        joined = ",".join(sorted(rng.sample(splits, rng.choice([1, 1, 2, 3]))))
        answer = rng.choice(["yes", "no"])
        prediction = rng.choice(["Yes", "No", "Yes, there is.", "No, there isn't.", "I am not sure"])
        rows.append({"id": i, "prediction": prediction, "answer": answer, "category": joined})
    path = write_jsonl(tmp_path / "pope.jsonl", rows)
    report = _run(cli, tmp_path, path, "--rule", "vlmevalkit")
    extracted, hits = ovk.yorn_scores([r["answer"].capitalize() for r in rows], [r["prediction"] for r in rows])
    ref = ovk.POPE_rating([{"answer": r["answer"].capitalize(), "extracted": e, "score": h, "category": r["category"]}
                           for r, e, h in zip(rows, extracted, hits)])  # fmt: skip
    m = report["metrics"]
    assert (m["f1"], m["accuracy"], m["precision"], m["recall"]) == pytest.approx(ref["Overall"], abs=1e-9)
    for split in splits:
        got = report["breakdown"]["category"][split]
        assert (got["f1"], got["accuracy"], got["precision"], got["recall"]) == pytest.approx(ref[split], abs=1e-9)
    assert set(report["breakdown"]["category"]) == set(splits)
    joined = sum("," in r["category"] for r in rows)
    assert report["counts"]["multi_category_record"] == joined and report["counts"]["records"] == 300
    assert any("comma-joined" in w for w in report["warnings"])


def test_mme_score_equals_calculation_py(cli, tmp_path):
    data = read_yesno_records(MME)
    ref = omme.calculate_metrics().process_result(_mme_lines(data))
    report = _run(cli, tmp_path, MME, "--rule", "mme")
    m = report["metrics"]
    assert m["mme_perception"] == pytest.approx(ref["Perception"]["total"], abs=1e-9)
    assert m["mme_cognition"] == pytest.approx(ref["Cognition"]["total"], abs=1e-9)
    assert m["mme_score"] == pytest.approx(ref["Perception"]["total"] + ref["Cognition"]["total"], abs=1e-9)
    tasks = {**ref["Perception"]["tasks"], **ref["Cognition"]["tasks"]}
    for task, score in tasks.items():
        assert report["breakdown"]["category"][task]["mme_score"] == pytest.approx(score, abs=1e-9)
    # acc+ over all images: calculation.py's pairs (two consecutive lines) both right
    labels = {**ref["Perception"]["labels"], **ref["Cognition"]["labels"]}
    pairs = []
    for task, lines in _mme_lines(data).items():
        right = [line.split("\t")[2].lower() == label for line, label in zip(lines, labels[task])]
        pairs += [right[k] and right[k + 1] for k in range(0, len(right), 2)]
    assert m["acc_plus"] == pytest.approx(100 * sum(pairs) / len(pairs), abs=1e-9)
    assert report["counts"]["mme_image"] == len(pairs) and report["counts"]["mme_unpaired_image"] == 0
    assert report["signature"]["mme_score"].startswith(
        "MME-score|labels:mme|parity:MME-calculation.py@1c1d69e|"
    )
    assert "subtasks:14/14" in report["signature"]["mme_score"]


def test_mme_metrics_only_on_mme_data(cli, tmp_path):
    assert "mme_score" not in _run(cli, tmp_path, POPE)["metrics"]
    assert cli("yesno", POPE, "--metrics", "mme_score", "-q").exit_code == 2
    records = [json.loads(line) for line in MME.read_text(encoding="utf-8").splitlines()]
    records[3].pop("image")
    report = _run(cli, tmp_path, write_jsonl(tmp_path / "m.jsonl", records))
    assert "mme_score" not in report["metrics"] and any("no 'image'" in w for w in report["warnings"])


def test_lmms_eval_yes_ratio_counts_the_ground_truth(cli, tmp_path):
    """lmms-eval's pope_yes_ratio is the ground truth's share of yes (50 on a balanced split, whatever the
    model says); vlmeval's is POPE's, the share of answers read as yes."""
    data = read_yesno_records(POPE)
    results = [olm.pope_process_results({"question_id": i, "answer": a}, [p])["pope_accuracy"]
               for i, (p, a) in enumerate(zip(data.predictions, data.answers))]  # fmt: skip
    theirs = 100 * olm.pope_aggregate_yes_ratio(results)
    assert theirs == 100 * data.answers.count("yes") / len(data.answers)
    ours = _run(cli, tmp_path, POPE, "--rule", "exact")["metrics"]["yes_ratio"]
    assert ours == pytest.approx(100 * sum(r["prediction"] == "yes" for r in results) / len(results))
    assert abs(ours - theirs) > 1


def test_bootstrap_intervals(cli, tmp_path):
    """P/R/F1 from resampled per-question counts, the MME scores from resampled images: equal to recomputing
    each resample from scratch, the way calculation.py scores a set of images."""
    data = read_yesno_records(MME)
    report = _run(cli, tmp_path, MME, "--rule", "mme", "--bootstrap", "100", "--seed", "3")
    assert set(report["ci"]) == set(report["metrics"])
    labels = report["per_sample"]["label"]
    said = np.array([lab == "yes" for lab in labels])
    truth = np.array([a == "yes" for a in data.answers])
    idx = np.random.default_rng(3).choice(len(labels), size=(100, len(labels)))
    tp, pred, gt = (said & truth)[idx].sum(1), said[idx].sum(1), truth[idx].sum(1)
    precision, recall = tp / pred, tp / gt
    for key, values in (
        ("precision", precision),
        ("recall", recall),
        ("f1", 2 * precision * recall / (precision + recall)),
    ):
        assert report["ci"][key] == pytest.approx(np.percentile(100 * values, [2.5, 97.5]).tolist(), abs=1e-9)
    # images: each of the 84 with its subtask, its questions and how many were right
    images = report["per_sample"]["mme_image_ids"]
    right = {k: [] for k in images}
    for c, im, label, a in zip(data.categories, data.images, labels, data.answers):
        right[f"{c}/{im}"].append(label == a)
    idx = np.random.default_rng(3).choice(len(images), size=(100, len(images)))
    for key, subtasks in (
        ("mme_score", None),
        ("mme_perception", MME_PERCEPTION),
        ("mme_cognition", MME_COGNITION),
    ):
        scores = []
        for draw in idx:
            per: dict[str, list[list[bool]]] = {}
            for j in draw:
                subtask = images[j].split("/")[0]
                if subtasks is None or subtask in subtasks:
                    per.setdefault(subtask, []).append(right[images[j]])
            scores.append(sum(100 * sum(map(sum, ims)) / sum(map(len, ims)) + 100 * sum(map(all, ims)) / len(ims)
                              for ims in per.values()))  # fmt: skip
        assert report["ci"][key] == pytest.approx(np.percentile(scores, [2.5, 97.5]).tolist(), abs=1e-9), key
    hits = [100 * all(right[k]) for k in images]
    assert report["ci"]["acc_plus"] == pytest.approx(
        np.percentile(np.asarray(hits)[idx].mean(1), [2.5, 97.5]).tolist()
    )


def test_compare_two_runs(cli, tmp_path):
    records = [json.loads(line) for line in MME.read_text(encoding="utf-8").splitlines()]
    for r in records[:40]:
        r["prediction"] = r["answer"]  # the first 40 answered right
    base = _run(cli, tmp_path, MME, out="base.json")
    new = _run(cli, tmp_path, write_jsonl(tmp_path / "new.jsonl", records), out="new.json")
    result = cli(
        "compare", "base.json", "new.json", "--bootstrap", "200", "--trials", "200", "--format", "json", "-q"
    )
    assert result.exit_code == 0, result.stderr
    comparison = json.loads(result.stdout)
    assert comparison["shared"] == {"ids": 168, "mme_image_ids": 84}
    for key in (
        "accuracy",
        "precision",
        "recall",
        "f1",
        "yes_ratio",
        "unparsed",
        "acc_plus",
        "mme_score",
        "failure_rate",
    ):
        assert comparison["metrics"][key]["delta"] == pytest.approx(
            new["metrics"][key] - base["metrics"][key]
        ), key
    assert comparison["metrics"]["mme_score"]["delta"] > 0


def test_gates(cli, tmp_path):
    data = read_yesno_records(POPE)
    ref = opope.evaluate([{"answer": p} for p in data.predictions], data.answers)
    args = ("yesno", POPE, "--out", "r.json", "-q")
    assert cli(*args, "--min", f"f1={100 * ref['F1 score'] - 1e-6}", "--max", "unparsed=0").exit_code == 0
    result = cli(*args, "--min", f"accuracy={100 * ref['Accuracy'] + 0.01}")
    assert result.exit_code == 1 and (tmp_path / "r.json").exists()
    assert cli(*args, "--min", "acc_plus=10").exit_code == 2  # not MME data: no acc+
    assert cli("yesno", MME, "--rule", "mme", "-q", "--min", "mme_score=2800").exit_code == 1
    assert (
        cli(
            "yesno", MME, "--rule", "mme", "-q", "--min", "mme_perception=0", "--max", "failure_rate=1"
        ).exit_code
        == 0
    )


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": 2, "prediction": "yes", "answer": "maybe"}, "'answer' must be yes or no, got 'maybe'"),
        ({"id": 2, "prediction": "yes", "answer": 1}, "'answer' must be text, got the number"),
        ({"id": 2, "prediction": "yes"}, "missing field 'answer'"),
        ({"id": 2, "prediction": 0, "answer": "no"}, "'prediction' must be text, got the number"),
        ({"id": 2, "prediction": ["yes"], "answer": "no"}, "'prediction' must be text, got a list"),
        ({"id": 1, "prediction": "yes", "answer": "no"}, "duplicate record id '1' (first at line 1)"),
        ({"prediction": "yes", "answer": "no"}, "missing field 'id'"),
        ({"id": 2, "prediction": "yes", "answer": "no", "category": ["random"]}, "'category' must be text"),
    ],
)
def test_bad_input_is_one_sentence_with_file_and_line(cli, tmp_path, record, message):
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "prediction": "yes", "answer": "Yes"}, record])
    result = cli("yesno", path, "--out", "r.json")
    assert result.exit_code == 2
    assert f"{path}:2: " in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "r.json").exists()


def test_failure_rows_and_html(cli, tmp_path):
    from tests.report.test_html import _parse

    data = read_yesno_records(POPE)
    report = _run(cli, tmp_path, POPE, "--failures", "5")
    wrong = [i for i, (p, a) in enumerate(zip(data.predictions, data.answers)) if opope.pope_label(p) != a][
        :5
    ]
    assert [r["id"] for r in report["failures"]] == [data.ids[i] for i in wrong]
    for row, i in zip(report["failures"], wrong):
        assert (row["question"], row["prediction"], row["reference"], row["category"], row["image"]) == (
            data.questions[i],
            data.predictions[i],
            data.answers[i],
            data.categories[i],
            data.images[i],
        )
        assert row["label"] == opope.pope_label(data.predictions[i]) and row["error_type"] in (
            "refusal",
            "wrong_choice",
        )
    assert cli("report", "r.json", "--html", "r.html", "-q").exit_code == 0
    page = _parse(tmp_path / "r.html")
    assert page.classes["bars"] == 2 and "failures" in page.ids  # by category (split), by error type


def test_a_split_sample_id_that_is_also_a_records_id_is_refused(tmp_path):
    from vlmeval.errors import InputError

    path = write_jsonl(tmp_path / "p.jsonl", [{"id": "7", "prediction": "yes", "answer": "yes", "category": "random,popular"},
                                              {"id": "7/random", "prediction": "no", "answer": "no", "category": "random"}])  # fmt: skip
    with pytest.raises(InputError, match="the id '7/random' names two samples"):
        read_yesno_records(path)
