"""Runs and checkpoints side by side, and the modality ablation: pure functions over loaded reports, so that
``vlmeval compare`` and the Python API give the same numbers.

``compare_runs(reports, ...)`` -> ``RunComparison`` (schema ``vlmeval.runs/1``): the runs in step order when
every report has a numeric ``meta.step`` (else as given), each metric with its 95% interval; per metric the
best run and the paired p-value against the runner-up; for a series of checkpoints, the peak and whether the
last checkpoint is significantly worse than it (the overfitting signal); ``--max-drop`` gates the newest run
against the best earlier one. ``blind_gain(full, blind, ...)`` -> ``BlindComparison`` (schema
``vlmeval.blind/1``): what withholding the image costs each metric.

The paired tests are ``compare.py``'s (sacrebleu's paired bootstrap and approximate randomisation), on the
samples every run has, in the first run's order.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from vlmeval.errors import VlmevalError
from vlmeval.report.bootstrap import PairedResult, confidence_intervals, estimators_for, paired_tests
from vlmeval.report.compare import (
    CIDER_NOTE,
    P_KEYS,
    SIGNIFICANCE,
    Settings,
    align,
    check_comparable,
    drop_gate,
    paired_row,
    parse_max_drop,
)

RUNS_SCHEMA = "vlmeval.runs/1"
BLIND_SCHEMA = "vlmeval.blind/1"


@dataclass
class Run:
    label: str
    path: str | None
    meta: dict[str, Any]
    metrics: dict[str, dict[str, Any]]  # key -> {"value", "ci", "ci_source": "report" | "bootstrap" | None}

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "path": self.path, "meta": self.meta, "metrics": self.metrics}


@dataclass
class RunComparison:
    task: str
    runs: list[Run]
    order: str  # "step": by meta.step; "given": as the reports were given
    scale: dict[str, str]
    best: dict[str, dict[str, Any]]
    peak: dict[str, dict[str, Any]] | None  # None unless every run has its own step
    shared: dict[str, int]
    settings: Settings
    warnings: list[str] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": RUNS_SCHEMA, "task": self.task, **self.settings.recorded(), "order": self.order,
            "shared": self.shared, "scale": self.scale, "runs": [run.to_dict() for run in self.runs],
            "best": self.best, "peak": self.peak, "gates": self.gates, "warnings": self.warnings,
        }  # fmt: skip

    def meta_columns(self) -> list[str]:
        """The meta keys whose values differ between the runs (a key some runs lack differs); ``run`` is the
        label already."""
        keys = dict.fromkeys(k for run in self.runs for k in run.meta if k != "run")
        return [k for k in keys if len({repr(run.meta.get(k)) for run in self.runs}) > 1]


@dataclass
class BlindComparison:
    task: str
    full: Run
    blind: Run
    primary: str | None  # the metric whose gain decides the warning
    gain: dict[str, dict[str, Any]]  # metric -> delta (what the image adds), ci, p, significant
    shared: dict[str, int]
    settings: Settings
    warnings: list[str] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)  # none: a blind comparison gates nothing

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": BLIND_SCHEMA, "task": self.task, **self.settings.recorded(), "shared": self.shared,
            "full": self.full.to_dict(), "blind": self.blind.to_dict(), "primary": self.primary,
            "multimodal_gain": self.gain, "warnings": self.warnings,
        }  # fmt: skip


def comparison_kind(count: int, *, runs: bool = False, blind: bool = False, gated: bool = False,
                    html: bool = False) -> str:  # fmt: skip
    """What ``vlmeval compare`` makes of ``count`` reports: "blind" (FULL --blind BLIND), "runs" (three or
    more, or two with --runs) or "pair" (BASE NEW, schema vlmeval.compare/1)."""
    if blind:
        if count != 1:
            raise VlmevalError("--blind takes one FULL report: vlmeval compare FULL.json --blind BLIND.json")
        if runs or gated or html:
            raise VlmevalError(
                "--blind compares one run with its blind twin: --runs, --max-drop and --html do not apply"
            )
        return "blind"
    if count < 2:
        raise VlmevalError("compare takes two reports or more (or one with --blind BLIND.json)")
    if count > 2 or runs:
        return "runs"
    if html:
        raise VlmevalError("--html draws a series of runs: give three reports or more, or --runs")
    return "pair"


def run_labels(reports: list, names: list[str]) -> list[str]:
    """``meta.run`` where a report has one, else its file name without ``.json``/``.json.gz`` (a checkpoint
    series shares one ``meta.model``, so the model cannot tell its runs apart). A file-name label two runs
    would share becomes the path as given; a label still shared (also a shared ``meta.run``) gets ``#position``."""

    def stem(name: str) -> str:
        base = Path(name).name
        for suffix in (".json.gz", ".json"):
            if base.endswith(suffix) and len(base) > len(suffix):
                return base[: -len(suffix)]
        return base

    labels = [str(r.meta["run"]) if "run" in r.meta else stem(n) for r, n in zip(reports, names)]
    seen = Counter(labels)
    labels = [name if seen[lab] > 1 and "run" not in r.meta else lab for lab, r, name in zip(labels, reports, names)]
    seen = Counter(labels)
    return [f"{lab} #{i + 1}" if seen[lab] > 1 else lab for i, lab in enumerate(labels)]


def _steps(reports: list) -> list[float] | None:
    steps = [r.meta.get("step") for r in reports]
    numeric = all(isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) for s in steps)
    return steps if numeric else None


def _value(report, key: str) -> float | None:
    value = report.metrics.get(key)
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _run(report, label: str, path: str | None, keys: list[str], resamples: int, seed: int) -> Run:
    """A run with each metric's interval: the report's own ``ci``, else a percentile bootstrap over its own
    per-sample statistics (``resamples``, ``seed``); none where it keeps none."""
    intervals: dict[str, tuple[list[float], str]] = {}
    for key in keys:
        interval = report.ci.get(key)
        if interval is not None and all(isinstance(v, (int, float)) for v in interval):
            intervals[key] = (interval, "report")
    groups, _ = estimators_for(report, proxies=True)
    for group, estimators in groups.items():
        wanted = {k: est for k, est in estimators.items() if k in keys and k not in intervals}
        n = len(report.per_sample[group])
        if wanted and n:
            for key, interval in confidence_intervals(wanted, n, resamples, seed).items():
                intervals[key] = (interval, "bootstrap")
    metrics = {}
    for key in keys:
        interval, source = intervals.get(key, (None, None))
        metrics[key] = {"value": _value(report, key), "ci": interval, "ci_source": source}
    return Run(label, path, dict(report.meta), metrics)


def _ranked(values: list[float | None], higher: bool) -> list[int]:
    """Indices of the values from best to worst (ties: the earlier run first); missing values left out."""
    present = [i for i, v in enumerate(values) if v is not None]
    return sorted(present, key=lambda i: -values[i] if higher else values[i])  # type: ignore[operator]


def _tested(result: PairedResult | None, test: str) -> dict[str, Any]:
    """A paired test's delta (new - base), interval and p-values; ``p`` is ``test``'s."""
    if result is None:  # no per-sample statistics: known by value only
        return {"delta": None, "ci": None, "p": None}
    row = {k: v for k, v in paired_row(result).items() if k not in ("base", "new")}
    return {**row, "p": row[P_KEYS[test]]}


def _oriented(result: PairedResult, higher: bool) -> tuple[float, list[float]]:
    """``new - base`` and its interval, signed so that a positive number is an improvement."""
    sign = 1.0 if higher else -1.0
    return sign * result.delta, sorted(sign * c for c in result.ci)


def _sample_warnings(aligned, labels: list[str]) -> list[str]:
    warnings = []
    for group, count in aligned.shared.items():
        sizes = aligned.sizes[group]
        if count < max(sizes):
            each = ", ".join(f"{size} in {label}" for size, label in zip(sizes, labels))
            warnings.append(f"compared on the {count} samples all {len(labels)} runs have ({each})")
    return warnings


def compare_runs(reports: list, paths: list | None = None, *, max_drops: list[str] | None = None,
                 **settings: Any) -> RunComparison:  # fmt: skip
    """Two reports or more of one task as runs or checkpoints (``paths``: where each came from, for labels;
    ``settings``: ``compare_reports``'s keywords, see ``compare.Settings``).

    - best: per metric the run with the best value (higher or lower is better by the task's declaration;
      a tie goes to the earlier run), with ``test``'s paired p-value against the runner-up.
    - peak (every run has a distinct ``meta.step``): the best checkpoint, tested against the last one:
      ``declined`` when the last is worse with p < 0.05. The last, not each later checkpoint: one test per
      metric (no multiple-comparison inflation), and the question is where training ended up; a dip that
      recovers is no decline.
    - ``max_drops`` (``METRIC=DELTA``): a gate failing when the newest run is worse than the best earlier
      run by more than DELTA with p < 0.05.
    """
    if len(reports) < 2:
        raise VlmevalError("a run comparison needs two reports or more")
    options = Settings(**settings)
    resamples, trials, seed, test = options.resamples, options.trials, options.seed, options.test
    names = [str(p) for p in paths] if paths is not None else [f"run {i + 1}" for i in range(len(reports))]
    warnings = check_comparable(reports, options.force)
    steps = _steps(reports)
    if steps is None and any("step" in r.meta for r in reports):
        warnings.append("ordered as given: not every report has a numeric meta.step")
    order = sorted(range(len(reports)), key=lambda i: steps[i]) if steps else list(range(len(reports)))
    reports = [reports[i] for i in order]
    names = [names[i] for i in order]
    steps = [steps[i] for i in order] if steps else None
    labels = run_labels(reports, names)
    first = reports[0]
    keys = [k for k in first.metrics if all(k in r.metrics for r in reports[1:])]
    left_out = [k for r in reports for k in r.metrics if k not in keys]
    if left_out:
        warnings.append(f"left out: {', '.join(dict.fromkeys(left_out))} (not in every report)")
    aligned = align(reports)
    if "CIDEr" in keys:
        warnings.append(CIDER_NOTE)
    warnings += _sample_warnings(aligned, labels)
    if aligned.untested:
        warnings.append(
            f"not tested: {', '.join(aligned.untested)} (no per-sample statistics in the reports): best and "
            "peak by value only"
        )
    runs = [
        _run(r, label, None if paths is None else name, keys, resamples, seed)
        for r, label, name in zip(reports, labels, names)
    ]

    @cache
    def paired(key: str, base: int, new: int) -> PairedResult | None:
        estimators = aligned.estimators.get(key)
        if estimators is None:
            return None
        return paired_tests(estimators[base], estimators[new], resamples, trials, seed)

    from vlmeval.tasks import higher_is_better

    best: dict[str, dict[str, Any]] = {}
    peak: dict[str, dict[str, Any]] | None = {} if steps else None
    if steps and len(set(steps)) < len(steps):
        repeated = sorted({s for s in steps if steps.count(s) > 1})
        listed = ", ".join(f"{s:g}" for s in repeated)
        warnings.append(f"steps repeat ({listed}): no peak, the runs are not one series of checkpoints")
        peak = None
    for key in keys:
        higher = higher_is_better(first.task, key)
        values = [run.metrics[key]["value"] for run in runs]
        ranked = _ranked(values, higher)
        if not ranked:
            continue
        top = ranked[0]
        best[key] = {"run": labels[top], "value": values[top]}
        if len(ranked) > 1:
            second = ranked[1]
            best[key].update(runner_up=labels[second], runner_up_value=values[second])
            best[key].update(_tested(paired(key, second, top), test))
        if peak is not None:
            last = len(runs) - 1
            peak[key] = _peak(top, values, labels, steps, None if top == last else paired(key, top, last), higher, test)
    values = {key: [run.metrics[key]["value"] for run in runs] for key in keys}
    gates = [_series_gate(spec, first.task, aligned, values, labels, paired, test) for spec in max_drops or []]
    scale = {k: first.scale.get(k, "") for k in keys}
    return RunComparison(first.task, runs, "step" if steps else "given", scale, best, peak, aligned.shared,
                         options, warnings, gates)  # fmt: skip


def _peak(top, values, labels, steps, result, higher, test) -> dict[str, Any]:
    """The peak checkpoint ``top`` and its decline to the last one (``result``: the paired test of the last
    against the peak)."""
    last = len(values) - 1
    entry = {"label": labels[top], "step": steps[top], "value": values[top], "last": labels[last],
             "last_step": steps[last]}  # fmt: skip
    if top == last:
        return {**entry, "drop": 0.0, "drop_ci": None, "p_decline": None, "declined": False}
    if result is None or values[last] is None:  # untested: no verdict
        drop = None if values[last] is None else (values[top] - values[last]) * (1 if higher else -1)
        return {**entry, "drop": drop, "drop_ci": None, "p_decline": None, "declined": None}
    gain, gain_ci = _oriented(result, higher)  # last - peak, positive when the last is better
    p = _tested(result, test)["p"]
    return {**entry, "drop": -gain, "drop_ci": sorted(-c for c in gain_ci), "p_decline": p,
            "declined": -gain > 0 and p < SIGNIFICANCE}  # fmt: skip


def _series_gate(spec, task, aligned, values, labels, paired, test) -> dict[str, Any]:
    """``--max-drop`` on a series: the newest run (the last in order) against the best earlier one."""
    from vlmeval.tasks import higher_is_better

    key, max_drop = parse_max_drop(spec, list(aligned.estimators))
    newest = len(labels) - 1
    earlier = _ranked(values[key][:newest], higher_is_better(task, key))
    if not earlier or values[key][newest] is None:
        raise VlmevalError(f"cannot gate on {key}: the newest run or every run before it has no value for it")
    result = paired(key, earlier[0], newest)
    gate = drop_gate(task, key, max_drop, result.delta, _tested(result, test)["p"])
    return {**gate, "run": labels[newest], "against": labels[earlier[0]]}


def blind_gain(full, blind, paths: list | None = None, **settings: Any) -> BlindComparison:
    """The modality ablation: ``full`` scored with the images, ``blind`` the same model with the image
    withheld or blanked. Per metric the gain the image brings (full - blind; blind - full for a
    lower-is-better metric), its paired 95% interval and p-value; significant when positive with p < 0.05.
    A warning says the model may be ignoring the image when the primary metric's gain is not significant."""
    from vlmeval.tasks import higher_is_better, primary_metric

    options = Settings(**settings)
    names = [str(p) for p in paths] if paths is not None else ["full", "blind"]
    warnings = check_comparable([full, blind], options.force)
    aligned = align([full, blind])
    labels = run_labels([full, blind], names)
    warnings += _sample_warnings(aligned, labels)
    if not aligned.estimators:
        raise VlmevalError("no metric of these reports can be tested: they keep no per-sample statistics")
    if aligned.untested:
        warnings.append(f"not compared: {', '.join(aligned.untested)} (no per-sample statistics in the reports)")
    gain = {}
    for key, (with_image, without) in aligned.estimators.items():
        result = paired_tests(without, with_image, options.resamples, options.trials, options.seed)
        delta, interval = _oriented(result, higher_is_better(full.task, key))
        tested = _tested(result, options.test)
        gain[key] = {"full": result.new, "blind": result.base, **tested, "delta": delta, "ci": interval,
                     "significant": delta > 0 and tested["p"] < SIGNIFICANCE}  # fmt: skip
    primary = primary_metric(full.task, gain)
    row = gain[primary]
    if not row["significant"]:
        warnings.append(
            f"the multimodal gain on {primary} is not significant ({row['delta']:+.4g}, 95% CI "
            f"[{row['ci'][0]:+.4g}, {row['ci'][1]:+.4g}], p={row['p']:.3g}): the model may be ignoring the image"
        )
    keys = [k for k in full.metrics if k in blind.metrics]
    runs = [_run(r, lab, None if paths is None else n, keys, options.resamples, options.seed)
            for r, lab, n in zip([full, blind], labels, names)]  # fmt: skip
    return BlindComparison(full.task, runs[0], runs[1], primary, gain, aligned.shared, options, warnings)
