"""CIDEr-D as pycocoevalcap 1.2 computes it (``cider_scorer.py``, Vedantam et al. 2015, with vrama91's changes).

Definition, per image: for n = 1..4, TF-IDF vectors of the candidate and of each reference, where the IDF of
an n-gram is ``log(N) - log(max(1, df))``, N the number of images evaluated and df the number of images whose
references contain the n-gram (IDF comes from the evaluated set itself: a subset's CIDEr is not comparable to
the full set's, and one image gives 0). Similarity with reference r is the cosine after clipping the
candidate's weights at the reference's (``min(v_c, v_r) * v_r``), times a Gaussian length penalty
``exp(-delta^2 / (2 sigma^2))``, sigma = 6, where delta counts bigrams (pycocoevalcap's "length" is the number
of bigrams, so 0- and 1-word captions both have length 0). The image score is the mean over n, averaged over
the references, times 10; the corpus score is the mean over images.

Scale: 0-10 (typically 0-2). Reference: pycocoevalcap 1.2 ``Cider()``; equal per image and corpus to 1e-9.
The statistics below are idf-free, so a bootstrap resample recomputes the document frequencies exactly
(``cider_scores(stats, weights)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vlmeval.metrics.ngrams import CaptionNgrams, caption_ngrams, lookup

N = 4  # n-gram orders 1..N
SIGMA = 6.0


@dataclass
class _Order:
    num_grams: int
    keys: np.ndarray  # exact key of each dense n-gram id (see NgramCounts.keys)
    doc_img: np.ndarray  # distinct (image, gram) pairs over references: document frequency
    doc_gram: np.ndarray
    hyp_img: np.ndarray  # candidate entries
    hyp_gram: np.ndarray
    hyp_tf: np.ndarray
    ref_ref: np.ndarray  # reference entries
    ref_gram: np.ndarray
    ref_tf: np.ndarray
    match_ref: np.ndarray  # n-grams shared by a reference and its image's candidate
    match_gram: np.ndarray
    match_val: np.ndarray  # min(tf_c, tf_r) * tf_r  (times idf^2 gives pycocoevalcap's min(v_c, v_r) * v_r)


@dataclass
class CiderStatistics:
    n: int
    sigma: float
    num_images: int
    ref_owner: np.ndarray
    refs_per_image: np.ndarray
    penalty: np.ndarray  # per reference: Gaussian length penalty
    orders: list[_Order]


@dataclass
class DocumentFrequencies:
    """Per order: exact keys of the n-grams in references (ascending) and the number of images whose
    references contain each; chunks of a corpus add up (``merge``)."""

    num_images: int
    keys: list[np.ndarray]
    counts: list[np.ndarray]

    @staticmethod
    def total(parts: list[DocumentFrequencies]) -> DocumentFrequencies:
        """The sum of several chunks' frequencies."""
        keys, counts = [], []
        for k in range(len(parts[0].keys)):
            merged, inverse = np.unique(np.concatenate([p.keys[k] for p in parts]), return_inverse=True)
            weights = np.concatenate([p.counts[k] for p in parts])
            keys.append(merged)
            counts.append(np.bincount(inverse, weights=weights, minlength=len(merged)))
        return DocumentFrequencies(sum(p.num_images for p in parts), keys, counts)


class FrequencyAccumulator:
    """Adds up chunks' document frequencies; merges like a binary counter (log-structured), so a corpus of
    C chunks costs O(G log C) for G distinct n-grams rather than one merge of everything per chunk."""

    def __init__(self) -> None:
        self._levels: list[DocumentFrequencies | None] = []

    def add(self, part: DocumentFrequencies) -> None:
        level = 0
        while level < len(self._levels) and self._levels[level] is not None:
            part = DocumentFrequencies.total([self._levels[level], part])
            self._levels[level] = None
            level += 1
        if level == len(self._levels):
            self._levels.append(None)
        self._levels[level] = part

    def result(self) -> DocumentFrequencies | None:
        parts = [p for p in self._levels if p is not None]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else DocumentFrequencies.total(parts)


def cider_statistics(ngrams: CaptionNgrams, sigma: float = SIGMA) -> CiderStatistics:
    orders = [_order(ngrams, k) for k in range(1, ngrams.counts.n + 1)]
    return CiderStatistics(
        ngrams.counts.n, sigma, ngrams.num_images, ngrams.ref_owner, ngrams.refs_per_image, _penalty(ngrams, sigma),
        orders,
    )  # fmt: skip


def _order(ngrams: CaptionNgrams, k: int) -> _Order:
    counts = ngrams.counts
    (h_img, h_gram, h_tf), (r_ref, r_img, r_gram, r_tf) = ngrams.split(k)
    # entries are sorted by (gram, sentence), and references are numbered image by image, so the keys
    # gram * S + image are sorted for candidates and for references (where repeats are adjacent)
    width = counts.num_sentences
    ref_keys = r_gram * width + r_img
    doc = ref_keys[np.r_[True, ref_keys[1:] != ref_keys[:-1]]] if len(ref_keys) else ref_keys
    idx, found = lookup(h_gram * width + h_img, ref_keys)
    match_tf_h = h_tf[idx[found]]
    return _Order(
        counts.num_grams[k - 1],
        counts.keys[k - 1],
        doc % width,
        doc // width,
        h_img,
        h_gram,
        h_tf.astype(np.float64),
        r_ref,
        r_gram,
        r_tf.astype(np.float64),
        r_ref[found],
        r_gram[found],
        (np.minimum(match_tf_h, r_tf[found]) * r_tf[found]).astype(np.float64),
    )


def _penalty(ngrams: CaptionNgrams, sigma: float) -> np.ndarray:
    """Per reference: the Gaussian length penalty. pycocoevalcap's length: bigram count, max(0, words - 1)."""
    bigrams = np.maximum(ngrams.counts.lengths - 1, 0).astype(np.float64)
    delta = bigrams[: ngrams.num_images][ngrams.ref_owner] - bigrams[ngrams.num_images :]
    return np.exp(-(delta**2) / (2 * sigma**2))


def similarities(ngrams: CaptionNgrams, orders: Sequence[int]) -> list[np.ndarray]:
    """Per order k of ``orders``, each reference's clipped cosine with its image's candidate, under this
    corpus's own document frequencies: the terms ``cider_scores(cider_statistics(ngrams))`` adds up order by
    order, so that a share of the orders can be computed in another process (``cider_from_similarities``
    then adds them up in the same order, to the same bits)."""
    log_n = np.log(float(ngrams.num_images))
    out = []
    for k in orders:
        o = _order(ngrams, k)
        out.append(_similarity(o, _frequency(o, None), log_n, ngrams.num_images, ngrams.ref_owner))
    return out


def cider_from_similarities(ngrams: CaptionNgrams, per_order: list[np.ndarray], sigma: float = SIGMA) -> np.ndarray:
    """Per-image CIDEr-D from ``similarities`` of orders 1..n, in order."""
    return _combine(per_order, _penalty(ngrams, sigma), ngrams.ref_owner, ngrams.num_images, ngrams.counts.n,
                    ngrams.refs_per_image)  # fmt: skip


def document_frequencies(stats: CiderStatistics) -> DocumentFrequencies:
    """This corpus's (or chunk's) document frequencies, by exact n-gram key."""
    counts = [np.bincount(o.doc_gram, minlength=o.num_grams).astype(np.float64) for o in stats.orders]
    return DocumentFrequencies(stats.num_images, [o.keys for o in stats.orders], counts)


def _sum_by(index: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    # float64 even when there is nothing to sum (bincount then returns integers)
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64, copy=False)


def cider_scores(
    stats: CiderStatistics, weights: np.ndarray | None = None, df: DocumentFrequencies | None = None
) -> np.ndarray:
    """Per-image CIDEr-D.

    ``df``: document frequencies of the whole evaluated corpus when ``stats`` covers one chunk of it.
    ``weights``: image multiplicities of a resample (document frequencies and N then count each copy, as if
    the resampled set had been evaluated); images with weight 0 still get a score under that IDF.
    """
    if df is not None:
        log_n = np.log(float(df.num_images))
        frequencies = []
        for k, o in enumerate(stats.orders):
            idx, found = lookup(df.keys[k], o.keys)
            frequencies.append(np.where(found, df.counts[k][idx] if len(df.counts[k]) else 0.0, 0.0))
    else:
        log_n = np.log(float(stats.num_images if weights is None else weights.sum()))
        frequencies = [_frequency(o, weights) for o in stats.orders]
    return _scores(stats, frequencies, log_n)


def _frequency(o: _Order, weights: np.ndarray | None) -> np.ndarray:
    """Document frequency of each n-gram of one order; with weights, each image counts its multiplicity."""
    doc_w = None if weights is None else weights[o.doc_img].astype(np.float64)
    return np.bincount(o.doc_gram, weights=doc_w, minlength=o.num_grams).astype(np.float64, copy=False)


def _scores(stats: CiderStatistics, frequencies: list[np.ndarray], log_n: float) -> np.ndarray:
    per_order = [_similarity(o, f, log_n, stats.num_images, stats.ref_owner) for o, f in zip(stats.orders, frequencies)]
    return _combine(per_order, stats.penalty, stats.ref_owner, stats.num_images, stats.n, stats.refs_per_image)


def _similarity(o: _Order, frequency: np.ndarray, log_n: float, num_images: int, owner: np.ndarray) -> np.ndarray:
    """One order's clipped cosine of each reference with its image's candidate."""
    num_refs = len(owner)
    idf = log_n - np.log(np.maximum(1.0, frequency))
    idf2 = idf * idf
    norm_h = np.sqrt(_sum_by(o.hyp_img, idf2[o.hyp_gram] * o.hyp_tf**2, num_images))
    norm_r = np.sqrt(_sum_by(o.ref_ref, idf2[o.ref_gram] * o.ref_tf**2, num_refs))
    num = _sum_by(o.match_ref, idf2[o.match_gram] * o.match_val, num_refs)
    denom = norm_h[owner] * norm_r
    return np.divide(num, denom, out=num.copy(), where=denom != 0)


def _combine(per_order: list[np.ndarray], penalty: np.ndarray, owner: np.ndarray, num_images: int, n: int,
             refs_per_image: np.ndarray) -> np.ndarray:  # fmt: skip
    total = np.zeros(len(owner), dtype=np.float64)
    for val in per_order:  # order by order: the same additions wherever each order was computed
        total += val * penalty
    per_image = _sum_by(owner, total, num_images)
    return per_image / n / refs_per_image * 10.0


class ChunkedCider:
    """Corpus CIDEr-D on bootstrap weights for a corpus scored in chunks: each resample's document
    frequencies are summed over all chunks by exact n-gram key, so the interval is the one the whole corpus
    in one chunk gives (it must not depend on the chunk size). ``chunks`` builds the chunks' statistics,
    called on the first resample only: a run without --bootstrap never holds them all."""

    def __init__(self, chunks: Callable[[], list[CiderStatistics]]):
        self._build = chunks
        self._chunks: list[CiderStatistics] | None = None

    def _prepare(self) -> None:
        chunks = self._chunks = self._build()
        self._offsets = np.cumsum([0] + [c.num_images for c in chunks])
        self._sizes, self._where = (
            [],
            [],
        )  # per order: distinct n-grams of the corpus; each chunk's gram -> it
        for k in range(chunks[0].n if chunks else 0):
            keys = np.unique(np.concatenate([c.orders[k].keys for c in chunks]))
            self._sizes.append(len(keys))
            self._where.append([lookup(keys, c.orders[k].keys)[0] for c in chunks])

    def scores(self, weights: np.ndarray) -> np.ndarray:
        if self._chunks is None:
            self._prepare()
        chunks = self._chunks or []
        corpus_frequency = [np.zeros(size) for size in self._sizes]
        for c, chunk in enumerate(chunks):
            w = weights[self._offsets[c] : self._offsets[c + 1]]
            for k, o in enumerate(chunk.orders):
                doc_w = w[o.doc_img].astype(np.float64)
                corpus_frequency[k] += np.bincount(
                    self._where[k][c][o.doc_gram], weights=doc_w, minlength=self._sizes[k]
                )
        log_n = np.log(float(weights.sum()))
        return np.concatenate(
            [
                _scores(chunk, [corpus_frequency[k][self._where[k][c]] for k in range(chunk.n)], log_n)
                for c, chunk in enumerate(chunks)
            ]
        )

    def __call__(self, weights: np.ndarray) -> float:
        return float(weights @ self.scores(weights) / weights.sum())


def cider_corpus(stats: CiderStatistics, weights: np.ndarray | None = None) -> float:
    scores = cider_scores(stats, weights)
    if weights is None:
        return float(np.mean(scores))
    return float(weights @ scores / weights.sum())


def cider_d(hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[Sequence[str]]], sigma: float = SIGMA):
    """Corpus CIDEr-D and per-image scores for token lists."""
    scores = cider_scores(cider_statistics(caption_ngrams(hyps, refs, 4), sigma))
    return float(np.mean(scores)), scores
