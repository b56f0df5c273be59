"""COCO detection metrics: the 12 COCOeval stats (computed by faster-coco-eval, a C++ reimplementation of
pycocotools' COCOeval with identical numbers) and precision/recall/F1 at a fixed score threshold.

Precision/recall at a threshold reuse COCOeval's per-image matching rule exactly (detections by score,
each to the unmatched ground truth of highest IoU >= tau, crowd regions absorb detections without counting
them, IoU against a crowd region is intersection / detection area), on area range "all" and without the
100-detections-per-image cap, which is a ranking device for AP.

Errors at the threshold, per image (``ThresholdCounts.errors``, TIDE's kinds, Bolya et al. 2020): each
false positive is a ``duplicate`` (IoU >= tau with a ground-truth box of its category that a higher-scoring
detection took), a ``loose_box`` (0.1 <= IoU < tau with one of its category), a ``wrong_class`` (IoU >= 0.1
with a box of another category) or ``background`` (IoU < 0.1 with every box), tried in that order; a
ground-truth box no detection took is ``missed``. TIDE's "both" (loose and of another category) is
``wrong_class`` here.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STAT_KEYS = ["AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large", "AR1", "AR10", "AR100", "AR_small", "AR_medium", "AR_large"]  # fmt: skip


@dataclass
class CocoResult:
    stats: dict[str, float]
    category_ap: dict[Any, float]  # category id -> AP@[.5:.95] (NaN when the category has no ground truth)
    # precision at COCO's 101 recall points, mean over categories with ground truth (area all, 100 dets)
    pr_curve: dict[str, list[float]] | None = None


def coco_map(
    detections: list[dict[str, Any]], ground_truth: dict[str, Any], image_ids: list | None = None
) -> CocoResult:
    """The 12 COCO bbox stats, as pycocotools' ``COCOeval.summarize()`` prints them (-1 where undefined)."""
    from faster_coco_eval import COCO, COCOeval_faster

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # stdout carries our results
        # the loader's report warning says it (vlmeval.io.grounding), in one sentence
        warnings.filterwarnings("ignore", message="Found annotation id 0")
        gt = COCO(ground_truth, use_deepcopy=False)
        dt = gt.loadRes([dict(d) for d in detections]) if detections else COCO()
        if not detections:  # pycocotools refuses an empty result list; every stat is then 0
            dt.dataset = {
                "images": ground_truth["images"],
                "categories": ground_truth["categories"],
                "annotations": [],
            }
            dt.createIndex()
        evaluator = COCOeval_faster(gt, dt, "bbox", print_function=lambda *a, **k: None)
        if image_ids is not None:
            evaluator.params.imgIds = list(image_ids)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = {key: float(v) for key, v in zip(STAT_KEYS, evaluator.stats)}
    precision = evaluator.eval["precision"]  # [iou, recall, category, area, maxDets]
    category_ap = {}
    for k, cat in enumerate(evaluator.params.catIds):
        p = precision[:, :, k, 0, -1]
        p = p[p > -1]
        category_ap[cat] = float(p.mean()) if p.size else float("nan")
    curve = {"recall": [float(x) for x in evaluator.params.recThrs]}
    for name, t in (("IoU=0.50", 0), ("IoU=0.75", 5), ("IoU=0.50:0.95", None)):
        p = precision[:, :, :, 0, -1] if t is None else precision[t : t + 1, :, :, 0, -1]
        p = np.where(p > -1, p, np.nan)
        with np.errstate(all="ignore"):
            mean = np.nanmean(np.moveaxis(p, 1, 0).reshape(p.shape[1], -1), axis=1)
        curve[name] = [None if not np.isfinite(v) else float(v) for v in mean]
    return CocoResult(stats, category_ap, curve)


def cocoeval_match(
    ious: np.ndarray, gt_ignore: np.ndarray, crowd: np.ndarray, threshold: float
) -> np.ndarray:
    """pycocotools ``evaluateImg``'s greedy matching at one IoU threshold, detections sorted by score and
    ground truth with the ignored ones last: for each detection the ground truth it takes, or -1. A crowd
    region can take many detections; once a detection has a non-ignored candidate it never moves to an
    ignored one."""
    n_det, n_gt = ious.shape
    taken = np.zeros(n_gt, dtype=bool)
    out = np.full(n_det, -1, dtype=np.int64)
    for d in range(n_det):
        best, best_iou = -1, min(threshold, 1 - 1e-10)
        for g in range(n_gt):
            if taken[g] and not crowd[g]:
                continue
            if best > -1 and not gt_ignore[best] and gt_ignore[g]:
                break
            if ious[d, g] < best_iou:
                continue
            best, best_iou = g, ious[d, g]
        if best > -1:
            taken[best] = True
            out[d] = best
    return out


def _iou_xywh(dets: np.ndarray, gts: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """pycocotools' maskUtils.iou for boxes: [d, g]; against a crowd region the denominator is the
    detection's area."""
    dx2, dy2 = dets[:, 0] + dets[:, 2], dets[:, 1] + dets[:, 3]
    gx2, gy2 = gts[:, 0] + gts[:, 2], gts[:, 1] + gts[:, 3]
    iw = np.clip(np.minimum(dx2[:, None], gx2[None]) - np.maximum(dets[:, 0, None], gts[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(dy2[:, None], gy2[None]) - np.maximum(dets[:, 1, None], gts[None, :, 1]), 0, None)
    inter = iw * ih
    area_d = (dets[:, 2] * dets[:, 3])[:, None]
    area_g = (gts[:, 2] * gts[:, 3])[None]
    union = np.where(crowd[None], area_d, area_d + area_g - inter)
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


@dataclass
class ThresholdCounts:
    """True positives, detections kept, and ground-truth boxes (crowd and ignored excluded), per category
    and per image."""

    by_category: dict[Any, tuple[int, int, int]]
    by_image: dict[Any, tuple[int, int, int]]
    errors: dict[Any, set[str]] = field(default_factory=dict)  # per image with an error: its kinds

    @staticmethod
    def prf(tp: int, det: int, gt: int) -> tuple[float, float, float]:
        precision = tp / det if det else 0.0
        recall = tp / gt if gt else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    def overall(self) -> tuple[float, float, float]:
        tp, det, gt = (sum(v[j] for v in self.by_category.values()) for j in range(3))
        return self.prf(tp, det, gt)


def threshold_counts(
    detections: list[dict[str, Any]], ground_truth: dict[str, Any], score_threshold: float, iou: float
) -> ThresholdCounts:
    """Detections with score >= ``score_threshold`` matched as COCOeval matches them at IoU ``iou``."""
    gts: dict[tuple, list[dict]] = defaultdict(list)
    for ann in ground_truth["annotations"]:
        gts[ann["image_id"], ann["category_id"]].append(ann)
    dets: dict[tuple, list[dict]] = defaultdict(list)
    for det in detections:
        # a negative area (one negative side) is outside area range "all": COCOeval ignores the detection
        if det["score"] >= score_threshold and det["bbox"][2] * det["bbox"][3] >= 0:
            dets[det["image_id"], det["category_id"]].append(det)
    by_category: dict[Any, list[int]] = {c["id"]: [0, 0, 0] for c in ground_truth["categories"]}
    by_image: dict[Any, list[int]] = {im["id"]: [0, 0, 0] for im in ground_truth["images"]}
    errors: dict[Any, set[str]] = defaultdict(set)
    unexplained: dict[Any, list[list[float]]] = defaultdict(list)  # false positives near no box of theirs
    for key in set(gts) | set(dets):
        g_list, d_list = gts.get(key, []), dets.get(key, [])
        # COCOeval._prepare overwrites any 'ignore' field with iscrowd: crowd regions are the ignored ones
        ignore = np.array([bool(a.get("iscrowd", 0)) for a in g_list], dtype=bool)
        g_order = np.argsort(ignore, kind="stable")  # ignored ground truth last, as COCOeval sorts it
        g_list = [g_list[i] for i in g_order]
        ignore = ignore[g_order]
        crowd = ignore
        d_order = np.argsort([-d["score"] for d in d_list], kind="stable")
        d_list = [d_list[i] for i in d_order]
        tp = kept = 0
        if d_list and g_list:
            ious = _iou_xywh(np.array([d["bbox"] for d in d_list], dtype=np.float64).reshape(-1, 4),
                             np.array([a["bbox"] for a in g_list], dtype=np.float64).reshape(-1, 4), crowd)  # fmt: skip
            for d, best in enumerate(cocoeval_match(ious, ignore, crowd, iou)):
                if best == -1:
                    kept += 1  # a false positive
                    closest = float(ious[d, ~ignore].max()) if (~ignore).any() else 0.0
                    if closest >= iou:
                        errors[key[0]].add("duplicate")
                    elif closest >= LOOSE_IOU:
                        errors[key[0]].add("loose_box")
                    else:
                        unexplained[key[0]].append(d_list[d]["bbox"])
                elif not ignore[best]:
                    tp += 1
                    kept += 1
                # else absorbed by a crowd/ignored region: neither right nor wrong
        else:
            kept = len(d_list)
            unexplained[key[0]].extend(d["bbox"] for d in d_list)
        n_gt = int((~ignore).sum())
        if tp < n_gt:
            errors[key[0]].add("missed")
        for table, k in ((by_category, key[1]), (by_image, key[0])):
            row = table.setdefault(k, [0, 0, 0])
            row[0] += tp
            row[1] += kept
            row[2] += n_gt
    _other_category_errors(unexplained, ground_truth, errors)
    return ThresholdCounts(
        {k: tuple(v) for k, v in by_category.items()}, {k: tuple(v) for k, v in by_image.items()}, dict(errors)
    )


LOOSE_IOU = 0.1  # below it a box is on another object (TIDE's background threshold)


def _other_category_errors(
    unexplained: dict[Any, list[list[float]]], ground_truth: dict[str, Any], errors: dict[Any, set[str]]
) -> None:
    """False positives near no box of their own category: ``wrong_class`` when one overlaps a (non-crowd)
    box of another category at IoU >= 0.1, else ``background``. A box of their own category is never that
    close (they would be duplicates or loose boxes), so every box of the image can be compared."""
    boxes: dict[Any, list[list[float]]] = defaultdict(list)
    for ann in ground_truth["annotations"]:
        if ann["image_id"] in unexplained and not ann.get("iscrowd", 0):
            boxes[ann["image_id"]].append(ann["bbox"])
    for image, found in unexplained.items():
        gt = np.array(boxes.get(image, []), dtype=np.float64).reshape(-1, 4)
        dets = np.array(found, dtype=np.float64).reshape(-1, 4)
        ious = _iou_xywh(dets, gt, np.zeros(len(gt), dtype=bool)) if len(gt) else np.zeros((len(dets), 0))
        near = ious.max(axis=1) >= LOOSE_IOU if len(gt) else np.zeros(len(dets), dtype=bool)
        if near.any():
            errors[image].add("wrong_class")
        if not near.all():
            errors[image].add("background")
