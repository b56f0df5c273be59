"""Grounding inputs: records ``{"id", "prediction", "gt_boxes", "image"?, "width"?, "height"?, "scores"?}``
(or predictions and ``--refs`` records joined on id), and the COCO detection pair (results
``[{"image_id", "category_id", "bbox", "score"}]`` with ``--refs instances_*.json``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from vlmeval.errors import InputError, counted
from vlmeval.io.fields import number_field, optional_str, record_id
from vlmeval.io.images import image_size, images_folder, resolve_image, why_unreadable
from vlmeval.io.join import first_repeat, index_ids, join_ids, overridden
from vlmeval.io.readers import RecordFile, read_records


@dataclass
class GroundingData:
    ids: list[str]
    predictions: list[Any]  # free text, or a list of numbers / of boxes
    gt_boxes: list[np.ndarray]  # [m, 4] pixel xyxy per sample
    width: np.ndarray  # NaN where unknown
    height: np.ndarray
    scores: list[list[float] | None]
    answered: list[bool]
    inputs: list[dict[str, Any]]
    counts: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    images: list[str | None] = field(default_factory=list)  # resolved image path per sample (may not exist)
    # FILE:LINE of sample i's prediction record; found only when a message needs it (a JSON file's lines are
    # located lazily)
    where: Callable[[int], str] | None = None


def is_coco_detection(rf: RecordFile) -> bool:
    first = rf.records[0] if rf.records else {}
    return rf.format == "json" and {"image_id", "category_id", "bbox"} <= set(first)


def _gt_boxes(rf: RecordFile, i: int, record: dict) -> np.ndarray:
    value = record.get("gt_boxes")
    if value is None:
        raise rf.error(i, "missing field 'gt_boxes' (a list of [x1, y1, x2, y2] pixel boxes)")
    if isinstance(value, str) and rf.format in ("csv", "tsv"):
        import json

        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            raise rf.error(i, "'gt_boxes' does not parse as a JSON list (or nests too deep)") from None
    if (
        isinstance(value, (list, tuple))
        and len(value) == 4
        and all(isinstance(v, (int, float)) for v in value)
    ):
        value = [value]  # one box written flat
    if not isinstance(value, (list, tuple)):
        raise rf.error(i, "'gt_boxes' must be a list of [x1, y1, x2, y2] boxes")
    boxes = []
    for box in value:
        if not isinstance(box, (list, tuple)) or len(box) != 4:
            raise rf.error(i, "each ground-truth box must be [x1, y1, x2, y2]")
        if not all(_finite(v) for v in box):
            raise rf.error(i, "a ground-truth box has a coordinate that is not a finite number")
        x1, y1, x2, y2 = (float(v) for v in box)
        if x2 < x1 or y2 < y1:
            raise rf.error(
                i, f"ground-truth box {list(box)} has x2 < x1 or y2 < y1 (boxes are [x1, y1, x2, y2])"
            )
        if not math.isfinite((x2 - x1) * (y2 - y1)):  # 1e308-wide: its area, and so any IoU, has no value
            raise rf.error(i, f"ground-truth box {list(box)} is too large: its area is past the float range")
        boxes.append((x1, y1, x2, y2))
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)


def _scores(rf: RecordFile, i: int, record: dict) -> list[float] | None:
    value = record.get("scores")
    if value is None:
        return None
    if isinstance(value, str) and rf.format in ("csv", "tsv"):
        import json

        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise rf.error(i, "'scores' does not parse as a JSON list") from None
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        raise rf.error(i, "'scores' must be a list of numbers, one per predicted box")
    # one rule with COCO results ('score' must be finite): a NaN would drop its box under any threshold
    for position, v in enumerate(value, start=1):
        if not _finite(v):
            shown = v if isinstance(v, float) else "an integer too large for a float"
            raise rf.error(i, f"'scores' must be finite numbers, found {shown} (item {position})")
    return [float(v) for v in value]


def _prediction(rf: RecordFile, i: int, record: dict):
    if "prediction" not in record:
        raise rf.error(i, "missing field 'prediction' (free text, or a list of boxes)")
    value = record["prediction"]
    if value is None:  # as every task reads a null prediction: no output is not an empty output
        raise rf.error(i, "'prediction' is null (a prediction without boxes is the empty string \"\" or [])")
    if not isinstance(value, (str, list, tuple)):
        raise rf.error(i, "'prediction' must be text or a list of boxes")
    return value


def load_grounding(
    predictions: str | Path | RecordFile,
    references: str | Path | None = None,
    *,
    images_dir: str | Path | None = None,
    need_size: bool = False,
    allow_missing: bool = False,
) -> GroundingData:
    pred_file = predictions if isinstance(predictions, RecordFile) else read_records(predictions)
    if not pred_file.records:
        raise InputError("no prediction records found", pred_file.path)
    images_dir = images_folder(images_dir)
    ids = [record_id(pred_file, i, rec) for i, rec in enumerate(pred_file.records)]
    pred_index = index_ids(pred_file, ids, "prediction")
    preds = [_prediction(pred_file, i, rec) for i, rec in enumerate(pred_file.records)]
    inputs = [pred_file.input_entry()]
    if references is None:
        ref_file, ref_records, ref_ids = pred_file, pred_file.records, ids
        joined = None
        order = list(range(len(ids)))
        pred_pos = order
    else:
        ref_file = read_records(references)
        if not ref_file.records:
            raise InputError("no ground-truth records found", ref_file.path)
        ref_records = ref_file.records
        ref_ids = [record_id(ref_file, i, rec) for i, rec in enumerate(ref_records)]
        ref_index = index_ids(ref_file, ref_ids, "reference")
        joined = join_ids(
            pred_index,
            ref_index,
            pred_file=pred_file,
            ref_file=ref_file,
            allow_missing=allow_missing,
            missing_as="no box (IoU 0)",
        )
        order, pred_pos = joined.ref_pos, joined.pred_pos
        inputs.append(ref_file.input_entry())

    gt, width, height, scores, image_paths = [], [], [], [], []
    for r, p in zip(order, pred_pos):
        rec = ref_records[r]
        name, base = optional_str(ref_file, r, rec, "image"), ref_file.path.parent
        if name is None and p >= 0:
            name, base = optional_str(pred_file, p, pred_file.records[p], "image"), pred_file.path.parent
        image_path = resolve_image(name, images_dir, base)
        image_paths.append(str(image_path) if image_path is not None else None)
        gt.append(_gt_boxes(ref_file, r, rec))
        w = number_field(ref_file, r, rec, "width")
        h = number_field(ref_file, r, rec, "height")
        if p >= 0 and (w is None or h is None):  # the prediction file may carry the size too
            w = w if w is not None else number_field(pred_file, p, pred_file.records[p], "width")
            h = h if h is not None else number_field(pred_file, p, pred_file.records[p], "height")
        if (w is None or h is None) and need_size:
            path = image_path
            size = image_size(path) if path is not None else None
            if size is None:
                why = "" if path is None else why_unreadable(Path(path)) or "not an image Pillow can read"
                where = f"no 'width'/'height' and {'no image' if path is None else f'no readable image at {path} ({why})'}"
                raise ref_file.error(
                    r,
                    f"this box format needs the image size: {where} (pass --images DIR or add width/height)",
                )
            w, h = size
        for name, side in (("width", w), ("height", h)):
            if side is not None and not 0 < side <= MAX_SIDE:  # past it, smart_resize overflowed (1e200)
                raise ref_file.error(r, f"'{name}' must be positive, in pixels up to {MAX_SIDE}, got {side:g}")
        width.append(np.nan if w is None else w)
        height.append(np.nan if h is None else h)
        scores.append(_scores(pred_file, p, pred_file.records[p]) if p >= 0 else None)

    counts: dict[str, Any] = {"records": len(ids), "scored": len(order), "skipped": {}}
    warnings: list[str] = []
    if joined is not None:
        counts["skipped"] = joined.skipped()
        counts.update(joined.counts())
        warnings = [*joined.warnings("predictions"), *overridden(pred_file, "gt_boxes", references, "--refs")]
    empty_gt = sum(1 for g in gt if len(g) == 0)
    if empty_gt:
        counts["no_gt_box"] = empty_gt
    if gt and empty_gt == len(gt):
        warnings = [*warnings, "no sample has a ground-truth box: mean_iou, acc and center_acc average over no "
                               "sample (reported as 0); precision/recall/F1 count every predicted box as a false positive"]  # fmt: skip
    return GroundingData(
        ids=[ref_ids[r] for r in order],
        predictions=[preds[p] if p >= 0 else "" for p in pred_pos],
        gt_boxes=gt,
        width=np.array(width, dtype=np.float64),
        height=np.array(height, dtype=np.float64),
        scores=scores,
        answered=[p >= 0 for p in pred_pos],
        inputs=inputs,
        counts=counts,
        warnings=warnings,
        images=image_paths,
        where=lambda i: pred_file.where(pred_pos[i]) if pred_pos[i] >= 0 else ref_file.where(order[i]),
    )


@dataclass
class DetectionData:
    """COCO detection results, validated, and the COCO instances document they are scored against."""

    detections: list[dict[str, Any]]  # {"image_id", "category_id", "bbox": [x, y, w, h], "score"}
    ground_truth: dict[str, Any]  # the instances document (images, annotations, categories)
    image_ids: list[Any]  # the ground truth's images, in file order
    inputs: list[dict[str, Any]]
    counts: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _unique_ids(gt_file, section: str, ids: list, what: str) -> set:
    """The ids as a set; the second record that repeats one is an error."""
    twice = first_repeat(ids)
    if twice is not None:
        raise gt_file.error((section, twice), f"duplicate {what} id {ids[twice]!r}")
    return set(ids)


MAX_SIDE = 2**31 - 1  # pixels: no image format stores a longer side


def _finite(value) -> bool:
    """A finite number: an int or float (not a bool), or a Parquet decimal."""
    try:
        number = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
        return number and math.isfinite(value)
    except (OverflowError, ValueError):  # an integer past the float range (JSON allows 4300 digits); sNaN
        return False


def load_detection(results: RecordFile, instances: str | Path) -> DetectionData:
    """Validate COCO results against an instances file. Malformed detections are ``FILE:LINE`` errors;
    detections on images or categories the ground truth lacks are skipped and counted (pycocotools
    asserts on the first and silently ignores the second); boxes with a non-finite size are skipped and
    counted; a negative width or height is kept and counted, as pycocotools keeps it (its area w*h, when
    negative, is outside every area range: the detection is ignored but takes one of its image's maxDets
    places); zero-area boxes are kept and counted (pycocotools scores them: they match nothing)."""
    from vlmeval.io.readers import read_json_document

    gt_file = read_json_document(instances)
    doc = gt_file.document
    if not isinstance(doc, dict) or not all(
        isinstance(doc.get(k), list) for k in ("images", "annotations", "categories")
    ):
        raise InputError(
            "a COCO instances file needs 'images', 'annotations' and 'categories' lists", gt_file.path
        )
    def integer_id(value) -> bool:  # COCOeval's C++ (faster-coco-eval) takes integer ids only, as COCO has them
        return isinstance(value, int) and not isinstance(value, bool)

    image_ids = []
    for i, image in enumerate(doc["images"]):
        if not isinstance(image, dict) or "id" not in image:
            raise gt_file.error(("images", i), "each image needs an 'id'")
        if not integer_id(image["id"]):
            raise gt_file.error(("images", i), f"an image id must be an integer, as COCO's are, got {image['id']!r}")
        image_ids.append(image["id"])
    known_images = _unique_ids(gt_file, "images", image_ids, "image")
    known_categories = set()
    for i, category in enumerate(doc["categories"]):
        if not isinstance(category, dict) or "id" not in category:
            raise gt_file.error(("categories", i), "each category needs an 'id'")
        if not integer_id(category["id"]):
            raise gt_file.error(
                ("categories", i), f"a category id must be an integer, as COCO's are, got {category['id']!r}"
            )
        if category["id"] in known_categories:
            # pycocotools keeps such a category twice in the evaluated list: its AP would count twice
            raise gt_file.error(("categories", i), f"duplicate category id {category['id']}")
        known_categories.add(category["id"])
    annotation_ids = []
    for i, ann in enumerate(doc["annotations"]):
        if not isinstance(ann, dict) or not {"id", "image_id", "category_id", "bbox"} <= set(ann):
            raise gt_file.error(
                ("annotations", i), "each annotation needs 'id', 'image_id', 'category_id' and 'bbox'"
            )
        bbox = ann["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(_finite(v) for v in bbox)):
            raise gt_file.error(("annotations", i), "'bbox' must be [x, y, width, height] (finite numbers)")
        if ann["image_id"] not in known_images:
            raise gt_file.error(
                ("annotations", i), f"annotation on image {ann['image_id']!r}, which is not in 'images'"
            )
        if not integer_id(ann["category_id"]):
            raise gt_file.error(
                ("annotations", i), f"a category_id must be an integer, as COCO's are, got {ann['category_id']!r}"
            )
        if ann.get("iscrowd", 0) not in (0, 1):
            # pycocotools reads iscrowd twice, as truth (ignored) and through int() (crowd IoU): "0" is both
            raise gt_file.error(("annotations", i), f"'iscrowd' must be 0 or 1, got {ann['iscrowd']!r}")
        if not integer_id(ann["id"]):  # COCOeval's matching keys on it (faster-coco-eval takes integers only)
            raise gt_file.error(("annotations", i), f"an annotation id must be an integer, as COCO's are, got {ann['id']!r}")
        annotation_ids.append(ann["id"])
        if not _finite(ann.get("area")):
            # COCOeval reads it for the small/medium/large ranges (pycocotools raises KeyError without it)
            raise gt_file.error(
                ("annotations", i), "each annotation needs an 'area' (a number: COCO's is the segment's, not w*h)"
            )
    # pycocotools looks annotations up by id: of two with one id it would evaluate the last one twice
    _unique_ids(gt_file, "annotations", annotation_ids, "annotation")

    detections = []
    unknown_image = unknown_category = bad_size = zero_area = negative_size = 0
    for i, det in enumerate(results.records):
        missing = [k for k in ("image_id", "category_id", "bbox", "score") if k not in det]
        if missing:
            raise results.error(
                i,
                f"detection lacks {', '.join(repr(k) for k in missing)} (COCO results need image_id, category_id, bbox, score)",
            )
        bbox, score = det["bbox"], det["score"]
        if not (
            isinstance(bbox, list)
            and len(bbox) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)
        ):
            raise results.error(i, "'bbox' must be [x, y, width, height]")
        if not _finite(score):
            raise results.error(i, "'score' must be a finite number")
        if det["image_id"] not in known_images:
            unknown_image += 1
            continue
        if det["category_id"] not in known_categories:
            unknown_category += 1
            continue
        if not all(_finite(v) for v in bbox):
            bad_size += 1
            continue
        if bbox[2] == 0 or bbox[3] == 0:
            zero_area += 1
        elif bbox[2] < 0 or bbox[3] < 0:
            negative_size += 1
        detections.append(
            {
                "image_id": det["image_id"],
                "category_id": det["category_id"],
                "bbox": [float(v) for v in bbox],
                "score": float(score),
            }
        )
    skipped = {
        "unknown_image_id": unknown_image,
        "unknown_category": unknown_category,
        "degenerate_box": bad_size,
    }
    counts: dict[str, Any] = {
        "records": len(results.records),
        "scored": len(detections),
        "skipped": {k: v for k, v in skipped.items() if v},
        "images": len(image_ids),
        "zero_area_boxes": zero_area,
        **({"negative_size_boxes": negative_size} if negative_size else {}),
    }
    warnings = []
    if unknown_image:
        warnings.append(f"{unknown_image} detections on images not in {gt_file.path.name}: skipped")
    if unknown_category:
        warnings.append(f"{unknown_category} detections with categories not in {gt_file.path.name}: skipped")
    if bad_size:
        warnings.append(f"{counted(bad_size, 'detection')} with a non-finite width/height: skipped")
    if negative_size:
        warnings.append(
            f"{counted(negative_size, 'detection')} with a negative width or height: kept as pycocotools keeps "
            "them (one negative side: a negative area, ignored but taking one of its image's maxDets places; "
            "both: a positive area, scored as a box that matches nothing)"
        )
    if any(ann["id"] == 0 for ann in doc["annotations"]):
        # COCOeval records a match as the ground truth's id, and its accumulate reads id 0 as no match
        warnings.append(
            f"{gt_file.path.name} has an annotation with id 0: pycocotools (and so AP and AR here, which follow it) "
            "counts a detection matched to it as a false positive (cocoapi#664); number the annotations from 1"
        )
    gt_entry = {**gt_file.input_entry(), "records": len(doc["annotations"])}
    return DetectionData(detections, doc, image_ids, [results.input_entry(), gt_entry], counts, warnings)
