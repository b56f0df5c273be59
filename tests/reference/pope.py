"""POPE's ``evaluate.py``, restated line by line (the oracle of tests/metrics/test_yesno.py).

Source: AoiDragon/POPE ``evaluate.py`` at commit 08d957b917e5a378a2f99d35b6293c536a66298b (2025-08-21; the
file is unchanged since the initial commit f3ec604 of 2023-05-31). The script reads two JSON Lines files
whose paths are empty strings in the source (``ans_file``, ``label_file``) and prints its numbers; here
it takes the parsed lines and returns what it prints. Quirks kept: only the text before the first '.' is
read, commas are removed, the words are split on single spaces, the test is case-sensitive ('No', 'not',
'no': 'NO' and 'Not' count as yes), everything that is not no is yes, any label other than 'no' is yes,
and a zero denominator raises ZeroDivisionError as the script does.
"""

from __future__ import annotations


def pope_label(text):
    """The script's per-answer rule: 'yes' or 'no'."""
    # Only keep the first sentence
    if text.find(".") != -1:
        text = text.split(".")[0]

    text = text.replace(",", "")
    words = text.split(" ")
    if "No" in words or "not" in words or "no" in words:
        return "no"
    else:
        return "yes"


def evaluate(answers, label_list):
    """``answers``: dicts with an 'answer' (the model's text); ``label_list``: the 'label' of each question."""
    answers = [dict(a) for a in answers]
    label_list = list(label_list)
    for answer in answers:
        answer["answer"] = pope_label(answer["answer"])

    for i in range(len(label_list)):
        if label_list[i] == "no":
            label_list[i] = 0
        else:
            label_list[i] = 1

    pred_list = []
    for answer in answers:
        if answer["answer"] == "no":
            pred_list.append(0)
        else:
            pred_list.append(1)

    pos = 1
    neg = 0
    yes_ratio = pred_list.count(1) / len(pred_list)

    TP, TN, FP, FN = 0, 0, 0, 0
    for pred, label in zip(pred_list, label_list):
        if pred == pos and label == pos:
            TP += 1
        elif pred == pos and label == neg:
            FP += 1
        elif pred == neg and label == neg:
            TN += 1
        elif pred == neg and label == pos:
            FN += 1

    precision = float(TP) / float(TP + FP)
    recall = float(TP) / float(TP + FN)
    f1 = 2 * precision * recall / (precision + recall)
    acc = (TP + TN) / (TP + TN + FP + FN)
    return {
        "TP": TP, "FP": FP, "TN": TN, "FN": FN, "pred_list": pred_list,
        "Accuracy": acc, "Precision": precision, "Recall": recall, "F1 score": f1, "Yes ratio": yes_ratio,
    }  # fmt: skip
