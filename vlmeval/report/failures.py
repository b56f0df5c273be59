"""Failure cases: the K worst samples by the task's primary metric."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def worst_samples(
    ids: Sequence[str],
    scores: Sequence[float],
    predictions: Sequence[Any],
    references: Sequence[Any],
    k: int,
    *,
    higher_is_better: bool = True,
    extra: dict[str, Sequence[Any]] | None = None,
) -> list[dict[str, Any]]:
    """Rows ``{id, score, prediction, reference, ...}``, worst first; ties keep input order. Samples the
    metric did not score (NaN: no image, no ground-truth box) are not failures."""
    if k <= 0 or len(ids) == 0:
        return []
    values = np.asarray(scores, dtype=np.float64)
    key = np.where(np.isnan(values), np.inf, values if higher_is_better else -values)
    order = [i for i in np.argsort(key, kind="stable")[:k] if not np.isnan(values[i])]
    rows = []
    for i in order:
        row = {
            "id": ids[i],
            "score": float(values[i]),
            "prediction": predictions[i],
            "reference": references[i],
        }
        for name, column in (extra or {}).items():
            row[name] = column[i]
        rows.append(row)
    return rows
