"""Java-free COCO tokenization: what ``PTBTokenizer -preserveLines -lowerCase`` (CoreNLP 3.4.1) plus
pycocoevalcap's punctuation filter produce, token for token.

Three tiers, fastest first:

1. a caption of plain words (ASCII letters, spaces, commas, sentence periods; no abbreviation or single
   letter before a period) is tokenized by one regular expression: that covers ~95% of COCO captions;
2. anything else runs through ``scan()``, a restatement of the JFlex scanner (``ptb_rules.py``): longest
   match over all rules, trailing context included, ties to the earlier rule, then the rule's action;
3. a caption containing a character whose letter/digit class may differ between the jar's tables (Java of
   2014, Unicode 6.x) and Python's (see ``_stable``: in practice letters and digits of scripts added to
   Unicode after 3.2, and unassigned code points) is not guaranteed: with Java present its document goes
   to the jar (counted in ``TokenizerStats.jar``), without Java it is scanned anyway and counted in
   ``TokenizerStats.approximate``; the signature says which happened. Characters outside the BMP (emoji)
   are scanned as the two UTF-16 surrogates Java reads, so they need no jar.

Captions are scanned inside their document, as the jar reads pycocoevalcap's file: look-ahead crosses line
ends, and markup whose quoted attribute value holds line ends (``<a href='x`` on one caption, ``y'> a dog``
on a later one) is one token running from caption to caption. The jar prints such a token as it is, line
ends included, so its output keeps one line per caption: the token's first piece ends the first caption's
line (``<a\\xa0href='x``) and each later piece starts the next one (``y'> a dog``); ``_tokenize_document``
does the same. ``chunk_bounds`` says which lines a slice of a document needs around it to come out the same.

Parity: token-for-token identical to the jar on every COCO val2017 caption and on generated adversarial
text (tests/tokenizers), checked in CI with a bounded hypothesis run and at larger scale in ``make test-all``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from vlmeval.tokenizers.ptb_jar import LINE_BREAKS, filter_punctuation

# --- tier 1: plain captions ---------------------------------------------------------------------------
# A caption of ASCII letters, spaces/tabs, commas and periods, each period followed by a space, a period or
# the end of the caption. For these the scanner's outcome is fixed: each letter run is a WORD and each comma
# or period a token of its own (filtered out); the exceptions send a caption to the scanner: the
# "cannot"/"gonna" words (split in two) and a period after an abbreviation or a single letter (kept on the
# word by the ABBREV/ACRONYM rules). The checks run over the whole document at once.
_NOT_PLAIN_CHAR = re.compile(r"[^A-Za-z \t,.\n]")
_PERIOD_INSIDE = re.compile(r"\.[^ \t.\n]")
_SPLIT_WORDS = {"cannot", "gonna", "gotta", "lemme", "gimme", "wanna"}
# on the lower-cased document; \b is a letter boundary there, since other word characters are not plain
_SPLIT_WORD = re.compile(r"\b(?:" + "|".join(_SPLIT_WORDS) + r")\b")
# Every word an ABBREV1/ABBREV2/ABBREV3 rule can end with a period (lower case; a superset is safe: it only
# sends more captions to the scanner). Single letters (ACRONYM) are checked separately.
_ABBREVIATIONS = frozenset(
    """jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri ala ariz az ark calif
    colo conn ct dak del fla ga ill ind kan kans ky la mass md mich minn miss mo mont neb nev okla ore pa
    penn tenn tex va vt wash wis wisc wyo inc co cos corp pty ptys pte ptes ppty pptys ppte pptes ltd plc rt
    bancorp bhd assn univ intl sys tel est ext sq jr sr bros blvd rd esq etc al seq bldg mr mrs ms drs dr
    prof profs sen sens rep reps atty attys lt col gen messrs gov govs adm rev maj sgt cpl pvt capt st ste
    ave pres lieut hon brig cmdr comdr pfc spc supt supts det mt ft adj adv asst assoc ens insp mlle mme
    msgr sfc vs alex wm jos cie cf treas ph invt elec natl mfg mtg dept ca fig figs prop no nos art pp op
    pt pts""".split()
)


def _not_plain(text: str, starts: list[int]) -> set[int]:
    """Indices of the lines of ``text`` (a document; ``starts``: offset of each line) that are not plain."""
    from bisect import bisect_right

    def lines_of(matches) -> set[int]:
        return {bisect_right(starts, m.start()) - 1 for m in matches}

    # the matches on the lower-cased text are placed by the original's line offsets: the one character whose
    # lower case is longer (U+0130 "İ" -> "i" + U+0307) would shift every later match onto a wrong line; its
    # own line is not plain anyway (_NOT_PLAIN_CHAR)
    low = (text if "\u0130" not in text else text.replace("\u0130", "i")).lower()
    bad = lines_of(_NOT_PLAIN_CHAR.finditer(text)) | lines_of(_PERIOD_INSIDE.finditer(low))
    if any(word in low for word in _SPLIT_WORDS):
        bad |= lines_of(_SPLIT_WORD.finditer(low))
    # the word before each period (str methods: a regex over the whole document is several times slower);
    # on a plain line it is the letter run before the period, possibly after a comma (other lines are not
    # plain anyway), and the line of each period after a single letter or an abbreviation is not plain
    at, periods = -1, []
    for chunk in low.split(".")[:-1]:
        at += len(chunk) + 1  # this chunk's period
        tail = chunk.rsplit(None, 1)
        if tail and not chunk[-1].isspace():  # (a period after a space follows no word)
            word = tail[-1].rsplit(",", 1)[-1]
            if len(word) == 1 or word in _ABBREVIATIONS:
                periods.append(at)
    bad.update(bisect_right(starts, at) - 1 for at in periods)
    return bad


# --- tier 2: the scanner ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _scanner():
    """All rules as one POSIX (leftmost-longest) alternation, named r<index>, in rule order: the longest
    match wins and, among equal lengths, the earliest alternative, which is JFlex's choice. A rule with
    trailing context matches its context too, which counts towards its length, as in JFlex."""
    import regex

    from vlmeval.cache import compiled_regex
    from vlmeval.tokenizers.ptb_rules import RULES

    alternatives = [
        f"(?P<r{k}>(?:{rule.pattern})" + (f"(?:{rule.context})" if rule.context else "") + ")"
        for k, rule in enumerate(RULES)
    ]
    # compiling it takes regex 0.1-0.2 s: after the first run it comes from vlmeval's cache (vlmeval.cache)
    return compiled_regex("|".join(alternatives), regex.POSIX | regex.V0), RULES


@functools.cache
def _splitter(rule):
    import regex

    from vlmeval.cache import compiled_regex

    return compiled_regex(rule.pattern, regex.POSIX | regex.V0), compiled_regex(rule.context, regex.POSIX | regex.V0)


_LEFT_SINGLE = re.compile("[\u0091\u2018\u201b\u2039]")
_RIGHT_SINGLE = re.compile("[\u0092\u2019\u203a]")
_LEFT_DOUBLE = re.compile("[\u0093\u201c\u00ab]")
_RIGHT_DOUBLE = re.compile("[\u0094\u201d\u00bb]")
_SINGLE = re.compile("&apos;|'")
_DOUBLE = re.compile('"|&quot;')
_AMP = re.compile("&amp;", re.IGNORECASE)
_FRACTIONS = {"\u00bc": "1/4", "\u00bd": "1/2", "\u00be": "3/4", "\u2153": "1/3", "\u2154": "2/3"}
_CURRENCY = {"\u00a2": "cents", "\u00a3": "#", "\u0080": "$", "\u00a4": "$", "\u20a0": "$", "\u20ac": "$"}
_TRAILING_WS = " \t\n\u000b\u000c\r\u0085"


def _latex_quotes(text: str, left: bool) -> str:
    text = _SINGLE.sub("`" if left else "'", text)
    text = _DOUBLE.sub("``" if left else "''", text)
    text = _LEFT_SINGLE.sub("`", text)
    text = _RIGHT_SINGLE.sub("'", text)
    text = _LEFT_DOUBLE.sub("``", text)
    return _RIGHT_DOUBLE.sub("''", text)


def _without_soft_hyphens(text: str) -> str:
    if "\u00ad" not in text:
        return text
    return text.replace("\u00ad", "") or "-"


def _act(action: str, text: str) -> tuple[str | None, int]:
    """Token text (None: no token) and how many characters the token consumes, for a matched ``text``."""
    n = len(text)
    if action == "keep":
        return text, n
    if action == "skip" or action == "newline":
        return None, n
    if action == "softhyphen":
        return _without_soft_hyphens(text), n
    if action.startswith("const:"):
        return action[6:], n
    if action.startswith("pushback"):
        keep = n - int(action[8:])
        return text[:keep], keep
    if action == "nbsp":
        return text.replace(" ", "\u00a0"), n
    if action == "mdash":
        return "--", n
    if action == "amp":
        return _AMP.sub("&", text), n
    if action == "quote_right":
        return _latex_quotes(text, False), n
    if action == "quote_left":
        return _latex_quotes(text, True), n
    if action == "fraction":
        return "".join(_FRACTIONS.get(c, c) for c in text), n
    if action == "currency":
        return "".join(_CURRENCY.get(c, c) for c in text), n
    if action == "period_again":  # the abbreviation keeps its period and a "." token follows
        return text, n - 1
    if action == "acronym":
        stripped = text.rstrip(_TRAILING_WS)
        if len(stripped) == 2:  # "I." and friends: the letter, then the period
            return stripped[:1], 1
        return stripped, len(stripped) - 1
    if action == "strip":
        stripped = text.rstrip(_TRAILING_WS)
        return stripped, len(stripped)
    if action == "phone":
        return text.replace(" ", "\u00a0").replace("(", "-LRB-").replace(")", "-RRB-"), n
    if action == "parens":
        return text.replace("(", "-LRB-").replace(")", "-RRB-"), n
    if action == "lt":
        return "<", n
    if action == "gt":
        return ">", n
    if action == "hyphens":
        return ("--" if 3 <= n <= 4 else text), n
    raise ValueError(f"unknown action {action}")


_NONBLANK = re.compile(r"[^\s]")
_LINE_BREAK = re.compile("[\r\x0b\x0c\u2028\u2029]")
_ANY_BREAK = re.compile("[\n\r\x0b\x0c\u2028\u2029]")
# Fast steps inside the scanner, each the scanner's own outcome whatever follows (see scan()):
_QUICK = re.compile(
    r"(?P<word>[A-Za-z]+(?=[ \t\n]|\Z)|[A-Za-z]{2,}(?='s(?:[ \t\n.,]|\Z)))"
    r"|(?P<space>[ \t][ \t\u00a0\u2000-\u200a\u3000]*)"
    r"|(?P<keep>,(?=[ \t])|\.(?=[\n\t]|\Z| [^.])|'s(?=[ \t\n.,]|\Z))"
    r"|(?P<open>\"(?=[A-Za-z0-9$]))|(?P<close>\")"
)


def _best(text: str, pos: int, endpos: int):
    scanner, rules = _scanner()
    match = scanner.match(text, pos, endpos)
    if match is None:
        return 0, None
    return match.end() - pos, rules[int(match.lastgroup[1:])]


def scan(
    text: str, start: int = 0, stop: int | None = None, spans: Sequence[tuple[int, int]] = ()
) -> list[str]:
    """The tokens CoreNLP 3.4.1's lexer produces for ``text[start:stop]`` (before lower-casing and filtering).

    Look-ahead may read past ``stop``: a caption is scanned inside its document, where the next captions
    follow after a newline, as in the file pycocoevalcap writes. ``spans``: the document's markup spans
    (``markup_spans``); the last token may then run past ``stop``, line ends included (see ``_scan``).
    """
    return _scan(text, start, len(text) if stop is None else stop, spans)[0]


def markup_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every SGML match in ``text`` that contains a line end, at every ``<``, in order.

    Only a quoted attribute value (``'[^']*'`` or ``"[^"]*"`` in the SGML macro) can hold a line end, and
    the jar's scanner reads as far ahead as the closing quote and ``>`` are, however many captions later.
    Such a match at a token start is the longest of all rules there (no other rule starting with ``<``
    crosses a line end), so the jar makes it one token, line ends included, and prints it as it is: the
    part before each line end stays on its caption's output line, the rest starts the next ones."""
    spans: list[tuple[int, int]] = []
    if "<" not in text or "\n" not in text or ("'" not in text and '"' not in text):
        return spans
    sgml = _sgml()
    pos = text.find("<")
    while pos >= 0:
        match = sgml.match(text, pos)
        if match is not None and "\n" in match.group():
            spans.append((pos, match.end()))
        pos = text.find("<", pos + 1)
    return spans


@functools.lru_cache(maxsize=1)
def _sgml():
    # the macro has at most one match at a given start (names are maximal, a quote closes at the next quote
    # of its kind, the match ends at the first ">" outside quotes): a backtracking match finds that one
    from vlmeval.tokenizers.ptb_rules import SGML

    return re.compile(SGML)


def _scan(text: str, start: int, stop: int, spans: Sequence[tuple[int, int]]) -> tuple[list[str], int]:
    """``scan()``, and the position after the last token: past ``stop`` when the last token is markup
    whose quoted attribute runs into the next captions."""
    # Look-ahead reaches at most into the next caption that is not blank (the longest context, an
    # acronym's, is spaces/newlines and one word), and to the end of markup with a quoted line end (plus
    # one character: an acronym's context may be such markup and a space) that starts on this caption or
    # at the first non-blank character after it (where an acronym's or an abbreviation's context may
    # hold it); a bounded window keeps every match local.
    nonblank = _NONBLANK.search(text, stop)
    window = len(text) if nonblank is None else text.find("\n", nonblank.start())
    window = len(text) if window < 0 else min(len(text), window + 1)
    if spans:
        from bisect import bisect_left

        last_start = stop if nonblank is None else nonblank.start()
        for s, e in spans[bisect_left(spans, (start, 0)) :]:
            if s > last_start:
                break
            window = max(window, min(len(text), e + 1))
    tokens: list[str] = []
    pos = start
    while pos < stop:
        # Fast steps, each provably what the rules give: an ASCII letter run followed by a space or a line
        # end is a WORD (ACRO/ABBREV4 tie on the same text), unless it is a "cannot"/"gonna" word; a word
        # before a lower-case "'s" and a space or period is WORD/REDAUX and the "'s" then REDAUX (no rule
        # with an apostrophe inside is longer for these); a comma before a space is INSENTP; a period
        # before a line end, a tab or a space not followed by a period is a period (not LDOTS, not NUMBER);
        # a double quote is `` before a letter, digit or $ and '' otherwise; a space or tab starts SPACES,
        # which takes the whole run of space characters (an NBSP after a space never starts a URL).
        quick = _QUICK.match(text, pos, stop)
        if quick is not None:
            kind, found = quick.lastgroup, quick.group()
            if kind != "word" or found.lower() not in _SPLIT_WORDS:
                if kind in ("word", "keep"):
                    tokens.append(found)
                elif kind == "open":
                    tokens.append("``")
                elif kind == "close":
                    tokens.append("''")
                pos = quick.end()
                continue
        best_len, best = _best(text, pos, window)
        if best is None:  # only "\n" can get here
            pos += 1
            continue
        rule = best
        token_len = best_len
        if rule.context is not None:
            # JFlex's general trailing context: the rightmost split where the rule matches before it and
            # the context matches after it, up to the end of the longest overall match
            head, tail = _splitter(rule)
            end = pos + best_len
            for cut in range(end - 1, pos, -1):
                if tail.fullmatch(text, cut, end) and head.fullmatch(text, pos, cut):
                    token_len = cut - pos
                    break
        token, consumed = _act(rule.action, text[pos : pos + token_len])
        if token is not None:
            tokens.append(token)
        pos += max(consumed, 1)
    return tokens, pos


def _finish(tokens: Sequence[str]) -> str:
    """The jar's output line (tokens lower-cased, joined by spaces), filtered as pycocoevalcap filters it
    (``rstrip()`` included, which also strips trailing U+3000 and friends off the last token)."""
    # Java's toLowerCase(Locale.ENGLISH) and Python's lower() agree on every character that reaches here
    return filter_punctuation(" ".join(tok.lower() for tok in tokens))


# --- tier 3: characters whose classification is not certain ----------------------------------------


def _letterlike(category: str) -> bool:
    return category[0] == "L" or category == "Nd"


# (?i:) literals fold U+017F and U+212A onto s and k, JFlex's %caseless does not; Java lower-cases a capital
# sigma by word boundaries (BreakIterator), Python by case-ignorable context, and the two disagree
_NOT_REPRODUCED = {"\u017f", "\u212a", "\u03a3"}


@functools.lru_cache(maxsize=65536)
def _stable(ch: str) -> bool:
    """Whether the scanner classifies ``ch`` as the jar does. The jar's letter/digit tables come from a Java
    of 2014 (Unicode 6.x), Python's and the regex module's from later versions: a character counts as
    stable when it is assigned now and is a letter (or digit) in both Unicode 3.2 and now with the same
    category, or a letter in neither. Characters outside the BMP are scanned as Java sees them, as two
    surrogates, and count as stable."""
    if ord(ch) > 0xFFFF:
        return True
    if ch in _NOT_REPRODUCED:
        return False
    now = unicodedata.category(ch)
    if now == "Cn":
        return False
    then = unicodedata.ucd_3_2_0.category(ch)
    return now == then or not (_letterlike(now) or _letterlike(then))


def reproducible(text: str) -> bool:
    return text.isascii() or all(_stable(ch) for ch in text if not ch.isascii())


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_LONE = re.compile("[\ud800-\udfff]")


def _as_utf16(text: str) -> str:
    """Characters outside the BMP as the two UTF-16 surrogates Java's scanner reads."""

    def split(m: re.Match) -> str:
        code = ord(m.group()) - 0x10000
        return chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF))

    return _ASTRAL.sub(split, text)


def _from_utf16(token: str) -> str:
    """Surrogate pairs back to characters; a lone surrogate becomes "?" as Java's UTF-8 writer makes it."""
    if not _LONE.search(token):
        return token
    token = _PAIR.sub(
        lambda m: chr(0x10000 + ((ord(m.group()[0]) - 0xD800) << 10) + ord(m.group()[1]) - 0xDC00), token
    )
    return _LONE.sub("?", token)


@dataclass
class TokenizerStats:
    captions: int = 0
    scanned: int = 0  # went through the scanner (tier 2)
    jar: int = 0  # sent to the jar (tier 3, Java present)
    approximate: int = 0  # tier 3 without Java: scanned, not guaranteed equal to the jar
    examples: list[str] = field(default_factory=list)


def _tokenize_document(lines: list[str]) -> tuple[list[str], int]:
    """One document with the Python tiers; returns the captions and how many went through the scanner."""
    text = "\n".join(lines)
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    scan_lines = _not_plain(text, starts)
    plain = text.lower().replace(",", " ").replace(".", " ").split("\n")
    out = [" ".join(words.split()) for words in plain]
    if not scan_lines:
        return out, 0
    utf16 = _ASTRAL.search(text) is not None
    if utf16:
        # scan the document as Java reads it (UTF-16), then put the characters back together
        lines = [_as_utf16(line) for line in lines]
        text = "\n".join(lines)
        starts, offset = [], 0
        for line in lines:
            starts.append(offset)
            offset += len(line) + 1
    spans = markup_spans(text)
    todo = sorted(scan_lines)
    scanned = len(todo)
    resume: dict[int, tuple[int, list[str]]] = {}  # line -> (where its scan starts, its first token)
    k, covered = 0, -1
    while k < len(todo):
        i = todo[k]
        k += 1
        if i <= covered:  # inside a token begun on an earlier line, already written
            continue
        stop = starts[i] + len(lines[i])
        begin, head = resume.pop(i, (starts[i], []))
        tokens, end = _scan(text, begin, stop, spans)
        if utf16:
            tokens = [_from_utf16(t) for t in tokens]
        tokens = head + tokens
        if end <= stop:
            out[i] = _finish(tokens)
            continue
        # The last token runs into the next lines: the jar prints it whole, its line ends included, so
        # its first piece ends this caption's output line and each further piece starts the next one.
        pieces = tokens.pop().split("\n")
        out[i] = _finish(tokens + pieces[:1])
        last = i + len(pieces) - 1
        for m in range(i + 1, last):
            out[m] = _finish(pieces[m - i : m - i + 1])
        covered = last - 1
        resume[last] = (end, pieces[-1:])
        if last not in scan_lines:  # cannot happen for markup (its end holds a quote and ">"); kept safe
            scan_lines.add(last)
            todo.insert(k, last)
    return out, scanned


@dataclass(frozen=True)
class MarkupLines:
    """Where markup with a quoted line end (``markup_spans``) lies in a document, by line: a superset of the
    tokens that the jar runs from one caption into later ones. ``chunk_bounds`` reads it."""

    firsts: list[int] = field(default_factory=list)  # first line of each span, ascending
    reach: list[int] = field(default_factory=list)  # reach[k]: the furthest last line of spans[: k + 1]
    inside: list[tuple[int, int]] = field(default_factory=list)  # runs of lines some span runs into


def markup_line_spans(lines: Sequence[str]) -> MarkupLines:
    """``MarkupLines`` of the document ``lines``; compute it once per document (one pass)."""
    if not any("<" in t for t in lines):  # no markup without "<": no copy of a million captions
        return MarkupLines()
    lines = [t.translate(LINE_BREAKS) for t in lines]  # as tokenize_ptb and tokenize_ptb_jar read them
    text = "\n".join(lines)
    spans = markup_spans(text)
    if not spans:
        return MarkupLines()
    from bisect import bisect_right

    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    by_line = [(bisect_right(starts, s) - 1, bisect_right(starts, e - 1) - 1) for s, e in spans]
    reach, furthest, inside = [], -1, []
    for first, last in by_line:  # in order of their start
        furthest = max(furthest, last)
        reach.append(furthest)
        if inside and first + 1 <= inside[-1][1] + 1:
            inside[-1] = (inside[-1][0], max(inside[-1][1], last))
        else:
            inside.append((first + 1, last))
    return MarkupLines([first for first, _ in by_line], reach, inside)


def chunk_bounds(
    lines: Sequence[str], start: int, end: int, markup: MarkupLines | None = None
) -> tuple[int, int]:
    """The slice ``lines[lo:hi]`` of a document to tokenize (with either tokenizer) so that the captions
    ``lines[start:end]`` come out as inside the whole document; take ``tokens[start - lo : end - lo]``.

    ``lo`` goes back to the line before any run of lines that markup runs into (no token spans line
    ``lo``'s start). ``hi`` reaches through the second non-blank line after ``end`` (all the scanner's
    look-ahead: an acronym's context is spaces, a word and a space) and one line past the last line of
    markup that starts before ``end`` or on the first non-blank line from ``end`` (an acronym's or an
    abbreviation's context may be markup there). ``markup``: ``markup_line_spans(lines)``."""
    from bisect import bisect_right

    markup = markup_line_spans(lines) if markup is None else markup
    lo = start
    k = bisect_right(markup.inside, (start, len(lines))) - 1
    if k >= 0 and markup.inside[k][0] <= start <= markup.inside[k][1]:
        lo = markup.inside[k][0] - 1
    hi, nonblank, first_nonblank = end, 2, None
    while hi < len(lines) and nonblank:
        if lines[hi].strip():
            nonblank -= 1
            first_nonblank = hi if first_nonblank is None else first_nonblank
        hi += 1
    k = bisect_right(markup.firsts, len(lines) if first_nonblank is None else first_nonblank) - 1
    if k >= 0 and markup.reach[k] >= end - 1:
        hi = max(hi, min(len(lines), markup.reach[k] + 2))
    return lo, max(hi, end)


def unsure_lines(document: Sequence[str]) -> tuple[list[str], list[str]]:
    """A document's captions as the tokenizer reads them (line breaks inside a caption made spaces), and those
    the Python tiers cannot guarantee (the jar tokenizes their document when Java is present)."""
    lines = list(document)
    joined = "\n".join(lines)
    if joined.count("\n") != len(lines) - 1 or _LINE_BREAK.search(joined):
        lines = [t.translate(LINE_BREAKS) if _ANY_BREAK.search(t) else t for t in lines]
    return lines, [] if joined.isascii() else [t for t in lines if not reproducible(t)]


def tokenize_ptb(
    documents: Sequence[Sequence[str]], *, use_jar: bool | None = None, stats: TokenizerStats | None = None
) -> list[list[str]]:
    """Each document (a list of captions: the references, or the predictions) tokenized as pycocoevalcap's
    PTBTokenizer does it, one tokenized, lower-cased, punctuation-filtered string per caption.

    ``use_jar``: a document with a caption the Python tiers cannot guarantee goes to the official jar
    (default: when Java is on PATH); otherwise it is scanned and counted as approximate.
    """
    stats = stats if stats is not None else TokenizerStats()
    results: list[list[str] | None] = []
    to_jar: list[int] = []
    for k, doc in enumerate(documents):
        lines, unsure = unsure_lines(doc)
        stats.captions += len(lines)
        if unsure:
            if use_jar is None:
                from vlmeval.java import find_java

                use_jar = find_java() is not None
            stats.examples.extend(unsure[: 3 - len(stats.examples)])
            if use_jar:
                stats.jar += len(unsure)
                to_jar.append(k)
                results.append(None)
                continue
            stats.approximate += len(unsure)
        tokens, scanned = _tokenize_document(lines)
        stats.scanned += scanned
        results.append(tokens)
    if to_jar:
        from vlmeval.tokenizers.ptb_jar import tokenize_ptb_jar

        for k, tokens in zip(to_jar, tokenize_ptb_jar([documents[k] for k in to_jar])):
            results[k] = tokens
    return [r if r is not None else [] for r in results]
