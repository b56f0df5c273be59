"""Yes/no scoring (POPE, MME, and yes/no benchmarks generally): a label pulled out of the model's text by a
named rule, then accuracy, precision, recall, F1 and yes ratio with "yes" the positive class (as POPE has
it), per category; MME's acc+ and score when the records are MME's.

Rules (``RULES``):

- ``pope`` (default): POPE's ``evaluate.py`` (AoiDragon/POPE 08d957b, unchanged since f3ec604): the text
  before the first '.', commas removed, split on single spaces; a word "No", "not" or "no" (exactly these,
  case-sensitive: "NO" and "Not sure" are yes) makes it no, anything else (empty included) is yes.
  Never unparsed.
- ``vlmevalkit``: VLMEvalKit's ``YOrN_Extraction`` without a judge (open-compass/VLMEvalKit e8e78f0,
  ``vlmeval/dataset/utils/yorn.py``): lower-cased, its ``process_punctuation`` (the VQA punctuation
  rule, with its quirk of removing only the first 32 periods), split on whitespace; yes if the word "yes"
  occurs and "no" does not, no for the converse, else Unknown: unparsed here, and scored as VLMEvalKit
  scores it (wrong, and not a yes: a false negative when the answer is yes).
- ``exact``: lmms-eval's POPE rule (``lmms_eval/tasks/pope/utils.py``): the whole answer, lower-cased and
  stripped, must be "yes" or "no"; anything else is unparsed.
- ``mme``: MME's ``calculation.py`` (BradyFU/Awesome-Multimodal-Large-Language-Models, Evaluation branch,
  tools/eval_tool.zip, 1c1d69e): lower-cased, not stripped; the whole answer "yes"/"no", else its first
  four characters: "yes" among them -> yes, else "no" among them -> no ("not sure", "none" and "know"
  are no), else 'other': unparsed. (The script reads each response with its line end, so the
  whole-answer test only ever matches a file's last line; the four-character test gives the same label.)
  lmms-eval's MME parser differs: it strips, removes every '.', and reads a lone "y"/"n" as yes/no.

Unparsed answers (``unparsed``) are wrong; they are neither yes nor no: never a true or false positive,
a false negative when the answer is yes, never a true negative. Zero denominators give 0 (POPE's
script raises ZeroDivisionError; VLMEvalKit and lmms-eval return 0).

Metrics (0-100): ``accuracy``, ``precision`` = TP/(TP+FP), ``recall`` = TP/(TP+FN), ``f1``, ``yes_ratio``
= the share of *predictions* that are yes (POPE's definition; lmms-eval's ``pope_yes_ratio`` counts the
ground-truth answers instead, a bug: it is 50 on every balanced POPE split whatever the model says).
lmms-eval's ``pope_recall`` also leaves answers that are neither yes nor no out of FN. VLMEvalKit's
``POPE_rating`` splits a comma-separated ``category`` and counts a question once per category in its
overall numbers; here each question counts once.

MME (records with ``image`` and an MME subtask as ``category``): per subtask acc (questions right) and
acc+ (images whose questions are all right; MME has two per image), the subtask's score 100 * (acc +
acc+), and ``mme_score`` their sum over the subtasks present, also split into ``mme_perception`` (10
subtasks, at most 2000) and ``mme_cognition`` (4, at most 800), as calculation.py sums them
(lmms-eval's ``mme_aggregate_results`` averages acc + acc+ per image, the same number for pairs).
``acc_plus`` is over all images. calculation.py pairs the two questions of an image as two consecutive
lines; here they are paired by (category, image), as VLMEvalKit's ``MME_rating`` pairs them.

Also per sample, whichever rule scores it: ``judge_vlmevalkit``, the answers VLMEvalKit's
``YOrN_Extraction`` reads as Unknown (with a judge model configured, VLMEvalKit asks it, up to five times,
and keeps Unknown, wrong, after that: it never draws at random), and ``refused``, the answers that decline
to say (vlmeval's rule, ``REFUSAL``, case-insensitive words: "sorry", "not sure", "unsure", "hard to tell",
"unable to", "don't know", "cannot/can't/could not tell|determine|say|help|process"; it covers VLMEvalKit's
four refusal phrases). POPE's rule reads most refusals as no ("not", "no" in them), "It is hard to tell"
as yes.

Per sample: tp, fp, fn, tn, unparsed (0/1), for bootstrap intervals; per MME image: right (questions
right), size (questions) and hit (0/1). Intervals of ``acc_plus`` and the MME scores resample images
(``mme_estimator``): each subtask's acc and acc+ are ratios of per-image sums, recomputed on every
resample; a subtask that a resample happens to miss contributes 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RULES = ("pope", "vlmevalkit", "exact", "mme")
DEFAULT_RULE = "pope"
# what each rule reproduces, as signatures name it (``parity:``)
REFERENCES = {"pope": "POPE-evaluate.py@08d957b", "vlmevalkit": "VLMEvalKit-YOrN_Extraction@e8e78f0",
              "exact": "lmms-eval-pope@75571cf", "mme": "MME-calculation.py@1c1d69e"}  # fmt: skip
POSITIVE = "yes"  # the positive class of precision/recall (POPE's)
UNPARSED_SCORE = "wrong-not-yes"  # an unparsed answer: wrong, never a positive
ZERO_DIVISION = "0"
MME_PAIRING = "category+image"  # how acc+ finds the questions of one image
MME_REFERENCE = "MME-calculation.py@1c1d69e"
# answers that decline to say; covers VLMEvalKit's four refusal phrases (its multiple-choice 'Z')
REFUSAL = re.compile(
    r"(?i)\b(?:sorry|not sure|unsure|hard to tell|unable to|(?:do not|don't|don’t) know"
    r"|(?:cannot|can't|can’t|could not|couldn't) (?:tell|determine|say|help|process))\b"
)

MME_PERCEPTION = ("existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark",
                  "artwork", "OCR")  # fmt: skip
MME_COGNITION = ("commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning")
MME_SUBTASKS = MME_PERCEPTION + MME_COGNITION


def _pope(text: str) -> str:
    if "." in text:
        text = text.split(".")[0]
    words = text.replace(",", "").split(" ")
    return "no" if ("No" in words or "not" in words or "no" in words) else "yes"


# VLMEvalKit's process_punctuation (the VQA script's rule): a punctuation mark is deleted when it touches
# a space or the text has a digit,digit comma, else it becomes a space; then up to 32 periods not next to
# a digit go (``periodStrip.sub('', text, re.UNICODE)``: re.UNICODE = 32 is the count argument)
_VK_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",",
             "?", "!")  # fmt: skip
_COMMA_STRIP = re.compile(r"(\d)(,)(\d)")
_PERIOD_STRIP = re.compile(r"(?<!\d)\.(?!\d)")
_PERIOD_COUNT = int(re.UNICODE)


def _process_punctuation(text: str) -> str:
    out = text
    digit_comma = _COMMA_STRIP.search(text) is not None
    for p in _VK_PUNCT:
        if p not in out:
            continue  # nothing to replace (the decision below only reads the original text)
        if digit_comma or (p + " " in text or " " + p in text):
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD_STRIP.sub("", out, _PERIOD_COUNT)


def _vlmevalkit(text: str) -> str | None:
    words = _process_punctuation(text.lower()).split()
    yes, no = "yes" in words, "no" in words
    if yes and not no:
        return "yes"
    if no and not yes:
        return "no"
    return None


def _exact(text: str) -> str | None:
    text = text.lower().strip()
    return text if text in ("yes", "no") else None


def _mme(text: str) -> str | None:
    text = text.lower()
    if text in ("yes", "no"):
        return text
    prefix = text[:4]
    if "yes" in prefix:
        return "yes"
    if "no" in prefix:
        return "no"
    return None


_RULE_FUNCTIONS = {"pope": _pope, "vlmevalkit": _vlmevalkit, "exact": _exact, "mme": _mme}


def _check_rule(rule: str) -> None:
    if rule not in _RULE_FUNCTIONS:
        raise ValueError(f"unknown yes/no rule {rule!r}: use one of {', '.join(RULES)}")


_LABEL_CODES = {None: 0, "yes": 1, "no": 2}
_CODE_LABELS = (None, "yes", "no")


def parse_yesno(prediction: str, rule: str = DEFAULT_RULE) -> str | None:
    """'yes', 'no', or None (the rule cannot tell)."""
    _check_rule(rule)
    if not isinstance(prediction, str):
        raise ValueError(f"a prediction must be text, got {type(prediction).__name__}")
    return _RULE_FUNCTIONS[rule](prediction)


def _summary(tp: int, fp: int, fn: int, tn: int, n: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": 100.0 * (tp + tn) / n if n else 0.0,
        "precision": 100.0 * precision,
        "recall": 100.0 * recall,
        "f1": 100.0 * f1,
        "yes_ratio": 100.0 * (tp + fp) / n if n else 0.0,
    }


@dataclass
class MmeScores:
    """MME per subtask and per image (the pairs)."""

    subtasks: dict[str, dict[str, float]]  # subtask -> acc, acc_plus, score (percent), questions, images
    image_keys: list[tuple[str, str]]  # (category, image)
    image_hit: np.ndarray  # 0/1: every question of the image right
    image_size: np.ndarray  # questions per image (MME: 2)
    image_right: np.ndarray  # questions of the image answered right

    @property
    def perception(self) -> float:
        return sum(v["score"] for k, v in self.subtasks.items() if k in MME_PERCEPTION)

    @property
    def cognition(self) -> float:
        return sum(v["score"] for k, v in self.subtasks.items() if k in MME_COGNITION)

    @property
    def unpaired(self) -> int:
        return int((self.image_size != 2).sum())

    def image_ids(self) -> list[str]:
        return [f"{category}/{image}" for category, image in self.image_keys]

    def stats(self) -> dict[str, list]:
        """Per image: its subtask, questions right, questions, hit; what ``mme_estimator`` reads back."""
        return {
            "subtask": [category for category, _ in self.image_keys],
            "right": self.image_right.tolist(),
            "size": self.image_size.tolist(),
            "hit": self.image_hit.tolist(),
        }


@dataclass
class YesNoScores:
    """Per-sample sufficient statistics of one rule (``labels``: 'yes', 'no' or None)."""

    rule: str
    labels: list[str | None]
    truth: np.ndarray  # 1 = yes
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray
    unparsed: np.ndarray
    judge_vlmevalkit: np.ndarray  # 0/1: VLMEvalKit's YOrN_Extraction says Unknown (its judge's turn)
    refused: np.ndarray  # 0/1: the answer declines to say (REFUSAL)
    mme: MmeScores | None = None

    def __len__(self) -> int:
        return len(self.truth)

    @property
    def correct(self) -> np.ndarray:
        return self.tp + self.tn

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = _summary(
            int(self.tp.sum()), int(self.fp.sum()), int(self.fn.sum()), int(self.tn.sum()), len(self.truth)
        )
        out["unparsed"] = int(self.unparsed.sum())
        if self.mme is not None:
            hit = self.mme.image_hit
            out["acc_plus"] = float(100.0 * hit.mean()) if len(hit) else 0.0
            out["mme_score"] = float(sum(v["score"] for v in self.mme.subtasks.values()))
            out["mme_perception"] = float(self.mme.perception)
            out["mme_cognition"] = float(self.mme.cognition)
        return out


def score_yesno(
    predictions: Sequence[str],
    answers: Sequence[str],
    *,
    rule: str = DEFAULT_RULE,
    categories: Sequence[str | None] | None = None,
    images: Sequence[str | None] | None = None,
) -> YesNoScores:
    """Label and score every sample. ``answers``: 'yes'/'no' (any case). MME's acc+ and score are added
    when ``images`` is given and every ``category`` is an MME subtask."""
    _check_rule(rule)
    n = len(predictions)
    if len(answers) != n:
        raise ValueError("predictions and answers must have the same length")
    fn_rule = _RULE_FUNCTIONS[rule]
    # per distinct prediction: (label, VLMEvalKit's judge would be asked, a refusal) as a code
    cache: dict[str, int] = {}
    codes = np.empty(n, dtype=np.int8)
    for i, p in enumerate(predictions):
        code = cache.get(p)
        if code is None:
            if not isinstance(p, str):
                raise ValueError(f"row {i}: a prediction must be text, got {type(p).__name__}")
            label = fn_rule(p)
            code = cache[p] = (
                _LABEL_CODES[label] | (4 if _vlmevalkit(p) is None else 0) | (8 if REFUSAL.search(p) else 0)
            )
        codes[i] = code
    labels = list(map(_CODE_LABELS.__getitem__, (codes & 3).tolist()))
    truth = np.empty(n, dtype=np.int8)
    for i, a in enumerate(answers):
        a = a.strip().lower() if isinstance(a, str) else a
        if a not in ("yes", "no"):
            raise ValueError(f"row {i}: the answer must be yes or no, got {answers[i]!r}")
        truth[i] = a == "yes"
    said_yes = ((codes & 3) == 1).astype(np.int8)
    said_no = ((codes & 3) == 2).astype(np.int8)
    scores = YesNoScores(
        rule=rule,
        labels=labels,
        truth=truth,
        tp=said_yes & truth,
        fp=said_yes & (1 - truth),
        fn=(1 - said_yes) & truth,
        tn=said_no & (1 - truth),
        unparsed=(1 - said_yes - said_no).astype(np.int8),
        judge_vlmevalkit=((codes & 4) != 0).astype(np.int8),
        refused=((codes & 8) != 0).astype(np.int8),
    )
    return with_mme(scores, categories, images)


def with_mme(scores: YesNoScores, categories: Sequence[str | None] | None, images: Sequence[str | None] | None):
    """``scores`` with MME's acc+ and score when ``images`` is given and every category is an MME subtask."""
    if images is not None and categories is not None and len(scores) and all(c in MME_SUBTASKS for c in categories):
        scores.mme = mme_scores(scores.correct, categories, images)
    return scores


def mme_scores(
    correct: Sequence[int] | np.ndarray, categories: Sequence[str], images: Sequence[str]
) -> MmeScores:
    """MME's per subtask acc, acc+ and score from per-question correctness; images are paired within
    their subtask."""
    correct = np.asarray(correct, dtype=np.int64)
    if len(categories) != len(correct) or len(images) != len(correct):
        raise ValueError("one category and one image per question")
    code: dict[tuple[str, str], int] = {}
    row_image = np.fromiter(
        (code.setdefault((c, im), len(code)) for c, im in zip(categories, images)), dtype=np.int64,
        count=len(correct),
    )  # fmt: skip
    size = np.bincount(row_image, minlength=len(code))
    right = np.bincount(row_image, weights=correct, minlength=len(code))
    hit = (right == size).astype(np.int8)
    keys = list(code)
    subtasks: dict[str, dict[str, float]] = {}
    image_cat = np.array([c for c, _ in keys], dtype=object)
    row_cat = np.asarray(categories, dtype=object)
    for cat in dict.fromkeys(categories):
        q = row_cat == cat
        im = image_cat == cat
        acc = 100.0 * correct[q].mean()
        acc_plus = 100.0 * hit[im].mean()
        subtasks[cat] = {"acc": float(acc), "acc_plus": float(acc_plus), "score": float(acc + acc_plus),
                         "questions": int(q.sum()), "images": int(im.sum())}  # fmt: skip
    return MmeScores(subtasks, keys, hit, size, right.astype(np.int64))


def breakdown(scores: YesNoScores, labels: Sequence[str | None]) -> dict[str, dict[str, float]]:
    """The metrics per label (POPE's random/popular/adversarial, MME's subtasks), labels sorted; unlabelled
    rows are left out."""
    from vlmeval.metrics.choice import label_sums

    names, sums = label_sums(labels, len(scores), tp=scores.tp, fp=scores.fp, fn=scores.fn, tn=scores.tn,
                             unparsed=scores.unparsed)  # fmt: skip
    out: dict[str, dict[str, float]] = {}
    for j in sorted(range(len(names)), key=names.__getitem__):
        label, count = names[j], int(sums["count"][j])
        entry = _summary(*(int(sums[k][j]) for k in ("tp", "fp", "fn", "tn")), count)
        entry["unparsed"] = int(sums["unparsed"][j])
        entry["count"] = count
        if scores.mme is not None and label in scores.mme.subtasks:
            sub = scores.mme.subtasks[label]
            entry["acc_plus"] = sub["acc_plus"]
            entry["mme_score"] = sub["score"]
        out[label] = entry
    return out


def mme_estimator(report, key: str, arg: str | None):
    """The bootstrap estimator of ``acc_plus`` and the MME scores (``mme_score``; ``arg`` "perception" or
    "cognition" for ``mme_perception``/``mme_cognition``) over resampled images, from the report's
    ``stats["mme"]`` (``MmeScores.stats``) in the order of ``per_sample["mme_image_ids"]``; None when the report
    lacks them. acc+ is the share of resampled images that are hits; a subtask's acc and acc+ are ratios of
    the resampled per-image sums, and its score 100 * (acc + acc+)."""
    from vlmeval.report.bootstrap import Estimator

    mme = report.stats.get("mme") if isinstance(report.stats, dict) else None
    images = report.per_sample.get("mme_image_ids")
    if not isinstance(mme, dict) or not isinstance(images, list) or len(mme.get("hit", ())) != len(images):
        return None
    hit = np.asarray(mme["hit"], dtype=np.float64)
    if key == "acc_plus":
        return Estimator(
            np.stack([hit, np.ones_like(hit)], axis=1), lambda s: 100.0 * _ratio(s[..., 0], s[..., 1])
        )
    wanted = {"perception": MME_PERCEPTION, "cognition": MME_COGNITION}.get(arg or "", MME_SUBTASKS)
    subtask = np.asarray(mme["subtask"], dtype=object)
    right = np.asarray(mme["right"], dtype=np.float64)
    size = np.asarray(mme["size"], dtype=np.float64)
    columns = []
    for name in dict.fromkeys(mme["subtask"]):
        if name in wanted:
            member = (subtask == name).astype(np.float64)
            columns += [right * member, size * member, hit * member, member]
    if not columns:
        return Estimator(np.zeros((len(hit), 1)), lambda s: np.zeros(s.shape[:-1]))
    stats = np.stack(columns, axis=1)

    def score(s: np.ndarray) -> np.ndarray:
        per = s.reshape(*s.shape[:-1], -1, 4)  # [..., subtask, (right, questions, hits, images)]
        acc = _ratio(per[..., 0], per[..., 1]) + _ratio(per[..., 2], per[..., 3])
        return 100.0 * acc.sum(axis=-1)

    return Estimator(stats, score)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)
