"""DocVQA / InfographicVQA: ANLS as the RRC scorer computes it, exact match and token F1, breakdowns by
answer type, evidence and operation, and on request text metrics for free-form answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmeval.scoring import answers
from vlmeval.tasks.task import Metric, Option, Result, Task

ANLS = Metric("ANLS", "0-1", "RRC DocVQA scorer")

OPTIONS = (
    Option("preds", Path, None, "Predictions: records with 'prediction' and 'answers', or an RRC submission.",
           argument=True, required=True),
    Option("refs", Path, None, "Ground truth: RRC {'data': [...]} or records."),
    Option("threshold", float, 0.5, "ANLS threshold tau: lower similarities score 0.", minimum=0.0, maximum=1.0),
    *answers.TEXT_OPTIONS,
    answers.allow_missing_option("0"),
)  # fmt: skip


def load(values: dict[str, Any]):
    from vlmeval.io.qa import load_docvqa

    return load_docvqa(values["preds"], values.get("refs"), allow_missing=values.get("allow_missing", False))


def evaluate(data, keys: list[str], values: dict[str, Any], progress) -> Result:
    from vlmeval.scoring.model_metrics import NeuralOptions

    threshold = values.get("threshold", 0.5)
    tokenizer = values.get("tokenizer", "ptb")
    scores = answers.score_answers(
        data, keys, tokenizer=tokenizer, progress=progress, neural=NeuralOptions.from_values(values)
    )
    aggregate = {"exact_match": answers.percent_mean, "token_f1": answers.percent_mean}
    if "ANLS" in keys:
        from vlmeval.metrics.anls import LENGTH, NORMALISATION, anls_per_question
        from vlmeval.report.signature import nrefs, number, signature

        with progress.step("ANLS"):
            per_question = answers.zero_missing(
                anls_per_question(data.predictions, data.answers, threshold).tolist(), data.answered
            )
        result = scores.result
        # summed in question order, as the RRC script sums
        result.metrics["ANLS"] = float(sum(per_question)) / len(per_question) if per_question else 0.0
        scores.unit["ANLS"] = result.per_sample["ANLS"] = per_question
        result.signature["ANLS"] = signature(
            "ANLS",
            {"tau": number(threshold), "norm": NORMALISATION, "len": LENGTH, "agg": "max-over-answers",
             "nrefs": nrefs([len(a) for a in data.answers]), "parity": "rrc-docvqa"},
        )  # fmt: skip
        aggregate["ANLS"] = lambda xs: float(sum(xs)) / len(xs)
    options = {"threshold": threshold, "tokenizer": tokenizer, "metrics": keys}
    return answers.answer_result(data, keys, scores, aggregate, options)


TASK = Task(
    name="docvqa",
    help="ANLS as the RRC DocVQA/InfographicVQA scorer computes it, with breakdowns, EM and token F1.",
    metrics=(ANLS, answers.EXACT_MATCH, answers.TOKEN_F1, *answers.TEXT_METRICS),
    primary=("ANLS", "exact_match"),
    options=OPTIONS,
    load=load,
    evaluate=evaluate,
)
