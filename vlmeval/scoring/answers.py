"""What VQA and DocVQA share: exact match and token F1 (SQuAD v1.1), ROUGE-1/2/L (rouge-score), COCO text
metrics on free-form answers (the answers as references), BERTScore, per-group breakdowns, and the result.
The task modules add their headline metric (VQA accuracy, ANLS)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vlmeval.progress import Progress
from vlmeval.report.signature import nrefs, signature
from vlmeval.scoring.captions import BLEU, METEOR, METEOR_OPTION, TOKENIZER_OPTION
from vlmeval.scoring.model_metrics import BERTSCORE, BERTSCORE_OPTIONS, DEVICE_OPTIONS
from vlmeval.tasks.task import Metric, Option, Result

SQUAD = "SQuAD v1.1 normalisation"
EXACT_MATCH = Metric("exact_match", "0-100", SQUAD)
TOKEN_F1 = Metric("token_f1", "0-100", SQUAD)
ROUGE_SCORE = tuple(
    Metric(key, "0-1", reference, family="ROUGE", default=False)
    for key, reference in (
        ("ROUGE_L", "rouge-score 0.1.2 rougeL (F1)"),
        ("ROUGE_1", "rouge-score 0.1.2 (F1)"),
        ("ROUGE_2", "rouge-score 0.1.2 (F1)"),
    )
)
ROUGE_KEYS = tuple(m.key for m in ROUGE_SCORE)
# text metrics on request; the order is the order of --metrics' choices and of the report
TEXT_METRICS = (
    *(replace(m, default=False) for m in (*BLEU, METEOR)),
    ROUGE_SCORE[0],
    *BERTSCORE,
    *ROUGE_SCORE[1:],
)
CAPTION_PIPELINE_KEYS = tuple(m.key for m in (*BLEU, METEOR, *BERTSCORE))
TEXT_OPTIONS = (TOKENIZER_OPTION, METEOR_OPTION, *BERTSCORE_OPTIONS, *DEVICE_OPTIONS)


def allow_missing_option(what: str) -> Option:
    return Option("allow_missing", bool, False, f"Score questions without a prediction as {what} (counted).")


@dataclass
class AnswerScores:
    """Metrics on the answers: the result so far, and per-sample scores in [0, 1] for the breakdowns."""

    result: Result
    unit: dict[str, list[float]] = field(default_factory=dict)


def zero_missing(scores, answered: list[bool]) -> list[float]:
    """Questions without a prediction (``--allow-missing``) score 0."""
    return [float(s) if ok else 0.0 for s, ok in zip(scores, answered)]


def score_answers(
    data, keys: list[str], *, tokenizer: str, progress: Progress, neural: Any = None, meteor: str = "py"
) -> AnswerScores:
    """exact_match, token_f1, BLEU/METEOR/BERTScore (COCO conventions, the answers as references) and
    ROUGE-1/2/L (rouge-score conventions), those of ``keys``. Per-sample values are on the metric's scale."""
    result = Result(metrics={}, per_sample={}, signature={}, counts={}, inputs=[])
    out = AnswerScores(result)
    metrics, shown, sigs, unit = result.metrics, result.per_sample, result.signature, out.unit
    refs = nrefs([len(a) for a in data.answers])
    if "exact_match" in keys or "token_f1" in keys:
        from vlmeval.metrics.squad import EMPTY_RULE, NORMALISATION, exact_match_and_f1

        em, f1 = exact_match_and_f1(data.predictions, data.answers)
        for key, values in (("exact_match", em), ("token_f1", f1)):
            if key in keys:
                values = zero_missing(values, data.answered)
                unit[key] = values
                shown[key] = [100 * v for v in values]
                metrics[key] = 100 * float(np.mean(values)) if values else 0.0
                sigs[key] = signature(
                    "EM" if key == "exact_match" else "F1",
                    {"norm": NORMALISATION, "agg": "max-over-answers", "empty": EMPTY_RULE, "nrefs": refs},
                )
    if set(ROUGE_KEYS) & set(keys):
        from vlmeval.metrics.rouge_score import rouge_n_l

        rouge = rouge_n_l(data.predictions, data.answers)
        for key in sorted(set(ROUGE_KEYS) & set(keys)):
            values = zero_missing(rouge[key], data.answered)
            unit[key] = shown[key] = values
            metrics[key] = float(np.mean(values)) if values else 0.0
            sigs[key] = rouge_score_signature(key, data.answers)
    pipeline_keys = [k for k in keys if k in CAPTION_PIPELINE_KEYS]
    if pipeline_keys:
        from vlmeval.scoring.captions import score_captions

        scores = score_captions(
            data.predictions,
            data.answers,
            pipeline_keys,
            tokenizer=tokenizer,
            progress=progress,
            unit="answers",
            neural=neural,
            meteor=meteor,
            window=data.window,
        )
        result.warnings += scores.warnings
        result.environment.update(scores.environment)
        # BLEU's per-answer statistics and METEOR's jar estimator: intervals of the corpus numbers
        result.stats, result.estimators = scores.stats, scores.estimators
        result.evidence.update(scores.evidence)  # a part of a sharded run: what the merge needs
        for key in pipeline_keys:
            if key in scores.metrics:
                values = zero_missing(scores.per_sample[key], data.answered)
                unit[key] = shown[key] = values
                # BLEU is a corpus statistic; missing predictions were scored as empty strings there
                metrics[key] = scores.metrics[key]
                sigs[key] = scores.signature[key]
    return out


def rouge_score_signature(key: str, references: list[list[str]]) -> str:
    from vlmeval.metrics.rouge_score import STEMMING, VERSION

    fields = {"f": "f1", "tok": "rouge-score", "stem": "yes" if STEMMING else "no", "multi": "max",
              "nrefs": nrefs([len(r) for r in references]), "parity": f"rouge-score-{VERSION}"}  # fmt: skip
    return signature(key.replace("_", "-"), fields)


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


def percent_mean(values: list[float]) -> float:
    return 100 * sum(values) / len(values)


def answer_result(
    data,
    keys: list[str],
    scores: AnswerScores,
    aggregate: dict[str, Callable[[list[float]], float]],
    options: dict[str, Any],
    extra_metrics: dict[str, float] | None = None,
) -> Result:
    """The task's result: metrics in the order of ``keys`` (then ``extra_metrics``), breakdowns by group."""
    result = scores.result
    ordered = {k: result.metrics[k] for k in keys if k in result.metrics}
    ordered.update(extra_metrics or {})
    per_sample = {"ids": data.ids, **{k: result.per_sample[k] for k in keys if k in result.per_sample}}
    from vlmeval.report.report import package_version

    return replace(
        result,
        metrics=ordered,
        per_sample=per_sample,
        signature={k: result.signature[k] for k in ordered if k in result.signature},
        counts=data.counts,
        inputs=data.inputs,
        options=options,
        breakdown=breakdown(data.groups, scores.unit, aggregate),
        warnings=data.warnings + result.warnings,
        environment={"java": result.environment.get("java"), "rapidfuzz": package_version("rapidfuzz")},
        columns={"prediction": data.predictions, "reference": data.answers, "question": data.questions},
        evidence={**result.evidence, "unit": lambda: scores.unit, "groups": lambda: data.groups},
    )


def size(data) -> tuple[str, int]:
    return "records", len(data.ids)


def take(data, start: int, stop: int):
    """Questions [start, stop), with their place in the whole input (the text metrics tokenize inside it)."""
    from vlmeval.shard import Window, take_rows

    part = take_rows(data, start, stop, "ids", "predictions", "answers", "answered", "questions")
    groups = {name: labels[start:stop] for name, labels in data.groups.items()}
    return replace(part, groups=groups, window=Window(start, data.predictions, data.answers))


def merge_answers(
    parts: list,
    task,
    aggregate: dict[str, Callable[[list[float]], float]],
    headline: Callable[[dict[str, list[float]]], dict[str, float]],
) -> Result:
    """VQA's and DocVQA's merge: means of the parts' per-question scores (``headline`` the task's own metric
    from them), the text metrics' corpus numbers from their statistics (``caption_merge``), breakdowns over
    all questions."""
    from vlmeval import shard
    from vlmeval.scoring.caption_merge import merge_pipeline
    from vlmeval.scoring.captions import CHUNK_IMAGES

    result = shard.base_result(parts, task)
    keys = result.options["metrics"]
    units = shard.evidence(parts, "unit")
    unit = {key: [x for u in units for x in u[key]] for key in units[0]}
    computed: dict[str, float] = {}
    for key, values in unit.items():
        if key in ("exact_match", "token_f1"):
            computed[key] = 100 * float(np.mean(values)) if values else 0.0
        elif key in ROUGE_KEYS:
            computed[key] = float(np.mean(values)) if values else 0.0
    pipeline_keys = [k for k in keys if k in CAPTION_PIPELINE_KEYS]
    if pipeline_keys:
        pipeline = merge_pipeline(parts, pipeline_keys, "answers", CHUNK_IMAGES)
        computed.update(pipeline.metrics)
        result.signature.update(pipeline.signature)
        result.warnings += pipeline.warnings
        result.stats, result.estimators = pipeline.stats, pipeline.estimators
    computed.update(headline(unit))
    result.metrics = {k: computed[k] for k in parts[0].metrics if k != "failure_rate"}
    found = shard.evidence(parts, "groups")
    groups = {name: [x for f in found for x in f[name]] for name in found[0]}
    result.breakdown = breakdown(groups, unit, aggregate)
    return result
