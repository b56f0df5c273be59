"""VQA accuracy as the official GT-Vision-Lab/VQA evaluation computes it (``vqaEval.py``), in its variants.

Definition, per question with human answers a_1..a_n (usually 10): for each i, min(1, #{j != i : a_j ==
prediction} / 3) (leave-one-out by answer index); the question's accuracy is the mean over i. Overall and
per answer/question type: the mean over questions x 100, rounded to 2 decimals as the official Python 2
script rounds (half away from zero); the unrounded means are kept too. Scale 0-100.

Normalisation (``VqaNormalization``) is the script's: ``processPunctuation`` (21 marks; if the text contains
a digit-comma-digit anywhere, every mark is deleted instead of replaced by a space; periods not followed by
a digit are deleted, at most 32 of them because the script passes ``re.UNICODE`` (32) as ``count``), then
``processDigitArticle`` (lower case, number words to digits, articles dropped, its contraction table, whose
capitalised keys such as "Im" can never match after lower-casing). Which side gets which step depends on
the variant (``VARIANTS``), and the signature records it:

- ``official-2021`` (GT-Vision-Lab/VQA a013f00, the current script): answers and prediction have \\n, \\t
  turned into spaces and are stripped; when the answers are not all identical, all are fully normalised;
  when they are, the stripped strings are compared as they are.
- ``official-2017`` (a4f1afd, vendored by LAVIS): the prediction is always fully normalised; the answers
  are not stripped, and get punctuation processing only, only when not all identical.
- ``harness`` (VLMEvalKit e8e78f0's ``process_answer`` and ``hit_calculate``): both sides always stripped and
  fully normalised, with VLMEvalKit's own period rule, a real look-behind (``(?<!\\d)\\.(?!\\d)``: "10." stays
  "10.", which the official script makes "10"); a question's score and the overall are ``np.mean`` (pairwise
  summation), the overall times 100 after the mean, as VLMEvalKit computes them.

Each distinct string is normalised once per run. ``vqa_scores`` also gives each question's number of
matching answers, which decides whether it failed (``vlmeval.metrics.errors``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's",
    "howd": "how'd", "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll",
    "let's": "let's", "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've",
    "mightn'tve": "mightn't've", "mightve": "might've", "mustnt": "mustn't", "mustve": "must've",
    "neednt": "needn't", "notve": "not've", "oclock": "o'clock", "oughtnt": "oughtn't",
    "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at", "shant": "shan't",
    "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", "shouldve": "should've",
    "shouldnt": "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd", "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've", "therere": "there're",
    "theres": "there's", "theyd": "they'd", "theyd've": "they'd've", "they'dve": "they'd've",
    "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas", "wasnt": "wasn't",
    "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've", "werent": "weren't", "whatll": "what'll",
    "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll",
    "whyre": "why're", "whys": "why's", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll",
    "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll", "youre": "you're",
    "youve": "you've",
}  # fmt: skip
NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
ARTICLES = frozenset(["a", "an", "the"])
PUNCTUATION = [
    ";",
    "/",
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
# The official scripts run under Python 2: their expressions have no re.UNICODE there, so \d is [0-9] ("3.５"
# loses its period, "2,３" keeps its comma), and unicode.split()/strip() also break at U+180E (a space in
# Python 2.7's Unicode 5.2, a format character since 6.3). The harness (VLMEvalKit) runs under Python 3.
# "(?!<=\d)" was meant as a look-behind; it is a look-ahead that always holds before a period
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)", re.ASCII)
_PERIOD_STRIP_VLMEVALKIT = re.compile(r"(?<!\d)\.(?!\d)")  # VLMEvalKit's smp/misc.py wrote the look-behind
_COMMA_STRIP = re.compile(r"(\d)(\,)(\d)", re.ASCII)
_COMMA_STRIP_VLMEVALKIT = re.compile(r"(\d)(\,)(\d)")
_PERIOD_LIMIT = 32  # the script passes re.UNICODE (== 32) where Pattern.sub expects ``count``
_PY2_SPACE = "\u180e"  # whitespace to Python 2's unicode methods, not to Python 3's


def _split(text: str, py2: bool) -> list[str]:
    return (text.replace(_PY2_SPACE, " ") if py2 and _PY2_SPACE in text else text).split()


def _strip(text: str, py2: bool) -> str:
    text = text.strip()
    if py2:
        while text[:1] == _PY2_SPACE or text[-1:] == _PY2_SPACE:
            text = text.strip(_PY2_SPACE).strip()
    return text


def process_punctuation(text: str, periods: re.Pattern | None = None, commas: re.Pattern | None = None) -> str:
    r"""The script's processPunctuation; ``periods``, ``commas``: the harness's rules (Python 3's \d)."""
    out = text
    delete_all = (commas or _COMMA_STRIP).search(text) is not None
    for mark in PUNCTUATION:
        # tested against the original text, as the script does
        if delete_all or (mark + " " in text or " " + mark in text):
            out = out.replace(mark, "")
        else:
            out = out.replace(mark, " ")
    return (periods or _PERIOD_STRIP).sub("", out, _PERIOD_LIMIT)


def process_digit_article(text: str, py2: bool = True) -> str:
    words = [NUMBER_WORDS.get(w, w) for w in _split(text.lower(), py2)]
    return " ".join(CONTRACTIONS.get(w, w) for w in words if w not in ARTICLES)


def _clean(text: str, py2: bool = True) -> str:
    return _strip(text.replace("\n", " ").replace("\t", " "), py2)


@dataclass(frozen=True)
class VqaNormalization:
    """How one variant prepares the prediction and the answers before comparing them."""

    name: str
    reference: str
    answers_stripped: bool  # \n, \t -> space, then strip()
    split_answers: str  # when the answers are not all identical: "full", "punctuation"
    unanimous_answers: str  # when they are: "raw", "full"
    prediction_split: str  # the prediction when the answers are not all identical: "full"
    prediction_unanimous: str  # ... when they are: "raw" (stripped) or "full"
    periods: str = "official"  # the period rule: "official" (the script's) or "vlmevalkit" (a look-behind)
    mean: str = "sum"  # how scores are averaged: "sum" (left to right, / n) or "numpy" (np.mean)
    python2: bool = True  # the reference reads text as Python 2 (its \d, its whitespace; above)

    def signature_fields(self) -> dict[str, str]:
        return {"variant": self.name, "parity": self.reference}


VARIANTS: dict[str, VqaNormalization] = {
    "official-2021": VqaNormalization("official-2021", "GT-Vision-Lab/VQA@a013f00", True, "full", "raw", "full", "raw"),
    "official-2017": VqaNormalization("official-2017", "GT-Vision-Lab/VQA@a4f1afd", False, "punctuation", "raw", "full", "full"),
    "harness": VqaNormalization("harness", "VLMEvalKit@e8e78f0 process_answer", True, "full", "full", "full", "full",
                                "vlmevalkit", "numpy", python2=False),
}  # fmt: skip


class _Cache:
    """Each distinct string normalised once per run."""

    def __init__(self, periods: str = "official", python2: bool = True) -> None:
        self.full: dict[str, str] = {}
        self.punct: dict[str, str] = {}
        self.py2 = python2
        self.periods = _PERIOD_STRIP_VLMEVALKIT if periods == "vlmevalkit" else _PERIOD_STRIP
        self.commas = _COMMA_STRIP if python2 else _COMMA_STRIP_VLMEVALKIT

    def apply(self, step: str, text: str) -> str:
        if step == "raw":
            return text
        table = self.full if step == "full" else self.punct
        out = table.get(text)
        if out is None:
            out = process_punctuation(text, self.periods, self.commas)
            if step == "full":
                out = process_digit_article(out, self.py2)
            table[text] = out
        return out


LEAVE_ONE_OUT = "index"  # each answer left out in turn, by its position (the script's loop)
ROUNDING = "py2-2dp"  # Python 2's round(x, 2)


def _leave_one_out(matches: tuple[bool, ...], mean: str = "sum") -> float:
    """Mean over i of min(1, #{j != i: a_j matches} / 3), summed in answer order as the script sums (or as
    ``np.mean`` sums: ``mean="numpy"``)."""
    total = sum(matches)
    accs = [min(1, float(total - m) / 3) for m in matches]
    if mean == "numpy":
        import numpy as np

        return float(np.mean(accs))
    return float(sum(accs)) / len(accs)


def full_normaliser() -> Callable[[str], str]:
    """VQA's full normalisation of one string (stripped, then the official script's punctuation, number
    words and articles), each distinct string normalised once."""
    cache = _Cache()
    return lambda text: cache.apply("full", _clean(text))


@dataclass(frozen=True)
class VqaScores:
    accuracy: list[float]  # per question, in [0, 1], unrounded
    matches: list[int]  # per question: the human answers equal to the prediction, as the variant compares


def vqa_accuracy_per_question(
    predictions: Sequence[str], answers: Sequence[Sequence[str]], variant: str = "official-2021"
) -> list[float]:
    """Per-question accuracy in [0, 1] (unrounded), for the named variant."""
    return vqa_scores(predictions, answers, variant).accuracy


def vqa_scores(
    predictions: Sequence[str], answers: Sequence[Sequence[str]], variant: str = "official-2021"
) -> VqaScores:
    """Per-question accuracy (unrounded) and how many human answers matched, for the named variant."""
    spec = VARIANTS[variant]
    cache = _Cache(spec.periods, spec.python2)
    loo: dict[tuple[bool, ...], tuple[float, int]] = {}
    out = []
    counts = []
    for pred, golds in zip(predictions, answers):
        if not golds:
            raise ValueError("a question needs at least one answer")
        golds = [_clean(a, cache.py2) for a in golds] if spec.answers_stripped else list(golds)
        unanimous = len(set(golds)) <= 1
        pred = _clean(pred, cache.py2)
        if unanimous:
            golds = [cache.apply(spec.unanimous_answers, a) for a in golds]
            pred = cache.apply(spec.prediction_unanimous, pred)
        else:
            golds = [cache.apply(spec.split_answers, a) for a in golds]
            pred = cache.apply(spec.prediction_split, pred)
        matches = tuple(g == pred for g in golds)
        found = loo.get(matches)
        if found is None:
            found = loo[matches] = (_leave_one_out(matches, spec.mean), sum(matches))
        out.append(found[0])
        counts.append(found[1])
    return VqaScores(out, counts)


def official_round(value: float, digits: int = 2) -> float:
    """Python 2's round(): to the nearest, halves away from zero, on the float's exact binary value."""
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP))


def mean_percent(scores: Sequence[float], mean: str = "sum") -> float:
    """100 * mean, summed left to right as the script sums (unrounded); ``mean="numpy"``: ``np.mean(scores) *
    100``, as VLMEvalKit computes its overall."""
    if not len(scores):
        return 0.0
    if mean == "numpy":
        import numpy as np

        return float(np.mean(np.asarray(scores, dtype=np.float64)) * 100)
    return 100 * float(sum(scores)) / len(scores)
