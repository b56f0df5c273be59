"""Markup (SGML tags, quoted attributes, entities, ``<`` and ``>``) against CoreNLP 3.4.1's jar.

The jar is the oracle: every test that needs Java runs it (one JVM for many documents, through
``tokenize_ptb_jar``, and pycocoevalcap's own ``PTBTokenizer`` where we claim pycocoevalcap's numbers). The
jar's SGML rule lets a quoted attribute value hold line ends, so markup such as ``<a href='x`` ...
``y'> a dog`` is one token running from one caption into the next ones; the jar prints it as it is, line
ends included, and its output stays one line per caption (``<a\\xa0href='x`` / ``y'> a dog``).

The expected strings in ``KNOWN`` were read off the jar's output (``tokenize_ptb_jar`` on these documents,
and pycocoevalcap's PTBTokenizer gave the same); ``test_known_markup_against_the_jar`` checks them against
the jar again whenever Java is present, so the Java-free run keeps checking the same behaviour.
"""

from __future__ import annotations

import json
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import requires_java, write_jsonl
from vlmeval.tokenizers.ptb import (
    MarkupLines,
    TokenizerStats,
    chunk_bounds,
    markup_line_spans,
    markup_spans,
    tokenize_ptb,
)

EXAMPLES = int(os.environ.get("VLMEVAL_PTB_EXAMPLES", "20"))  # `make test-all` raises it


def _jar(documents):
    from vlmeval.tokenizers.ptb_jar import tokenize_ptb_jar

    return tokenize_ptb_jar(documents)


def _pycocoevalcap(document: list[str]) -> list[str]:
    """pycocoevalcap 1.2's PTBTokenizer itself on one document (one caption per image, in order)."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    from tests.reference import quietly

    out = quietly(PTBTokenizer().tokenize, {i: [{"caption": c}] for i, c in enumerate(document)})
    return [out[i][0] for i in range(len(document))]


# Documents (captions in file order) of every markup class, built on real COCO val2017 captions.
CASES: dict[str, list[str]] = {
    "README example: a quoted attribute across two captions": ["<a href='x", "y'> a dog"],
    "across two real captions": [
        "A man riding a wave on top of a surfboard <a href='x",
        "y'> A dog curled up on a couch with blankets and pillows.",
        "Two men stand next to each other holding glasses.",
    ],
    "double quotes across captions": [
        'A red and yellow train <span class="big',
        'red"> at station under a glass roof.',
        "A dog looking out the window of a car.",
    ],
    "across three captions": [
        "A toddler hitting the ball <a title='with a baseball bat",
        "in his backyard.",
        "This table has cupcakes' > and cake on it.",
    ],
    "across a blank caption": [
        "A highway at dusk <img alt='cars",
        "",
        "traveling'/> between cities.",
        "a man",
    ],
    "one ends and the next begins on one caption": [
        "A dog <a href='x",
        "y'> looking <b class=\"out",
        'the"> window of a car.',
    ],
    "markup chained from caption to caption": [
        "A dog <a href='x",
        "y'><b class='on a",
        "couch'><i title=\"with",
        'pillows"> and a cat.',
    ],
    "acronym before markup across captions": [
        "A sign for the U.S.",
        "<a href='x",
        "y'> Army base.",
        "The U.S. <a href='x",
        "y'> flag",
    ],
    "abbreviation before markup across captions": [
        "Boxed meal of sandwich roll, orange juice etc. <a href='x",
        "y'> and strawberry yogurt",
        "Mr. <b title='A",
        "B'> Smith",
    ],
    "quoted attributes on one caption": [
        "A woman <a href='http://x.org/a b'>talking</a> on her cell phone.",
        '<img src="dog.jpg" alt="a dog"/> A dog on a couch.',
        "<p class = 'x'>A large building</p> is shown <br/> with clocks <br /> on the side.",
        "<div id='main' class=\"c\">Four men ride horses</div>",
        "<a b='it\"s'> and <a b=\"it's\"> here",
    ],
    "NBSP and tabs in and around markup": [
        "<a\u00a0href='x'> A cat",
        "<a href='x\u00a0y'> A cat",
        "<a\thref='x'> a dog",
        "<a href='x\ty'> a dog",
        "<a href=' x",
        "\u00a0y '> a bird",
    ],
    "unterminated quote": ["A dog <a href='x on a couch", "The cat is laying in the sun."],
    "unterminated double quote, to the end of input": ['A man <a href="x', "a dog on a couch"],
    "closing quote without >": ["<a href='x", "y' a dog", "the cat."],
    "not markup": ["<a href=x>A dog</a>", "< a>", "<1a> and <a >", "<a href='x'y'>", "</a b> <//a>"],
    "comments and declarations": [
        "<!-- a dog -->",
        "<!DOCTYPE html> A cat",
        "<?xml version='1.0'?>",
        "<!-- a",
        "b -->",
    ],
    "< and > in text": [
        "1 < 2 dogs > 3 cats",
        "a<b>c",
        "A heart <3 on a cake",
        "<<A dog>>",
        "A sign -> left <- right",
        "x<y and y>z",
        "<me@x.com> wrote",
        "a dog >:( and :<",
    ],
    "entities": [
        "&lt;b&gt;A dog&lt;/b&gt;",
        "A cat &amp; a dog",
        "&quot;Stop&quot; sign",
        "it&apos;s a dog",
        "A&nbsp;dog",
        "&lt;a href='x",
        "y'&gt; a dog",
        "&amp;lt; &#39;s caf&eacute; &mdash;",
    ],
    "emoji inside markup across captions": ["A dog <a title='\U0001f600", "'> on a couch \U0001f44d"],
    "markup on the last line": ["A dog on a couch", "A cat <a href='x'>"],
    "unterminated markup on the last line": ["A dog on a couch", "A cat <a href='x"],
}

# Read off the jar (tokenize_ptb_jar; pycocoevalcap's PTBTokenizer gives the same lines).
KNOWN = [
    (["<a href='x", "y'> a dog"], ["<a\xa0href='x", "y'> a dog"]),
    (
        ['A red and yellow train <span class="big', 'red"> at station under a glass roof.'],
        ['a red and yellow train <span\xa0class="big', 'red"> at station under a glass roof'],
    ),
    (
        [
            "A toddler hitting the ball <a title='with a baseball bat",
            "in his backyard.",
            "cupcakes' > and cake.",
        ],
        [
            "a toddler hitting the ball <a\xa0title='with\xa0a\xa0baseball\xa0bat",
            "in\xa0his\xa0backyard.",
            "cupcakes'\xa0> and cake",
        ],
    ),
    (
        ["A highway at dusk <img alt='cars", "", "traveling'/> between cities.", "a man"],
        ["a highway at dusk <img\xa0alt='cars", "", "traveling'/> between cities", "a man"],
    ),
    (
        ["A sign for the U.S.", "<a href='x", "y'> Army base."],
        ["a sign for the u.s.", "<a\xa0href='x", "y'> army base"],
    ),
    (["<a href=' x", "\xa0y '> a bird"], ["<a\xa0href='\xa0x", "\xa0y\xa0'> a bird"]),
    (["<a\u00a0href='x'> A cat", "<a\thref='x'> a dog"], ["< a href = x > a cat", "< a href = x > a dog"]),
    (["A dog <a href='x on a couch", "The cat."], ["a dog < a href = x on a couch", "the cat"]),
    (["<a href='x", "y' a dog", "the cat."], ["< a href = x", "y a dog", "the cat"]),
    (["x<y and y>z", "<1a> and <a >"], ["x <y\xa0and\xa0y> z", "< 1a > and <a\xa0>"]),
    (["&lt;a href='x", "y'&gt; a dog"], ["< a href = x", "y > a dog"]),
    (["A dog <a title='\U0001f600", "'> on a couch"], ["a dog <a\xa0title='\U0001f600", "'> on a couch"]),
]


@pytest.mark.parametrize("document, tokens", KNOWN)
def test_known_markup(document, tokens):
    stats = TokenizerStats()
    assert tokenize_ptb([document], use_jar=False, stats=stats) == [tokens]
    assert stats.approximate == 0


@requires_java
def test_known_markup_against_the_jar():
    assert _jar([doc for doc, _ in KNOWN]) == [tokens for _, tokens in KNOWN]


@requires_java
def test_markup_cases_equal_the_jar():
    documents = list(CASES.values())
    stats = TokenizerStats()
    ours = tokenize_ptb(documents, use_jar=True, stats=stats)
    assert stats.jar == 0 and stats.approximate == 0  # all of it is the Python scanner's
    assert dict(zip(CASES, ours)) == dict(zip(CASES, _jar(documents)))


@requires_java
def test_markup_cases_equal_pycocoevalcap_itself():
    """pycocoevalcap's own PTBTokenizer (its temporary file, the jar's stdout split on line ends) on all the
    cases as one document: it stays aligned, and both our tokenizers give its lines."""
    document = [caption for doc in CASES.values() for caption in doc]
    theirs = _pycocoevalcap(document)
    assert tokenize_ptb([document], use_jar=False) == [theirs]
    assert _jar([document]) == [theirs]


# --- generated markup-like captions -------------------------------------------------------------------
TAGS = [
    "<a href='x y'>", '<a href="x">', "</a>", "<br/>", "<br />", "<img src='a.jpg' alt=\"a dog\"/>",
    "<!-- c -->", "<!DOCTYPE html>", "<?xml v?>", "<p class = 'x'>", "<a href=x>", "<a\thref='x'>",
    "<a\u00a0href='x'>", "<A HREF='X'>", "<a b>", "<a b c='d' e>", "<a b='it\"s'>", '<a b="it\'s">', "< a>",
    "<a >", "<1a>", "<a_b:c.d-e>", "</a b>", "<//a>", "<b>", "</b>", "<p>", "<div id='m' class=\"c\">",
    "<a href=''>", '<a href="">', "<a href='U.S.'>", "<a href='The'>", "<A B='C'  >", "<a b='c'/>", "<a/ >",
]  # fmt: skip
PARTS = [
    "<a href='", '<a href="', "<img src='", '<p title="', "<a b = '", "<A HREF='", "<a href='x",
    '<div class="big', "'>", '">', "' >", "'/>", '"/>', "x'>", 'y">', "'", '"', "' ", "'s", "x'", "=",
    "= '", "<", ">", "/>", "'> a dog", '"> the man', "'>.", "'>,", "'>'", "\"'>", "'\">",
]  # fmt: skip
TEXT = [
    "<", ">", "<<", ">>", "<3", "1 < 2", "a<b", "->", "<-", "=>", "<=", "<:", ">:(", "a>b", "x<y>z", "&lt;",
    "&gt;", "&amp;", "&quot;", "&apos;", "&nbsp;", "&lt;a href='x'&gt;", "&lt;b&gt;", "&#39;", "&eacute;",
    "&mdash;", "&amp;lt;", "&LT;", "AT&T", "<me@x.com>", "me@x.com", "http://x.org/a?b='c'", "U.S.", "etc.",
    "p.m.", "K.", "Dr.", "it's", "don't", "'90s", ":)", "(", ")", '"', "'", "`", "...", "\U0001f600",
]  # fmt: skip
WORDS = (
    "a man riding a wave on top of surfboard . A dog sitting on couch with remote The cat is laying in the "
    "sun next to two giraffes standing field Some people are eating pizza kitchen He She It This However"
).split()
SEPARATORS = [" ", " ", " ", "", "\t", "\u00a0", "  ", ". ", ", "]


def markup_caption(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 9)):
        r = rng.random()
        pool = TAGS if r < 0.2 else PARTS if r < 0.4 else TEXT if r < 0.55 else WORDS
        parts += [rng.choice(pool), rng.choice(SEPARATORS)]
    return "".join(parts) + ("." if rng.random() < 0.3 else "")


def markup_document(rng: random.Random, lines: int) -> list[str]:
    plain = ["", " ", "a dog", "A man on a horse.", "The cat"]
    return [markup_caption(rng) if rng.random() < 0.7 else rng.choice(plain) for _ in range(lines)]


@requires_java
def test_generated_markup_documents_equal_the_jar():
    rng = random.Random(341)
    documents = [markup_document(rng, rng.randint(1, 40)) for _ in range(300)]
    # the generator has teeth: a good share of the documents hold markup across captions
    assert sum(bool(markup_spans("\n".join(doc))) for doc in documents) >= len(documents) // 4
    stats = TokenizerStats()
    ours = tokenize_ptb(documents, use_jar=True, stats=stats)
    theirs = _jar(documents)
    mismatches = [(doc, a, b) for doc, a, b in zip(documents, ours, theirs) if a != b]
    assert mismatches == []


_markup_piece = st.one_of(
    st.sampled_from(TAGS),
    st.sampled_from(PARTS),
    st.sampled_from(TEXT),
    st.sampled_from(WORDS),
    st.sampled_from(SEPARATORS),
)
_markup_caption = st.lists(_markup_piece, max_size=12).map("".join)


@requires_java
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.lists(_markup_caption, min_size=1, max_size=30), min_size=1, max_size=4))
def test_property_markup_documents_equal_the_jar(documents):
    """Each drawn set of documents is tokenized by the jar in one JVM run."""
    assert tokenize_ptb(documents, use_jar=True) == _jar(documents)


# --- slices of a document (chunked scoring) -----------------------------------------------------------


def test_chunk_bounds_give_the_whole_document_tokens():
    """Tokenizing lines[lo:hi] from chunk_bounds gives lines[start:end] exactly as inside the whole
    document, whatever the slice, with markup running across the slice's ends; look-ahead alone does not."""
    rng = random.Random(2014)
    differs_without = 0
    for _ in range(60):
        doc = markup_document(rng, rng.randint(5, 40))
        whole = tokenize_ptb([doc], use_jar=False)[0]
        markup = markup_line_spans(doc)
        for size in (1, 2, 3, 7):
            got, look_ahead_only = [], []
            for a in range(0, len(doc), size):
                b = min(a + size, len(doc))
                lo, hi = chunk_bounds(doc, a, b, markup)
                assert lo <= a <= b <= hi
                got += tokenize_ptb([doc[lo:hi]], use_jar=False)[0][a - lo : b - lo]
                _, hi0 = chunk_bounds(doc, a, b, MarkupLines())
                look_ahead_only += tokenize_ptb([doc[a:hi0]], use_jar=False)[0][: b - a]
            assert got == whole
            differs_without += look_ahead_only != whole
    assert differs_without > 0


@requires_java
def test_chunk_bounds_hold_for_the_jar():
    document = [caption for doc in CASES.values() for caption in doc]
    whole = _jar([document])[0]
    markup = markup_line_spans(document)
    slices = []
    for a in range(0, len(document), 3):
        lo, hi = chunk_bounds(document, a, min(a + 3, len(document)), markup)
        slices.append((a - lo, min(a + 3, len(document)) - lo, document[lo:hi]))
    tokens = _jar([doc for _, _, doc in slices])
    assert [t for (x, y, _), toks in zip(slices, tokens) for t in toks[x:y]] == whole


def test_chunked_scoring_with_markup_across_a_chunk_end(tmp_path):
    """Above 10,000 images captions are scored in chunks; markup running across a chunk's end must not
    change the numbers (the tokenizers themselves are right: see the chunk_bounds tests above)."""
    from vlmeval.io.captions import load_captions
    from vlmeval.progress import QUIET
    from vlmeval.tasks.caption import evaluate

    data = load_captions(write_jsonl(tmp_path / "p.jsonl", _cli_records()))
    whole = evaluate(data, ["Bleu_1"], {}, QUIET)
    for chunk in (1, 2, 3):
        chunked = evaluate(data, ["Bleu_1"], {}, QUIET, chunk_images=chunk)
        assert chunked.per_sample["Bleu_1"] == whole.per_sample["Bleu_1"], chunk


# --- through the CLI, against pycocoevalcap --------------------------------------------------------------


def _cli_records() -> list[dict]:
    """10 images: predictions and references with markup of every class, the README example among them
    (predictions 0 and 1), as a model's output and a scraped reference set could hold them."""
    predictions = [
        "<a href='x",
        "y'> a dog",
        'A red and yellow train <span class="big',
        'red"> at station under a glass roof.',
        "A toddler hitting the ball <a title='with a baseball bat",
        "in his backyard.",
        "cupcakes' > and cake on a table.",
        "A dog <a href='x on a couch",
        '&lt;b&gt;A cat&lt;/b&gt; &amp; a dog <img src="dog.jpg" alt="a dog"/>',
        "1 < 2 dogs > 3 cats on the U.S. <b>lawn</b>",
    ]
    references = [
        ["A man riding a wave on top of a surfboard.", "A surfer rides a large wave <a href='x"],
        ["y'> A dog curled up on a couch.", "A brown dog on a sofa."],
        ["A red and yellow train at a station.", "A train under a glass roof."],
        ["A train at a station under a glass roof.", "A red train <i>parked</i> at a platform."],
        ["A toddler hitting a ball with a bat.", 'A child playing baseball <b class="in'],
        ['the"> backyard.', "A small boy with a bat in his backyard."],
        ["A table with cupcakes and cake on it.", "Cupcakes and a cake on a table."],
        ["A dog lying on a couch.", "A dog on a couch with pillows."],
        ["A cat and a dog on a bed.", "A dog and a cat <br/> sleeping together."],
        ["Three cats and two dogs on a lawn.", "Dogs and cats on the grass &lt;3"],
    ]
    return [
        {"id": i, "prediction": p, "references": r} for i, (p, r) in enumerate(zip(predictions, references))
    ]


@requires_java
@pytest.mark.parametrize("tokenizer", ["ptb", "ptb-jar"])
def test_cli_scores_markup_captions_as_pycocoevalcap(cli, tmp_path, tokenizer):
    from tests.reference import coco_caption_eval

    records = _cli_records()
    preds = write_jsonl(tmp_path / "p.jsonl", records)
    ann = tmp_path / "ann.json"
    ann.write_text(
        json.dumps(
            {
                "images": [{"id": r["id"]} for r in records],
                "annotations": [
                    {"id": 10 * r["id"] + k, "image_id": r["id"], "caption": c}
                    for r in records
                    for k, c in enumerate(r["references"])
                ],
            }
        )
    )
    res = tmp_path / "res.json"
    res.write_text(json.dumps([{"image_id": r["id"], "caption": r["prediction"]} for r in records]))
    corpus, per_image, _, _ = coco_caption_eval(ann, res, meteor=False)

    result = cli(
        "caption", preds, "--metrics", "Bleu,ROUGE_L,CIDEr", "--tokenizer", tokenizer, "--out", "r.json"
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    ids = [int(i) for i in report["per_sample"]["ids"]]
    for metric, expected in corpus.items():
        assert report["metrics"][metric] == pytest.approx(expected, abs=1e-9), metric
        for i, value in zip(ids, report["per_sample"][metric]):
            assert value == pytest.approx(per_image[metric][i], abs=1e-9), (metric, i)
    tag = "tok:ptb-py-3.4.1|" if tokenizer == "ptb" else "tok:ptb-jar-3.4.1|"
    assert tag in report["signature"]["Bleu_1"]  # no "+jar:N", no "~approx:N": the scanner's own tokens

