"""ANLS (Average Normalized Levenshtein Similarity) as the Robust Reading Competition's DocVQA /
InfographicVQA scorer computes it (also lmms-eval's ``anls``).

Definition, per question: both strings normalised by strip + lower + collapsing whitespace; Levenshtein
distance between the normalised strings divided by the max of the *raw* lengths (of ``.upper()``, as the
script measures them); similarity 1 - that, best over the gold answers; below the threshold tau (0.5)
the question scores 0 (exactly tau is kept). Corpus: mean over questions. Scale 0-1.

Known disagreement: MP-DocVQA's variant does not collapse whitespace before the distance.
The distance runs in rapidfuzz's C++ (exact integer edit distance, so the scores equal the script's).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

THRESHOLD = 0.5
# signature fields: the normalisation and the length the distance is divided by
NORMALISATION = "strip-lower-ws"
LENGTH = "raw-upper"


def normalise(text: str) -> str:
    return " ".join(text.strip().lower().split())


def anls_per_question(
    predictions: Sequence[str], answers: Sequence[Sequence[str]], threshold: float = THRESHOLD
) -> np.ndarray:
    """Per-question ANLS (thresholded similarity to the closest gold answer)."""
    counts = np.fromiter((len(golds) for golds in answers), dtype=np.int64, count=len(answers))
    if np.any(counts == 0):
        raise ValueError("a question needs at least one answer")
    if len(predictions) == 0:
        return np.zeros(0)
    owner = np.repeat(np.arange(len(predictions)), counts)
    flat = [g for golds in answers for g in golds]
    pred_norm = [normalise(p) for p in predictions]
    dist = cpdist(
        [pred_norm[i] for i in owner.tolist()], [normalise(g) for g in flat], scorer=Levenshtein.distance,
        dtype=np.float64, workers=-1,
    )  # fmt: skip
    pred_len = np.array([len(p.upper()) for p in predictions], dtype=np.float64)
    length = np.maximum(np.array([len(g.upper()) for g in flat], dtype=np.float64), pred_len[owner])
    normalised = np.divide(dist, length, out=np.zeros_like(dist), where=length != 0)
    first = np.cumsum(counts) - counts
    score = 1 - np.minimum.reduceat(normalised, first)
    return np.where(score < threshold, 0.0, score)
