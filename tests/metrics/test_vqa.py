"""VQA accuracy against the official GT-Vision-Lab/VQA evaluation.

fixtures/vqa: 600 real VQA v2 questions with their 10 human answers (a public subset of the training
annotations) and model-style predictions in the forms the normalisation is about. official_outputs.json
holds what the official scripts printed for these inputs (a013f00 = official-2021 and a4f1afd =
official-2017, run with Python 2.7.18, their only supported interpreter). Hypothesis then compares every
variant with a line-by-line transcription of the scripts (tests/reference.py) on drawn answers.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES
from tests.reference import OfficialVqaEval, vlmevalkit_vqa_overall, vlmevalkit_vqa_score
from vlmeval.io.qa import load_vqa
from vlmeval.metrics.vqa import (
    CONTRACTIONS,
    NUMBER_WORDS,
    PUNCTUATION,
    mean_percent,
    official_round,
    process_digit_article,
    process_punctuation,
    vqa_accuracy_per_question,
)

VQA = FIXTURES / "vqa"
VERSIONS = {"official-2021": "a013f00", "official-2017": "a4f1afd"}


@pytest.fixture(scope="module")
def official():
    return json.loads((VQA / "official_outputs.json").read_text())


@pytest.fixture(scope="module")
def data():
    return load_vqa(VQA / "results_600.json", VQA / "v2_annotations_600.json", VQA / "v2_questions_600.json")


@pytest.mark.parametrize("variant", sorted(VERSIONS))
def test_equal_to_the_official_scripts(official, data, variant):
    printed = official[VERSIONS[variant]]
    acc = vqa_accuracy_per_question(data.predictions, data.answers, variant)
    assert {i: official_round(100 * a) for i, a in zip(data.ids, acc)} == printed["evalQA"]
    assert official_round(mean_percent(acc)) == printed["accuracy"]["overall"]
    for group in ("answer_type", "question_type"):
        members: dict[str, list[float]] = {}
        for value, a in zip(data.groups[group], acc):
            members.setdefault(value[0], []).append(a)
        key = "perAnswerType" if group == "answer_type" else "perQuestionType"
        assert {k: official_round(mean_percent(v)) for k, v in members.items()} == printed["accuracy"][key]


def test_the_two_official_versions_really_differ(official):
    # the reason --variant exists: same predictions, 6.5 points apart
    assert official["a013f00"]["accuracy"]["overall"] != official["a4f1afd"]["accuracy"]["overall"]


def test_tables_are_the_official_ones():
    tables = json.loads((VQA / "official_tables.json").read_text())  # dumped from the running script
    assert tables["contractions"] == CONTRACTIONS and tables["manualMap"] == NUMBER_WORDS
    assert tables["punct"] == PUNCTUATION


def test_python2_rounding():
    """The script's round() is Python 2's (halves away from zero); Python 3 rounds halves to even."""
    table = json.loads((VQA / "python2_round.json").read_text())  # values rounded by Python 2.7.18
    assert [official_round(v) for v in table["values"]] == table["python2_round_2"]


@pytest.mark.parametrize(
    "text, punctuated, normalised",
    [
        ("Yes.", "Yes", "yes"),
        ("a dog", "a dog", "dog"),
        ("Two", "Two", "2"),
        ("dont", "dont", "don't"),
        ("Im", "Im", "im"),  # capitalised keys never match after lower-casing
        ("t-shirt", "t shirt", "t shirt"),
        ("black/white", "black white", "black white"),
        ("1,000", "1000", "1000"),  # digit-comma-digit: every mark is deleted
        ("red, white", "red white", "red white"),  # "," followed by a space: deleted
        ("3.5", "3.5", "3.5"),
        ("e.g. x", "eg x", "eg x"),
        ("none", "none", "0"),
        ("." * 40, "." * 8, "." * 8),  # the period regex runs at most 32 times
    ],
)
def test_normalisation_quirks(text, punctuated, normalised):
    assert process_punctuation(text) == punctuated
    assert process_digit_article(process_punctuation(text)) == normalised


ANSWER = st.sampled_from(
    ["yes", "Yes", "yes.", "no", "2", "two", "a dog", "the dog", "dog", "dont", "don't", "t-shirt",
     "t shirt", "1,000", "1000", " red \n", "red", "red, white", "black/white", "3.5", "Im", "..", "none", "0",
     "2.", "10.", "10", "1.5.", "3 p.m.", "3.\uff15", "2,\uff13 dogs", "red\u180e", "a\u180edog", "\uff11,000."]
)  # fmt: skip


# Each case run through the real vqa.py + vqaEval.py of both commits under Python 2.7.18 (the helper script
# of the fresh-data audit, /tmp/fresh_answers/min/run_py2.py): per-question accuracy, a013f00 then a4f1afd.
# Python 2's \d is [0-9] in these patterns, and its unicode.split()/strip() break at U+180E.
PYTHON2_CASES = [
    (["3.\uff15"] * 10, "3.\uff15", 100.0, 0.0),
    (["2,\uff13 dogs"] * 9 + ["x"], "2 \uff13 dogs", 100.0, 100.0),
    (["red\u180e"] * 10, "\u180ered", 100.0, 0.0),
    (["a\u180edog"] * 5 + ["dog"] * 5, "dog", 100.0, 100.0),
    (["\uff11,000"] * 4 + ["1000"] * 6, "\uff11,000.", 100.0, 100.0),
    (["two\u180e"] * 3 + ["2"] * 7, "two", 100.0, 100.0),
]


@pytest.mark.parametrize("answers, prediction, v2021, v2017", PYTHON2_CASES)
def test_unicode_digits_and_u180e_as_python_2_reads_them(answers, prediction, v2021, v2017):
    for variant, expected in (("official-2021", v2021), ("official-2017", v2017)):
        assert [100 * a for a in vqa_accuracy_per_question([prediction], [answers], variant)] == [expected]


@settings(max_examples=400, deadline=None)
@given(st.lists(ANSWER, min_size=1, max_size=10), ANSWER)
def test_every_variant_equals_the_transcribed_script(answers, prediction):
    dicts = [{"answer": a, "answer_id": i + 1} for i, a in enumerate(answers)]
    for variant in ("official-2021", "official-2017"):
        expected = OfficialVqaEval(variant).question_accuracy(dicts, prediction)
        assert vqa_accuracy_per_question([prediction], [answers], variant) == [expected]
    assert vqa_accuracy_per_question([prediction], [answers], "harness") == [
        vlmevalkit_vqa_score(answers, prediction)
    ]


def test_the_harness_keeps_a_period_after_a_digit_as_vlmevalkit_does():
    """VLMEvalKit's period rule is a real look-behind ("10." stays "10."); the official script's deletes it."""
    answers = ["10"] * 10
    assert vlmevalkit_vqa_score(answers, "10.") == 0.0
    assert vqa_accuracy_per_question(["10."], [answers], "harness") == [0.0]
    assert vqa_accuracy_per_question(["10."], [answers], "official-2017") == [1.0]
    assert process_punctuation("2.") == "2"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(ANSWER, min_size=1, max_size=10), ANSWER), min_size=1, max_size=40))
def test_the_harness_overall_is_vlmevalkits_np_mean(questions):
    """Bit for bit: np.mean per question, then np.mean(hit) * 100 (pairwise sums, not the script's)."""
    answers, predictions = [q[0] for q in questions], [q[1] for q in questions]
    per_question = vqa_accuracy_per_question(predictions, answers, "harness")
    assert per_question == [vlmevalkit_vqa_score(a, p) for a, p in zip(answers, predictions)]
    assert mean_percent(per_question, "numpy") == vlmevalkit_vqa_overall(per_question)


@settings(max_examples=100, deadline=None)
@given(st.lists(ANSWER, min_size=10, max_size=10), ANSWER)
def test_per_question_accuracy_takes_the_ten_answer_values(answers, prediction):
    (acc,) = vqa_accuracy_per_question([prediction], [answers])
    assert round(acc, 10) in {0.0, 0.3, 0.6, 0.9, 1.0}
