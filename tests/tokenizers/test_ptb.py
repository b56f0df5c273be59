"""The Java-free PTB tokenizer against CoreNLP 3.4.1's jar (the one pycocoevalcap ships).

Parity is checked token for token on every real COCO caption we have (25,014 val2017 references and 1,000
model captions), on generated adversarial documents, and by a hypothesis property test that compares each
drawn document with the jar in one JVM run. The expected strings in test_known_jar_behaviours were read off
the jar's output; when Java is present the test checks them against the jar again.
"""

from __future__ import annotations

import gzip
import json
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES, requires_java
from tests.tokenizers.alphabet import CHARS, FRAGMENTS
from vlmeval.tokenizers.ptb import TokenizerStats, reproducible, tokenize_ptb

EXAMPLES = int(os.environ.get("VLMEVAL_PTB_EXAMPLES", "12"))  # `make test-all` raises it


def _jar(documents):
    from vlmeval.tokenizers.ptb_jar import tokenize_ptb_jar

    return tokenize_ptb_jar(documents)


def real_captions() -> list[str]:
    with gzip.open(FIXTURES / "coco" / "captions_val2017.json.gz", "rt", encoding="utf-8") as f:
        captions = [a["caption"] for a in json.load(f)["annotations"]]
    fake = json.loads((FIXTURES / "coco" / "captions_val2014_fakecap_results.json").read_text())
    return captions + [r["caption"] for r in fake]


def adversarial_document(rng: random.Random, lines: int) -> list[str]:
    doc = []
    for _ in range(lines):
        parts = []
        for _ in range(rng.randint(0, 8)):
            r = rng.random()
            if r < 0.45:
                parts.append(rng.choice(FRAGMENTS))
            elif r < 0.85:
                parts.append("".join(rng.choice(CHARS) for _ in range(rng.randint(1, 4))))
            else:
                parts.append(rng.choice(["a", "dog", "The", "man", "sits"]))
            parts.append(rng.choice([" ", " ", "", "  ", "\t", ".", "\u00a0"]))
        doc.append("".join(parts))
    return doc


@pytest.mark.parametrize(
    "caption, tokens",
    [
        # PTB escapes survive lower-casing; pycocoevalcap's filter only drops the upper-case forms
        (
            "a (small) dog [sleeping] on a {red} couch.",
            "a -lrb- small -rrb- dog -lsb- sleeping -rsb- on a -lcb- red -rcb- couch",
        ),
        ("It costs £3 or €2, not ¥5 or 5¢", "it costs # 3 or $ 2 not ¥ 5 or 5 cents"),
        ("He cannot, he's gonna and I can't", "he can not he 's gon na and i ca n't"),
        (
            'a sign that says "stop" -- 3,000 tons at 5:30 p.m.',
            "a sign that says stop 3,000 tons at 5:30 p.m.",
        ),
        ("Café crème naïve 日本語 😀 ok", "café crème naïve 日本語 ok"),
        # at the end of input ":)" is no smiley (its rule needs a following character): ":" and ")"
        (
            "visit http://cocodataset.org/#home or me@x.com :)",
            "visit http://cocodataset.org/#home or me@x.com -rrb-",
        ),
        ("3 1/2 cups, ½ cup and 1/2", "3\u00a01/2 cups 1/2 cup and 1/2"),
        ("U.S. Army vs. Dr. No etc.", "u.s. army vs. dr. no etc."),
        ("", ""),
        ("   \t ", ""),
        # a space starts SPACES, which swallows a following NBSP; an NBSP first is part of the URL
        (" \u00a0www.coco.org and \u00a0coco.org", "www.coco.org and coco.org"),
        ("\u00a0www.coco.org", "\u00a0www.coco.org"),
    ],
)
def test_known_jar_behaviours(caption, tokens):
    assert tokenize_ptb([[caption]], use_jar=False) == [[tokens]]


@requires_java
def test_known_jar_behaviours_against_the_jar():
    cases = test_known_jar_behaviours.pytestmark[0].args[1]
    assert _jar([[caption] for caption, _ in cases]) == [[tokens] for _, tokens in cases]


def test_look_ahead_crosses_captions_as_in_the_jar():
    """'K.' before a caption starting 'A ' loses its period (ACRONYM rule); at the end of input it keeps it."""
    doc = ["a sign that reads K.", "A man", "a sign that reads K.", "a man", "ends with K."]
    assert tokenize_ptb([doc], use_jar=False) == [
        ["a sign that reads k", "a man", "a sign that reads k.", "a man", "ends with k."]
    ]


# "İ" lower-cases to two characters; the plain-line check must still place what follows on its own line
# (the jar's tokens, read off its output: a line-final one-letter abbreviation keeps its period here)
DOTTED_I = [(["İİİ", "A.", "x"], ["i̇i̇i̇", "a.", "x"]),
            (["İZMİR İSTANBUL", "Plan B.", "a man"], ["i̇zmi̇r i̇stanbul", "plan b.", "a man"]),
            (["İ" * 6, "the U.S.", "i.e."], ["i̇" * 6, "the u.s.", "i.e."])]  # fmt: skip


def test_a_longer_lower_case_moves_no_line():
    for document, tokens in DOTTED_I:
        assert tokenize_ptb([document], use_jar=False) == [tokens]


@requires_java
def test_a_longer_lower_case_moves_no_line_against_the_jar():
    assert _jar([d for d, _ in DOTTED_I]) == [t for _, t in DOTTED_I]


@requires_java
def test_every_real_caption_equals_the_jar():
    captions = real_captions()
    documents = [captions[i : i + 5000] for i in range(0, len(captions), 5000)]
    stats = TokenizerStats()
    ours = tokenize_ptb(documents, use_jar=False, stats=stats)
    assert stats.approximate == 0
    assert ours == _jar(documents)


@requires_java
def test_adversarial_documents_equal_the_jar():
    rng = random.Random(2014)
    documents = [adversarial_document(rng, 500) for _ in range(10)]
    ours = tokenize_ptb(documents, use_jar=False)
    theirs = _jar(documents)
    mismatches = [
        (line, a, b)
        for doc, od, td in zip(documents, ours, theirs)
        for line, a, b in zip(doc, od, td)
        if a != b and reproducible(line)
    ]
    assert mismatches == []


_piece = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(alphabet=st.sampled_from(CHARS), min_size=1, max_size=4),
    st.sampled_from([" ", "  ", "\t", ".", "\u00a0", "The ", "A ", "a "]),
)
_caption = st.lists(_piece, max_size=10).map("".join)


@requires_java
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(_caption, min_size=1, max_size=60))
def test_property_documents_equal_the_jar(document):
    """Each drawn document is tokenized by the jar in one JVM run; without Java-free guarantees for a
    character class the default (jar fallback) path must still give the jar's tokens."""
    stats = TokenizerStats()
    assert tokenize_ptb([document], use_jar=True, stats=stats) == _jar([document])


@requires_java
def test_unreproducible_characters_go_to_the_jar():
    doc = ["ΟΔΟΣ ΣΑΣ 2Σ", "a dog"]
    stats = TokenizerStats()
    assert tokenize_ptb([doc], use_jar=True, stats=stats) == _jar([doc])
    assert stats.jar == 1 and stats.approximate == 0


def test_without_java_unreproducible_characters_are_counted():
    stats = TokenizerStats()
    out = tokenize_ptb([["ΟΔΟΣ", "a dog"]], use_jar=False, stats=stats)
    assert out[0][1] == "a dog" and stats.approximate == 1 and stats.examples == ["ΟΔΟΣ"]


def test_line_breaks_inside_captions_become_spaces():
    assert tokenize_ptb([["a cat\ron a mat", "a\u2028dog"]], use_jar=False) == [["a cat on a mat", "a dog"]]


def _not_plain_by_regex(text: str, starts: list[int]) -> set[int]:
    """The tier-1 check as it was first written: each suspect word (a single letter or an abbreviation
    before a period) looked up again by a regular expression over the whole document."""
    import re
    from bisect import bisect_right

    from vlmeval.tokenizers import ptb

    def lines_of(matches) -> set[int]:
        return {bisect_right(starts, m.start()) - 1 for m in matches}

    low = (text if "\u0130" not in text else text.replace("\u0130", "i")).lower()
    bad = lines_of(ptb._NOT_PLAIN_CHAR.finditer(text)) | lines_of(ptb._PERIOD_INSIDE.finditer(low))
    if any(word in low for word in ptb._SPLIT_WORDS):
        bad |= lines_of(ptb._SPLIT_WORD.finditer(low))
    suspects = set()
    for chunk in low.split(".")[:-1]:
        tail = chunk.rsplit(None, 1)
        if tail:
            word = tail[-1].rsplit(",", 1)[-1]
            if len(word) == 1 or word in ptb._ABBREVIATIONS:
                suspects.add(word)
    if suspects:
        bad |= lines_of(re.compile(r"(?<![a-z])(?:" + "|".join(map(re.escape, suspects)) + r")\.").finditer(low))
    return bad


def test_the_plain_line_check_finds_the_periods_the_regex_found():
    """The word before each period is checked where it stands (no second pass over the document): the same
    lines on COCO's captions and on seeded documents of plain characters, abbreviations and single letters."""
    from vlmeval.tokenizers.ptb import _not_plain

    rng = random.Random(7)
    words = ["a", "st", "ave", "dr", "Mr", "u", "s", "cat", "dog", "on", "the", "etc", "ft", "I", "wash", "ST", "no",
             "art", "x", "cannot", "İ", "é", "3"]  # fmt: skip
    seps = [" ", "  ", "\t", ",", ", ", ".", ". ", "..", " .", ",.", ".,", " , "]
    with gzip.open(FIXTURES / "coco" / "captions_val2017.json.gz", "rt", encoding="utf-8") as f:
        documents = [[a["caption"] for a in json.load(f)["annotations"]]]
    for _ in range(300):
        documents.append(["".join(rng.choice(words) + rng.choice(seps) for _ in range(rng.randint(0, 12)))
                          for _ in range(rng.randint(1, 30))])  # fmt: skip
    for lines in documents:
        starts, at = [], 0
        for line in lines:
            starts.append(at)
            at += len(line) + 1
        text = "\n".join(lines)
        assert _not_plain(text, starts) == _not_plain_by_regex(text, starts), lines
