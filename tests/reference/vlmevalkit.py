"""VLMEvalKit's exact-matching answer extraction, restated line by line (the oracle of tests/metrics).

Sources, open-compass/VLMEvalKit at commit e8e78f05f3080fe28154f2130321f17951c3be94 (2026-08-18):
- ``vlmeval/utils/matching_util.py``: ``can_infer_option``, ``can_infer_text``, ``can_infer`` (last changed
  in 2cf2a36, which keeps a67ace5's "the answer is X" pattern);
- ``vlmeval/dataset/utils/multiple_choice.py``: ``build_choices``, ``prefetch_answer``,
  ``extract_answer_from_item``, ``eval_vanilla``, ``prefetch_circular_group``, ``mcq_circular_eval``
  (exact-matching mode: ``model=None``, no judge);
- ``vlmeval/dataset/utils/yorn.py``: ``YOrN_Extraction``, ``MME_rating``, ``POPE_rating`` (its F1, and its split of
  comma-joined categories);
  ``vlmeval/smp/misc.py``: ``process_punctuation``;
- ``vlmeval/dataset/refcoco.py``: ``RefCOCODataset._parse_prediction``, ``_to_absolute``, ``_compute_iou``
  (its RefCOCO scorer: the magnitude rule vlmeval's ``--box-format auto`` reproduces).

Quirks kept as the source has them: ``VERBOSE`` read from the environment (any value, even "0", turns on
the "A might be a quantifier" refusal), the "answer is" pattern only knows A-D (and, being
case-insensitive, also a-d, so "the answer is a dog" gives A), ``can_infer_text`` lower-cases the choices
dict it is given, ``process_punctuation`` passes ``re.UNICODE`` as the *count* of ``periodStrip.sub``
(only the first 32 periods go), the random fallback's operator precedence (``[]`` when 'Z' is a choice).
What pandas does is replaced by plain Python: rows are dicts, a missing option is a missing key or None/NaN.
"""

from __future__ import annotations

import copy as cp
import math
import os
import random as rd
import re
import string

_VERBOSE_ANSWER_RE = re.compile(r"(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**")


def can_infer_option(answer, choices):
    verbose = os.environ.get("VERBOSE", 0)
    # Choices is a dictionary
    if "Failed to obtain answer via API" in answer:
        return False

    reject_to_answer = [
        "Sorry, I can't help with images of people yet.",
        "I can't process this file.",
        "I'm sorry, but without the image provided",
        "Cannot determine the answer",
    ]
    for err in reject_to_answer:
        if err in answer:
            return "Z"

    def count_choice(splits, choices, prefix="", suffix=""):
        cnt = 0
        for c in choices:
            if prefix + c + suffix in splits:
                cnt += 1
        return cnt

    answer_mod = cp.copy(answer)
    chars = ".()[],:;!*#{}"
    for c in chars:
        answer_mod = answer_mod.replace(c, " ")

    splits = [x.strip() for x in answer_mod.split()]
    count = count_choice(splits, choices)

    if count == 1:
        for ch in choices:
            if "A" in splits and len(splits) > 3 and verbose:
                # logger.info(f'A might be a quantifier in the string: {answer}.')
                return False
            if ch in splits and splits.index(ch) > (len(splits) - 5):
                return ch
    elif count == 0 and count_choice(splits, {"Z", ""}) == 1:
        return "Z"

    match = _VERBOSE_ANSWER_RE.search(answer or "")
    if match and match.group(1).upper() in choices:
        return match.group(1).upper()

    return False


def can_infer_text(answer, choices):
    answer = answer.lower()
    if len(answer) > 2 * sum(len(str(v)) for v in choices.values()):
        return False
    assert isinstance(choices, dict)
    for k in choices:
        assert k in string.ascii_uppercase
        choices[k] = str(choices[k]).lower()
    cands = []
    for k in choices:
        if choices[k] in answer:
            cands.append(k)
    if len(cands) == 1:
        return cands[0]
    return False


def can_infer(answer, choices):
    answer = str(answer)
    copt = can_infer_option(answer, choices)
    return copt if copt else can_infer_text(answer, choices)


# --------------------------------------------------------------------------------------------------
# multiple_choice.py, exact-matching mode (model is None)


def _isna(value):  # pd.isna for the scalars a row holds
    return value is None or (isinstance(value, float) and math.isnan(value))


def build_choices(item):
    ret = {}
    for ch in string.ascii_uppercase:
        if ch in item and (not _isna(item[ch])):
            ret[ch] = item[ch]
    return ret


def prefetch_answer(item):
    choices = build_choices(item)
    return can_infer(item["prediction"], choices)


def extract_answer_from_item(model, item, dataset_name=None):
    """Returns dict(opt, log). With a judge (model) it would ask it three times, then draw at random from
    ``random_candidates(choices)``; only the exact-matching path is restated."""
    choices = build_choices(item)
    ret = can_infer(item["prediction"], choices)
    if ret:
        return dict(opt=ret, log=item["prediction"])
    if model is None:
        return dict(opt="Z", log="Failed in Prefetch, no GPT-based answer matching under `exact_matching` policy.")
    raise NotImplementedError("the judge path is not restated")


def random_candidates(choices):
    """What ``rd.choice`` draws from after the judge failed three times (the source's precedence kept:
    ``list(choices) + ['Z'] if 'Z' not in choices else []``)."""
    options = list(choices) + ["Z"] if "Z" not in choices else []
    return options


def random_fallback(choices, rng=rd):
    return rng.choice(random_candidates(choices))


def eval_vanilla(model, item, dataset_name=None):
    res = extract_answer_from_item(model, item, dataset_name=dataset_name)
    opt, match_log = res["opt"], res["log"]
    if opt == item["GT"]:
        return dict(hit=1, log=f"Match Log: {match_log}. ")
    else:
        return dict(hit=0, log=f"Match Log: {match_log}. ")


def prefetch_circular_group(sub_data, verbose=False):
    lt = len(sub_data)
    GT, PRED = [], []
    for i in range(lt):
        item = sub_data[i]
        GT.append(item["GT"])
        PRED.append(prefetch_answer(item))
        if PRED[-1] and (GT[-1] != PRED[-1]):
            log = (
                f"Failed in Prefetching Rolling {i}: Answer is {GT[-1]}, "
                f"Prediction is {item['prediction']}, Pre-fetched is {PRED[-1]}. "
            )
            return dict(hit=0, log=log)
    flag = True
    for g, p in zip(GT, PRED):
        if g != p:
            flag = False
    ret = (dict(hit=1, log="Succeed During Pre-fetching"),) if flag else (None,)
    ret = ret + (GT, PRED) if verbose else ret
    return ret if len(ret) > 1 else ret[0]


def mcq_vanilla_eval(data, meta):
    """Per row hit, as mcq_vanilla_eval(model=None) leaves in data['hit'] (no result-file cache, no MMMU
    re-formulation). ``data`` and ``meta`` are lists of dict rows."""
    answer_map = {x["index"]: x["answer"] for x in meta}
    data = [dict(x) for x in data if x["index"] in answer_map]
    for x in data:
        x["GT"] = answer_map[x["index"]]
    return [dict(index=x["index"], **eval_vanilla(None, x)) for x in data]


def mcq_circular_eval(data, meta):
    """mcq_circular_eval(model=None): one result per main row (index == index % 1e6), as data_main['hit'].

    Returns ``{g_index: hit}`` plus the groups that a judge would have been asked about (``judged``: a
    group with no wrongly pre-fetched rotation and at least one rotation can_infer could not resolve)."""
    answer_map = {x["index"]: x["answer"] for x in meta}
    for idx in [x["index"] for x in meta] + [x["index"] for x in data]:
        assert isinstance(idx, int)
    data = [dict(x) for x in data]
    for x in data:
        if "g_index" not in x:
            x["g_index"] = int(x["index"] % 1e6)
    data = [x for x in data if x["index"] in answer_map]
    for x in data:
        x["GT"] = answer_map[x["index"]]
    data_main = [x for x in data if x["index"] == x["g_index"]]

    result, judged = {}, []
    data_groups = []
    for main in data_main:
        idx = main["index"]
        if idx not in result:
            sub_data = [x for x in data if x["g_index"] == idx]
            data_groups.append(sub_data)
    prefetched = [prefetch_circular_group(g, verbose=False) for g in data_groups]
    for dg, pf in zip(data_groups, prefetched):
        if pf is not None:
            result[dg[0]["g_index"]] = pf
        else:
            judged.append(dg[0]["g_index"])
            result[dg[0]["g_index"]] = dict(
                hit=0, log="Failed in Prefetch, no GPT-based answer matching under `exact_matching` policy."
            )
    return {x["index"]: result[x["index"]]["hit"] for x in data_main}, judged


# --------------------------------------------------------------------------------------------------
# yes / no: yorn.py and smp/misc.py


def process_punctuation(inText):
    outText = inText
    punct = [
        ";", r"/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`",
        ",", "?", "!",
    ]  # fmt: skip
    commaStrip = re.compile(r"(\d)(,)(\d)")
    periodStrip = re.compile(r"(?<!\d)\.(?!\d)")
    for p in punct:
        if (p + " " in inText or " " + p in inText) or (re.search(commaStrip, inText) is not None):
            outText = outText.replace(p, "")
        else:
            outText = outText.replace(p, " ")
    outText = periodStrip.sub("", outText, re.UNICODE)
    return outText


def YOrN_Extraction(output):
    s = output.lower()
    words = process_punctuation(s).split()
    if "yes" in words and "no" not in words:
        return "Yes"
    if "yes" not in words and "no" in words:
        return "No"
    return "Unknown"


def yorn_scores(answers, predictions):
    """ImageYORNDataset.evaluate without a judge: extracted = YOrN_Extraction(str(prediction)),
    score = answer == extracted (answers are 'Yes'/'No')."""
    extracted = [YOrN_Extraction(str(p)) for p in predictions]
    return extracted, [a == e for a, e in zip(answers, extracted)]


def pope_f1(y_true, y_pred):
    """POPE_rating's cal_f1_score on 0/1 lists (1 = 'Yes'; an 'Unknown' extraction is 0)."""
    tp = sum(1 for t, p in zip(y_true, y_pred) if t == 1 and p == 1)
    fp = sum(1 for t, p in zip(y_true, y_pred) if t == 0 and p == 1)
    fn = sum(1 for t, p in zip(y_true, y_pred) if t == 1 and p == 0)
    precision = tp / (tp + fp) if (tp + fp) != 0 else 0
    recall = tp / (tp + fn) if (tp + fn) != 0 else 0
    f1_score = 2 * (precision * recall) / (precision + recall) if (precision + recall) != 0 else 0
    return f1_score, precision, recall


def POPE_rating(rows):
    """POPE_rating (e8e78f0 vlmeval/dataset/utils/yorn.py) on rows {"answer", "extracted", "score",
    "category"}: a comma-joined category is split and the row exploded into each (``str.split(',')``,
    ``explode``) before the Overall and the per-split numbers; {split: (F1, acc, precision, recall)} in percent."""
    exploded = [{**r, "category": c} for r in rows for c in (r["category"].split(",") if isinstance(r["category"], str) else [r["category"]])]

    def rate(sub):
        f1, precision, recall = pope_f1([1 if r["answer"] == "Yes" else 0 for r in sub],
                                        [1 if r["extracted"] == "Yes" else 0 for r in sub])  # fmt: skip
        return f1 * 100, sum(r["score"] for r in sub) / len(sub) * 100, precision * 100, recall * 100

    out = {"Overall": rate(exploded)}
    for c in {r["category"] for r in exploded if not _isna(r["category"])}:
        out[c] = rate([r for r in exploded if r["category"] == c])
    return out


def MME_rating(rows):
    """MME_rating over rows {category, image_path, score}: per category acc + acc+ (val[0] * val[1] per
    image), summed into perception and reasoning, as the source does (np.mean replaced by sum/len)."""
    stats = {}
    for item in rows:
        stats.setdefault(item["category"], {}).setdefault(item["image_path"], []).append(item["score"])

    def acc(key, mode="normal"):
        res = stats[key]
        values = []
        for val in res.values():
            if mode == "normal":
                values.extend(val)
            elif mode == "plus":
                values.append(val[0] * val[1])
        return sum(values) / len(values) * 100

    scores = {k: acc(k) + acc(k, "plus") for k in stats}
    super_cates = dict(
        perception=["OCR", "artwork", "celebrity", "color", "count", "existence", "landmark", "position",
                    "posters", "scene"],
        reasoning=["code_reasoning", "commonsense_reasoning", "numerical_calculation", "text_translation"],
    )  # fmt: skip
    ret = {}
    for sc, cate_list in super_cates.items():
        base = 0
        for c in cate_list:
            base += scores[c]
        ret[sc] = base
    ret.update(scores)
    return ret


# --------------------------------------------------------------------------------------------------
# RefCOCO: refcoco.py's RefCOCODataset static methods (numpy as there; None where it gives None)


def refcoco_parse_prediction(text):
    import numpy as np

    if not isinstance(text, str):
        return None
    number_pattern = r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?"
    separator_pattern = r"(?:\s*,\s*|\s+)"
    bbox_regex = re.compile(
        rf"\[\s*({number_pattern})"
        rf"{separator_pattern}({number_pattern})"
        rf"{separator_pattern}({number_pattern})"
        rf"{separator_pattern}({number_pattern})\s*\]"
    )
    for match in bbox_regex.finditer(text):
        try:
            coords = np.array([float(match.group(i)) for i in range(1, 5)], dtype=float)
        except ValueError:
            continue
        if not np.isnan(coords).any():
            return coords
    matches = re.findall(number_pattern, text)
    if len(matches) < 4:
        return None
    return np.array([float(x) for x in matches[:4]], dtype=float)


def refcoco_to_absolute(coords, width, height):
    import numpy as np

    if coords is None or np.any(np.isnan(coords)) or width <= 0 or height <= 0:
        return None
    coords = coords.astype(float)[:4]
    max_val = float(np.max(np.abs(coords)))
    if max_val <= 1.5:
        coords[0::2] *= width
        coords[1::2] *= height
    elif max_val <= 1000:
        coords[0::2] = coords[0::2] / 1000.0 * width
        coords[1::2] = coords[1::2] / 1000.0 * height
    coords[0] = np.clip(coords[0], 0, width)
    coords[2] = np.clip(coords[2], 0, width)
    coords[1] = np.clip(coords[1], 0, height)
    coords[3] = np.clip(coords[3], 0, height)
    if coords[2] < coords[0]:
        coords[0], coords[2] = coords[2], coords[0]
    if coords[3] < coords[1]:
        coords[1], coords[3] = coords[3], coords[1]
    return coords


def refcoco_iou(box1, box2):
    x_left = max(box1[0], box2[0])
    y_top = max(box1[1], box2[1])
    x_right = min(box1[2], box2[2])
    y_bottom = min(box1[3], box2[3])
    if x_right <= x_left or y_bottom <= y_top:
        return 0.0
    inter = (x_right - x_left) * (y_bottom - y_top)
    area1 = max(box1[2] - box1[0], 0) * max(box1[3] - box1[1], 0)
    area2 = max(box2[2] - box2[0], 0) * max(box2[3] - box2[1], 0)
    union = area1 + area2 - inter
    if union <= 0:
        return 0.0
    return inter / union
