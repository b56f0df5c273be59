"""DocVQA / InfographicVQA: ANLS as the RRC scorer computes it, exact match and token F1, breakdowns by
answer type, evidence and operation, and on request text metrics for free-form answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmeval.scoring import answers
from vlmeval.tasks.task import Metric, Option, Result, Sharding, Task

ANLS = Metric("ANLS", "0-1", "RRC DocVQA scorer")

OPTIONS = (
    Option("preds", Path, None, "Predictions: records with 'prediction' and 'answers', or an RRC submission.",
           argument=True, required=True),
    Option("refs", Path, None, "Ground truth: RRC {'data': [...]} or records."),
    Option("threshold", float, 0.5, "ANLS threshold tau: lower similarities score 0.", minimum=0.0, maximum=1.0),
    Option("variant", str, "rrc", "ANLS as which scorer computes it: rrc (DocVQA/InfographicVQA, lmms-eval, "
           "VLMEvalKit) or mp-docvqa (MP-DocVQA's evaluator: whitespace not collapsed).", choices=("rrc", "mp-docvqa")),
    *answers.TEXT_OPTIONS,
    answers.allow_missing_option("0"),
)  # fmt: skip


# why a failed question failed (the README's table), tried in this order; failed: ANLS below 1 (the
# prediction is no gold answer after ANLS's normalisation: partial credit is what a near miss earns)
ERROR_TYPES = {
    "empty": "the prediction is empty (a missing one under --allow-missing too)",
    "refusal": "it declines to answer (vlmeval's refusal phrases, yesno.REFUSAL)",
    "extra_words": "a gold answer is in it as whole words, with more words ('The answer is 1997')",
    "truncated": "it is the start of a gold answer, cut short ('ABC-', 'May 4' for 'May 4, 2011')",
    "near_miss": "ANLS gave it partial credit (similarity >= --threshold: an OCR slip, '22.2S%' for '22.25%'), or "
    "it is a gold answer but for punctuation and spacing",
    "wrong": "any other answer (similarity below --threshold: another value)",
}


def load(values: dict[str, Any]):
    from vlmeval.io.qa import load_docvqa

    return load_docvqa(values["preds"], values.get("refs"), allow_missing=values.get("allow_missing", False))


def evaluate(data, keys: list[str], values: dict[str, Any], progress) -> Result:
    from vlmeval.scoring.model_metrics import NeuralOptions

    threshold = values.get("threshold", 0.5)
    tokenizer = values.get("tokenizer", "ptb")
    scores = answers.score_answers(
        data, keys, tokenizer=tokenizer, progress=progress, neural=NeuralOptions.from_values(values),
        meteor=values.get("meteor", "py"),
    )
    aggregate = {"exact_match": answers.percent_mean, "token_f1": answers.percent_mean}
    from vlmeval.metrics.anls import anls_per_question
    from vlmeval.report.signature import nrefs, number, signature

    variant = values.get("variant") or "rrc"
    with progress.step("ANLS"):  # also what the error types need
        per_question = answers.zero_missing(
            anls_per_question(data.predictions, data.answers, threshold, variant).tolist(), data.answered
        )
    if "ANLS" in keys:
        from vlmeval.metrics.anls import LENGTH, NORMALISATION, PARITY

        result = scores.result
        # summed in question order, as the RRC script sums
        result.metrics["ANLS"] = float(sum(per_question)) / len(per_question) if per_question else 0.0
        scores.unit["ANLS"] = result.per_sample["ANLS"] = per_question
        result.signature["ANLS"] = signature(
            "ANLS",
            {"tau": number(threshold), "norm": NORMALISATION[variant], "len": LENGTH[variant], "agg": "max-over-answers",
             **({"none": "0"} if variant == "mp-docvqa" else {}), "nrefs": nrefs([len(a) for a in data.answers]),
             "parity": PARITY[variant]},
        )  # fmt: skip
        aggregate["ANLS"] = lambda xs: float(sum(xs)) / len(xs)
    options = {"threshold": threshold, "variant": variant, "tokenizer": tokenizer, "metrics": keys}
    result = answers.answer_result(data, keys, scores, aggregate, options)
    from vlmeval.metrics.errors import docvqa_error_types

    result.error_types = docvqa_error_types(data.predictions, data.answers, per_question)
    result.signature["failure_rate"] = signature(
        "failure-rate", {"failed": "anls<1", "tau": number(threshold), "types": ",".join(ERROR_TYPES)}
    )
    return result


def merge(parts: list) -> Result:
    """The parts' per-question ANLS end to end, summed in question order as the RRC script sums."""

    def anls(xs: list[float]) -> float:
        return float(sum(xs)) / len(xs) if xs else 0.0

    aggregate = {"exact_match": answers.percent_mean, "token_f1": answers.percent_mean, "ANLS": anls}
    return answers.merge_answers(parts, TASK, aggregate, lambda unit: {"ANLS": anls(unit["ANLS"])} if "ANLS" in unit else {})


TASK = Task(
    name="docvqa",
    help="ANLS as the RRC DocVQA/InfographicVQA scorer computes it, with breakdowns, EM and token F1.",
    metrics=(ANLS, answers.EXACT_MATCH, answers.TOKEN_F1, *answers.TEXT_METRICS),
    primary=("ANLS", "exact_match"),
    options=OPTIONS,
    load=load,
    evaluate=evaluate,
    error_types=ERROR_TYPES,
    shard=Sharding(answers.size, answers.take, merge),
)
