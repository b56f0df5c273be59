"""Multiple-choice extraction and scoring against the harnesses' own code, restated in tests/reference.

Every expected letter and total comes from running the references (tests/reference/vlmevalkit.py:
VLMEvalKit e8e78f0's can_infer, eval_vanilla, mcq_circular_eval in exact-matching mode;
tests/reference/lmms_eval.py: lmms-eval 75571cf's MMMU parser, its random draw intercepted) on the
fixtures (fixtures/mcq: 400 styled predictions for 20 real MMBench items; 77 MMBench CircularEval
rows as VLMEvalKit TSV/XLSX files) and on drawn answer strings. ``strict`` has no external reference: its
cases below follow from its definition.
"""

from __future__ import annotations

import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES
from tests.reference import lmms_eval as olm
from tests.reference import vlmevalkit as ovk
from vlmeval.io.choice import read_choice_records
from vlmeval.metrics import choice
from vlmeval.metrics.choice import (
    RULES,
    breakdown,
    circular_eval,
    draw_candidates,
    extract,
    option_set,
    score_choices,
)

MCQ = FIXTURES / "mcq"


@pytest.fixture(autouse=True)
def _no_verbose(monkeypatch):
    monkeypatch.delenv("VERBOSE", raising=False)  # VLMEvalKit reads it; any value changes can_infer


@pytest.fixture(scope="module")
def styles():
    return read_choice_records(MCQ / "mcq_styles.jsonl")


@pytest.fixture(scope="module")
def circular():
    return read_choice_records(MCQ / "mmbench_circular.tsv")


def vk_row(pred, opts, answer, index=0):
    """A VLMEvalKit data row: letters as columns."""
    return {"index": index, "prediction": pred, "answer": answer, **opts}


def vk_letter(ex):
    """Our extraction in VLMEvalKit's terms: the letter, 'Z', or False."""
    if ex.letter is not None:
        return ex.letter
    return "Z" if ex.reason in ("refusal", "answered_z") else False


# ---------------------------------------------------------------------------------------------
# vlmevalkit


def test_vlmevalkit_letters_equal_can_infer_on_the_fixtures(styles, circular):
    compared = 0
    for data in (styles, circular):
        for pred, opts in zip(data.predictions, data.options):
            ref = ovk.can_infer(pred, ovk.build_choices(vk_row(pred, opts, "A")))
            ex = extract(pred, opts, "vlmevalkit")
            assert vk_letter(ex) == ref, (pred, opts)
            assert ex.judge_vlmevalkit == (ref is False)
            compared += 1
    assert compared == 400 + 77


def test_vlmevalkit_hits_and_accuracy_equal_eval_vanilla(styles):
    rows = [
        vk_row(p, o, a, i)
        for i, (p, o, a) in enumerate(zip(styles.predictions, styles.options, styles.answers))
    ]
    ref = ovk.mcq_vanilla_eval(rows, [{"index": r["index"], "answer": r["answer"]} for r in rows])
    scores = score_choices(styles.predictions, styles.options, styles.answers, rule="vlmevalkit")
    assert scores.correct.tolist() == [r["hit"] for r in ref]
    assert scores.metrics()["accuracy"] == pytest.approx(
        100 * sum(r["hit"] for r in ref) / len(ref), abs=1e-12
    )
    # what VLMEvalKit sends to its judge: can_infer gave nothing
    judged = sum(1 for r in rows if not ovk.can_infer(r["prediction"], ovk.build_choices(r)))
    assert scores.counts()["vlmevalkit_judged_answer"] == judged
    assert scores.metrics()["unparsed"] == judged  # for this rule, unparsed = what the judge would get


def test_circular_eval_equals_vlmevalkit(circular):
    rows = [vk_row(p, o, a, int(i)) for i, p, o, a in
            zip(circular.ids, circular.predictions, circular.options, circular.answers)]  # fmt: skip
    meta = [{"index": r["index"], "answer": r["answer"]} for r in rows]
    ref_hits, ref_judged = ovk.mcq_circular_eval(rows, meta)
    scores = score_choices(circular.predictions, circular.options, circular.answers, rule="vlmevalkit",
                           groups=circular.groups, heads=circular.heads)  # fmt: skip
    circ = scores.circular
    assert dict(zip(map(int, circ.group_ids), circ.hit.tolist())) == ref_hits
    assert circ.circular_accuracy == pytest.approx(100 * sum(ref_hits.values()) / len(ref_hits), abs=1e-12)
    assert circ.judged_groups == len(ref_judged)
    # the orphan group (its original row left out of the fixture) is not counted, as in VLMEvalKit
    assert len(ref_hits) == len(set(circular.groups)) - 1 == len(circ.hit)
    assert 0 < sum(ref_hits.values()) < len(ref_hits)  # the fixture has right and wrong groups


def test_circular_judged_groups_counted_whatever_the_rule(circular):
    base = score_choices(circular.predictions, circular.options, circular.answers, rule="vlmevalkit",
                         groups=circular.groups, heads=circular.heads).circular  # fmt: skip
    for rule in ("lmms-eval", "strict"):
        other = score_choices(circular.predictions, circular.options, circular.answers, rule=rule,
                              groups=circular.groups, heads=circular.heads).circular  # fmt: skip
        assert (other.judged_groups, other.judged_rows) == (base.judged_groups, base.judged_rows)


# ---------------------------------------------------------------------------------------------
# lmms-eval


def test_lmms_eval_letters_equal_the_mmmu_parser_on_the_fixtures(styles, circular):
    drawn = compared = 0
    for data in (styles, circular):
        for pred, opts in zip(data.predictions, data.options):
            letters = list(opts)
            ref, candidates = olm.parse_or_draw(pred, letters, opts)
            ex = extract(pred, opts, "lmms-eval")
            if ref is None:  # lmms-eval would draw: we say unparsed, and it would draw from these
                drawn += 1
                assert ex.letter is None and ex.draw_lmms_eval
                assert candidates == draw_candidates("lmms-eval", opts)
            else:
                assert ex.letter == ref and not ex.draw_lmms_eval
            compared += 1
    assert compared == 477 and drawn > 100


def test_lmms_eval_unparsed_totals(styles):
    scores = score_choices(styles.predictions, styles.options, styles.answers, rule="lmms-eval")
    ref = [olm.parse_or_draw(p, list(o), o)[0] for p, o in zip(styles.predictions, styles.options)]
    assert (
        scores.metrics()["unparsed"]
        == sum(r is None for r in ref)
        == scores.counts()["lmms_eval_drawn_answer"]
    )
    assert scores.correct.tolist() == [int(r == a) for r, a in zip(ref, styles.answers)]


def test_lmms_eval_list_options_are_lettered_as_get_multi_choice_info_letters_them():
    options = ["dog", "cat", "a red bus"]
    index2ans, all_choices = olm.get_multi_choice_info(options)
    for pred in ["I would say the cat is in the picture here", "(C)", "b", "C.", "The answer: A"]:
        assert (
            extract(pred, options, "lmms-eval").letter == olm.parse_or_draw(pred, all_choices, index2ans)[0]
        )


# ---------------------------------------------------------------------------------------------
# strict, and the rules side by side


@pytest.mark.parametrize(
    ("pred", "letter", "reason"),
    [("B", "B", None), ("(B)", "B", None), ("B.", "B", None), ("[B]", "B", None), ("(B).", "B", None),
     (" B \n", "B", None), ("b", None, "not_a_letter"), ("Answer: B", None, "not_a_letter"),
     ("**B**", None, "not_a_letter"), ("B)", None, "not_a_letter"), ("E", None, "not_an_option"),
     ("", None, "empty"), ("  ", None, "empty"), ("AB", None, "not_a_letter")],
)  # fmt: skip
def test_strict(pred, letter, reason):
    ex = extract(pred, ["w", "x", "y", "z"], "strict")
    assert (ex.letter, ex.reason) == (letter, reason)


def test_worked_example_where_the_rules_disagree():
    """The README's example: one MMBench item (fixtures/mcq, mmb8), four answers; the table is checked
    against both references in the loop above it."""
    options = ["Silver white color.", "Good conductivity.", "Aromatic liquid.", "Good flowability."]
    got = {p: [extract(p, options, r).letter for r in RULES] for p in
           ["**B**", "答案是B", "Good conductivity.", "I think B, though A is possible"]}  # fmt: skip
    ref = {p: [vk_letter(extract(p, options, "vlmevalkit")),
               olm.parse_or_draw(p, list("ABCD"), dict(zip("ABCD", options)))[0]] for p in got}  # fmt: skip
    for p in got:
        assert got[p][0] == (ref[p][0] or None) and got[p][1] == ref[p][1]
        assert ovk.can_infer(p, dict(zip("ABCD", options))) == (ref[p][0] or False)
    assert got == {
        "**B**": ["B", None, None],
        "答案是B": [None, "B", None],
        "Good conductivity.": ["B", None, None],
        "I think B, though A is possible": [None, "A", None],  # lmms-eval: the letter mentioned last
    }


def test_refusals_follow_vlmevalkit():
    opts = ["cat", "dog", "bus", "two"]
    ex = extract("Sorry, I can't help with images of people yet.", opts)
    assert (ex.letter, ex.reason, ex.judge_vlmevalkit) == (None, "refusal", False)
    s = score_choices(["Sorry, I can't help with images of people yet.", "B"], [opts, opts], ["A", "B"])
    assert s.metrics()["unparsed"] == 0 and s.counts()["refusal"] == 1
    assert s.metrics()["accuracy_chance_adjusted"] == 50.0  # a refusal is a decision, not credited 1/k
    # on a 26-option question VLMEvalKit's 'Z' is option Z
    many = [f"option {i}" for i in range(26)]
    assert ovk.can_infer("Cannot determine the answer", dict(zip(string.ascii_uppercase, many))) == "Z"
    assert extract("Cannot determine the answer", many).letter == "Z"


def test_draw_candidates():
    assert draw_candidates("lmms-eval", ["a", "b", "c"]) == ["A", "B", "C"]
    assert draw_candidates("vlmevalkit", ["a", "b", "c"]) == ovk.random_candidates({"A": 1, "B": 1, "C": 1})
    many = dict(zip(string.ascii_uppercase, [f"o{i}" for i in range(26)]))
    assert draw_candidates("vlmevalkit", many) == ovk.random_candidates(many) == []  # VLMEvalKit's precedence
    assert draw_candidates("strict", ["a", "b"]) == []


# ---------------------------------------------------------------------------------------------
# Metrics and their sufficient statistics


def test_chance_adjusted_credits_each_unparsed_answer_one_over_k():
    preds = ["B", "x", "x", "A"]
    opts = [["a", "b"], ["p", "q", "r", "s"], ["p", "q", "r"], ["u", "v"]]
    s = score_choices(preds, opts, ["B", "A", "A", "B"], rule="strict")
    assert s.unparsed.tolist() == [0, 1, 1, 0] and s.k.tolist() == [2, 4, 3, 2]
    assert s.metrics()["accuracy_chance_adjusted"] == pytest.approx(100 * (1 + 1 / 4 + 1 / 3 + 0) / 4)
    assert s.metrics()["accuracy"] == 25.0 and s.metrics()["unparsed"] == 2


def test_breakdown_equals_scoring_each_category_alone(styles):
    scores = score_choices(styles.predictions, styles.options, styles.answers)
    table = breakdown(scores, styles.l2_categories)
    for label, row in table.items():
        idx = [i for i, c in enumerate(styles.l2_categories) if c == label]
        alone = score_choices([styles.predictions[i] for i in idx], [styles.options[i] for i in idx],
                              [styles.answers[i] for i in idx]).metrics()  # fmt: skip
        assert row["accuracy"] == pytest.approx(alone["accuracy"])
        assert row["unparsed"] == alone["unparsed"] and row["count"] == len(idx)
        assert row["accuracy_chance_adjusted"] == pytest.approx(alone["accuracy_chance_adjusted"])


def test_circular_breakdown_reports_each_group_at_its_original_row(circular):
    s = score_choices(circular.predictions, circular.options, circular.answers, groups=circular.groups,
                      heads=circular.heads)  # fmt: skip
    assert all(circular.heads[r] for r in s.circular.first_row.tolist())
    table = breakdown(s, circular.categories)
    assert sum(row.get("groups", 0) for row in table.values()) == len(s.circular.hit)


def test_circular_eval_without_heads_counts_every_group():
    c = circular_eval(["g1", "g1", "g2", None, "g3"], [1, 1, 1, 0, 0])
    assert c.group_ids == ["g1", "g2", "g3"] and c.hit.tolist() == [1, 1, 0] and c.size.tolist() == [2, 1, 1]


def test_per_sample_outputs(styles):
    s = score_choices(styles.predictions[:40], styles.options[:40], styles.answers[:40], rule="lmms-eval")
    for i, (letter, reason) in enumerate(zip(s.letters, s.reasons)):
        ex = extract(styles.predictions[i], styles.options[i], "lmms-eval")
        assert (letter, reason) == (ex.letter, ex.reason)
        assert s.correct[i] == (letter == styles.answers[i])
    assert s.distinct <= 40


def test_short_answer_table_agrees_with_the_rules():
    """Every entry of the fast path equals running the rule, for option sets with and without its letter."""
    rng = np.random.default_rng(0)
    table = choice._short_table()
    sets = [
        choice.OptionSet(string.ascii_uppercase[:k], tuple(f"t{i}" for i in range(k))) for k in range(2, 27)
    ]
    for _ in range(20):
        letters = "".join(
            sorted(rng.choice(list(string.ascii_uppercase), size=int(rng.integers(2, 8)), replace=False))
        )
        sets.append(choice.OptionSet(letters, tuple(f"t{i}" for i in range(len(letters)))))
    for form, (index, codes) in table.items():
        for opts in sets:
            for rule in RULES:
                fast = codes[rule] if string.ascii_uppercase[index] in opts.letters else None
                slow = choice._packed(form, opts, rule)
                if fast is not None:
                    assert fast == slow, (form, opts.letters, rule)
    s = score_choices(list(table), [sets[2]] * len(table), ["A"] * len(table))
    assert s.distinct == len(table)


@pytest.mark.parametrize(
    "bad", [["only one"], [f"o{i}" for i in range(27)], {"a": "x", "B": "y"}, {"A": 1, "B": "y"}, "AB"]
)
def test_bad_options(bad):
    with pytest.raises(ValueError):
        option_set(bad)


def test_answer_must_be_an_option():
    with pytest.raises(ValueError, match="row 1"):
        score_choices(["A", "A"], [["x", "y"], ["x", "y"]], ["A", "C"])
    with pytest.raises(ValueError, match="unknown extraction rule"):
        score_choices(["A"], [["x", "y"]], ["A"], rule="gpt")


def test_empty_input():
    s = score_choices([], [], [])
    assert s.metrics() == {"accuracy": 0.0, "unparsed": 0, "accuracy_chance_adjusted": 0.0}


# ---------------------------------------------------------------------------------------------
# Drawn answers (hypothesis)

TOKENS = ["A", "B", "C", "D", "E", "Z", "a", "b", "c", "(A)", "(B)", "[C]", "B.", "C)", "**D**", "A,", "answer", "Answer:",
          "is", "the", "The", "correct", "option", "I", "think", "答案是B", "选", "dog", "cat", "red", "bus", "two",
          "none", "Sorry, I can't help with images of people yet.", "Cannot determine the answer",
          "Failed to obtain answer via API", ".", ",", "!", "?", ":", ";", "'", "*", "#", "{", "}", "\n", "\t", " "]  # fmt: skip
OPTION_TEXTS = [
    "dog",
    "cat",
    "a red bus",
    "two",
    "Two",
    "A",
    "none",
    "dog and cat",
    "3.14",
    "红色",
    "the answer",
]

answers_st = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join) | st.text(max_size=40)
options_st = st.lists(st.sampled_from(OPTION_TEXTS), min_size=2, max_size=6)


@settings(max_examples=300, deadline=None)
@given(answers_st, options_st)
def test_drawn_answers_vlmevalkit(pred, options):
    opts = dict(zip(string.ascii_uppercase, options))
    ex = extract(pred, options, "vlmevalkit")
    ref = ovk.can_infer(pred, dict(opts))
    assert vk_letter(ex) == ref
    assert ex.judge_vlmevalkit == (ref is False)


@settings(max_examples=300, deadline=None)
@given(answers_st, options_st)
def test_drawn_answers_lmms_eval(pred, options):
    letters = list(string.ascii_uppercase[: len(options)])
    ref, candidates = olm.parse_or_draw(pred, letters, dict(zip(letters, options)))
    ex = extract(pred, options, "lmms-eval")
    assert ex.letter == ref and ex.draw_lmms_eval == (ref is None)
    if ref is None:
        assert candidates == letters


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(answers_st, options_st, st.integers(0, 5)), min_size=1, max_size=20),
    st.sampled_from(RULES),
)
def test_drawn_batches_score_like_single_extractions(rows, rule):
    preds = [p for p, _, _ in rows]
    opts = [o for _, o, _ in rows]
    answers = [string.ascii_uppercase[a % len(o)] for _, o, a in rows]
    s = score_choices(preds, opts, answers, rule=rule)
    singles = [extract(p, o, rule) for p, o in zip(preds, opts)]
    assert s.letters == [x.letter for x in singles]
    assert s.correct.tolist() == [int(x.letter == a) for x, a in zip(singles, answers)]
    assert s.judge_vlmevalkit.tolist() == [int(x.judge_vlmevalkit) for x in singles]
    m = s.metrics()
    assert 0 <= m["accuracy"] <= m["accuracy_chance_adjusted"] <= 100


def test_a_26_option_question_scores_the_unresolved_as_z_as_vlmevalkit_does():
    """VLMEvalKit's exact matching records 'Z' for what can_infer leaves; with option Z that is a letter
    (a hit when Z is the answer). The answer stays unparsed (the judge's turn), credited 1/k."""
    texts = [f"opt{i}" for i in range(26)]
    opts = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", texts))
    predictions = ["hmm", "A and B", "Z", "I think it is opt25", "hmm", "", "B"]  # "opt25" holds "opt2" too
    answers = ["Z", "Z", "Z", "Z", "A", "Z", "B"]
    rows = [vk_row(p, opts, a, i) for i, (p, a) in enumerate(zip(predictions, answers))]
    ref = ovk.mcq_vanilla_eval(rows, [{"index": r["index"], "answer": r["answer"]} for r in rows])
    scores = score_choices(predictions, [opts] * len(rows), answers, rule="vlmevalkit")
    assert scores.correct.tolist() == [r["hit"] for r in ref] == [1, 1, 1, 1, 0, 1, 1]
    assert scores.unparsed.tolist() == [1, 1, 0, 1, 1, 1, 0]
    assert scores.credit.tolist() == [1 / 26, 1 / 26, 1, 1 / 26, 1 / 26, 1 / 26, 1]
    assert not extract("hmm", opts, "vlmevalkit").parsed and extract("hmm", opts, "vlmevalkit").letter == "Z"
    # CircularEval: a group with a rotation can_infer leaves goes to the judge (no hit without one)
    group = [vk_row("hmm", opts, "Z", 5), vk_row("B", opts, "B", 1_000_005)]
    meta = [{"index": r["index"], "answer": r["answer"]} for r in group]
    ref_hits, _ = ovk.mcq_circular_eval(group, meta)
    circ = score_choices(["hmm", "B"], [opts] * 2, ["Z", "B"], rule="vlmevalkit", groups=["5", "5"],
                         heads=[True, False]).circular  # fmt: skip
    assert circ.hit.tolist() == [ref_hits[5]]
