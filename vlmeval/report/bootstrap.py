"""Confidence intervals and paired significance tests from per-sample sufficient statistics.

Every metric is written as a function of summed per-sample statistics ``X`` [samples, d]: a mean metric
has ``X = [value, 1]`` (a sample without a value, such as a grounding sample with no ground-truth box,
has ``[0, 0]``); BLEU has its clipped n-gram counts and lengths; precision/recall/F1 their match counts.
A resample is a row of sample multiplicities ``w``, and its score is ``g(w @ X)``, so a corpus metric is
recomputed on every resample rather than averaged. CIDEr-D is the exception with its own estimator: its
document frequencies are recomputed on every resample (``cider_scores(stats, weights)``).

Resampling and the tests follow sacrebleu's definitions (sacrebleu/significance.py): the resample indices
``rng.choice(n, (B, n))`` from ``numpy.random.default_rng(seed)``; the paired bootstrap p-value from the
centred absolute differences; approximate randomisation swapping each sample's statistics between the two
systems with probability 1/2; p = (count + 1) / (trials + 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

ALPHA = 0.05
BLOCK = 100  # resamples per block (bounded memory on large sets)
# randomisation trials per block: a multiple of 32, so that drawing block by block consumes the generator's
# bits exactly as one draw of them all (sacrebleu's) does (tested)
SELECTOR_BLOCK = 128

# How a metric's interval is estimated: the ``interval`` of its declaration in its task module.
INTERVALS = {
    "mean": "the mean of the per-sample values (NaN: not scored) on each resample",
    "sum": "the sum of the per-sample values (a count) on each resample",
    "bleu": "BLEU from the resampled n-gram statistics (the report's stats.bleu)",
    "prf": "precision/recall/F1 from the resampled match counts (the report's stats.matching)",
    "cider": "CIDEr-D with its document frequencies recomputed on each resample (the run's n-grams)",
    "coco": "COCOeval's accumulate/summarize on the resampled images (the run's per-image matching)",
    "none": "no interval",
}
RUNTIME = frozenset({"cider", "coco"})  # only the run itself holds what these resample


@dataclass
class Estimator:
    """A metric as a function of summed sufficient statistics."""

    stats: np.ndarray  # [samples, d]
    score: Callable[[np.ndarray], np.ndarray]  # [..., d] -> [...]

    def on_weights(self, weights: np.ndarray) -> np.ndarray:
        return self.score(weights @ self.stats)


def mean_estimator(values, transform: Callable[[np.ndarray], np.ndarray] | None = None) -> Estimator:
    x = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(x)
    stats = np.stack([np.where(present, x, 0.0), present.astype(np.float64)], axis=1)

    def score(s: np.ndarray) -> np.ndarray:
        # a resample that drew no scored sample has no mean (NaN: left out of the interval), not 0
        out = np.divide(s[..., 0], s[..., 1], out=np.full(s.shape[:-1], np.nan), where=s[..., 1] > 0)
        return transform(out) if transform is not None else out

    return Estimator(stats, score)


def bleu_estimator(bleu_stats: dict[str, list], n: int) -> Estimator:
    from vlmeval.metrics.bleu import _bleu

    correct = np.asarray(bleu_stats["correct"], dtype=np.float64).T
    guess = np.asarray(bleu_stats["guess"], dtype=np.float64).T
    testlen = np.asarray(bleu_stats["testlen"], dtype=np.float64)[:, None]
    reflen = np.asarray(bleu_stats["reflen"], dtype=np.float64)[:, None]
    orders = correct.shape[1]
    stats = np.concatenate([correct, guess, testlen, reflen], axis=1)

    def score(s: np.ndarray) -> np.ndarray:
        s2 = s.reshape(-1, s.shape[-1])
        out = _bleu(s2[:, :orders], s2[:, orders : 2 * orders], s2[:, 2 * orders], s2[:, 2 * orders + 1])
        return np.asarray(out).reshape(*s.shape[:-1], -1)[..., n - 1]

    return Estimator(stats, score)


def prf_estimator(matching: dict[str, list], which: str) -> Estimator:
    stats = np.stack(
        [np.asarray(matching[k], dtype=np.float64) for k in ("true_positives", "predicted", "ground_truth")],
        axis=1,
    )

    def score(s: np.ndarray) -> np.ndarray:
        tp, pred, gt = s[..., 0], s[..., 1], s[..., 2]
        p = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
        r = np.divide(tp, gt, out=np.zeros_like(tp), where=gt > 0)
        if which == "precision":
            return p
        if which == "recall":
            return r
        return np.divide(2 * p * r, p + r, out=np.zeros_like(tp), where=(p + r) > 0)

    return Estimator(stats, score)


def multiplicities(idx: np.ndarray, n: int) -> np.ndarray:
    """Rows of resample indices [B, n] -> sample multiplicities [B, n]."""
    offsets = (np.arange(len(idx)) * n)[:, None]
    return (
        np.bincount((idx + offsets).ravel(), minlength=len(idx) * n).reshape(len(idx), n).astype(np.float64)
    )


def percentile_interval(values: np.ndarray) -> list[float]:
    """The 95% percentile interval of the resamples that have a value (a mean over no scored sample has
    none); [0, 0] where none has, as the metric itself is then 0."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return [0.0, 0.0]
    low, high = np.percentile(values, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return [float(low), float(high)]


def resample_blocks(seed: int, n: int, resamples: int):
    """``default_rng(seed).choice(n, (resamples, n))``, sacrebleu's resamples, drawn ``BLOCK`` rows at a
    time: the same indices (the generator's integers come one after another), in bounded memory."""
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, BLOCK):
        yield rng.choice(n, size=(min(BLOCK, resamples - start), n), replace=True)


def selector_blocks(seed: int, n: int, trials: int):
    """``default_rng(seed).integers(2, (trials, n), dtype=bool)``, sacrebleu's randomisation draws,
    ``SELECTOR_BLOCK`` trials at a time (the same bits)."""
    rng = np.random.default_rng(seed)
    for start in range(0, trials, SELECTOR_BLOCK):
        yield rng.integers(2, size=(min(SELECTOR_BLOCK, trials - start), n), dtype=bool)


def bootstrap_scores(estimators: dict[str, Any], n: int, resamples: int, seed: int) -> dict[str, np.ndarray]:
    """Scores of every estimator on the same ``resamples`` resamples. An estimator is an ``Estimator`` or a
    callable taking one row of weights (CIDEr-D)."""
    out: dict[str, list[np.ndarray]] = {k: [] for k in estimators}
    for block in resample_blocks(seed, n, resamples):
        weights = multiplicities(block, n)
        for key, est in estimators.items():
            if isinstance(est, Estimator):
                out[key].append(np.asarray(est.on_weights(weights), dtype=np.float64))
            else:
                out[key].append(np.array([est(w) for w in weights], dtype=np.float64))
    return {k: np.concatenate(v) for k, v in out.items()}


def confidence_intervals(
    estimators: dict[str, Any], n: int, resamples: int, seed: int
) -> dict[str, list[float]]:
    return {k: percentile_interval(v) for k, v in bootstrap_scores(estimators, n, resamples, seed).items()}


def _p_value(stats: np.ndarray, real: float, scale: float) -> float:
    """sacrebleu's (c + 1) / (N + 1), c the statistics strictly above the real one. A statistic equal to it
    in exact arithmetic (a swap of samples that changes nothing) can come out a rounding error above it:
    within 1e-9 of the scores' scale it counts as equal, so that ties do not depend on summation order."""
    stats = stats[~np.isnan(stats)]
    return float((np.sum(stats > real + 1e-9 * scale) + 1) / (len(stats) + 1))


@dataclass
class PairedResult:
    base: float
    new: float
    delta: float
    ci: list[float]  # 95% interval of new - base over paired bootstrap resamples
    p_bootstrap: float
    p_randomization: float


def paired_tests(base: Estimator, new: Estimator, resamples: int, trials: int, seed: int) -> PairedResult:
    """sacrebleu's paired bootstrap (``resamples``) and approximate randomisation (``trials``) tests."""
    n = len(base.stats)
    if base.stats.shape == new.stats.shape and np.array_equal(base.stats, new.stats):
        # two runs identical on every sample: no evidence of a difference (sacrebleu's formula would give
        # 1/(N+1), which reads as significant)
        value = float(base.on_weights(np.ones((1, n)))[0])
        return PairedResult(value, value, 0.0, [0.0, 0.0], 1.0, 1.0)
    ones = np.ones((1, n))
    b_score = float(base.on_weights(ones)[0])
    n_score = float(new.on_weights(ones)[0])
    if np.isnan(b_score) or np.isnan(n_score):  # an undefined side (CHAIR_i without objects): no test either
        return PairedResult(b_score, n_score, math.nan, [math.nan, math.nan], math.nan, math.nan)
    diff = abs(b_score - n_score)
    b_s, n_s = [], []
    for block in resample_blocks(seed, n, resamples):
        weights = multiplicities(block, n)
        b_s.append(base.on_weights(weights))
        n_s.append(new.on_weights(weights))
    bs_base, bs_new = np.concatenate(b_s), np.concatenate(n_s)
    sample_diffs = np.abs(bs_new - bs_base)
    scale = max(abs(b_score), abs(n_score), np.finfo(float).tiny)
    p_bs = _p_value(sample_diffs - np.nanmean(sample_diffs), diff, scale) if not np.isnan(sample_diffs).all() else 1.0

    a_s, c_s = [], []
    for selectors in selector_blocks(seed, n, trials):
        pos = selectors.astype(np.float64)
        neg = 1.0 - pos
        a_s.append(base.score(pos @ base.stats + neg @ new.stats))
        c_s.append(base.score(neg @ base.stats + pos @ new.stats))
    p_ar = _p_value(np.abs(np.concatenate(a_s) - np.concatenate(c_s)), diff, scale)
    return PairedResult(
        b_score, n_score, n_score - b_score, percentile_interval(bs_new - bs_base), p_bs, p_ar
    )


def ids_key(key: str, per_sample: dict[str, Any]) -> str:
    """The per-sample id list a metric's values follow (retrieval's second direction has its own)."""
    for prefix in ("t2i_", "i2t_"):
        if key.startswith(prefix) and f"{prefix}ids" in per_sample:
            return f"{prefix}ids"
    return "ids"


def _per_sample_mean(report, key: str, group: str, total: bool = False) -> Estimator | None:
    values = report.per_sample.get(key)
    if not isinstance(values, list) or len(values) != len(report.per_sample.get(group, [])):
        return None
    est = mean_estimator([np.nan if v is None else v for v in values])
    return Estimator(est.stats, lambda s: s[..., 0]) if total else est  # a count: the sum


def _scaled(est: Estimator | None, factor: float) -> Estimator | None:
    if est is None or factor == 1:
        return est
    score = est.score
    return Estimator(est.stats, lambda s: factor * score(s))


def _from_report(kind: str, report, key: str, group: str, arg: Any, proxies: bool) -> Estimator | None:
    """An estimator from what the report keeps; None where it keeps too little for the metric's definition.
    ``proxies``: CIDEr-D as the mean of its per-image scores (the IDF not resampled), for compare."""
    if ":" in kind:  # a task's own estimator, named by its builder
        import importlib

        module, _, function = kind.partition(":")
        return getattr(importlib.import_module(module), function)(report, key, arg)
    if kind == "bleu":
        return bleu_estimator(report.stats["bleu"], arg) if "bleu" in report.stats else None
    if kind == "prf":
        est = prf_estimator(report.stats["matching"], arg) if "matching" in report.stats else None
        return _scaled(est, 100.0 if report.scale.get(key) == "0-100" else 1.0)
    if kind in ("mean", "sum") or (kind == "cider" and proxies):
        return _per_sample_mean(report, key, group, total=kind == "sum")
    return None  # "meteor", "coco", "cider": only the run itself can resample them; "none": never


def estimators_for(
    report, runtime: dict[str, Any] | None = None, *, proxies: bool = False
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Estimators per sample set (keyed by its id list), and the metrics that get none. ``runtime``: the
    estimators a run has beyond its report (CIDEr-D's n-grams, the METEOR jar, COCOeval's matching); each
    metric's declared interval kind says how the others are estimated."""
    from vlmeval.tasks import find_task

    task = find_task(report.task)
    groups: dict[str, dict[str, Any]] = {}
    missing = []
    for key in report.metrics:
        metric = task.metric_for(key) if task is not None else None
        group = metric.samples if metric is not None and metric.samples else ids_key(key, report.per_sample)
        est: Any = (runtime or {}).get(key)
        if est is None:
            kind = metric.interval if metric is not None else "mean"
            est = _from_report(kind, report, key, group, metric.arg if metric is not None else None, proxies)
        if est is None:
            missing.append(key)
        else:
            groups.setdefault(group, {})[key] = est
    return groups, missing


def add_intervals(report, resamples: int, seed: int, runtime: dict[str, Any] | None = None) -> None:
    """``report.ci`` for every metric that has an estimator; the signature records how."""
    from vlmeval import __version__


    groups, missing = estimators_for(report, runtime)
    undefined = [k for k, v in report.metrics.items() if v is None or (isinstance(v, float) and math.isnan(v))]
    for group, estimators in groups.items():
        n = len(report.per_sample[group])
        # a metric with no value (CHAIR_i where no caption names an object) has no interval either
        estimators = {k: e for k, e in estimators.items() if k not in undefined}
        if n == 0 or not estimators:
            continue
        report.ci.update(confidence_intervals(estimators, n, resamples, seed))
    without = [k for k in undefined if any(k in e for e in groups.values())]
    if without:
        report.warnings.append(f"no bootstrap interval for {', '.join(without)}: the metric itself is undefined on these samples")
    tag = f"|ci:pct95-bs{resamples}-seed{seed}|v:{__version__}"
    for key in report.ci:
        if key in report.signature:
            report.signature[key] = report.signature[key].replace(f"|v:{__version__}", tag)
    if missing:
        report.warnings.append(
            f"no bootstrap interval for {', '.join(missing)} (not recomputable from per-sample statistics)"
        )
    report.options["bootstrap"] = resamples
    report.options["seed"] = seed
