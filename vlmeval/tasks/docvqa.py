"""DocVQA / InfographicVQA: ANLS as the RRC scorer computes it, exact match and token F1, breakdowns by
answer type, evidence and operation, and on request text metrics for free-form answers."""

from __future__ import annotations

from typing import Any

from vlmeval.io.qa import QAData
from vlmeval.metrics.registry import resolve
from vlmeval.progress import QUIET, Progress
from vlmeval.report.report import Report
from vlmeval.report.signature import nrefs, signature
from vlmeval.tasks.qa import breakdown, common_metrics, qa_report, zero_missing
from vlmeval.tokenizers import DEFAULT_TOKENIZER

TASK = "docvqa"
DEFAULT_KEYS = ["ANLS", "exact_match", "token_f1"]


def docvqa_metrics(names: str | list[str] | None) -> list[str]:
    """Requested metric keys, the task's own metrics first."""
    keys = DEFAULT_KEYS if names is None else resolve(names, TASK)
    return [k for k in DEFAULT_KEYS if k in keys] + [k for k in keys if k not in DEFAULT_KEYS]


def evaluate_docvqa(
    data: QAData,
    keys: list[str],
    *,
    threshold: float = 0.5,
    tokenizer: str = DEFAULT_TOKENIZER,
    progress: Progress = QUIET,
    failures: int = 0,
    options: dict[str, Any] | None = None,
    neural: Any = None,
) -> Report:
    metrics, shown, unit, sigs, warnings, java, corpus = common_metrics(
        data, keys, tokenizer=tokenizer, progress=progress, neural=neural
    )
    aggregate = {
        "exact_match": lambda xs: 100 * sum(xs) / len(xs),
        "token_f1": lambda xs: 100 * sum(xs) / len(xs),
    }
    if "ANLS" in keys:
        from vlmeval.metrics.anls import anls_per_question

        with progress.step("ANLS"):
            scores = zero_missing(
                anls_per_question(data.predictions, data.answers, threshold).tolist(), data.answered
            )
        # summed in question order, as the RRC script sums
        metrics["ANLS"] = float(sum(scores)) / len(scores) if scores else 0.0
        unit["ANLS"] = shown["ANLS"] = scores
        sigs["ANLS"] = signature(
            "ANLS",
            {"tau": f"{threshold:g}", "norm": "strip-lower-ws", "len": "raw-upper", "agg": "max-over-answers",
             "nrefs": nrefs([len(a) for a in data.answers]), "parity": "rrc-docvqa"},
        )  # fmt: skip
        aggregate["ANLS"] = lambda xs: float(sum(xs)) / len(xs)
    breakdowns = breakdown(data.groups, unit, aggregate)
    return qa_report(
        TASK, data, keys, metrics, shown, sigs, breakdowns, warnings,
        {"threshold": threshold, "tokenizer": tokenizer, "metrics": keys, **(options or {})},
        failures, java, None, corpus,
    )  # fmt: skip
