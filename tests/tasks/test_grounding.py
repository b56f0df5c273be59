"""`vlmeval grounding` through the CLI: every box format on the same predictions, image sizes from headers,
defects counted, phrase grounding, COCO detection against pycocotools, bad input."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import FIXTURES, write_jsonl
from tests.metrics.test_boxes import iou_reference

G = FIXTURES / "grounding"
DET = FIXTURES / "detection"
REFS = G / "refs.jsonl"
IMAGES = G / "images"


def _report(tmp_path, name="r.json"):
    return json.loads((tmp_path / name).read_text())


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _run(cli, tmp_path, preds, fmt, *extra):
    result = cli(
        "grounding",
        preds,
        "--refs",
        REFS,
        "--box-format",
        fmt,
        "--images",
        IMAGES,
        "--out",
        "r.json",
        "--quiet",
        *extra,
    )
    assert result.exit_code == 0, result.stderr
    return _report(tmp_path)


def test_xyxy_equals_a_plain_python_evaluation(cli, tmp_path):
    report = _run(cli, tmp_path, G / "preds_xyxy.jsonl", "xyxy")
    from PIL import Image

    refs = {r["id"]: r for r in _rows(REFS)}
    ious, failures, extra = [], 0, 0
    for row in _rows(G / "preds_xyxy.jsonl"):
        numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", row["prediction"])]
        boxes = [numbers[i : i + 4] for i in range(0, len(numbers) - len(numbers) % 4, 4)]
        gt = refs[row["id"]]["gt_boxes"]
        if not boxes:
            failures += 1
            ious.append(0.0)
            continue
        extra += len(boxes) - 1
        ref = refs[row["id"]]
        w, h = (ref["width"], ref["height"]) if "width" in ref else Image.open(IMAGES / ref["image"]).size
        x1, y1, x2, y2 = boxes[0]
        # documented fixes: corners swapped, then clipped to the image
        x1, x2, y1, y2 = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
        box = [min(max(x1, 0), w), min(max(y1, 0), h), min(max(x2, 0), w), min(max(y2, 0), h)]
        ious.append(max(iou_reference(box, g) for g in gt))
    m = report["metrics"]
    assert m["mean_iou"] == pytest.approx(sum(ious) / len(ious), abs=1e-12)
    assert m["acc@0.5"] == pytest.approx(sum(i >= 0.5 for i in ious) / len(ious), abs=1e-12)
    assert m["parse_failures"] == failures == report["counts"]["parse_failures"] > 0
    assert report["counts"]["extra_boxes"] == extra > 0
    assert report["per_sample"]["mean_iou"] == pytest.approx(ious, abs=1e-12)
    assert list(report["breakdown"]["iou_threshold"]) == [
        "0.1",
        "0.2",
        "0.3",
        "0.4",
        "0.5",
        "0.6",
        "0.7",
        "0.8",
        "0.9",
    ]
    assert report["breakdown"]["iou_threshold"]["0.5"]["acc"] == m["acc@0.5"]
    assert report["signature"]["acc@0.5"].startswith("Acc@0.5|box:xyxy|")


@pytest.mark.parametrize(
    "fmt,tolerance",
    [("xywh", 0.005), ("norm1", 0.005), ("norm1000", 0.005), ("qwen-vl", 0.005), ("qwen2.5-vl", 0.005),
     ("paligemma", 0.005), ("florence2", 0.005), ("gemini", 0.005), ("kosmos2", 0.08)],
)  # fmt: skip
def test_every_format_recovers_the_same_boxes(cli, tmp_path, fmt, tolerance):
    """The fixture writes the same pixel boxes in each model's frame; only quantisation may differ
    (Kosmos-2's 32x32 grid is coarse)."""
    base = _run(cli, tmp_path, G / "preds_xyxy.jsonl", "xyxy")["metrics"]
    got = _run(cli, tmp_path, G / f"preds_{fmt.replace('.', '')}.jsonl", fmt)
    assert abs(got["metrics"]["mean_iou"] - base["mean_iou"]) < tolerance
    assert got["metrics"]["parse_failures"] == base["parse_failures"]
    assert got["counts"]["extra_boxes"] == 14


def test_auto_says_it_guessed(cli, tmp_path):
    result = cli(
        "grounding",
        G / "preds_xyxy.jsonl",
        "--refs",
        REFS,
        "--box-format",
        "auto",
        "--images",
        IMAGES,
        "--out",
        "r.json",
    )
    assert result.exit_code == 0
    assert "guessed" in result.stderr
    report = _report(tmp_path)
    assert report["counts"]["box_format_guessed"] is True
    assert "box:auto" in report["signature"]["mean_iou"]
    # pixel boxes on images under 1000 px read as 0-1000: the harness's failure, reproduced
    assert report["metrics"]["acc@0.5"] < 0.05


def test_size_from_image_header(cli, tmp_path):
    refs = [r for r in _rows(REFS) if "width" not in r]
    assert refs, "the fixture has records whose size comes from the image"
    from PIL import Image

    size = Image.open(IMAGES / refs[0]["image"]).size
    w, h = size
    preds = [{"id": refs[0]["id"], "prediction": "[0.0, 0.0, 1.0, 1.0]"}]
    gt = [{"id": refs[0]["id"], "image": refs[0]["image"], "gt_boxes": [[0, 0, w, h]]}]
    write_jsonl(tmp_path / "p.jsonl", preds)
    write_jsonl(tmp_path / "g.jsonl", gt)
    result = cli(
        "grounding",
        "p.jsonl",
        "--refs",
        "g.jsonl",
        "--box-format",
        "norm1",
        "--images",
        IMAGES,
        "--out",
        "r.json",
    )
    assert result.exit_code == 0, result.stderr
    assert _report(tmp_path)["metrics"]["mean_iou"] == 1.0


def test_missing_image_when_size_is_needed(cli, tmp_path):
    write_jsonl(
        tmp_path / "p.jsonl",
        [{"id": 1, "prediction": "[100, 100, 200, 200]", "image": "nope.jpg", "gt_boxes": [[1, 1, 5, 5]]}],
    )
    result = cli("grounding", "p.jsonl", "--box-format", "norm1000", "--out", "r.json")
    assert result.exit_code == 2
    assert "p.jsonl:1:" in result.stderr and "image size" in result.stderr
    assert not (tmp_path / "r.json").exists()
    # pixel boxes need no size
    assert cli("grounding", "p.jsonl", "--out", "r.json").exit_code == 0


def test_defects_are_fixed_and_counted(cli, tmp_path):
    report = _run(cli, tmp_path, G / "preds_defects.jsonl", "xyxy")
    counts = report["counts"]
    assert counts["swapped_corners"] >= 10
    assert counts["clipped_boxes"] >= 5
    assert counts["empty_prediction"] == counts["parse_failures"] > 0


def test_phrase_grounding_with_scores(cli, tmp_path):
    result = cli("grounding", G / "phrase.jsonl", "--out", "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    everything = _report(tmp_path)["metrics"]
    result = cli("grounding", G / "phrase.jsonl", "--score-threshold", "0.5", "--out", "r.json", "--quiet")
    kept = _report(tmp_path)
    assert kept["metrics"]["precision"] > everything["precision"]
    assert kept["metrics"]["recall"] < everything["recall"]
    assert "score:>=0.5" in kept["signature"]["precision"]
    assert "hungarian" in kept["signature"]["f1"]


def test_scores_must_pair_with_boxes(cli, tmp_path):
    write_jsonl(
        tmp_path / "p.jsonl",
        [{"id": 1, "prediction": [[1, 1, 5, 5], [2, 2, 6, 6]], "scores": [0.9], "gt_boxes": [[1, 1, 5, 5]]}],
    )
    result = cli("grounding", "p.jsonl", "--score-threshold", "0.5", "--out", "r.json")
    assert result.exit_code == 2
    assert "1 scores for 2 parsed boxes" in result.stderr


def test_iou_option_and_gates(cli, tmp_path):
    result = cli("grounding", G / "preds_xyxy.jsonl", "--refs", REFS, "--iou", "0.7", "--out", "r.json", "--quiet",
                 "--min", "acc@0.7=0.99")  # fmt: skip
    assert result.exit_code == 1
    report = _report(tmp_path)
    assert "acc@0.7" in report["metrics"] and "acc@0.5" not in report["metrics"]
    assert report["gates"][0]["passed"] is False
    result = cli(
        "grounding",
        G / "preds_xyxy.jsonl",
        "--refs",
        REFS,
        "--out",
        "r.json",
        "--quiet",
        "--max",
        "parse_failures=100",
    )
    assert result.exit_code == 0


@pytest.mark.parametrize(
    "record,message",
    [
        ({"id": 1, "prediction": "[1,2,3,4]"}, "missing field 'gt_boxes'"),
        ({"id": 1, "prediction": "[1,2,3,4]", "gt_boxes": [[5, 5, 1, 1]]}, "x2 < x1"),
        ({"id": 1, "prediction": "[1,2,3,4]", "gt_boxes": [[1, 2, 3]]}, "must be [x1, y1, x2, y2]"),
        ({"id": 1, "prediction": 5, "gt_boxes": [[1, 2, 3, 4]]}, "'prediction' must be text"),
        (
            {"id": 1, "prediction": "[1,2,3,4]", "gt_boxes": [[1, 2, 3, 4]], "width": -3, "height": 5},
            "must be positive",
        ),
    ],
)
def test_bad_records(cli, tmp_path, record, message):
    write_jsonl(tmp_path / "p.jsonl", [{"id": 0, "prediction": "", "gt_boxes": []}, record])
    result = cli("grounding", "p.jsonl", "--out", "r.json")
    assert result.exit_code == 2
    assert "p.jsonl:2:" in result.stderr and message in result.stderr


def test_coco_detection_equals_pycocotools(cli, tmp_path):
    pytest.importorskip("pycocotools")
    from tests.metrics.test_detection import PAIRS, load
    from tests.reference import pycocotools_eval

    gt, dets = load(PAIRS[0])
    ref = pycocotools_eval(gt, dets)
    result = cli("grounding", DET / PAIRS[0][1], "--refs", DET / PAIRS[0][0], "--out", "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path)
    for key, value in zip(
        [
            "AP",
            "AP50",
            "AP75",
            "AP_small",
            "AP_medium",
            "AP_large",
            "AR1",
            "AR10",
            "AR100",
            "AR_small",
            "AR_medium",
            "AR_large",
        ],
        ref.stats,
    ):
        assert abs(report["metrics"][key] - value) <= 1e-12
    assert "score:>=0.5" in report["signature"]["precision"]
    assert report["breakdown"]["category"]["person"]["count"] > 0


def test_coco_detection_unknown_images_and_categories_are_skipped(cli, tmp_path):
    pytest.importorskip("pycocotools")
    from tests.metrics.test_detection import PAIRS, load
    from tests.reference import pycocotools_eval

    gt, dets = load(PAIRS[1])
    noisy = dets + [
        {"image_id": 987654321, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.9},
        {"image_id": dets[0]["image_id"], "category_id": 9999, "bbox": [1, 1, 5, 5], "score": 0.9},
        {"image_id": dets[0]["image_id"], "category_id": 1, "bbox": [1, 1, -5, 5], "score": 0.9},
    ]
    (tmp_path / "dets.json").write_text(json.dumps(noisy))
    result = cli("grounding", "dets.json", "--refs", DET / PAIRS[1][0], "--out", "r.json")
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path)
    assert report["counts"]["skipped"] == {"unknown_image_id": 1, "unknown_category": 1}
    assert report["counts"]["negative_size_boxes"] == 1 and "skipped" in result.stderr
    ref = pycocotools_eval(gt, dets + noisy[-1:])  # pycocotools keeps a negative width (and asserts on the rest)
    for key, value in zip(["AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large", "AR1", "AR10", "AR100",
                           "AR_small", "AR_medium", "AR_large"], ref.stats):  # fmt: skip
        assert abs(report["metrics"][key] - value) <= 1e-12, key


def test_coco_annotation_id_0_is_scored_as_pycocotools_does_and_warned(cli, tmp_path):
    """pycocotools records a match as the ground truth's id and reads 0 as no match (cocoapi#664): AP follows
    it (parity), the report says so."""
    pytest.importorskip("pycocotools")
    from tests.reference import pycocotools_eval

    gt = {"images": [{"id": 1, "width": 100, "height": 100}], "categories": [{"id": 1, "name": "a"}],
          "annotations": [{"id": k, "image_id": 1, "category_id": 1, "bbox": [10 + 40 * k, 10, 20, 20], "area": 400,
                           "iscrowd": 0} for k in (0, 1)]}  # fmt: skip
    dets = [{"image_id": 1, "category_id": 1, "bbox": [10 + 40 * k, 10, 20, 20], "score": 0.9 - k / 10} for k in (0, 1)]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    result = cli("grounding", "dets.json", "--refs", "gt.json", "--out", "r.json")
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path)
    assert abs(report["metrics"]["AP"] - pycocotools_eval(gt, dets).stats[0]) <= 1e-12 and report["metrics"]["AP"] < 0.5
    assert any("annotation with id 0" in w and "cocoapi#664" in w for w in report["warnings"])


def test_coco_detection_a_negative_width_takes_a_maxdets_place_as_in_pycocotools(cli, tmp_path):
    pytest.importorskip("pycocotools")
    from tests.reference import pycocotools_eval

    gt = {"images": [{"id": 1, "width": 100, "height": 100}], "categories": [{"id": 1, "name": "a"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "area": 2500,
                           "iscrowd": 0}]}  # fmt: skip
    dets = [{"image_id": 1, "category_id": 1, "bbox": [60, 10, -50, 50], "score": 1.0},
            {"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.9}]  # fmt: skip
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    assert cli("grounding", "dets.json", "--refs", "gt.json", "--out", "r.json", "--quiet").exit_code == 0
    report = _report(tmp_path)
    ref = pycocotools_eval(gt, dets)
    assert report["metrics"]["AR1"] == ref.stats[6] == 0.0 and report["metrics"]["AR10"] == ref.stats[7] == 1.0
    # at the score threshold it is ignored, as COCOeval's area range ignores it: one detection, one hit
    assert report["metrics"]["precision"] == 1.0 and report["metrics"]["recall"] == 1.0


def test_coco_detection_bad_input(cli, tmp_path):
    dets = json.loads((DET / PAIRS_FILE).read_text())[:3]
    del dets[2]["score"]
    (tmp_path / "dets.json").write_text(json.dumps(dets, indent=1))
    result = cli("grounding", "dets.json", "--refs", DET / "instances_val2014_100.json", "--out", "r.json")
    assert result.exit_code == 2
    assert "dets.json:" in result.stderr and "'score'" in result.stderr
    result = cli("grounding", DET / PAIRS_FILE, "--out", "r.json")
    assert result.exit_code == 2 and "--refs" in result.stderr


PAIRS_FILE = "instances_val2014_fakebbox100_results.json"


def test_unscored_samples_are_never_failures(cli, tmp_path):
    """A sample without a ground-truth box is not scored by the referring metrics (NaN, null in the report):
    it is not a failure case either (it was listed with `score: null` when "not scored" was inf)."""
    records = [
        {"id": "empty", "prediction": "[10, 10, 50, 50]", "gt_boxes": []},
        {"id": "miss", "prediction": "[0, 0, 5, 5]", "gt_boxes": [[100, 100, 200, 200]]},
        {"id": "hit", "prediction": "[100, 100, 200, 200]", "gt_boxes": [[100, 100, 200, 200]]},
    ]
    preds = write_jsonl(tmp_path / "p.jsonl", records)
    result = cli("grounding", preds, "--failures", "10", "--out", "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [row["id"] for row in report["failures"]] == ["miss", "hit"]
    assert all(row["score"] is not None for row in report["failures"])
    assert report["per_sample"]["mean_iou"][0] is None  # not scored: one representation everywhere


def _types(report):
    return dict(zip(report["per_sample"]["ids"], report["per_sample"]["error_type"]))


def test_error_types_of_referring_samples(cli, tmp_path):
    """Failed: a sample with a ground-truth box whose first box scores IoU < --iou. Each kind of failure on a
    640x480 image, and the fixtures' own: empty outputs in preds_defects, the refusal text in every format."""
    gt = [[100, 100, 200, 200]]
    records = [
        {"id": "hit", "prediction": "[100, 100, 200, 200]"},
        {"id": "empty", "prediction": ""},
        {"id": "refusal", "prediction": "I cannot find that object in the image."},
        {"id": "other-format", "prediction": "<loc0213><loc0160><loc0426><loc0320>"},  # PaliGemma, declared xyxy
        {"id": "outside", "prediction": "[700, 100, 800, 200]"},  # clipped to the edge: no area left
        {"id": "elsewhere", "prediction": "[400, 300, 500, 400]"},
        {"id": "loose", "prediction": "[100, 100, 300, 300]"},  # IoU 0.25
        {"id": "no-gt", "prediction": "[0, 0, 5, 5]", "gt_boxes": []},  # not scored
    ]
    rows = [{"gt_boxes": gt, "width": 640, "height": 480, **r} for r in records]
    write_jsonl(tmp_path / "p.jsonl", rows)
    result = cli("grounding", "p.jsonl", "--failures", "10", "--out", "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path)
    assert _types(report) == {
        "hit": None, "empty": "empty", "refusal": "parse_failure", "other-format": "parse_failure",
        "outside": "degenerate_box", "elsewhere": "wrong_object", "loose": "loose_box", "no-gt": None,
    }  # fmt: skip
    assert report["metrics"]["failure_rate"] == 6 / 8
    assert "no-gt" not in {row["id"] for row in report["failures"]}
    # the same loose box passes at --iou 0.2
    assert cli("grounding", "p.jsonl", "--iou", "0.2", "--out", "l.json", "--quiet").exit_code == 0
    assert _types(_report(tmp_path, "l.json"))["loose"] is None

    defects = _run(cli, tmp_path, G / "preds_defects.jsonl", "xyxy")
    kinds = {k: v["count"] for k, v in defects["breakdown"]["error_type"].items()}
    assert kinds == {"loose_box": 36, "wrong_object": 14, "empty": 9}
    assert kinds["empty"] == defects["counts"]["empty_prediction"]
    florence = _run(cli, tmp_path, G / "preds_florence2.jsonl", "florence2")
    assert florence["breakdown"]["error_type"]["parse_failure"]["count"] == florence["metrics"]["parse_failures"] == 9


def test_error_types_of_coco_detection(cli, tmp_path):
    """Per image, at the score threshold: the first of loose_box, wrong_class, missed, duplicate, background
    among its errors; an image matched exactly has none."""
    gt = json.loads((DET / "instances_val2017_mini.json").read_text())
    result = cli("grounding", DET / "instances_val2017_mini_synthetic_results.json", "--refs",
                 DET / "instances_val2017_mini.json", "--out", "r.json", "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path)
    assert len(report["per_sample"]["error_type"]) == len(gt["images"])
    assert {k: v["count"] for k, v in report["breakdown"]["error_type"].items()} == {
        "loose_box": 34, "missed": 26, "wrong_class": 9, "background": 3,
    }  # fmt: skip
    matching = report["stats"]["matching"]
    for t, tp, det, n in zip(report["per_sample"]["error_type"], matching["true_positives"], matching["predicted"],
                             matching["ground_truth"]):  # fmt: skip
        assert (t is None) == (tp == det == n)
    # the types come from the matching at the threshold whatever --metrics asks for
    assert cli("grounding", DET / "instances_val2017_mini_synthetic_results.json", "--refs",
               DET / "instances_val2017_mini.json", "--metrics", "AP", "--out", "ap.json", "--quiet").exit_code == 0  # fmt: skip
    assert _report(tmp_path, "ap.json")["per_sample"]["error_type"] == report["per_sample"]["error_type"]


def test_coco_ground_truth_without_area_is_one_sentence(cli, tmp_path):
    gt = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "a"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "iscrowd": 0}]}  # fmt: skip
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dets.json").write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 1}]))
    result = cli("grounding", "dets.json", "--refs", "gt.json", "--out", "r.json")
    assert result.exit_code == 2 and "needs an 'area'" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("where, value", [("images", "a"), ("categories", "c"), ("categories", None)])
def test_coco_ids_that_are_not_integers_are_one_sentence(cli, tmp_path, where, value):
    """faster-coco-eval's C++ takes integer ids only (a string stopped it with a TypeError, exit 3)."""
    image, category = (value, 1) if where == "images" else (1, value)
    gt = {"images": [{"id": image}], "categories": [{"id": category, "name": "a"}],
          "annotations": [{"id": 1, "image_id": image, "category_id": category, "bbox": [1, 1, 5, 5], "area": 25,
                           "iscrowd": 0}]}  # fmt: skip
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dets.json").write_text(json.dumps([{"image_id": image, "category_id": category, "bbox": [1, 1, 5, 5],
                                                     "score": 1}]))  # fmt: skip
    result = cli("grounding", "dets.json", "--refs", "gt.json", "--out", "r.json")
    assert result.exit_code == 2 and "must be an integer, as COCO's are" in result.stderr


def test_no_sample_with_a_ground_truth_box_is_warned(cli, tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": i, "prediction": [1, 2, 3, 4], "gt_boxes": []} for i in range(2)])
    result = cli("grounding", preds, "--out", "r.json")
    assert result.exit_code == 0 and "no sample has a ground-truth box" in result.stderr
