"""BLEU, ROUGE-L and CIDEr-D against pycocoevalcap's scorers on the same tokens, without Java.

Hypothesis draws small corpora from a tiny vocabulary (so n-grams repeat and clip), with empty and one-word
captions; the reference scorers run on the same strings. Tolerance 1e-9 (per image and corpus).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference import quietly
from vlmeval.metrics.bleu import bleu
from vlmeval.metrics.cider import cider_d
from vlmeval.metrics.rouge import rouge_l

WORDS = ["a", "man", "dog", "on", "the", "red", "bus", "-lrb-", "x"]
sentence = st.lists(st.sampled_from(WORDS), min_size=0, max_size=9).map(" ".join)
image = st.tuples(sentence, st.lists(sentence, min_size=1, max_size=5))
corpus = st.lists(image, min_size=1, max_size=12)


def _reference(hyps, refs):
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    gts = {i: list(rs) for i, rs in enumerate(refs)}
    res = {i: [h] for i, h in enumerate(hyps)}
    b, b_img = quietly(Bleu(4).compute_score, gts, res, verbose=0)
    r, r_img = Rouge().compute_score(gts, res)
    if not any(r.split() for rs in refs for r in rs):
        # pycocoevalcap crashes (max() of no document frequencies); vlmeval scores 0
        c, c_img = 0.0, np.zeros(len(hyps))
    else:
        c, c_img = Cider().compute_score(gts, res)
    return (np.array(b), np.array(b_img).T), (r, np.array(r_img)), (c, np.array(c_img))


@settings(max_examples=300, deadline=None)
@given(corpus)
def test_equal_to_pycocoevalcap_on_random_corpora(data):
    hyps = [h for h, _ in data]
    refs = [rs for _, rs in data]
    (b_ref, b_img_ref), (r_ref, r_img_ref), (c_ref, c_img_ref) = _reference(hyps, refs)
    b, b_img = bleu([h.split() for h in hyps], [[r.split() for r in rs] for rs in refs])
    np.testing.assert_allclose(b, b_ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(b_img, b_img_ref, rtol=0, atol=1e-9)
    r, r_img = rouge_l(hyps, refs)
    assert r == pytest.approx(r_ref, abs=1e-9)
    np.testing.assert_allclose(r_img, r_img_ref, rtol=0, atol=1e-9)
    c, c_img = cider_d([h.split() for h in hyps], [[r.split() for r in rs] for rs in refs])
    assert c == pytest.approx(c_ref, abs=1e-9)
    np.testing.assert_allclose(c_img, c_img_ref, rtol=0, atol=1e-9)


def test_real_coco_tokens_without_java(caption_records):
    """Real captions, simply tokenized (lower-case split): the scorers agree whatever the tokenizer."""
    hyps = [r["prediction"].lower() for r in caption_records]
    refs = [[x.lower().replace(".", " ").strip() for x in r["references"]] for r in caption_records]
    hyps = [" ".join(h.split()) for h in hyps]
    refs = [[" ".join(x.split()) for x in rs] for rs in refs]
    (b_ref, b_img_ref), (r_ref, r_img_ref), (c_ref, c_img_ref) = _reference(hyps, refs)
    b, b_img = bleu([h.split() for h in hyps], [[r.split() for r in rs] for rs in refs])
    assert np.max(np.abs(b - b_ref)) <= 1e-9 and np.max(np.abs(b_img - b_img_ref)) <= 1e-9
    r, r_img = rouge_l(hyps, refs)
    assert abs(r - r_ref) <= 1e-9 and np.max(np.abs(r_img - r_img_ref)) <= 1e-9
    c, c_img = cider_d([h.split() for h in hyps], [[r.split() for r in rs] for rs in refs])
    assert abs(c - c_ref) <= 1e-9 and np.max(np.abs(c_img - c_img_ref)) <= 1e-9


@settings(max_examples=100, deadline=None)
@given(corpus, st.randoms())
def test_corpus_scores_do_not_depend_on_image_order(data, rnd):
    hyps = [h.split() for h, _ in data]
    refs = [[r.split() for r in rs] for _, rs in data]
    order = list(range(len(data)))
    rnd.shuffle(order)
    b1, _ = bleu(hyps, refs)
    b2, _ = bleu([hyps[i] for i in order], [refs[i] for i in order])
    np.testing.assert_allclose(b1, b2, atol=1e-12)
    c1, s1 = cider_d(hyps, refs)
    c2, s2 = cider_d([hyps[i] for i in order], [refs[i] for i in order])
    assert c1 == pytest.approx(c2, abs=1e-12)
    np.testing.assert_allclose(s1[order], s2, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(corpus)
def test_bounds(data):
    hyps = [h.split() for h, _ in data]
    refs = [[r.split() for r in rs] for _, rs in data]
    b, b_img = bleu(hyps, refs)
    assert np.all((b >= 0) & (b <= 1 + 1e-12)) and np.all((b_img >= 0) & (b_img <= 1 + 1e-12))
    _, c_img = cider_d(hyps, refs)
    assert np.all(c_img >= 0)
    _, r_img = rouge_l([h for h, _ in data], [rs for _, rs in data])
    assert np.all((r_img >= 0) & (r_img <= 1))


def test_one_image_corpus_gives_cider_zero():
    c, scores = cider_d([["a", "dog"]], [[["a", "dog"], ["a", "dog", "runs"]]])
    assert c == 0.0 and scores.tolist() == [0.0]


@settings(max_examples=100, deadline=None)
@given(corpus)
def test_pair_keys_for_large_vocabularies_give_the_same_counts(data):
    """When a 4-gram's base-V digits do not fit one int64 (vocabularies over ~46,000 tokens), its key is a
    (first three tokens, last token) record; the counts are the same."""
    import vlmeval.metrics.ngrams as ng

    hyps = [h.split() for h, _ in data]
    refs = [[r.split() for r in rs] for _, rs in data]
    expected = bleu(hyps, refs), cider_d(hyps, refs)
    vocab = len({w for s in hyps + [r for rs in refs for r in rs] for w in s}) or 1
    saved = ng.MAX_EXACT_KEY
    try:
        ng.MAX_EXACT_KEY = vocab**3 + 1
        got = bleu(hyps, refs), cider_d(hyps, refs)
    finally:
        ng.MAX_EXACT_KEY = saved
    np.testing.assert_array_equal(got[0][1], expected[0][1])
    np.testing.assert_array_equal(got[1][1], expected[1][1])


@settings(max_examples=200, deadline=None)
@given(corpus)
def test_rouge_on_shared_tokens_equals_rouge_on_strings(data):
    """The caption task reuses BLEU's whitespace tokens for ROUGE-L, "" read as [""] and odd strings
    given ROUGE-L's own split(" ") tokens: the same scores as pycocoevalcap's reading of the strings."""
    from vlmeval.metrics.ngrams import caption_tokens
    from vlmeval.metrics.rouge import rouge_l_from_tokens
    from vlmeval.scoring.captions import _not_single_spaced

    hyps = [h.replace("x", "3\u00a01/2") for h, _ in data]  # a PTB fraction token holds a no-break space
    refs = [list(rs) for _, rs in data]
    flat = [r for rs in refs for r in rs]
    tokens = caption_tokens([h.split() for h in hyps], [[r.split() for r in rs] for rs in refs])
    texts = hyps + flat
    odd = {i: texts[i].split(" ") for i in _not_single_spaced(texts)}
    np.testing.assert_array_equal(
        rouge_l_from_tokens(tokens, empty_is_a_token=True, overrides=odd), rouge_l(hyps, refs)[1]
    )


def test_ngram_threads_end_with_the_count():
    """The sorting threads end with each count: METEOR forks its share only from a process with no other
    thread, so a pool left idle would silently keep every later chunk and evaluator call on one core."""
    import threading

    from vlmeval.metrics.ngrams import count_ngrams, encode_tokens

    before = threading.active_count()
    count_ngrams(encode_tokens([["a", "man", "riding", "a", "wave"], ["a", "dog"]]), parallel=True)
    assert threading.active_count() == before
