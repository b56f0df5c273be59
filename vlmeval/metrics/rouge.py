"""ROUGE-L as pycocoevalcap 1.2 computes it (``rouge.py``, Lin & Hovy 2004 with beta = 1.2).

Definition, per image: tokens are the PTB-tokenized caption split on single spaces (``str.split(" ")``, so an
empty caption is one empty token); LCS with each reference; precision = LCS / candidate length and recall =
LCS / reference length, each maximised over the references *independently*; score =
``(1 + beta^2) P R / (R + beta^2 P)``, 0 when P or R is 0. Corpus score: mean over images. Scale 0-1.

Reference: pycocoevalcap 1.2 ``Rouge()``; equal per image to 1e-9 (LCS lengths are exact; the LCS runs in
rapidfuzz's bit-parallel C++ instead of a Python dynamic programme).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz.distance import LCSseq
from rapidfuzz.process import cpdist

from vlmeval.metrics.ngrams import CaptionTokens, Encoded, caption_tokens

BETA = 1.2
SPLIT = "space"  # pycocoevalcap splits the tokenized caption on single spaces


def _symbols(encoded: Encoded, empty_is_a_token: bool, overrides: dict[int, list[str]]) -> list:
    """Each sentence as a string with one character per token, so that rapidfuzz compares plain strings
    (exact, and its fastest path). ``empty_is_a_token``: an empty sentence is the one-token sentence
    ``[""]``, as ``"".split(" ")`` gives it (pycocoevalcap's reading). ``overrides``: sentences whose
    tokens are given instead (new tokens get new codes)."""
    vocab = dict(encoded.vocab)
    empty = vocab.setdefault("", len(vocab))
    extra = [[vocab.setdefault(w, len(vocab)) for w in words] for words in overrides.values()]
    if len(vocab) >= 0x10FFFF - 0x800:  # more distinct tokens than characters: integer lists
        out, start = [], 0
        for n in encoded.lengths.tolist():
            out.append(encoded.ids[start : start + n].tolist() or ([empty] if empty_is_a_token else []))
            start += n
        for i, ids in zip(overrides, extra):
            out[i] = ids
        return out

    def char(code: int) -> str:
        return chr(code + 0x800 if code >= 0xD800 else code)  # skip the surrogate range

    codes = encoded.ids + np.where(encoded.ids >= 0xD800, 0x800, 0)
    text = codes.astype("<u4").tobytes().decode("utf-32-le")  # one character per token, in C
    blank = char(empty) if empty_is_a_token else ""
    out, start = [], 0
    for end in np.cumsum(encoded.lengths).tolist():
        out.append(text[start:end] or blank)
        start = end
    for i, ids in zip(overrides, extra):
        out[i] = "".join(map(char, ids))
    return out


def rouge_l_from_tokens(
    tokens: CaptionTokens,
    *,
    empty_is_a_token: bool,
    overrides: dict[int, list[str]] | None = None,
    beta: float = BETA,
) -> np.ndarray:
    """Per-image ROUGE-L of encoded captions (``vlmeval.metrics.ngrams.caption_tokens``); ``overrides``
    maps a sentence index (hypotheses first, then references) to the tokens ROUGE-L reads for it."""
    num = tokens.num_images
    if num == 0:
        return np.zeros(0)
    symbols = _symbols(tokens.encoded, empty_is_a_token, overrides or {})
    owner = tokens.ref_owner
    cands = [symbols[i] for i in owner.tolist()]
    lcs = cpdist(cands, symbols[num:], scorer=LCSseq.similarity, dtype=np.float64, workers=-1)
    lengths = np.array([len(s) for s in symbols], dtype=np.float64)
    len_c, len_r = lengths[:num][owner], lengths[num:]
    first = np.cumsum(tokens.refs_per_image) - tokens.refs_per_image
    # precision and recall are maximised over the references independently, as pycocoevalcap does
    prec = np.maximum.reduceat(lcs / len_c, first)
    rec = np.maximum.reduceat(lcs / len_r, first)
    beta2 = beta**2
    ok = (prec != 0) & (rec != 0)
    scores = np.zeros(num, dtype=np.float64)
    # same operation order as pycocoevalcap, so the floats are identical
    scores[ok] = ((1 + beta2) * prec[ok] * rec[ok]) / (rec[ok] + beta2 * prec[ok])
    return scores


def rouge_l_per_image(
    hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[Sequence[str]]], beta: float = BETA
) -> np.ndarray:
    """Per-image ROUGE-L of token lists (tokens taken as given; an empty list is an empty sentence)."""
    return rouge_l_from_tokens(caption_tokens(hyps, refs), empty_is_a_token=False, beta=beta)


def rouge_l(hyps: Sequence[str], refs: Sequence[Sequence[str]], beta: float = BETA):
    """Corpus ROUGE-L and per-image scores for tokenized captions (strings, split on single spaces)."""
    scores = rouge_l_per_image(
        [h.split(" ") for h in hyps], [[r.split(" ") for r in rs] for rs in refs], beta
    )
    return float(np.mean(scores)), scores
