"""BERTScore, as bert_score 0.3.13 defines it (Zhang et al. 2020).

Each sentence is encoded once (special tokens added, RoBERTa/GPT-2 byte-level BPE with a prefix space,
truncated at the tokenizer's maximum length, as ``bert_score.utils.sent_encode``); the embeddings of the chosen
layer are L2-normalised per token. For a candidate c and a reference r:

    P = sum_i w(c_i) max_j cos(c_i, r_j) / sum_i w(c_i)      R = sum_j w(r_j) max_i cos(c_i, r_j) / sum_j w(r_j)
    F = 2PR / (P + R)

with w = 1 and 0 for [CLS]/[SEP] (``idf=False``), or w = log((M+1)/(df+1)) over the M references (``idf=True``).
A side with only its two special tokens (an empty sentence) gets P = R = 0; a NaN F becomes 0. With several
references P, R and F are each the maximum over the references. Rescaling uses bert_score's baseline file:
``(x - b) / (1 - b)`` with the row of the chosen layer.

One quirk of bert_score is reproduced because it moves real numbers: it matches pairs in batches of 64 (in
input order, references flattened) padded to the batch's longest sentence, and padded positions score a
cosine of 0, not minus infinity. So a token whose best real cosine is negative scores 0 whenever the other
side of its pair is shorter than the longest in that batch. Models with anisotropic embeddings (RoBERTa)
rarely show it; MiniLM does (0.003 on COCO captions). ``floor_batch=None`` turns it off.

Speed comes from the encoding (each distinct sentence once, sorted by token length, batched by token count,
the embeddings kept on the device in one flat tensor) and from matching pairs in large padded chunks.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# bert_score.utils.model2layers (0.3.13): the layer bert_score uses by default for a hub model.
MODEL_LAYERS = {
    "bert-base-uncased": 9,
    "bert-large-uncased": 18,
    "bert-base-cased-finetuned-mrpc": 9,
    "bert-base-multilingual-cased": 9,
    "bert-base-chinese": 8,
    "roberta-base": 10,
    "roberta-large": 17,
    "roberta-large-mnli": 19,
    "roberta-base-openai-detector": 7,
    "roberta-large-openai-detector": 15,
    "xlnet-base-cased": 5,
    "xlnet-large-cased": 7,
    "xlm-mlm-en-2048": 6,
    "xlm-mlm-100-1280": 10,
    "allenai/scibert_scivocab_uncased": 8,
    "allenai/scibert_scivocab_cased": 9,
    "nfliu/scibert_basevocab_uncased": 9,
    "distilroberta-base": 5,
    "distilbert-base-uncased": 5,
    "distilbert-base-uncased-distilled-squad": 4,
    "distilbert-base-multilingual-cased": 5,
    "albert-base-v1": 10,
    "albert-large-v1": 17,
    "albert-xlarge-v1": 16,
    "albert-xxlarge-v1": 8,
    "albert-base-v2": 9,
    "albert-large-v2": 14,
    "albert-xlarge-v2": 13,
    "albert-xxlarge-v2": 8,
    "xlm-roberta-base": 9,
    "xlm-roberta-large": 17,
    "google/electra-small-generator": 9,
    "google/electra-small-discriminator": 11,
    "google/electra-base-generator": 10,
    "google/electra-base-discriminator": 9,
    "google/electra-large-generator": 18,
    "google/electra-large-discriminator": 14,
    "microsoft/deberta-base": 9,
    "microsoft/deberta-base-mnli": 9,
    "microsoft/deberta-large": 16,
    "microsoft/deberta-large-mnli": 18,
    "microsoft/deberta-xlarge": 18,
    "microsoft/deberta-xlarge-mnli": 40,
    "microsoft/deberta-v3-xsmall": 10,
    "microsoft/deberta-v3-small": 4,
    "microsoft/deberta-v3-base": 9,
    "microsoft/deberta-v3-large": 12,
}


def idf_weights(reference_ids: Sequence[Sequence[int]]) -> tuple[dict[int, float], float]:
    """bert_score's ``get_idf_dict``: log((M+1)/(df+1)) over the M references (each counted once per
    sentence, duplicates included); tokens in no reference get log(M+1), returned as the default."""
    df: Counter[int] = Counter()
    for ids in reference_ids:
        df.update(set(ids))
    m = len(reference_ids)
    return {t: math.log((m + 1) / (c + 1)) for t, c in df.items()}, math.log(m + 1)


@dataclass
class EncodedSentences:
    """Token ids and normalised embeddings of distinct sentences: sentence k has tokens
    ``flat[offsets[k]:offsets[k] + lengths[k]]``."""

    flat: object  # torch.Tensor [T, d], float32, L2-normalised rows, on the scoring device
    offsets: np.ndarray
    lengths: np.ndarray
    ids: list[list[int]]


def greedy_match(
    encoded: EncodedSentences,
    weights: object,  # torch.Tensor [T], the weight of every token in ``flat``
    cand: np.ndarray,
    ref: np.ndarray,
    floor_p: np.ndarray | None = None,
    floor_r: np.ndarray | None = None,
    chunk_tokens: int = 1_000_000,
) -> np.ndarray:
    """P, R, F for each (candidate, reference) pair of sentence indices, shape [pairs, 3]. ``floor_p``/
    ``floor_r``: pairs whose token maxima for P/R are floored at 0 (bert_score's padding, see above)."""
    flat, offsets, lengths = encoded.flat, encoded.offsets, encoded.lengths
    device = flat.device
    out = np.zeros((len(cand), 3))
    if len(cand) == 0:
        return out
    # pairs sorted by size so that a chunk pads little
    order = np.lexsort((lengths[ref], lengths[cand]))
    start = 0
    while start < len(order):
        lc_max, lr_max = int(lengths[cand[order[start]]]), 0
        stop = start
        # grow the chunk while its padded similarity tensor stays under chunk_tokens entries
        while stop < len(order):
            k = order[stop]
            lc, lr = max(lc_max, int(lengths[cand[k]])), max(lr_max, int(lengths[ref[k]]))
            if stop > start and (stop - start + 1) * lc * lr > chunk_tokens:
                break
            lc_max, lr_max, stop = lc, lr, stop + 1
        idx = order[start:stop]
        floors = (
            None if floor_p is None else floor_p[idx],
            None if floor_r is None else floor_r[idx],
        )
        out[idx] = _match_chunk(
            flat, weights, offsets, lengths, cand[idx], ref[idx], lc_max, lr_max, device, floors
        )
        start = stop
    return out


def _gather(flat, weights, offsets, lengths, which, width, device):
    import torch

    pos = torch.arange(width, device=device)
    lens = torch.as_tensor(lengths[which], device=device)
    mask = pos[None, :] < lens[:, None]
    index = torch.as_tensor(offsets[which], device=device)[:, None] + pos[None, :]
    index = torch.where(mask, index, torch.zeros_like(index))
    emb = flat[index]  # [B, L, d]
    w = torch.where(mask, weights[index], torch.zeros((), dtype=weights.dtype, device=device))
    return emb, w, mask, lens


def _match_chunk(flat, weights, offsets, lengths, cand, ref, lc, lr, device, floors):
    import torch

    ce, cw, cm, clen = _gather(flat, weights, offsets, lengths, cand, lc, device)
    re_, rw, rm, rlen = _gather(flat, weights, offsets, lengths, ref, lr, device)
    sim = torch.bmm(ce, re_.transpose(1, 2))  # [B, lc, lr]
    neg = torch.tensor(-math.inf, dtype=sim.dtype, device=device)
    sim = torch.where(cm[:, :, None] & rm[:, None, :], sim, neg)
    best_c = sim.max(dim=2).values.masked_fill(~cm, 0.0)  # each candidate token's best reference token
    best_r = sim.max(dim=1).values.masked_fill(~rm, 0.0)
    for best, floor in ((best_c, floors[0]), (best_r, floors[1])):
        if floor is not None and floor.any():
            rows = torch.as_tensor(floor, device=device)
            best[rows] = best[rows].clamp_min(0.0)
    p = (best_c * cw).sum(1) / cw.sum(1)
    r = (best_r * rw).sum(1) / rw.sum(1)
    f = 2 * p * r / (p + r)
    # bert_score: a sentence of only its two special tokens is empty: P = R = 0; F's NaN becomes 0
    empty = (clen == 2) | (rlen == 2)
    p, r = p.masked_fill(empty, 0.0), r.masked_fill(empty, 0.0)
    f = torch.nan_to_num(f, nan=0.0)
    return torch.stack([p, r, f], dim=1).double().cpu().numpy()


def token_weights(encoded: EncodedSentences, idf: dict[int, float] | None, default: float, special: set[int]):
    """The weight of every token in ``encoded.flat``: 1 (0 for [CLS]/[SEP]) without idf, else its idf."""
    import torch

    all_ids = np.fromiter(
        (t for ids in encoded.ids for t in ids), dtype=np.int64, count=int(encoded.lengths.sum())
    )
    vocab = np.unique(all_ids)
    if idf is None:
        table = np.array([0.0 if t in special else 1.0 for t in vocab.tolist()])
    else:
        table = np.array([idf.get(t, default) for t in vocab.tolist()])
    w = table[np.searchsorted(vocab, all_ids)]
    return torch.as_tensor(w, dtype=torch.float32, device=encoded.flat.device)


def rescale(scores: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """bert_score's baseline rescaling, (x - b) / (1 - b), b = (P, R, F) of the layer."""
    return (scores - baseline[None, :]) / (1 - baseline[None, :])


def read_baseline(text: str, layer: int) -> np.ndarray:
    """The (P, R, F) row of ``layer`` in a bert_score baseline file (CSV: LAYER,P,R,F; row = layer index).
    A file without that row, with values that are not numbers, or with a baseline of 1 (rescaling divides
    by 1 - b) is a ValueError saying so."""
    import csv

    # as bert_score reads it, pd.read_csv(...).iloc[layer]: rows by position after the header, blank lines
    # skipped (counting one shifted every later layer onto its neighbour's baseline), quoted numbers read
    rows = [row for row in csv.reader(text.splitlines()) if any(cell.strip() for cell in row)][1:]
    if not 0 <= layer < len(rows) or len(rows[layer]) < 4:
        raise ValueError(f"it has no P,R,F row for layer {layer} (a bert_score baseline: LAYER,P,R,F per line)")
    try:
        values = np.array([float(x) for x in rows[layer][1:4]], dtype=np.float32).astype(np.float64)
    except ValueError:
        raise ValueError(f"its row for layer {layer} holds a value that is not a number") from None
    if not np.isfinite(values).all() or (values == 1).any():
        raise ValueError(f"its row for layer {layer} must hold finite baselines below 1 (rescaling divides by 1 - b)")
    return values


BLOCK_RECORDS = 4096  # records whose sentences are embedded and matched together (see ``bertscore``)


@dataclass
class Plan:
    """What the blocks of a run need from the whole input: each block's records [lo, hi), bert_score's floor
    flags of each block's pairs (``floor_p``, ``floor_r``), and the IDF table of all references."""

    blocks: list[tuple[int, int]]
    floors: list[tuple[np.ndarray | None, np.ndarray | None]]
    idf: tuple[dict[int, float], float] | None


def plan(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    token_ids: Callable[[list[str]], list[list[int]]],
    *,
    idf: bool,
    floor_batch: int | None,
    start: int = 0,
    stop: int | None = None,
    block: int = BLOCK_RECORDS,
) -> Plan:
    """The blocks of ``block`` records (counted from the first record) that hold records [start, stop), with
    what they need of the whole input: the IDF over all references, and the floor flags of their pairs from
    the token lengths of the pairs bert_score batches with them (64 consecutive pairs, references flattened)."""
    stop = len(candidates) if stop is None else stop
    blocks = [(b * block, min((b + 1) * block, len(candidates))) for b in range(start // block, -(-stop // block))]
    known: dict[str, list[int]] = {}

    def ids_of(texts: list[str]) -> list[list[int]]:
        stripped = [t.strip() for t in texts]
        missing = [t for t in dict.fromkeys(stripped) if t not in known]
        known.update(zip(missing, token_ids(missing) if missing else []))
        return [known[t] for t in stripped]

    table = idf_weights(ids_of([r for rs in references for r in rs])) if idf else None
    pair_at = np.concatenate([[0], np.cumsum([len(rs) for rs in references])]).astype(np.int64)
    floors: list[tuple[np.ndarray | None, np.ndarray | None]] = []
    for lo, hi in blocks:
        if not floor_batch:
            floors.append((None, None))
            continue
        p_lo, p_hi = int(pair_at[lo]), int(pair_at[hi])
        s_lo = p_lo // floor_batch * floor_batch  # the batches of pairs around the block's, as bert_score cuts them
        s_hi = min(-(-p_hi // floor_batch) * floor_batch, int(pair_at[-1]))
        r_lo, r_hi = int(np.searchsorted(pair_at, s_lo, "right") - 1), int(np.searchsorted(pair_at, s_hi, "left"))
        r_lo = max(r_lo, 0)
        ref_len = np.array([len(x) for x in ids_of([r for rs in references[r_lo:r_hi] for r in rs])], dtype=np.int64)
        cand_len = np.array([len(x) for x in ids_of(list(candidates[r_lo:r_hi]))], dtype=np.int64)
        cand_len = np.repeat(cand_len, [len(rs) for rs in references[r_lo:r_hi]])
        cut = slice(p_lo - int(pair_at[r_lo]), p_hi - int(pair_at[r_lo]))
        at = s_lo - int(pair_at[r_lo])
        floors.append(tuple(  # type: ignore[arg-type]
            np.r_[np.zeros(at, dtype=bool), _padded_in_batch(x[at:], floor_batch)][cut] for x in (ref_len, cand_len)
        ))
    return Plan(blocks, floors, table)


def join_encoded(first: EncodedSentences, second: EncodedSentences) -> EncodedSentences:
    """Two sets of encoded sentences as one (the second's after the first's)."""
    import torch

    return EncodedSentences(
        torch.cat([first.flat, second.flat]),
        np.concatenate([first.offsets, second.offsets + len(first.flat)]),
        np.concatenate([first.lengths, second.lengths]),
        first.ids + second.ids,
    )


def score_block(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    encode: Callable[[list[str]], EncodedSentences],
    special_ids: set[int],
    idf: tuple[dict[int, float], float] | None,
    floors: tuple[np.ndarray | None, np.ndarray | None],
    keep: Callable | None = None,
) -> np.ndarray:
    """[P, R, F] of each candidate of one block (max over its references, not rescaled): the block's distinct
    reference sentences embedded together, then the candidates' other sentences; its pairs matched together.
    Nothing outside the block changes them but the IDF table and the floor flags: a part of a sharded run, a
    Ray worker and one process compute a block alike. ``keep``: ``(key, build) -> value``, an evaluator's
    store (``ModelCache.get``), which then embeds the references once for every call."""
    flat_refs = [r for rs in references for r in rs]
    sentences: dict[str, int] = {s: k for k, s in enumerate(dict.fromkeys(r.strip() for r in flat_refs))}
    num_refs = len(sentences)

    def index(text: str) -> int:
        key = text.strip()
        return sentences.setdefault(key, len(sentences))

    ref_idx = np.array([index(r) for r in flat_refs], dtype=np.int64)
    cand_idx = np.array([index(c) for c in candidates], dtype=np.int64)
    group = np.repeat(np.arange(len(references)), [len(rs) for rs in references])
    texts = list(sentences)
    encoded = None
    if num_refs:
        refs_key = ("references", tuple(texts[:num_refs]))
        encoded = keep(refs_key, lambda: encode(texts[:num_refs])) if keep else encode(texts[:num_refs])
    if len(texts) > num_refs:
        more = encode(texts[num_refs:])
        encoded = more if encoded is None else join_encoded(encoded, more)
    if idf is not None:
        weights = token_weights(encoded, idf[0], idf[1], special_ids)
    else:
        weights = token_weights(encoded, None, 0.0, special_ids)
    pairs = greedy_match(encoded, weights, cand_idx[group], ref_idx, floors[0], floors[1])
    out = np.full((len(candidates), 3), -np.inf)
    np.maximum.at(out, group, pairs)
    out[np.isneginf(out)] = 0.0  # a candidate without references
    return out


def bertscore(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    encode: Callable[[list[str]], EncodedSentences],
    *,
    special_ids: set[int],
    idf: bool = False,
    baseline: np.ndarray | None = None,
    floor_batch: int | None = 64,
    window=None,
    block: int | None = None,
    run_blocks: Callable | None = None,
    keep: Callable | None = None,
) -> np.ndarray:
    """Per-candidate [P, R, F] (shape [n, 3]); each candidate takes the max over its references.

    Records are scored in blocks of ``block``: a block's distinct sentences are embedded together and its
    pairs matched together, so memory stays bounded and a block's numbers do not depend on what else the run
    holds (a sentence's embedding does depend, in its last bits, on the batch it is computed in). ``window``:
    the lists are one part of a sharded run (``vlmeval.shard.Window``): the IDF and bert_score's batches of 64
    pairs come from the whole input, and the blocks the part touches are computed whole. ``run_blocks``:
    ``(plan, candidates, references) -> [block results]`` computes the blocks elsewhere (a Ray actor pool); by
    default here, one after the other. ``encode`` needs ``token_ids`` (``vlmeval.models.TextEncoder``).
    ``keep``: an evaluator's store for the blocks' reference embeddings (``score_block``)."""
    whole_c, whole_r, at = (candidates, references, 0) if window is None else (window.predictions, window.references, window.start)
    block = block or BLOCK_RECORDS
    found = plan(whole_c, whole_r, encode.token_ids, idf=idf, floor_batch=floor_batch, start=at,  # type: ignore[attr-defined]
                 stop=at + len(candidates), block=block)  # fmt: skip
    if run_blocks is None:
        done = [score_block(whole_c[lo:hi], whole_r[lo:hi], encode, special_ids, found.idf, floors, keep)
                for (lo, hi), floors in zip(found.blocks, found.floors)]  # fmt: skip
    else:
        done = run_blocks(found, whole_c, whole_r)
    rows = np.concatenate(done) if done else np.zeros((0, 3))
    first = found.blocks[0][0] if found.blocks else 0
    out = rows[at - first : at - first + len(candidates)]
    if baseline is not None:
        out = rescale(out, baseline)
    return out


def _padded_in_batch(lengths: np.ndarray, batch: int) -> np.ndarray:
    """Whether each item is shorter than the longest in its batch of ``batch`` consecutive items."""
    if len(lengths) == 0:
        return np.zeros(0, dtype=bool)
    longest = np.maximum.reduceat(lengths, np.arange(0, len(lengths), batch))
    return lengths < np.repeat(longest, batch)[: len(lengths)]
