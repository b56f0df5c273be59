"""CLIPScore and RefCLIPScore (Hessel et al. 2021), as jmhessel/clipscore computes them from CLIP features.

    CLIP-S(c, v)       = w * max(cos(c, v), 0),  w = 2.5
    RefCLIP-S(c, R, v) = harmonic mean of CLIP-S(c, v) and max_r cos(c, r)

Captions are encoded as ``"A photo depicts " + caption``. The reference code takes the text-text maximum
without clipping it at 0 and without the weight; so do we. A harmonic mean with a zero denominator is 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PROMPT = "A photo depicts "
WEIGHT = 2.5


def prompted(captions: Sequence[str], prompt: str = PROMPT) -> list[str]:
    return [prompt + c for c in captions]


def clip_s(image_features: np.ndarray, text_features: np.ndarray, weight: float = WEIGHT) -> np.ndarray:
    """Per-pair CLIP-S from L2-normalised features (rows aligned)."""
    return weight * np.clip(np.sum(image_features * text_features, axis=1), 0, None)


def max_reference_cosine(
    candidate_features: np.ndarray, reference_features: np.ndarray, group: np.ndarray, n: int
) -> np.ndarray:
    """For each candidate, the largest cosine with its own references (``group[j]`` = candidate of ref j)."""
    cos = np.sum(candidate_features[group] * reference_features, axis=1)
    best = np.full(n, -np.inf)
    np.maximum.at(best, group, cos)
    return best


def ref_clip_s(clip_scores: np.ndarray, text_text: np.ndarray) -> np.ndarray:
    denominator = clip_scores + text_text
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 2 * clip_scores * text_text / denominator
    return np.where(denominator == 0, 0.0, out)
