"""`vlmeval mcq` through the CLI: every rule by name on the fixtures (records JSONL, VLMEvalKit TSV and XLSX),
per-sample letters against the harnesses' code restated in tests/reference, CircularEval against
VLMEvalKit's mcq_circular_eval, error types, gates, intervals, compare, failure rows, HTML, bad input.

Every expected number is computed here by a reference: tests/reference/vlmevalkit.py (VLMEvalKit e8e78f0's
can_infer, mcq_vanilla_eval, mcq_circular_eval in exact-matching mode), tests/reference/lmms_eval.py
(lmms-eval 75571cf's MMMU parser, its random draw intercepted), and for ``strict``, which has no external
reference, its definition restated below. Fixtures: fixtures/mcq (400 styled predictions for 20 MMBench
items; 77 CircularEval rows of the same items as VLMEvalKit TSV and XLSX).
"""

from __future__ import annotations

import csv
import json
import re
import string

import numpy as np
import pytest

from tests.conftest import FIXTURES, write_jsonl
from tests.reference import lmms_eval as olm
from tests.reference import vlmevalkit as ovk
from vlmeval.io.choice import read_choice_records
from vlmeval.metrics.choice import REASONS, RULES

MCQ = FIXTURES / "mcq"
STYLES, TSV, XLSX = MCQ / "mcq_styles.jsonl", MCQ / "mmbench_circular.tsv", MCQ / "mmbench_circular.xlsx"
INPUTS = {"jsonl": STYLES, "tsv": TSV, "xlsx": XLSX}
# strict's definition (vlmeval.metrics.choice): the stripped answer is X, (X) or [X], then an optional '.'
STRICT = re.compile(r"(?:\(([A-Z])\)|\[([A-Z])\]|([A-Z]))\.?")


@pytest.fixture(autouse=True)
def _no_verbose(monkeypatch):
    monkeypatch.delenv("VERBOSE", raising=False)  # VLMEvalKit reads it; any value changes can_infer


def _run(cli, tmp_path, *args, out="r.json"):
    result = cli("mcq", *args, "--out", out, "--quiet")
    assert result.exit_code == 0, result.stderr
    return json.loads((tmp_path / out).read_text(encoding="utf-8"))


def vlmevalkit_reading(pred, opts):
    """can_infer on VLMEvalKit's row: a letter, 'Z' (its refusal), or False (its judge's turn)."""
    return ovk.can_infer(pred, ovk.build_choices({"prediction": pred, **opts}))


def reference_letter(rule, pred, opts):
    """The option letter the harness's own rule gives, None when it gives none."""
    if rule == "vlmevalkit":
        found = vlmevalkit_reading(pred, opts)
        return found if found and found in opts else None
    if rule == "lmms-eval":
        return olm.parse_or_draw(pred, list(opts), opts)[0]
    match = STRICT.fullmatch(pred.strip())
    letter = match and next(g for g in match.groups() if g)
    return letter if letter in opts else None


def expected_error_type(rule, pred, opts, answer):
    letter = reference_letter(rule, pred, opts)
    if letter == answer:
        return None
    if vlmevalkit_reading(pred, opts) == "Z" and "Z" not in opts:
        return "refusal"
    return "unparsed" if letter is None else "wrong_choice"


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("form", list(INPUTS))
def test_every_rule_on_every_input_form_equals_the_references(cli, tmp_path, rule, form):
    data = read_choice_records(INPUTS[form])
    report = _run(cli, tmp_path, INPUTS[form], "--extract", rule)
    rows = list(zip(data.predictions, data.options, data.answers))
    letters = [reference_letter(rule, p, o) for p, o, _ in rows]
    assert report["per_sample"]["ids"] == data.ids
    assert report["per_sample"]["letter"] == letters
    hits = [int(letter == a) for letter, (_, _, a) in zip(letters, rows)]
    assert report["per_sample"]["accuracy"] == [100.0 * h for h in hits]
    assert report["metrics"]["accuracy"] == pytest.approx(100 * sum(hits) / len(hits), abs=1e-12)
    vk = [vlmevalkit_reading(p, o) for p, o, _ in rows]
    refusals = [r == "Z" and "Z" not in o for r, (_, o, _) in zip(vk, rows)]
    unparsed = [
        letter is None and not (rule == "vlmevalkit" and refused)
        for letter, refused in zip(letters, refusals)
    ]
    assert report["metrics"]["unparsed"] == sum(unparsed) == report["counts"]["unparsed_answer"]
    credit = [h + u / len(o) for h, u, (_, o, _) in zip(hits, unparsed, rows)]
    assert report["metrics"]["accuracy_chance_adjusted"] == pytest.approx(
        100 * sum(credit) / len(credit), abs=1e-9
    )
    counts = report["counts"]
    assert counts["refusal"] == sum(refusals) > 0
    assert counts["vlmevalkit_judged_answer"] == sum(r is False for r in vk) > 0
    drawn = sum(olm.parse_or_draw(p, list(o), o)[0] is None for p, o, _ in rows)
    assert counts["lmms_eval_drawn_answer"] == drawn > 0
    types = [expected_error_type(rule, p, o, a) for p, o, a in rows]
    assert report["per_sample"]["error_type"] == types
    assert {k: v["count"] for k, v in report["breakdown"]["error_type"].items()} == {
        t: types.count(t) for t in set(types) - {None}
    }
    assert report["metrics"]["failure_rate"] == pytest.approx(sum(t is not None for t in types) / len(types))
    sig = report["signature"]["accuracy"]
    assert f"extract:{rule}|" in sig and ("parity:none" in sig) == (rule == "strict")
    assert any("judge model" in w for w in report["warnings"])


def test_vlmevalkit_accuracy_equals_mcq_vanilla_eval(cli, tmp_path):
    data = read_choice_records(STYLES)
    rows = [{"index": i, "prediction": p, "answer": a, **o}
            for i, (p, o, a) in enumerate(zip(data.predictions, data.options, data.answers))]  # fmt: skip
    ref = ovk.mcq_vanilla_eval(rows, [{"index": r["index"], "answer": r["answer"]} for r in rows])
    report = _run(cli, tmp_path, STYLES)
    assert [x / 100 for x in report["per_sample"]["accuracy"]] == [r["hit"] for r in ref]
    assert report["metrics"]["accuracy"] == pytest.approx(
        100 * sum(r["hit"] for r in ref) / len(ref), abs=1e-12
    )


def _vlmevalkit_rows(data):
    return [{"index": int(i), "prediction": p, "answer": a, **o}
            for i, p, o, a in zip(data.ids, data.predictions, data.options, data.answers)]  # fmt: skip


@pytest.mark.parametrize("path", [TSV, XLSX], ids=["tsv", "xlsx"])
def test_circular_eval_equals_mcq_circular_eval(cli, tmp_path, path):
    data = read_choice_records(path)
    rows = _vlmevalkit_rows(data)
    hits, judged = ovk.mcq_circular_eval(rows, [{"index": r["index"], "answer": r["answer"]} for r in rows])
    report = _run(cli, tmp_path, path)
    ours = dict(
        zip(map(int, report["per_sample"]["circular_ids"]), report["per_sample"]["circular_accuracy"])
    )
    assert ours == {g: 100.0 * h for g, h in hits.items()}
    assert report["metrics"]["circular_accuracy"] == pytest.approx(
        100 * sum(hits.values()) / len(hits), abs=1e-12
    )
    assert report["counts"]["vlmevalkit_judged_group"] == len(judged) > 0
    assert report["counts"]["circular_group"] == len(hits) and report["counts"]["circular_orphan_group"] == 1
    assert "groups:index%1000000-original-row" in report["signature"]["circular_accuracy"]
    # per category: the groups reported at their original rows, as VLMEvalKit's data_main
    by_category: dict[str, list[int]] = {}
    for r, category in zip(rows, data.categories):
        if r["index"] in hits:
            by_category.setdefault(category, []).append(hits[r["index"]])
    for category, group_hits in by_category.items():
        row = report["breakdown"]["category"][category]
        assert row["circular_accuracy"] == pytest.approx(100 * sum(group_hits) / len(group_hits))
        assert row["groups"] == len(group_hits)


def test_circular_eval_under_another_rule_and_in_records(cli, tmp_path):
    """CircularEval's rule (every rotation right) on lmms-eval's letters; records with 'group' count every
    group, the one without its original row too."""
    data = read_choice_records(TSV)
    expected: dict[str, list[bool]] = {}
    for g, p, o, a in zip(data.groups, data.predictions, data.options, data.answers):
        expected.setdefault(g, []).append(reference_letter("lmms-eval", p, o) == a)
    heads = {g for g, h in zip(data.groups, data.heads) if h}
    report = _run(cli, tmp_path, TSV, "--extract", "lmms-eval")
    ours = dict(zip(report["per_sample"]["circular_ids"], report["per_sample"]["circular_accuracy"]))
    assert ours == {g: 100.0 * all(v) for g, v in expected.items() if g in heads}
    records = [{"id": i, "prediction": p, "options": o, "answer": a, "group": int(g)}
               for i, p, o, a, g in zip(data.ids, data.predictions, data.options, data.answers, data.groups)]  # fmt: skip
    path = write_jsonl(tmp_path / "groups.jsonl", records)
    report = _run(cli, tmp_path, path, "--extract", "lmms-eval", out="g.json")
    ours = dict(zip(report["per_sample"]["circular_ids"], report["per_sample"]["circular_accuracy"]))
    assert (
        ours == {g: 100.0 * all(v) for g, v in expected.items()}
        and "groups:group" in report["signature"]["circular_accuracy"]
    )


def test_tsv_and_xlsx_give_the_same_report(cli, tmp_path):
    tsv, xlsx = _run(cli, tmp_path, TSV, out="t.json"), _run(cli, tmp_path, XLSX, out="x.json")
    for key in ("metrics", "per_sample", "breakdown", "counts", "signature"):
        assert tsv[key] == xlsx[key], key


def test_circular_modes(cli, tmp_path):
    report = _run(cli, tmp_path, TSV, "--circular", "off")
    assert "circular_accuracy" not in report["metrics"] and "circular_ids" not in report["per_sample"]
    assert report["options"]["circular_eval"] is False
    report = _run(cli, tmp_path, STYLES)  # auto, no rotations
    assert "circular_accuracy" not in report["metrics"]
    result = cli("mcq", STYLES, "--circular", "on", "--out", "r2.json")
    assert result.exit_code == 2 and "--circular on needs rotations" in result.stderr
    assert not (tmp_path / "r2.json").exists()
    result = cli("mcq", STYLES, "--circular", "sometimes")
    assert result.exit_code == 2 and "sometimes" in result.stderr


def test_worked_example_where_the_rules_disagree(cli, tmp_path):
    """The README's example: MMBench item mmb8's options, four answers, the three rules."""
    options = ["Silver white color.", "Good conductivity.", "Aromatic liquid.", "Good flowability."]
    preds = ["**B**", "答案是B", "Good conductivity.", "I think B, though A is possible"]
    path = write_jsonl(tmp_path / "w.jsonl", [{"id": i, "prediction": p, "options": options, "answer": "B"}
                                              for i, p in enumerate(preds)])  # fmt: skip
    opts = dict(zip("ABCD", options))
    for rule in RULES:
        report = _run(cli, tmp_path, path, "--extract", rule, out=f"{rule}.json")
        assert report["per_sample"]["letter"] == [reference_letter(rule, p, opts) for p in preds]
    got = {
        rule: json.loads((tmp_path / f"{rule}.json").read_text())["per_sample"]["letter"] for rule in RULES
    }
    assert got["vlmevalkit"] != got["lmms-eval"] != got["strict"]  # they disagree, as the README says


def test_two_and_twenty_six_options(cli, tmp_path):
    many = [f"option text {i}" for i in range(26)]
    records = [
        {"id": "a", "prediction": "B", "options": ["yes", "no"], "answer": "B"},
        {"id": "b", "prediction": "I pick (A).", "options": {"A": "up", "B": "down"}, "answer": "B"},
        {"id": "c", "prediction": "Cannot determine the answer", "options": many, "answer": "Z"},
        {"id": "d", "prediction": "The answer is Y", "options": many, "answer": "Y"},
        {"id": "e", "prediction": "option text 7", "options": many, "answer": "H"},
    ]
    path = write_jsonl(tmp_path / "k.jsonl", records)
    for rule in RULES:
        report = _run(cli, tmp_path, path, "--extract", rule)
        opts = [dict(zip(string.ascii_uppercase, r["options"])) if isinstance(r["options"], list) else r["options"]
                for r in records]  # fmt: skip
        assert report["per_sample"]["letter"] == [
            reference_letter(rule, r["prediction"], o) for r, o in zip(records, opts)
        ]
    # on 26 options VLMEvalKit's refusal 'Z' is option Z, scored as that letter
    assert vlmevalkit_reading("Cannot determine the answer", opts[2]) == "Z"
    report = _run(cli, tmp_path, path)
    assert report["per_sample"]["letter"][2] == "Z" and report["counts"]["refusal"] == 0


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": 1, "prediction": "A", "options": ["x", "y", "z", "w"], "answer": "E"},
         "the answer 'E' is not one of the option letters (A, B, C, D)"),
        ({"id": 1, "prediction": "A", "options": ["x"], "answer": "A"}, "a question needs 2 to 26 options, got 1"),
        ({"id": 1, "prediction": "A", "options": [f"o{i}" for i in range(27)], "answer": "A"}, "at most 26 options, got 27"),
        ({"id": 1, "prediction": 2, "options": ["x", "y"], "answer": "A"}, "'prediction' must be text, got the number"),
        ({"id": 1, "prediction": "A", "options": ["x", 2.5], "answer": "A"}, "option B must be text, got the number"),
        ({"id": 1, "prediction": "A", "options": ["x", "y"], "answer": 1}, "'answer' must be text"),
        ({"id": 1, "prediction": "A", "answer": "A"}, "missing field 'options'"),
        ({"id": 1, "prediction": "A", "options": "x y", "answer": "A"}, "'options' must be an object"),
        ({"id": 1, "prediction": "A", "options": ["x", "y"], "answer": "A", "category": 3}, "'category' must be text"),
        ({"id": 0, "prediction": "A", "options": ["x", "y"], "answer": "A"}, "duplicate record id '0' (first at line 1)"),
    ],
)  # fmt: skip
def test_bad_input_is_one_sentence_with_file_and_line(cli, tmp_path, record, message):
    good = {"id": 0, "prediction": "A", "options": ["x", "y"], "answer": "A"}
    path = write_jsonl(tmp_path / "p.jsonl", [good, record])
    result = cli("mcq", path, "--out", "r.json")
    assert result.exit_code == 2
    assert f"{path}:2: " in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.json").exists()


def test_bad_vlmevalkit_files(cli, tmp_path):
    header = ["index", "question", "A", "B", "answer", "prediction"]
    path = tmp_path / "one.tsv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerows([header, [1, "q", "x", "y", "A", "A"], [2, "q", "x", "", "A", "A"]])
    result = cli("mcq", path)
    assert (
        result.exit_code == 2
        and f"{path}:3: a question needs 2 to 26 options (columns A, B, ...), got 1" in result.stderr
    )
    from openpyxl import Workbook

    book = Workbook()
    for row in [header, [1, "q", "x", "y", "A", "A"], [2, "q", "x", "y", "C", "A"]]:
        book.active.append(row)
    book.save(tmp_path / "bad.xlsx")
    result = cli("mcq", tmp_path / "bad.xlsx")
    assert (
        result.exit_code == 2
        and f"{tmp_path / 'bad.xlsx'}:3: the answer 'C' is not one of the option letters" in result.stderr
    )
    result = cli("mcq", STYLES, "--extract", "gpt-judge")
    assert result.exit_code == 2 and "gpt-judge" in result.stderr


def test_gates_and_exit_codes(cli, tmp_path):
    data = read_choice_records(TSV)
    hits = [
        reference_letter("vlmevalkit", p, o) == a
        for p, o, a in zip(data.predictions, data.options, data.answers)
    ]
    accuracy = 100 * sum(hits) / len(hits)
    unparsed = sum(vlmevalkit_reading(p, o) is False for p, o in zip(data.predictions, data.options))
    args = ("mcq", TSV, "--out", "r.json", "--quiet")
    assert cli(*args, "--min", f"accuracy={accuracy - 1e-6}", "--max", f"unparsed={unparsed}").exit_code == 0
    result = cli(*args, "--min", f"accuracy={accuracy + 0.01}")
    assert result.exit_code == 1 and (tmp_path / "r.json").exists()
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["gates"] == [{"metric": "accuracy", "op": ">=", "threshold": accuracy + 0.01,
                                "value": report["metrics"]["accuracy"], "passed": False}]  # fmt: skip
    assert cli(*args, "--max", f"unparsed={unparsed - 1}").exit_code == 1
    assert cli(*args, "--min", "circular_accuracy=0", "--max", "failure_rate=1").exit_code == 0
    assert cli(*args, "--min", "CIDEr=1").exit_code == 2
    assert (
        cli("mcq", STYLES, "--out", "s.json", "-q", "--min", "circular_accuracy=1").exit_code == 2
    )  # no rotations


def test_bootstrap_intervals_resample_rows_and_groups(cli, tmp_path):
    from vlmeval.report.bootstrap import confidence_intervals, mean_estimator

    report = _run(cli, tmp_path, TSV, "--bootstrap", "200", "--seed", "7")
    assert set(report["ci"]) == set(report["metrics"])
    for key, sig in report["signature"].items():
        assert "|ci:pct95-bs200-seed7|" in sig, key
    ps = report["per_sample"]
    rows = confidence_intervals({"accuracy": mean_estimator(ps["accuracy"])}, len(ps["ids"]), 200, 7)
    groups = confidence_intervals(
        {"circ": mean_estimator(ps["circular_accuracy"])}, len(ps["circular_ids"]), 200, 7
    )
    assert (
        report["ci"]["accuracy"] == rows["accuracy"] and report["ci"]["circular_accuracy"] == groups["circ"]
    )
    rng = np.random.default_rng(7)  # unparsed: the count on each resample (sacrebleu's draw)
    idx = rng.choice(len(ps["ids"]), size=(200, len(ps["ids"])))
    totals = np.asarray(ps["unparsed"])[idx].sum(axis=1)
    assert report["ci"]["unparsed"] == pytest.approx(np.percentile(totals, [2.5, 97.5]).tolist())


def test_compare_two_runs_pairs_rows_and_groups(cli, tmp_path):
    data = read_choice_records(TSV)
    better = tmp_path / "better.tsv"
    with TSV.open(encoding="utf-8") as src, better.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(src, delimiter="\t")
        writer = csv.DictWriter(dst, reader.fieldnames, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for row in reader:  # rotations of questions 1-5 answered right
            if int(row["index"]) % 1_000_000 <= 5:
                row["prediction"] = row["answer"]
            writer.writerow(row)
    base, new = _run(cli, tmp_path, TSV, out="base.json"), _run(cli, tmp_path, better, out="new.json")
    result = cli(
        "compare", "base.json", "new.json", "--bootstrap", "200", "--trials", "200", "--format", "json", "-q"
    )
    assert result.exit_code == 0, result.stderr
    comparison = json.loads(result.stdout)
    assert comparison["shared"] == {
        "ids": len(data.ids),
        "circular_ids": len(base["per_sample"]["circular_ids"]),
    }
    for key in base["metrics"]:
        row = comparison["metrics"][key]
        assert row["delta"] == pytest.approx(new["metrics"][key] - base["metrics"][key])
    assert comparison["metrics"]["circular_accuracy"]["delta"] > 0
    assert cli("compare", "base.json", "new.json", "--max-drop", "accuracy=0", "-q").exit_code == 0
    assert cli("compare", "new.json", "base.json", "--max-drop", "accuracy=0", "-q").exit_code == 1
    _run(cli, tmp_path, TSV, "--extract", "strict", out="strict.json")
    result = cli("compare", "base.json", "strict.json", "-q")
    assert result.exit_code == 2 and "signatures differ" in result.stderr


def test_failure_rows(cli, tmp_path):
    data = read_choice_records(STYLES)
    report = _run(cli, tmp_path, STYLES, "--failures", "6")
    wrong = [i for i, (p, o, a) in enumerate(zip(data.predictions, data.options, data.answers))
             if reference_letter("vlmevalkit", p, o) != a][:6]  # fmt: skip
    rows = report["failures"]
    assert [r["id"] for r in rows] == [data.ids[i] for i in wrong]
    for row, i in zip(rows, wrong):
        assert row["score"] == 0.0
        assert (row["question"], row["options"], row["prediction"], row["reference"]) == (
            data.questions[i],
            data.options[i],
            data.predictions[i],
            data.answers[i],
        )
        assert row["letter"] == report["per_sample"]["letter"][i] and row["reason"] in REASONS
        assert row["error_type"] == report["per_sample"]["error_type"][i] is not None
        assert (row["reason"] is None) == (row["letter"] is not None)


def test_html_report(cli, tmp_path):
    from tests.report.test_html import _parse

    _run(cli, tmp_path, TSV, "--failures", "4", "--bootstrap", "50")
    result = cli("report", "r.json", "--html", "r.html", "-q")
    assert result.exit_code == 0, result.stderr
    page = _parse(tmp_path / "r.html")
    assert {"metrics", "failures", "plots", "counts"} <= page.ids
    assert page.classes["bars"] == 3  # by category, by l2 category, by error type
    assert page.classes["hist"] >= 4
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "circular_accuracy" in text and "Q: What" in text and "By l2 category" in text


def test_wandb_offline_table(cli, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for key, value in {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true",
                       "WANDB_DATA_DIR": str(tmp_path / "wandb-data")}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    report = _run(cli, tmp_path, XLSX, "--failures", "3")
    result = cli("report", "r.json", "--to-wandb", "--project", "vlm", "-q")
    assert result.exit_code == 0, result.stderr
    table = json.loads(next(tmp_path.rglob("failures_*.table.json")).read_text())
    assert table["columns"] == ["id", "score", "error_type", "question", "options", "prediction", "reference", "letter",
                                "reason"]  # fmt: skip
    assert [row[0] for row in table["data"]] == [f["id"] for f in report["failures"]]


def test_metrics_listing_and_help(cli):
    result = cli("metrics")
    assert result.exit_code == 0
    for key in ("circular_accuracy", "accuracy_chance_adjusted", "mme_score", "yes_ratio"):
        assert key in result.stdout
    result = cli("mcq", "--help")
    assert result.exit_code == 0 and "--extract" in result.stdout and "--circular" in result.stdout
    assert all(rule in result.stdout for rule in RULES)
