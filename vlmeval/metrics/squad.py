"""Exact match and token F1 with SQuAD v1.1 normalisation (the official ``evaluate-v1.1.py``).

Normalisation: lower case, drop ``string.punctuation``, drop the words a/an/the, collapse whitespace.
Per question: the max over the gold answers; corpus: the mean x 100. Scale 0-100.
Empty strings follow v1.1: exact match of two empty strings is 1; token F1 with no common token is 0,
also when both are empty (SQuAD v2.0 would give 1 there). The signature says ``empty:v1.1``.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

NORMALISATION = "squad-v1.1"  # evaluate-v1.1.py's normalize_answer
EMPTY_RULE = "v1.1"  # two empty strings: exact match 1, F1 0

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def exact_match_and_f1(
    predictions: Sequence[str], answers: Sequence[Sequence[str]]
) -> tuple[list[float], list[float]]:
    """Per-question exact match and token F1, each in [0, 1] (max over gold answers)."""
    cache: dict[str, str] = {}

    def norm(text: str) -> str:
        out = cache.get(text)
        if out is None:
            out = cache[text] = normalize_answer(text)
        return out

    em, f1 = [], []
    for pred, golds in zip(predictions, answers):
        p = norm(pred)
        p_tokens = p.split()
        em.append(float(max(p == norm(g) for g in golds)))
        f1.append(max(_f1(p_tokens, norm(g).split()) for g in golds))
    return em, f1
