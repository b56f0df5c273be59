"""COCO's 12 bbox stats on a resampled image set, for bootstrap intervals of mAP.

COCOeval's per-image matching (``evaluateImg``) depends on one image only, so it is done once; a resample is a
weight per image (how many times it was drawn), and ``accumulate`` + ``summarize`` are recomputed with those
weights: an image drawn k times contributes k copies of its detections, in the order COCOeval would sort
them, and k times its ground truth. This equals pycocotools
run on the explicitly resampled dataset (images copied under new ids in the same order) — the tests check it
— without running COCOeval per resample.

The matching below is pycocotools 2.0's ``evaluateImg`` (crowd regions ignored and matchable many times,
ground truth outside the area range ignored, detections sorted by score with a stable sort and cut at 100,
greedy matching in ground-truth order with ignored ones last), ``accumulate``'s precision envelope and
``searchsorted`` over 101 recall points, and ``summarize``'s means over entries > -1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from vlmeval.metrics.detection import _iou_xywh, cocoeval_match

IOU_THRS = np.linspace(0.5, 0.95, 10)
REC_THRS = np.linspace(0.0, 1.00, 101)
AREAS = {"all": (0.0, 1e10), "small": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2), "large": (96.0**2, 1e10)}
MAX_DETS = (1, 10, 100)


@dataclass
class _Block:
    """One (category, area) cell: its detections in accumulate's global order."""

    image: np.ndarray  # [D] image index of each detection
    rank: np.ndarray  # [D] rank of the detection within its image (for maxDets 1 and 10)
    score: np.ndarray  # [D]
    tp: np.ndarray  # [T, D] matched and not ignored
    fp: np.ndarray  # [T, D] unmatched and not ignored
    npig: np.ndarray  # [images] non-ignored ground truth per image


@dataclass
class CocoEvidence:
    n_images: int
    blocks: dict[tuple[int, str], _Block]  # (category index, area) -> block
    n_categories: int


def _evaluate_image(dets: list[dict], gts: list[dict], area: tuple[float, float], ious: np.ndarray | None):
    """pycocotools evaluateImg for one image, category and area range (maxDet 100); ``dets`` sorted."""
    g_ignore = np.array(
        [bool(g.get("iscrowd", 0)) or g["area"] < area[0] or g["area"] > area[1] for g in gts], dtype=bool
    )
    g_order = np.argsort(g_ignore, kind="mergesort")
    g_ignore = g_ignore[g_order]
    crowd = np.array([bool(gts[i].get("iscrowd", 0)) for i in g_order], dtype=bool)
    T, D, G = len(IOU_THRS), len(dets), len(gts)
    dt_match = np.zeros((T, D), dtype=bool)
    dt_ignore = np.zeros((T, D), dtype=bool)
    if D and G:
        ious = ious[:, g_order]
        for t, thr in enumerate(IOU_THRS):
            taken = cocoeval_match(ious, g_ignore, crowd, thr)
            dt_match[t] = taken > -1
            dt_ignore[t] = dt_match[t] & g_ignore[np.maximum(taken, 0)]
    outside = np.array([d["area"] < area[0] or d["area"] > area[1] for d in dets], dtype=bool)
    dt_ignore |= ~dt_match & outside[None, :]
    return dt_match, dt_ignore, int((~g_ignore).sum())


def coco_evidence(detections: list[dict[str, Any]], ground_truth: dict[str, Any]) -> CocoEvidence:
    """Per-image matching for every category and area range, arranged for weighted accumulation. Images are
    those of the ground truth in sorted id order (COCOeval's imgIds); the caller's weights follow that order."""
    image_ids = sorted(im["id"] for im in ground_truth["images"])
    cat_ids = sorted(c["id"] for c in ground_truth["categories"])
    img_index = {i: k for k, i in enumerate(image_ids)}
    cat_index = {c: k for k, c in enumerate(cat_ids)}
    gts: dict[tuple, list[dict]] = defaultdict(list)
    for ann in ground_truth["annotations"]:
        gts[img_index[ann["image_id"]], cat_index[ann["category_id"]]].append(ann)
    dets: dict[tuple, list[dict]] = defaultdict(list)
    for det in detections:
        x, y, w, h = det["bbox"]
        dets[img_index[det["image_id"]], cat_index[det["category_id"]]].append(
            {"bbox": [x, y, w, h], "score": det["score"], "area": w * h}
        )
    cells: dict[tuple[int, str], list] = defaultdict(list)  # (cat, area) -> [(image, scores, match, ignore)]
    npig: dict[tuple[int, str], np.ndarray] = {}
    for key in sorted(set(gts) | set(dets), key=lambda k: (k[1], k[0])):  # category, then image order
        img, cat = key
        d_list, g_list = dets.get(key, []), gts.get(key, [])
        order = np.argsort([-d["score"] for d in d_list], kind="mergesort")[: MAX_DETS[-1]]
        d_list = [d_list[i] for i in order]
        ious = None
        if d_list and g_list:
            crowd = np.array([bool(g.get("iscrowd", 0)) for g in g_list], dtype=bool)
            ious = _iou_xywh(
                np.array([d["bbox"] for d in d_list], dtype=np.float64).reshape(-1, 4),
                np.array([g["bbox"] for g in g_list], dtype=np.float64).reshape(-1, 4),
                crowd,
            )
        for name, rng in AREAS.items():
            match, ignore, n_gt = _evaluate_image(d_list, g_list, rng, ious)
            counts = npig.setdefault((cat, name), np.zeros(len(image_ids), dtype=np.int64))
            counts[img] = n_gt
            cells[cat, name].append((img, np.array([d["score"] for d in d_list]), match, ignore))
    blocks = {}
    for key, entries in cells.items():
        images = np.concatenate([np.full(len(s), img) for img, s, _, _ in entries]).astype(np.int64)
        ranks = np.concatenate([np.arange(len(s)) for _, s, _, _ in entries]).astype(np.int64)
        scores = np.concatenate([s for _, s, _, _ in entries])
        match = np.concatenate([m for _, _, m, _ in entries], axis=1)
        ignore = np.concatenate([g for _, _, _, g in entries], axis=1)
        order = np.argsort(-scores, kind="mergesort")  # accumulate's global order (image order breaks ties)
        match, ignore = match[:, order], ignore[:, order]
        blocks[key] = _Block(
            images[order], ranks[order], scores[order], match & ~ignore, ~match & ~ignore, npig[key]
        )
    return CocoEvidence(len(image_ids), blocks, len(cat_ids))


def _precision_recall(block: _Block, weights: np.ndarray, max_det: int, want_precision: bool):
    """(mean precision over recall points per IoU threshold [T], recall [T]) or None when no ground truth."""
    npig = float(weights @ block.npig)
    if npig == 0:
        return None
    keep = block.rank < max_det
    w = (weights[block.image] * keep).astype(np.int64)
    if not w.any():
        return np.zeros(len(IOU_THRS)), np.zeros(len(IOU_THRS))
    if (w == 1).all():
        cols = np.arange(len(w))
    else:
        # the resampled dataset's detections: each copy of an image is an image of its own, ordered as COCOeval
        # orders them (score, then image, then copy, then rank within the image)
        cols = np.repeat(np.arange(len(w)), w)
        starts = np.cumsum(w) - w
        copy = np.arange(len(cols)) - np.repeat(starts, w)
        cols = cols[np.lexsort((block.rank[cols], copy, block.image[cols], -block.score[cols]))]
    tp = np.cumsum(block.tp[:, cols], axis=1, dtype=np.float64)
    recall = tp[:, -1] / npig
    if not want_precision:
        return None, recall
    fp = np.cumsum(block.fp[:, cols], axis=1, dtype=np.float64)
    rc = tp / npig
    pr = tp / (fp + tp + np.spacing(1))
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]  # the precision envelope
    q = np.zeros((len(IOU_THRS), len(REC_THRS)))
    for t in range(len(IOU_THRS)):
        inds = np.searchsorted(rc[t], REC_THRS, side="left")
        ok = inds < rc.shape[1]
        q[t, ok] = pr[t, inds[ok]]
    return q.mean(axis=1), recall


def coco_stats_weighted(evidence: CocoEvidence, weights: np.ndarray) -> np.ndarray:
    """The 12 COCO stats (pycocotools' summarize order) with image weights (1 = as is; counts from a resample)."""
    weights = np.asarray(weights, dtype=np.float64)
    ap = {a: [] for a in AREAS}  # per area: [T] mean precision of each valid category
    ar = {(a, m): [] for a in AREAS for m in MAX_DETS}
    for (_category, area), block in evidence.blocks.items():
        for m in MAX_DETS:
            if area != "all" and m != 100:
                continue
            result = _precision_recall(block, weights, m, want_precision=(m == 100))
            if result is None:
                continue
            precision, recall = result
            if m == 100:
                ap[area].append(precision)
            ar[area, m].append(recall)

    def mean_ap(area, t=None):
        rows = ap[area]
        if not rows:
            return -1.0
        x = np.array(rows)
        return float(x.mean() if t is None else x[:, t].mean())

    def mean_ar(area, m):
        rows = ar[area, m]
        return float(np.mean(rows)) if rows else -1.0

    return np.array(
        [
            mean_ap("all"),
            mean_ap("all", 0),
            mean_ap("all", 5),
            mean_ap("small"),
            mean_ap("medium"),
            mean_ap("large"),
            mean_ar("all", 1),
            mean_ar("all", 10),
            mean_ar("all", 100),
            mean_ar("small", 100),
            mean_ar("medium", 100),
            mean_ar("large", 100),
        ]  # fmt: skip
    )
