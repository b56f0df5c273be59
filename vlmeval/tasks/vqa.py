"""VQA: the official VQA accuracy (variants official-2021, official-2017, harness) with answer-type and
question-type breakdowns, exact match and token F1, and on request text metrics for free-form answers."""

from __future__ import annotations

from typing import Any

from vlmeval.io.qa import QAData
from vlmeval.metrics.registry import resolve
from vlmeval.metrics.vqa import VARIANTS, mean_percent, official_round, vqa_accuracy_per_question
from vlmeval.progress import QUIET, Progress
from vlmeval.report.report import Report
from vlmeval.report.signature import nrefs, signature
from vlmeval.tasks.qa import breakdown, common_metrics, qa_report, zero_missing
from vlmeval.tokenizers import DEFAULT_TOKENIZER

TASK = "vqa"
DEFAULT_KEYS = ["vqa_accuracy", "exact_match", "token_f1"]


def vqa_metrics(names: str | list[str] | None) -> list[str]:
    """Requested metric keys, the task's own metrics first."""
    keys = DEFAULT_KEYS if names is None else resolve(names, TASK)
    return [k for k in DEFAULT_KEYS if k in keys] + [k for k in keys if k not in DEFAULT_KEYS]


def evaluate_vqa(
    data: QAData,
    keys: list[str],
    *,
    variant: str = "official-2021",
    tokenizer: str = DEFAULT_TOKENIZER,
    progress: Progress = QUIET,
    failures: int = 0,
    options: dict[str, Any] | None = None,
    neural: Any = None,
) -> Report:
    metrics, shown, unit, sigs, warnings, java, corpus = common_metrics(
        data, keys, tokenizer=tokenizer, progress=progress, neural=neural
    )
    extra = {}
    aggregate = {
        "exact_match": lambda xs: 100 * sum(xs) / len(xs),
        "token_f1": lambda xs: 100 * sum(xs) / len(xs),
    }
    if "vqa_accuracy" in keys:
        with progress.step(f"VQA accuracy ({variant})"):
            acc = zero_missing(
                vqa_accuracy_per_question(data.predictions, data.answers, variant), data.answered
            )
        unrounded = mean_percent(acc)
        metrics["vqa_accuracy"] = official_round(unrounded)
        extra["vqa_accuracy_unrounded"] = unrounded
        unit["vqa_accuracy"] = acc
        shown["vqa_accuracy"] = [100 * a for a in acc]
        spec = VARIANTS[variant]
        sigs["vqa_accuracy"] = signature(
            "VQA-acc",
            {
                **spec.signature_fields(),
                "loo": "index",
                "round": "py2-2dp",
                "nrefs": nrefs([len(a) for a in data.answers]),
            },
        )
        sigs["vqa_accuracy_unrounded"] = sigs["vqa_accuracy"].replace("round:py2-2dp", "round:none")
        # per-type numbers as the script prints them: rounded means of the unrounded per-question scores
        aggregate["vqa_accuracy"] = lambda xs: official_round(mean_percent(xs))
    breakdowns = breakdown(data.groups, unit, aggregate)
    return qa_report(
        TASK, data, keys, metrics, shown, sigs, breakdowns, warnings,
        {"variant": variant, "tokenizer": tokenizer, "metrics": keys, **(options or {})},
        failures, java, extra, corpus,
    )  # fmt: skip
