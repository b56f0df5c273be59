"""``vlmeval compare BASE.json NEW.json``: per metric, the delta, its paired-bootstrap interval, and the
p-values of sacrebleu's paired bootstrap and approximate randomisation tests, over the ids both runs share.
Everything comes from the reports' per-sample statistics: the inputs are not needed again. What any
comparison of runs needs (the task and signature checks, estimators aligned on the samples every report has,
the ``--max-drop`` gate) is here once; ``runs.py`` compares series of runs and the blind ablation with it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vlmeval.errors import VlmevalError
from vlmeval.report.bootstrap import Estimator, estimators_for, paired_tests

SIGNIFICANCE = 0.05


def _comparable(signature: str) -> str:
    """A signature without what does not change the number: the version, the interval settings, which of
    two implementations tested equal ran (METEOR's ``impl:py`` or ``impl:jar``), and what describes the
    samples rather than the method (the references per image, the image set, MME's subtasks, how many
    captions the tokenizer handed to the jar): compare pairs the samples by id, so two runs over
    overlapping sets compare on the samples they share."""
    signature = re.sub(r"\|(ci|v|impl|nrefs|imgs|imgs_sha256|subtasks):[^|]*", "", signature)
    return re.sub(r"(\|tok:[^|+~]*)(?:\+jar:\d+|~approx:\d+)", r"\1", signature)


def _subset(est: Estimator, rows: np.ndarray) -> Estimator:
    return Estimator(est.stats[rows], est.score)


@dataclass
class Comparison:
    task: str
    rows: dict[str, dict[str, Any]]
    shared: dict[str, int]
    test: str
    resamples: int
    trials: int
    seed: int
    warnings: list[str] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "vlmeval.compare/1", "task": self.task, "test": self.test, "resamples": self.resamples,
            "trials": self.trials, "seed": self.seed, "shared": self.shared, "metrics": self.rows,
            "gates": self.gates, "warnings": self.warnings,
        }  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """How a comparison of runs tests (``compare_reports``'s keywords): resamples and trials of the two
    paired tests, their seed, whether differing signatures are compared anyway, and whose p-value decides."""

    resamples: int = 1000
    trials: int = 10000
    seed: int = 12345
    force: bool = False
    test: str = "paired-bootstrap"

    def recorded(self) -> dict[str, Any]:
        """What the comparison's JSON records of them."""
        return {"test": self.test, "resamples": self.resamples, "trials": self.trials, "seed": self.seed}


PAIRED_TESTS = ("paired-bootstrap", "approx-randomization")
P_KEYS = {"paired-bootstrap": "p_paired_bootstrap", "approx-randomization": "p_approx_randomization"}
CIDER_NOTE = "CIDEr is compared on per-image scores with each run's own IDF (the IDF is not resampled)"


def check_settings(test: str, resamples: int, trials: int, seed: int) -> None:
    """A paired comparison's settings, checked before any work."""
    if test not in PAIRED_TESTS:
        raise VlmevalError(f"--test must be one of {', '.join(PAIRED_TESTS)}, got {test!r}")
    for flag, value in (("--bootstrap", resamples), ("--trials", trials)):
        if not 1 <= value <= 1_000_000:
            raise VlmevalError(f"{flag} must be in [1, 1000000], got {value}")
    if not 0 <= seed < 2**63:
        raise VlmevalError(f"--seed must be in [0, 2^63), got {seed}")


def check_comparable(reports: list, force: bool) -> list[str]:
    """One task, and every metric the first report shares with another signed alike (but for what does not
    change the number); with ``force`` a difference is a warning (returned), else an error."""
    first = reports[0]
    for other in reports[1:]:
        if other.task != first.task:
            raise VlmevalError(f"cannot compare a {first.task} report with a {other.task} report")
    differ = [(k, other) for other in reports[1:] for k in first.metrics if k in other.metrics
              and k in first.signature and k in other.signature
              and _comparable(first.signature[k]) != _comparable(other.signature[k])]  # fmt: skip
    if not differ:
        return []
    detail = "; ".join(f"{k}: {first.signature[k]} vs {other.signature[k]}" for k, other in differ[:3])
    if not force:
        raise VlmevalError(
            f"the reports' signatures differ, so their numbers are not comparable ({detail}); --force compares anyway"
        )
    return [f"signatures differ ({detail}); compared because of --force"]


@dataclass
class Aligned:
    """Every report's estimators restricted to the samples all the reports have, in the first report's order:
    row i of each is the same sample, as the paired tests need."""

    estimators: dict[str, list[Estimator]]  # metric -> one estimator per report
    shared: dict[str, int]  # id list -> how many samples all the reports have
    sizes: dict[str, list[int]]  # id list -> how many samples each report has
    untested: list[str]  # metrics every report has, without per-sample statistics to test them on
    groups: dict[str, str] = field(default_factory=dict)  # metric -> its id list

    def complete(self, key: str) -> bool:
        """Whether the metric is compared on every sample of every report."""
        group = self.groups[key]
        return all(size == self.shared[group] for size in self.sizes[group])


def align(reports: list) -> Aligned:
    found = [estimators_for(r, proxies=True) for r in reports]
    first, others = found[0][0], [groups for groups, _ in found[1:]]
    untested = [k for k in found[0][1] if all(k in r.metrics for r in reports[1:])]
    aligned = Aligned({}, {}, {}, untested)
    for group, estimators in first.items():
        if any(group not in groups for groups in others):
            continue
        ids = [str(i) for i in reports[0].per_sample[group]]
        indexes = [{str(i): j for j, i in enumerate(r.per_sample[group])} for r in reports[1:]]
        common = [(i, *(index[k] for index in indexes)) for i, k in enumerate(ids) if all(k in index for index in indexes)]
        if not common:
            raise VlmevalError(f"the {'two ' if len(reports) == 2 else ''}reports share no sample ids")
        rows = np.array(common).T  # [report, shared sample]
        aligned.shared[group] = len(common)
        aligned.sizes[group] = [len(ids), *(len(index) for index in indexes)]
        for key, est in estimators.items():
            if all(key in groups[group] for groups in others):
                each = [est, *(groups[group][key] for groups in others)]
                aligned.estimators[key] = [_subset(e, r) for e, r in zip(each, rows)]
                aligned.groups[key] = group
    return aligned


def paired_row(result) -> dict[str, Any]:
    return {
        "base": result.base, "new": result.new, "delta": result.delta, "ci": result.ci,
        "p_paired_bootstrap": result.p_bootstrap, "p_approx_randomization": result.p_randomization,
    }  # fmt: skip


def compare_reports(
    base,
    new,
    *,
    resamples: int = 1000,
    trials: int = 10000,
    seed: int = 12345,
    force: bool = False,
    test: str = "paired-bootstrap",
) -> Comparison:
    warnings = check_comparable([base, new], force)
    aligned = align([base, new])
    if "CIDEr" in base.metrics:
        warnings.append(CIDER_NOTE)
    for group, count in aligned.shared.items():
        sizes = aligned.sizes[group]
        if count < max(sizes):
            warnings.append(f"compared on the {count} samples both runs have ({sizes[0]} in BASE, {sizes[1]} in NEW)")
    rows = {
        key: paired_row(paired_tests(b, n, resamples, trials, seed)) for key, (b, n) in aligned.estimators.items()
    }
    for key, row in rows.items():
        if aligned.complete(key):  # on all the samples: each side's number as its report gives it (VQA's rounded)
            row["base"], row["new"] = _reported(base, key, row["base"]), _reported(new, key, row["new"])
    if aligned.untested:
        warnings.append(f"not compared: {', '.join(aligned.untested)} (no per-sample statistics in the reports)")
    return Comparison(base.task, rows, aligned.shared, test, resamples, trials, seed, warnings)


def _reported(report, key: str, estimated):
    value = report.metrics.get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else estimated


def parse_max_drop(spec: str, keys) -> tuple[str, float]:
    """``--max-drop METRIC=DELTA`` as (the metric's key among ``keys``, DELTA)."""
    name, sep, value = spec.partition("=")
    try:
        delta = float(value)
    except ValueError:
        raise VlmevalError(f"--max-drop takes METRIC=DELTA, got {spec!r}") from None
    if not sep or not math.isfinite(delta) or delta < 0:
        raise VlmevalError(f"--max-drop takes METRIC=DELTA with a finite DELTA >= 0, got {spec!r}")
    key = next((k for k in keys if k.lower() == name.strip().lower()), None)
    if key is None:
        raise VlmevalError(f"cannot gate on {name!r}: compared metrics are {', '.join(keys)}")
    return key, delta


def drop_gate(task: str, key: str, max_drop: float, delta: float, p: float) -> dict[str, Any]:
    """The gate on ``delta`` (new - base): failed when new is worse by more than ``max_drop`` and p < 0.05."""
    import math

    from vlmeval.tasks import higher_is_better

    if delta is None or not math.isfinite(delta):
        # no sample scored on both sides: nothing shows the new run is no worse, so the gate fails (as a
        # --min gate on a NaN metric does)
        return {"metric": key, "max_drop": max_drop, "drop": math.nan, "p": math.nan, "passed": False}
    worse_by = -delta if higher_is_better(task, key) else delta
    passed = not (worse_by > max_drop and p < SIGNIFICANCE)
    return {"metric": key, "max_drop": max_drop, "drop": worse_by, "p": p, "passed": passed}


def drop_gates(comparison: Comparison, max_drops: list[str] | None) -> None:
    """``--max-drop METRIC=DELTA``: fails when NEW is worse than BASE by more than DELTA and the difference
    is significant (p < 0.05 under the chosen test)."""
    for spec in max_drops or []:
        key, max_drop = parse_max_drop(spec, comparison.rows)
        row = comparison.rows[key]
        comparison.gates.append(drop_gate(comparison.task, key, max_drop, row["delta"], row[P_KEYS[comparison.test]]))


def failed_gates_note(gates: list[dict[str, Any]]) -> str | None:
    """The line saying which ``--max-drop`` gates failed, or None."""
    failed = [g for g in gates if not g["passed"]]
    if not failed:
        return None
    return "gate failed: " + ", ".join(
        (f"{g['metric']} has no sample scored in both runs (the drop cannot be measured)" if g["drop"] != g["drop"]
         else f"{g['metric']} dropped {g['drop']:.4g}" + (f" from {g['against']} to {g['run']}" if "run" in g else "")
         + f" (max {g['max_drop']:g}, p={g['p']:.3g})")
        for g in failed
    )  # fmt: skip
