"""Retrieval: R@K, MRR, NDCG@K per direction, queries scored block by block so memory stays bounded
(a block of score rows, never the whole queries x items matrix, and no sort of it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vlmeval.progress import QUIET, Progress
from vlmeval.tasks.task import Metric, Option, Result, Sharding, Task

BLOCK_BYTES = 64 * 2**20  # score rows held at once
DIRECTIONS = ("t2i_", "i2t_")  # embeddings are scored both ways: text-to-image and image-to-text

METRICS = (
    Metric("R@{k}", "0-1", "CLIP_benchmark recall@k", family="Recall", examples=("R@1", "R@5", "R@10")),
    Metric("MRR", "0-1", "torchmetrics RetrievalMRR"),
    Metric("NDCG@{k}", "0-1", "torchmetrics RetrievalNormalizedDCG", family="NDCG", examples=("NDCG@10",)),
)
OPTIONS = (
    Option("source", Path, None, "A score matrix (.npy, queries x items) or ranked lists (.jsonl); none with "
           "embeddings.", argument=True),
    Option("queries", Path, None, "Query ids, in row order (JSON list or one per line)."),
    Option("items", Path, None, "Item ids, in column order."),
    Option("relevance", Path, None, 'JSONL {"query", "relevant": [ids]} or graded {"query", "item", "relevance"}.'),
    Option("image_embeddings", Path, None, "Image embeddings (.npy), rows in --pairs order.", panel="Embeddings"),
    Option("text_embeddings", Path, None, "Caption embeddings (.npy), rows in --pairs order.", panel="Embeddings"),
    Option("pairs", Path, None, 'JSONL {"image": id, "captions": [ids]}.', panel="Embeddings"),
    Option("k", str, "1,5,10", "Cut-offs for R@K, comma-separated."),
    Option("ndcg_k", int, 10, "Cut-off for NDCG@K.", minimum=1),
    Option("recall_definition", str, "any", "any: a relevant item in the top K (CLIP papers); fraction: share of "
           "relevant items.", choices=("any", "fraction")),
    Option("ties", str, "average", "Tied scores: average over their orderings (sklearn/torchmetrics NDCG), or break "
           "by item order.", choices=("average", "id")),
    Option("empty_queries", str, "error", "Queries with no relevant item: error, score 0, or skip (counted).",
           choices=("error", "zero", "skip")),
)  # fmt: skip


# why a failed query failed (the README's table). Failed: no relevant item surely in the top K, K the smallest
# --k (R@K "any" below 1; under --ties average, its expectation over the tied orderings). With embeddings,
# failure_rate and error_type are the first direction's (t2i), i2t_error_type the other's.
ERROR_TYPES = {
    "low_rank": "a relevant item is surely in the top K of the largest --k: retrieved, ranked too low",
    "miss": "none is surely in the top K of the largest --k (nor, with --empty-queries zero, has the query one)",
}


def recall_cutoffs(values: dict[str, Any]) -> list[int]:
    from vlmeval.errors import VlmevalError

    k = values.get("k", "1,5,10")
    try:
        cutoffs = sorted({int(v) for v in str(k).split(",") if v.strip()})
    except ValueError:
        raise VlmevalError(f"--k takes positive integers, comma-separated (got {k!r})") from None
    if not cutoffs or cutoffs[0] < 1 or cutoffs[-1] > 10**9:
        raise VlmevalError(f"--k takes positive integers up to 1e9, comma-separated (got {k!r})")
    return cutoffs


def _embeddings(values: dict[str, Any]) -> bool:
    """Whether the input is embeddings (scored in both directions), checking the input options agree."""
    from vlmeval.errors import VlmevalError

    # (arrays from the Python API have no truth value: "given" is "not None")
    given = [values.get(k) is not None for k in ("image_embeddings", "text_embeddings", "pairs")]
    if values.get("source") is None:
        if not all(given):
            raise VlmevalError(
                "give a score matrix (.npy) with --queries/--items/--relevance, ranked lists (.jsonl), or "
                "--image-embeddings, --text-embeddings and --pairs"
            )
        return True
    if any(given):
        raise VlmevalError(
            "embeddings (--image-embeddings/--text-embeddings/--pairs) take no positional input"
        )
    return False


def available(values: dict[str, Any], data: Any = None) -> list[str]:
    names = [f"R@{v}" for v in recall_cutoffs(values)] + ["MRR", f"NDCG@{values.get('ndcg_k', 10)}"]
    prefixes = DIRECTIONS if _embeddings(values) else ("",)
    return [p + n for p in prefixes for n in names]


def load(values: dict[str, Any]):
    from vlmeval.errors import VlmevalError
    from vlmeval.io.retrieval import load_embeddings, load_ranked, load_scores

    recall_cutoffs(values)  # a bad --k is a usage error before any file is read
    source = values.get("source")
    if _embeddings(values):
        return load_embeddings(values["image_embeddings"], values["text_embeddings"], values["pairs"])
    import numpy as np

    from vlmeval.io.readers import RecordFile

    # an array (the Python API) or a .npy file is a score matrix; records in memory or a file, ranked lists
    if isinstance(source, np.ndarray) or (not isinstance(source, RecordFile) and Path(source).suffix.lower() == ".npy"):
        if not (values.get("queries") and values.get("items") and values.get("relevance")):
            raise VlmevalError("a score matrix needs --queries, --items and --relevance")
        return load_scores(source, values["queries"], values["items"], values["relevance"])
    if values.get("queries") or values.get("items") or values.get("relevance"):
        name = getattr(source, "path", source)  # records in memory: their <name>, never the records
        raise VlmevalError(
            f"{name} is read as ranked lists (a score matrix is a .npy file, numpy.save), and ranked lists "
            "carry their own queries and relevance: give a .npy matrix, or drop --queries/--items/--relevance"
        )
    return load_ranked(source)


def evaluate(data, keys: list[str], values: dict[str, Any], progress: Progress = QUIET) -> Result:
    """``values["failures"]``: how many worst queries per direction go into the failure rows."""
    return evaluate_retrieval(
        data, recall_ks=recall_cutoffs(values), ndcg_k=values.get("ndcg_k", 10), ties=values.get("ties", "average"),
        recall_definition=values.get("recall_definition", "any"), empty_queries=values.get("empty_queries", "error"),
        progress=progress, failures=values.get("failures", 0),
    )  # fmt: skip


def _direction_metrics(
    d,
    recall_ks: list[int],
    ndcg_k: int,
    ties: str,
    recall_definition: str,
    progress: Progress,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-query metrics, and per query R@K "any" at the smallest and the largest K (the error types')."""
    from vlmeval.metrics.retrieval import pad, query_metrics, rank_relevant, ranks_from_positions

    n = len(d.query_ids)
    rows = block_rows(d.n_items)
    parts: list[dict[str, np.ndarray]] = []
    hits: list[np.ndarray] = []
    ends = [recall_ks[0], recall_ks[-1]]
    label = {"": "queries", "t2i_": "text-to-image queries", "i2t_": "image-to-text queries"}[d.name]
    with progress.step(f"ranking {label}", total=n) as advance:
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            rel = d.relevance.rows(start, stop)
            gains, valid = pad(rel.indptr, rel.gains, 0.0)
            if d.scores is None:
                positions, _ = pad(rel.indptr, rel.items, np.inf)
                ranks = ranks_from_positions(positions, valid, gains)
            else:
                items, _ = pad(rel.indptr, rel.items.astype(np.int64), -1)
                ranks = rank_relevant(d.scores(start, stop), items, valid, gains)
            parts.append(
                query_metrics(ranks, recall_ks, [ndcg_k], ties=ties, recall_definition=recall_definition)
            )
            found = parts[-1] if recall_definition == "any" else query_metrics(ranks, ends, [], ties=ties, mrr=False)
            hits.append(np.stack([found[f"R@{k}"] for k in ends], axis=1))
            advance(stop - start)
    if not parts:
        return {}, np.zeros((0, 2))
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}, np.concatenate(hits)


def evaluate_retrieval(
    data,
    *,
    recall_ks: list[int],
    ndcg_k: int = 10,
    ties: str = "average",
    recall_definition: str = "any",
    empty_queries: str = "error",
    progress: Progress = QUIET,
    failures: int = 0,
) -> Result:
    from vlmeval.metrics.errors import retrieval_error_types, type_breakdown
    from vlmeval.report.signature import signature

    metrics: dict[str, float] = {}
    sigs: dict[str, str] = {}
    per_sample: dict[str, Any] = {}
    counts: dict[str, Any] = {"records": 0, "scored": 0, "skipped": {}, **data.counts}
    warnings = list(data.warnings)
    failure_rows: list[dict[str, Any]] = []
    graded = any(d.relevance.graded for d in data.directions)
    common = {"ties": ties, "empty": empty_queries}
    if data.source == "embeddings":
        common["sim"] = "cosine"
    error_types: list[str | None] | None = None
    breakdown: dict[str, Any] = {}
    evidence: dict[str, np.ndarray] = {}  # per direction, the queries without a relevant item (for the merge)
    for d in data.directions:
        values, hits = _direction_metrics(d, recall_ks, ndcg_k, ties, recall_definition, progress)
        empty = d.relevance.counts == 0
        evidence[d.name] = empty
        scored = _empty_queries(d.name, empty, d.query_ids, empty_queries, counts, warnings, d.whole_empty)
        per_sample[f"{d.name}ids" if d.name != data.directions[0].name else "ids"] = d.query_ids
        for key, column in values.items():
            column = np.where(empty, 0.0, column) if empty_queries == "zero" else column
            name = d.name + key
            metrics[name] = float(np.nanmean(column[scored])) if scored.any() else 0.0
            per_sample[name] = column.tolist()
            if key.startswith("R@"):
                sigs[name] = signature("R@" + key[2:], {
                    "def": "any-relevant-in-top-k" if recall_definition == "any" else "fraction-of-relevant",
                    **common,
                    "parity": "CLIP_benchmark-recall_at_k" if recall_definition == "any" else "torchmetrics-retrieval_recall",
                })  # fmt: skip
            elif key == "MRR":
                sigs[name] = signature(
                    "MRR",
                    {"rank": "first-relevant", **common, "parity": "torchmetrics-retrieval_reciprocal_rank"},
                )
            else:
                sigs[name] = signature(key, {"gain": "graded-linear" if graded else "binary", "disc": "log2", **common,
                                             "parity": "torchmetrics-retrieval_normalized_dcg"})  # fmt: skip
        types = retrieval_error_types(*(np.where(empty[:, None], 0.0, hits) if empty_queries == "zero" else hits).T)
        if d is data.directions[0]:
            error_types = types  # the report's failure_rate and error_type are its first direction's
        else:
            per_sample[f"{d.name}error_type"] = types
            breakdown[f"{d.name}error_type"] = type_breakdown(types)
        if failures:
            mrr = values.get("MRR")
            if mrr is not None and empty_queries == "zero":  # scored 0 there: failures like any other
                mrr = np.where(empty, 0.0, mrr)
            order = (
                np.argsort(np.where(np.isnan(mrr), np.inf, mrr), kind="stable")[:failures]
                if mrr is not None
                else []
            )
            for i in (i for i in order if not np.isnan(mrr[i])):  # a skipped query is not scored: no failure
                failure_rows.append({
                    "id": d.query_ids[i], "score": float(mrr[i]), "metric": d.name + "MRR", "direction": d.name.rstrip("_") or None,
                    "prediction": f"first relevant at rank {1 / mrr[i]:.0f}" if mrr[i] > 0 else "no relevant item retrieved",
                    "reference": f"{int(d.relevance.counts[i])} relevant", "error_type": types[i],
                })  # fmt: skip
    sigs["failure_rate"] = signature("failure-rate", {
        "failed": f"R@{recall_ks[0]}<1", "low_rank": f"R@{recall_ks[-1]}=1", **common,
        "dir": data.directions[0].name.rstrip("_") or "-", "types": ",".join(ERROR_TYPES),
    })  # fmt: skip
    return Result(
        metrics=metrics,
        per_sample=per_sample,
        signature=sigs,
        counts=counts,
        inputs=data.inputs,
        options={
            "source": data.source,
            "k": recall_ks,
            "ndcg_k": ndcg_k,
            "ties": ties,
            "recall_definition": recall_definition,
            "empty_queries": empty_queries,
        },  # fmt: skip
        breakdown=breakdown,
        warnings=warnings,
        failures=failure_rows,
        error_types=error_types,
        evidence={"empty": lambda: {name: empty.tolist() for name, empty in evidence.items()}},
    )


def block_rows(n_items: int) -> int:
    """Score rows held at once for ``n_items`` columns."""
    return max(1, BLOCK_BYTES // max(8 * n_items, 1))


def _empty_queries(name: str, empty: np.ndarray, query_ids: list[str], mode: str, counts: dict, warnings: list,
                   whole: tuple[int, str] | None = None) -> np.ndarray:  # fmt: skip
    """Queries without a relevant item under --empty-queries: an error, or counted and warned about; returns
    which queries the direction's metrics average over. ``whole``: a part's whole input's (how many, the
    first), for the error, which names the whole input's as one run does."""
    from vlmeval.errors import VlmevalError, counted

    n_empty = int(empty.sum())
    counts["records"] += len(query_ids)
    stop_on = whole if whole is not None else (n_empty, query_ids[int(np.flatnonzero(empty)[0])] if n_empty else "")
    if mode == "error" and stop_on[0]:
        raise VlmevalError(
            f"{counted(stop_on[0], name + 'query', name + 'queries', ('has', 'have'))} no relevant item "
            f"(first: {stop_on[1]!r}); "
            "--empty-queries zero scores them 0, --empty-queries skip leaves them out"
        )
    if n_empty:
        counts[f"{name}queries_without_relevant"] = n_empty
        if mode == "skip":
            counts["skipped"][f"{name}no_relevant_item"] = n_empty
        warnings.append(f"{counted(n_empty, name + 'query', name + 'queries', ('has', 'have'))} no relevant item: "
                        f"{'scored 0' if mode == 'zero' else 'skipped'}")  # fmt: skip
    scored = ~empty if mode == "skip" else np.ones(len(empty), dtype=bool)
    counts["scored"] += int(scored.sum())
    return scored


def size(data) -> tuple[str, int]:
    """Whole queries per part; with embeddings, whole images with their captions (both directions' queries)."""
    return ("images", len(data.directions[1].query_ids)) if data.source == "embeddings" else ("queries", len(data.directions[0].query_ids))


def take(data, start: int, stop: int):
    from dataclasses import replace

    if data.source == "embeddings":  # captions [c_a, c_b) are those of images [start, stop): the pairs' order
        captions = data.directions[1].relevance.indptr
        spans = [(int(captions[start]), int(captions[stop])), (start, stop)]
    else:
        spans = [(start, stop)]
    return replace(data, directions=[_take_queries(d, a, b) for d, (a, b) in zip(data.directions, spans)])


def _take_queries(d, start: int, stop: int):
    """Queries [start, stop) of a direction. Their score rows are computed in the blocks one run computes them
    in (a matrix product's row can depend on how many rows it is computed with), each block once."""
    from dataclasses import replace

    source, total = d.scores, len(d.query_ids)
    scores = None
    if source is not None:
        rows, held = block_rows(d.n_items), {}

        def scores(a: int, b: int) -> np.ndarray:
            out = []
            for g in range((start + a) // rows, (start + b - 1) // rows + 1):
                if held.get("block") != g:
                    held.update(block=g, rows=source(g * rows, min((g + 1) * rows, total)))
                lo, hi = max(start + a, g * rows) - g * rows, min(start + b, (g + 1) * rows) - g * rows
                out.append(held["rows"][lo:hi])
            return np.concatenate(out) if out else source(start + a, start + a)

    empty = np.flatnonzero(d.relevance.counts == 0)
    whole_empty = (len(empty), d.query_ids[int(empty[0])] if len(empty) else "")
    return replace(d, query_ids=d.query_ids[start:stop], relevance=d.relevance.rows(start, stop), scores=scores,
                   whole_empty=whole_empty)  # fmt: skip


def merge(parts: list) -> Result:
    """The parts' per-query values end to end, averaged as one run averages them; NDCG's gain is graded when
    any part's relevance is."""
    from vlmeval import shard
    from vlmeval.metrics.errors import type_breakdown

    result = shard.base_result(parts, TASK)
    mode = result.options["empty_queries"]
    result.counts = {"records": 0, "scored": 0, "skipped": {}, **result.counts}
    found = shard.evidence(parts, "empty")
    names = list(found[0])
    for name in names:
        empty = np.asarray([x for f in found for x in f[name]], dtype=bool)
        ids = result.per_sample["ids" if name == names[0] else f"{name}ids"]
        scored = _empty_queries(name, empty, ids, mode, result.counts, result.warnings)
        for key in (k for k in parts[0].metrics if k != "failure_rate" and k.startswith(name)):
            column = np.asarray(result.per_sample[key], dtype=np.float64)
            result.metrics[key] = float(np.nanmean(column[scored])) if scored.any() else 0.0
        if name != names[0]:
            result.breakdown[f"{name}error_type"] = type_breakdown(result.per_sample[f"{name}error_type"])
    graded = any(shard.signature_field(v, "gain") == "graded-linear" for p in parts for v in p.signature.values())
    for key, value in result.signature.items():
        if shard.signature_field(value, "gain") is not None:
            result.signature[key] = shard.with_field(value, "gain", "graded-linear" if graded else "binary")
    result.failures = shard.merged_failures(parts, parts[0].shard["failures"], by="direction")
    return result


TASK = Task(
    name="retrieval",
    help="Recall@K, MRR and NDCG@K from a score matrix, ranked lists, or image/text embeddings (both directions).",
    metrics=METRICS,
    primary=("R@1", "t2i_R@1", "MRR"),
    options=OPTIONS,
    load=load,
    evaluate=evaluate,
    available=available,
    prefixes=DIRECTIONS,
    takes_metrics=False,
    error_types=ERROR_TYPES,
    shard=Sharding(size, take, merge),
)
