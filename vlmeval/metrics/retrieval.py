"""Retrieval metrics per query from the ranks of its relevant items: R@K, MRR, NDCG@K.

- ``R@K`` (default, CLIP papers and CLIP_benchmark): 1 if at least one relevant item is in the top K.
  ``recall_definition="fraction"``: the fraction of the relevant items in the top K (torchmetrics'
  ``RetrievalRecall``).
- ``MRR``: the reciprocal rank of the first relevant item (whole ranking).
- ``NDCG@K``: linear gain (the relevance grade; 1 for binary relevance), discount 1 / log2(rank + 1),
  normalised by the ideal ordering's DCG@K (torchmetrics' ``retrieval_normalized_dcg``, sklearn's
  ``ndcg_score``).

Ties in the scores: ``ties="average"`` (default) takes every metric's expectation over the orderings of
tied items; for NDCG that is exactly sklearn's and torchmetrics' tie-averaged DCG (the group's mean gain
over the ranks the group occupies). ``ties="id"`` breaks ties by the items' order (earlier column first).

Only the relevant items' ranks are needed: for each one, how many items score strictly higher (``above``)
and how many score the same (``tied``, itself included). They come from one comparison pass over each
query's row, so no sort of the (queries x items) matrix is ever done.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# bytes of boolean comparison results one chunk may hold
CHUNK_BYTES = 48 * 2**20


@dataclass
class RelevantRanks:
    """Per query (rows) and relevant item (columns, padded): the rank statistics of that item."""

    above: np.ndarray  # [q, R] items scoring strictly higher
    tied: np.ndarray  # [q, R] items scoring the same, itself included
    before: np.ndarray  # [q, R] tied items in earlier columns (for ties="id")
    gains: np.ndarray  # [q, R] relevance grade (> 0); 0 where padded
    scores: np.ndarray  # [q, R] the relevant item's score (for grouping tied relevant items)
    valid: np.ndarray  # [q, R] a real relevant item, not padding

    @property
    def n_relevant(self) -> np.ndarray:
        return self.valid.sum(axis=1)


def pad(indptr: np.ndarray, values: np.ndarray, fill) -> tuple[np.ndarray, np.ndarray]:
    """CSR rows -> a [rows, max_len] array padded with ``fill``, and the validity mask."""
    lengths = np.diff(indptr)
    width = max(int(lengths.max()) if len(lengths) else 0, 1)
    valid = np.arange(width)[None, :] < lengths[:, None]
    # the values' own type even when there are none (a block of queries without relevant items): their
    # column indices stay integers
    out = np.full((len(lengths), width), fill, dtype=np.asarray(values).dtype)
    out[valid] = values
    return out, valid


def rank_relevant(
    scores: np.ndarray, items: np.ndarray, valid: np.ndarray, gains: np.ndarray
) -> RelevantRanks:
    """Rank statistics of the relevant ``items`` [q, R] (column indices, padded) in ``scores`` [q, n]."""
    q, n = scores.shape
    r = items.shape[1]
    cols = np.where(valid, items, 0)
    rel_scores = np.take_along_axis(scores, cols, axis=1)
    above = np.zeros((q, r), dtype=np.int64)
    at_or_above = np.zeros((q, r), dtype=np.int64)
    rows = max(1, CHUNK_BYTES // max(r * n, 1))
    for start in range(0, q, rows):
        block = scores[start : start + rows]
        s = rel_scores[start : start + rows, :, None]
        above[start : start + rows] = np.count_nonzero(block[:, None, :] > s, axis=-1)
        at_or_above[start : start + rows] = np.count_nonzero(block[:, None, :] >= s, axis=-1)
    tied = at_or_above - above
    before = np.zeros((q, r), dtype=np.int64)
    with_ties = np.flatnonzero(((tied > 1) & valid).any(axis=1))
    for i in with_ties:  # only rows where an item shares a relevant item's score
        row = scores[i]
        for j in np.flatnonzero(valid[i] & (tied[i] > 1)):
            before[i, j] = np.count_nonzero(row[: cols[i, j]] == rel_scores[i, j])
    return RelevantRanks(
        above=np.where(valid, above, 0),
        tied=np.where(valid, tied, 1),
        before=before,
        gains=np.where(valid, gains, 0.0),
        scores=rel_scores,
        valid=valid,
    )


def ranks_from_positions(positions: np.ndarray, valid: np.ndarray, gains: np.ndarray) -> RelevantRanks:
    """Rank statistics from given 1-based positions in a ranked list (``inf``: not retrieved); no ties."""
    finite = np.isfinite(positions)
    above = np.where(valid & finite, positions - 1, np.iinfo(np.int64).max // 4).astype(np.int64)
    return RelevantRanks(
        above=above,
        tied=np.ones_like(above),
        before=np.zeros_like(above),
        gains=np.where(valid, gains, 0.0),
        scores=-positions.astype(np.float64),  # distinct per item: no two relevant items are grouped
        valid=valid,
    )


def _discount_cumsum(k: int) -> np.ndarray:
    """C[r] = sum of 1 / log2(q + 1) for q = 1..r, r = 0..k."""
    return np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])


def _log_comb(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    from scipy.special import gammaln

    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _groups(ranks: RelevantRanks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each relevant item: how many relevant items share its score, their summed gain, and whether it
    is the first of them (each group is counted once)."""
    s = ranks.scores
    same = (s[:, :, None] == s[:, None, :]) & ranks.valid[:, :, None] & ranks.valid[:, None, :]
    m = same.sum(axis=2)
    gain_sum = (same * ranks.gains[:, None, :]).sum(axis=2)
    r = s.shape[1]
    earlier = np.tril(np.ones((r, r), dtype=bool), k=-1)  # [j, j'] : j' < j
    first = ranks.valid & ~(same & earlier[None]).any(axis=2)
    return m, gain_sum, first


def query_metrics(
    ranks: RelevantRanks,
    recall_ks: list[int],
    ndcg_ks: list[int],
    *,
    ties: str = "average",
    recall_definition: str = "any",
    mrr: bool = True,
) -> dict[str, np.ndarray]:
    """Per-query ``R@K``, ``MRR``, ``NDCG@K`` (queries without relevant items get NaN)."""
    valid = ranks.valid
    n_rel = ranks.n_relevant
    empty = n_rel == 0
    big = np.iinfo(np.int64).max // 4
    out: dict[str, np.ndarray] = {}
    if ties == "id":
        rank = np.where(valid, ranks.above + ranks.before + 1, big)
        first = rank.min(axis=1)
        for k in recall_ks:
            if recall_definition == "fraction":
                out[f"R@{k}"] = (valid & (rank <= k)).sum(axis=1) / np.maximum(n_rel, 1)
            else:
                out[f"R@{k}"] = (first <= k).astype(np.float64)
        if mrr:
            out["MRR"] = np.where(first < big, 1.0 / np.minimum(first, big).astype(np.float64), 0.0)
        for k in ndcg_ks:
            disc = np.where(valid & (rank <= k), 1.0 / np.log2(np.minimum(rank, k) + 1.0), 0.0)
            out[f"NDCG@{k}"] = (ranks.gains * disc).sum(axis=1) / _ideal_dcg(ranks.gains, k)
    elif ties == "average":
        m, gain_sum, first_of_group = _groups(ranks)
        above = np.where(valid, ranks.above, big)
        g = ranks.tied
        best = np.argmin(above, axis=1)[:, None]
        a0 = np.take_along_axis(above, best, axis=1)[:, 0]
        g0 = np.take_along_axis(g, best, axis=1)[:, 0]
        m0 = np.take_along_axis(m, best, axis=1)[:, 0]
        for k in recall_ks:
            if recall_definition == "fraction":
                slots = np.clip(k - above, 0, g)
                out[f"R@{k}"] = np.where(valid, slots / g, 0.0).sum(axis=1) / np.maximum(n_rel, 1)
            else:
                out[f"R@{k}"] = _hit_probability(a0, g0, m0, k)
        if mrr:
            out["MRR"] = _expected_reciprocal_rank(a0, g0, m0)
        for k in ndcg_ks:
            c = _discount_cumsum(k)
            hi = np.minimum(above + g, k)
            lo = np.minimum(above, k)
            dcg = np.where(first_of_group, gain_sum / g * (c[hi] - c[lo]), 0.0).sum(axis=1)
            out[f"NDCG@{k}"] = dcg / _ideal_dcg(ranks.gains, k)
    else:
        raise ValueError(f"unknown ties rule {ties!r}")
    for key in out:
        out[key] = np.where(empty, np.nan, out[key])
    return out


def _ideal_dcg(gains: np.ndarray, k: int) -> np.ndarray:
    ordered = -np.sort(-gains, axis=1)[:, :k]
    disc = 1.0 / np.log2(np.arange(2, ordered.shape[1] + 2))
    ideal = (ordered * disc[None, :]).sum(axis=1)
    return np.where(ideal > 0, ideal, np.inf)


def _hit_probability(a: np.ndarray, g: np.ndarray, m: np.ndarray, k: int) -> np.ndarray:
    """P(at least one of the m relevant items of a tie group of size g, after a higher-scoring items, is in
    the top k) over uniformly random orderings of the group."""
    slots = k - a
    out = np.where(slots >= g - m + 1, 1.0, 0.0)
    partial = (slots > 0) & (slots < g - m + 1)
    if partial.any():
        s, gg, mm = slots[partial], g[partial].astype(np.float64), m[partial].astype(np.float64)
        # 1 - C(g - m, s) / C(g, s)
        out[partial] = 1.0 - np.exp(_log_comb(gg - mm, s) - _log_comb(gg, s))
    return out


def _expected_reciprocal_rank(a: np.ndarray, g: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[1 / rank of the first relevant item]; ranks a+1..a+g hold the group, m of them relevant."""
    big = np.iinfo(np.int64).max // 4
    out = np.where(a < big, 1.0 / (np.minimum(a, big) + 1.0), 0.0)
    for i in np.flatnonzero((g > m) & (a < big)):
        j = np.arange(1, g[i] - m[i] + 2, dtype=np.float64)
        # P(first relevant at position j of the group) = C(g - j, m - 1) / C(g, m)
        p = np.exp(
            _log_comb(g[i] - j, np.full_like(j, m[i] - 1)) - _log_comb(np.float64(g[i]), np.float64(m[i]))
        )
        out[i] = float((p / (a[i] + j)).sum())
    return out
