"""Multiple-choice scoring (MMBench, MMMU, SEED-Bench, MMStar, AI2D, ScienceQA): a letter pulled out of the
model's free text by a named harness rule, then accuracy, CircularEval, and what could not be parsed.

Extraction rules (``RULES``; each is deterministic: no judge model, no random draw):

- ``vlmevalkit`` (default): VLMEvalKit's ``can_infer`` as its exact-matching mode runs it
  (open-compass/VLMEvalKit e8e78f0, ``vlmeval/utils/matching_util.py``), in this order:
  1. a refusal: the answer contains "Sorry, I can't help with images of people yet.", "I can't process
     this file.", "I'm sorry, but without the image provided" or "Cannot determine the answer" (case and
     punctuation as written) -> VLMEvalKit's 'Z', scored wrong, never sent to its judge (reason
     ``refusal``; on a 26-option question 'Z' is option Z, and VLMEvalKit scores it as that letter). An
     answer containing "Failed to obtain answer via API" skips the letter rules.
  2. option letters: ``.()[],:;!*#{}`` become spaces, the text is split on whitespace; if exactly one option
     letter is a token and its first occurrence is among the last four tokens (index > tokens - 5), that
     letter. No option letter but a lone token 'Z' -> 'Z' (reason ``answered_z``).
  3. "the answer is X": ``(?i)(?:correct\\s+)?answer\\s+is\\s+\\**([ABCD])\\**`` anywhere; only A-D, and
     case-insensitive, so "the answer is a dog" gives A (if A is an option).
  4. option text: unless the lower-cased answer is longer than twice the options' total length, the
     option whose lower-cased text is a substring of the answer, if exactly one is.
  Otherwise VLMEvalKit asks its judge model (``judge`` counts these); without a judge it records 'Z'
  (wrong; on a 26-option question that is option Z, a decision scored as that letter, as VLMEvalKit
  scores it). After three failed judge calls it draws from the letters + 'Z' with an unseeded
  ``random.choice``. The VERBOSE environment variable of VLMEvalKit (any value, even "0", makes an answer
  with a token 'A' and more than three tokens unparsed) is taken as unset.
- ``lmms-eval``: lmms-eval's MMMU parser (EvolvingLMMs-Lab/lmms-eval 75571cf,
  ``lmms_eval/tasks/_task_utils/mmmu_mcq_utils.py``, called by ``tasks/mmmu/utils.py``): the answer's ends
  stripped of , . ! ? ; : ' (one after the other), padded with spaces; candidates are the letters seen as
  "(X)", else "X " (anywhere: the "E " of "THE " counts), else "X."; else, on answers of more than five
  words, the options whose text occurs (case-insensitive); several candidates -> the one occurring last.
  No candidate: lmms-eval draws a random letter (unseeded); here that answer is unparsed and counted in
  ``draw``. The letters are the record's own (lmms-eval letters MMMU's option list from A).
- ``strict``: the stripped answer is one option letter, optionally as (X) or [X], optionally followed by
  a period: "B", "(B)", "B." ; "b", "Answer: B" and "**B**" are unparsed.

What a rule cannot resolve is **unparsed**: scored wrong (``vlmevalkit`` on a 26-option question: as 'Z',
VLMEvalKit's record; in CircularEval wrong), counted (``unparsed``) and credited 1/k (k the number of
options) in ``accuracy_chance_adjusted``, the expected accuracy had the harness drawn uniformly.
A VLMEvalKit refusal is a decision of that rule ('Z'), not unparsed. Each sample also says whether
VLMEvalKit would have asked its judge (``judge_vlmevalkit``), whether lmms-eval would have drawn at
random (``draw_lmms_eval``) and whether VLMEvalKit reads it as a refusal (``refused``: one of its four
phrases or a lone 'Z', 'Z' not being an option), whichever rule scores it.

Metrics (0-100 except counts): ``accuracy``, ``unparsed``, ``accuracy_chance_adjusted``, and with
rotations ``circular_accuracy``: MMBench's CircularEval, a question counted right only if every rotation
(the rows of one ``group``) is right. In VLMEvalKit files the group is ``index % 1000000`` and only groups
whose original row (index < 1000000) is present are counted, as ``mcq_circular_eval`` does; there,
without a judge, a group is right exactly when every rotation's ``can_infer`` letter is the answer.

Options: a dict of letters (A-Z) to text, or a list lettered A, B, ...; 2 to 26 options, letters in
alphabetical order (as VLMEvalKit's ``build_choices`` orders them).

Known deviations from the harnesses' pipelines (not their rules): option cells are the text as written
(VLMEvalKit reads TSV/XLSX with pandas, which turns "None", "NA", "nan" and empty cells into missing
options, numbers into 2 or 2.0, and an empty prediction into the string "nan").

Speed: every distinct (prediction, options) pair is extracted once; the short forms models produce most
("B", "(B)", "B.", "Answer: B", ...) resolve from a table built at import by running the rules themselves.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

RULES = ("vlmevalkit", "lmms-eval", "strict")
DEFAULT_RULE = "vlmevalkit"
# what each rule reproduces, as signatures name it (``parity:``); strict is ours
REFERENCES = {"vlmevalkit": "VLMEvalKit-can_infer@e8e78f0", "lmms-eval": "lmms-eval-mmmu_parser@75571cf",
              "strict": "none"}  # fmt: skip
CIRCULAR_REFERENCE = "VLMEvalKit-mcq_circular_eval@e8e78f0"
UNPARSED_SCORE = "wrong"  # an unparsed answer scores 0 in accuracy ...
CHANCE_CREDIT = "1/k"  # ... and 1/k in accuracy_chance_adjusted
LETTERS = string.ascii_uppercase
NO_LETTER = 31  # letter code of "no letter"

# why a sample has no letter (code 0: it has one)
REASONS = (
    None,
    "empty",  # nothing but whitespace
    "refusal",  # vlmevalkit: one of VLMEvalKit's refusal phrases ('Z')
    "answered_z",  # vlmevalkit: a lone token 'Z' and no option letter ('Z')
    "several_letters",  # vlmevalkit: more than one option letter among the tokens
    "letter_not_at_end",  # vlmevalkit: one option letter, not among the last four tokens
    "several_texts",  # vlmevalkit: more than one option text in the answer
    "too_long",  # vlmevalkit: no letter, and too long for option-text matching
    "no_match",  # nothing the rule looks for
    "not_a_letter",  # strict: not a single letter
    "not_an_option",  # strict: a letter that is not an option
)
_REASON = {name: i for i, name in enumerate(REASONS)}

# packed result of one extraction: bits 0-4 letter, 5-8 reason, 9 VLMEvalKit judge, 10 lmms-eval draw,
# 11-15 VLMEvalKit's own letter ('Z' included; CircularEval's pre-fetch needs it whatever the rule);
# inside score_choices, bits 16+ carry the row's option-set code
_JUDGE, _DRAW = 1 << 9, 1 << 10


# ---------------------------------------------------------------------------------------------
# Options


@dataclass(frozen=True)
class OptionSet:
    """The options of one question: letters in alphabetical order and their texts."""

    letters: str
    texts: tuple[str, ...]

    @property
    def k(self) -> int:
        return len(self.letters)

    def as_dict(self) -> dict[str, str]:
        return dict(zip(self.letters, self.texts))


def option_set(options: Mapping[str, str] | Sequence[str]) -> OptionSet:
    """Validate and normalise a question's options (dict of letters, or a list lettered from A)."""
    if isinstance(options, OptionSet):
        return options
    if isinstance(options, Mapping):
        pairs = []
        for key, text in options.items():
            if not (isinstance(key, str) and len(key) == 1 and key in LETTERS):
                raise ValueError(f"option keys must be capital letters A-Z, got {key!r}")
            pairs.append((key, text))
        pairs.sort()
    elif isinstance(options, Sequence) and not isinstance(options, (str, bytes)):
        if len(options) > 26:
            raise ValueError(f"at most 26 options, got {len(options)}")
        pairs = list(zip(LETTERS, options))
    else:
        raise ValueError("options must be a dict of letters to text or a list of texts")
    if not 2 <= len(pairs) <= 26:
        raise ValueError(f"a question needs 2 to 26 options, got {len(pairs)}")
    for key, text in pairs:
        if not isinstance(text, str):
            raise ValueError(f"option {key} must be text, got {type(text).__name__}")
    return OptionSet("".join(k for k, _ in pairs), tuple(t for _, t in pairs))


# ---------------------------------------------------------------------------------------------
# The rules (pure functions of one prediction and its options)

_REFUSALS = (
    "Sorry, I can't help with images of people yet.",
    "I can't process this file.",
    "I'm sorry, but without the image provided",
    "Cannot determine the answer",
)
_API_FAILURE = "Failed to obtain answer via API"
_VLMEVALKIT_PUNCT = str.maketrans({c: " " for c in ".()[],:;!*#{}"})
_ANSWER_IS = re.compile(r"(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**")


def _vlmevalkit(answer: str, opts: OptionSet) -> tuple[str | None, str | None]:
    """(VLMEvalKit's letter or 'Z' or None, reason). None: can_infer gave nothing (the judge's turn)."""
    letters = opts.letters
    letter_reason = None
    if _API_FAILURE not in answer:  # VLMEvalKit then skips straight to the option text
        for phrase in _REFUSALS:
            if phrase in answer:
                return "Z", "refusal"
        tokens = answer.translate(_VLMEVALKIT_PUNCT).split()
        present = [c for c in letters if c in tokens]
        if len(present) == 1:
            if tokens.index(present[0]) > len(tokens) - 5:
                return present[0], None
            letter_reason = "letter_not_at_end"
        elif not present and "Z" in tokens:
            return "Z", "answered_z"
        elif len(present) > 1:
            letter_reason = "several_letters"
        match = _ANSWER_IS.search(answer)
        if match and match.group(1).upper() in letters:
            return match.group(1).upper(), None
    lowered = answer.lower()
    if len(lowered) > 2 * sum(len(t) for t in opts.texts):
        return None, letter_reason or ("empty" if not answer.strip() else "too_long")
    found = [c for c, t in zip(letters, opts.texts) if t.lower() in lowered]
    if len(found) == 1:
        return found[0], None
    if letter_reason:
        return None, letter_reason
    if len(found) > 1:
        return None, "several_texts"
    return None, "empty" if not answer.strip() else "no_match"


_LMMS_STRIP = (",", ".", "!", "?", ";", ":", "'")


def _lmms_eval(response: str, opts: OptionSet) -> tuple[str | None, str | None]:
    """(lmms-eval's letter, None) or (None, reason) where lmms-eval would draw at random."""
    for char in _LMMS_STRIP:
        response = response.strip(char)
    response = f" {response} "
    letters = opts.letters
    bracketed = [c for c in letters if f"({c})" in response]
    by_text = False
    candidates = bracketed or [c for c in letters if f"{c} " in response]
    if not candidates:
        candidates = [c for c in letters if f"{c}." in response]
    if not candidates and len(response.split()) > 5:
        lowered = response.lower()
        candidates = [c for c, t in zip(letters, opts.texts) if t.lower() in lowered]
        by_text = True
    if not candidates:
        return None, "empty" if not response.strip() else "no_match"
    if len(candidates) == 1:
        return candidates[0], None
    if by_text:
        lowered = response.lower()
        text = dict(zip(letters, opts.texts))
        positions = [lowered.rfind(text[c].lower()) for c in candidates]
    elif bracketed:
        positions = [response.rfind(f"({c})") for c in candidates]
    else:
        positions = [response.rfind(f" {c} ") for c in candidates]
    return candidates[positions.index(max(positions))], None  # np.argmax: the first of equal maxima


_STRICT = re.compile(r"(?:\(([A-Z])\)|\[([A-Z])\]|([A-Z]))\.?")


def _strict(answer: str, opts: OptionSet) -> tuple[str | None, str | None]:
    text = answer.strip()
    if not text:
        return None, "empty"
    match = _STRICT.fullmatch(text)
    if match is None:
        return None, "not_a_letter"
    letter = match.group(1) or match.group(2) or match.group(3)
    return (letter, None) if letter in opts.letters else (None, "not_an_option")


_RULE_FUNCTIONS = {"vlmevalkit": _vlmevalkit, "lmms-eval": _lmms_eval, "strict": _strict}


def _check_rule(rule: str) -> None:
    if rule not in _RULE_FUNCTIONS:
        raise ValueError(f"unknown extraction rule {rule!r}: use one of {', '.join(RULES)}")


@dataclass(frozen=True)
class Extraction:
    """One prediction under one rule. ``letter`` None: no letter (``reason`` says why; a VLMEvalKit
    refusal is ``letter=None, reason='refusal'`` unless 'Z' is an option)."""

    letter: str | None
    reason: str | None
    judge_vlmevalkit: bool  # VLMEvalKit's can_infer gave nothing: it would ask its judge
    draw_lmms_eval: bool  # lmms-eval's parser found nothing: it would draw a random letter

    @property
    def parsed(self) -> bool:
        # a reason is why no letter was found, except VLMEvalKit's 'Z' decisions (a 26-option question's
        # unresolved answer is scored as 'Z' yet stays unparsed)
        return self.reason is None or self.reason in ("refusal", "answered_z")


def _packed(prediction: str, opts: OptionSet, rule: str) -> int:
    letter, reason = _RULE_FUNCTIONS[rule](prediction, opts)
    vk = letter if rule == "vlmevalkit" else _vlmevalkit(prediction, opts)[0]
    lm = letter if rule == "lmms-eval" else _lmms_eval(prediction, opts)[0]
    if letter == "Z" and "Z" not in opts.letters:  # VLMEvalKit's 'Z': no option
        letter = None
    elif letter is None and rule == "vlmevalkit" and "Z" in opts.letters:
        letter = "Z"  # exact matching records 'Z' for what can_infer leaves: option Z of a 26-option question
    code = (LETTERS.index(letter) if letter is not None else NO_LETTER) | (_REASON[reason] << 5)
    vk_code = LETTERS.index(vk) if vk is not None else NO_LETTER  # 'Z' kept: a wrong pre-fetch
    return code | (_JUDGE if vk is None else 0) | (_DRAW if lm is None else 0) | (vk_code << 11)


def _unpack(code: int) -> Extraction:
    letter = code & 31
    return Extraction(
        None if letter == NO_LETTER else LETTERS[letter],
        REASONS[(code >> 5) & 15],
        bool(code & _JUDGE),
        bool(code & _DRAW),
    )


def extract(prediction: str, options: Mapping[str, str] | Sequence[str] | OptionSet,
            rule: str = DEFAULT_RULE) -> Extraction:  # fmt: skip
    """The letter one rule pulls out of one prediction."""
    _check_rule(rule)
    if not isinstance(prediction, str):
        raise ValueError(f"a prediction must be text, got {type(prediction).__name__}")
    return _unpack(_packed(prediction, option_set(options), rule))


def draw_candidates(rule: str, options: Mapping[str, str] | Sequence[str] | OptionSet) -> list[str]:
    """What the harness draws from at random where its parser gives up: lmms-eval, the letters;
    VLMEvalKit (after three failed judge calls), the letters and 'Z', or nothing when 'Z' is an option
    (its ``rd.choice([])`` then raises). ``strict`` never draws."""
    _check_rule(rule)
    letters = list(option_set(options).letters)
    if rule == "lmms-eval":
        return letters
    if rule == "vlmevalkit":
        return letters + ["Z"] if "Z" not in letters else []
    return []


# The short answers models give most, resolved without running a rule: built by running each rule on
# every form with all 26 letters as options. A form resolved by its letter alone (no option text is
# involved) resolves to the same letter for every option set that contains that letter: the rules
# only ever look for option letters, so fewer letters can only remove other candidates.
_SHORT_TEMPLATES = ("{}", "({})", "{}.", "{})", "[{}]", "({}).", "{}:", "**{}**", "Answer: {}", "Answer: {}.",
                    "Answer: ({})", "answer: {}", "The answer is {}.", "The answer is ({}).", "Option {}",
                    "Option {}.", "{}. ", " {}", "{}\n")  # fmt: skip


def _build_short_table() -> dict[str, tuple[int, dict[str, int]]]:
    unmatchable = OptionSet(LETTERS, tuple(f"\x00{i}\x00" for i in range(26)))
    table: dict[str, tuple[int, dict[str, int]]] = {}
    for template in _SHORT_TEMPLATES:
        for index, letter in enumerate(LETTERS):
            form = template.format(letter)
            codes = {rule: _packed(form, unmatchable, rule) for rule in RULES}
            # only forms both harnesses resolve to this very letter by its letter alone
            if all(_RULE_FUNCTIONS[r](form, unmatchable)[0] == letter for r in ("vlmevalkit", "lmms-eval")):
                table[form] = (index, codes)
    return table


_SHORT: dict[str, tuple[int, dict[str, int]]] = {}  # filled on first use (import stays cheap)


def _short_table() -> dict[str, tuple[int, dict[str, int]]]:
    if not _SHORT:
        _SHORT.update(_build_short_table())
    return _SHORT


# ---------------------------------------------------------------------------------------------
# Scoring


@dataclass
class CircularScores:
    """CircularEval per group: ``group_ids``, ``hit`` (0/1), ``size`` (rotations), ``first_row``."""

    group_ids: list[str]
    hit: np.ndarray
    size: np.ndarray
    first_row: np.ndarray
    judged_groups: int  # groups VLMEvalKit would have sent to its judge (no rotation wrongly pre-fetched)
    judged_rows: int

    @property
    def circular_accuracy(self) -> float:
        return float(100.0 * self.hit.mean()) if len(self.hit) else 0.0


@dataclass
class ChoiceScores:
    """Per-sample sufficient statistics of one rule; ``metrics()`` gives the contract's numbers.

    ``letter_codes``: 0-25 for A-Z, 31 for none; ``correct`` 0/1; ``unparsed`` 0/1 (the rule found no
    letter); ``refused`` 0/1 (VLMEvalKit reads a refusal, whatever the rule); ``k`` options;
    ``credit`` = 1/k where unparsed, else correct (the chance-adjusted statistic)."""

    rule: str
    letter_codes: np.ndarray
    reason_codes: np.ndarray
    correct: np.ndarray
    unparsed: np.ndarray
    refused: np.ndarray
    k: np.ndarray
    judge_vlmevalkit: np.ndarray
    draw_lmms_eval: np.ndarray
    circular: CircularScores | None = None
    distinct: int = 0  # distinct (prediction, options) pairs extracted by a rule
    # 0/1: VLMEvalKit's can_infer settles on a wrong letter or 'Z' (its CircularEval sends no such group to a judge)
    prefetched_wrong: np.ndarray | None = None
    # 0/1: the answer's option is among the options (not so where a VLMEvalKit cell was read as NA): a
    # uniform draw over the options can then be right, 1/k of the time
    answerable: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.correct)

    @property
    def credit(self) -> np.ndarray:
        chance = 1 / np.maximum(self.k, 1)
        if self.answerable is not None:
            chance = chance * self.answerable
        return np.where(self.unparsed == 1, chance, self.correct)

    @property
    def letters(self) -> list[str | None]:
        table = list(LETTERS) + [None] * 6
        return [table[c] for c in self.letter_codes.tolist()]

    @property
    def reasons(self) -> list[str | None]:
        return [REASONS[c] for c in self.reason_codes.tolist()]

    def metrics(self) -> dict[str, float]:
        n = len(self.correct)
        out = {
            "accuracy": float(100.0 * self.correct.mean()) if n else 0.0,
            "unparsed": int(self.unparsed.sum()),
            "accuracy_chance_adjusted": float(100.0 * self.credit.mean()) if n else 0.0,
        }
        if self.circular is not None:
            out["circular_accuracy"] = self.circular.circular_accuracy
        return out

    def counts(self) -> dict[str, int]:
        out = {
            "refusal": int(self.refused.sum()),
            "vlmevalkit_judged_answer": int(self.judge_vlmevalkit.sum()),
            "lmms_eval_drawn_answer": int(self.draw_lmms_eval.sum()),
        }
        if self.circular is not None:
            out["circular_group"] = len(self.circular.hit)
            out["vlmevalkit_judged_group"] = self.circular.judged_groups
            out["vlmevalkit_judged_row"] = self.circular.judged_rows
        return out


class _Codes(dict):
    """value -> dense code 0, 1, ... assigned on first sight (``__missing__`` keeps the hits in C);
    preset entries (None -> -1) take no code."""

    def __init__(self, preset=None):
        super().__init__(preset or {})
        self.offset = len(self)

    def __missing__(self, key):
        code = self[key] = len(self) - self.offset
        return code


class _Extracted(dict):
    """(prediction, options code) -> packed extraction, computed on first sight."""

    def __init__(self, sets: list[OptionSet], rule: str):
        super().__init__()
        self.sets, self.rule, self.short = sets, rule, _short_table()

    def __missing__(self, key):
        prediction, oc = key
        opts = self.sets[oc]
        hit = self.short.get(prediction)
        if hit is not None and LETTERS[hit[0]] in opts.letters:
            value = hit[1][self.rule]
        elif not isinstance(prediction, str):
            raise ValueError(f"a prediction must be text, got {type(prediction).__name__}")
        else:
            value = _packed(prediction, opts, self.rule)
        self[key] = value
        return value


class _ByObject(dict):
    """(prediction, id of the options object) -> packed extraction with the option set's code in bits 16+."""

    def __init__(self, extracted: _Extracted, code_of_id: dict[int, int]):
        super().__init__()
        self.extracted, self.code_of_id = extracted, code_of_id

    def __missing__(self, key):
        prediction, oid = key
        oc = self.code_of_id[oid]
        value = self[key] = self.extracted[(prediction, oc)] | (oc << 16)
        return value


class _LetterIndex(dict):
    def __missing__(self, key):  # not a capital letter: no option
        return -1


_LETTER_INDEX = _LetterIndex({c: i for i, c in enumerate(LETTERS)})


class _ContentCode(dict):
    """Options content (a dict's items, or a list's texts) -> option-set code, validated on first sight."""

    def __init__(self, sets: list[OptionSet]):
        super().__init__()
        self.sets = sets
        self.by_set: dict[OptionSet, int] = {}

    def add(self, obj) -> int:
        opts = option_set(obj)
        code = self.by_set.setdefault(opts, len(self.sets))
        if code == len(self.sets):
            self.sets.append(opts)
        return code

    def __missing__(self, key):
        kind, content = key
        code = self[key] = self.add(dict(content) if kind == "d" else list(content))
        return code


def _intern_options(options: Sequence) -> tuple[list[int], dict[int, int], list[OptionSet]]:
    """Per row the id of its options object, the option-set code of each distinct object, the option
    sets. Rows sharing one options object are looked at once; equal contents (a dict's items, a list)
    share a code and are validated once."""
    ids = list(map(id, options))
    first = dict(zip(ids, options))  # one object per distinct id (all alive: ``options`` holds them)
    sets: list[OptionSet] = []
    content = _ContentCode(sets)
    objs = list(first.values())
    try:  # the common cases in C: every options object a dict, or every one a list
        if all(type(o) is dict for o in objs):
            codes = list(map(content.__getitem__, zip(["d"] * len(objs), map(tuple, map(dict.items, objs)))))
        elif all(type(o) in (list, tuple) for o in objs):
            codes = list(map(content.__getitem__, zip(["l"] * len(objs), map(tuple, objs))))
        else:
            codes = [content.add(o) for o in objs]
    except TypeError:  # unhashable option texts: option_set() says what is wrong
        codes = [content.add(o) for o in objs]
    return ids, dict(zip(first, codes)), sets


def score_choices(
    predictions: Sequence[str],
    options: Sequence[Mapping[str, str] | Sequence[str] | OptionSet],
    answers: Sequence[str],
    *,
    rule: str = DEFAULT_RULE,
    groups: Sequence[str | None] | None = None,
    heads: Sequence[bool] | None = None,
    answers_without_option: bool = False,
) -> ChoiceScores:
    """Extract and score every sample under ``rule``. Predictions must be ``str``.

    ``answers_without_option``: an answer letter may lack its option (a VLMEvalKit file whose option cell
    pandas read as NA); such a question is never right, as VLMEvalKit scores it. Otherwise it is an error.

    ``groups`` (optional): the CircularEval group of each row (None: not part of a group, left out of
    ``circular_accuracy``). ``heads`` (optional): the rows that make a group count (VLMEvalKit's
    ``index < 1000000``); without it every group counts.
    """
    _check_rule(rule)
    n = len(predictions)
    if len(options) != n or len(answers) != n:
        raise ValueError("predictions, options and answers must have the same length")
    ids, code_of_id, sets = _intern_options(options)
    extracted = _Extracted(sets, rule)
    try:
        if len(code_of_id) * 4 < n:  # options objects shared by many rows: one lookup per row
            by_object = _ByObject(extracted, code_of_id)
            packed = np.fromiter(map(by_object.__getitem__, zip(predictions, ids)), dtype=np.int64, count=n)
            opt_codes = packed >> 16
            packed &= 0xFFFF
        else:  # one options object per row: by content
            codes = list(map(code_of_id.__getitem__, ids))
            packed = np.fromiter(map(extracted.__getitem__, zip(predictions, codes)), dtype=np.int64, count=n)
            opt_codes = np.array(codes, dtype=np.int64)
    except TypeError:  # an unhashable prediction (a list, a dict)
        bad = next(i for i, p in enumerate(predictions) if not isinstance(p, str))
        raise ValueError(
            f"row {bad}: a prediction must be text, got {type(predictions[bad]).__name__}"
        ) from None
    try:
        answer_codes = np.fromiter(map(_LETTER_INDEX.__getitem__, answers), dtype=np.int64, count=n)
    except TypeError:  # an unhashable answer
        answer_codes = np.array(
            [_LETTER_INDEX[a] if isinstance(a, str) else -1 for a in answers], dtype=np.int64
        )
    masks = np.array([sum(1 << LETTERS.index(c) for c in s.letters) for s in sets], dtype=np.int64)
    row_masks = masks[opt_codes] if n else np.zeros(0, dtype=np.int64)
    ok = answer_codes >= 0
    if not answers_without_option:
        ok &= ((row_masks >> np.maximum(answer_codes, 0)) & 1) == 1
    if n and not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"row {bad}: the answer {answers[bad]!r} is not one of the options")

    letter_codes = packed & 31
    reason_codes = (packed >> 5) & 15
    vk_letter = (packed >> 11) & 31
    correct = (letter_codes == answer_codes).astype(np.int8)
    rule_refusal = (reason_codes == _REASON["refusal"]) | (reason_codes == _REASON["answered_z"])
    unparsed = ((reason_codes != 0) & ~rule_refusal).astype(np.int8)
    refusal = (vk_letter == 25) & (((row_masks >> 25) & 1) == 0)  # VLMEvalKit's 'Z' that is no option
    k = np.array([s.k for s in sets], dtype=np.int64)[opt_codes] if n else np.zeros(0, dtype=np.int64)
    judge = ((packed & _JUDGE) != 0).astype(np.int8)
    scores = ChoiceScores(
        rule=rule,
        letter_codes=letter_codes,
        reason_codes=reason_codes,
        correct=correct,
        unparsed=unparsed,
        refused=refusal.astype(np.int8),
        k=k,
        judge_vlmevalkit=judge,
        draw_lmms_eval=((packed & _DRAW) != 0).astype(np.int8),
        distinct=len(extracted),
        prefetched_wrong=((vk_letter != NO_LETTER) & (vk_letter != answer_codes)).astype(np.int8),
        answerable=(((row_masks >> np.maximum(answer_codes, 0)) & 1) == 1).astype(np.int8),
    )
    if groups is not None:
        # a rotation left unresolved fails its group (VLMEvalKit: its judge's turn, no hit without one), also
        # where a 26-option question scores it as 'Z'
        scores.circular = circular_eval(groups, correct * (1 - unparsed), heads=heads, judged=judge,
                                        prefetched_wrong=scores.prefetched_wrong == 1)  # fmt: skip
    return scores


def circular_eval(
    groups: Sequence[str | None],
    correct: Sequence[int] | np.ndarray,
    *,
    heads: Sequence[bool] | None = None,
    judged: Sequence[int] | np.ndarray | None = None,
    prefetched_wrong: Sequence[bool] | np.ndarray | None = None,
) -> CircularScores:
    """MMBench CircularEval: a group (the rotations of one question) is right when all its rows are.

    Rows whose group is None are left out. With ``heads``, only groups that contain a head row count,
    reported at that row (VLMEvalKit evaluates a group from its original, index < 1e6, row). With
    ``judged`` (rows VLMEvalKit's can_infer left to its judge) and ``prefetched_wrong`` (rows it resolved to
    a wrong letter or 'Z'), the groups and rows VLMEvalKit would have sent to its judge are counted: a
    group with no wrongly pre-fetched rotation and at least one unresolved one."""
    correct = np.asarray(correct, dtype=np.int8)
    n = len(correct)
    if len(groups) != n or (heads is not None and len(heads) != n):
        raise ValueError("groups (and heads) must have one entry per row")
    ids, row_group = _label_codes(groups, n)
    m = len(ids)
    member = row_group >= 0
    rg = row_group[member]
    size = np.bincount(rg, minlength=m)
    right = np.bincount(rg, weights=correct[member], minlength=m)
    hit = (right == size).astype(np.int8)
    rows = np.flatnonzero(member)
    report = np.full(m, n, dtype=np.int64)
    np.minimum.at(report, rg, rows)  # a group is reported at its first row ...
    counted = np.ones(m, dtype=bool)
    if heads is not None:
        head = np.asarray(heads, dtype=bool)[member]
        counted = np.bincount(rg[head], minlength=m) > 0
        head_row = np.full(m, n, dtype=np.int64)
        np.minimum.at(head_row, rg[head], rows[head])
        report = np.where(head_row < n, head_row, report)  # ... or at its head row
    judged_groups = judged_rows = 0
    if judged is not None and prefetched_wrong is not None:
        pending = np.bincount(rg, weights=np.asarray(judged, dtype=np.int64)[member], minlength=m)
        bad = np.bincount(rg, weights=np.asarray(prefetched_wrong, dtype=np.int64)[member], minlength=m) > 0
        sent = counted & ~bad & (pending > 0)
        judged_groups, judged_rows = int(sent.sum()), int(pending[sent].sum())
    keep = np.flatnonzero(counted)
    return CircularScores(
        group_ids=[ids[j] for j in keep.tolist()],
        hit=hit[keep],
        size=size[keep],
        first_row=report[keep],
        judged_groups=judged_groups,
        judged_rows=judged_rows,
    )


def breakdown(scores: ChoiceScores, labels: Sequence[str | None]) -> dict[str, dict[str, float]]:
    """Metrics per label (``category`` or ``l2_category``), labels sorted; rows without a label are left
    out. With rotations, a group's ``circular_accuracy`` goes to the label of its reported row."""
    names, sums = label_sums(labels, len(scores), correct=scores.correct, unparsed=scores.unparsed,
                             credit=scores.credit)  # fmt: skip
    out: dict[str, dict[str, float]] = {}
    for j in sorted(range(len(names)), key=names.__getitem__):
        count = int(sums["count"][j])
        out[names[j]] = {
            "accuracy": float(100.0 * sums["correct"][j] / count),
            "unparsed": int(sums["unparsed"][j]),
            "accuracy_chance_adjusted": float(100.0 * sums["credit"][j] / count),
            "count": count,
        }
    if scores.circular is not None:
        circ = scores.circular
        per: dict[str, list[int]] = {}
        for g, row in enumerate(circ.first_row.tolist()):
            label = labels[row]
            if label is not None:
                per.setdefault(label, []).append(g)
        for label, gs in per.items():
            out.setdefault(label, {})["circular_accuracy"] = float(100.0 * circ.hit[gs].mean())
            out[label]["groups"] = len(gs)
    return out


def label_sums(
    labels: Sequence[str | None], n: int, **values: np.ndarray
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The distinct labels (None left out, in order of first sight) and, per label, the row ``count`` and the
    sum of each per-row array in ``values``."""
    if len(labels) != n:
        raise ValueError("one label per row")
    names, row = _label_codes(labels, n)
    keep = row >= 0
    at = row[keep]
    sums = {"count": np.bincount(at, minlength=len(names))}
    for name, per_row in values.items():
        sums[name] = np.bincount(
            at, weights=np.asarray(per_row, dtype=np.float64)[keep], minlength=len(names)
        )
    return names, sums


def _label_codes(labels: Sequence[str | None], n: int) -> tuple[list[str], np.ndarray]:
    """The distinct labels in order of first sight, and each row's label code (-1: None)."""
    codes = _Codes({None: -1})
    row = np.fromiter(map(codes.__getitem__, labels), dtype=np.int64, count=n)
    return [g for g in codes if g is not None], row


# ---------------------------------------------------------------------------------------------
# Error types (the tasks' ``error_types``): why a wrong answer is wrong

ERROR_TYPES = ("refusal", "unparsed", "wrong_choice")  # in the order they are tried
_ERROR_NAMES = np.array([None, *ERROR_TYPES], dtype=object)


def error_types(correct: np.ndarray, refused: np.ndarray, no_answer: np.ndarray) -> list[str | None]:
    """Per sample None (right) or the first type that applies to a wrong answer: ``refusal`` (it declines
    to answer), ``unparsed`` (the rule found no answer in it), ``wrong_choice`` (it chose a wrong one)."""
    wrong = correct == 0
    codes = np.where(wrong, np.where(refused == 1, 1, np.where(no_answer, 2, 3)), 0)
    return _ERROR_NAMES[codes].tolist()
