"""What the VQA and DocVQA tasks share: exact match / token F1, free-form text metrics, breakdowns, the
report. The task modules (vqa.py, docvqa.py) add their headline metric."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from vlmeval.io.qa import QAData
from vlmeval.metrics.registry import scale_of
from vlmeval.progress import Progress
from vlmeval.report.failures import worst_samples
from vlmeval.report.report import Report, environment, package_version
from vlmeval.report.signature import nrefs, signature

CAPTION_KEYS = {
    "Bleu_1",
    "Bleu_2",
    "Bleu_3",
    "Bleu_4",
    "METEOR",
    "BERTScore_P",
    "BERTScore_R",
    "BERTScore_F1",
}
ROUGE_KEYS = {"ROUGE_1", "ROUGE_2", "ROUGE_L"}


def zero_missing(scores, answered: list[bool]) -> list[float]:
    """Questions without a prediction (``--allow-missing``) score 0."""
    return [float(s) if ok else 0.0 for s, ok in zip(scores, answered)]


def common_metrics(
    data: QAData, keys: list[str], *, tokenizer: str, progress: Progress, neural: Any = None
) -> tuple[
    dict[str, float],
    dict[str, list[float]],
    dict[str, list[float]],
    dict[str, str],
    list[str],
    str | None,
    dict[str, Any],
]:
    """exact_match, token_f1, BLEU/METEOR (COCO conventions, the answers as references) and ROUGE-1/2/L
    (rouge-score conventions). Returns metrics, per-sample scores on the metric's scale, per-sample scores
    in [0, 1] (for breakdowns), signatures, warnings, the Java version when Java ran, and what the bootstrap
    needs for corpus metrics (``{"stats": ..., "estimators": ...}``)."""
    metrics: dict[str, float] = {}
    shown: dict[str, list[float]] = {}
    unit: dict[str, list[float]] = {}
    sigs: dict[str, str] = {}
    warnings: list[str] = []
    java = None
    corpus: dict[str, Any] = {"stats": {}, "estimators": {}}
    refs = nrefs([len(a) for a in data.answers])
    if "exact_match" in keys or "token_f1" in keys:
        from vlmeval.metrics.squad import exact_match_and_f1

        em, f1 = exact_match_and_f1(data.predictions, data.answers)
        for key, values in (("exact_match", em), ("token_f1", f1)):
            if key in keys:
                values = zero_missing(values, data.answered)
                unit[key] = values
                shown[key] = [100 * v for v in values]
                metrics[key] = 100 * float(np.mean(values)) if values else 0.0
                sigs[key] = signature(
                    "EM" if key == "exact_match" else "F1",
                    {"norm": "squad-v1.1", "agg": "max-over-answers", "empty": "v1.1", "nrefs": refs},
                )
    if ROUGE_KEYS & set(keys):
        from vlmeval.metrics.rouge_score import rouge_n_l

        rouge = rouge_n_l(data.predictions, data.answers)
        for key in sorted(ROUGE_KEYS & set(keys)):
            values = zero_missing(rouge[key], data.answered)
            unit[key] = shown[key] = values
            metrics[key] = float(np.mean(values)) if values else 0.0
            sigs[key] = signature(
                key.replace("_", "-"),
                {
                    "f": "f1",
                    "tok": "rouge-score",
                    "stem": "no",
                    "multi": "max",
                    "nrefs": refs,
                    "parity": "rouge-score-0.1.2",
                },
            )
    caption_keys = [k for k in keys if k in CAPTION_KEYS]
    if caption_keys:
        from vlmeval.tasks.caption import score_captions

        scores = score_captions(
            data.predictions,
            data.answers,
            caption_keys,
            tokenizer=tokenizer,
            progress=progress,
            unit="answers",
            neural=neural,
        )
        warnings += scores.warnings
        java = scores.java
        # BLEU's per-answer statistics and METEOR's jar estimator: intervals of the corpus numbers
        corpus = {"stats": scores.stats, "estimators": scores.estimators}
        for key in caption_keys:
            if key in scores.metrics:
                values = zero_missing(scores.per_sample[key], data.answered)
                unit[key] = shown[key] = values
                # BLEU is a corpus statistic; missing predictions were scored as empty strings there
                metrics[key] = scores.metrics[key]
                sigs[key] = scores.signature[key]
    return metrics, shown, unit, sigs, warnings, java, corpus


def breakdown(
    groups: dict[str, list[list[str]]],
    unit: dict[str, list[float]],
    aggregate: dict[str, Callable[[list[float]], float]],
) -> dict[str, dict[str, dict[str, float]]]:
    """Per group value: the number of questions and each metric aggregated over them (a question with
    several values, as InfographicVQA's evidence lists, counts in each)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for group, values in groups.items():
        members: dict[str, list[int]] = {}
        for i, names in enumerate(values):
            for name in dict.fromkeys(names):
                members.setdefault(name, []).append(i)
        if not members:
            continue
        rows = {}
        for name in sorted(members):
            idx = members[name]
            row: dict[str, float] = {"count": len(idx)}
            for key, scores in unit.items():
                if key in aggregate:
                    row[key] = aggregate[key]([scores[i] for i in idx])
            rows[name] = row
        out[group] = rows
    return out


def qa_report(
    task: str,
    data: QAData,
    keys: list[str],
    metrics: dict[str, float],
    shown: dict[str, list[float]],
    sigs: dict[str, str],
    breakdowns: dict,
    warnings: list[str],
    options: dict[str, Any],
    failures: int,
    java: str | None,
    extra_metrics: dict[str, float] | None = None,
    corpus: dict[str, Any] | None = None,
) -> Report:
    ordered = {k: metrics[k] for k in keys if k in metrics}
    ordered.update(extra_metrics or {})
    report = Report(
        task=task,
        metrics=ordered,
        scale={k: scale_of(k) for k in ordered},
        signature={k: sigs[k] for k in ordered if k in sigs},
        counts=data.counts,
        per_sample={"ids": data.ids, **{k: shown[k] for k in keys if k in shown}},
        inputs=data.inputs,
        environment=environment(java=java, rapidfuzz=package_version("rapidfuzz")),
        breakdown=breakdowns,
        options=options,
        warnings=data.warnings + warnings,
        stats=(corpus or {}).get("stats", {}),
    )
    report.estimators = (corpus or {}).get("estimators", {})
    if failures and report.primary and report.primary in report.per_sample:
        report.failures = worst_samples(
            data.ids,
            report.per_sample[report.primary],
            data.predictions,
            data.answers,
            failures,
            extra={"question": data.questions},
        )
    return report
