"""METEOR 1.5's English resources and the index vlmeval builds from them.

The resources are read at run time from the installed pycocoevalcap, never copied into vlmeval (METEOR is
LGPL): the synonym, function-word and non-breaking-prefix files inside ``meteor-1.5.jar`` (read with
zipfile) and ``data/paraphrase-en.gz`` (5,274,084 paraphrase pairs). On first use they are turned into one
index file in ``$XDG_CACHE_HOME/vlmeval`` (default ``~/.cache/vlmeval``) whose name carries the sha256 of both
source files; later runs memory-map it. Writing is atomic (temporary file + rename) and serialised by a lock
file, so two processes that start at once build it once and both read a complete file.

Also here, because the index needs them: the jar's Snowball English stemmer (Porter2 as
``org/tartarus/snowball/ext/englishStemmer.java`` of the jar implements it; PyPI ``snowballstemmer`` 3.x and
nltk's ``EnglishStemmer`` disagree with it on 205 and 18 words of WordNet and our corpora), WordNet's
``morph`` as ``edu/cmu/meteor/aligner/SynonymDictionary.java`` restates it, and the string hashes.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import mmap
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vlmeval.cache import cache_root, write_atomic

INDEX_FORMAT = 2  # bump when the index layout or anything computed into it changes
PARAPHRASE_FILE = "meteor/data/paraphrase-en.gz"
MAX_PHRASE = 7  # longest phrase in paraphrase-en.gz (the trie has no depth limit; the table does)

_MAGIC = b"VLMEVAL-METEOR\0\0"
_ALIGN = 64

# ---------------------------------------------------------------------------------------------- hashing

_U64 = np.uint64
_POLY = _U64(0x100000001B3)  # FNV's 64-bit prime: an odd multiplier for the polynomial keys
_SM1, _SM2 = _U64(0xBF58476D1CE4E5B9), _U64(0x94D049BB133111EB)


def _finalize(h: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Mix the polynomial sum with the length so that the low bits (the Bloom filter's) and the middle bits
    (the hash table's) are spread."""
    with np.errstate(over="ignore"):
        z = (h ^ (lengths.astype(np.uint64) * _U64(0x9E3779B97F4A7C15))) * _SM1
        return z ^ (z >> _U64(29))


def _powers(base: int, n: int, dtype) -> np.ndarray:
    out = np.full(max(n, 1), base, dtype=dtype)
    out[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(out, dtype=dtype)


def _poly(units: np.ndarray, lengths: np.ndarray, base: int, dtype) -> np.ndarray:
    """Per string, sum(unit_k * base^(L-1-k)) modulo the dtype's range, for strings laid end to end."""
    n = len(lengths)
    out = np.zeros(n, dtype=dtype)
    if n == 0 or len(units) == 0:
        return out
    ends = np.cumsum(lengths)
    starts = ends - lengths
    exponent = np.repeat(ends - 1, lengths) - np.arange(len(units))
    with np.errstate(over="ignore"):
        terms = units.astype(dtype) * _powers(base, int(lengths.max()), dtype)[exponent]
    nonempty = lengths > 0
    out[nonempty] = np.add.reduceat(terms, starts[nonempty], dtype=dtype)
    return out


def _encoded(words: list[str], codec: str, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(code units laid end to end, units per word): one encode call for all words when none holds NUL."""
    dtype = np.uint8 if width == 1 else np.dtype("<u2")
    joined = "\x00".join(words)
    if words and joined.count("\x00") == len(words) - 1:
        units = np.frombuffer(joined.encode(codec, "surrogatepass"), dtype=dtype)
        ends = np.flatnonzero(units == 0)
        lengths = np.diff(np.concatenate(([-1], ends, [len(units)]))) - 1
        return units[units != 0], lengths.astype(np.int64)
    encoded = [w.encode(codec, "surrogatepass") for w in words]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)) // width
    return np.frombuffer(b"".join(encoded), dtype=dtype), lengths


def word_keys(words: list[str]) -> np.ndarray:
    """64-bit keys of words (their UTF-8 bytes), as the index stores its vocabulary."""
    units, lengths = _encoded(words, "utf-8", 1)
    return _finalize(_poly(units.astype(np.uint64) + _U64(1), lengths, int(_POLY), np.uint64), lengths)


def utf8(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of words laid end to end, and their lengths."""
    return _encoded(words, "utf-8", 1)


def phrase_keys(ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """64-bit keys of phrases given as paraphrase-vocabulary ids laid end to end."""
    return _finalize(_poly(ids.astype(np.uint64) + _U64(1), lengths, int(_POLY), np.uint64), lengths)


def extend_keys(ids: np.ndarray, starts: np.ndarray, length: int, sums: np.ndarray | None):
    """Keys of the n-grams of ``ids`` at ``starts`` (n = ``length``) from the sums of their (n-1)-gram
    prefixes; returns (keys, sums). Same keys as ``phrase_keys``."""
    with np.errstate(over="ignore"):
        last = ids[starts + length - 1].astype(np.uint64) + _U64(1)
        sums = last if sums is None else sums * _POLY + last
    return _finalize(sums, np.full(len(sums), length)), sums


def java_hashes(words: list[str]) -> np.ndarray:
    """``String.hashCode()`` of each word (UTF-16 code units, base 31, int32 overflow)."""
    units, lengths = _encoded(words, "utf-16-le", 2)
    return _poly(units, lengths, 31, np.uint32).view(np.int32)


def java_length(word: str) -> int:
    """``String.length()``: UTF-16 code units."""
    return (
        len(word)
        if word.isascii() or max(word) <= "\uffff"
        else len(word.encode("utf-16-le", "surrogatepass")) // 2
    )


# -------------------------------------------------------------------------------------- Snowball English
# Porter2 exactly as the jar's englishStemmer.java (Snowball's Java output, 2006-2012 script) runs it; Java
# strings are UTF-16, so a word with characters outside the BMP is stemmed as its surrogate pairs.

_V = frozenset("aeiouy")
_V_WXY = frozenset("aeiouywxY")
_VALID_LI = frozenset("cdeghkmnrt")
_EXCEPTION1 = {
    "skis": "ski", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie", "idly": "idl",
    "gently": "gentl", "ugly": "ugli", "early": "earli", "only": "onli", "singly": "singl", "sky": "sky",
    "news": "news", "howe": "howe", "atlas": "atlas", "cosmos": "cosmos", "bias": "bias", "andes": "andes",
}  # fmt: skip
_EXCEPTION2 = frozenset(("inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed"))
_STEP1A_APOSTROPHE = ("'s'", "'s", "'")
_STEP1A = ("sses", "ied", "ies", "us", "ss", "s")
_STEP1B = ("eedly", "ingly", "edly", "eed", "ing", "ed")
_STEP1B_END = ("at", "bl", "iz", "bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
_STEP2 = {
    "tional": "tion", "enci": "ence", "anci": "ance", "abli": "able", "entli": "ent", "izer": "ize",
    "ization": "ize", "ational": "ate", "ation": "ate", "ator": "ate", "alism": "al", "aliti": "al",
    "alli": "al", "fulness": "ful", "ousli": "ous", "ousness": "ous", "iveness": "ive", "iviti": "ive",
    "biliti": "ble", "bli": "ble", "ogi": "og", "fulli": "ful", "lessli": "less", "li": "",
}  # fmt: skip
_STEP3 = {
    "tional": "tion", "ational": "ate", "alize": "al", "icate": "ic", "iciti": "ic", "ical": "ic",
    "ful": "", "ness": "", "ative": "",
}  # fmt: skip
_STEP4 = (
    "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ism", "ate", "iti",
    "ous", "ive", "ize", "ion",
)  # fmt: skip


_SUFFIX_SETS: dict[int, tuple[frozenset, int]] = {}


def _longest(word: str, suffixes) -> str | None:
    """Snowball's ``among``: the longest listed suffix the word ends with."""
    got = _SUFFIX_SETS.get(id(suffixes))
    if got is None:
        got = _SUFFIX_SETS[id(suffixes)] = (frozenset(suffixes), max(map(len, suffixes)))
    table, longest = got
    for k in range(min(longest, len(word)), 0, -1):
        if word[-k:] in table:
            return word[-k:]
    return None


def _shortv(w: str, end: int) -> bool:
    # englishStemmer.r_shortv: ( non-v_WXY v non-v ) or ( non-v v atlimit ), read backwards from `end`
    if end >= 3 and w[end - 1] not in _V_WXY and w[end - 2] in _V and w[end - 3] not in _V:
        return True
    return end == 2 and w[1] not in _V and w[0] in _V


def _past_vowel_consonant(w: str, start: int) -> int | None:
    """``gopast v gopast non-v`` from ``start``: the position after the first non-vowel that follows a vowel."""
    i, n = start, len(w)
    while i < n and w[i] not in _V:
        i += 1
    while i < n and w[i] in _V:
        i += 1
    return i + 1 if i < n else None


def _stem_units(word: str) -> str:
    if word in _EXCEPTION1:
        return _EXCEPTION1[word]
    if len(word) < 3:
        return word
    w = word[1:] if word.startswith("'") else word
    y_found = False
    if w.startswith("y"):
        w, y_found = "Y" + w[1:], True
    if "y" in w:
        chars = list(w)
        i = 0
        while i < len(chars) - 1:
            if chars[i] in _V and chars[i + 1] == "y":
                chars[i + 1] = "Y"
                y_found = True
                i += 1
            i += 1
        w = "".join(chars)
    # mark_regions
    p1 = p2 = len(w)
    for prefix in ("gener", "commun", "arsen"):
        if w.startswith(prefix):
            start: int | None = len(prefix)
            break
    else:
        start = _past_vowel_consonant(w, 0)
    if start is not None:
        p1 = start
        after = _past_vowel_consonant(w, start)
        if after is not None:
            p2 = after
    # Step_1a
    s = _longest(w, _STEP1A_APOSTROPHE)
    if s:
        w = w[: -len(s)]
    s = _longest(w, _STEP1A)
    if s == "sses":
        w = w[:-2]
    elif s in ("ied", "ies"):
        w = w[:-3] + ("i" if len(w) > 4 else "ie")
    elif s == "s" and any(c in _V for c in w[:-2]):
        w = w[:-1]
    if w in _EXCEPTION2:
        return w.replace("Y", "y") if y_found else w
    # Step_1b
    s = _longest(w, _STEP1B)
    if s in ("eed", "eedly"):
        if len(w) - len(s) >= p1:
            w = w[: -len(s)] + "ee"
    elif s and any(c in _V for c in w[: -len(s)]):
        w = w[: -len(s)]
        t = _longest(w, _STEP1B_END)
        if t in ("at", "bl", "iz"):
            w += "e"
        elif t:
            w = w[:-1]
        elif len(w) == p1 and _shortv(w, len(w)):
            w += "e"
    # Step_1c
    if len(w) >= 3 and w[-1] in "yY" and w[-2] not in _V:
        w = w[:-1] + "i"
    # Step_2
    s = _longest(w, _STEP2)
    if s and len(w) - len(s) >= p1:
        if s == "ogi":
            if len(w) > 3 and w[-4] == "l":
                w = w[:-1]
        elif s == "li":
            if len(w) > 2 and w[-3] in _VALID_LI:
                w = w[:-2]
        else:
            w = w[: -len(s)] + _STEP2[s]
    # Step_3
    s = _longest(w, _STEP3)
    if s and len(w) - len(s) >= p1 and (s != "ative" or len(w) - len(s) >= p2):
        w = w[: -len(s)] + _STEP3[s]
    # Step_4
    s = _longest(w, _STEP4)
    if s and len(w) - len(s) >= p2 and (s != "ion" or (len(w) > 3 and w[-4] in "st")):
        w = w[: -len(s)]
    # Step_5
    if w.endswith("e"):
        end = len(w) - 1
        if end >= p2 or (end >= p1 and not _shortv(w, end)):
            w = w[:-1]
    elif w.endswith("ll") and len(w) - 1 >= p2:
        w = w[:-1]
    return w.replace("Y", "y") if y_found else w


def snowball_stem(word: str) -> str:
    """The stem meteor-1.5.jar's Snowball English stemmer gives ``word``."""
    if word.isascii() or max(word) <= "\uffff":
        return _stem_units(word)
    units = np.frombuffer(word.encode("utf-16-le", "surrogatepass"), dtype="<u2")
    stem = _stem_units("".join(map(chr, units.tolist())))
    return stem.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


# ------------------------------------------------------------------------------------------- WordNet morph
# SynonymDictionary.morph: WordNet 3's suffix rules, first rule whose result is a WordNet word wins.
MORPH_SUFFIXES = (
    ("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
    ("ies", "y"), ("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"),
    ("ing", ""), ("er", ""), ("est", ""), ("er", "e"), ("est", "e"),
)  # fmt: skip


def morph_candidates(word: str) -> list[str] | None:
    """What ``morph`` tries, in order; None when it returns the word itself (ends in "ss", or 2 units or
    fewer). The ``-ful`` branch of the Java can never add "ful" (no rule's suffix ends in "l")."""
    if word.endswith("ss") or java_length(word) <= 2:
        return None
    return [word[: len(word) - len(s)] + a for s, a in MORPH_SUFFIXES if word.endswith(s)]


# ------------------------------------------------------------------------------------------- the resources


def _java_lines(text: str) -> list[str]:
    """BufferedReader.readLine over the whole text: lines end at \\n, \\r or \\r\\n."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


_JAVA_DELIMS = re.compile("[ \t\n\r\f]+")


def java_tokens(line: str) -> list[str]:
    """``new StringTokenizer(line)``: split on space, tab, newline, carriage return, form feed only."""
    return [t for t in _JAVA_DELIMS.split(line) if t]


@dataclass
class Sources:
    jar: Path
    paraphrase: Path
    jar_sha256: str
    paraphrase_sha256: str


def sources() -> Sources:
    """The installed pycocoevalcap's METEOR jar and paraphrase table, with their sha256 (computed once and
    remembered by path, size and mtime, so that a steady-state run hashes nothing)."""
    from vlmeval.java import METEOR_JAR, pycocoevalcap_file

    jar, para = pycocoevalcap_file(METEOR_JAR), pycocoevalcap_file(PARAPHRASE_FILE)
    return Sources(jar, para, _sha256_cached(jar), _sha256_cached(para))


def _sha256_cached(path: Path) -> str:
    stat = path.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    record = cache_root() / "meteor" / "sources.json"
    try:
        known = json.loads(record.read_text())
    except (OSError, ValueError):
        known = {}
    entry = known.get(str(path))
    if isinstance(entry, dict) and all(entry.get(k) == v for k, v in stamp.items()) and "sha256" in entry:
        return entry["sha256"]
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    known[str(path)] = {**stamp, "sha256": digest.hexdigest()}
    with contextlib.suppress(OSError):
        write_atomic(record, lambda f: f.write(json.dumps(known, indent=1).encode()))
    return digest.hexdigest()


@dataclass
class Resources:
    """The jar's English resources as MeteorScorer/Aligner load them for ``-l en``."""

    function_words: frozenset[str]
    nonbreaking: dict[str, int]  # prefix -> 1 (any) or 2 (numeric only), as Normalizer.nbpList
    synsets: dict[str, list[int]]  # SynonymDictionary.wordToSynsets
    bases: dict[str, list[str]]  # SynonymDictionary.wordToBases (exception forms)


def read_resources(jar: Path) -> Resources:
    import zipfile

    with zipfile.ZipFile(jar) as z:
        text = {name: z.read(name).decode("utf-8") for name in (
            "function/english.words", "nonbreaking/english.prefixes", "synonym/english.synsets",
            "synonym/english.exceptions",
        )}  # fmt: skip
    function_words = frozenset(_java_lines(text["function/english.words"]))
    nonbreaking: dict[str, int] = {}
    for line in _java_lines(text["nonbreaking/english.prefixes"]):
        tok = java_tokens(line)
        if not tok or tok[0].startswith("#"):
            continue
        nonbreaking[tok[0]] = 2 if len(tok) > 1 and tok[1] == "#NUMERIC_ONLY#" else 1
    synsets: dict[str, list[int]] = {}
    lines = _java_lines(text["synonym/english.synsets"])
    for word, ids in zip(lines[0::2], lines[1::2]):
        synsets[word] = sorted({int(t) for t in java_tokens(ids)})
    bases: dict[str, list[str]] = {}
    lines = _java_lines(text["synonym/english.exceptions"])
    for base, forms in zip(lines[0::2], lines[1::2]):
        for form in java_tokens(forms):
            bases.setdefault(form, []).append(base)
    return Resources(function_words, nonbreaking, synsets, bases)


def morph(word: str, synsets: dict[str, list[int]]) -> str:
    candidates = morph_candidates(word)
    if candidates is None:
        return word
    return next((c for c in candidates if c in synsets), "")


def synonym_sets(word: str, res: Resources) -> list[int]:
    """SynonymMatcher's set for a word: getSynSets(word) plus getStemSynSets(word)."""
    own = res.synsets.get(word, [])
    if word in res.bases:
        stem_sets = {s for base in res.bases[word] for s in res.synsets.get(base, [])}
    else:
        stem_sets = set(res.synsets.get(morph(word, res.synsets), []))
    return sorted(stem_sets.union(own))


# ----------------------------------------------------------------------------------------------- the index


_REQUIRED = (
    "vocab_key", "vocab_off", "vocab_blob", "vocab_para", "vocab_stem", "vocab_synword", "own_off", "own_syn",
    "all_off", "all_syn", "phr_key", "phr_off", "phr_words", "ent_off", "ent_b", "phr_bloom", "phr_table",
    "para_unigram", "para_starts", "prefix_bloom",
)  # fmt: skip


class MeteorIndex:
    """The index: vocabulary, stems, synonym sets, paraphrase phrases and pairs (memory-mapped from its
    file, or held in memory when the cache directory cannot be written)."""

    def __init__(
        self, path: Path | None, arrays: dict[str, np.ndarray] | None = None, header: dict | None = None
    ):
        self.path = path
        if arrays is None:
            with open(path, "rb") as f:
                self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            if self._mm[: len(_MAGIC)] != _MAGIC:
                raise ValueError(f"{path} is not a METEOR index")
            header_len = int.from_bytes(self._mm[len(_MAGIC) : len(_MAGIC) + 8], "little")
            start = len(_MAGIC) + 8
            header = json.loads(self._mm[start : start + header_len].decode("utf-8"))
            if header.get("format") != INDEX_FORMAT or any(k not in header["arrays"] for k in _REQUIRED):
                raise ValueError(f"{path} is a METEOR index of another format")
            arrays = {}
            for name, (dtype, count, offset) in header["arrays"].items():
                if offset + count * np.dtype(dtype).itemsize > len(self._mm):
                    raise ValueError(f"{path} is truncated")
                arrays[name] = np.frombuffer(self._mm, dtype=dtype, count=count, offset=offset)
        self.header = header
        self.arrays = arrays
        self.function_words = frozenset(header["function_words"])
        self.nonbreaking: dict[str, int] = header["nonbreaking"]
        self.bloom_bits = int(header["bloom_bits"])
        self.prefix_bits = int(header["prefix_bits"])

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None


def _write_index(path: Path, arrays: dict[str, np.ndarray], extra: dict) -> None:
    layout: dict[str, list] = {}
    header_guess = 1 << 16
    while True:
        offset = _align(len(_MAGIC) + 8 + header_guess)
        layout = {}
        for name, arr in arrays.items():
            layout[name] = [arr.dtype.str, int(arr.size), offset]
            offset = _align(offset + arr.nbytes)
        header = json.dumps({"format": INDEX_FORMAT, "arrays": layout, **extra}).encode("utf-8")
        if len(header) <= header_guess:
            break
        header_guess = 2 * len(header)

    def write(f) -> None:
        f.write(_MAGIC + len(header).to_bytes(8, "little") + header)
        for name, arr in arrays.items():
            f.seek(layout[name][2])
            f.write(np.ascontiguousarray(arr).tobytes())

    write_atomic(path, write)


def _align(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


def first_seen(values, count: int) -> tuple[np.ndarray, list]:
    """Dense ids in order of first appearance, and the distinct values (dict.setdefault at C speed)."""
    first: dict = {}
    raw = np.fromiter(map(first.setdefault, values, itertools.count()), dtype=np.int64, count=count)
    remap = np.empty(count, dtype=np.int64)
    remap[np.fromiter(first.values(), dtype=np.int64, count=len(first))] = np.arange(len(first))
    return remap[raw], list(first)


def ranges(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ranges [start, stop) laid end to end, and the number taken from each."""
    counts = (stops - starts).astype(np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), counts
    first = np.cumsum(counts) - counts
    return np.repeat(starts - first, counts) + np.arange(total), counts


def _csr(lists: list[list[int]], dtype=np.int32) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter((x for lst in lists for x in lst), dtype=dtype, count=int(offsets[-1]))
    return offsets, flat


def build_index(src: Sources) -> tuple[dict[str, np.ndarray], dict]:
    """Everything the aligner needs from the jar and the paraphrase table, as flat arrays."""
    import gzip

    res = read_resources(src.jar)
    # ParaphraseTransducer: triples of lines (probability, reference phrase, paraphrase), tokenized by
    # StringTokenizer; phrases are looked up word by word in a trie, so only their word sequences matter
    with gzip.open(src.paraphrase, "rb") as f:
        raw = f.read().decode("utf-8")
    lines = _java_lines(raw)
    del raw
    refs, pars = lines[1::3], lines[2::3]
    del lines
    if len(refs) != len(pars):
        raise RuntimeError(f"{src.paraphrase} is not made of (probability, phrase, paraphrase) line triples")
    n_entries = len(refs)
    ids, phrases = first_seen(itertools.chain(refs, pars), 2 * n_entries)
    a_ids, b_ids = ids[:n_entries], ids[n_entries:]
    del refs, pars, ids
    odd = [
        k
        for k, p in enumerate(phrases)
        if not p or "\t" in p or "\f" in p or "  " in p or p[0] == " " or p[-1] == " "
    ]
    if odd:
        phrases = list(phrases)
        for k in odd:  # StringTokenizer would make other words of these: normalise them to single spaces
            phrases[k] = " ".join(java_tokens(phrases[k]))
        if any(not phrases[k] for k in odd):
            # an empty paraphrase would match at every position of a sentence (ParaphraseMatcher)
            raise RuntimeError(f"{src.paraphrase} has an empty phrase; vlmeval does not restate that case")
    phr_len = np.fromiter((p.count(" ") + 1 for p in phrases), dtype=np.int64, count=len(phrases))
    flat_words, para_words = first_seen(" ".join(phrases).split(" "), int(phr_len.sum()))
    para_vocab = dict(zip(para_words, range(len(para_words))))
    del phrases
    # vocabulary: every word any resource knows
    words = sorted(
        set(para_vocab) | set(res.synsets) | set(res.bases) | {b for bs in res.bases.values() for b in bs}
    )
    keys = word_keys(words)
    order = np.argsort(keys, kind="stable")
    if (np.diff(keys[order]) == 0).any():
        raise RuntimeError(
            "64-bit key collision in the METEOR vocabulary; raise INDEX_FORMAT with a new seed"
        )
    words = [words[i] for i in order]
    keys = keys[order]
    encoded = [w.encode("utf-8", "surrogatepass") for w in words]
    vocab_off = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=vocab_off[1:])
    vocab_blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    vocab_para = np.array([para_vocab.get(w, -1) for w in words], dtype=np.int32)
    vocab_stem = java_hashes([snowball_stem(w) for w in words])
    vocab_synword = np.array([w in res.synsets for w in words], dtype=np.bool_)
    own_off, own_syn = _csr([res.synsets.get(w, []) for w in words])
    all_off, all_syn = _csr([synonym_sets(w, res) for w in words])
    # phrases sorted by key; pairs grouped by reference phrase in file order (the trie's emit order)
    pkeys = phrase_keys(flat_words, phr_len)
    porder = np.argsort(pkeys)
    if (np.diff(pkeys[porder]) == 0).any():
        raise RuntimeError(
            "64-bit key collision among paraphrase phrases; raise INDEX_FORMAT with a new seed"
        )
    rank = np.empty_like(porder)
    rank[porder] = np.arange(len(porder))
    starts = np.cumsum(phr_len) - phr_len
    flat_idx, counts = ranges(starts[porder], starts[porder] + phr_len[porder])
    phr_off = np.zeros(len(porder) + 1, dtype=np.int64)
    np.cumsum(counts, out=phr_off[1:])
    phr_words = flat_words[flat_idx].astype(np.int32)
    a = rank[a_ids]
    b = rank[b_ids].astype(np.int32)
    by_a = np.argsort(a, kind="stable")
    ent_off = np.zeros(len(porder) + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=len(porder)), out=ent_off[1:])
    bloom_bits = 1 << max(20, int(np.ceil(np.log2(max(len(pkeys), 1) * 16))))
    bloom = np.zeros(bloom_bits // 8, dtype=np.uint8)
    slots = (pkeys & np.uint64(bloom_bits - 1)).astype(np.int64)
    np.bitwise_or.at(bloom, slots >> 3, (1 << (slots & 7)).astype(np.uint8))
    table = hash_table(pkeys[porder], max(16, int(np.ceil(np.log2(max(len(pkeys), 1) * 3)))))
    unigram = np.full(len(para_vocab), -1, dtype=np.int32)  # the one-word phrase of each word, if any
    single = np.flatnonzero(np.diff(phr_off) == 1)
    unigram[phr_words[phr_off[single]]] = single
    # proper prefixes of the phrases: an n-gram that is none cannot start a longer phrase
    lens = np.diff(phr_off)
    starts_phrase = np.zeros(len(para_vocab), dtype=np.bool_)
    starts_phrase[phr_words[phr_off[:-1][lens > 1]]] = True
    prefix_keys = []
    for k in range(2, MAX_PHRASE):
        longer = np.flatnonzero(lens > k)
        ids = phr_words[(phr_off[longer][:, None] + np.arange(k)).ravel()]
        prefix_keys.append(phrase_keys(ids, np.full(len(longer), k)))
    prefix_keys = np.concatenate(prefix_keys)
    prefix_bits = 1 << max(20, int(np.ceil(np.log2(max(len(prefix_keys), 1) * 16))))
    prefix_bloom = np.zeros(prefix_bits // 8, dtype=np.uint8)
    slots = (prefix_keys & np.uint64(prefix_bits - 1)).astype(np.int64)
    np.bitwise_or.at(prefix_bloom, slots >> 3, (1 << (slots & 7)).astype(np.uint8))
    arrays = {
        "vocab_key": keys, "vocab_off": vocab_off, "vocab_blob": vocab_blob, "vocab_para": vocab_para,
        "vocab_stem": vocab_stem, "vocab_synword": vocab_synword, "own_off": own_off, "own_syn": own_syn,
        "all_off": all_off, "all_syn": all_syn, "phr_key": pkeys[porder], "phr_off": phr_off,
        "phr_words": phr_words, "ent_off": ent_off, "ent_b": b[by_a], "phr_bloom": bloom,
        "phr_table": table, "para_unigram": unigram, "para_starts": starts_phrase,
        "prefix_bloom": prefix_bloom,
    }  # fmt: skip
    extra = {
        "function_words": sorted(res.function_words),
        "nonbreaking": res.nonbreaking,
        "bloom_bits": bloom_bits,
        "prefix_bits": prefix_bits,
        "empty_word_synsets": res.synsets.get("", []),
        "jar_sha256": src.jar_sha256,
        "paraphrase_sha256": src.paraphrase_sha256,
        "entries": n_entries,
    }
    return arrays, extra


def _table_slots(keys: np.ndarray, size: int) -> np.ndarray:
    # the Bloom filter uses the low bits of a key: the table starts from higher ones
    return ((keys >> np.uint64(24)) & np.uint64(size - 1)).astype(np.int64)


def hash_table(keys: np.ndarray, bits: int) -> np.ndarray:
    """Open addressing with linear probing: slot -> position of its key in ``keys``, -1 when empty."""
    size = 1 << bits
    table = np.full(size, -1, dtype=np.int32)
    slot = _table_slots(keys, size)
    pending = np.arange(len(keys))
    while len(pending):
        s = slot[pending]
        free = table[s] == -1
        won = np.zeros(len(pending), dtype=bool)
        where = np.flatnonzero(free)
        _, first = np.unique(s[where], return_index=True)
        won[where[first]] = True
        table[s[won]] = pending[won]
        pending = pending[~won]
        slot[pending] = (slot[pending] + 1) & (size - 1)
    return table


def table_lookup(table: np.ndarray, keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Position of each query in ``keys`` (the array ``table`` was built from), -1 when absent."""
    size = len(table)
    slot = _table_slots(queries, size)
    out = np.full(len(queries), -1, dtype=np.int64)
    active = np.arange(len(queries))
    while len(active):
        at = table[slot[active]].astype(np.int64)
        filled = at >= 0
        hit = np.zeros(len(active), dtype=bool)
        hit[filled] = keys[at[filled]] == queries[active[filled]]
        out[active[hit]] = at[hit]
        active = active[filled & ~hit]
        slot[active] = (slot[active] + 1) & (size - 1)
    return out


def index_path(src: Sources) -> Path:
    tag = f"{src.jar_sha256[:16]}-{src.paraphrase_sha256[:16]}"
    return cache_root() / "meteor" / f"meteor-1.5-en-v{INDEX_FORMAT}-{tag}.idx"


_LOADED: dict[str, MeteorIndex] = {}


def index_ready() -> bool:
    """Whether the index for the installed pycocoevalcap is built already (else the next use builds it)."""
    path = index_path(sources())
    return str(path) in _LOADED or path.exists()


def load_index(src: Sources | None = None) -> MeteorIndex:
    """The index for the installed pycocoevalcap, built on first use (about 20 s of one core here) and
    memory-mapped afterwards. A file of another format, truncated or damaged is built again; when the cache
    directory cannot be written, the index is built in memory (every run then pays the build)."""
    src = src or sources()
    path = index_path(src)
    cached = _LOADED.get(str(path))
    if cached is not None:
        return cached
    index = _open(path)
    if index is None:
        try:
            with _build_lock(path):
                index = _open(path)  # another process may have built it while we waited
                if index is None:
                    arrays, extra = build_index(src)
                    _write_index(path, arrays, extra)
                    index = MeteorIndex(path)
        except OSError:
            arrays, extra = build_index(src)
            index = MeteorIndex(None, arrays, {"format": INDEX_FORMAT, **extra})
    _LOADED[str(path)] = index
    return index


def _open(path: Path) -> MeteorIndex | None:
    if not path.exists():
        return None
    try:
        return MeteorIndex(path)
    except (OSError, ValueError, KeyError):
        return None


@contextlib.contextmanager
def _build_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # no advisory locks (Windows): concurrent builds still end in one complete file
        yield
        return
    with open(path.with_suffix(".lock"), "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
