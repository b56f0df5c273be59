"""``vlmeval compare BASE.json NEW.json``: per metric, the delta, its paired-bootstrap interval, and the
p-values of sacrebleu's paired bootstrap and approximate randomisation tests, over the ids both runs share.
Everything comes from the reports' per-sample statistics: the inputs are not needed again."""

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
    """A signature without what does not change the number: the version and the interval settings."""
    return re.sub(r"\|(ci:[^|]*|v:[^|]*)", "", signature)


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
    if base.task != new.task:
        raise VlmevalError(f"cannot compare a {base.task} report with a {new.task} report")
    warnings: list[str] = []
    differ = [k for k in base.metrics if k in new.metrics and k in base.signature and k in new.signature
              and _comparable(base.signature[k]) != _comparable(new.signature[k])]  # fmt: skip
    if differ:
        detail = "; ".join(f"{k}: {base.signature[k]} vs {new.signature[k]}" for k in differ[:3])
        if not force:
            raise VlmevalError(
                f"the reports' signatures differ, so their numbers are not comparable ({detail}); --force compares anyway"
            )
        warnings.append(f"signatures differ ({detail}); compared because of --force")
    base_groups, base_missing = estimators_for(base, proxies=True)
    new_groups, _ = estimators_for(new, proxies=True)
    if "CIDEr" in base.metrics:
        warnings.append(
            "CIDEr is compared on per-image scores with each run's own IDF (the IDF is not resampled)"
        )
    rows: dict[str, dict[str, Any]] = {}
    shared: dict[str, int] = {}
    for group, estimators in base_groups.items():
        if group not in new_groups:
            continue
        base_ids = [str(i) for i in base.per_sample[group]]
        new_index = {str(i): j for j, i in enumerate(new.per_sample[group])}
        common = [(i, new_index[k]) for i, k in enumerate(base_ids) if k in new_index]
        if not common:
            raise VlmevalError("the two reports share no sample ids")
        if len(common) < len(base_ids) or len(common) < len(new_index):
            warnings.append(
                f"compared on the {len(common)} samples both runs have ({len(base_ids)} in BASE, {len(new_index)} in NEW)"
            )
        b_rows = np.array([c[0] for c in common])
        n_rows = np.array([c[1] for c in common])
        shared[group] = len(common)
        for key, est in estimators.items():
            if key not in new_groups[group]:
                continue
            result = paired_tests(
                _subset(est, b_rows), _subset(new_groups[group][key], n_rows), resamples, trials, seed
            )
            rows[key] = {
                "base": result.base, "new": result.new, "delta": result.delta, "ci": result.ci,
                "p_paired_bootstrap": result.p_bootstrap, "p_approx_randomization": result.p_randomization,
            }  # fmt: skip
    skipped = [k for k in base_missing if k in new.metrics]
    if skipped:
        warnings.append(f"not compared: {', '.join(skipped)} (no per-sample statistics in the reports)")
    return Comparison(base.task, rows, shared, test, resamples, trials, seed, warnings)


def drop_gates(comparison: Comparison, max_drops: list[str] | None) -> None:
    """``--max-drop METRIC=DELTA``: fails when NEW is worse than BASE by more than DELTA and the difference
    is significant (p < 0.05 under the chosen test)."""
    from vlmeval.tasks import higher_is_better

    for spec in max_drops or []:
        name, sep, value = spec.partition("=")
        try:
            delta = float(value)
        except ValueError:
            raise VlmevalError(f"--max-drop takes METRIC=DELTA, got {spec!r}") from None
        if not sep or not math.isfinite(delta) or delta < 0:
            raise VlmevalError(f"--max-drop takes METRIC=DELTA with a finite DELTA >= 0, got {spec!r}")
        key = next((k for k in comparison.rows if k.lower() == name.strip().lower()), None)
        if key is None:
            raise VlmevalError(f"cannot gate on {name!r}: compared metrics are {', '.join(comparison.rows)}")
        row = comparison.rows[key]
        worse_by = -row["delta"] if higher_is_better(comparison.task, key) else row["delta"]
        p = row["p_paired_bootstrap" if comparison.test == "paired-bootstrap" else "p_approx_randomization"]
        passed = not (worse_by > delta and p < SIGNIFICANCE)
        comparison.gates.append(
            {"metric": key, "max_drop": delta, "drop": worse_by, "p": p, "passed": passed}
        )
