"""VQA: the official VQA accuracy (variants official-2021, official-2017, harness) with answer-type and
question-type breakdowns, exact match and token F1, and on request text metrics for free-form answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmeval.metrics.vqa import VARIANTS
from vlmeval.scoring import answers
from vlmeval.tasks.task import Metric, Option, Result, Sharding, Task

VQA_ACCURACY = Metric("vqa_accuracy", "0-100", "GT-Vision-Lab/VQA vqaEval.py")
UNROUNDED = Metric(
    "vqa_accuracy_unrounded", "0-100", "GT-Vision-Lab/VQA vqaEval.py (before its rounding)",
    companion_of=("vqa_accuracy",),
    interval="none",  # vqa_accuracy's interval is already that of the unrounded means
    digits=6,
)  # fmt: skip

OPTIONS = (
    Option("preds", Path, None, "Predictions: records with 'prediction' and 'answers', or VQA v2 results JSON.",
           argument=True, required=True),
    Option("annotations", Path, None, "VQA v2 annotations (or records with 'answers')."),
    Option("questions", Path, None, "VQA v2 questions (question text)."),
    Option("variant", str, "official-2021", "Which official script (or harness) to reproduce.", choices=tuple(VARIANTS)),
    *answers.TEXT_OPTIONS,
    answers.allow_missing_option("0"),
)  # fmt: skip


# why a failed question failed (the README's table), tried in this order; failed: fewer than min(3, n) of its
# n human answers match (the official bar for full credit, min(1, matches / 3))
ERROR_TYPES = {
    "empty": "the prediction is empty (a missing one under --allow-missing too)",
    "refusal": "it declines to answer (vlmeval's refusal phrases, yesno.REFUSAL: 'sorry', 'not sure', 'cannot tell'...)",
    "unparseable": "it holds no letter or digit ('...', '?')",
    "format": "the right answer in the wrong form: an answer at least min(3, n) humans gave once both sides are "
    "fully normalised (case, punctuation, articles, number words), which the variant did not do ('YES', '(2)', "
    "'one' against unanimous 'yes', '2', '1')",
    "extra_words": "such an answer is in it as whole words, with more words ('yes, yes', 'dog 1.5')",
    "yes_no_flip": "the humans' most common answer is yes or no, and the prediction starts with the other",
    "wrong_number": "the humans' most common answer is a number ('3', '1,000', '2:35'), and the prediction is not it",
    "wrong_other": "any other wrong answer",
}


def load(values: dict[str, Any]):
    from vlmeval.errors import VlmevalError
    from vlmeval.io.qa import load_vqa

    if values.get("questions") is not None and values.get("annotations") is None:
        raise VlmevalError("--questions needs --annotations")
    return load_vqa(
        values["preds"], values.get("annotations"), values.get("questions"),
        allow_missing=values.get("allow_missing", False),
    )  # fmt: skip


def evaluate(data, keys: list[str], values: dict[str, Any], progress) -> Result:
    from vlmeval.scoring.model_metrics import NeuralOptions

    variant = values.get("variant", "official-2021")
    tokenizer = values.get("tokenizer", "ptb")
    scores = answers.score_answers(
        data, keys, tokenizer=tokenizer, progress=progress, neural=NeuralOptions.from_values(values),
        meteor=values.get("meteor", "py"),
    )
    extra = {}
    aggregate = {"exact_match": answers.percent_mean, "token_f1": answers.percent_mean}
    from vlmeval.metrics.vqa import vqa_scores
    from vlmeval.report.signature import nrefs, signature

    with progress.step(f"VQA accuracy ({variant})"):  # also what the error types need
        vqa = vqa_scores(data.predictions, data.answers, variant)
    if "vqa_accuracy" in keys:
        from vlmeval.metrics.vqa import LEAVE_ONE_OUT, ROUNDING, mean_percent, official_round

        acc = answers.zero_missing(vqa.accuracy, data.answered)
        mean = VARIANTS[variant].mean
        unrounded = mean_percent(acc, mean)
        result = scores.result
        result.metrics["vqa_accuracy"] = official_round(unrounded)
        extra["vqa_accuracy_unrounded"] = unrounded
        scores.unit["vqa_accuracy"] = acc
        result.per_sample["vqa_accuracy"] = [100 * a for a in acc]
        fields = {**VARIANTS[variant].signature_fields(), "loo": LEAVE_ONE_OUT, "round": ROUNDING,
                  "nrefs": nrefs([len(a) for a in data.answers])}  # fmt: skip
        result.signature["vqa_accuracy"] = signature("VQA-acc", fields)
        result.signature["vqa_accuracy_unrounded"] = signature("VQA-acc", {**fields, "round": "none"})
        # per-type numbers as the script prints them: rounded means of the unrounded per-question scores
        aggregate["vqa_accuracy"] = lambda xs: official_round(mean_percent(xs, mean))
    options = {"variant": variant, "tokenizer": tokenizer, "metrics": keys}
    result = answers.answer_result(data, keys, scores, aggregate, options, extra)
    from vlmeval.metrics.errors import vqa_error_types

    with progress.step("error types"):
        result.error_types = vqa_error_types(data.predictions, data.answers, vqa.matches, data.answered)
    result.signature["failure_rate"] = signature(
        "failure-rate", {"failed": "matches<min(3,n)", "variant": variant, "types": ",".join(ERROR_TYPES)}
    )
    return result


def merge(parts: list) -> Result:
    """The parts' per-question accuracies end to end: the mean rounded as the official script rounds it."""
    from vlmeval.metrics.vqa import mean_percent, official_round

    mean = VARIANTS[parts[0].options.get("variant", "official-2021")].mean  # the parts agree (checked)

    def headline(unit: dict[str, list[float]]) -> dict[str, float]:
        if "vqa_accuracy" not in unit:
            return {}
        unrounded = mean_percent(unit["vqa_accuracy"], mean)
        return {"vqa_accuracy": official_round(unrounded), "vqa_accuracy_unrounded": unrounded}

    aggregate = {"exact_match": answers.percent_mean, "token_f1": answers.percent_mean,
                 "vqa_accuracy": lambda xs: official_round(mean_percent(xs, mean))}  # fmt: skip
    return answers.merge_answers(parts, TASK, aggregate, headline)


TASK = Task(
    name="vqa",
    help="VQA accuracy as the official VQA evaluation computes it, with answer-type breakdown, EM and token F1.",
    metrics=(VQA_ACCURACY, answers.EXACT_MATCH, answers.TOKEN_F1, *answers.TEXT_METRICS, UNROUNDED),
    primary=("vqa_accuracy", "exact_match"),
    options=OPTIONS,
    load=load,
    evaluate=evaluate,
    error_types=ERROR_TYPES,
    shard=Sharding(answers.size, answers.take, merge),
)
