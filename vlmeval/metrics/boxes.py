"""Box metrics for grounding: IoU, accuracy at an IoU threshold, centre-in-box, and one-to-one matching.

IoU is on continuous coordinates (``x2 - x1``, no "+1" pixel convention): intersection / union, 0 when the
union is empty. Referring expressions (one phrase, one box): the *first* predicted box is scored against
the ground-truth box (against the closest one when there are several), as the models' own evaluation
scripts do; a sample with no parsable box scores IoU 0 and stays in the denominator. ``center_acc``: the
predicted box's centre lies inside the ground-truth box (borders included; lmms-eval's Center_ACC), the
box as written (its centre before any clipping to the image, as lmms-eval clips nothing).
Phrase grounding (several boxes): predictions and ground truth matched one to one by the Hungarian
algorithm on IoU, counting only pairs at IoU >= tau (scipy's linear_sum_assignment: the most such pairs,
and among those the highest summed IoU); precision, recall and F1 over all boxes of the dataset (micro), and the mean IoU of
the matched pairs. Scales 0-1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of a[i] with b[i], boxes [n, 4] as x1, y1, x2, y2 (a box whose area is past the float range: 0)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _iou_pairs(a, b)


def _iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a + area_b - inter
    out = np.zeros(len(a), dtype=np.float64)
    np.divide(inter, union, out=out, where=(union > 0) & np.isfinite(union))
    return np.nan_to_num(out, nan=0.0)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of a [n, 4] with every box of b [m, 4]: [n, m]."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    aa = np.repeat(a, len(b), axis=0)
    bb = np.tile(b, (len(a), 1))
    return iou_pairs(aa, bb).reshape(len(a), len(b))


def center_inside(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    cx = pred[:, 0] / 2 + pred[:, 2] / 2  # in halves: the sum of two large coordinates can overflow
    cy = pred[:, 1] / 2 + pred[:, 3] / 2
    return (gt[:, 0] <= cx) & (cx <= gt[:, 2]) & (gt[:, 1] <= cy) & (cy <= gt[:, 3])


@dataclass
class Matching:
    """Per sample: matched pairs (IoU >= tau), predicted boxes, ground-truth boxes, summed matched IoU."""

    true_positives: np.ndarray
    predicted: np.ndarray
    ground_truth: np.ndarray
    matched_iou: np.ndarray

    def precision_recall_f1(self) -> tuple[float, float, float]:
        tp, pred, gt = self.true_positives.sum(), self.predicted.sum(), self.ground_truth.sum()
        precision = tp / pred if pred else 0.0
        recall = tp / gt if gt else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return float(precision), float(recall), float(f1)

    def per_sample_f1(self) -> np.ndarray:
        """F1 of each sample (1 when it has neither predicted nor ground-truth boxes)."""
        tp, pred, gt = (
            x.astype(np.float64) for x in (self.true_positives, self.predicted, self.ground_truth)
        )
        denom = pred + gt
        out = np.ones(len(tp))
        np.divide(2 * tp, denom, out=out, where=denom > 0)
        return out


def match_boxes(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray], threshold: float) -> Matching:
    """One-to-one matching per sample (Hungarian on IoU at >= threshold), boxes given per sample."""

    def flat(boxes):
        if not len(boxes):
            return np.zeros((0, 4))
        return np.concatenate([np.asarray(b, dtype=np.float64).reshape(-1, 4) for b in boxes])

    def counts(boxes):
        return np.fromiter((len(b) for b in boxes), dtype=np.int64, count=len(boxes))

    return match_flat(flat(preds), counts(preds), flat(gts), counts(gts), threshold)


def match_flat(
    pred: np.ndarray, pred_counts: np.ndarray, gt: np.ndarray, gt_counts: np.ndarray, threshold: float
) -> Matching:
    """One-to-one matching per sample; boxes of all samples concatenated, ``*_counts`` boxes per sample."""
    n = len(pred_counts)
    tp = np.zeros(n, dtype=np.int64)
    sum_iou = np.zeros(n)
    pred_start = np.cumsum(pred_counts) - pred_counts
    gt_start = np.cumsum(gt_counts) - gt_counts
    one_to_one = (pred_counts == 1) & (gt_counts == 1)
    single = np.flatnonzero(one_to_one)
    if len(single):  # the common case, vectorised
        ious = iou_pairs(pred[pred_start[single]], gt[gt_start[single]])
        hit = (ious >= threshold) & (ious > 0)
        tp[single] = hit
        sum_iou[single] = np.where(hit, ious, 0.0)
    several = np.flatnonzero((pred_counts > 0) & (gt_counts > 0) & ~one_to_one)
    if len(several):
        from scipy.optimize import linear_sum_assignment

        for i in several:
            ious = iou_matrix(
                pred[pred_start[i] : pred_start[i] + pred_counts[i]],
                gt[gt_start[i] : gt_start[i] + gt_counts[i]],
            )
            # most matches first, then the highest summed IoU: each eligible pair is worth more than the
            # summed IoU of any assignment can add
            bonus = min(ious.shape) + 1
            eligible = (ious >= threshold) & (ious > 0)
            weights = np.where(eligible, bonus + ious, 0.0)
            rows, cols = linear_sum_assignment(weights, maximize=True)
            kept = eligible[rows, cols]
            tp[i] = int(kept.sum())
            sum_iou[i] = float(ious[rows, cols][kept].sum())
    return Matching(
        tp, np.asarray(pred_counts, dtype=np.int64), np.asarray(gt_counts, dtype=np.int64), sum_iou
    )
