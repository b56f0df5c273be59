"""Error types: why a failed sample failed, one type per failure, by a deterministic rule per task. The
README's table lists them; each task declares its types with their rule (``Task.error_types``), and the
report gets ``failure_rate``, the ``error_type`` breakdown and each failure row's type from them.

Every function here returns, per sample, the first type (in the task's order) whose rule applies to a
failed sample, and None for a sample that did not fail or was not scored. What "failed" means is the
task's (below). Multiple choice and yes/no have theirs in ``vlmeval.metrics.choice.error_types``.
Refusals are ``vlmeval.metrics.yesno.REFUSAL``, the one list of refusal phrases.

- caption: a caption fails when a rule applies (``empty``, ``repetition``, ``hallucination`` with CHAIR,
  ``omission`` with references); CIDEr has no fixed bar, since its IDF comes from the evaluated corpus.
  Content words (``omission``): lower-cased runs of letters and digits, minus ``STOP_WORDS``, stemmed
  with METEOR 1.5's Snowball stemmer; the references' consensus is the content words at least half of an
  image's references use; a caption recalling less than ``OMISSION_RECALL`` of them omits.
- vqa: fewer than min(3, n) of the n human answers match the prediction as the variant compares them
  (the official bar for full credit, min(1, matches / 3); 3 matches of 10 score 0.9 only through the
  leave-one-out mean). Fewer matches are partial credit, but most humans answered otherwise.
- docvqa: ANLS below 1, the prediction is no gold answer after ANLS's normalisation; partial credit is
  what a near miss earns.
- grounding (records): a sample with a ground-truth box whose first predicted box scores IoU < T
  (``--iou``); samples without a ground-truth box are not scored. COCO detection: an image with a false
  positive or a missed box at ``--score-threshold`` and ``--iou`` (``vlmeval.metrics.detection``).
- retrieval: a query with no relevant item surely in the top K, K the smallest ``--k`` (R@K "any",
  under ``--ties`` average its expectation, below 1); queries left out (``--empty-queries skip``) are not
  scored.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from vlmeval.metrics.detection import LOOSE_IOU  # below it a box is on another object (TIDE's background)

CAPTION_TYPES = ("empty", "repetition", "hallucination", "omission")
VQA_TYPES = ("empty", "refusal", "unparseable", "format", "extra_words", "yes_no_flip", "wrong_number", "wrong_other")
DOCVQA_TYPES = ("empty", "refusal", "extra_words", "truncated", "near_miss", "wrong")
GROUNDING_TYPES = ("empty", "parse_failure", "degenerate_box", "wrong_object", "loose_box")
# per image, the first kind it has (a loose box or wrong class usually also leaves its object missed)
DETECTION_TYPES = ("loose_box", "wrong_class", "missed", "duplicate", "background")
RETRIEVAL_TYPES = ("low_rank", "miss")

OMISSION_RECALL = 0.5
LOOP_WORDS = 12  # repetition: a sequence of up to this many words (a short sentence) three times in a row
# function words, numbers and the fixed phrases of captions ("on top of", "in front of", "a group of"): what
# is left are the objects, attributes and actions a caption is about
STOP_WORDS = frozenset("""
a an the this that these those there here it its they them their he him his she her we you i my our
your one ones two three four five six seven eight nine ten several many some few lot lots each other another
all both any no not only just very much more most also too
of on in at to into onto from by with without for as over under above below near next top front back side
behind beside between through along across around up down out off away while during inside outside
and or but so then than if because
is are was were be been being am has have had having do does did doing can could will would may might
shall should must s
group couple pair bunch
image picture photo photograph view scene shows showing shown depicts depicting
""".split())

_WORD = re.compile(r"[^\W_]")  # a letter or digit: text holding none has no answer in it
_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")
_NOT_ALNUM = re.compile(r"[\W_]+")


def _named(codes: np.ndarray, names: Sequence[str]) -> list[str | None]:
    """Codes (0: no error, k: the k-th name) as the per-sample list the report keeps."""
    return np.array([None, *names], dtype=object)[codes].tolist()


def _is_empty(prediction: Any) -> bool:
    return not (prediction.strip() if isinstance(prediction, str) else prediction)


def _has_words(text: str, words: str) -> bool:
    """``words`` occurs in ``text`` as whole words (both normalised: words joined by single spaces)."""
    return bool(words) and f" {words} " in f" {text} "


# ---------------------------------------------------------------------------------------------- caption


ERROR_CHUNK = 10_000  # images whose words are held at once: memory stays bounded at any corpus size


def caption_error_types(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]] | None,
    hallucinated: Sequence[Sequence[str]] | None = None,
    consensus: ContentConsensus | None = None,
) -> list[str | None]:
    """``empty``; ``repetition`` (up to ``LOOP_WORDS`` words three times in a row: a generation loop);
    ``hallucination`` (CHAIR found an object the image's instances lack; only with ``hallucinated``, CHAIR's
    per-caption list); ``omission`` (recall of the references' consensus content words below
    ``OMISSION_RECALL``; only with references). None: none applies. ``consensus``: the references'
    ``ContentConsensus``, prepared once by an evaluator. Images are taken ``ERROR_CHUNK`` at a time."""
    n = len(predictions)
    codes = np.zeros(n, dtype=np.int64)
    if references is not None and consensus is None:
        consensus = ContentConsensus.of(references)
    for a in range(0, n, ERROR_CHUNK):
        b = min(a + ERROR_CHUNK, n)
        words = Words.of(predictions[a:b])
        if consensus is not None:
            part = consensus.parts[a // ERROR_CHUNK]
            codes[a:b][content_recall(words, consensus.stems, part) < OMISSION_RECALL] = 4
        repeating = _repeating(words, b - a)
        if hallucinated is not None:
            codes[a:b][np.fromiter((bool(h) for h in hallucinated[a:b]), dtype=bool, count=b - a)] = 3
        codes[a:b][repeating] = 2
    codes[np.fromiter((not p.strip() for p in predictions), dtype=bool, count=n)] = 1
    return _named(codes, CAPTION_TYPES)


_WORDS_OR_NUL = re.compile(r"[^\W_]+|\0")  # NUL: where the next text starts (the readers refuse NULs)


@dataclass
class Words:
    """Every word of every text, in order: lower-cased runs of letters and digits, found by one regular
    expression over all the texts joined (a million captions with their references in seconds)."""

    owner: np.ndarray  # the text each word is in (sorted)
    ids: np.ndarray  # its index in ``vocabulary``
    vocabulary: list[str]

    @classmethod
    def of(cls, texts: Sequence[str]) -> Words:
        tokens = _WORDS_OR_NUL.findall("\0".join(texts).lower())
        vocabulary = list(dict.fromkeys(tokens))
        index = {w: i for i, w in enumerate(vocabulary)}
        ids = np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        separator = index.get("\0", -1)
        is_word = ids != separator
        owner = np.cumsum(~is_word)[is_word]
        return cls(owner, ids[is_word], vocabulary)


def _repeating(words: Words, n: int) -> np.ndarray:
    """Texts 0..n-1 in which a sequence of up to ``LOOP_WORDS`` words comes three times in a row. For each
    length s that is a run of 2s words each equal to the word s later (in the same text); found with
    array operations, so long captions cost no more than short ones."""
    stop = int(np.searchsorted(words.owner, n))
    owner, ids = words.owner[:stop], words.ids[:stop]
    out = np.zeros(n, dtype=bool)
    positions = np.arange(stop)
    for size in range(1, LOOP_WORDS + 1):
        if stop <= size:
            break
        same = np.zeros(stop, dtype=bool)
        same[:-size] = (ids[:-size] == ids[size:]) & (owner[:-size] == owner[size:])
        # length of the run of equal pairs ending at each position
        run = positions - np.maximum.accumulate(np.where(same, -1, positions))
        out[owner[run >= 2 * size]] = True
    return out


@lru_cache(maxsize=1 << 20)
def content_stem(word: str) -> str | None:
    """The content word's stem (METEOR 1.5's Snowball stemmer; numbers as they are); None: a stop word."""
    from vlmeval.metrics.meteor_data import snowball_stem

    if word in STOP_WORDS:
        return None
    return word if word.isdigit() else snowball_stem(word)


def _stem_ids(words: Words, stems: dict[str, int], grow: bool) -> np.ndarray:
    """The stem id of each word (-1: a stop word, or a stem ``stems`` lacks when not ``grow``)."""
    table = []
    for w in words.vocabulary:
        stem = content_stem(w)
        table.append(-1 if stem is None else stems.setdefault(stem, len(stems)) if grow else stems.get(stem, -1))
    return np.array(table, dtype=np.int64)[words.ids] if len(words.ids) else np.zeros(0, dtype=np.int64)


@dataclass
class Consensus:
    """One chunk of images' consensus stems: sorted keys ``image * width + stem`` (image within the chunk)."""

    keys: np.ndarray
    wanted: np.ndarray  # consensus stems per image
    width: int  # stem ids below it (the stems known when the chunk was counted)


@dataclass
class ContentConsensus:
    """The references' side of ``omission``, computed once: per image, the content stems at least half of its
    references use, chunk by chunk of ``ERROR_CHUNK`` images (``parts``), stem ids shared (``stems``)."""

    stems: dict[str, int]
    parts: list[Consensus]

    @classmethod
    def of(cls, references: Sequence[Sequence[str]]) -> ContentConsensus:
        stems: dict[str, int] = {}
        parts = []
        for a in range(0, max(len(references), 1), ERROR_CHUNK):
            refs = [r or [] for r in references[a : a + ERROR_CHUNK]]
            n = len(refs)
            counts = np.fromiter((len(r) for r in refs), dtype=np.int64, count=n)
            words = Words.of([r for rs in refs for r in rs])
            stem = _stem_ids(words, stems, grow=True)
            width = max(len(stems), 1)
            content = stem >= 0
            used = np.unique(words.owner[content] * width + stem[content])  # distinct (reference, stem)
            image = np.repeat(np.arange(n, dtype=np.int64), counts)[used // width]
            # how many of an image's references use each stem
            per_image, uses = np.unique(image * width + used % width, return_counts=True)
            keys = per_image[uses >= np.ceil(counts[per_image // width] / 2)]
            parts.append(Consensus(keys, np.bincount(keys // width, minlength=n), width))
        return cls(stems, parts)


def content_recall(words: Words, stems: dict[str, int], part: Consensus) -> np.ndarray:
    """Per text of ``words`` (a caption per image of ``part``), the share of its references' consensus
    content words it uses; NaN where there is no consensus."""
    n, width = len(part.wanted), part.width
    stem = _stem_ids(words, stems, grow=False)
    content = (stem >= 0) & (stem < width)  # a stem first seen in a later chunk is in no consensus here
    used = np.unique(words.owner[content] * width + stem[content])  # distinct (caption, stem)
    if len(part.keys):
        at = np.minimum(np.searchsorted(part.keys, used), len(part.keys) - 1)
        hit = part.keys[at] == used
    else:
        hit = np.zeros(len(used), dtype=bool)
    found = np.bincount(used[hit] // width, minlength=n)[:n]
    with np.errstate(invalid="ignore"):
        return np.where(part.wanted > 0, found / np.maximum(part.wanted, 1), np.nan)


# -------------------------------------------------------------------------------------------------- vqa


def vqa_error_types(
    predictions: Sequence[str], answers: Sequence[Sequence[str]], matches: Sequence[int], answered: Sequence[bool]
) -> list[str | None]:
    """Per question: failed when fewer than min(3, n) of its n answers matched (``matches``, as the variant
    compared them; a missing prediction always); then the first of ``VQA_TYPES`` that applies. Answers
    and prediction are compared here after VQA's full normalisation (``full_normaliser``), and "the humans'
    answer" is the most common normalised answer (the first such in answer order on a tie)."""
    from vlmeval.metrics.vqa import full_normaliser
    from vlmeval.metrics.yesno import REFUSAL

    full = full_normaliser()
    normalised: dict[str, str] = {}  # the raw string -> its normalisation, one lookup per answer
    seen = normalised.get
    read: dict[str, int | str] = {}  # a distinct prediction -> the code of its form, or its normalisation
    codes = np.zeros(len(predictions), dtype=np.int64)
    bars = np.fromiter((min(3, len(a)) for a in answers), dtype=np.int64, count=len(answers))
    failed = (np.asarray(matches, dtype=np.int64) < bars) | ~np.asarray(answered, dtype=bool)
    for i in np.flatnonzero(failed).tolist():
        prediction = predictions[i]
        form = read.get(prediction)
        if form is None:
            form = read[prediction] = _vqa_form(prediction, REFUSAL) or full(prediction)
        if isinstance(form, int):
            codes[i] = form
            continue
        golds = [seen(a) or normalised.setdefault(a, full(a)) for a in answers[i]]
        codes[i] = _vqa_content_code(form, Counter(golds), int(bars[i]))
    return _named(codes, VQA_TYPES)


def _vqa_form(prediction: str, refusal: re.Pattern) -> int:
    """``empty``, ``refusal``, ``unparseable`` (1-3), whatever the answers; 0 for none of them."""
    if not prediction.strip():
        return 1
    if refusal.search(prediction):
        return 2
    return 0 if _WORD.search(prediction) else 3


def _vqa_content_code(prediction: str, answers: Counter, bar: int) -> int:
    if answers.get(prediction, 0) >= bar:
        return 4  # format: a passing answer once both sides are normalised
    if any(k >= bar and _has_words(prediction, a) for a, k in answers.items()):
        return 5  # extra_words
    top = answers.most_common(1)[0][0]
    first = prediction.split(" ", 1)[0]
    if top in ("yes", "no") and first in ("yes", "no") and first != top:
        return 6
    return 7 if _NUMBER.fullmatch(top) else 8


# ----------------------------------------------------------------------------------------------- docvqa


def docvqa_error_types(
    predictions: Sequence[str], answers: Sequence[Sequence[str]], anls: Sequence[float]
) -> list[str | None]:
    """Per question: failed when its ANLS is below 1; then the first of ``DOCVQA_TYPES`` that applies.
    Strings are compared after ANLS's normalisation (strip, lower case, collapsed spaces)."""
    from vlmeval.metrics.anls import normalise
    from vlmeval.metrics.yesno import REFUSAL

    scores = np.asarray(anls, dtype=np.float64)
    codes = np.zeros(len(predictions), dtype=np.int64)
    for i in np.flatnonzero(scores < 1).tolist():
        prediction = predictions[i]
        p = normalise(prediction)
        golds = [normalise(a) for a in answers[i]]
        if not p:
            codes[i] = 1
        elif REFUSAL.search(prediction):
            codes[i] = 2
        elif any(_has_words(p, g) for g in golds):
            codes[i] = 3
        elif any(len(g) > len(p) and g.startswith(p) for g in golds):
            codes[i] = 4
        elif scores[i] > 0 or any(_NOT_ALNUM.sub("", g) == _NOT_ALNUM.sub("", p) for g in golds):
            codes[i] = 5  # near_miss: ANLS gave partial credit (similarity >= tau), or only punctuation differs
        else:
            codes[i] = 6
    return _named(codes, DOCVQA_TYPES)


# -------------------------------------------------------------------------------------------- grounding


def grounding_error_types(
    predictions: Sequence[Any],
    rated: np.ndarray,
    parsed: np.ndarray,
    degenerate: np.ndarray,
    ious: np.ndarray,
    threshold: float,
) -> list[str | None]:
    """Per referring sample: failed when it has a ground-truth box (``rated``) and its first box scores IoU
    below ``threshold``; then ``empty`` (no output), ``parse_failure`` (no box parsed), ``degenerate_box``
    (the first box has no area once fixed), ``wrong_object`` (IoU < 0.1), ``loose_box``."""
    failed = rated & (ious < threshold)
    unparsed = failed & ~parsed
    empty = np.zeros(len(failed), dtype=bool)
    for i in np.flatnonzero(unparsed).tolist():
        empty[i] = _is_empty(predictions[i])
    codes = np.select(
        [~failed, empty, unparsed, degenerate, ious < LOOSE_IOU], [0, 1, 2, 3, 4], default=5
    )
    return _named(codes, GROUNDING_TYPES)


def detection_error_types(image_ids: Sequence[Any], errors: dict[Any, set[str]]) -> list[str | None]:
    """Per image: the first of ``DETECTION_TYPES`` among its errors at the threshold
    (``ThresholdCounts.errors``), None without one."""
    order = {name: k for k, name in enumerate(DETECTION_TYPES, start=1)}
    codes = np.array(
        [min((order[e] for e in errors.get(i, ())), default=0) for i in image_ids], dtype=np.int64
    )
    return _named(codes, DETECTION_TYPES)


# -------------------------------------------------------------------------------------------- retrieval


def retrieval_error_types(hit_first: np.ndarray, hit_last: np.ndarray) -> list[str | None]:
    """Per query, from R@K "any" at the smallest (``hit_first``) and the largest (``hit_last``) cut-off:
    failed when ``hit_first`` < 1; ``low_rank`` when a relevant item is surely in the top of the largest
    (``hit_last`` == 1), else ``miss``. NaN (not scored) is never a failure."""
    failed = hit_first < 1  # NaN compares false
    codes = np.where(failed, np.where(hit_last >= 1, 1, 2), 0)
    return _named(codes, RETRIEVAL_TYPES)


def type_breakdown(types: Sequence[str | None]) -> dict[str, dict[str, float]]:
    """Count and share of each type among the failures, most frequent first (the report's ``error_type``
    breakdown; for a second retrieval direction, its own)."""
    kinds = Counter(t for t in types if t is not None)
    failed = sum(kinds.values())
    return {kind: {"count": n, "share": n / failed} for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))}


def omission_fields() -> dict[str, str]:
    """The caption rule's constants, for the failure_rate signature."""
    return {"stop": f"{len(STOP_WORDS)}w", "recall": f"<{OMISSION_RECALL:g}", "stem": "snowball-meteor1.5"}
