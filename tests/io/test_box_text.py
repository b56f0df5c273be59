"""Box formats: each from the model's own documented output, converted by the rule its own code applies.

Where each example and rule comes from:
- Qwen-VL: README's grounding turn, ``<ref>击掌</ref><box>(536,509),(588,602)</box>``; eval_mm/evaluate_grounding.py
  divides by 999 and scales by the image's width/height, first box only.
- Qwen2-VL / Qwen3-VL: ``<|object_ref_start|>...<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>``, 0-1000.
- InternVL2/2.5: ``<ref>...</ref><box>[[x1, y1, x2, y2]]</box>``, 0-1000 (its evaluate_grounding divides by 1000).
- CogVLM: zero-padded ``[[086,540,400,760]]``, 0-1000. DeepSeek-VL2: ``<|det|>[[x1, y1, x2, y2]]<|/det|>``, 0-1000.
- Qwen2.5-VL: the cookbook's fenced JSON, ``{"bbox_2d": [...], "label": ...}`` in pixels of the smart_resize'd
  input (qwen_vl_utils: factor 28, min 4*28*28, max 16384*28*28).
- PaliGemma: big_vision's ``<locYYYY><locXXXX><locYYYY><locXXXX> label``, y first, value / 1024.
- Florence-2: processing_florence2.py's BoxQuantizer.dequantize, ``(bin + 0.5) * size / 1000``.
- Kosmos-2: the Hugging Face model card's snowman example and the boxes it prints.
- Gemini: the API docs' ``[{"box_2d": [ymin, xmin, ymax, xmax], "label": ...}]``, 0-1000.
- auto: VLMEvalKit's vlmeval/dataset/image_grounding.py (parse_pred_response / parse_pred_bbox).
"""

from __future__ import annotations

import numpy as np
import pytest

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
        "<|ref|>the man in red<|/ref|><|det|>[[100, 200, 500, 900]]<|/det|>",  # DeepSeek-VL2
        "[100, 200, 500, 900]",  # Qwen3-VL plain list
    ],
)
def test_norm1000_models(text):
    close(pixels(text, "norm1000"), [[64, 96, 320, 432]])


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


class TestAutoIsVlmevalkitsGuess:
    def test_qwen25_pixel_box_under_1000px_is_misread_as_0_1000(self):
        # a 640x480 image: Qwen2.5-VL answers in pixels, VLMEvalKit reads integers <= 1000 as 0-1000
        got = pixels("[135, 114, 516, 372]", "auto")
        close(got, [[0.135 * W, 0.114 * H, 0.516 * W, 0.372 * H]])

    def test_box_start_tokens_divide_by_10000(self):
        close(
            pixels("<box_start>(1000,2000),(5000,9000)<box_end>", "auto"),
            [[0.1 * W, 0.2 * H, 0.5 * W, 0.9 * H]],
        )

    def test_pairs_within_1000_divide_by_1000(self):
        close(pixels("(100,200),(500,900)", "auto"), [[64, 96, 320, 432]])

    def test_pairs_beyond_1000_are_taken_as_fractions(self):
        close(pixels("(100,200),(1500,900)", "auto"), [[100 * W, 200 * H, 1500 * W, 900 * H]])

    def test_float_numbers_are_taken_as_fractions(self):
        close(pixels("[0.1, 0.2, 0.5, 0.9]", "auto"), [[64, 96, 320, 432]])

    def test_a_fifth_number_defeats_the_guess(self):
        # VLMEvalKit's fallback needs exactly four numbers: a label with a digit makes it [0, 0, 0, 0]
        assert extract('{"bbox_2d": [135, 114, 516, 372], "label": "person 2"}', "auto") == []


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
