"""lmms-eval's rule-based parsers, restated line by line (oracles for tests/metrics).

Sources, EvolvingLMMs-Lab/lmms-eval at commit 75571cfe0fa36ca5ec2e6aa2bb268f9d38295af3 (2026-08-06):
- ``lmms_eval/tasks/_task_utils/mmmu_mcq_utils.py`` (last changed in d8fcb9c): ``get_multi_choice_info``,
  ``parse_mmmu_multi_choice_response``, which ``lmms_eval/tasks/mmmu/utils.py``'s
  ``parse_multi_choice_response`` and ``get_multi_choice_info`` call (the MMMU code, from
  MMMU-Benchmark/MMMU eval_utils.py);
- ``lmms_eval/tasks/pope/utils.py``: ``pope_process_results`` and the ``pope_aggregate_*`` functions;
- ``lmms_eval/tasks/mme/utils.py`` (last changed in c7eaef3): ``parse_pred_ans``, ``mme_process_results``,
  ``mme_aggregate_results``.

The one change: ``random.choice`` in the multiple-choice parser is a parameter (``choice``), so a test can
see that the parser would draw, and from which candidates; the default is the source's ``random.choice``.
Quirks kept: punctuation stripped from the ends one character class after another, "A " matched anywhere
(the "E " of "THE " counts), option text only tried on answers of more than five words, ties broken by the
last occurrence (``np.argmax``: the first of equal maxima); POPE's yes_ratio counts the ground truth, its
recall ignores answers that are neither yes nor no.
"""

from __future__ import annotations

import random
from collections import defaultdict

import numpy as np


def get_multi_choice_info(options, start_chr="A"):
    all_choices = []
    index2ans = {}
    for i, option in enumerate(options):
        choice = chr(ord(start_chr) + i)
        index2ans[choice] = option
        all_choices.append(choice)
    return index2ans, all_choices


def parse_mmmu_multi_choice_response(response, all_choices, index2ans, choice=random.choice):
    for char in [",", ".", "!", "?", ";", ":", "'"]:
        response = response.strip(char)
    response = " " + response + " "

    index_ans = True
    ans_with_brack = False
    candidates = []

    for choice_ in all_choices:
        if f"({choice_})" in response:
            candidates.append(choice_)
            ans_with_brack = True

    if len(candidates) == 0:
        for choice_ in all_choices:
            if f"{choice_} " in response:
                candidates.append(choice_)

    if len(candidates) == 0:
        for choice_ in all_choices:
            if f"{choice_}." in response:
                candidates.append(choice_)

    if len(candidates) == 0 and len(response.split()) > 5:
        for index, ans in index2ans.items():
            if ans.lower() in response.lower():
                candidates.append(index)
                index_ans = False

    if len(candidates) == 0:
        pred_index = choice(all_choices)
    elif len(candidates) > 1:
        start_indexes = []
        if index_ans:
            if ans_with_brack:
                for can in candidates:
                    start_indexes.append(response.rfind(f"({can})"))
            else:
                for can in candidates:
                    start_indexes.append(response.rfind(f" {can} "))
        else:
            for can in candidates:
                start_indexes.append(response.lower().rfind(index2ans[can].lower()))
        pred_index = candidates[np.argmax(start_indexes)]
    else:
        pred_index = candidates[0]

    return pred_index


class RandomDraw(Exception):
    """Raised by ``drawing`` instead of drawing: carries the candidates the parser would draw from."""

    def __init__(self, candidates):
        super().__init__(candidates)
        self.candidates = list(candidates)


def drawing(candidates):
    raise RandomDraw(candidates)


def parse_or_draw(response, all_choices, index2ans):
    """(letter, None) when the parser decides, (None, candidates) when it would draw at random."""
    try:
        return parse_mmmu_multi_choice_response(response, all_choices, index2ans, choice=drawing), None
    except RandomDraw as draw:
        return None, draw.candidates


# --------------------------------------------------------------------------------------------------
# POPE


def pope_process_results(doc, results):
    pred = results[0].lower().strip()
    gt_ans = doc["answer"].lower().strip()
    assert gt_ans in ["yes", "no"]
    score = 1.0 if pred == gt_ans else 0.0
    entry = {"question_id": doc["question_id"], "score": score, "prediction": pred, "ground_truth": gt_ans}
    return {k: entry for k in ("pope_accuracy", "pope_precision", "pope_recall", "pope_f1_score", "pope_yes_ratio")}


def pope_aggregate_accuracy(results):
    total_score = 0
    for result in results:
        total_score += result["score"]
    avg_score = total_score / len(results)
    return avg_score


def pope_aggregate_precision(results):
    true_positives = 0
    false_positives = 0
    for result in results:
        pred = result["prediction"]
        gt = result["ground_truth"]
        if gt == "yes" and pred == "yes":
            true_positives += 1
        elif gt == "no" and pred == "yes":
            false_positives += 1
    precision = true_positives / (true_positives + false_positives) if (true_positives + false_positives) > 0 else 0
    return precision


def pope_aggregate_recall(results):
    true_positives = 0
    false_negatives = 0
    for result in results:
        pred = result["prediction"]
        gt = result["ground_truth"]
        if gt == "yes" and pred == "yes":
            true_positives += 1
        elif gt == "yes" and pred == "no":
            false_negatives += 1
    recall = true_positives / (true_positives + false_negatives) if (true_positives + false_negatives) > 0 else 0
    return recall


def pope_aggregate_f1_score(results):
    precision = pope_aggregate_precision(results)
    recall = pope_aggregate_recall(results)
    f1_score = 2 * (precision * recall) / (precision + recall) if (precision + recall) > 0 else 0
    return f1_score


def pope_aggregate_yes_ratio(results):
    yes_count = 0
    no_count = 0
    for result in results:
        gt = result["ground_truth"]
        if gt == "yes":
            yes_count += 1
        elif gt == "no":
            no_count += 1
    yes_ratio = yes_count / (yes_count + no_count) if (yes_count + no_count) > 0 else 0
    return yes_ratio


# --------------------------------------------------------------------------------------------------
# MME

MME_EVAL_TYPES = {
    "Perception": ["existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark",
                   "artwork", "OCR"],
    "Cognition": ["commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning"],
}  # fmt: skip


def mme_parse_pred_ans(pred_ans):
    """Brought from Otter Eval"""
    pred_ans = pred_ans.lower().strip().replace(".", "")
    pred_label = None
    if pred_ans in ["yes", "no"]:
        pred_label = pred_ans
    elif len(pred_ans) == 1:
        if pred_ans == "y":
            pred_label = "yes"
        elif pred_ans == "n":
            pred_label = "no"
        else:
            pred_label = "other"
    else:
        prefix_pred_ans = pred_ans[:4]
        if "yes" in prefix_pred_ans:
            pred_label = "yes"
        elif "no" in prefix_pred_ans:
            pred_label = "no"
        else:
            pred_label = "other"
    return pred_label


def mme_process_results(doc, results):
    pred = results[0]
    pred_ans = mme_parse_pred_ans(pred)
    gt_ans = doc["answer"].lower().strip().replace(".", "")
    assert gt_ans in ["yes", "no"]
    assert pred_ans in ["yes", "no", "other"]
    score = 1.0 if pred_ans == gt_ans else 0.0
    category = doc["category"]
    key_name = "mme_perception_score" if category in MME_EVAL_TYPES["Perception"] else "mme_cognition_score"
    return {key_name: {"question_id": doc["question_id"], "category": category, "score": score}}


def mme_aggregate_results(results):
    """Returns (total, per category score) where the source logs the per category score."""
    category2score = defaultdict(dict)
    for result in results:
        question_id = result["question_id"]
        score = result["score"]
        category = result["category"]
        if question_id not in category2score[category]:
            category2score[category][question_id] = []
        category2score[category][question_id].append(score)
    category2avg_score = {}
    for category, question2scores in category2score.items():
        total_score = 0
        for question_id, scores in question2scores.items():  # noqa: B007 (as the source has it)
            assert len(scores) == 2, "MME only supports pairwise evaluation"
            acc = sum(scores) / len(scores) * 100.0
            acc_plus = (sum(scores) == 2) * 100.0
            score = acc_plus + acc
            total_score += score
        avg_score = total_score / len(question2scores)
        category2avg_score[category] = avg_score
    total_score = sum(category2avg_score.values())
    return total_score, category2avg_score
