"""Reference implementations run as oracles (test-only dependencies). Numbers asserted against these
come from running them here, never from constants."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

LINE_BREAKS = str.maketrans({c: " " for c in "\r\x0b\x0c\u2028\u2029"})


def quietly(fn, *args, **kwargs):
    """pycocotools/pycocoevalcap print progress on stdout; keep test output readable."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def coco_caption_eval(ann_path: Path, res_path: Path, *, fix_line_breaks: bool = True, meteor: bool = True):
    """COCOEvalCap.evaluate() of pycocoevalcap 1.2, step for step, without SPICE (its CoreNLP models are a
    separate download). ``fix_line_breaks`` applies to the raw captions the one change vlmeval makes.

    Returns ``(corpus scores, per-image scores {metric: {image_id: score}}, tokenized gts, tokenized res)``.
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    from pycocotools.coco import COCO

    coco = quietly(COCO, str(ann_path))
    coco_res = quietly(coco.loadRes, str(res_path))
    gts, res = {}, {}
    for img_id in coco.getImgIds():
        gts[img_id] = [dict(a) for a in coco.imgToAnns[img_id]]
        res[img_id] = [dict(a) for a in coco_res.imgToAnns[img_id]]
        if fix_line_breaks:
            for ann in gts[img_id] + res[img_id]:
                ann["caption"] = ann["caption"].translate(LINE_BREAKS)
    tokenizer = PTBTokenizer()
    gts, res = quietly(tokenizer.tokenize, gts), quietly(tokenizer.tokenize, res)
    scorers = [(Bleu(4), ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4"]), (Rouge(), "ROUGE_L"), (Cider(), "CIDEr")]
    if meteor:
        scorers.insert(1, (Meteor(), "METEOR"))
    corpus, per_image = {}, {}
    for scorer, method in scorers:
        score, scores = quietly(scorer.compute_score, gts, res)
        for m, sc, scs in (
            zip(method, score, scores) if isinstance(method, list) else [(method, score, scores)]
        ):
            corpus[m] = sc
            per_image[m] = dict(zip(gts.keys(), scs))
    return corpus, per_image, gts, res


# --------------------------------------------------------------------------------------------------
# VQA: a line-by-line transcription of GT-Vision-Lab/VQA vqaEval.py (Python 2) in Python 3. Checked
# against the real scripts (a013f00 and a4f1afd, run with Python 2.7.18) on fixtures/vqa: the outputs
# in fixtures/vqa/official_outputs.json are theirs.


def _vqa_tables() -> dict:
    """The contraction table as the official script holds it (dumped from the running Python 2 script into
    fixtures/vqa/official_tables.json), so that oracle and vlmeval share no code or data."""
    import json

    path = Path(__file__).resolve().parents[2] / "fixtures" / "vqa" / "official_tables.json"
    return json.loads(path.read_text())["contractions"]


# Python 2.7's unicode.split()/strip() whitespace: Python 3's (its Unicode is newer) and U+180E, a space
# separator until Unicode 6.3
_PY2_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + "\u180e"


def _py2_split(text: str) -> list[str]:
    import re

    return [w for w in re.split("[" + re.escape(_PY2_WHITESPACE) + "]+", text) if w]


def _py2_strip(text: str) -> str:
    return text.strip(_PY2_WHITESPACE)


class OfficialVqaEval:
    """The script's evaluate() over dict-shaped annotations (answers as {"answer", "answer_id"} dicts)."""

    punct = [
        ";",
        r"/",
        "[",
        "]",
        '"',
        "{",
        "}",
        "(",
        ")",
        "=",
        "+",
        "\\",
        "_",
        "-",
        ">",
        "<",
        "@",
        "`",
        ",",
        "?",
        "!",
    ]
    manual_map = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                  "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}  # fmt: skip
    articles = ["a", "an", "the"]

    def __init__(self, version: str):
        import re

        self.version = version
        self.re = re
        # the script runs under Python 2, where these patterns (no re.UNICODE) take \d as [0-9]
        self.period_strip = re.compile(r"(?!<=\d)(\.)(?!\d)", re.ASCII)
        self.comma_strip = re.compile(r"(\d)(\,)(\d)", re.ASCII)
        self.contractions = _vqa_tables()

    def process_punctuation(self, in_text):
        out_text = in_text
        for p in self.punct:
            if (p + " " in in_text or " " + p in in_text) or (
                self.re.search(self.comma_strip, in_text) is not None
            ):
                out_text = out_text.replace(p, "")
            else:
                out_text = out_text.replace(p, " ")
        return self.period_strip.sub("", out_text, self.re.UNICODE)

    def process_digit_article(self, in_text, python2: bool = True):
        out_text = []
        for word in _py2_split(in_text.lower()) if python2 else in_text.lower().split():
            word = self.manual_map.setdefault(word, word)
            if word not in self.articles:
                out_text.append(word)
        for word_id, word in enumerate(out_text):
            if word in self.contractions:
                out_text[word_id] = self.contractions[word]
        return " ".join(out_text)

    def question_accuracy(self, gt_answers: list[dict], res_ans: str) -> float:
        gt_answers = [dict(a) for a in gt_answers]
        if self.version == "official-2021":
            for a in gt_answers:
                a["answer"] = _py2_strip(a["answer"].replace("\n", " ").replace("\t", " "))
        res_ans = _py2_strip(res_ans.replace("\n", " ").replace("\t", " "))
        if self.version == "official-2017":
            res_ans = self.process_digit_article(self.process_punctuation(res_ans))
        if len({a["answer"] for a in gt_answers}) > 1:
            for a in gt_answers:
                a["answer"] = self.process_punctuation(a["answer"])
                if self.version == "official-2021":
                    a["answer"] = self.process_digit_article(a["answer"])
            if self.version == "official-2021":
                res_ans = self.process_digit_article(self.process_punctuation(res_ans))
        gt_acc = []
        for datum in gt_answers:
            others = [item for item in gt_answers if item != datum]
            matching = [item for item in others if item["answer"] == res_ans]
            gt_acc.append(min(1, float(len(matching)) / 3))
        return float(sum(gt_acc)) / len(gt_acc)


def vlmevalkit_vqa_score(answers: list[str], prediction: str) -> float:
    """VLMEvalKit e8e78f0's process_line(method='vqa_score') and hit_calculate: both sides through
    process_answer (vlmeval/dataset/utils/vqa_eval.py, with smp/misc.py's process_punctuation, whose period
    rule is a real look-behind: a period after a digit stays, unlike the official script's), leave-one-out
    by index, the question's score np.mean of the list."""
    import re

    import numpy as np

    ev = OfficialVqaEval("harness")  # only its tables: the same manualMap, articles and contractions

    def process_punctuation(in_text):
        out_text = in_text
        comma_strip = re.compile(r"(\d)(,)(\d)")
        period_strip = re.compile(r"(?<!\d)\.(?!\d)")
        for p in ev.punct:
            if (p + " " in in_text or " " + p in in_text) or (re.search(comma_strip, in_text) is not None):
                out_text = out_text.replace(p, "")
            else:
                out_text = out_text.replace(p, " ")
        return period_strip.sub("", out_text, re.UNICODE)

    def process_answer(a):
        a = a.replace("\n", " ").replace("\t", " ").strip()
        return ev.process_digit_article(process_punctuation(a), python2=False)  # VLMEvalKit runs on Python 3

    gt = [process_answer(a) for a in answers]
    pred = process_answer(prediction)
    match = []
    for idx in range(len(gt)):
        others = [item for j, item in enumerate(gt) if j != idx]
        match.append(min(1, float(len([o for o in others if o == pred])) / 3))
    return np.mean(match)


def vlmevalkit_vqa_overall(hits: list[float]) -> float:
    """VLMEvalKit's ImageVQADataset.evaluate: ``ret['Overall'] = np.mean(hit) * 100`` (not rounded)."""
    import numpy as np

    return np.mean(hits) * 100


# --------------------------------------------------------------------------------------------------
# ANLS: the RRC DocVQA scorer's per-question logic (as in its evaluation script and lmms-eval's ``anls``),
# with its pure-Python Levenshtein distance.


def levenshtein_distance(s1: str, s2: str) -> int:
    if len(s1) > len(s2):
        s1, s2 = s2, s1
    distances = range(len(s1) + 1)
    for i2, c2 in enumerate(s2):
        row = [i2 + 1]
        for i1, c1 in enumerate(s1):
            row.append(distances[i1] if c1 == c2 else 1 + min(distances[i1], distances[i1 + 1], row[-1]))
        distances = row
    return distances[-1]


def rrc_anls(answers: list[str], prediction: str, threshold: float = 0.5) -> float:
    values = []
    for answer in answers:
        gt_answer = " ".join(answer.strip().lower().split())
        det_answer = " ".join(prediction.strip().lower().split())
        dist = levenshtein_distance(gt_answer, det_answer)
        length = max(len(answer.upper()), len(prediction.upper()))
        values.append(0.0 if length == 0 else float(dist) / float(length))
    result = 1 - min(values)
    return 0 if result < threshold else result


def mp_docvqa_anls(answers: list[str], prediction: str, threshold: float = 0.5) -> float:
    """rubenpt91/MP-DocVQA-Framework metrics.py ``Evaluator._calculate_anls`` (answer type 'string'):
    lower-cased and stripped, whitespace not collapsed; an empty prediction and the prediction "none" score
    0; similarity 1 - edit distance / the longer length, the best kept from ``threshold`` up."""
    gt = [answer.lower().strip() for answer in answers]
    pred = prediction.lower().strip()
    if len(pred) == 0:
        return 0
    if pred == "none":
        return 0
    best = max(1 - levenshtein_distance(g, pred) / max(len(g), len(pred)) for g in gt)
    return best if best >= threshold else 0


# --------------------------------------------------------------------------------------------------
# SQuAD v1.1 evaluate-v1.1.py: exact match and F1.


def squad_v11(prediction: str, answers: list[str]) -> tuple[float, float]:
    import re
    import string
    from collections import Counter

    def normalize(s):
        s = s.lower()
        s = "".join(ch for ch in s if ch not in set(string.punctuation))
        s = re.sub(r"\b(a|an|the)\b", " ", s)
        return " ".join(s.split())

    def f1(p, g):
        pt, gt = normalize(p).split(), normalize(g).split()
        common = Counter(pt) & Counter(gt)
        same = sum(common.values())
        if same == 0:
            return 0
        precision, recall = 1.0 * same / len(pt), 1.0 * same / len(gt)
        return (2 * precision * recall) / (precision + recall)

    em = max(float(normalize(prediction) == normalize(g)) for g in answers)
    return em, max(f1(prediction, g) for g in answers)


def clip_benchmark_recall(scores, positive_pairs, k: int, batch_size: int = 64) -> float:
    """CLIP_benchmark's retrieval recall (clip_benchmark/metrics/zeroshot_retrieval.py, v1.6): ``recall_at_k``
    over batches of query rows with torch.topk, then ``(recall > 0).float().mean()``. Restated here (the
    package pulls open_clip and torchvision); ``scores`` [queries, items], ``positive_pairs`` boolean."""
    import torch

    scores = torch.as_tensor(scores)
    positive_pairs = torch.as_tensor(positive_pairs)

    def recall_at_k(s, pos, k):
        nb_texts, nb_images = s.shape
        topk_indices = torch.topk(s, k, dim=1)[1]
        nb_positive = pos.sum(dim=1)
        topk_indices_onehot = torch.nn.functional.one_hot(topk_indices, num_classes=nb_images)
        positive_pairs_reshaped = pos.view(nb_texts, 1, nb_images)
        nb_true_positive = (topk_indices_onehot * positive_pairs_reshaped).sum(dim=(1, 2))
        return nb_true_positive / nb_positive

    results = [
        recall_at_k(scores[a : a + batch_size], positive_pairs[a : a + batch_size], k)
        for a in range(0, len(scores), batch_size)
    ]
    return (torch.cat(results) > 0).float().mean().item()


def pycocotools_eval(gt: dict, dets: list, max_dets: list | None = None, copy_inputs: bool = True):
    """pycocotools' COCOeval on bbox results: evaluate, then accumulate and summarize unless ``max_dets``
    is given (then only the per-image matches are wanted). pycocotools writes into the annotations and
    detections it is given, so they are copied unless the caller already did."""
    import copy

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if copy_inputs:
        gt, dets = copy.deepcopy(gt), copy.deepcopy(dets)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dets)
        evaluator = COCOeval(coco_gt, coco_dt, "bbox")
        if max_dets:
            evaluator.params.maxDets = max_dets
        evaluator.evaluate()
        if not max_dets:
            evaluator.accumulate()
            evaluator.summarize()
    return evaluator
