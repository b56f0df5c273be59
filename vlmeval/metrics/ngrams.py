"""Vectorised n-gram counting: the sufficient statistics behind BLEU and CIDEr-D.

Every distinct n-gram of the corpus gets an exact dense id (no hashing, so no collisions): the n-gram's
token ids as base-V digits of one int64 when V^n fits, else the pair (dense id of its first n-1 tokens, its
last token). Counts per (sentence, n-gram) come from one stable sort per order, so 5,000 images x 6
sentences are counted in well under a second instead of seconds of dict building.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np


@dataclass
class NgramCounts:
    """Per order k (index k-1): one entry per distinct (sentence, n-gram), sorted by n-gram then sentence.

    ``keys[k-1][g]`` identifies dense n-gram ``g`` across corpora encoded with the same vocabulary (the
    n-gram's token ids as base-V digits; an (int64, int64) record when they do not fit one int64), so that
    document frequencies from several chunks of a corpus can be added up.
    """

    n: int
    lengths: np.ndarray  # tokens per sentence
    sent: list[np.ndarray]  # sentence index of each entry
    gram: list[np.ndarray]  # dense n-gram id of each entry (ids are per order and per corpus)
    count: list[np.ndarray]  # occurrences of the n-gram in the sentence
    num_grams: list[int]  # distinct n-grams of each order
    keys: list[np.ndarray]  # exact key of each dense n-gram id, ascending

    @property
    def num_sentences(self) -> int:
        return len(self.lengths)


@dataclass
class Encoded:
    """Sentences as token ids: all tokens concatenated, and the length of each sentence."""

    ids: np.ndarray
    lengths: np.ndarray
    vocab: dict[str, int]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)


def encode_tokens(sentences: Sequence[Sequence[str]], vocab: dict[str, int] | None = None) -> Encoded:
    """Token ids; ``vocab`` (shared by the chunks of a corpus) is extended with new tokens."""
    flat = list(chain.from_iterable(sentences))
    if vocab is None:
        vocab = {w: i for i, w in enumerate(dict.fromkeys(flat))}
    else:
        for w in dict.fromkeys(flat):
            vocab.setdefault(w, len(vocab))
    dtype = np.int32 if len(vocab) < 2**31 else np.int64
    ids = np.fromiter(map(vocab.__getitem__, flat), dtype=dtype, count=len(flat))
    lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
    return Encoded(ids, lengths, vocab)


KEY_PAIR = np.dtype([("hi", "<i8"), ("lo", "<i8")])
MAX_EXACT_KEY = 2**62  # an n-gram's base-V digits fit one int64 below this


def _entries(key: np.ndarray, sent: np.ndarray):
    """Distinct (n-gram, sentence) pairs of one order, with the exact key of each dense n-gram id."""
    # One stable sort: equal n-grams become adjacent and, inside a run, sentences stay ascending, so repeated
    # (sentence, n-gram) pairs are adjacent too.
    order = np.argsort(key, kind="stable")
    key_sorted, sent_sorted = key[order], sent[order]
    new_gram = np.empty(len(order), dtype=bool)
    new_gram[:1] = True
    new_gram[1:] = key_sorted[1:] != key_sorted[:-1]  # (an operator: works for record keys too)
    dense = np.cumsum(new_gram) - 1
    new_pair = new_gram.copy()
    new_pair[1:] |= sent_sorted[1:] != sent_sorted[:-1]
    first = np.flatnonzero(new_pair)
    keys = key_sorted[new_gram]
    return sent_sorted[first], dense[first], np.diff(np.r_[first, len(order)]), len(keys), keys


def _compose(digits: list[np.ndarray], base: int) -> np.ndarray:
    """The exact key of k-grams given as k columns of token ids: base-``base`` digits (one int64), or the
    record (digits of the first k-1 tokens, last token) when k digits do not fit."""
    k = len(digits)
    pair = base**k >= MAX_EXACT_KEY
    head = digits[0].astype(np.int64, copy=True)
    for column in digits[1 : k - 1 if pair else k]:
        head = head * base + column
    if not pair:
        return head
    key = np.empty(len(head), dtype=KEY_PAIR)
    key["hi"], key["lo"] = head, digits[k - 1]
    return key


def _digits(keys: np.ndarray, k: int, base: int) -> list[np.ndarray]:
    """The k columns of token ids of k-gram keys (``_compose``'s inverse)."""
    pair = keys.dtype == KEY_PAIR
    head = (keys["hi"] if pair else keys).astype(np.int64, copy=True)
    columns: list[np.ndarray] = [head] * (k - 1 if pair else k)
    for j in range(len(columns) - 1, -1, -1):
        columns[j] = head % base
        head = head // base
    return columns + ([keys["lo"].astype(np.int64)] if pair else [])


def rebase(keys: np.ndarray, k: int, base: int, new_ids: np.ndarray, new_base: int) -> np.ndarray:
    """k-gram keys over another vocabulary: each token id t becomes ``new_ids[t]`` in base ``new_base``. An
    increasing ``new_ids`` keeps ascending keys ascending (same-length digit strings sort alike)."""
    return _compose([new_ids[d] for d in _digits(keys, k, base)], new_base)


def _threaded_map(fn, items) -> list:
    """``map`` on a few threads (numpy releases the GIL while sorting). The threads end with the call: a
    process with no other thread may fork (``vlmeval.parallel``), and METEOR's forked share relies on it."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="vlmeval-ngrams") as pool:
        return list(pool.map(fn, items))


def count_ngrams(
    encoded: Encoded, n: int = 4, *, base: int | None = None, parallel: bool = True
) -> NgramCounts:
    """N-gram counts of encoded sentences. ``base``: the vocabulary size the ids come from (default: this
    corpus's); chunks of one corpus share it, so their keys agree. ``parallel``: sort the orders on
    several threads (numpy releases the GIL while sorting), at the cost of holding them all in memory."""
    tok, lengths = encoded.ids.astype(np.int64, copy=False), encoded.lengths
    base = max(base or encoded.vocab_size, 1)
    if base ** (n - 1) >= MAX_EXACT_KEY:
        raise ValueError(f"a vocabulary of {base} tokens is too large for exact {n}-gram keys")
    sent_of_tok = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    starts = np.cumsum(lengths) - lengths
    # tokens from each position to the end of its sentence, itself included
    remaining = lengths[sent_of_tok] - (np.arange(len(tok), dtype=np.int64) - starts[sent_of_tok])

    def order_k(k: int):
        pos = np.flatnonzero(remaining >= k)
        return _entries(_compose([tok[pos + j] for j in range(k)], base), sent_of_tok[pos])

    orders = range(1, n + 1)
    results = _threaded_map(order_k, orders) if parallel else [order_k(k) for k in orders]
    return NgramCounts(n, lengths, *(list(column) for column in zip(*results)))


def group_max(keys: np.ndarray, values: np.ndarray, presorted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys (sorted) and the max value of each; ``presorted``: keys are already non-decreasing."""
    if len(keys) == 0:
        return keys, values
    if presorted:
        k, v = keys, values
    else:
        order = np.argsort(keys, kind="stable")
        k, v = keys[order], values[order]
    first = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    return k[first], np.maximum.reduceat(v, first)


def lookup(sorted_keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each query in ``sorted_keys`` and whether it was found."""
    if len(sorted_keys) == 0:
        return np.zeros(len(queries), dtype=np.int64), np.zeros(len(queries), dtype=bool)
    idx = np.searchsorted(sorted_keys, queries)
    idx = np.minimum(idx, len(sorted_keys) - 1)
    return idx, sorted_keys[idx] == queries


@dataclass
class CaptionTokens:
    """One hypothesis and its references per image, encoded. Sentences 0..I-1 are the hypotheses; sentence
    I+j is reference j, owned by image ``ref_owner[j]``."""

    encoded: Encoded
    num_images: int
    ref_owner: np.ndarray
    refs_per_image: np.ndarray


def caption_tokens(
    hyps: Sequence[Sequence[str]],
    refs: Sequence[Sequence[Sequence[str]]],
    vocab: dict[str, int] | None = None,
) -> CaptionTokens:
    if len(hyps) != len(refs):
        raise ValueError("one list of references per hypothesis")
    flat = [r for rs in refs for r in rs]
    refs_per_image = np.fromiter((len(rs) for rs in refs), dtype=np.int64, count=len(refs))
    owner = np.repeat(np.arange(len(refs), dtype=np.int64), refs_per_image)
    return CaptionTokens(encode_tokens(list(hyps) + flat, vocab), len(hyps), owner, refs_per_image)


@dataclass
class CaptionNgrams:
    """N-gram counts of a ``CaptionTokens``; BLEU and CIDEr-D both split on whitespace, so both read them."""

    counts: NgramCounts
    num_images: int
    ref_owner: np.ndarray
    refs_per_image: np.ndarray
    _split: dict = field(default_factory=dict, repr=False)

    def split(self, k: int):
        """Hypothesis entries (image, gram, count) and reference entries (ref, image, gram, count) of order k."""
        if k not in self._split:
            s, g, c = self.counts.sent[k - 1], self.counts.gram[k - 1], self.counts.count[k - 1]
            hyp = s < self.num_images
            ref = ~hyp
            ref_index = s[ref] - self.num_images
            self._split[k] = (s[hyp], g[hyp], c[hyp]), (ref_index, self.ref_owner[ref_index], g[ref], c[ref])
        return self._split[k]


def caption_ngrams(
    hyps: Sequence[Sequence[str]] | CaptionTokens,
    refs: Sequence[Sequence[Sequence[str]]] | None = None,
    n: int = 4,
    *,
    base: int | None = None,
) -> CaptionNgrams:
    """From token lists (``hyps``, ``refs``) or from an already encoded ``CaptionTokens``; ``base``: the
    size of the vocabulary shared by the chunks of a corpus."""
    tokens = hyps if isinstance(hyps, CaptionTokens) else caption_tokens(hyps, refs or [])
    counts = count_ngrams(tokens.encoded, n, base=base)
    return CaptionNgrams(counts, tokens.num_images, tokens.ref_owner, tokens.refs_per_image)


@dataclass
class ReferenceNgrams:
    """The references' n-gram counts of some images, counted once for many sets of hypotheses: sentence j is
    reference j, owned by image ``ref_owner[j]``; keys over the references' own vocabulary (``base``)."""

    counts: NgramCounts
    base: int
    ref_owner: np.ndarray
    refs_per_image: np.ndarray

    @staticmethod
    def count(encoded: Encoded, refs_per_image: np.ndarray, n: int, base: int) -> ReferenceNgrams:
        owner = np.repeat(np.arange(len(refs_per_image), dtype=np.int64), refs_per_image)
        return ReferenceNgrams(count_ngrams(encoded, n, base=base), base, owner, refs_per_image)


def join_ngrams(hyps: NgramCounts, base: int, refs: ReferenceNgrams, ref_ids: np.ndarray) -> CaptionNgrams:
    """The ``CaptionNgrams`` of hypotheses (counted over a vocabulary of ``base`` tokens) and of their images'
    prepared references (``ref_ids``: each reference token's id in that vocabulary, increasing), equal to
    counting them together: per order, n-gram ids are ranks of the joint keys, and the entries keep the
    order counting them together gives them (by n-gram, then sentence)."""
    num_images = hyps.num_sentences
    split, num_grams, keys = {}, [], []
    for k in range(1, hyps.n + 1):
        ref_keys, h_keys = rebase(refs.counts.keys[k - 1], k, refs.base, ref_ids, base), hyps.keys[k - 1]
        # both ascending: merge them by position (the rank of each in the joint keys), no sort
        idx, found = lookup(ref_keys, h_keys)
        new = h_keys[~found]
        ref_pos = np.arange(len(ref_keys)) + np.searchsorted(new, ref_keys)
        new_pos = np.arange(len(new)) + np.searchsorted(ref_keys, new)
        joint = np.empty(len(ref_keys) + len(new), dtype=ref_keys.dtype)
        joint[ref_pos], joint[new_pos] = ref_keys, new
        h_rank = np.empty(len(h_keys), dtype=np.int64)
        h_rank[found], h_rank[~found] = ref_pos[idx[found]], new_pos
        h_gram, r_gram = h_rank[hyps.gram[k - 1]], ref_pos[refs.counts.gram[k - 1]]
        r_sent = refs.counts.sent[k - 1]
        split[k] = (
            (hyps.sent[k - 1], h_gram, hyps.count[k - 1]),
            (r_sent, refs.ref_owner[r_sent], r_gram, refs.counts.count[k - 1]),
        )
        num_grams.append(len(joint))
        keys.append(joint)
    lengths = np.concatenate([hyps.lengths, refs.counts.lengths])
    # the entries are the split's: CaptionNgrams.split is how BLEU and CIDEr-D read them
    counts = NgramCounts(hyps.n, lengths, [], [], [], num_grams, keys)
    return CaptionNgrams(counts, num_images, refs.ref_owner, refs.refs_per_image, split)
