"""ROUGE-1, ROUGE-2 and ROUGE-L F1 with rouge-score's conventions (google-research ``rouge_score`` 0.1.2,
as Hugging Face ``evaluate`` uses it), for free-form answers and captions.

Tokenisation: lower case, every character outside [a-z0-9] becomes a space, split (no stemming, as
``evaluate``'s default). ROUGE-N: clipped n-gram overlap, F1; ROUGE-L: longest common subsequence, F1.
Several references: the reference with the highest F1 counts (rouge-score's ``score_multi``).
Corpus: mean over samples. Scale 0-1. (The COCO caption ROUGE_L is pycocoevalcap's; see ``rouge.py``.)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rapidfuzz.distance import LCSseq

VERSION = "0.1.2"  # the rouge-score release these conventions are taken from
STEMMING = False  # evaluate's default

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def tokenize(text: str) -> list[str]:
    return _NON_ALNUM.sub(" ", text.lower()).split()


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(zip(*(tokens[i:] for i in range(n))))


def _f1(overlap: int, pred_total: int, ref_total: int) -> float:
    precision = overlap / pred_total if pred_total > 0 else 0.0
    recall = overlap / ref_total if ref_total > 0 else 0.0
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def rouge_n_l(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, list[float]]:
    """Per-sample F1 for ``ROUGE_1``, ``ROUGE_2`` and ``ROUGE_L``."""
    out: dict[str, list[float]] = {"ROUGE_1": [], "ROUGE_2": [], "ROUGE_L": []}
    for pred, refs in zip(predictions, references):
        p = tokenize(pred)
        p1, p2 = _ngrams(p, 1), _ngrams(p, 2)
        best = {"ROUGE_1": 0.0, "ROUGE_2": 0.0, "ROUGE_L": 0.0}
        for ref in refs:
            r = tokenize(ref)
            scores = {
                "ROUGE_1": _f1(sum((p1 & _ngrams(r, 1)).values()), max(len(p), 0), len(r)),
                "ROUGE_2": _f1(sum((p2 & _ngrams(r, 2)).values()), max(len(p) - 1, 0), max(len(r) - 1, 0)),
                "ROUGE_L": _f1(LCSseq.similarity(p, r), len(p), len(r)),
            }
            for key, value in scores.items():
                best[key] = max(best[key], value)
        for key in out:
            out[key].append(best[key])
    return out
