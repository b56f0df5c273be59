"""Grounding: referring expressions (one phrase, one box), phrase grounding (several boxes, one-to-one
matching) and COCO detection (the 12 COCOeval stats, plus P/R/F1 at a score threshold).

Referring metrics score the first parsed box of each sample against its closest ground-truth box;
precision/recall/F1 match every parsed box (those scoring at least ``--score-threshold`` when scores are
given) one to one with the ground truth. Samples without a ground-truth box are left out of the referring
metrics (counted as ``no_gt_box``) and count in P/R/F1, where their boxes are false positives.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from vlmeval.io.box_text import FORMATS, NEEDS_SIZE, ResizeOptions
from vlmeval.metrics.detection import STAT_KEYS
from vlmeval.progress import QUIET, Progress
from vlmeval.tasks.task import Metric, Option, Result, Sharding, Task

MATCHING = ["precision", "recall", "f1"]
SWEEP = [round(0.1 * k, 1) for k in range(1, 10)]
HUNGARIAN = "one-to-one matching at IoU >= T (Hungarian)"
COCOEVAL = "pycocotools COCOeval (via faster-coco-eval)"

METRICS = (
    Metric("mean_iou", "0-1", "continuous IoU (no +1)"),
    Metric("acc@{iou}", "0-1", "IoU >= T (--iou T; acc@0.5 by default)", family="acc", examples=("acc@0.5",)),
    Metric("center_acc", "0-1", "predicted box centre inside the ground-truth box"),
    *(Metric(k, "0-1", HUNGARIAN, interval="prf", arg=k) for k in MATCHING),
    Metric("parse_failures", "count", "predictions with no box parsed", higher_is_better=False, interval="sum",
           always=True),
    *(Metric(k, "0-1", COCOEVAL, family="mAP", interval="coco") for k in STAT_KEYS),
    Metric("matched_iou", "0-1", "mean IoU of the matched pairs", interval="none", companion_of=tuple(MATCHING)),
)  # fmt: skip

OPTIONS = (
    Option("preds", Path, None, "Predictions: records with 'prediction' (text or boxes) and 'gt_boxes', or COCO "
           "detection results JSON.", argument=True, required=True),
    Option("refs", Path, None, "Ground truth: records with 'gt_boxes' (joined on id), or COCO instances_*.json."),
    Option("box_format", str, "xyxy", "How predicted boxes map to pixels (see README); auto guesses as VLMEvalKit "
           "does.", choices=FORMATS),
    Option("images", Path, None, "Image folder, for sizes when records lack width/height."),
    Option("iou", float, 0.5, "IoU threshold for acc@T and matching.", minimum=0.0, maximum=1.0, min_open=True),
    Option("score_threshold", float, None, "Keep boxes scoring at least this for precision/recall/F1.",
           default_text="all boxes; 0.5 for COCO detection"),
    Option("min_pixels", int, ResizeOptions.min_pixels, "qwen2.5-vl: smart_resize min_pixels.", minimum=1,
           panel="Qwen2.5-VL resizing"),
    Option("max_pixels", int, ResizeOptions.max_pixels, "qwen2.5-vl: smart_resize max_pixels.", minimum=1,
           panel="Qwen2.5-VL resizing"),
    Option("patch_factor", int, ResizeOptions.factor, "qwen2.5-vl: smart_resize factor.", minimum=1,
           panel="Qwen2.5-VL resizing"),
    Option("allow_missing", bool, False, "Score samples without a prediction as no box (IoU 0, counted)."),
)  # fmt: skip


# why a failed sample failed (the README's table), tried in this order. Records: failed when the sample has
# a ground-truth box and its first box scores IoU < T (--iou). COCO detection: per image, at the score threshold.
ERROR_TYPES = {
    "empty": "records: the prediction is empty (a missing one under --allow-missing too)",
    "parse_failure": "records: no box the --box-format can parse ('I cannot find that object in the image.', a box "
    "in another format)",
    "degenerate_box": "records: the first box has no area once swapped and clipped (a line, a point, outside the image)",
    "wrong_object": "records: IoU < 0.1 with every ground-truth box: the box is on something else",
    "loose_box": "records: 0.1 <= IoU < T: the object, boxed too large, too small or shifted; detection: the image "
    "has a false positive at 0.1 <= IoU < T with a box of its category",
    "wrong_class": "detection: a false positive at IoU >= 0.1 with a box of another category",
    "missed": "detection: a ground-truth box no detection took",
    "duplicate": "detection: a false positive at IoU >= T with a box of its category that a higher-scoring "
    "detection took",
    "background": "detection: a false positive at IoU < 0.1 with every box",
}


def acc_key(iou: float) -> str:
    return f"acc@{iou:g}"


def load(values: dict[str, Any]):
    from vlmeval.errors import VlmevalError
    from vlmeval.io.grounding import is_coco_detection, load_detection, load_grounding
    from vlmeval.io.readers import read_records

    low, high = (
        values.get("min_pixels", ResizeOptions.min_pixels),
        values.get("max_pixels", ResizeOptions.max_pixels),
    )
    if low > high:
        raise VlmevalError(
            f"--min-pixels {low} is more than --max-pixels {high}: smart_resize needs min <= max"
        )
    pred_file = read_records(values["preds"])
    if pred_file.records and is_coco_detection(pred_file):
        if values.get("refs") is None:
            raise VlmevalError("COCO detection results need --refs instances_*.json (the COCO ground truth)")
        return load_detection(pred_file, values["refs"])
    return load_grounding(
        pred_file,
        values.get("refs"),
        images_dir=values.get("images"),
        need_size=values.get("box_format", "xyxy") in NEEDS_SIZE,
        allow_missing=values.get("allow_missing", False),
    )


def available(values: dict[str, Any], data: Any) -> list[str]:
    """Records: acc@T, mean_iou, center_acc, precision, recall, f1, parse_failures. COCO detection: the
    12 COCO stats, precision, recall, f1."""
    from vlmeval.io.grounding import DetectionData

    if isinstance(data, DetectionData):
        return STAT_KEYS + MATCHING
    return [acc_key(values.get("iou", 0.5)), "mean_iou", "center_acc", *MATCHING, "parse_failures"]


def evaluate(data, keys: list[str], values: dict[str, Any], progress: Progress = QUIET) -> Result:
    from vlmeval.io.grounding import DetectionData

    iou = values.get("iou", 0.5)
    threshold = values.get("score_threshold")
    if isinstance(data, DetectionData):
        return evaluate_detection(
            data, keys, iou=iou, score_threshold=0.5 if threshold is None else threshold, progress=progress
        )
    resize = ResizeOptions(
        values.get("patch_factor", ResizeOptions.factor),
        values.get("min_pixels", ResizeOptions.min_pixels),
        values.get("max_pixels", ResizeOptions.max_pixels),
    )
    return evaluate_grounding(
        data, keys, box_format=values.get("box_format", "xyxy"), iou=iou, score_threshold=threshold,
        resize=resize, progress=progress,
    )  # fmt: skip


def evaluate_grounding(
    data,
    keys: list[str],
    *,
    box_format: str = "xyxy",
    iou: float = 0.5,
    score_threshold: float | None = None,
    resize=None,
    progress: Progress = QUIET,
) -> Result:
    from vlmeval.errors import VlmevalError
    from vlmeval.io.box_text import extract_all, fix_boxes, to_pixels
    from vlmeval.metrics.boxes import center_inside, iou_matrix, iou_pairs, match_flat
    from vlmeval.metrics.errors import GROUNDING_TYPES, grounding_error_types
    from vlmeval.report.report import package_version
    from vlmeval.report.signature import signature

    resize = resize or ResizeOptions()
    n = len(data.ids)
    with progress.step(f"parsing boxes ({box_format})"):
        flat, counts_per = extract_all(data.predictions, box_format)
    owner = np.repeat(np.arange(n), counts_per)
    as_written = to_pixels(flat, box_format, data.width[owner], data.height[owner], resize)
    pixels, has_area, fixes = fix_boxes(as_written, data.width[owner], data.height[owner])
    starts = np.cumsum(counts_per) - counts_per
    gt_counts = np.fromiter((len(g) for g in data.gt_boxes), dtype=np.int64, count=n)
    gt_flat = np.concatenate(data.gt_boxes) if n else np.zeros((0, 4))
    gt_starts = np.cumsum(gt_counts) - gt_counts

    parsed = counts_per > 0
    parse_failures = int((~parsed).sum())
    has_gt = gt_counts > 0
    warnings = list(data.warnings) + _parse_warnings(box_format, parse_failures, n)

    # referring expressions: the first box against the closest ground-truth box
    first = np.full((n, 4), np.nan)
    first[parsed] = pixels[starts[parsed]]
    first_degenerate = np.zeros(n, dtype=bool)
    first_degenerate[parsed] = ~has_area[starts[parsed]]
    single_gt = gt_counts == 1
    gt_best = np.full((n, 4), np.nan)
    gt_best[single_gt] = gt_flat[gt_starts[single_gt]]
    ious = np.zeros(n)
    ok = parsed & single_gt
    ious[ok] = iou_pairs(first[ok], gt_best[ok])
    for i in np.flatnonzero(parsed & has_gt & ~single_gt):
        row = iou_matrix(first[i : i + 1], data.gt_boxes[i])[0]
        best = int(np.argmax(row))
        ious[i], gt_best[i] = row[best], data.gt_boxes[i][best]
    # the centre of the box as written (unclipped; lmms-eval clips nothing): a box beyond the image's edge
    # clips to a line on it, whose centre could fall inside a ground-truth box at the edge
    centre_of = np.full((n, 4), np.nan)
    centre_of[parsed] = as_written[starts[parsed]]
    center = np.zeros(n, dtype=bool)
    center[parsed & has_gt] = center_inside(centre_of[parsed & has_gt], gt_best[parsed & has_gt])
    rated = has_gt  # samples the referring metrics average over
    evidence = {"iou": ious, "rated": rated, "center": center}  # what vlmeval merge recomputes the metrics from

    metrics: dict[str, float] = {}
    per_sample: dict[str, Any] = {"ids": data.ids}
    sigs: dict[str, str] = {}
    acc = acc_key(iou)
    rule = "first-box-vs-closest-gt"
    common = {"box": box_format, "iou": "continuous", "scored": rule, "unparsed": "iou0"}
    if box_format == "qwen2.5-vl":
        common["resize"] = f"smart{resize.factor}-{resize.min_pixels}-{resize.max_pixels}"
    denominator = max(int(rated.sum()), 1)
    if "mean_iou" in keys:
        metrics["mean_iou"] = float(ious[rated].sum() / denominator)
        per_sample["mean_iou"] = np.where(rated, ious, np.nan).tolist()
        sigs["mean_iou"] = signature("mIoU", common)
    hits = ious >= iou
    if acc in keys:
        metrics[acc] = float(hits[rated].sum() / denominator)
        per_sample[acc] = np.where(rated, hits.astype(np.float64), np.nan).tolist()
        sigs[acc] = signature(f"Acc@{iou:g}", {**common, "thr": f">={iou:g}"})
    if "center_acc" in keys:
        metrics["center_acc"] = float(center[rated].sum() / denominator)
        per_sample["center_acc"] = np.where(rated, center.astype(np.float64), np.nan).tolist()
        sigs["center_acc"] = signature("CenterAcc", {**common, "inside": "closed"})

    # phrase grounding: every kept box, matched one to one
    stats: dict[str, Any] = {}
    if set(MATCHING) & set(keys):
        keep = np.ones(len(pixels), dtype=bool)
        if score_threshold is not None:
            given = np.fromiter((sc is not None for sc in data.scores), dtype=bool, count=n)
            lengths = np.fromiter(
                (len(sc) if sc is not None else 0 for sc in data.scores), dtype=np.int64, count=n
            )
            bad = np.flatnonzero(given & (lengths != counts_per))
            if len(bad):
                i = int(bad[0])
                where = data.where(i) if data.where is not None else f"id {data.ids[i]}"
                raise VlmevalError(
                    f"{where}: {lengths[i]} scores for {counts_per[i]} parsed boxes (scores pair with boxes in order)"
                )
            scored_boxes = np.repeat(given, counts_per)
            if scored_boxes.any():
                flat_scores = np.concatenate(
                    [np.asarray(data.scores[i], dtype=np.float64) for i in np.flatnonzero(given)]
                )
                keep[scored_boxes] = flat_scores >= score_threshold
        kept_counts = np.bincount(owner[keep], minlength=n) if len(owner) else np.zeros(n, dtype=np.int64)
        with progress.step("matching boxes"):
            matching = match_flat(pixels[keep], kept_counts, gt_flat, gt_counts, iou)
        evidence["matched_iou"] = matching.matched_iou
        precision, recall, f1 = matching.precision_recall_f1()
        for key, value in (("precision", precision), ("recall", recall), ("f1", f1)):
            if key in keys:
                metrics[key] = value
                sigs[key] = signature(
                    key.capitalize() if key != "f1" else "F1",
                    {"box": box_format, "match": f"hungarian-maxcount-iou>={iou:g}", "avg": "micro",
                     "score": f">={score_threshold:g}" if score_threshold is not None else "all"},
                )  # fmt: skip
        tp = int(matching.true_positives.sum())
        metrics["matched_iou"] = float(matching.matched_iou.sum() / tp) if tp else 0.0
        sigs["matched_iou"] = signature(
            "MatchedIoU", {"box": box_format, "match": f"hungarian-maxcount-iou>={iou:g}"}
        )
        stats["matching"] = {
            "true_positives": matching.true_positives.tolist(),
            "predicted": matching.predicted.tolist(),
            "ground_truth": matching.ground_truth.tolist(),
        }
        per_sample["f1"] = matching.per_sample_f1().tolist()
    if "parse_failures" in keys:
        metrics["parse_failures"] = parse_failures
        per_sample["parse_failures"] = (~parsed).astype(np.int64).tolist()
        sigs["parse_failures"] = signature("ParseFailures", {"box": box_format, "of": "predictions"})
    sigs["failure_rate"] = signature(
        "failure-rate", {"failed": f"iou<{iou:g}", "box": box_format, "types": ",".join(GROUNDING_TYPES)}
    )

    counts = dict(data.counts)
    counts.update({
        "parse_failures": parse_failures,
        "extra_boxes": int(np.clip(counts_per - 1, 0, None).sum()),
        "swapped_corners": fixes.swapped,
        "clipped_boxes": fixes.clipped,
        "degenerate_boxes": fixes.degenerate,
        "empty_prediction": _empty(data.predictions, np.flatnonzero(~parsed)),
    })  # fmt: skip
    if box_format == "auto":
        counts["box_format_guessed"] = True
    warnings += _fix_warnings(fixes.swapped, fixes.clipped, fixes.degenerate)
    sweep_rows = _sweep(ious, rated)
    shown = [[round(float(v), 2) for v in first[i]] if parsed[i] else None for i in range(n)]
    return Result(
        metrics,
        per_sample,
        sigs,
        counts,
        data.inputs,
        options={"box_format": box_format, "iou": iou, "score_threshold": score_threshold, "metrics": keys},
        breakdown={"iou_threshold": sweep_rows} if sweep_rows else {},
        stats=stats,
        warnings=warnings,
        environment={"numpy": package_version("numpy"), "scipy": package_version("scipy")},
        columns={
            "prediction": data.predictions,
            "reference": [[[round(float(v), 2) for v in g] for g in gts] for gts in data.gt_boxes],
            "box": shown,
            "metric": ["IoU"] * n,
            "image": data.images,
        },
        # samples without a ground-truth box are not scored: NaN, never a failure case
        rank=np.where(rated, ious, np.nan),
        error_types=grounding_error_types(data.predictions, rated, parsed, first_degenerate, ious, iou),
        evidence={"rows": lambda: {k: np.asarray(v).tolist() for k, v in evidence.items()}},
    )


def _parse_warnings(box_format: str, parse_failures: int, n: int) -> list[str]:
    from vlmeval.errors import counted

    out = []
    if box_format == "auto":
        out.append(
            "box frame guessed from the numbers' magnitude (VLMEvalKit's RefCOCO rule: up to 1.5 read as "
            "fractions, up to 1000 as 0-1000, beyond as pixels; pixel boxes on images under 1000 px are "
            "misread); declare it with --box-format"
        )
    if parse_failures:
        out.append(f"{parse_failures} of {counted(n, 'prediction')} had no box the '{box_format}' format could parse: "
                   "scored IoU 0")  # fmt: skip
    return out


def _fix_warnings(swapped: int, clipped: int, degenerate: int) -> list[str]:
    from vlmeval.errors import counted

    found = ((swapped, ("had", "had"), "inverted corners (swapped)"), (clipped, ("extended", "extended"),
             "past the image (clipped)"), (degenerate, ("has", "have"), "no area (degenerate; IoU 0)"))  # fmt: skip
    return [f"{counted(k, 'predicted box', 'predicted boxes', verb)} {what}" for k, verb, what in found if k]


def _sweep(ious: np.ndarray, rated: np.ndarray) -> dict[str, dict[str, float]]:
    """Accuracy at IoU thresholds 0.1..0.9 over the rated samples (the ``iou_threshold`` breakdown)."""
    if not rated.any():
        return {}
    denominator = max(int(rated.sum()), 1)
    return {f"{t:g}": {"count": int(rated.sum()), "acc": float((ious[rated] >= t).sum() / denominator)} for t in SWEEP}


def _empty(predictions: list, unparsed: np.ndarray) -> int:
    """Empty outputs among the unparsed predictions (an empty string or list is a model output, counted)."""
    return sum(
        1
        for i in unparsed
        if not (predictions[i].strip() if isinstance(predictions[i], str) else predictions[i])
    )


def evaluate_detection(
    data, keys: list[str], *, iou: float = 0.5, score_threshold: float = 0.5, progress: Progress = QUIET
) -> Result:
    from vlmeval.metrics.detection import coco_map, threshold_counts
    from vlmeval.metrics.errors import DETECTION_TYPES, detection_error_types
    from vlmeval.report.report import package_version
    from vlmeval.report.signature import signature

    metrics: dict[str, float] = {}
    sigs: dict[str, str] = {}
    impl = f"faster-coco-eval-{package_version('faster-coco-eval')}"
    names = {c["id"]: str(c.get("name", c["id"])) for c in data.ground_truth["categories"]}
    rows: dict[str, dict[str, float]] = {}
    gt_per_category: dict[Any, int] = {}
    for ann in data.ground_truth["annotations"]:
        if not ann.get("iscrowd", 0):
            gt_per_category[ann["category_id"]] = gt_per_category.get(ann["category_id"], 0) + 1
    if set(STAT_KEYS) & set(keys):
        with progress.step("COCO mAP (faster-coco-eval)"):
            result = coco_map(data.detections, data.ground_truth)
        for key in STAT_KEYS:
            if key in keys:
                metrics[key] = result.stats[key]
                sigs[key] = signature(
                    "COCO-" + key,
                    {"iouType": "bbox", "maxDets": "1,10,100", "impl": impl, "parity": "pycocotools"},
                )
        pr_curve = result.pr_curve
        for cat, ap in result.category_ap.items():
            rows.setdefault(names.get(cat, str(cat)), {"count": gt_per_category.get(cat, 0)})["AP"] = ap
    by_image: dict[Any, tuple[int, int, int]] = {}
    if not set(STAT_KEYS) & set(keys):
        pr_curve = None
    with progress.step("precision/recall at the score threshold"):  # also what the error types need
        counted = threshold_counts(data.detections, data.ground_truth, score_threshold, iou)
    if set(MATCHING) & set(keys):
        for key, value in zip(MATCHING, counted.overall()):
            if key in keys:
                metrics[key] = value
                sigs[key] = signature(
                    key.capitalize() if key != "f1" else "F1",
                    {
                        "match": f"cocoeval-greedy-iou>={iou:g}",
                        "score": f">={score_threshold:g}",
                        "area": "all",
                        "maxDets": "none",
                        "avg": "micro",
                    },
                )
        for cat, (tp, det, gt) in counted.by_category.items():
            p, r, f = counted.prf(tp, det, gt)
            row = rows.setdefault(names.get(cat, str(cat)), {"count": gt_per_category.get(cat, 0)})
            row.update({"precision": p, "recall": r, "f1": f})
        by_image = counted.by_image
    image_ids = data.image_ids
    stats = {}
    if set(STAT_KEYS) & set(keys) and pr_curve:
        stats["pr_curve"] = pr_curve  # for the HTML report's PR curve
    if by_image:
        stats["matching"] = {
            "true_positives": [by_image.get(i, (0, 0, 0))[0] for i in image_ids],
            "predicted": [by_image.get(i, (0, 0, 0))[1] for i in image_ids],
            "ground_truth": [by_image.get(i, (0, 0, 0))[2] for i in image_ids],
        }
    ordered = {k: metrics[k] for k in keys if k in metrics}
    sigs["failure_rate"] = signature(
        "failure-rate",
        {"failed": "fp-or-missed", "match": f"cocoeval-greedy-iou>={iou:g}", "score": f">={score_threshold:g}",
         "types": ",".join(DETECTION_TYPES)},
    )  # fmt: skip
    return Result(
        metrics=ordered,
        per_sample={"ids": [str(i) for i in image_ids]},
        signature=sigs,
        counts=data.counts,
        inputs=data.inputs,
        options={"input": "coco-detection", "iou": iou, "score_threshold": score_threshold, "metrics": keys},
        breakdown={"category": dict(sorted(rows.items()))} if rows else {},
        stats=stats,
        estimators=_coco_estimators(data, [k for k in STAT_KEYS if k in ordered]),
        warnings=data.warnings,
        environment={"faster-coco-eval": package_version("faster-coco-eval")},
        error_types=detection_error_types(image_ids, counted.errors),
        # a part's images, their detections and ground truth: the merge runs COCOeval on all of them
        evidence={"data": lambda: {"detections": data.detections, "ground_truth": data.ground_truth}},
    )


def _coco_estimators(data, wanted: list[str]) -> dict[str, Any]:
    """Bootstrap estimators of the COCO stats: images resampled, COCOeval's per-image matching done once
    (lazily, on the first resample) and accumulate/summarize recomputed with image weights."""
    if not wanted:
        return {}
    state: dict[str, Any] = {}

    def stats_for(weights) -> np.ndarray:
        if "evidence" not in state:
            from vlmeval.metrics.coco_resample import coco_evidence

            state["evidence"] = coco_evidence(data.detections, data.ground_truth)
            # the report's samples are the images in file order; COCOeval's are sorted by id
            order = {i: k for k, i in enumerate(sorted(data.image_ids))}
            state["to_sorted"] = np.array([order[i] for i in data.image_ids])
        key = weights.tobytes()
        if state.get("key") != key:  # the 12 stats come from one computation per resample
            from vlmeval.metrics.coco_resample import coco_stats_weighted

            sorted_weights = np.zeros(len(data.image_ids))
            sorted_weights[state["to_sorted"]] = weights
            state["key"], state["value"] = key, coco_stats_weighted(state["evidence"], sorted_weights)
        return state["value"]

    return {key: (lambda w, k=STAT_KEYS.index(key): stats_for(w)[k]) for key in wanted}


def size(data) -> tuple[str, int]:
    from vlmeval.io.grounding import DetectionData

    return ("images", len(data.image_ids)) if isinstance(data, DetectionData) else ("records", len(data.ids))


def take(data, start: int, stop: int):
    """Records [start, stop); for COCO detection, whole images (their detections and ground truth)."""
    from vlmeval.io.grounding import DetectionData
    from vlmeval.shard import take_rows

    if not isinstance(data, DetectionData):
        part = take_rows(data, start, stop, "ids", "predictions", "gt_boxes", "width", "height", "scores",
                         "answered", "images")  # fmt: skip
        where = data.where
        return replace(part, where=None if where is None else (lambda i: where(i + start)))
    images = data.ground_truth["images"][start:stop]
    kept = {image["id"] for image in images}
    truth = {**data.ground_truth, "images": images,
             "annotations": [a for a in data.ground_truth["annotations"] if a["image_id"] in kept]}  # fmt: skip
    detections = [d for d in data.detections if d["image_id"] in kept]
    return replace(data, detections=detections, ground_truth=truth, image_ids=data.image_ids[start:stop])


def merge(parts: list) -> Result:
    """Records: the metrics from the parts' per-sample IoUs, hits and matching counts. COCO detection: COCOeval
    on all the parts' images (their detections and ground truth), as one run evaluates them: its C++
    accumulate takes no per-image results from outside, and vlmeval's own accumulate (the intervals') equals
    it to 1e-16, not bit for bit."""
    from vlmeval import shard

    options = parts[0].options
    if options.get("input") == "coco-detection":
        from vlmeval.io.grounding import DetectionData

        found = shard.evidence(parts, "data")
        truth = dict(found[0]["ground_truth"])
        for name in ("images", "annotations"):
            truth[name] = [x for f in found for x in f["ground_truth"][name]]
        data = DetectionData([d for f in found for d in f["detections"]], truth, [im["id"] for im in truth["images"]],
                             list(parts[0].inputs), shard.loader_counts(parts), shard.loader_warnings(parts))  # fmt: skip
        return evaluate_detection(data, options["metrics"], iou=options["iou"], score_threshold=options["score_threshold"])
    return _merge_records(parts)


def _merge_records(parts: list) -> Result:
    from vlmeval import shard
    from vlmeval.metrics.boxes import Matching

    result = shard.base_result(parts, TASK)
    iou, box_format = result.options["iou"], result.options["box_format"]
    rows = shard.joined_columns(parts, "rows")
    ious, rated, center = (np.asarray(rows[k], dtype=kind) for k, kind in (("iou", float), ("rated", bool), ("center", bool)))
    denominator = max(int(rated.sum()), 1)
    computed: dict[str, float] = {
        "mean_iou": float(ious[rated].sum() / denominator),
        acc_key(iou): float((ious >= iou)[rated].sum() / denominator),
        "center_acc": float(center[rated].sum() / denominator),
        "parse_failures": shard.summed(parts, "parse_failures"),
    }
    if "matching" in parts[0].stats:
        table = {k: shard.per_stat(parts, "matching", k) for k in ("true_positives", "predicted", "ground_truth")}
        matching = Matching(*(np.asarray(table[k], dtype=np.int64) for k in table), np.asarray(rows["matched_iou"]))
        computed.update(zip(MATCHING, matching.precision_recall_f1()))
        tp = int(matching.true_positives.sum())
        computed["matched_iou"] = float(matching.matched_iou.sum() / tp) if tp else 0.0
        result.stats["matching"] = table
    result.metrics = {k: computed[k] for k in parts[0].metrics if k != "failure_rate"}
    found = {k: shard.summed(parts, k) for k in ("parse_failures", "extra_boxes", "swapped_corners",
                                                 "clipped_boxes", "degenerate_boxes", "empty_prediction")}  # fmt: skip
    result.counts.update(found)
    if box_format == "auto":
        result.counts["box_format_guessed"] = True
    result.warnings += _parse_warnings(box_format, found["parse_failures"], len(ious))
    result.warnings += _fix_warnings(found["swapped_corners"], found["clipped_boxes"], found["degenerate_boxes"])
    sweep = _sweep(ious, rated)
    result.breakdown = {"iou_threshold": sweep} if sweep else {}
    return result


TASK = Task(
    name="grounding",
    help="IoU, acc@T, centre accuracy, box precision/recall/F1 from boxes in any model's frame; COCO mAP for detection.",
    metrics=METRICS,
    primary=("acc@0.5", "AP", "f1", "mean_iou"),
    options=OPTIONS,
    load=load,
    evaluate=evaluate,
    available=available,
    error_types=ERROR_TYPES,
    shard=Sharding(size, take, merge),
)
