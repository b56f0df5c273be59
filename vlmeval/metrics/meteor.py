"""METEOR 1.5 (Denkowski & Lavie 2014) as COCO reports it, without Java: what ``meteor-1.5.jar -l en -norm``
computes when pycocoevalcap 1.2 runs it, restated from the jar's source (cmu-mtlab/meteor, checked against
the bytecode of the jar pycocoevalcap ships) and tested against the jar itself.

Definition (the jar's English defaults, task "rank"):
- Normalisation (``-norm``): ``Normalizer.normalizeLine`` (Moses-style punctuation splitting, quote and dash
  folding, English contractions, non-breaking prefixes), punctuation kept, then ``toLowerCase()``; words are
  what ``StringTokenizer`` splits.
- Matching, in module order: exact (equal ``String.hashCode()``), stem (the jar's Snowball English stemmer),
  synonym (a shared WordNet synset, WordNet's morphology and exception list), paraphrase (the jar's
  ``paraphrase-en.gz``, phrases of up to 7 words, both directions). Matches that are alone at their
  reference position and alone on every word they cover are fixed; the rest are resolved by the jar's beam
  search: beam 40, candidates in the order the matchers add them, paths ranked by their weighted match
  count (an ``int``: each match adds ``(int)(words * weight)`` with weights 1/0.5/0.5/0.5, so a one-word stem,
  synonym or paraphrase match adds 0), then fewer chunks, then "distance", ties by list order (stable sorts);
  the jar charges a path the distances of the usable candidates listed before its own (the path that skips
  the position: all of them), never its own, and vlmeval does the same.
- Per reference: P and R over content words (weight delta) and function words (1 - delta), module weights
  1.0/0.6/0.8/0.6, Fmean = 1 / ((1-alpha)/P + alpha/R), penalty gamma * (chunks / mean matched words)^beta
  (0 for a perfect match), score = Fmean * (1 - penalty); alpha 0.85, beta 0.20, gamma 0.60, delta 0.75.
  The first reference with the highest score is kept: its 23 numbers are the ``SCORE`` line.
- Corpus: the ``EVAL`` line, the same formula on the summed statistics (the chunks of perfect segments left
  out). It is not the mean of the segment scores.

Inputs: what pycocoevalcap sends to the jar, PTB-tokenized lower-cased captions, one list of references per
hypothesis, cleaned as ``meteor_jar._score_line`` cleans them (``|||`` out of the hypothesis, double spaces
collapsed once, newlines made spaces; the jar then splits its line on ``|||`` and trims each part).
Scale 0-1.

Reference: pycocoevalcap 1.2 ``Meteor()`` (``java -jar meteor-1.5.jar - - -stdio -l en -norm``, Java 17);
the tests compare statistics lines (exactly), segment and corpus scores with the jar.

Data: read at run time from the installed pycocoevalcap, indexed on first use into ``$XDG_CACHE_HOME/vlmeval``
(see ``meteor_data``). Work: everything is vectorised over all segments (numpy); sentences longer than 64
words take a per-pair search of the same definition; by default two forked processes share the segments.

Known deviations, each segment flagged in ``MeteorStatistics.unreproduced`` (the caller may send those to
the jar):
- characters whose lower-casing depends on the Unicode tables or on context: capital sigma (Java decides
  its final form by word boundaries, Python by case-ignorable context) and letters whose case mapping is
  newer than Unicode 3.2 (Java 17 knows Unicode 13, Python 3.11 knows 14);
- lone surrogates (they cannot be sent to the jar as UTF-8);
- a literal ``DOTMULTI`` with a run of dots so long that the jar's escape loop would be quadratic;
- a pair of long sentences whose search would exceed ``WIDE_BUDGET`` candidate expansions (a
  5,000 x 5,000-word pair of repetitions): only the first candidates of each position are searched.
The jar's own numbers depend on its JVM's default locale (``toLowerCase()`` under a Turkish, Azeri or
Lithuanian locale; ``MeteorJar`` pins en_US): vlmeval is the en_US jar. Long captions are scored exactly and
in bounded memory (the jar keeps a copy of both sentences per path and runs out of memory on a
100,000-character caption; here a 22,000-word caption takes under a second).
"""

from __future__ import annotations

import itertools
import math
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from vlmeval.metrics import meteor_data as md
from vlmeval.parallel import can_fork

VERSION = "1.5"
LANGUAGE = "en"
TASK = "rank"  # Constants.TASK_DEFAULT for English
NORMALIZATION = "norm"  # -norm: Normalizer with punctuation kept, then lower-case
MODULES = ("exact", "stem", "synonym", "paraphrase")
MODULE_WEIGHTS = (1.0, 0.6, 0.8, 0.6)  # Constants.WEIGHT_RANK[LANG_EN]
ALPHA, BETA, GAMMA, DELTA = 0.85, 0.20, 0.60, 0.75  # Constants.PARAM_RANK[LANG_EN]
BEAM_SIZE = 40  # Constants.DEFAULT_BEAM_SIZE
SEARCH_WEIGHTS = (1.0, 0.5, 0.5, 0.5)  # MeteorScorer.loadConfiguration: weights the aligner ranks paths by
STATS_WIDTH = 23  # MeteorStats.toString: 4 lengths, 4 modules x 4 match counts, chunks, 2 word-match totals

EXACT, STEM, SYNONYM, PARAPHRASE = range(4)

# what a signature of these numbers records (every constant above that the numbers depend on)
SIGNATURE = {
    "version": VERSION,
    "lang": LANGUAGE,
    "task": TASK,
    "norm": NORMALIZATION,
    "modules": ",".join(MODULES),
    "weights": ",".join(f"{w:g}" for w in MODULE_WEIGHTS),
    "params": ",".join(f"{p:g}" for p in (ALPHA, BETA, GAMMA, DELTA)),
    "beam": BEAM_SIZE,
}

# ------------------------------------------------------------------------------------- the jar's input line

_EOL = str.maketrans({"\n": " ", "\r": " "})
_JAVA_SPACE = "".join(map(chr, range(33)))  # String.trim() strips every char <= U+0020
_SPLIT = re.compile(r"\|\|\|")


def jar_view(hyp: str, refs: Sequence[str]) -> tuple[str, list[str]]:
    """(test, references) as the jar's ``-stdio`` loop reads them from ``meteor_jar._score_line``'s line:
    ``line.split("\\\\|\\\\|\\\\|")`` (trailing empty parts dropped), each part ``trim()``-ed."""
    hyp = hyp.translate(_EOL).replace("|||", "").replace("  ", " ")
    refs = [r.translate(_EOL) for r in refs]
    if not any("|" in r for r in refs):
        # no part can contain the separator: the parts are the texts themselves
        return hyp.strip(_JAVA_SPACE), [r.strip(_JAVA_SPACE) for r in refs] if refs else [""]
    line = " ||| ".join(("SCORE", " ||| ".join(refs), hyp))
    parts = _SPLIT.split(line)
    while parts and parts[-1] == "":
        parts.pop()
    if len(parts) < 3:  # the jar answers "Error: specify hypothesis and at least one reference"
        raise ValueError("the METEOR jar would refuse this line (no hypothesis and reference)")
    return parts[-1].strip(_JAVA_SPACE), [p.strip(_JAVA_SPACE) for p in parts[1:-1]]


# -------------------------------------------------------------------------------------- Normalizer (-norm)
# edu/cmu/meteor/util/Normalizer.java, normalizeLine(line, LANG_EN, keepPunctuation=true), then
# MeteorScorer's toLowerCase(). Java regex classes: \s is [ \t\n\x0B\f\r], \p{Digit} is [0-9], \p{Lower}
# is [a-z].

_ALPHA = (
    "A-Za-z\u0160\u017d\u0161\u017e\u0178\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u017e\u0400-\u04ff\u0500-\u0527"
    "\ua640-\ua66e\ua67e-\ua697\u1d00-\u1d7f"
)
_ALNUM = "0-9" + _ALPHA
_SEP_OTHER = re.compile(f"([^{_ALNUM} \t\n\x0b\f\r.'`,\\-\u2018\u2019])")
_MULTI_DOT = re.compile(r"\.([\.]+)")
_MULTI_DOT2 = re.compile(r"DOTMULTI\.([^\.])")
_DOT_RUN = re.compile(r"\.(\.+)([^.])")
_DOT_TOKEN = re.compile(r"(?:DOT)+MULTI")
_COMMA = re.compile(r"([^0-9]),([^0-9])")
_COMMA2 = re.compile(r"([0-9]),([^0-9])")
_COMMA3 = re.compile(r"([^0-9]),([0-9])")
_QUOTE = re.compile("[`\u2018\u2019]")
_QUOTE2 = re.compile("[\u201c\u201d]|''")
_RM_DASH = re.compile(f"([{_ALNUM}.])-([{_ALNUM}])")
_CONT1 = re.compile(f"([^{_ALPHA}])'([^{_ALPHA}])")
_CONT2 = re.compile(f"([^{_ALPHA}0-9])'([{_ALPHA}])")
_CONT3 = re.compile(f"([{_ALPHA}])'([^{_ALPHA}])")
_CONT4 = re.compile(f"([{_ALPHA}])'([{_ALPHA}])")
_CONT5 = re.compile(r"([0-9])'(s)")
_NBP_ALPHA = re.compile(f"[{_ALPHA}]")
_WHITE = re.compile("[ \u2000-\u200a\u202f\u205f\u3000\u00a0]+")
_PLAIN = re.compile(r"[a-z0-9 ]*")
# a literal DOTMULTI in the input makes the jar's escape loops run once per dot of the longest run
_DOT_LOOP_BUDGET = 10_000_000

# characters that Java 17's String.toLowerCase() may lower-case differently from this Python: capital sigma
# (Java decides the final form by word boundaries, Python by case-ignorable context) and letters whose case
# mapping is newer than Unicode 3.2 (Java 17 knows Unicode 13, Python 3.11+ knows 14 or later)
_SIGMA = "\u03a3"


def _lower_unsure(text: str) -> bool:
    if text.isascii():
        return False
    for ch in set(text):
        if ch == _SIGMA:
            return True
        if ord(ch) > 127 and ch.lower() != ch and unicodedata.ucd_3_2_0.category(ch) not in ("Lu", "Lt"):
            return True
        if "\ud800" <= ch <= "\udfff":
            return True
    return False


def _escape_dots(line: str) -> tuple[str, bool]:
    """The jar's "escape multiple dots" step; (text, reproduced)."""
    if "DOTMULTI" not in line:
        # each maximal run of k >= 2 dots ends as " DOT"*k + "MULTI " before the character that follows it
        # (the loop adds one DOT per pass and a space once a single dot is left)
        return _DOT_RUN.sub(lambda m: " " + "DOT" * (len(m.group(1)) + 1) + "MULTI " + m.group(2), line), True
    longest = max((len(m.group()) for m in re.finditer(r"\.+", line)), default=0)
    if longest * len(line) > _DOT_LOOP_BUDGET:
        return _DOT_RUN.sub(
            lambda m: " " + "DOT" * (len(m.group(1)) + 1) + "MULTI " + m.group(2), line
        ), False
    line = _MULTI_DOT.sub(r" DOTMULTI\1", line)
    while "DOTMULTI." in line:
        line = _MULTI_DOT2.sub(r"DOTDOTMULTI \1", line)
        line = line.replace("DOTMULTI.", "DOTDOTMULTI")
    return line, True


def _unescape_dots(line: str, literal: bool) -> str:
    if not literal:
        return _DOT_TOKEN.sub(lambda m: "." * ((len(m.group()) - 5) // 3), line)
    while "DOTDOTMULTI" in line:
        line = line.replace("DOTDOTMULTI", "DOTMULTI.")
    return line.replace("DOTMULTI", ".")


def _regex_steps(w: str) -> str:
    """Normalizer.normalizeLine from the comma rules to the contractions (context of one character each
    side: lines joined by newlines are processed as one text)."""
    w = _COMMA.sub(r"\1 , \2", w)
    w = _COMMA2.sub(r"\1 , \2", w)
    w = _COMMA3.sub(r"\1 , \2", w)
    w = _QUOTE.sub("'", w)
    w = _QUOTE2.sub(' " ', w)
    w = w.replace("\u2013", "-").replace("--", "-")
    w = _RM_DASH.sub(r"\1 \2", w)
    w = _CONT1.sub(r"\1 ' \2", w)
    w = _CONT2.sub(r"\1 ' \2", w)
    w = _CONT3.sub(r"\1 ' \2", w)
    w = _CONT4.sub(r"\1 '\2", w)
    return _CONT5.sub(r"\1 '\2", w)


def _finish(w: str, nonbreaking: dict[str, int], literal: bool) -> str:
    """Non-breaking prefixes, dots unescaped, whitespace, lower-case."""
    words = md.java_tokens(w)
    out = []
    last = len(words) - 1
    for i, word in enumerate(words):
        if len(word) > 1 and word.endswith("."):
            pre = word[:-1]
            kind = nonbreaking.get(pre)
            nxt = words[i + 1] if i < last else ""
            if "." in pre and _NBP_ALPHA.search(pre):
                out.append(word.replace(".", ""))
            elif kind == 1 or (i < last and "a" <= nxt[:1] <= "z"):
                out.append(word)
            elif kind == 2 and i < last and "0" <= nxt[:1] <= "9":
                out.append(word)
            else:
                out.append(pre + " .")
        else:
            out.append(word)
    w = " ".join(out) + " "
    w = _unescape_dots(w, literal)
    return _WHITE.sub(" ", w).strip(_JAVA_SPACE).lower()


def normalize(line: str, nonbreaking: dict[str, int]) -> tuple[str, bool]:
    """The jar's normalised, lower-cased text; (text, reproduced)."""
    if _PLAIN.fullmatch(line):
        return " ".join(line.split()), True
    reproduced = not _lower_unsure(line)
    w = _SEP_OTHER.sub(r" \1 ", " " + line + " ")
    literal = "DOTMULTI" in w
    w, ok = _escape_dots(w)
    w = _regex_steps(w)
    return _finish(w, nonbreaking, literal and ok), reproduced and ok


def normalize_many(lines: list[str], nonbreaking: dict[str, int]) -> tuple[list[str], list[bool]]:
    """``normalize`` of many lines, the regular expressions run once over all of them."""
    simple = [k for k, t in enumerate(lines) if "DOTMULTI" not in t and "\n" not in t]
    out: list[str] = [""] * len(lines)
    ok = [True] * len(lines)
    if simple:
        text = "\n".join(" " + lines[k] + " " for k in simple)
        text = _SEP_OTHER.sub(r" \1 ", text)
        text = _DOT_RUN.sub(lambda m: " " + "DOT" * (len(m.group(1)) + 1) + "MULTI " + m.group(2), text)
        text = _regex_steps(text)
        parts = text.split("\n")
        for k, w in zip(simple, parts):
            out[k] = _finish(w, nonbreaking, False)
            ok[k] = not _lower_unsure(lines[k])
    done = set(simple)
    for k, t in enumerate(lines):
        if k not in done:
            out[k], ok[k] = normalize(t, nonbreaking)
    return out, ok


# ------------------------------------------------------------------------------------------ word features


@dataclass
class Lexicon:
    """What the matchers need of each distinct word: its ``hashCode`` (exact), its stem's (stem), its
    synonym sets (synonym), its paraphrase-vocabulary id (paraphrase), whether it is a function word."""

    words: list[str]
    jhash: np.ndarray  # int32 String.hashCode()
    stem: np.ndarray  # int32 hashCode of the Snowball stem
    para: np.ndarray  # int32 paraphrase-vocabulary id, -1 if the table never has the word
    function: np.ndarray  # bool
    syn_off: np.ndarray  # int64 [n+1]
    syn: np.ndarray  # int32 sorted synset ids per word


def _vocab_lookup(index: md.MeteorIndex, words: list[str]) -> np.ndarray:
    """Position of each word in the index's vocabulary, -1 when absent (64-bit key, then the bytes)."""
    vkey = index.vocab_key
    keys = md.word_keys(words)
    pos = np.minimum(np.searchsorted(vkey, keys), len(vkey) - 1)
    found = vkey[pos] == keys
    units, lengths = md.utf8(words)
    voff = index.vocab_off
    cand = np.flatnonzero(found)
    p = pos[cand]
    same_len = (voff[p + 1] - voff[p]) == lengths[cand]
    cand, p = cand[same_len], p[same_len]
    found[:] = False
    if len(cand):
        starts = np.cumsum(lengths) - lengths
        ours, counts = md.ranges(starts[cand], starts[cand] + lengths[cand])
        theirs, _ = md.ranges(voff[p], voff[p + 1])
        differ = units[ours] != index.vocab_blob[theirs]
        owner = np.repeat(np.arange(len(cand)), counts)
        bad = np.zeros(len(cand), dtype=bool)
        bad[owner[differ]] = True
        found[cand[~bad]] = True
    return np.where(found, pos, -1)


def lexicon(index: md.MeteorIndex, words: list[str]) -> Lexicon:
    n = len(words)
    pos = _vocab_lookup(index, words)
    found = pos >= 0
    hit = pos[found]
    para = np.full(n, -1, dtype=np.int32)
    stem = np.zeros(n, dtype=np.int32)
    para[found] = index.vocab_para[hit]
    stem[found] = index.vocab_stem[hit]
    starts = np.zeros(n, dtype=np.int64)
    stops = np.zeros(n, dtype=np.int64)
    source = np.zeros(n, dtype=np.int8)  # 0: the word's synonym sets, 1: the sets of its morph() result
    starts[found] = index.all_off[hit]
    stops[found] = index.all_off[hit + 1]
    missing = np.flatnonzero(~found).tolist()
    if missing:
        oov = [words[k] for k in missing]
        stem[missing] = md.java_hashes([md.snowball_stem(w) for w in oov])
        # an unknown word has no synsets of its own and no exception entry: only morph(word) can give some
        cands, owner = [], []
        for k, w in zip(missing, oov):
            for c in md.morph_candidates(w) or ():
                cands.append(c)
                owner.append(k)
        if cands:
            cpos = _vocab_lookup(index, cands)
            good = cpos >= 0
            good[good] = index.vocab_synword[cpos[good]]
            done: set[int] = set()
            for k, p, g in zip(owner, cpos.tolist(), good.tolist()):
                if g and k not in done:  # the first rule whose result is a WordNet word
                    done.add(k)
                    starts[k], stops[k], source[k] = index.own_off[p], index.own_off[p + 1], 1
    idx, counts = md.ranges(starts, stops)
    syn = (
        np.where(
            np.repeat(source, counts) == 1,
            index.own_syn[np.minimum(idx, len(index.own_syn) - 1)],
            index.all_syn[np.minimum(idx, len(index.all_syn) - 1)],
        )
        if len(idx)
        else idx.astype(np.int32)
    )
    syn_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=syn_off[1:])
    fw = index.function_words
    function = np.fromiter((w.lower() in fw for w in words), dtype=np.bool_, count=n)
    return Lexicon(words, md.java_hashes(words), stem, para, function, syn_off, syn.astype(np.int32))


# ------------------------------------------------------------------------------------------------- scores


def _score_rows(s: np.ndarray) -> np.ndarray:
    """MeteorScorer.computeMetrics on rows of statistics, operation for operation as the jar's doubles."""
    s = np.asarray(s, dtype=np.float64)
    tlen, rlen, tfun, rfun = s[..., 0], s[..., 1], s[..., 2], s[..., 3]
    tcon_m = [s[..., 4 + 4 * k] for k in range(4)]
    rcon_m = [s[..., 5 + 4 * k] for k in range(4)]
    tfun_m = [s[..., 6 + 4 * k] for k in range(4)]
    rfun_m = [s[..., 7 + 4 * k] for k in range(4)]
    chunks, twm, rwm = s[..., 20], s[..., 21], s[..., 22]
    with np.errstate(divide="ignore", invalid="ignore"):
        twl = DELTA * (tlen - tfun) + (1.0 - DELTA) * tfun
        rwl = DELTA * (rlen - rfun) + (1.0 - DELTA) * rfun
        tw = np.zeros_like(tlen)
        rw = np.zeros_like(tlen)
        for k in range(4):
            tw = tw + tcon_m[k] * MODULE_WEIGHTS[k] * DELTA
        for k in range(4):
            rw = rw + rcon_m[k] * MODULE_WEIGHTS[k] * DELTA
        for k in range(4):
            tw = tw + tfun_m[k] * MODULE_WEIGHTS[k] * (1.0 - DELTA)
        for k in range(4):
            rw = rw + rfun_m[k] * MODULE_WEIGHTS[k] * (1.0 - DELTA)
        precision = tw / twl
        recall = rw / rwl
        fmean = 1.0 / (((1.0 - ALPHA) / precision) + (ALPHA / recall))
        ttot = sum(tcon_m) + sum(tfun_m)
        rtot = sum(rcon_m) + sum(rfun_m)
        perfect = (ttot == tlen) & (rtot == rlen) & (chunks == 1)
        frag = np.where(perfect, 0.0, chunks / ((twm + rwm) / 2))
        penalty = GAMMA * np.power(frag, BETA)
        score = fmean * (1.0 - penalty)
    return np.where(np.isnan(score), 0.0, np.maximum(score, 0.0))


def _corpus_rows(s: np.ndarray) -> np.ndarray:
    """MeteorStats.addStats over rows (the EVAL line's aggregate): sums, except the chunks of perfect rows."""
    s = np.asarray(s, dtype=np.float64)
    ttot = s[..., [4, 6, 8, 10, 12, 14, 16, 18]].sum(-1)
    rtot = s[..., [5, 7, 9, 11, 13, 15, 17, 19]].sum(-1)
    perfect = (ttot == s[..., 0]) & (rtot == s[..., 1]) & (s[..., 20] == 1)
    return perfect


# ---------------------------------------------------------------------------------- the corpus, prepared

_NOT_PLAIN_SPACE = re.compile(r"[^\S ]|  |^ | $")


@dataclass
class _Corpus:
    """Distinct normalised sentences as word ids, and which sentences each segment compares."""

    lex: Lexicon
    sent_off: np.ndarray  # int64 [S+1] into sent_words
    sent_words: np.ndarray  # int32 word ids
    seg_test: np.ndarray  # int64 [N] sentence of each segment's test
    seg_ref_off: np.ndarray  # int64 [N+1]
    seg_refs: np.ndarray  # int64 sentence of each reference
    unreproduced: np.ndarray  # bool [N]
    exact_class: np.ndarray  # int64 per word: equal iff equal String.hashCode()
    stem_class: np.ndarray  # int64 per word: equal iff equal hashCode of the stem


_PLAIN_BYTES = np.zeros(256, dtype=np.bool_)
_PLAIN_BYTES[list(b"abcdefghijklmnopqrstuvwxyz0123456789 ")] = True


def _lines_bytes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """UTF-8 bytes of the texts joined by newlines, and where each line starts; None if a text has one."""
    data = "\n".join(texts).encode("utf-8", "surrogatepass")
    arr = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(arr == 10)
    if len(breaks) != max(len(texts) - 1, 0):
        return None
    return arr, np.concatenate(([0], breaks + 1))


def _odd_lines(arr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Lines (texts) that are not lower-case ASCII letters and digits separated by single spaces."""
    bad = ~_PLAIN_BYTES[arr]
    bad[starts[1:] - 1] = False  # the newlines between texts
    bad[_odd_spaces(arr, starts)] = True
    return np.unique(np.searchsorted(starts, np.flatnonzero(bad), side="right") - 1)


def _jar_views(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> tuple[list[str], list[list[str]]]:
    views = [jar_view(h, rs) for h, rs in zip(hyps, refs)]
    return [v[0] for v in views], [v[1] for v in views]


def _as_read(texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """The texts' bytes when the jar reads every one of them as it is (no line break, no "|", nothing
    trim() or the hypothesis cleaning would change), else None."""
    got = _lines_bytes(texts)
    if got is None:
        return None
    arr = got[0]
    if ((arr == 13) | (arr == 124) | ((arr < 32) & (arr != 10))).any() or len(_odd_spaces(*got)):
        return None
    return got


def _odd_spaces(arr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Positions of double spaces, or of spaces at the start or end of a line."""
    space = arr == 32
    odd = np.zeros(len(arr), dtype=np.bool_)
    odd[1:] = space[1:] & space[:-1]
    inner = starts[starts < len(arr)]
    odd[inner] |= space[inner]
    ends = np.concatenate((starts[1:] - 2, [len(arr) - 1]))
    ends = ends[(ends >= 0) & (ends >= starts)]
    odd[ends] |= space[ends]
    return np.flatnonzero(odd)


def _prepare(index: md.MeteorIndex, hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> _Corpus:
    n = len(hyps)
    counts = np.fromiter(map(len, refs), dtype=np.int64, count=n)
    tests, flat = hyps, list(itertools.chain.from_iterable(refs))
    texts = list(dict.fromkeys(itertools.chain(tests, flat)))
    got = _as_read(texts) if counts.all() else None
    if got is None:  # some text is not read as it is: the jar's own view of each line
        tests, views = _jar_views(hyps, refs)
        counts = np.fromiter(map(len, views), dtype=np.int64, count=n)
        flat = list(itertools.chain.from_iterable(views))
        texts = list(dict.fromkeys(itertools.chain(tests, flat)))
        got = _lines_bytes(texts)
    # most captions are already what the normaliser makes of them: only the others go through it
    norms = texts
    ok = np.ones(len(texts), dtype=np.bool_)
    lines = _odd_lines(*got) if got is not None else np.arange(len(texts))
    if len(lines):
        norms = list(texts)
        picked = lines.tolist()
        normalized, flags = normalize_many([texts[k] for k in picked], index.nonbreaking)
        for k, t, f in zip(picked, normalized, flags):
            norms[k] = t
            ok[k] = f
    text_sentence, sentences = md.first_seen(norms, len(norms))
    position = dict(zip(texts, range(len(texts))))
    test_text = np.fromiter(map(position.__getitem__, tests), dtype=np.int64, count=n)
    ref_text = np.fromiter(map(position.__getitem__, flat), dtype=np.int64, count=len(flat))
    seg_ref_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=seg_ref_off[1:])
    unreproduced = ~ok[test_text]
    if not ok.all():
        owner = np.repeat(np.arange(n), counts)
        np.logical_or.at(unreproduced, owner, ~ok[ref_text])
    odd = [norms[k] for k in lines.tolist()] if len(lines) else []
    if not _NOT_PLAIN_SPACE.search(" ".join(odd)):
        # every sentence is words separated by single spaces (normalised ones too): split them all at once
        sent_len = np.fromiter(
            (t.count(" ") + 1 if t else 0 for t in sentences), dtype=np.int64, count=len(sentences)
        )
        tokens = " ".join(sentences).split()
    else:  # StringTokenizer's delimiters differ from str.split's whitespace
        split = [md.java_tokens(t) for t in sentences]
        sent_len = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        tokens = list(itertools.chain.from_iterable(split))
    sent_off = np.zeros(len(sentences) + 1, dtype=np.int64)
    np.cumsum(sent_len, out=sent_off[1:])
    dense, words = md.first_seen(tokens, len(tokens))
    dense = dense.astype(np.int32)
    lex = lexicon(index, words)
    _, exact_class = np.unique(lex.jhash, return_inverse=True)
    _, stem_class = np.unique(lex.stem, return_inverse=True)
    return _Corpus(
        lex, sent_off, dense, text_sentence[test_text], seg_ref_off, text_sentence[ref_text], unreproduced,
        exact_class.astype(np.int64), stem_class.astype(np.int64),
    )  # fmt: skip


# ------------------------------------------------------------------ paraphrase phrases of all sentences


@dataclass
class _Phrases:
    """Every n-gram of every distinct sentence that is a phrase of the table, and the table's pairs that can
    match anywhere in this corpus (reference phrase and paraphrase both occur in it). Phrases are numbered
    locally (``u``), in the order of their index in the table."""

    start: np.ndarray  # int64 position in the sentence; sorted by (sentence, start, length)
    length: np.ndarray  # int64
    u: np.ndarray  # int64 local phrase id
    off: np.ndarray  # int64 [S+1]: occurrences of each sentence
    phrases: np.ndarray  # int64 [U] phrase index in the table
    u_len: np.ndarray  # int64 [U] words
    pair_off: np.ndarray  # int64 [U+1]: usable pairs with phrase u as A, in file order
    pair_entry: np.ndarray  # int64 entry index (file order within A)
    pair_b: np.ndarray  # int64 local id of the pair's paraphrase
    keys: np.ndarray  # int64 sorted sentence * U + u of every occurrence
    key_start: np.ndarray  # int64 start of the occurrence of each key
    bloom: np.ndarray  # bool per hashed key slot: a quick "certainly not there"
    has_pairs: np.ndarray  # bool per occurrence: its phrase is the A of some usable pair


def _phrases(index: md.MeteorIndex, corpus: _Corpus) -> _Phrases:
    para = corpus.lex.para[corpus.sent_words]
    lengths = np.diff(corpus.sent_off)
    n_sent, total = len(lengths), len(para)
    # how many words from each position before the sentence ends or an unknown word (no phrase crosses)
    pos = np.arange(total)
    end = np.repeat(corpus.sent_off[1:], lengths)
    unknown = np.flatnonzero(para < 0)
    if len(unknown):
        nxt = unknown[np.minimum(np.searchsorted(unknown, pos), len(unknown) - 1)]
        end = np.where(nxt >= pos, np.minimum(nxt, end), end)
    room = end - pos
    bits = np.uint64(index.bloom_bits - 1)
    bloom = index.phr_bloom
    pbits = np.uint64(index.prefix_bits - 1)
    pbloom = index.prefix_bloom
    pkey, poff, pwords = index.phr_key, index.phr_off, index.phr_words
    starts = np.flatnonzero(room >= 1)
    first = para[starts]
    found = index.para_unigram[first].astype(np.int64)
    hit = found >= 0
    parts = [(starts[hit], 1, found[hit])]
    # longer phrases: extend only n-grams that begin some longer phrase (the trie's walk, with Bloom filters)
    grow = index.para_starts[first]
    starts = starts[grow]
    sums = md.extend_keys(para, starts, 1, None)[1]
    for length in range(2, md.MAX_PHRASE + 1):
        more = room[starts] >= length
        starts, sums = starts[more], sums[more]
        if not len(starts):
            break
        keys, sums = md.extend_keys(para, starts, length, sums)
        slot = (keys & bits).astype(np.int64)
        maybe = ((bloom[slot >> 3] >> (slot & 7).astype(np.uint8)) & 1).astype(bool)
        cand = starts[maybe]
        found = md.table_lookup(index.phr_table, pkey, keys[maybe])
        good = found >= 0
        cand, found = cand[good], found[good]
        same = (poff[found + 1] - poff[found]) == length  # a 64-bit key is not proof: compare the words
        for k in range(length):
            same &= pwords[poff[found] + k] == para[cand + k]
        parts.append((cand[same], length, found[same]))
        if length < md.MAX_PHRASE:
            slot = (keys & pbits).astype(np.int64)
            grow = ((pbloom[slot >> 3] >> (slot & 7).astype(np.uint8)) & 1).astype(bool)
            starts, sums = starts[grow], sums[grow]
    flat = np.concatenate([p[0] for p in parts])
    lens = np.concatenate([np.full(len(p[0]), p[1], dtype=np.int64) for p in parts])
    phrase = np.concatenate([p[2] for p in parts]).astype(np.int64)
    order = np.argsort(flat * 8 + lens)
    flat, lens, phrase = flat[order], lens[order], phrase[order]
    sent = np.repeat(np.arange(n_sent), lengths)[flat]
    off = np.searchsorted(sent, np.arange(n_sent + 1))
    phrases, u = np.unique(phrase, return_inverse=True)
    n_u = len(phrases)
    # the table's pairs whose A occurs here, kept when their B occurs somewhere in the corpus too
    eoff = index.ent_off
    entries, counts = md.ranges(eoff[phrases], eoff[phrases + 1])
    b = index.ent_b[entries].astype(np.int64)
    present = np.zeros((len(pkey) + 7) // 8, dtype=np.uint8)
    np.bitwise_or.at(present, phrases >> 3, (1 << (phrases & 7)).astype(np.uint8))
    keep = ((present[b >> 3] >> (b & 7).astype(np.uint8)) & 1).astype(bool)
    owner = np.repeat(np.arange(n_u), counts)[keep]
    b_u = np.searchsorted(phrases, b[keep])
    entries = entries[keep]
    pair_off = np.zeros(n_u + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n_u), out=pair_off[1:])
    keys = sent * max(n_u, 1) + u
    by_key = np.argsort(keys)
    local_start = flat - corpus.sent_off[sent]
    return _Phrases(
        local_start, lens, u, off, phrases, (poff[phrases + 1] - poff[phrases]).astype(np.int64), pair_off,
        entries, b_u, keys[by_key], local_start[by_key], _bloom(keys), (pair_off[u + 1] > pair_off[u]),
    )  # fmt: skip


_BLOOM_MUL = np.uint64(0x9E3779B97F4A7C15)


def _bloom_slots(keys: np.ndarray, bits: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        return ((keys.astype(np.uint64) * _BLOOM_MUL) >> np.uint64(64 - bits)).astype(np.int64)


def _bloom(keys: np.ndarray) -> np.ndarray:
    """One flag per slot (a byte each: setting them needs no read-modify-write)."""
    bits = max(10, int(np.ceil(np.log2(max(len(keys), 1) * 8))))
    out = np.zeros(1 << bits, dtype=np.bool_)
    out[_bloom_slots(keys, bits)] = True
    return out


def _bloom_test(bloom: np.ndarray, keys: np.ndarray) -> np.ndarray:
    return bloom[_bloom_slots(keys, len(bloom).bit_length() - 1)]


# ------------------------------------------------------------------------- all alignments of a block, at once

_WIDE = 64  # sentences longer than this take the per-pair search (_wide_pair): masks here are one uint64
_FULL = np.array([(1 << k) - 1 for k in range(65)], dtype=np.uint64)


def _span_masks(start: np.ndarray, length: np.ndarray) -> np.ndarray:
    return _FULL[length] << start.astype(np.uint64)


def _equal_pairs(ka: np.ndarray, kb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (a, b) with ka[a] == kb[b] (both sides sorted first: the searches then walk memory in order)."""
    oa, ob = np.argsort(ka), np.argsort(kb)
    sa, sb = ka[oa], kb[ob]
    lo = np.searchsorted(sb, sa, side="left")
    hi = np.searchsorted(sb, sa, side="right")
    idx, counts = md.ranges(lo, hi)
    return np.repeat(oa, counts), ob[idx]


@dataclass
class _Pairs:
    """The (test, reference) alignments of a block of segments."""

    h: np.ndarray  # int64 test sentence
    r: np.ndarray  # int64 reference sentence
    n1: np.ndarray  # int64 words
    n2: np.ndarray
    h_off: np.ndarray  # int64 first word of the test in corpus.sent_words
    r_off: np.ndarray


@dataclass
class _Matches:
    """Stage.matches of every pair, in the jar's order: sorted by (pair, line2 start, matcher, ...)."""

    pair: np.ndarray
    j: np.ndarray  # line2 (reference) start
    len2: np.ndarray
    i: np.ndarray  # line1 (test) start
    len1: np.ndarray
    module: np.ndarray


def _related(c: _Corpus, hw: np.ndarray, rw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Related (test word, reference word) pairs as ``index into hw * len(rw) + index into rw``, sorted, and
    their codes: 1 exact, 2 stem, 4 synonym (as ExactMatcher, StemMatcher and SynonymMatcher decide)."""
    lex = c.lex
    nr = len(rw)
    ea, eb = c.exact_class[hw], c.exact_class[rw]
    keys, codes = [], []
    a, b = _equal_pairs(ea, eb)
    keys.append(a * nr + b)
    codes.append(np.full(len(a), 1, dtype=np.uint8))
    a, b = _equal_pairs(c.stem_class[hw], c.stem_class[rw])
    keep = ea[a] != eb[b]
    keys.append(a[keep] * nr + b[keep])
    codes.append(np.full(int(keep.sum()), 2, dtype=np.uint8))
    sa, ca = md.ranges(lex.syn_off[hw], lex.syn_off[hw + 1])
    sb, cb = md.ranges(lex.syn_off[rw], lex.syn_off[rw + 1])
    x, y = _equal_pairs(lex.syn[sa].astype(np.int64), lex.syn[sb].astype(np.int64))
    a, b = np.repeat(np.arange(len(hw)), ca)[x], np.repeat(np.arange(len(rw)), cb)[y]
    keep = ea[a] != eb[b]
    keys.append(a[keep] * nr + b[keep])
    codes.append(np.full(int(keep.sum()), 4, dtype=np.uint8))
    key = np.concatenate(keys)
    code = np.concatenate(codes)
    order = np.argsort(key)
    key, code = key[order], code[order]
    if not len(key):
        return key, code
    head = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return key[head], np.bitwise_or.reduceat(code, head)


def _relation(c: _Corpus, hw: np.ndarray, rw: np.ndarray) -> np.ndarray:
    """uint8 [len(hw) * len(rw)]: the codes of ``_related`` as a table."""
    code = np.zeros(len(hw) * len(rw), dtype=np.uint8)
    key, value = _related(c, hw, rw)
    code[key] = value
    return code


def _block_matches(c: _Corpus, ph: _Phrases, pr: _Pairs) -> _Matches:
    words = c.sent_words
    n_pairs = len(pr.h)
    n_words = len(c.lex.words)
    # exact, stem and synonym: every (test word, reference word) cell of every pair, through the relation
    # of the distinct words of the block
    t_start = np.cumsum(pr.n1) - pr.n1
    t_pair = np.repeat(np.arange(n_pairs), pr.n1)
    t_i = np.arange(len(t_pair)) - t_start[t_pair]
    t_word = words[pr.h_off[t_pair] + t_i]
    r_start = np.cumsum(pr.n2) - pr.n2
    r_pair = np.repeat(np.arange(n_pairs), pr.n2)
    r_word = words[pr.r_off[r_pair] + (np.arange(len(r_pair)) - r_start[r_pair])]
    local = np.zeros(n_words, dtype=np.int64)
    hw = np.flatnonzero(np.bincount(t_word, minlength=n_words))
    local[hw] = np.arange(len(hw))
    t_local = local[t_word]
    rw = np.flatnonzero(np.bincount(r_word, minlength=n_words))
    local[rw] = np.arange(len(rw))
    r_local = local[r_word]
    code = _relation(c, hw, rw)
    nr = len(rw)
    t_base = t_local * nr
    rows_, cols_, vals_ = [], [], []
    # pairs grouped by reference length: each group's cells are one [test words, length] gather
    for length in np.unique(pr.n2).tolist():
        if length == 0:
            continue
        group = np.flatnonzero(pr.n2 == length)
        rmat = r_local[r_start[group][:, None] + np.arange(length)]  # [pairs, length]
        slot = np.full(n_pairs, -1, dtype=np.int64)
        slot[group] = np.arange(len(group))
        rows = np.flatnonzero(slot[t_pair] >= 0)
        got = code[t_base[rows][:, None] + rmat[slot[t_pair[rows]]]]
        r, j = np.nonzero(got)
        rows_.append(rows[r])
        cols_.append(j)
        vals_.append(got[r, j])
    row = np.concatenate(rows_) if rows_ else np.zeros(0, dtype=np.int64)
    cj = np.concatenate(cols_).astype(np.int64) if cols_ else row
    cc = np.concatenate(vals_) if vals_ else np.zeros(0, dtype=np.uint8)
    cp, ci = t_pair[row], t_i[row]
    # Aligner.align: identical sentences (equal hashCodes) get exact matches only
    same = pr.n1 == pr.n2
    if same.any():
        cand = np.flatnonzero(same)
        pos, counts = md.ranges(np.zeros(len(cand), dtype=np.int64), pr.n1[cand])
        owner = np.repeat(cand, counts)
        diff = c.exact_class[words[pr.h_off[owner] + pos]] != c.exact_class[words[pr.r_off[owner] + pos]]
        same[owner[diff]] = False
        cc = np.where(same[cp], cc & 1, cc)
    parts = []
    for module, bit in ((EXACT, 1), (STEM, 2), (SYNONYM, 4)):
        k = np.flatnonzero(cc & bit)
        p, j, i = cp[k], cj[k], ci[k]
        one = np.ones(len(k), dtype=np.int64)
        # sort key: (pair, j, matcher, i)
        key = ((p * 64 + j) * 8 + module) << 32 | i
        parts.append((p, j, one, i, one, np.full(len(k), module), key))
    # paraphrases: (pair, A occurrence, usable pair of the table), kept when B occurs in the other sentence
    nonsame = ~same
    n_u = max(len(ph.phrases), 1)
    for direction in (1, 2):
        a_sent = pr.r if direction == 1 else pr.h
        b_sent = pr.h if direction == 1 else pr.r
        occ, counts = md.ranges(ph.off[a_sent], ph.off[a_sent + 1])
        p = np.repeat(np.arange(n_pairs), counts)
        keep = nonsame[p] & ph.has_pairs[occ]
        occ, p = occ[keep], p[keep]
        u = ph.u[occ]
        ent, counts = md.ranges(ph.pair_off[u], ph.pair_off[u + 1])
        src_full = np.repeat(np.arange(len(occ)), counts)
        key = b_sent[p[src_full]] * n_u + ph.pair_b[ent]
        maybe = np.flatnonzero(_bloom_test(ph.bloom, key))  # most candidates' paraphrase is not there
        key = key[maybe]
        lo = np.searchsorted(ph.keys, key, side="left")
        hi = np.searchsorted(ph.keys, key, side="right")
        found, counts = md.ranges(lo, hi)
        row = np.repeat(maybe, counts)
        entry = ent[row]
        src = src_full[row]
        p, start, length = p[src], ph.start[occ[src]], ph.length[occ[src]]
        e, b = ph.pair_entry[entry], ph.pair_b[entry]
        other = ph.key_start[found]
        blen = ph.u_len[b]
        if direction == 1:  # A at line2 position `start`, B at line1 position `other`
            j, len2, i, len1 = start, length, other, blen
            sub = (((length - 1) << 23) + e) * 64 + other
        else:  # A at line1 position `start`, B at line2 position `other`
            j, len2, i, len1 = other, blen, start, length
            sub = ((start * 8 + (length - 1)) << 23) + e
        key = ((p * 64 + j) * 8 + 2 + direction) << 32 | sub
        parts.append((p, j, len2, i, len1, np.full(len(p), PARAPHRASE), key))
    key = np.concatenate([x[6] for x in parts])
    order = np.argsort(key)
    cols = [np.concatenate([x[k] for x in parts])[order].astype(np.int64) for k in range(6)]
    return _Matches(*cols)


def _fixed(m: _Matches, pr: _Pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aligner.align's definite matches: the only match at its line2 start, every word it covers covered by
    it alone. Returns (fixed flags, line1 mask, line2 mask of each pair's fixed words)."""
    n_pairs = len(pr.h)
    off1 = np.cumsum(pr.n1) - pr.n1
    off2 = np.cumsum(pr.n2) - pr.n2
    total1, total2 = int(pr.n1.sum()), int(pr.n2.sum())
    at = off2[m.pair] + m.j
    starts = np.bincount(at, minlength=total2)
    cover1 = np.zeros(total1, dtype=np.int64)
    cover2 = np.zeros(total2, dtype=np.int64)
    base1 = off1[m.pair] + m.i
    for k in range(int(m.len2.max(initial=1))):
        sel = m.len2 > k
        cover2 += np.bincount(at[sel] + k, minlength=total2)
    for k in range(int(m.len1.max(initial=1))):
        sel = m.len1 > k
        cover1 += np.bincount(base1[sel] + k, minlength=total1)
    fixed = starts[at] == 1
    for k in range(int(m.len2.max(initial=1))):
        sel = m.len2 > k
        fixed[sel] &= cover2[at[sel] + k] == 1
    for k in range(int(m.len1.max(initial=1))):
        sel = m.len1 > k
        fixed[sel] &= cover1[base1[sel] + k] == 1
    mask1 = np.zeros(n_pairs, dtype=np.uint64)
    mask2 = np.zeros(n_pairs, dtype=np.uint64)
    f = np.flatnonzero(fixed)
    np.bitwise_or.at(mask1, m.pair[f], _span_masks(m.i[f], m.len1[f]))
    np.bitwise_or.at(mask2, m.pair[f], _span_masks(m.j[f], m.len2[f]))
    return fixed, mask1, mask2


def _increment(length: np.ndarray, module: np.ndarray) -> np.ndarray:
    # PartialAlignment.matches1/2 are ints: `matches1 += matchLength * weight` truncates match by match
    return np.floor(length * np.asarray(SEARCH_WEIGHTS)[module]).astype(np.int64)


def _group_rank(groups: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal values (the array is grouped)."""
    n = len(groups)
    if n == 0:
        return groups
    start = np.ones(n, dtype=bool)
    start[1:] = groups[1:] != groups[:-1]
    at = np.arange(n)
    return at - np.maximum.accumulate(np.where(start, at, 0))


def _bits(values: np.ndarray) -> int:
    top = int(values.max(initial=0))
    return max(top.bit_length(), 1)


def _sort_paths(cols: dict[str, np.ndarray], widths: list[int] | None = None) -> np.ndarray:
    """Order of the paths by (pair, more weighted matches, fewer chunks, smaller distance, list order).
    ``widths``: bits of each field, known bounds (else measured)."""
    fields = [cols["row_pair"], 255 - cols["m12"], cols["chunks"], cols["dst"], cols["rank"], cols["sub"]]
    if widths is None:
        widths = [_bits(f) for f in fields]
    if sum(widths) <= 63 and int(cols["m12"].max(initial=0)) <= 255:
        key = fields[0].astype(np.int64)
        for f, w in zip(fields[1:], widths[1:]):
            key = (key << w) | f
        return np.argsort(key)  # keys are distinct (rank, sub identify a path within its pair)
    return np.lexsort(fields[::-1])


def _beam(m: _Matches, pr: _Pairs, fixed: np.ndarray, mask1: np.ndarray, mask2: np.ndarray) -> np.ndarray:
    """Aligner.resolve for every pair at once: the matches of each pair's best alignment (flags)."""
    chosen = fixed.copy()
    m1 = _span_masks(m.i, m.len1)
    m2 = _span_masks(m.j, m.len2)
    free = ~fixed & ((m1 & mask1[m.pair]) == 0) & ((m2 & mask2[m.pair]) == 0)
    search = np.flatnonzero(np.bincount(m.pair[free], minlength=len(pr.h)))
    if not len(search):
        return chosen
    # pairs that need the search, renumbered 0..S-1; their (pair, position) slots
    local = np.full(len(pr.h), -1, dtype=np.int64)
    local[search] = np.arange(len(search))
    n2 = pr.n2[search]
    base = np.cumsum(n2) - n2
    slots = int(n2.sum())
    in_search = local[m.pair] >= 0
    fixed_at = np.full(slots, -1, dtype=np.int64)
    fs = np.flatnonzero(fixed & in_search)
    fixed_at[base[local[m.pair[fs]]] + m.j[fs]] = fs
    cand = np.flatnonzero(free)  # already in the jar's order within each (pair, position)
    cslot = base[local[m.pair[cand]]] + m.j[cand]
    cand_off = np.zeros(slots + 1, dtype=np.int64)
    np.cumsum(np.bincount(cslot, minlength=slots), out=cand_off[1:])
    inc = _increment(m.len1, m.module) + _increment(m.len2, m.module)
    dist = np.abs(m.j - m.i)
    last_cand = np.full(len(search), -1, dtype=np.int64)
    np.maximum.at(last_cand, local[m.pair[cand]], m.j[cand])
    # bounds of the sort key's fields: pair, 255 - matches (m12 <= 2 * 64), chunks, distance (a path passes
    # each position once, so it is charged each match's distance at most once), rank, place in the list
    inside = np.flatnonzero(in_search)
    per_pair = np.bincount(local[m.pair[inside]], weights=dist[inside], minlength=len(search))
    widths = [
        _bits(np.array([len(search)])), 8, 7, _bits(np.array([int(per_pair.max(initial=0))])), 6,
        _bits(np.diff(cand_off)) + 1,
    ]  # fmt: skip
    # paths: one row each, grouped by pair, in the jar's list order within a pair
    row_pair = np.arange(len(search))
    m12 = np.zeros(len(search), dtype=np.int64)
    chunks = np.zeros(len(search), dtype=np.int64)
    dst = np.zeros(len(search), dtype=np.int64)
    idx = np.zeros(len(search), dtype=np.int64)
    last = np.full(len(search), -1, dtype=np.int64)
    u1, u2 = mask1[search].copy(), mask2[search].copy()
    hist = np.full(len(search), -1, dtype=np.int64)
    hist_parent: list[np.ndarray] = []
    hist_match: list[np.ndarray] = []
    hist_size = 0
    best_hist = np.full(len(search), -1, dtype=np.int64)
    t = 0
    while len(row_pair):
        done = n2[row_pair] == t
        if done.any():
            # last step: close the open chunk, take the first of the stably sorted paths
            d = np.flatnonzero(done)
            ch = chunks[d] + (last[d] != -1)
            order = _sort_paths(dict(
                row_pair=row_pair[d], m12=m12[d], chunks=ch, dst=dst[d], rank=np.arange(len(d)),
                sub=np.zeros(len(d), dtype=np.int64),
            ))  # fmt: skip
            dp = row_pair[d][order]
            first = np.r_[True, dp[1:] != dp[:-1]]
            best_hist[dp[first]] = hist[d][order][first]
            keep = ~done
            row_pair, m12, chunks, dst, idx, last, u1, u2, hist = (
                x[keep] for x in (row_pair, m12, chunks, dst, idx, last, u1, u2, hist)
            )
            if not len(row_pair):
                break
        # a pair with no candidate left whose paths all stand at this position with the same last match: from
        # here on every path takes the same fixed matches and skips, keys move together and the stable sorts
        # keep the list as it is, so its first path is the answer
        heads = np.flatnonzero(np.r_[True, row_pair[1:] != row_pair[:-1]])
        sizes = np.diff(np.r_[heads, len(row_pair)])
        still = (t > last_cand[row_pair]) & (idx == t) & (last == np.repeat(last[heads], sizes))
        settled = np.logical_and.reduceat(still, heads)
        if settled.any():
            best_hist[row_pair[heads[settled]]] = hist[heads[settled]]
            keep = ~np.repeat(settled, sizes)
            row_pair, m12, chunks, dst, idx, last, u1, u2, hist = (
                x[keep] for x in (row_pair, m12, chunks, dst, idx, last, u1, u2, hist)
            )
            if not len(row_pair):
                break
        pos = base[row_pair] + t
        bit = np.uint64(1) << np.uint64(t)
        used = (u2 & bit) != 0
        rank = _group_rank(row_pair)
        # inside a match: carry on; at a fixed match: take it
        at_fixed = used & (t >= idx)
        f = fixed_at[pos[at_fixed]]
        ok = f >= 0
        sel = np.flatnonzero(at_fixed)
        keep_rows = np.ones(len(row_pair), dtype=bool)
        keep_rows[sel[~ok]] = False  # the jar drops such a path (cannot happen with fixed matches)
        sel, f = sel[ok], f[ok]
        lf = last[sel]
        m12[sel] += inc[f]
        chunks[sel] += (lf != -1) & (m.i[f] != lf)
        dst[sel] += dist[f]
        idx[sel] = t + m.len2[f]
        last[sel] = m.i[f] + m.len1[f]
        # free position: one new path per usable candidate, then the path that skips the position
        fr = np.flatnonzero(~used)
        lo, hi = cand_off[pos[fr]], cand_off[pos[fr] + 1]
        ci, counts = md.ranges(lo, hi)
        parent = np.repeat(fr, counts)
        mi = cand[ci]
        usable = ((u1[parent] & m1[mi]) == 0) & ((u2[parent] & m2[mi]) == 0)
        charge = np.where(usable, dist[mi], 0)
        run = np.cumsum(charge)
        group_start = np.repeat(np.cumsum(counts) - counts, counts)
        before = run - charge - (run[group_start] - charge[group_start]) if len(run) else run
        total_charge = np.zeros(len(row_pair), dtype=np.int64)
        np.add.at(total_charge, parent, charge)
        sub = np.arange(len(ci)) - group_start
        u_sel = np.flatnonzero(usable)
        cp, cm = parent[u_sel], mi[u_sel]
        cl = last[cp]
        child = dict(
            row_pair=row_pair[cp], m12=m12[cp] + inc[cm], chunks=chunks[cp] + ((cl != -1) & (m.i[cm] != cl)),
            dst=dst[cp] + before[u_sel], idx=t + m.len2[cm], last=m.i[cm] + m.len1[cm], u1=u1[cp] | m1[cm],
            u2=u2[cp] | m2[cm], hist=hist_size + np.arange(len(cp)), rank=rank[cp], sub=sub[u_sel],
        )  # fmt: skip
        hist_parent.append(hist[cp])
        hist_match.append(cm)
        hist_size += len(cp)
        # the skipping path (the parent itself, charged the distance of every usable candidate)
        chunks[fr] += last[fr] != -1
        last[fr] = -1
        idx[fr] += 1
        dst += total_charge
        big = int(counts.max(initial=0)) + 1
        old = dict(
            row_pair=row_pair, m12=m12, chunks=chunks, dst=dst, idx=idx, last=last, u1=u1, u2=u2, hist=hist,
            rank=rank, sub=np.where(~used, big, 0),
        )  # fmt: skip
        cols = {k: np.concatenate((old[k][keep_rows], child[k])) for k in old}
        # Collections.sort(paths, PARTIAL_COMPARE_TOTAL), stable: ties keep the list order (rank, sub)
        order = _sort_paths(cols, widths)
        rp = cols["row_pair"][order]
        order = order[_group_rank(rp) < BEAM_SIZE]
        row_pair, m12, chunks, dst, idx, last, u1, u2, hist = (
            cols[k][order] for k in ("row_pair", "m12", "chunks", "dst", "idx", "last", "u1", "u2", "hist")
        )
        t += 1
    # follow each best path back to its chosen candidates
    if hist_size:
        parents = np.concatenate(hist_parent)
        matches = np.concatenate(hist_match)
        h = best_hist[best_hist >= 0]
        while len(h):
            chosen[matches[h]] = True
            h = parents[h]
            h = h[h >= 0]
    return chosen


def _pair_statistics(c: _Corpus, m: _Matches, pr: _Pairs, chosen: np.ndarray) -> np.ndarray:
    """MeteorScorer.getMeteorStats of each pair from its chosen matches."""
    n_pairs = len(pr.h)
    func = c.lex.function[c.sent_words]
    sent_func = np.add.reduceat(np.r_[func, False].astype(np.int64), c.sent_off[:-1]) * (
        np.diff(c.sent_off) > 0
    )
    out = np.zeros((n_pairs, STATS_WIDTH), dtype=np.int64)
    out[:, 0], out[:, 1] = pr.n1, pr.n2
    out[:, 2], out[:, 3] = sent_func[pr.h], sent_func[pr.r]
    k = np.flatnonzero(chosen)
    p, j, len2, i, len1, mod = m.pair[k], m.j[k], m.len2[k], m.i[k], m.len1[k], m.module[k]
    flat = out.reshape(-1)
    for w in range(int(len1.max(initial=1))):
        sel = len1 > w
        fw = func[pr.h_off[p[sel]] + i[sel] + w]
        np.add.at(flat, p[sel] * STATS_WIDTH + 4 + 4 * mod[sel] + np.where(fw, 2, 0), 1)
    for w in range(int(len2.max(initial=1))):
        sel = len2 > w
        fw = func[pr.r_off[p[sel]] + j[sel] + w]
        np.add.at(flat, p[sel] * STATS_WIDTH + 5 + 4 * mod[sel] + np.where(fw, 2, 0), 1)
    # Aligner.getCountAndChunks: a chunk starts at the first match, after a gap in line2, or where line1
    # is not contiguous
    order = np.lexsort((j, p))
    p, j, len2, i, len1 = p[order], j[order], len2[order], i[order], len1[order]
    new = np.ones(len(p), dtype=bool)
    same = p[1:] == p[:-1]
    new[1:] = ~same | (j[1:] > j[:-1] + len2[:-1]) | (i[1:] != i[:-1] + len1[:-1])
    out[:, 20] = np.bincount(p[new], minlength=n_pairs)
    out[:, 21] = np.bincount(p, weights=len1, minlength=n_pairs).astype(np.int64)
    out[:, 22] = np.bincount(p, weights=len2, minlength=n_pairs).astype(np.int64)
    return out


# ---------------------------------------------------------------------------------------------------- API


@dataclass
class MeteorStatistics:
    """Per-segment sufficient statistics, the numbers of the jar's ``SCORE`` line (integers):
    test length, reference length, test and reference function words, then for each module (exact, stem,
    synonym, paraphrase) test content, reference content, test function and reference function matches,
    then chunks, test and reference words matched. ``unreproduced`` marks segments whose numbers may differ
    from the jar's (see the module's known deviations)."""

    stats: np.ndarray  # int64 [n, 23]
    unreproduced: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.stats = np.asarray(self.stats, dtype=np.int64).reshape(-1, STATS_WIDTH)
        if self.unreproduced is None:
            self.unreproduced = np.zeros(len(self.stats), dtype=np.bool_)
        self.unreproduced = np.asarray(self.unreproduced, dtype=np.bool_)

    def __len__(self) -> int:
        return len(self.stats)

    def lines(self) -> list[str]:
        """The statistics as the jar prints them (``MeteorStats.toString()``)."""
        return [" ".join(f"{float(x)}" for x in row) for row in self.stats.tolist()]

    def to_lists(self) -> dict:
        """JSON-ready form (the report stores it; ``from_lists`` reads it back)."""
        return {"stats": self.stats.tolist(), "unreproduced": np.flatnonzero(self.unreproduced).tolist()}

    @classmethod
    def from_lists(cls, data: dict) -> MeteorStatistics:
        stats = np.asarray(data["stats"], dtype=np.int64).reshape(-1, STATS_WIDTH)
        flags = np.zeros(len(stats), dtype=np.bool_)
        flags[np.asarray(data.get("unreproduced", []), dtype=np.int64)] = True
        return cls(stats, flags)

    def with_jar_lines(self, indices: Sequence[int], lines: Sequence[str]) -> MeteorStatistics:
        """These statistics with the rows ``indices`` replaced by the jar's SCORE lines for them (the
        segments flagged ``unreproduced``, scored by ``MeteorJar`` where Java is present)."""
        stats, flags = self.stats.copy(), self.unreproduced.copy()
        idx = np.asarray(indices, dtype=np.int64)
        stats[idx] = MeteorStatistics.from_lines(lines).stats
        flags[idx] = False
        return MeteorStatistics(stats, flags)

    @classmethod
    def from_lines(cls, lines: Sequence[str]) -> MeteorStatistics:
        """From the jar's own SCORE lines."""
        return cls(np.array([[round(float(x)) for x in line.split()] for line in lines], dtype=np.int64))


def meteor_scores(stats: MeteorStatistics) -> np.ndarray:
    """Per-segment scores, as the jar's EVAL line prints them before the corpus score."""
    return _score_rows(stats.stats)


def summable(stats: MeteorStatistics) -> np.ndarray:
    """Rows whose (weighted) sum is the EVAL line's aggregate: the statistics with the chunks of perfect
    segments left out. ``score_sums`` of such a sum is ``meteor_corpus`` (bootstrap estimators use the pair)."""
    s = stats.stats.astype(np.float64)
    s[:, 20] = np.where(_corpus_rows(s), 0.0, s[:, 20])
    return s


def score_sums(total: np.ndarray) -> np.ndarray:
    """MeteorScorer.computeMetrics on summed statistics (``[..., 23]``)."""
    return _score_rows(total)


def meteor_corpus(stats: MeteorStatistics, weights: np.ndarray | None = None) -> float | np.ndarray:
    """The EVAL line's corpus score: MeteorStats.addStats over the segments (each ``weights[k]`` times), then
    computeMetrics. ``weights`` is one row ``[n]`` or a matrix ``[B, n]`` of resample counts (vectorised)."""
    s = stats.stats.astype(np.float64)
    perfect = _corpus_rows(s)
    chunks = np.where(perfect, 0.0, s[:, 20])
    if weights is None:
        total = s.sum(0)
        total[20] = chunks.sum()
        return float(_score_rows(total))
    w = np.asarray(weights, dtype=np.float64)
    single = w.ndim == 1
    w = np.atleast_2d(w)
    if w.shape[1] != len(s):
        raise ValueError(f"weights have {w.shape[1]} columns for {len(s)} segments")
    total = w @ s
    total[:, 20] = w @ chunks
    out = _score_rows(total)
    return float(out[0]) if single else out


def meteor_statistics(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    *,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> MeteorStatistics:
    """The jar's statistics for each hypothesis against its references (PTB-tokenized, lower-cased
    strings, exactly what pycocoevalcap sends to ``meteor-1.5.jar``).

    ``workers``: processes to use (default: 2 where ``worth_two_processes``); the second one is
    forked (Linux only, and only while no other thread runs) and scores the second half of the segments."""
    if len(hyps) != len(refs):
        raise ValueError("one list of references per hypothesis")
    n = len(hyps)
    if n == 0:
        return MeteorStatistics(np.zeros((0, STATS_WIDTH), dtype=np.int64))
    index = md.load_index()
    if workers is None:
        workers = 2 if worth_two_processes(hyps, refs) and (os.cpu_count() or 1) > 1 else 1
    # fork only where it is safe: Linux, and no other thread that could hold a lock the child needs
    if workers > 1 and can_fork():
        stats, flags = _forked(index, hyps, refs, progress)
    else:
        stats, flags = _statistics(index, hyps, refs, progress)
    return MeteorStatistics(stats, flags)


PARALLEL_MIN_SEGMENTS = 1000  # below this a second process costs more than it saves (measured)
# ... unless the segments are long: the alignment search grows with hypothesis x reference words, and 1,000
# COCO images are about 500,000 of those (700 paragraph captions of ~100 words: 22 million, 40 s in one)
PARALLEL_MIN_WORK = 500_000


def alignment_work(hyps: Sequence[str], refs: Sequence[Sequence[str]], stop: float = math.inf) -> int:
    """What the alignment search costs, roughly: the segments' hypothesis x reference words (counted up to
    ``stop``)."""
    work = 0
    for h, rs in zip(hyps, refs):
        work += (h.count(" ") + 1) * sum(r.count(" ") + 1 for r in rs)
        if work >= stop:
            break
    return work


def worth_two_processes(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> bool:
    """Whether a second process pays for these segments: many of them, or long ones."""
    if len(hyps) < 2:
        return False
    return len(hyps) >= PARALLEL_MIN_SEGMENTS or alignment_work(hyps, refs, PARALLEL_MIN_WORK) >= PARALLEL_MIN_WORK


def _statistics(index, hyps, refs, progress=None) -> tuple[np.ndarray, np.ndarray]:
    n = len(hyps)
    out = np.zeros((n, STATS_WIDTH), dtype=np.int64)
    if n == 0:
        return out, np.zeros(0, dtype=np.bool_)
    corpus = _prepare(index, hyps, refs)
    phrases = _phrases(index, corpus)
    for lo in range(0, n, SEARCH_SEGMENTS):
        hi = min(n, lo + SEARCH_SEGMENTS)
        out[lo:hi] = _segments(index, corpus, phrases, lo, hi)
        if progress is not None:
            progress(hi - lo)
    return out, corpus.unreproduced


SEARCH_SEGMENTS = 20_000  # segments whose alignments are searched together: bounds the search's memory
BLOCK_CELLS = 500_000  # (test word, reference word) cells matched together: the word relation stays small


def _segments(index: md.MeteorIndex, c: _Corpus, ph: _Phrases, lo: int, hi: int) -> np.ndarray:
    roff = c.seg_ref_off
    counts = roff[lo + 1 : hi + 1] - roff[lo:hi]
    seg = np.repeat(np.arange(lo, hi), counts)
    h = c.seg_test[seg]
    r = c.seg_refs[roff[lo] : roff[hi]]
    sl = np.diff(c.sent_off)
    n1, n2 = sl[h], sl[r]
    wide = (n1 > _WIDE) | (n2 > _WIDE)
    stats = np.zeros((len(h), STATS_WIDTH), dtype=np.int64)
    narrow = np.flatnonzero(~wide)
    if len(narrow):
        pr = _Pairs(
            h[narrow], r[narrow], n1[narrow], n2[narrow], c.sent_off[h[narrow]], c.sent_off[r[narrow]]
        )
        parts = []
        cells = np.cumsum(pr.n1 * pr.n2)
        start = 0
        while start < len(narrow):
            base = cells[start - 1] if start else 0
            stop = min(len(narrow), max(start + 1, int(np.searchsorted(cells, base + BLOCK_CELLS, "right"))))
            sub = _Pairs(*(x[start:stop] for x in (pr.h, pr.r, pr.n1, pr.n2, pr.h_off, pr.r_off)))
            m = _block_matches(c, ph, sub)
            m.pair += start
            parts.append(m)
            start = stop
        m = _Matches(*(np.concatenate([getattr(x, f) for x in parts]) for f in _Matches.__dataclass_fields__))
        fixed, mask1, mask2 = _fixed(m, pr)
        chosen = _beam(m, pr, fixed, mask1, mask2)
        stats[narrow] = _pair_statistics(c, m, pr, chosen)
    for k in np.flatnonzero(wide).tolist():
        stats[k], within = _wide_pair(index, c, ph, int(h[k]), int(r[k]))
        if not within:
            c.unreproduced[seg[k]] = True
    # MeteorScorer.getMeteorStats(test, references): the first reference with the highest score
    scores = _score_rows(stats)
    starts = np.cumsum(counts) - counts
    best = np.maximum.reduceat(scores, starts)
    is_best = scores >= np.repeat(best, counts)
    first = np.flatnonzero(is_best)
    pick = first[np.searchsorted(first, starts)]
    return stats[pick]


def _forked(index, hyps, refs, progress) -> tuple[np.ndarray, np.ndarray]:
    """The second half of the segments in a forked process (vlmeval.parallel)."""
    from vlmeval.parallel import in_two

    n = len(hyps)
    mid = n // 2
    first, second = in_two(
        lambda: _statistics(index, hyps[:mid], refs[:mid], progress),
        lambda: _statistics(index, hyps[mid:], refs[mid:]),
    )
    if progress is not None:
        progress(n - mid)
    return np.concatenate((first[0], second[0])), np.concatenate((first[1], second[1]))


WIDE_BUDGET = 40_000_000  # candidate expansions (paths x candidates) one long pair may cost the search


def _positions(words: np.ndarray, distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each distinct word occurs: (offsets [len(distinct)+1], positions grouped by word)."""
    inv = np.searchsorted(distinct, words)
    order = np.argsort(inv, kind="stable")
    off = np.zeros(len(distinct) + 1, dtype=np.int64)
    np.cumsum(np.bincount(inv, minlength=len(distinct)), out=off[1:])
    return off, order


WIDE_MATCHES = 4_000_000  # matches one long pair may generate (a repeated word in both: n1 x n2 of them)


def _wide_matches(c: _Corpus, ph: _Phrases, h: int, r: int) -> tuple[_Matches, bool]:
    """Stage.matches of one pair of any length, in the jar's order, and whether all of them fit in
    WIDE_MATCHES (when not, a word or phrase of the test is matched at its first position only)."""
    w1 = c.sent_words[c.sent_off[h] : c.sent_off[h + 1]].astype(np.int64)
    w2 = c.sent_words[c.sent_off[r] : c.sent_off[r + 1]].astype(np.int64)
    identical = len(w1) == len(w2) and bool((c.exact_class[w1] == c.exact_class[w2]).all())
    u1, u2 = np.unique(w1), np.unique(w2)
    off1, pos1 = _positions(w1, u1)
    off2, pos2 = _positions(w2, u2)
    key, code = _related(c, u1, u2)
    a_all, b_all = key // max(len(u2), 1), key % max(len(u2), 1)
    complete = int(((off1[a_all + 1] - off1[a_all]) * (off2[b_all + 1] - off2[b_all])).sum()) <= WIDE_MATCHES
    if complete and not identical:  # paraphrases: (occurrences of A) x (pairs) x (occurrences of B)
        sizes = (
            np.bincount(ph.u[ph.off[h] : ph.off[h + 1]], minlength=len(ph.phrases)) if len(ph.phrases) else 0
        )
        sizes2 = (
            np.bincount(ph.u[ph.off[r] : ph.off[r + 1]], minlength=len(ph.phrases)) if len(ph.phrases) else 0
        )
        if len(ph.phrases):
            a_of = np.repeat(np.arange(len(ph.phrases)), np.diff(ph.pair_off))
            est = (sizes[a_of] * sizes2[ph.pair_b]).sum() + (sizes2[a_of] * sizes[ph.pair_b]).sum()
            complete = int(est) <= WIDE_MATCHES
    cols: list[list[np.ndarray]] = [[] for _ in range(9)]  # j, len2, i, len1, module, group, k1, k2, k3

    def add(j, len2, i, len1, module, group, k1, k2, k3):
        for col, x in zip(cols, (j, len2, i, len1, module, group, k1, k2, k3)):
            col.append(np.broadcast_to(np.asarray(x, dtype=np.int64), len(j)).copy())

    for module, bit in ((EXACT, 1), (STEM, 2), (SYNONYM, 4)):
        if identical and module != EXACT:
            break
        sel = np.flatnonzero(code & bit)
        a, b = key[sel] // max(len(u2), 1), key[sel] % max(len(u2), 1)
        ia, ca = md.ranges(off1[a], off1[a + 1] if complete else np.minimum(off1[a + 1], off1[a] + 1))
        # every position of word a with every position of word b
        rep = np.repeat(np.arange(len(a)), ca)
        jb, cb = md.ranges(off2[b][rep], off2[b + 1][rep])
        i = np.repeat(pos1[ia], cb)
        j = pos2[jb]
        add(j, 1, i, 1, module, module, i, 0, 0)
    if not identical:
        for direction in (1, 2):
            a_sent, b_sent = (r, h) if direction == 1 else (h, r)
            occ = np.arange(ph.off[a_sent], ph.off[a_sent + 1])
            u = ph.u[occ]
            ent, counts = md.ranges(ph.pair_off[u], ph.pair_off[u + 1])
            rep = np.repeat(np.arange(len(occ)), counts)
            start, length = ph.start[occ][rep], ph.length[occ][rep]
            e, b = ph.pair_entry[ent], ph.pair_b[ent]
            other = np.arange(ph.off[b_sent], ph.off[b_sent + 1])
            order = np.lexsort((ph.start[other], ph.u[other]))
            ou, ost = ph.u[other][order], ph.start[other][order]
            lo, hi = np.searchsorted(ou, b, "left"), np.searchsorted(ou, b, "right")
            found, counts = md.ranges(lo, hi if complete else np.minimum(hi, lo + 1))
            rep = np.repeat(np.arange(len(b)), counts)
            start, length, e, b, at = start[rep], length[rep], e[rep], b[rep], ost[found]
            blen = ph.u_len[b]
            if direction == 1:
                add(start, length, at, blen, PARAPHRASE, 3, length, e, at)
            else:
                add(at, blen, start, length, PARAPHRASE, 4, start, length, e)
    j, len2, i, len1, module, group, k1, k2, k3 = (
        np.concatenate(col) if col else np.zeros(0, dtype=np.int64) for col in cols
    )
    order = np.lexsort((k3, k2, k1, group, j))
    zeros = np.zeros(len(order), dtype=np.int64)
    return _Matches(zeros, j[order], len2[order], i[order], len1[order], module[order]), complete


def _wide_pair(index: md.MeteorIndex, c: _Corpus, ph: _Phrases, h: int, r: int) -> tuple[list[int], bool]:
    """The statistics of one pair of any length, and whether they are the jar's: False when the matches
    exceeded WIDE_MATCHES or the search WIDE_BUDGET (then only the first candidates are kept)."""
    n1 = int(c.sent_off[h + 1] - c.sent_off[h])
    n2 = int(c.sent_off[r + 1] - c.sent_off[r])
    m, within = _wide_matches(c, ph, h, r)
    # Aligner.align: the definite matches
    at = m.j
    starts = np.bincount(at, minlength=n2)
    cover1 = np.zeros(n1 + 1, dtype=np.int64)
    cover2 = np.zeros(n2 + 1, dtype=np.int64)
    np.add.at(cover2, m.j, 1)
    np.add.at(cover2, m.j + m.len2, -1)
    np.add.at(cover1, m.i, 1)
    np.add.at(cover1, m.i + m.len1, -1)
    cover1, cover2 = np.cumsum(cover1), np.cumsum(cover2)
    c1 = np.concatenate(([0], np.cumsum(cover1[:-1] != 1)))  # words covered other than once, prefix sums
    c2 = np.concatenate(([0], np.cumsum(cover2[:-1] != 1)))
    fixed = (starts[at] == 1) & (c2[m.j + m.len2] == c2[m.j]) & (c1[m.i + m.len1] == c1[m.i])
    used1 = np.zeros(n1, dtype=bool)
    used2 = np.zeros(n2, dtype=bool)
    for k in np.flatnonzero(fixed).tolist():
        used1[m.i[k] : m.i[k] + m.len1[k]] = True
        used2[m.j[k] : m.j[k] + m.len2[k]] = True
    cu1 = np.concatenate(([0], np.cumsum(used1)))
    cu2 = np.concatenate(([0], np.cumsum(used2)))
    free = ~fixed & (cu1[m.i + m.len1] == cu1[m.i]) & (cu2[m.j + m.len2] == cu2[m.j])
    cand = np.flatnonzero(free)
    if len(cand) * BEAM_SIZE > WIDE_BUDGET:
        within = False
        keep_per = max(1, WIDE_BUDGET // (BEAM_SIZE * max(n2, 1)))
        rank = _group_rank(m.j[cand])
        cand = cand[rank < keep_per]
    chosen = fixed.copy()
    if len(cand):
        chosen[_search_one(m, n1, n2, fixed, used1, used2, cand)] = True
    return _one_statistics(c, m, h, r, chosen), within


def _search_one(m: _Matches, n1: int, n2: int, fixed, used1, used2, cand) -> np.ndarray:
    """Aligner.resolve for one pair of any length: the chosen candidates (indices into m)."""
    fixed_at = np.full(n2, -1, dtype=np.int64)
    fixed_at[m.j[fixed]] = np.flatnonzero(fixed)
    cand_off = np.zeros(n2 + 1, dtype=np.int64)
    np.cumsum(np.bincount(m.j[cand], minlength=n2), out=cand_off[1:])
    inc = _increment(m.len1, m.module) + _increment(m.len2, m.module)
    dist = np.abs(m.j - m.i)
    m12 = np.zeros(1, dtype=np.int64)
    chunks = np.zeros(1, dtype=np.int64)
    dst = np.zeros(1, dtype=np.int64)
    idx = np.zeros(1, dtype=np.int64)
    last = np.full(1, -1, dtype=np.int64)
    hist = np.full(1, -1, dtype=np.int64)
    u1, u2 = used1[None, :].copy(), used2[None, :].copy()
    parents: list[np.ndarray] = []
    picks: list[np.ndarray] = []
    size = 0
    for t in range(n2):
        used = u2[:, t]
        at_fixed = np.flatnonzero(used & (t >= idx))
        f = fixed_at[t]
        alive = np.ones(len(m12), dtype=bool)
        if len(at_fixed):
            if f < 0:
                alive[at_fixed] = False
            else:
                lf = last[at_fixed]
                m12[at_fixed] += inc[f]
                chunks[at_fixed] += (lf != -1) & (m.i[f] != lf)
                dst[at_fixed] += dist[f]
                idx[at_fixed] = t + m.len2[f]
                last[at_fixed] = m.i[f] + m.len1[f]
        fr = np.flatnonzero(~used)
        cs = cand[cand_off[t] : cand_off[t + 1]]
        rank = np.arange(len(m12))
        n_new = 0
        if len(fr) and len(cs):
            cum1 = np.concatenate((np.zeros((len(fr), 1), dtype=np.int64), np.cumsum(u1[fr], axis=1)), axis=1)
            cum2 = np.concatenate((np.zeros((len(fr), 1), dtype=np.int64), np.cumsum(u2[fr], axis=1)), axis=1)
            ok = (cum1[:, m.i[cs] + m.len1[cs]] == cum1[:, m.i[cs]]) & (
                cum2[:, m.j[cs] + m.len2[cs]] == cum2[:, m.j[cs]]
            )
            charge = np.where(ok, dist[cs][None, :], 0)
            before = np.cumsum(charge, axis=1) - charge
            pr_, ci_ = np.nonzero(ok)
            parent = fr[pr_]
            mi = cs[ci_]
            lp = last[parent]
            child = (
                m12[parent] + inc[mi], chunks[parent] + ((lp != -1) & (m.i[mi] != lp)), dst[parent] + before[pr_, ci_],
                t + m.len2[mi], m.i[mi] + m.len1[mi], size + np.arange(len(mi)), rank[parent], ci_,
            )  # fmt: skip
            parents.append(hist[parent])
            picks.append(mi)
            size += len(mi)
            n_new = len(mi)
            total = charge.sum(axis=1)
            dst[fr] += total
        chunks[fr] += last[fr] != -1
        last[fr] = -1
        idx[fr] += 1
        big = len(cs) + 1
        old = (m12, chunks, dst, idx, last, hist, rank, np.where(used, 0, big))
        keep = np.flatnonzero(alive)
        cols = [x[keep] for x in old]
        src_row = np.concatenate((keep, parent)) if n_new else keep
        src_cand = np.concatenate((np.full(len(keep), -1), mi)) if n_new else np.full(len(keep), -1)
        if n_new:
            cols = [np.concatenate((a, b)) for a, b in zip(cols, child)]
        order = np.lexsort((cols[7], cols[6], cols[2], cols[1], -cols[0]))[:BEAM_SIZE]
        m12, chunks, dst, idx, last, hist = (cols[k][order] for k in range(6))
        src_row, src_cand = src_row[order], src_cand[order]
        u1, u2 = u1[src_row], u2[src_row]
        took = np.flatnonzero(src_cand >= 0)
        for k in range(int(m.len1.max(initial=1))):
            sel = took[m.len1[src_cand[took]] > k]
            u1[sel, m.i[src_cand[sel]] + k] = True
        for k in range(int(m.len2.max(initial=1))):
            sel = took[m.len2[src_cand[took]] > k]
            u2[sel, m.j[src_cand[sel]] + k] = True
    chunks = chunks + (last != -1)
    best = np.lexsort((np.arange(len(m12)), dst, chunks, -m12))[0]
    out = []
    h = int(hist[best])
    if size:
        parent_of = np.concatenate(parents)
        pick_of = np.concatenate(picks)
        while h >= 0:
            out.append(int(pick_of[h]))
            h = int(parent_of[h])
    return np.asarray(out, dtype=np.int64)


def _one_statistics(c: _Corpus, m: _Matches, h: int, r: int, chosen: np.ndarray) -> list[int]:
    pr = _Pairs(*(np.array([x], dtype=np.int64) for x in (
        h, r, c.sent_off[h + 1] - c.sent_off[h], c.sent_off[r + 1] - c.sent_off[r], c.sent_off[h], c.sent_off[r],
    )))  # fmt: skip
    return _pair_statistics(c, m, pr, chosen)[0].tolist()
