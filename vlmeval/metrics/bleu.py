"""BLEU-1..4 as pycocoevalcap 1.2 computes it (``bleu_scorer.py``, after Chiang's original).

Definition: clipped n-gram precision against the per-n-gram max count over the references, geometric mean
up to n, brevity penalty against the *closest* reference length (ties go to the shorter reference).
Smoothing as in pycocoevalcap: ``(correct + 1e-15) / (guess + 1e-9)``, so a zero count gives ~0 rather than
an error. The corpus score uses summed statistics (it is not the mean of the per-image scores).

Inputs: tokens (pycocoevalcap splits the PTB-tokenized caption on whitespace). Scale: 0-1.
Reference: pycocoevalcap 1.2 ``Bleu(4)``; per-image scores equal its ``bleu_list``, to 1e-9.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vlmeval.metrics.ngrams import CaptionNgrams, caption_ngrams, group_max, lookup

TINY = 1e-15
SMALL = 1e-9
REFLEN = "closest"  # the brevity penalty's reference length: the closest (ties to the shorter)


@dataclass
class BleuStatistics:
    """Per-image sufficient statistics; any subset or resample of images sums them."""

    correct: np.ndarray  # [images, n] clipped n-gram matches
    guess: np.ndarray  # [images, n] candidate n-grams
    testlen: np.ndarray  # [images] candidate length
    reflen: np.ndarray  # [images] closest reference length

    @property
    def n(self) -> int:
        return self.correct.shape[1]


def bleu_statistics(ngrams: CaptionNgrams) -> BleuStatistics:
    counts = ngrams.counts
    num_images, n = ngrams.num_images, counts.n
    testlen = counts.lengths[:num_images]
    reflens = counts.lengths[num_images:]
    correct = np.zeros((num_images, n), dtype=np.float64)
    for k in range(1, n + 1):
        (h_img, h_gram, h_count), (_, r_img, r_gram, r_count) = ngrams.split(k)
        # entries are sorted by (gram, sentence) and references are numbered image by image: sorted keys
        width = counts.num_sentences
        ref_keys, ref_max = group_max(r_gram * width + r_img, r_count, presorted=True)
        idx, found = lookup(ref_keys, h_gram * width + h_img)
        clipped = np.where(found, np.minimum(h_count, ref_max[idx] if len(ref_max) else 0), 0)
        correct[:, k - 1] = np.bincount(h_img, weights=clipped, minlength=num_images)
    guess = np.maximum(testlen[:, None] - np.arange(n)[None, :], 0).astype(np.float64)
    # closest reference length, ties to the shorter: min over (|len - testlen|, len)
    owner = ngrams.ref_owner
    diff = np.abs(reflens - testlen[owner])
    order = np.lexsort((reflens, diff, owner))
    first = np.flatnonzero(np.r_[True, owner[order][1:] != owner[order][:-1]])
    reflen = np.zeros(num_images, dtype=np.float64)
    reflen[owner[order][first]] = reflens[order][first]
    return BleuStatistics(correct, guess, testlen.astype(np.float64), reflen)


def _bleu(correct, guess, testlen, reflen) -> np.ndarray:
    """BLEU-1..n from statistics; works on one row (corpus) or many (per image)."""
    n = correct.shape[-1]
    scores = np.empty(correct.shape, dtype=np.float64)
    running = np.ones(correct.shape[:-1], dtype=np.float64)
    for k in range(n):
        running = running * ((correct[..., k] + TINY) / (guess[..., k] + SMALL))
        scores[..., k] = running ** (1.0 / (k + 1))
    ratio = (testlen + TINY) / (reflen + SMALL)
    penalty = np.where(ratio < 1, np.exp(1 - 1 / np.where(ratio < 1, ratio, 1.0)), 1.0)
    return scores * penalty[..., None]


def bleu_per_image(stats: BleuStatistics) -> np.ndarray:
    """[images, n]: pycocoevalcap's per-image ``bleu_list`` (transposed)."""
    return _bleu(stats.correct, stats.guess, stats.testlen, stats.reflen)


def bleu_corpus(stats: BleuStatistics, weights: np.ndarray | None = None) -> np.ndarray:
    """Corpus BLEU-1..n from summed statistics: ``[n]``.

    ``weights`` are image multiplicities (a bootstrap resample): one row gives ``[n]``, a matrix
    ``[resamples, images]`` gives ``[resamples, n]``.
    """
    if weights is None:
        return _bleu(stats.correct.sum(0), stats.guess.sum(0), stats.testlen.sum(), stats.reflen.sum())
    return _bleu(
        weights @ stats.correct, weights @ stats.guess, weights @ stats.testlen, weights @ stats.reflen
    )


def bleu(hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[Sequence[str]]], n: int = 4):
    """Corpus BLEU-1..n and per-image scores for token lists: ``(corpus[n], per_image[images, n])``."""
    stats = bleu_statistics(caption_ngrams(hyps, refs, n))
    return bleu_corpus(stats), bleu_per_image(stats)
