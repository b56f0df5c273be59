"""ANLS (Average Normalized Levenshtein Similarity) as the Robust Reading Competition's DocVQA /
InfographicVQA scorer computes it (also lmms-eval's ``anls``).

Definition, per question: both strings normalised by strip + lower + collapsing whitespace; Levenshtein
distance between the normalised strings divided by the max of the *raw* lengths (of ``.upper()``, as the
script measures them); similarity 1 - that, best over the gold answers; below the threshold tau (0.5)
the question scores 0 (exactly tau is kept). Corpus: mean over questions. Scale 0-1.

Variants (``VARIANTS``; where the references disagree, each by name, in the signature):

- ``rrc`` (default): the RRC DocVQA / InfographicVQA scorer, above (lmms-eval's and VLMEvalKit's too).
- ``mp-docvqa``: rubenpt91/MP-DocVQA-Framework ``Evaluator._calculate_anls`` (answer type 'string'): strip
  + lower, whitespace *not* collapsed; the distance divided by the longer *normalised* string; an empty
  prediction and the prediction "none" score 0.

The distance runs in rapidfuzz's C++ (exact integer edit distance, so the scores equal the scripts').
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

THRESHOLD = 0.5
VARIANTS = ("rrc", "mp-docvqa")
# signature fields per variant: the normalisation, the length the distance is divided by, the parity
NORMALISATION = {"rrc": "strip-lower-ws", "mp-docvqa": "strip-lower"}
LENGTH = {"rrc": "raw-upper", "mp-docvqa": "normalised"}
PARITY = {"rrc": "rrc-docvqa", "mp-docvqa": "mp-docvqa-framework"}


def normalise(text: str, variant: str = "rrc") -> str:
    return " ".join(text.strip().lower().split()) if variant == "rrc" else text.lower().strip()


def anls_per_question(
    predictions: Sequence[str], answers: Sequence[Sequence[str]], threshold: float = THRESHOLD,
    variant: str = "rrc",
) -> np.ndarray:
    """Per-question ANLS (thresholded similarity to the closest gold answer), under ``variant``."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ANLS variant {variant!r} (known: {', '.join(VARIANTS)})")
    counts = np.fromiter((len(golds) for golds in answers), dtype=np.int64, count=len(answers))
    if np.any(counts == 0):
        raise ValueError("a question needs at least one answer")
    if len(predictions) == 0:
        return np.zeros(0)
    owner = np.repeat(np.arange(len(predictions)), counts)
    flat = [g for golds in answers for g in golds]
    pred_norm = [normalise(p, variant) for p in predictions]
    gold_norm = [normalise(g, variant) for g in flat]
    dist = cpdist(
        [pred_norm[i] for i in owner.tolist()], gold_norm, scorer=Levenshtein.distance, dtype=np.float64, workers=-1,
    )  # fmt: skip
    if variant == "rrc":
        pred_len = np.array([len(p.upper()) for p in predictions], dtype=np.float64)
        gold_len = np.array([len(g.upper()) for g in flat], dtype=np.float64)
    else:
        pred_len = np.array([len(p) for p in pred_norm], dtype=np.float64)
        gold_len = np.array([len(g) for g in gold_norm], dtype=np.float64)
    length = np.maximum(gold_len, pred_len[owner])
    normalised = np.divide(dist, length, out=np.zeros_like(dist), where=length != 0)
    first = np.cumsum(counts) - counts
    score = 1 - np.minimum.reduceat(normalised, first)
    score = np.where(score < threshold, 0.0, score)
    if variant == "mp-docvqa":  # its evaluator returns 0 for an empty prediction and for "none"
        score[np.array([p == "" or p == "none" for p in pred_norm], dtype=bool)] = 0.0
    return score
