"""What the benchmark scripts share."""

from __future__ import annotations

import time


def timed(fn):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def best_of_alternating(reference, ours, runs: int):
    """(reference seconds, our seconds, reference result, our result): the best of ``runs`` calls of each,
    alternating, since this machine's speed drifts between runs."""
    t_ref = t_ours = float("inf")
    for _ in range(runs):
        t, ref = timed(reference)
        t_ref = min(t_ref, t)
        t, mine = timed(ours)
        t_ours = min(t_ours, t)
    return t_ref, t_ours, ref, mine
