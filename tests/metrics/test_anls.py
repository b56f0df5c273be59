"""ANLS against the RRC DocVQA scorer's logic (also lmms-eval's ``anls``), EM/F1 against SQuAD v1.1's
evaluate-v1.1.py, ROUGE-1/2/L against rouge-score 0.1.2 (all as test-only references)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES
from tests.reference import mp_docvqa_anls, rrc_anls, squad_v11
from vlmeval.io.qa import load_docvqa
from vlmeval.metrics.anls import anls_per_question
from vlmeval.metrics.rouge_score import rouge_n_l
from vlmeval.metrics.squad import exact_match_and_f1

DOC = FIXTURES / "docvqa"


@pytest.fixture(scope="module")
def docvqa():
    return load_docvqa(DOC / "submission_400.json", DOC / "gt_400.json")


def test_anls_equals_the_rrc_scorer_on_the_fixture(docvqa):
    ours = anls_per_question(docvqa.predictions, docvqa.answers)
    theirs = [rrc_anls(a, p) for a, p in zip(docvqa.answers, docvqa.predictions)]
    assert ours.tolist() == theirs
    assert theirs.count(0.5) > 0  # boundary cases are in the fixture, and kept


TEXT = st.text(alphabet=st.sampled_from(list("abcAB 1.$ß\t")), max_size=8)


@settings(max_examples=500, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=3), TEXT, st.sampled_from([0.0, 0.5, 0.8]))
def test_anls_equals_the_rrc_scorer(answers, prediction, threshold):
    assert anls_per_question([prediction], [answers], threshold).tolist() == [
        rrc_anls(answers, prediction, threshold)
    ]


def test_threshold_is_strict_and_lengths_are_raw():
    assert anls_per_question(["abxx"], [["abcd"]]).tolist() == [0.5]  # exactly tau is kept
    assert anls_per_question(["abxxx"], [["abcde"]]).tolist() == [0.0]  # 0.4 < tau
    # the denominator is the raw (upper-cased) length: "ß".upper() is "SS", and padding counts
    assert anls_per_question(["ß"], [["ss"]]).tolist() == [rrc_anls(["ss"], "ß")]
    assert anls_per_question(["  a b  "], [["a b"]]).tolist() == [rrc_anls(["a b"], "  a b  ")]


MP_TEXT = st.text(alphabet=st.sampled_from(list("abcNOEAB 1.$ß\t\n")), max_size=8)


@settings(max_examples=500, deadline=None)
@given(st.lists(MP_TEXT, min_size=1, max_size=3), MP_TEXT | st.sampled_from(["none", "None ", ""]),
       st.sampled_from([0.0, 0.5, 0.8]))  # fmt: skip
def test_the_mp_docvqa_variant_equals_its_evaluator(answers, prediction, threshold):
    assert anls_per_question([prediction], [answers], threshold, variant="mp-docvqa").tolist() == [
        pytest.approx(mp_docvqa_anls(answers, prediction, threshold), abs=1e-12)
    ]


def test_the_variant_runs_from_the_command_line(cli, tmp_path):
    import json

    from tests.conftest import write_jsonl

    write_jsonl(tmp_path / "p.jsonl", [{"id": 1, "prediction": "new york", "answers": ["new  york"]},
                                       {"id": 2, "prediction": "None", "answers": ["none"]}])  # fmt: skip
    assert cli("docvqa", "p.jsonl", "--variant", "mp-docvqa", "--out", "r.json", "--quiet").exit_code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["per_sample"]["ANLS"] == [mp_docvqa_anls(["new  york"], "new york"), 0.0]
    assert "parity:mp-docvqa-framework" in report["signature"]["ANLS"] and "norm:strip-lower|" in report["signature"]["ANLS"]


def test_known_disagreement_with_mp_docvqa():
    # MP-DocVQA does not collapse inner whitespace: the same pair scores differently there
    answers, prediction = ["new  york"], "new york"
    assert anls_per_question([prediction], [answers]).tolist() == [1.0]
    assert mp_docvqa_anls(answers, prediction) < 1.0
    # and scores "none" and an empty prediction 0 whatever the answers
    assert anls_per_question(["None"], [["none"]]).tolist() == [1.0] and mp_docvqa_anls(["none"], "None") == 0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list("ab .,!-'")), max_size=8) | st.just("the a"),
        min_size=1,
        max_size=3,
    ),
    st.text(alphabet=st.sampled_from(list("ab .,!-'")), max_size=8),
)
def test_em_f1_equal_squad_v11(answers, prediction):
    em, f1 = exact_match_and_f1([prediction], [answers])
    assert (em[0], f1[0]) == squad_v11(prediction, answers)


def test_rouge_equals_rouge_score(docvqa):
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    ours = rouge_n_l(docvqa.predictions, docvqa.answers)
    for i, (pred, golds) in enumerate(zip(docvqa.predictions, docvqa.answers)):
        theirs = scorer.score_multi(golds, pred)
        for key, name in (("ROUGE_1", "rouge1"), ("ROUGE_2", "rouge2"), ("ROUGE_L", "rougeL")):
            assert ours[key][i] == pytest.approx(theirs[name].fmeasure, abs=1e-12), (key, pred, golds)
    assert np.mean(ours["ROUGE_1"]) > 0
