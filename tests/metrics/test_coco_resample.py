"""COCO stats on resampled images (bootstrap intervals of mAP) against pycocotools itself run on the
explicitly resampled dataset: every drawn image copied under a new id (copies in the original order), its
annotations and detections with it. Fixtures: cocoapi's fakebbox100 results on val2014 (with crowd
regions) and COCO-MINI val2017 with synthetic detections (fixtures/README.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import FIXTURES

pytest.importorskip("pycocotools")

from tests.reference import pycocotools_eval  # noqa: E402
from vlmeval.io.grounding import load_detection  # noqa: E402
from vlmeval.io.readers import read_records  # noqa: E402
from vlmeval.metrics.coco_resample import coco_evidence, coco_stats_weighted  # noqa: E402
from vlmeval.metrics.detection import STAT_KEYS, coco_map  # noqa: E402

DET = FIXTURES / "detection"
PAIRS = [
    ("instances_val2014_fakebbox100_results.json", "instances_val2014_100.json"),
    ("instances_val2017_mini_synthetic_results.json", "instances_val2017_mini.json"),
]


def _data(results, instances):
    return load_detection(read_records(DET / results), DET / instances)


def _resampled(gt: dict, dets: list, counts: np.ndarray, image_ids: list) -> tuple[dict, list]:
    """The dataset a resample stands for: image i drawn k times appears k times under new, ordered ids."""
    new_ids = {}
    images = []
    by_id = {im["id"]: im for im in gt["images"]}
    for rank, image_id in enumerate(image_ids):
        for copy in range(int(counts[rank])):
            new = rank * 1000 + copy
            new_ids.setdefault(image_id, []).append(new)
            images.append({**by_id[image_id], "id": new})
    annotations, results = [], []
    for ann in gt["annotations"]:
        for new in new_ids.get(ann["image_id"], []):
            annotations.append({**ann, "image_id": new, "id": len(annotations) + 1})
    for det in dets:
        for new in new_ids.get(det["image_id"], []):
            results.append({**det, "image_id": new})
    return {**gt, "images": images, "annotations": annotations}, results


@pytest.mark.parametrize("results,instances", PAIRS)
def test_unit_weights_equal_cocoeval(results, instances):
    data = _data(results, instances)
    ours = coco_stats_weighted(
        coco_evidence(data.detections, data.ground_truth), np.ones(len(data.image_ids))
    )
    ref = coco_map(
        data.detections, data.ground_truth
    ).stats  # faster-coco-eval, = pycocotools (test_detection)
    assert np.abs(ours - np.array([ref[k] for k in STAT_KEYS])).max() <= 1e-12


@pytest.mark.parametrize("results,instances", PAIRS)
@pytest.mark.parametrize("seed", [0, 1])
def test_weighted_equals_pycocotools_on_the_resampled_dataset(results, instances, seed):
    data = _data(results, instances)
    image_ids = sorted(im["id"] for im in data.ground_truth["images"])
    rng = np.random.default_rng(seed)
    counts = np.bincount(rng.choice(len(image_ids), size=len(image_ids)), minlength=len(image_ids))
    ours = coco_stats_weighted(coco_evidence(data.detections, data.ground_truth), counts)
    gt, dets = _resampled(json.loads((DET / instances).read_text()), data.detections, counts, image_ids)
    expected = pycocotools_eval(gt, dets).stats
    assert np.abs(ours - expected).max() <= 1e-9, list(zip(STAT_KEYS, ours, expected))


def test_cli_bootstrap_gives_map_intervals(cli, tmp_path):
    results, instances = PAIRS[0]
    result = cli(
        "grounding", DET / results, "--refs", DET / instances, "--bootstrap", "200", "--out", "d.json", "-q"
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "d.json").read_text())
    for key in ("AP", "AP50", "AR100", "AP_small"):
        low, high = report["ci"][key]
        assert low <= report["metrics"][key] <= high and low < high
        assert "|ci:pct95-bs200-seed12345|" in report["signature"][key]
