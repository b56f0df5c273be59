"""Grounding speed: COCO mAP against pycocotools in one process, and the referring-expression path at scale.

- mAP: a synthetic COCO-style ground truth (--images images, 1-15 objects each, 80 categories) with
  jittered, missed, duplicated and false-positive detections; pycocotools (COCO, loadRes, evaluate,
  accumulate, summarize) vs vlmeval (faster-coco-eval behind ``coco_map``); the 12 stats must be equal.
- Referring: --samples samples with numeric predicted boxes through ``evaluate_grounding`` (parsing,
  frames, fixes, IoU, acc@0.5, centre accuracy, one-to-one P/R/F1, the sweep), and --samples free-text
  predictions (mixed model formats) through the box parser.

    python benchmarks/grounding.py [--images 5000] [--samples 1000000]
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _timing import timed  # noqa: E402  (benchmarks/ is the script directory)


def synthetic_coco(n_images: int, rng: random.Random):
    images, annotations, detections = [], [], []
    categories = [{"id": c, "name": f"class{c}"} for c in range(1, 81)]
    ann_id = 1
    for image_id in range(1, n_images + 1):
        w, h = rng.choice([(640, 480), (640, 427), (500, 375), (480, 640)])
        images.append({"id": image_id, "width": w, "height": h, "file_name": f"{image_id:012d}.jpg"})
        for _ in range(rng.randint(1, 15)):
            bw, bh = rng.uniform(4, w / 2), rng.uniform(4, h / 2)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            cat = rng.randint(1, 80)
            crowd = int(rng.random() < 0.01)
            annotations.append({"id": ann_id, "image_id": image_id, "category_id": cat, "bbox": [x, y, bw, bh],
                                "area": bw * bh, "iscrowd": crowd})  # fmt: skip
            ann_id += 1
            if rng.random() < 0.85:
                j = rng.choice([0.03, 0.1, 0.3])
                box = [
                    x + rng.gauss(0, j * bw),
                    y + rng.gauss(0, j * bh),
                    bw * (1 + rng.gauss(0, j)),
                    bh * (1 + rng.gauss(0, j)),
                ]
                box[2], box[3] = max(box[2], 1.0), max(box[3], 1.0)
                detections.append(
                    {"image_id": image_id, "category_id": cat, "bbox": box, "score": rng.random()}
                )
        for _ in range(rng.randint(0, 10)):
            detections.append({"image_id": image_id, "category_id": rng.randint(1, 80), "score": rng.random() * 0.6,
                               "bbox": [rng.uniform(0, w - 40), rng.uniform(0, h - 40), rng.uniform(5, 100), rng.uniform(5, 100)]})  # fmt: skip
    return {"images": images, "annotations": annotations, "categories": categories}, detections


def bench_map(n_images: int) -> None:
    from tests.reference import pycocotools_eval
    from vlmeval.metrics.detection import coco_map, threshold_counts

    gt, dets = synthetic_coco(n_images, random.Random(3))
    # pycocotools writes into its inputs: each side gets its own copy, made outside the timing
    ref_gt, ref_dets, ours_gt = copy.deepcopy(gt), copy.deepcopy(dets), copy.deepcopy(gt)
    t_ref, ref_stats = timed(lambda: pycocotools_eval(ref_gt, ref_dets, copy_inputs=False).stats)
    t_ours, ours = timed(lambda: coco_map(dets, ours_gt))
    diff = max(abs(a - b) for a, b in zip(ref_stats, ours.stats.values()))
    print(f"COCO mAP  {n_images} images, {len(gt['annotations'])} objects, {len(dets)} detections")
    print(
        f"  pycocotools {t_ref:8.2f} s   vlmeval {t_ours:6.2f} s   ratio {t_ref / t_ours:5.1f}x   max |diff| {diff:.1e}"
    )
    t_prf, _ = timed(lambda: threshold_counts(dets, gt, 0.5, 0.5))
    print(f"  + P/R/F1 at score 0.5 (the CLI adds it to a COCO run): {t_prf:.2f} s")


def bench_referring(n: int) -> None:
    from vlmeval.io.box_text import extract
    from vlmeval.io.grounding import GroundingData
    from vlmeval.tasks.grounding import available, evaluate_grounding

    rng = np.random.default_rng(5)
    w = rng.choice([640.0, 500.0, 1024.0], n)
    h = rng.choice([480.0, 375.0, 768.0], n)
    x1, y1 = rng.uniform(0, 0.6, n) * w, rng.uniform(0, 0.6, n) * h
    gt = np.stack([x1, y1, x1 + rng.uniform(0.05, 0.4, n) * w, y1 + rng.uniform(0.05, 0.4, n) * h], axis=1)
    pred = gt + rng.normal(0, 8, gt.shape)
    predictions = pred.round(1).tolist()
    data = GroundingData(
        ids=[str(i) for i in range(n)], predictions=predictions, gt_boxes=list(gt.reshape(n, 1, 4)),
        width=w, height=h, scores=[None] * n, answered=[True] * n, inputs=[], counts={"records": n, "scored": n, "skipped": {}},
    )  # fmt: skip
    keys = available({"iou": 0.5}, data)
    t, report = timed(lambda: evaluate_grounding(data, keys, box_format="xyxy"))
    print(
        f"Referring {n:,} samples, numeric boxes: evaluate_grounding {t:.2f} s  (acc@0.5 {report.metrics['acc@0.5']:.4f})"
    )

    texts = []
    templates = [
        lambda b: f"<ref>the object</ref><box>[[{b[0]}, {b[1]}, {b[2]}, {b[3]}]]</box>",
        lambda b: (
            f"<|object_ref_start|>it<|object_ref_end|><|box_start|>({b[0]},{b[1]}),({b[2]},{b[3]})<|box_end|>"
        ),
        lambda b: (
            f'```json\n[\n\t{{"bbox_2d": [{b[0]}, {b[1]}, {b[2]}, {b[3]}], "label": "the object"}}\n]\n```'
        ),
        lambda b: f"The object is located at [{b[0]}, {b[1]}, {b[2]}, {b[3]}] in the image.",
    ]
    ints = (pred.clip(0, 999)).astype(int).tolist()
    for i in range(n):
        texts.append(templates[i % 4](ints[i]))
    t, boxes = timed(lambda: [extract(s, "norm1000") for s in texts])
    assert all(len(b) == 1 for b in boxes)
    print(f"Parsing   {n:,} free-text predictions (4 model formats): {t:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=1_000_000)
    args = parser.parse_args()
    bench_map(args.images)
    bench_referring(args.samples)


if __name__ == "__main__":
    main()
