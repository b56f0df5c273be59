"""Box formats: each from the model's own documented output, converted by the rule its own code applies.

Where each example and rule comes from:
- Qwen-VL: README's grounding turn, ``<ref>击掌</ref><box>(536,509),(588,602)</box>``; eval_mm/evaluate_grounding.py
  divides by 999 and scales by the image's width/height, first box only.
- Qwen2-VL / Qwen3-VL: ``<|object_ref_start|>...<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>``, 0-1000.
- InternVL2/2.5: ``<ref>...</ref><box>[[x1, y1, x2, y2]]</box>``, 0-1000 (its evaluate_grounding divides by 1000).
- CogVLM: zero-padded ``[[086,540,400,760]]``, 0-1000, several boxes ``[[a,b,c,d;e,f,g,h]]`` (THUDM/CogVLM f7283b2
  utils/utils/grounding_parser.py: the text inside ``[[...]]``, split on ";", /1000). Shikra: ``[a,b,c,d;e,f,g,h]``
  fractions (shikras/shikra ff79a4c PlainBoxFormatter).
- DeepSeek-VL2: ``<|det|>[[x1, y1, x2, y2]]<|/det|>``, divided by 999 (deepseek-ai/DeepSeek-VL2 ef9f91e
  deepseek_vl2/serve/app_modules/utils.py parse_ref_bbox: ``int(box[i] / 999 * image_w)``).
- Qwen2.5-VL: the cookbook's fenced JSON, ``{"bbox_2d": [...], "label": ...}`` in pixels of the smart_resize'd
  input (qwen_vl_utils: factor 28, min 4*28*28, max 16384*28*28).
- PaliGemma: big_vision's ``<locYYYY><locXXXX><locYYYY><locXXXX> label``, y first, value / 1024.
- Florence-2: processing_florence2.py's BoxQuantizer.dequantize, ``(bin + 0.5) * size / 1000``.
- Kosmos-2: the Hugging Face model card's snowman example and the boxes it prints.
- Gemini: the API docs' ``[{"box_2d": [ymin, xmin, ymax, xmax], "label": ...}]``, 0-1000.
- auto: VLMEvalKit e8e78f0's vlmeval/dataset/refcoco.py (RefCOCODataset._parse_prediction / _to_absolute),
  restated in tests/reference/vlmevalkit.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.reference import vlmevalkit as ovk
from vlmeval.io.box_text import ResizeOptions, extract, fix_boxes, smart_resize, to_pixels

W, H = 640.0, 480.0


def pixels(text, fmt, w=W, h=H, resize=ResizeOptions()):
    raw = np.array(extract(text, fmt), dtype=np.float64).reshape(-1, 4)
    n = len(raw)
    return to_pixels(raw, fmt, np.full(n, w), np.full(n, h), resize)


def close(a, b):
    np.testing.assert_allclose(
        np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=0, atol=1e-9
    )


def test_qwen_vl_readme_example_divides_by_999():
    got = pixels("<ref>击掌</ref><box>(536,509),(588,602)</box>", "qwen-vl")
    close(got, [[536 / 999 * W, 509 / 999 * H, 588 / 999 * W, 602 / 999 * H]])


def test_qwen2_vl_box_tokens_are_0_1000():
    text = "<|object_ref_start|>the dog<|object_ref_end|><|box_start|>(100,200),(500,900)<|box_end|>"
    close(pixels(text, "norm1000"), [[64, 96, 320, 432]])


@pytest.mark.parametrize(
    "text",
    [
        "<ref>the man in red</ref><box>[[100, 200, 500, 900]]</box>",  # InternVL
        "the man in red[[100,200,500,900]]",  # CogVLM
        "[100, 200, 500, 900]",  # Qwen3-VL plain list
    ],
)
def test_norm1000_models(text):
    close(pixels(text, "norm1000"), [[64, 96, 320, 432]])


def test_deepseek_vl2_divides_by_999_as_qwen_vl():
    close(pixels("<|ref|>the dog<|/ref|><|det|>[[580, 270, 999, 900]]<|/det|>", "qwen-vl"),
          [[580 / 999 * W, 270 / 999 * H, W, 900 / 999 * H]])  # fmt: skip


def test_several_boxes_in_one_bracket_separated_by_semicolons():
    close(pixels("Two dogs[[100,200,300,400;500,600,700,800]] play.", "norm1000"),
          [[64, 96, 192, 192], [320, 288, 448, 384]])  # fmt: skip
    close(pixels("the dogs [0.1,0.2,0.3,0.4;0.5,0.6,0.7,0.8]", "norm1"), [[64, 96, 192, 192], [320, 288, 448, 384]])
    close(pixels("[1, 2, 3, 4] and [5,6,7,8 ; 9,10,11,12]", "xyxy"), [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
    assert extract("[1,2,3,4;5,6,7]", "xyxy") == []  # a group with a short box is no box list


def test_cogvlm_zero_padded_numbers():
    close(
        pixels("a dog[[086,540,400,760]]", "norm1000"),
        [[86 / 1000 * W, 540 / 1000 * H, 400 / 1000 * W, 760 / 1000 * H]],
    )


def test_qwen25_vl_fenced_json_in_resized_pixels():
    text = '```json\n[\n\t{"bbox_2d": [135, 114, 1016, 672], "label": "person"}\n]\n```'
    w, h = 1280, 853
    rh, rw = smart_resize(h, w)
    assert (rh, rw) == (
        840,
        1288,
    )  # round(853/28)=30 -> 840, round(1280/28)=46 -> 1288; within the pixel limits
    close(pixels(text, "qwen2.5-vl", w, h), [[135 * w / rw, 114 * h / rh, 1016 * w / rw, 672 * h / rh]])


def test_qwen25_vl_max_pixels_option_changes_the_frame():
    # qwen_vl_utils: 4000x3000 over max_pixels=1280*28*28 scales by beta = sqrt(12e6 / 1003520) = 3.458,
    # then floors to multiples of 28: 3000/beta = 867.5 -> 840, 4000/beta = 1156.7 -> 1148
    h_bar, w_bar = smart_resize(3000, 4000, 28, 4 * 28 * 28, 1280 * 28 * 28)
    assert (h_bar, w_bar) == (840, 1148)
    got = pixels(
        '{"bbox_2d": [0, 0, 1148, 840]}',
        "qwen2.5-vl",
        4000,
        3000,
        ResizeOptions(28, 4 * 28 * 28, 1280 * 28 * 28),
    )
    close(got, [[0, 0, 4000, 3000]])


def test_smart_resize_small_image_is_upscaled_to_min_pixels():
    h, w = smart_resize(20, 30, 28, 56 * 56, 16384 * 28 * 28)
    assert h * w >= 56 * 56 and h % 28 == 0 and w % 28 == 0


def test_paligemma_y_first_1024_bins():
    close(
        pixels("<loc0256><loc0128><loc0768><loc0896> car", "paligemma"),
        [[128 / 1024 * W, 256 / 1024 * H, 896 / 1024 * W, 768 / 1024 * H]],
    )


def test_paligemma_several_objects_in_order():
    got = pixels(
        "<loc0000><loc0000><loc0512><loc0512> cat ; <loc0512><loc0512><loc1023><loc1023> dog", "paligemma"
    )
    assert got.shape == (2, 4)
    close(got[0], [0, 0, W / 2, H / 2])


def test_florence2_bin_centres():
    got = pixels("car<loc_52><loc_333><loc_932><loc_774>door<loc_1><loc_2><loc_3><loc_4>", "florence2")
    close(got[0], [52.5 / 1000 * W, 333.5 / 1000 * H, 932.5 / 1000 * W, 774.5 / 1000 * H])
    assert got.shape == (2, 4)


def test_kosmos2_model_card_snowman():
    text = (
        "<grounding> An image of<phrase> a snowman</phrase><object><patch_index_0044><patch_index_0863></object>"
        " warming himself by<phrase> a fire</phrase><object><patch_index_0005><patch_index_0911></object>."
    )
    got = pixels(text, "kosmos2", 1.0, 1.0)  # unit image: the model card's normalised boxes
    close(got, [[0.390625, 0.046875, 0.984375, 0.828125], [0.171875, 0.015625, 0.484375, 0.890625]])


def test_kosmos2_same_row_uses_patch_corners():
    got = pixels("<patch_index_0000><patch_index_0031>", "kosmos2", 32.0, 32.0)
    close(got, [[0, 0, 32, 1]])


def test_gemini_box_2d_y_first():
    text = '```json\n[\n  {"box_2d": [386, 362, 542, 424], "label": "cat"}\n]\n```'
    close(pixels(text, "gemini"), [[362 / 1000 * W, 386 / 1000 * H, 424 / 1000 * W, 542 / 1000 * H]])


def test_xyxy_xywh_norm1():
    close(pixels("The box is [10, 20, 30, 40].", "xyxy"), [[10, 20, 30, 40]])
    close(pixels('{"bbox": [10, 20, 30, 40]}', "xywh"), [[10, 20, 40, 60]])
    close(pixels("[0.1, 0.2, 0.5, 0.9]", "norm1"), [[64, 96, 320, 432]])
    close(pixels([10, 20, 30, 40], "xyxy"), [[10, 20, 30, 40]])
    close(pixels([[10, 20, 30, 40], [1, 2, 3, 4]], "xyxy"), [[10, 20, 30, 40], [1, 2, 3, 4]])


def test_numbers_in_exponent_and_negative_forms():
    close(pixels("[-5, 1e1, 2.5E2, .5]", "xyxy"), [[-5, 10, 250, 0.5]])


def test_nothing_to_parse():
    for text in ("", "   ", "I cannot see a dog.", "[1, 2, 3]", None):
        assert extract(text, "xyxy") == []


AUTO_CASES = [
    "[135, 114, 516, 372]",  # Qwen2.5-VL pixels on a 640x480 image: read as 0-1000, as VLMEvalKit misreads them
    '{"bbox_2d": [156, 208, 468, 520], "label": "person 2"}',  # the bracket comes first
    "object 1: [156, 208, 468, 520]",
    "[100.5, 100.0, 300.0, 250.0]",  # floats above 1.5: 0-1000
    "[0.1, 0.2, 0.5, 0.9]", "[0.1 0.2 0.5 0.9]", "[1.2, 0.2, 1.5, 0.9]",  # fractions (max <= 1.5)
    "<box_start>(1560,2080),(4680,5200)<box_end>",  # no bracket: the first four numbers, above 1000: pixels
    "(100,200),(500,900)", "person 2 at 10, 20, 30",  # a label's digit is a coordinate there
    "[-20, 30, 700, 500]", "[300, 250, 100, 100]", "[1e2, 2e2, 3e2, 4e2]", "[.5, .5, 1, 1]",
    "box: [10, 20, 30]", "no box", "[1200, 100, 1300, 400] and [1, 2, 3, 4]",
]  # fmt: skip


@pytest.mark.parametrize("text", AUTO_CASES)
def test_auto_is_vlmevalkits_refcoco_rule(text):
    from vlmeval.io.box_text import fix_boxes

    theirs = ovk.refcoco_to_absolute(ovk.refcoco_parse_prediction(text), W, H) if ovk.refcoco_parse_prediction(
        text) is not None else None  # fmt: skip
    raw = np.array(extract(text, "auto"), dtype=np.float64).reshape(-1, 4)
    if theirs is None:
        assert len(raw) == 0
        return
    ours, _, _ = fix_boxes(to_pixels(raw, "auto", np.full(1, W), np.full(1, H)), np.full(1, W), np.full(1, H))
    assert ours.tolist() == [theirs.tolist()]


def test_auto_iou_equals_vlmevalkits():
    """Through the task: VLMEvalKit's Precision@1 and Average IoU (continuous IoU, no +1)."""
    import json

    import vlmeval

    gt = [100.0, 100.0, 300.0, 250.0]
    n = len(AUTO_CASES)
    report = vlmeval.grounding(AUTO_CASES, [[gt]] * n, widths=[W] * n, heights=[H] * n, box_format="auto")
    ious = []
    for t in AUTO_CASES:
        parsed = ovk.refcoco_parse_prediction(t)
        box = None if parsed is None else ovk.refcoco_to_absolute(parsed, W, H)
        ious.append(0.0 if box is None else float(ovk.refcoco_iou(box, gt)))
    np.testing.assert_allclose(report.per_sample["mean_iou"], ious, rtol=0, atol=1e-12)
    assert report.metrics["acc@0.5"] == pytest.approx(np.mean([v >= 0.5 for v in ious]), abs=1e-12)
    assert json.dumps(report.counts["box_format_guessed"]) == "true"


def test_fix_boxes_swaps_clips_and_counts():
    boxes = np.array(
        [[50, 60, 10, 20], [-10, -10, 700, 500], [700, 500, 800, 600], [5, 5, 5, 9], [np.nan, 0, 1, 1]],
        dtype=float,
    )
    w, h = np.full(5, W), np.full(5, H)
    fixed, ok, fixes = fix_boxes(boxes, w, h)
    close(fixed[0], [10, 20, 50, 60])
    close(fixed[1], [0, 0, W, H])
    assert fixes.swapped == 1
    assert fixes.clipped == 2  # boxes 1 and 2 (2 lies entirely outside: clipped to a line)
    assert fixes.degenerate == 3  # outside, zero width, NaN
    assert ok.tolist() == [True, True, False, False, False]


def test_fix_boxes_without_a_size_does_not_clip():
    fixed, ok, fixes = fix_boxes(np.array([[-5.0, -5, 5000, 5000]]), np.array([np.nan]), np.array([np.nan]))
    close(fixed, [[-5, -5, 5000, 5000]])
    assert fixes.clipped == 0 and ok.all()


@pytest.mark.parametrize("fmt, key", [("qwen2.5-vl", "bbox_2d"), ("gemini", "box_2d")])
def test_keyed_boxes_are_the_boxes_as_the_cookbooks_read_them(fmt, key):
    """The cookbooks json.loads the answer and read each item's key: numbers inside a label are no box."""
    import json

    items = [{"label": "box [1, 2, 3, 4]", key: [112, 112, 336, 280]}, {key: [5, 6, 70, 80], "label": "b"}]
    text = "```json\n" + json.dumps(items) + "\n```"
    assert extract(text, fmt) == [[float(v) for v in item[key]] for item in json.loads(text[8:-4])]


def test_a_true_or_false_coordinate_is_no_number_whatever_the_other_records():
    from vlmeval.io.box_text import extract_all

    for others in ([[1, 2, 3, 4]], ["[1, 2, 3, 4]"]):
        flat, counts = extract_all([[True, 0, 10, 10], *others], "xyxy")
        assert counts.tolist() == [0, 1] and flat.tolist() == [[1, 2, 3, 4]]


def test_center_acc_takes_the_box_as_written():
    """lmms-eval's Center_ACC clips nothing: a box beyond the right edge has its centre there, not on it."""
    import vlmeval

    report = vlmeval.grounding([[150, 10, 200, 90]], [[[50, 0, 100, 100]]], widths=[100.0], heights=[100.0])
    assert report.metrics["center_acc"] == 0.0 and report.metrics["mean_iou"] == 0.0


def test_a_coordinate_past_the_float_range_is_no_number():
    from vlmeval.io.box_text import extract_all

    flat, counts = extract_all([[1, 2, 10**400, 4], [1, 2, 3, 4]], "xyxy")
    assert counts.tolist() == [0, 1] and flat.tolist() == [[1, 2, 3, 4]]
