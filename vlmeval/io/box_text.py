"""Boxes from what VLMs write, in the coordinate frame the user declares (``--box-format``).

Extraction finds every box in the text, in order: bracketed lists of four numbers (JSON arrays, also in
fenced code blocks, under ``bbox_2d``/``bbox``/``box``/``box_2d`` keys or bare, nested ``[[...]]``, several
in one bracket separated by ``;`` as CogVLM and Shikra write them; where
such keys hold boxes, only those count, as the models' cookbooks read them),
coordinate pairs ``(x1,y1),(x2,y2)`` (Qwen-VL ``<box>``, Qwen2-VL ``<|box_start|>``), and the token
formats of PaliGemma (``<locYYYY>`` x4), Florence-2 (``<loc_N>`` x4) and Kosmos-2 (``<patch_index_N>`` x2).
Numeric predictions (a list of four numbers, or a list of such lists) are taken as they are.

Frames, all converted to absolute pixel ``[x1, y1, x2, y2]`` (continuous coordinates):

==============  ==================================================================================
``xyxy``        absolute pixels
``xywh``        absolute pixels, ``[x, y, width, height]``
``norm1``       ``[0, 1]`` fractions of the image size
``norm1000``    0-1000 (InternVL, Qwen2-VL, Qwen3-VL, CogVLM)
``qwen-vl``     0-999, divided by 999 (Qwen-VL's ``<box>(x1,y1),(x2,y2)</box>``; DeepSeek-VL2's
                ``<|det|>[[x1,y1,x2,y2]]<|/det|>``, which its ``parse_ref_bbox`` divides by 999)
``qwen2.5-vl``  absolute pixels of the resized model input (``smart_resize``, factor 28 and min/max pixels)
``paligemma``   ``<locYYYY>`` tokens, y first, 1024 bins: value / 1024
``florence2``   ``<loc_N>`` tokens, 1000 bins, bin centre: (N + 0.5) / 1000
``kosmos2``     two ``<patch_index_N>`` tokens on a 32x32 grid (transformers' patch_index_to_coordinate)
``gemini``      ``box_2d``: ``[ymin, xmin, ymax, xmax]``, 0-1000
``auto``        VLMEvalKit's guess from the numbers' magnitude (the report says it guessed): its RefCOCO
                scorer (open-compass/VLMEvalKit e8e78f0, ``vlmeval/dataset/refcoco.py``) takes the first
                ``[x1, y1, x2, y2]`` (commas or spaces), else the first four numbers anywhere; max |v| <= 1.5
                is fractions, <= 1000 is 0-1000, larger is pixels
==============  ==================================================================================
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

FORMATS = (
    "xyxy", "xywh", "norm1", "norm1000", "qwen-vl", "qwen2.5-vl", "paligemma", "florence2", "kosmos2", "gemini", "auto",
)  # fmt: skip
NEEDS_SIZE = {f for f in FORMATS if f not in ("xyxy", "xywh")}

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_FOUR = rf"{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}"
# [x1,y1,x2,y2], also several in one bracket separated by ";" (CogVLM's [[a,b,c,d;e,f,g,h]], Shikra's
# [a,b,c,d;e,f,g,h]), or Qwen-VL's (x1,y1),(x2,y2)
_BOX = re.compile(
    rf"\[\s*({_FOUR}(?:\s*;\s*{_FOUR})*)\s*\]"
    rf"|\(\s*({_NUM})\s*,\s*({_NUM})\s*\)\s*,?\s*\(\s*({_NUM})\s*,\s*({_NUM})\s*\)"
)
_NUMBER = re.compile(_NUM)
# a box under a JSON key (Qwen2.5-VL's "bbox_2d", Gemini's "box_2d"): where the text has these, they are
# its boxes, as the models' cookbooks read them (a number list inside a label is not a box)
_KEYED_BOX = re.compile(
    rf"[\"'](?:bbox_2d|box_2d|bbox|box)[\"']\s*:\s*\[\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*\]"
)
_PALIGEMMA = re.compile(r"<loc(\d{4})><loc(\d{4})><loc(\d{4})><loc(\d{4})>")
_FLORENCE = re.compile(r"<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>")
_KOSMOS = re.compile(r"<patch_index_(\d+)><patch_index_(\d+)>")
# VLMEvalKit's RefCOCODataset._parse_prediction (e8e78f0 vlmeval/dataset/refcoco.py), for ``auto``
_VLMEVALKIT_NUMBER = r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?"
_VLMEVALKIT_SEPARATOR = r"(?:\s*,\s*|\s+)"
_VLMEVALKIT_BOX = re.compile(
    rf"\[\s*({_VLMEVALKIT_NUMBER}){_VLMEVALKIT_SEPARATOR}({_VLMEVALKIT_NUMBER}){_VLMEVALKIT_SEPARATOR}"
    rf"({_VLMEVALKIT_NUMBER}){_VLMEVALKIT_SEPARATOR}({_VLMEVALKIT_NUMBER})\s*\]"
)


def extract(prediction, box_format: str) -> list[list[float]]:
    """The boxes in a prediction, as written (the model's frame), in order of appearance."""
    if isinstance(prediction, (list, tuple)):
        if len(prediction) == 4 and all(_is_number(v) for v in prediction):
            boxes = [[float(v) for v in prediction]]
        else:
            boxes = [
                [float(v) for v in box]
                for box in prediction
                if isinstance(box, (list, tuple)) and len(box) == 4 and all(_is_number(v) for v in box)
            ]
        return boxes[:1] if box_format == "auto" else boxes
    if not isinstance(prediction, str) or not prediction.strip():
        return []
    if box_format == "paligemma":
        return [[float(v) for v in m] for m in _PALIGEMMA.findall(prediction)]
    if box_format == "florence2":
        return [[float(v) for v in m] for m in _FLORENCE.findall(prediction)]
    if box_format == "kosmos2":
        return [[float(a), float(b), 0.0, 0.0] for a, b in _KOSMOS.findall(prediction)]
    if box_format == "auto":
        return _vlmevalkit_guess(prediction)
    keyed = _KEYED_BOX.findall(prediction)
    if keyed:
        return [[float(v) for v in m] for m in keyed]
    out = []
    for m in _BOX.finditer(prediction):
        if m.group(1) is not None:
            out.extend([float(v) for v in _NUMBER.findall(part)] for part in m.group(1).split(";"))
        else:
            out.append([float(v) for v in m.groups()[1:]])
    return out


def extract_all(predictions: list, box_format: str) -> tuple[np.ndarray, np.ndarray]:
    """The boxes of every prediction, concatenated [N, 4], and how many each prediction has."""
    if box_format != "auto" and predictions and isinstance(predictions[0], (list, tuple)) and not _has_bool(predictions):
        try:  # numeric predictions, one box each: one numpy conversion instead of a Python loop
            arr = np.array(predictions)
        except (ValueError, TypeError):
            arr = None
        if arr is not None and arr.dtype.kind in "if" and arr.shape[-1:] == (4,) and arr.ndim in (2, 3):
            per_sample = 1 if arr.ndim == 2 else arr.shape[1]
            return arr.reshape(-1, 4).astype(np.float64), np.full(
                len(predictions), per_sample, dtype=np.int64
            )
    boxes = [extract(p, box_format) for p in predictions]
    counts = np.fromiter((len(b) for b in boxes), dtype=np.int64, count=len(boxes))
    flat = np.array([box for sample in boxes for box in sample], dtype=np.float64).reshape(-1, 4)
    return flat, counts


def _is_number(v) -> bool:
    """A coordinate: an int or float (not a bool) that a float holds (JSON allows 400-digit integers)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        float(v)
    except OverflowError:
        return False
    return True


def _has_bool(predictions: list) -> bool:
    """Whether a numeric prediction holds true/false (numpy would read it as 1/0; a box has numbers). The
    element types are collected by ``map(type)`` over the chained lists: the fast path stays fast."""
    from itertools import chain

    rows = [p for p in predictions if isinstance(p, (list, tuple))]
    kinds = set(map(type, chain.from_iterable(rows)))
    if bool in kinds:
        return True
    if kinds & {list, tuple}:  # a list of boxes per prediction
        boxes = [v for v in chain.from_iterable(rows) if isinstance(v, (list, tuple))]
        return bool in set(map(type, chain.from_iterable(boxes)))
    return False


def _vlmevalkit_guess(text: str) -> list[list[float]]:
    """VLMEvalKit's RefCOCODataset._parse_prediction: the first bracketed four numbers, else the first four
    numbers in the text (a label's digit comes first there: "person 2 [..]" reads "2" as x1); one box, as
    written (``to_pixels`` applies its magnitude rule)."""
    for match in _VLMEVALKIT_BOX.finditer(text):
        return [[float(match.group(i)) for i in range(1, 5)]]
    numbers = re.findall(_VLMEVALKIT_NUMBER, text)
    return [[float(v) for v in numbers[:4]]] if len(numbers) >= 4 else []


def _vlmevalkit_scale(b: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    """VLMEvalKit's RefCOCODataset._to_absolute, per box: max |v| <= 1.5 are fractions of the image, <= 1000
    are 0-1000, anything larger pixels (so pixel boxes on images under 1000 px are misread as 0-1000)."""
    largest = np.abs(b).max(axis=1) if len(b) else np.zeros(0)
    size = np.stack([w, h, w, h], axis=1)
    return np.where((largest <= 1.5)[:, None], b * size, np.where((largest <= 1000)[:, None], b / 1000.0 * size, b))


def smart_resize(
    height: int, width: int, factor: int = 28, min_pixels: int = 56 * 56, max_pixels: int = 16384 * 28 * 28
) -> tuple[int, int]:
    """Qwen2.5-VL's image resizing (qwen_vl_utils / transformers' Qwen2VLImageProcessor): both sides a
    multiple of ``factor``, the pixel count within [min_pixels, max_pixels], the aspect ratio kept."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True)
class ResizeOptions:
    factor: int = 28
    min_pixels: int = 56 * 56
    max_pixels: int = 16384 * 28 * 28


def to_pixels(
    raw: np.ndarray,
    box_format: str,
    width: np.ndarray,
    height: np.ndarray,
    resize: ResizeOptions = ResizeOptions(),
) -> np.ndarray:
    """Boxes ``raw`` [n, 4] in ``box_format`` to pixel xyxy; ``width``/``height`` per box (NaN: unknown)."""
    b = raw.astype(np.float64, copy=True)
    w, h = width.astype(np.float64), height.astype(np.float64)
    if box_format == "xyxy":
        return b
    if box_format == "xywh":
        b[:, 2] += b[:, 0]
        b[:, 3] += b[:, 1]
        return b
    if box_format == "auto":
        return _vlmevalkit_scale(b, w, h)
    if box_format == "norm1":
        scale = (1.0, 1.0)
    elif box_format == "norm1000":
        scale = (1000.0, 1000.0)
    elif box_format == "qwen-vl":
        scale = (999.0, 999.0)
    elif box_format == "gemini":
        b = b[:, [1, 0, 3, 2]]
        scale = (1000.0, 1000.0)
    elif box_format == "paligemma":
        b = b[:, [1, 0, 3, 2]]
        scale = (1024.0, 1024.0)
    elif box_format == "florence2":
        b = b + 0.5
        scale = (1000.0, 1000.0)
    elif box_format == "kosmos2":
        return _kosmos(b[:, 0], b[:, 1], w, h)
    elif box_format == "qwen2.5-vl":
        sizes = [smart_resize(int(hh), int(ww), resize.factor, resize.min_pixels, resize.max_pixels)
                 if np.isfinite(ww) and np.isfinite(hh) else (np.nan, np.nan) for ww, hh in zip(w, h)]  # fmt: skip
        rh = np.array([s[0] for s in sizes], dtype=np.float64)
        rw = np.array([s[1] for s in sizes], dtype=np.float64)
        return b * np.stack([w / rw, h / rh, w / rw, h / rh], axis=1)
    else:
        raise ValueError(f"unknown box format {box_format!r}")
    return b / np.array([scale[0], scale[1], scale[0], scale[1]]) * np.stack([w, h, w, h], axis=1)


def _kosmos(
    upper_left: np.ndarray, lower_right: np.ndarray, w: np.ndarray, h: np.ndarray, side: int = 32
) -> np.ndarray:
    """transformers' Kosmos-2 ``patch_index_to_coordinate``: patch corners when the two patches share a row
    or column (or are the same), patch centres otherwise; then scaled to the image."""
    cell = 1.0 / side
    ul_x, ul_y = upper_left % side, upper_left // side
    lr_x, lr_y = lower_right % side, lower_right // side
    edge = (upper_left == lower_right) | (ul_x == lr_x) | (ul_y == lr_y)
    x1 = np.where(edge, ul_x * cell, ul_x * cell + cell / 2)
    y1 = np.where(edge, ul_y * cell, ul_y * cell + cell / 2)
    x2 = np.where(edge, lr_x * cell + cell, lr_x * cell + cell / 2)
    y2 = np.where(edge, lr_y * cell + cell, lr_y * cell + cell / 2)
    return np.stack([x1 * w, y1 * h, x2 * w, y2 * h], axis=1)


@dataclass
class BoxFixes:
    swapped: int = 0  # corners given in the wrong order, swapped
    clipped: int = 0  # boxes extending past the image, clipped to it
    degenerate: int = 0  # no area once fixed (a point, a line, or entirely outside the image), or not finite


def fix_boxes(
    boxes: np.ndarray, width: np.ndarray, height: np.ndarray
) -> tuple[np.ndarray, np.ndarray, BoxFixes]:
    """Swap inverted corners and clip to the image (where its size is known). Returns the boxes, a mask of
    boxes with positive area, and the counts."""
    fixes = BoxFixes()
    finite = np.isfinite(boxes).all(axis=1)
    x1, x2 = np.minimum(boxes[:, 0], boxes[:, 2]), np.maximum(boxes[:, 0], boxes[:, 2])
    y1, y2 = np.minimum(boxes[:, 1], boxes[:, 3]), np.maximum(boxes[:, 1], boxes[:, 3])
    fixes.swapped = int((finite & ((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))).sum())
    known = np.isfinite(width) & np.isfinite(height)
    low = np.where(known, 0.0, -np.inf)
    high_x, high_y = np.where(known, width, np.inf), np.where(known, height, np.inf)
    clipped = [np.clip(v, low, high) for v, high in ((x1, high_x), (y1, high_y), (x2, high_x), (y2, high_y))]
    changed = (clipped[0] != x1) | (clipped[1] != y1) | (clipped[2] != x2) | (clipped[3] != y2)
    fixes.clipped = int((finite & changed).sum())
    x1, y1, x2, y2 = clipped
    out = np.empty_like(boxes, dtype=np.float64)
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = x1, y1, x2, y2
    with np.errstate(over="ignore", invalid="ignore"):  # an area past the float range is no area either
        area_ok = finite & (x2 > x1) & (y2 > y1) & np.isfinite((x2 - x1) * (y2 - y1))
    fixes.degenerate = int((~area_ok).sum())
    return out, area_ok, fixes
