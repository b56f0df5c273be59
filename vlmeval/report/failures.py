"""Failure cases: the K worst samples by the task's primary metric."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def worst_samples(
    ids: Sequence[str],
    scores: Sequence[float],
    columns: dict[str, Sequence[Any]],
    k: int,
    *,
    higher_is_better: bool = True,
) -> list[dict[str, Any]]:
    """Rows ``{id, score, <column>: value, ...}``, worst first; ties keep input order. Samples the metric did
    not score (NaN: no image, no ground-truth box) are not failures."""
    if k <= 0 or len(ids) == 0:
        return []
    values = np.asarray(scores, dtype=np.float64)
    key = np.where(np.isnan(values), np.inf, values if higher_is_better else -values)
    order = [i for i in np.argsort(key, kind="stable")[:k] if not np.isnan(values[i])]
    rows = []
    for i in order:
        row = {"id": ids[i], "score": float(values[i])}
        for name, column in columns.items():
            row[name] = column[i]
        rows.append(row)
    return rows
