"""Intervals and paired tests: CIDEr-D and BLEU on resamples against pycocoevalcap run on the resampled
corpus itself (images duplicated), and the p-values against sacrebleu's own paired tests on the same
per-sample statistics and seed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import CAPTION_JSONL, requires_java
from tests.reference import quietly
from vlmeval.report.bootstrap import bleu_estimator, mean_estimator, multiplicities, paired_tests

pytest.importorskip("pycocoevalcap")


@pytest.fixture(scope="module")
def tokenized():
    from vlmeval.tokenizers import get_tokenizer

    rows = [json.loads(line) for line in CAPTION_JSONL.read_text().splitlines()][:200]
    refs_flat, hyps = get_tokenizer("ptb")(
        [[ref for r in rows for ref in r["references"]], [r["prediction"] for r in rows]]
    )
    refs, at = [], 0
    for r in rows:
        refs.append(refs_flat[at : at + len(r["references"])])
        at += len(r["references"])
    return hyps, refs


def _resampled_corpus(hyps, refs, idx):
    gts = {f"{k}": refs[i] for k, i in enumerate(idx)}
    res = {f"{k}": [hyps[i]] for k, i in enumerate(idx)}
    return gts, res


def test_cider_on_resamples_equals_pycocoevalcap_on_the_resampled_corpus(tokenized):
    from pycocoevalcap.cider.cider import Cider

    from vlmeval.metrics.cider import cider_corpus, cider_statistics
    from vlmeval.metrics.ngrams import caption_ngrams, caption_tokens

    hyps, refs = tokenized
    stats = cider_statistics(
        caption_ngrams(
            caption_tokens([h.split() for h in hyps], [[r.split() for r in rs] for rs in refs]), n=4
        )
    )
    rng = np.random.default_rng(3)
    idx = rng.choice(len(hyps), size=(3, len(hyps)), replace=True)
    weights = multiplicities(idx, len(hyps))
    for row, w in zip(idx, weights):
        gts, res = _resampled_corpus(hyps, refs, row)
        expected, _ = Cider().compute_score(gts, res)
        assert cider_corpus(stats, w) == pytest.approx(expected, abs=1e-9)


def test_bleu_on_resamples_equals_pycocoevalcap_on_the_resampled_corpus(tokenized):
    from pycocoevalcap.bleu.bleu import Bleu

    from tests.reference import quietly
    from vlmeval.metrics.bleu import bleu_statistics
    from vlmeval.metrics.ngrams import caption_ngrams, caption_tokens

    hyps, refs = tokenized
    s = bleu_statistics(
        caption_ngrams(
            caption_tokens([h.split() for h in hyps], [[r.split() for r in rs] for rs in refs]), n=4
        )
    )
    stats = {
        "correct": s.correct.T.tolist(),
        "guess": s.guess.T.tolist(),
        "testlen": s.testlen.tolist(),
        "reflen": s.reflen.tolist(),
    }
    rng = np.random.default_rng(4)
    idx = rng.choice(len(hyps), size=(3, len(hyps)), replace=True)
    weights = multiplicities(idx, len(hyps))
    for row, w in zip(idx, weights):
        gts, res = _resampled_corpus(hyps, refs, row)
        expected, _ = quietly(Bleu(4).compute_score, gts, res)
        for n in range(1, 5):
            assert float(bleu_estimator(stats, n).on_weights(w[None])[0]) == pytest.approx(
                expected[n - 1], abs=1e-12
            )


class _SacrebleuMetric:
    """The sacrebleu Metric interface its paired tests call, over given per-sample statistics."""

    def __init__(self, estimator, sys_stats):
        self.estimator, self.sys_stats = estimator, sys_stats

    def _extract_corpus_statistics(self, hypotheses, references):
        return self.sys_stats

    def _compute_score_from_stats(self, summed):
        from types import SimpleNamespace

        return SimpleNamespace(score=float(self.estimator.score(np.asarray(summed, dtype=np.float64))))

    def _aggregate_and_compute(self, stats):
        return self._compute_score_from_stats(np.asarray(stats, dtype=np.float64).sum(0))


def _sacrebleu_p(est_base, est_new, test, n_samples, seed):
    from types import SimpleNamespace

    from sacrebleu import significance

    metric = _SacrebleuMetric(est_new, est_new.stats)
    base_score = SimpleNamespace(score=float(est_base.score(est_base.stats.sum(0))))
    info = {"m": (est_base.stats, base_score)}
    fn = significance._paired_bs_test if test == "bs" else significance._paired_ar_test
    _, results = fn(
        info, "new", [None] * len(est_base.stats), None, {"m": metric}, n_samples=n_samples, seed=seed
    )
    return results["m"].p_value


def test_paired_tests_equal_sacrebleu_on_bleu_statistics(tokenized):
    from vlmeval.metrics.bleu import bleu_statistics
    from vlmeval.metrics.ngrams import caption_ngrams, caption_tokens

    hyps, refs = tokenized
    other = [rs[0] for rs in refs]  # a second "system": the first reference of each image, scored on the rest

    def stats_for(h, r):
        s = bleu_statistics(
            caption_ngrams(caption_tokens([x.split() for x in h], [[y.split() for y in rs] for rs in r]), n=4)
        )
        return {
            "correct": s.correct.T.tolist(),
            "guess": s.guess.T.tolist(),
            "testlen": s.testlen.tolist(),
            "reflen": s.reflen.tolist(),
        }

    base = bleu_estimator(stats_for(hyps, [rs[1:] for rs in refs]), 4)
    new = bleu_estimator(stats_for(other, [rs[1:] for rs in refs]), 4)
    ours = paired_tests(base, new, resamples=300, trials=500, seed=12345)
    assert ours.p_bootstrap == pytest.approx(_sacrebleu_p(base, new, "bs", 300, 12345), abs=1e-12)
    assert ours.p_randomization == pytest.approx(_sacrebleu_p(base, new, "ar", 500, 12345), abs=1e-12)


def test_paired_tests_equal_sacrebleu_on_a_mean_metric():
    rng = np.random.default_rng(8)
    a = rng.integers(0, 2, 400).astype(float)  # 0/1 accuracies: exact in sacrebleu's float32
    b = np.where(rng.random(400) < 0.15, 1 - a, a)
    base, new = mean_estimator(a), mean_estimator(b)
    ours = paired_tests(base, new, resamples=500, trials=1000, seed=7)
    assert ours.p_bootstrap == pytest.approx(_sacrebleu_p(base, new, "bs", 500, 7), abs=1e-12)
    assert ours.p_randomization == pytest.approx(_sacrebleu_p(base, new, "ar", 1000, 7), abs=1e-12)
    assert ours.delta == pytest.approx(b.mean() - a.mean())


@pytest.mark.parametrize("n", [1, 5, 7, 500, 501])
def test_block_draws_are_sacrebleus_one_draw(n):
    """Drawn block by block (bounded memory, any --bootstrap / --trials), the resamples and the swaps are
    the ones sacrebleu draws at once from the same seed."""
    from vlmeval.report.bootstrap import resample_blocks, selector_blocks

    for count in (1, 99, 250, 1001):
        whole = np.random.default_rng(12345).choice(n, size=(count, n), replace=True)
        assert (np.concatenate(list(resample_blocks(12345, n, count))) == whole).all()
        swaps = np.random.default_rng(12345).integers(2, size=(count, n), dtype=bool)
        assert (np.concatenate(list(selector_blocks(12345, n, count))) == swaps).all()


@pytest.mark.parametrize("value", [0.1, 1 / 3, 0.7, 1.0])
def test_a_tie_is_a_tie_whatever_the_rounding(value):
    """One sample differs: every swap gives |delta| equal to the real one in exact arithmetic. Rounding
    used to decide whether those ties counted (p 0.02, 0.998 or 0.0001 by the other samples' value)."""
    a = [value] * 10
    b = [value + 0.25] + [value] * 9
    result = paired_tests(mean_estimator(a), mean_estimator(b), resamples=1000, trials=10000, seed=12345)
    assert result.p_randomization == pytest.approx(1 / 10001)


def test_resamples_with_no_scored_sample_are_left_out_of_the_interval():
    """A mean over no sample is no value: such resamples do not pull the interval down to 0."""
    from vlmeval.report.bootstrap import confidence_intervals

    values = [0.646, 0.734] + [np.nan] * 8
    (low, high) = confidence_intervals({"m": mean_estimator(values)}, len(values), 1000, 12345)["m"]
    assert 0.646 <= low <= high <= 0.734


@requires_java
def test_meteor_resample_equals_pycocoevalcap_on_the_resampled_corpus(caption_records):
    """METEOR's interval: each resample's corpus score is the EVAL arithmetic over the resampled statistics
    lines (vlmeval's estimator on the jar's own SCORE lines), equal to pycocoevalcap's Meteor run on the
    resampled corpus itself (images copied under new ids)."""
    from pycocoevalcap.meteor.meteor import Meteor

    from vlmeval.metrics.meteor import MeteorStatistics, score_sums, summable
    from vlmeval.metrics.meteor_jar import MeteorJar
    from vlmeval.report.bootstrap import Estimator, multiplicities
    from vlmeval.tokenizers import get_tokenizer

    records = [r for r in caption_records[:80] if r["prediction"].strip()][:60]
    # PTB-tokenized, as COCOEvalCap feeds Meteor
    tokenize = get_tokenizer("ptb")
    hyps = tokenize([[r["prediction"] for r in records]])[0]
    flat = tokenize([[x for r in records for x in r["references"]]])[0]
    refs, start = [], 0
    for r in records:
        refs.append(flat[start : start + len(r["references"])])
        start += len(r["references"])
    with MeteorJar() as jar:
        _, _, stats = jar.score_with_stats(hyps, refs)
    estimator = Estimator(summable(MeteorStatistics.from_lines(stats)), score_sums)

    def estimate(weights):
        return float(estimator.on_weights(weights[None, :])[0])

    rng = np.random.default_rng(7)
    for _ in range(2):
        idx = rng.choice(len(records), size=len(records))
        weights = multiplicities(idx[None, :], len(records))[0]
        gts, res = {}, {}
        for i, k in enumerate(weights):
            for copy in range(int(k)):
                gts[f"{i}-{copy}"], res[f"{i}-{copy}"] = refs[i], [hyps[i]]
        expected, _ = quietly(Meteor().compute_score, gts, res)
        assert abs(estimate(weights) - expected) <= 1e-9
