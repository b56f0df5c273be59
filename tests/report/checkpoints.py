"""Checkpoint series from real data, for the run comparison, W&B step and series HTML tests: the 600 VQA v2
questions of fixtures/vqa/vqa_600.jsonl with their real model answers, some answers broken at each step.

A broken answer is another question's first human answer (one this question's annotators never gave): a
real VQA answer, only for the wrong image. The broken samples of a series are nested (a sample broken at a
share stays broken at any larger share), so a checkpoint that breaks more is worse sample by sample."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.conftest import FIXTURES, write_jsonl

VQA = FIXTURES / "vqa" / "vqa_600.jsonl"
PEAKED = {1: 0.20, 2: 0.10, 3: 0.0, 4: 0.04, 5: 0.08}  # share of answers broken at each step: peak at step 3
FLAT = 0.05  # each step breaks its own random 5%: no trend


def records() -> list[dict]:
    return [json.loads(line) for line in VQA.read_text(encoding="utf-8").splitlines() if line]


def _wrong(rows: list[dict], i: int) -> str:
    other = rows[(i + 7) % len(rows)]["answers"][0]
    return "" if other in rows[i]["answers"] else other


def broken(rows: list[dict], which: set[int]) -> list[dict]:
    return [{**r, "prediction": _wrong(rows, i) if i in which else r["prediction"]} for i, r in enumerate(rows)]


def prior_answers(rows: list[dict]) -> list[dict]:
    """A blind model: every question answered with the commonest first answer of its answer type (the
    language prior, computed from the data), as a model that never looks at the image answers."""
    from collections import Counter

    commonest = {}
    for kind in {r["answer_type"] for r in rows}:
        commonest[kind] = Counter(r["answers"][0] for r in rows if r["answer_type"] == kind).most_common(1)[0][0]
    return [{**r, "prediction": commonest[r["answer_type"]]} for r in rows]


def write_series(cli, folder: Path, name: str, shares: dict[int, float], *extra: str, seed: int = 5) -> list[Path]:
    """Score one checkpoint per step through the CLI (``--meta step=K``), breaking ``shares[K]`` of the
    answers (nested: one shuffled order for the whole series)."""
    rows = records()
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    return [
        score(cli, folder, f"{name}{step}", broken(rows, set(order[: round(share * len(rows))])), step, *extra)
        for step, share in shares.items()
    ]


def write_flat(cli, folder: Path, steps: int = 5) -> list[Path]:
    """Checkpoints that each break an independent random ``FLAT`` share: accuracy wanders, nothing declines."""
    rows = records()
    return [
        score(cli, folder, f"flat{step}", broken(rows, set(random.Random(100 + step).sample(range(len(rows)),
              round(FLAT * len(rows))))), step)
        for step in range(1, steps + 1)
    ]  # fmt: skip


def score(cli, folder: Path, name: str, rows: list[dict], step: int | None, *extra: str) -> Path:
    preds = write_jsonl(folder / f"{name}.jsonl", rows)
    out = folder / f"{name}.json"
    meta = ("--meta", f"step={step}") if step is not None else ()
    result = cli("vqa", preds, *meta, *extra, "--out", out, "--quiet", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return out
