"""Hostile cases particular to `vlmeval grounding`: --refs, image sizes from headers (missing, FIFO,
decompression bomb, corrupt), option ranges, scores, and the COCO detection pair."""

from __future__ import annotations

import copy

from tests.hostile import inputs
from tests.hostile.harness import Case, Fifo, Fixture, Folder, Symlink

RECORDS = inputs.grounding_records()
PREDS = inputs.grounding_preds()
REFS = inputs.grounding_refs()
PAIR = {"p.jsonl": inputs.jsonl(PREDS), "refs.jsonl": inputs.jsonl(REFS)}
SELF = {"p.jsonl": inputs.jsonl(RECORDS)}
PHRASE = {"p.jsonl": inputs.jsonl(inputs.phrase_records())}
DETS, INSTANCES = inputs.detection()
COCO = {"dets.json": inputs.dumps(DETS), "inst.json": inputs.dumps(INSTANCES)}
JPG = "grounding/images/000000000802.jpg"


def gr(*args: str) -> tuple[str, ...]:
    return ("grounding", *args, "--out", "r.json")


def _sized(image: str) -> dict:
    """One record in fractions (norm1), so its size must come from ``image``'s header; the image lives in imgs/."""
    return {"p.jsonl": inputs.jsonl([{"id": "a", "prediction": "[0.1, 0.1, 0.5, 0.5]", "gt_boxes": [[10, 10, 60, 60]],
                                      "image": image}])}  # fmt: skip


NORM1 = ("p.jsonl", "--box-format", "norm1", "--images", "imgs")


def _dets(index: int, **changes) -> str:
    out = copy.deepcopy(DETS)
    out[index].update(changes)
    return inputs.dumps(out)


def _without(index: int, key: str) -> str:
    out = copy.deepcopy(DETS)
    out[index].pop(key)
    return inputs.dumps(out)


def _instances(**changes) -> str:
    doc = copy.deepcopy(INSTANCES)
    doc.update(changes)
    return inputs.dumps(doc)


def _phrase(index: int, **changes) -> dict:
    records = copy.deepcopy(inputs.phrase_records())
    records[index].update(changes)
    return {"p.jsonl": inputs.jsonl(records)}


def _self(index: int, **changes) -> dict:
    records = copy.deepcopy(RECORDS)
    records[index].update(changes)
    return {"p.jsonl": inputs.jsonl(records)}


CASES: list[Case] = [
    Case("grounding-refs-ok", gr("p.jsonl", "--refs", "refs.jsonl"), PAIR, code=0),
    Case("grounding-refs-gt-huge-int", gr("p.jsonl", "--refs", "refs.jsonl"),
         {**PAIR, "refs.jsonl": inputs.jsonl([{**REFS[0], "gt_boxes": [[1, 2, int("9" * 400), 4]]}, *REFS[1:]])},
         err=r"refs\.jsonl:1: a ground-truth box has a coordinate that is not a finite number"),
    Case("grounding-refs-width-string", gr("p.jsonl", "--refs", "refs.jsonl"),
         {**PAIR, "refs.jsonl": inputs.jsonl([REFS[0], {**REFS[1], "width": "640"}, *REFS[2:]])},
         err=r"refs\.jsonl:2: 'width' must be a number, got the string"),
    Case("grounding-refs-csv-width-string", gr("p.jsonl", "--refs", "refs.csv"),
         {**PAIR, "refs.csv": inputs.delimited(REFS)}, code=0),
    Case("grounding-out-is-refs", ("grounding", "p.jsonl", "--refs", "refs.jsonl", "--out", "refs.jsonl"), PAIR,
         out="refs.jsonl", err=r"(?i)(input|same file)", tag="out-is-input"),
    Case("grounding-out-is-image", ("grounding", *NORM1, "--out", "imgs/a.jpg"),
         {**_sized("a.jpg"), "imgs/a.jpg": Fixture(JPG)}, out="imgs/a.jpg", err=r"(?i)(input|same file)",
         tag="out-is-input"),
    # sizes from image headers
    Case("grounding-size-from-jpeg", gr(*NORM1), {**_sized("a.jpg"), "imgs/a.jpg": Fixture(JPG)}, code=0),
    Case("grounding-size-from-fixture-images", gr("p.jsonl", "--box-format", "norm1000", "--images", "imgs"),
         {"p.jsonl": inputs.jsonl(inputs.grounding_noimage_size()), "imgs/000000000802.jpg": Fixture(JPG),
          "imgs/000000117645.jpg": Fixture("grounding/images/000000117645.jpg")}, code=0),
    Case("grounding-size-image-missing", gr(*NORM1), {**_sized("gone.jpg"), "imgs": Folder()},
         err=r"p\.jsonl:1: this box format needs the image size: .*no readable image at imgs/gone\.jpg \(no such file\)"),
    Case("grounding-size-image-fifo", gr(*NORM1), {**_sized("a.jpg"), "imgs/a.jpg": Fifo()},
         err=r"p\.jsonl:1: this box format needs the image size: .*\(not a regular file"),
    Case("grounding-size-image-directory", gr(*NORM1), {**_sized("a.jpg"), "imgs/a.jpg": Folder()},
         err=r"p\.jsonl:1: this box format needs the image size: .*\(a directory\)"),
    # --images is checked as a folder first, even where no size is needed
    Case("grounding-images-folder-missing", gr("p.jsonl", "--images", "nosuch"), _self(1),
         err=r"--images nosuch: no such folder"),
    Case("grounding-images-is-a-file", gr("p.jsonl", "--images", "p.jsonl"), _self(1),
         err=r"--images p\.jsonl: not a directory"),
    Case("grounding-size-image-symlink-loop", gr(*NORM1), {**_sized("a.jpg"), "imgs/a.jpg": Symlink("a.jpg")},
         err=r"p\.jsonl:1: this box format needs the image size"),
    Case("grounding-size-image-corrupt", gr(*NORM1), {**_sized("a.jpg"), "imgs/a.jpg": b"\xff\xd8\xff garbage"},
         err=r"p\.jsonl:1: this box format needs the image size"),
    Case("grounding-size-image-not-an-image", gr(*NORM1), {**_sized("a.jpg"), "imgs/a.jpg": "hello"},
         err=r"p\.jsonl:1: this box format needs the image size"),
    Case("grounding-size-decompression-bomb", gr(*NORM1),
         {**_sized("big.png"), "imgs/big.png": inputs.png_header(100_000, 100_000)}, code=0),
    Case("grounding-size-png", gr(*NORM1), {**_sized("a.png"), "imgs/a.png": inputs.png(64, 48)}, code=0),
    Case("grounding-size-no-image-field", gr("p.jsonl", "--box-format", "norm1"),
         {"p.jsonl": inputs.jsonl([{"id": "a", "prediction": "[0.1, 0.1, 0.5, 0.5]", "gt_boxes": [[1, 1, 5, 5]]}])},
         err=r"p\.jsonl:1: this box format needs the image size: no 'width'/'height' and no image"),
    Case("grounding-size-zero-width", gr("p.jsonl", "--box-format", "norm1"), _self(1, width=0),
         err=r"p\.jsonl:2: 'width' must be positive, in pixels up to 2147483647, got 0"),
    Case("grounding-size-past-any-image", gr("p.jsonl", "--box-format", "qwen2.5-vl"), _self(1, width=1e200, height=1e200),
         err=r"p\.jsonl:2: 'width' must be positive, in pixels up to"),
    # predictions as boxes, however broken
    Case("grounding-pred-boxes-nan", gr("p.jsonl"), _self(1, prediction=[[float("nan"), 1, 2, 3]]), code=0),
    Case("grounding-pred-boxes-huge", gr("p.jsonl"), _self(1, prediction=[[0, 0, 1e308, 1e308]]), code=0),
    Case("grounding-pred-many-boxes", gr("p.jsonl"), _self(1, prediction=[[i, i, i + 5, i + 5] for i in range(3000)]),
         code=0),
    Case("grounding-pred-nested-junk", gr("p.jsonl"), _self(1, prediction=[["a", None, {}, []]]), code=0),
    Case("grounding-pred-empty", gr("p.jsonl"), _self(1, prediction=""), code=0),
    Case("grounding-pred-null", gr("p.jsonl"), _self(1, prediction=None), err=r"p\.jsonl:2: 'prediction' is null"),
    Case("grounding-gt-area-past-float", gr("p.jsonl"), _self(1, gt_boxes=[[0, 0, 1e308, 1e308]]),
         err=r"p\.jsonl:2: ground-truth box .* is too large: its area is past the float range"),
    # a predicted box that large is clipped to the image (or, without a size, degenerate): no numpy warnings
    Case("grounding-pred-area-past-float", gr("p.jsonl"), _self(1, prediction="[0, 0, 1e308, 1e308]"), code=0,
         err=r"^(?!(?s:.*)RuntimeWarning)"),
    Case("grounding-gt-empty", gr("p.jsonl"), _self(1, gt_boxes=[]), code=0),
    Case("grounding-gt-flat-box", gr("p.jsonl"), _self(1, gt_boxes=[1, 2, 30, 40]), code=0),
    # option values
    # NaN is refused, but in typer's box ("Input should be less than or equal to 1")
    Case("grounding-iou-nan", gr("p.jsonl", "--iou", "nan"), SELF, err=r"--iou", tag="usage-box"),
    Case("grounding-iou-inf", gr("p.jsonl", "--iou", "inf"), SELF, err=r"--iou", tag="usage-box"),
    Case("grounding-iou-zero", gr("p.jsonl", "--iou", "0"), SELF, err=r"--iou", tag="option-range"),
    Case("grounding-iou-above-one", gr("p.jsonl", "--iou", "2"), SELF, err=r"--iou", tag="usage-box"),
    Case("grounding-iou-negative", gr("p.jsonl", "--iou", "-0.5"), SELF, err=r"--iou", tag="usage-box"),
    Case("grounding-iou-one", gr("p.jsonl", "--iou", "1"), SELF, code=0),
    Case("grounding-score-threshold-nan", gr("p.jsonl", "--score-threshold", "nan"), PHRASE, err=r"--score-threshold",
         tag="option-nonfinite"),
    Case("grounding-score-threshold-inf", gr("p.jsonl", "--score-threshold", "inf"), PHRASE, err=r"--score-threshold",
         tag="option-nonfinite"),
    Case("grounding-score-threshold-neg-inf", gr("p.jsonl", "--score-threshold", "-inf"), PHRASE,
         err=r"--score-threshold", tag="option-nonfinite"),
    Case("grounding-score-threshold-negative", gr("p.jsonl", "--score-threshold", "-1"), PHRASE, code=0),
    Case("grounding-pixels-contradictory", gr("p.jsonl", "--box-format", "qwen2.5-vl", "--min-pixels", "1000000",
                                              "--max-pixels", "10"), SELF, err=r"--(min|max)-pixels",
         tag="option-range"),
    Case("grounding-patch-factor-zero", gr("p.jsonl", "--box-format", "qwen2.5-vl", "--patch-factor", "0"), SELF,
         err=r"--patch-factor", tag="usage-box"),
    Case("grounding-max-pixels-huge", gr("p.jsonl", "--box-format", "qwen2.5-vl", "--max-pixels", "9" * 30), SELF,
         code=(0, 2)),
    Case("grounding-box-format-unknown", gr("p.jsonl", "--box-format", "yolo"), SELF, err=r"--box-format",
         tag="usage-box"),
    # scores (phrase grounding)
    Case("grounding-scores-nan-with-threshold", gr("p.jsonl", "--score-threshold", "0.5"),
         _phrase(1, scores=[float("nan")] * len(inputs.phrase_records()[1]["prediction"])),
         err=r"p\.jsonl:2: 'scores' must be finite numbers, found nan"),
    Case("grounding-scores-nan-without-threshold", gr("p.jsonl"),
         _phrase(1, scores=[float("nan")] * len(inputs.phrase_records()[1]["prediction"])),
         err=r"p\.jsonl:2: 'scores' must be finite numbers"),
    Case("grounding-scores-huge-int", gr("p.jsonl"), _phrase(1, scores=[int("9" * 400)]),
         err=r"p\.jsonl:2: 'scores' must be finite numbers"),
    Case("grounding-scores-wrong-length", gr("p.jsonl", "--score-threshold", "0.5"), _phrase(1, scores=[0.9]),
         err=r"p\.jsonl:2: .*scores", tag="scores-length"),
    # COCO detection
    Case("detection-ok", gr("dets.json", "--refs", "inst.json"), COCO, code=0),
    Case("detection-without-refs", gr("dets.json"), COCO, err=r"COCO detection results need --refs"),
    Case("detection-score-missing", gr("dets.json", "--refs", "inst.json"), {**COCO, "dets.json": _without(1, "score")},
         err=r"dets\.json:\d+: detection lacks 'score'"),
    Case("detection-score-nan", gr("dets.json", "--refs", "inst.json"), {**COCO, "dets.json": _dets(1, score=float("nan"))},
         err=r"dets\.json:\d+: 'score' must be a finite number"),
    Case("detection-score-string", gr("dets.json", "--refs", "inst.json"), {**COCO, "dets.json": _dets(1, score="0.9")},
         err=r"dets\.json:\d+: 'score' must be a finite number"),
    Case("detection-score-huge-int", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "dets.json": _dets(1, score=int("9" * 400))}, err=r"dets\.json:\d+: 'score' must be a finite number"),
    Case("detection-bbox-three", gr("dets.json", "--refs", "inst.json"), {**COCO, "dets.json": _dets(1, bbox=[1, 2, 3])},
         err=r"dets\.json:\d+: 'bbox' must be \[x, y, width, height\]"),
    Case("detection-bbox-strings", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "dets.json": _dets(1, bbox=["1", "2", "3", "4"])}, err=r"dets\.json:\d+: 'bbox' must be"),
    Case("detection-bbox-nan-skipped", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "dets.json": _dets(1, bbox=[float("nan"), 1, 2, 3])}, code=0, err=r"skipped"),
    Case("detection-bbox-huge-skipped", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "dets.json": _dets(1, bbox=[1, 1, int("9" * 400), 3])}, code=0, err=r"skipped"),
    Case("detection-bbox-negative-kept", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "dets.json": _dets(1, bbox=[1, 1, -5, 3])}, code=0, err=r"negative width or height: kept as pycocotools"),
    Case("detection-unknown-image", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "dets.json": _dets(1, image_id=-42)}, code=0, err=r"images not in inst\.json: skipped"),
    Case("detection-unknown-category", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "dets.json": _dets(1, category_id=9999)}, code=0, err=r"categories not in inst\.json: skipped"),
    Case("detection-instances-no-categories", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "inst.json": _instances(categories=None)},
         err=r"inst\.json: a COCO instances file needs 'images', 'annotations' and 'categories' lists"),
    Case("detection-instances-bad-bbox", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "inst.json": _instances(annotations=[{**INSTANCES["annotations"][0], "bbox": [1, 2]}])},
         err=r"inst\.json:\d+: 'bbox' must be \[x, y, width, height\]"),
    # pycocotools would count a repeated category twice, evaluate the last of two annotations with one id
    # twice, and read iscrowd "0" as ignored yet not crowd
    Case("detection-instances-duplicate-category", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "inst.json": _instances(categories=INSTANCES["categories"] + INSTANCES["categories"][:1])},
         err=r"inst\.json:\d+: duplicate category id"),
    Case("detection-instances-duplicate-annotation-id", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "inst.json": _instances(annotations=INSTANCES["annotations"] + INSTANCES["annotations"][:1])},
         err=r"inst\.json:\d+: duplicate annotation id"),
    Case("detection-instances-duplicate-image", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "inst.json": _instances(images=INSTANCES["images"] + INSTANCES["images"][:1])},
         err=r"inst\.json:\d+: duplicate image id"),
    Case("detection-instances-annotation-id-string", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "inst.json": _instances(annotations=[{**INSTANCES["annotations"][0], "id": "7"}])},
         err=r"inst\.json:\d+: .*an annotation id must be an integer, as COCO's are, got '7'"),
    Case("detection-instances-iscrowd-string", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "inst.json": _instances(annotations=[{**INSTANCES["annotations"][0], "iscrowd": "0"}])},
         err=r"inst\.json:\d+: 'iscrowd' must be 0 or 1, got '0'"),
    Case("detection-instances-deep", gr("dets.json", "--refs", "inst.json"), {**COCO, "inst.json": inputs.deep()},
         err=r"inst\.json: .*nested too deeply"),
    Case("detection-instances-missing", gr("dets.json", "--refs", "nope.json"), {"dets.json": COCO["dets.json"]},
         err=r"nope\.json: no such file"),
    Case("detection-instances-fifo", gr("dets.json", "--refs", "inst.json"), {**COCO, "inst.json": Fifo()},
         err=r"(?i)inst\.json: .*named pipe"),
    Case("detection-instances-gz", gr("dets.json", "--refs", "inst.json.gz"),
         {**COCO, "inst.json.gz": inputs.gz(COCO["inst.json"])}, code=0),
    Case("detection-out-is-instances", ("grounding", "dets.json", "--refs", "inst.json", "--out", "inst.json"), COCO,
         out="inst.json", err=r"(?i)(input|same file)", tag="out-is-input"),
    Case("detection-score-threshold-nan", gr("dets.json", "--refs", "inst.json", "--score-threshold", "nan"), COCO,
         err=r"--score-threshold", tag="option-nonfinite"),
    Case("detection-iou-nan", gr("dets.json", "--refs", "inst.json", "--iou", "nan"), COCO, err=r"--iou",
         tag="usage-box"),
    Case("detection-category-name-markup", gr("dets.json", "--refs", "inst.json"),
         {**COCO, "inst.json": _instances(categories=[{**c, "name": f"[/{c['name']}]"} for c in INSTANCES["categories"]])},
         code=0, stdout=r"\[/", tag="markup"),
]  # fmt: skip
