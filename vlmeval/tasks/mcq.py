"""Multiple choice (MMBench, MMMU, SEED-Bench, MMStar, AI2D...): the letter a named harness rule pulls out of
the model's text (``--extract``), accuracy, MMBench's CircularEval over rotations, what could not be parsed,
and what each harness would have done with it. The rules and metrics are ``vlmeval.metrics.choice`` (its
docstring is their card); the inputs ``vlmeval.io.choice``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from vlmeval.metrics.choice import DEFAULT_RULE, RULES
from vlmeval.tasks.task import Metric, Option, Result, Sharding, Task

CIRCULAR_MODES = ("auto", "on", "off")
EXTRACTION = "VLMEvalKit can_infer / lmms-eval MMMU parser / strict, as --extract names"

METRICS = (
    Metric("accuracy", "0-100", EXTRACTION),
    Metric("circular_accuracy", "0-100", "VLMEvalKit mcq_circular_eval (MMBench CircularEval)",
           samples="circular_ids"),
    Metric("unparsed", "count", "answers the --extract rule finds no letter in (scored wrong)",
           higher_is_better=False, interval="sum", always=True),
    Metric("accuracy_chance_adjusted", "0-100", "accuracy with each unparsed answer credited 1/k (k options)"),
)  # fmt: skip

OPTIONS = (
    Option("preds", Path, None, "Predictions: records with 'prediction', 'options', 'answer', or a VLMEvalKit "
           "prediction file (TSV/XLSX).", argument=True, required=True),
    Option("extract", str, DEFAULT_RULE, "Which harness's rule pulls the letter out of the answer.",
           choices=RULES),
    Option("circular", str, "auto", "CircularEval over rotations (auto: when some rows are rotations of one "
           "question).", choices=CIRCULAR_MODES),
)  # fmt: skip

# how a wrong answer's type is decided (the README's table), tried in this order
ERROR_TYPES = {
    "refusal": "VLMEvalKit reads the answer as a refusal, its 'Z' (one of its four refusal phrases, or a lone "
    "'Z' and no option letter), whatever --extract",
    "unparsed": "the --extract rule finds no letter in it",
    "wrong_choice": "the --extract rule finds a letter, not the answer's",
}


def load(values: dict[str, Any]):
    from vlmeval.errors import VlmevalError
    from vlmeval.io.choice import read_choice_records

    data = read_choice_records(values["preds"])
    if values.get("circular") == "on" and not data.has_rotations:
        raise VlmevalError(
            f"--circular on needs rotations, and no two rows of {getattr(values['preds'], 'path', values['preds'])} "
            "share a group ('group' in "
            "records; index % 1000000 in VLMEvalKit files): use --circular auto or off"
        )
    return data


def circular_on(values: dict[str, Any], data: Any) -> bool:
    mode = values.get("circular") or "auto"
    return mode == "on" or (mode == "auto" and (data is None or data.has_rotations))


def available(values: dict[str, Any], data: Any) -> list[str]:
    """accuracy, circular_accuracy (with rotations, unless --circular off), unparsed, accuracy_chance_adjusted."""
    circular = ["circular_accuracy"] if circular_on(values, data) else []
    return ["accuracy", *circular, "unparsed", "accuracy_chance_adjusted"]


def evaluate(data, keys: list[str], values: dict[str, Any], progress) -> Result:
    from vlmeval.metrics import choice

    rule = values.get("extract") or DEFAULT_RULE
    circular = "circular_accuracy" in keys
    with progress.step(f"extracting letters ({rule})"):
        scores = choice.score_choices(
            data.predictions, data.options, data.answers, rule=rule,
            groups=data.groups if circular else None, heads=data.heads if circular else None,
            answers_without_option=bool(data.counts.get("answer_without_option")),
        )  # fmt: skip
    return _result(data, keys, values, scores)


def _result(data, keys: list[str], values: dict[str, Any], scores) -> Result:
    """The result of the per-sample scores: ``evaluate``'s, or all the parts' for ``vlmeval merge``."""
    from vlmeval.metrics import choice
    from vlmeval.report.report import package_version
    from vlmeval.report.signature import signature

    rule = values.get("extract") or DEFAULT_RULE
    circular = "circular_accuracy" in keys
    computed = scores.metrics()
    metrics = {k: computed[k] for k in keys}
    correct = scores.correct
    letters = scores.letters
    per_sample: dict[str, Any] = {
        "ids": data.ids,
        "accuracy": (100.0 * correct).tolist(),
        "unparsed": scores.unparsed.tolist(),
        "accuracy_chance_adjusted": (100.0 * scores.credit).tolist(),
    }
    # accuracy per sample (100 right, 0 wrong) is each sample's correctness: kept whatever --metrics asks
    per_sample = {k: v for k, v in per_sample.items() if k in ("ids", "accuracy") or k in keys}
    per_sample["letter"] = letters
    common = {"extract": rule, "parity": choice.REFERENCES[rule]}
    sigs = {
        "accuracy": signature("MCQ-acc", {**common, "unparsed": choice.UNPARSED_SCORE}),
        "unparsed": signature("MCQ-unparsed", common),
        "accuracy_chance_adjusted": signature("MCQ-acc-chance", {**common, "unparsed": choice.CHANCE_CREDIT}),
        "failure_rate": signature("failure-rate", {**common, "types": ",".join(ERROR_TYPES)}),
    }
    counts = {**data.counts, "unparsed_answer": int(scores.unparsed.sum()), **scores.counts()}
    if circular:
        circ = scores.circular
        per_sample["circular_ids"] = circ.group_ids
        per_sample["circular_accuracy"] = (100.0 * circ.hit).tolist()
        grouping = "index%1000000-original-row" if data.heads is not None else "group"
        sigs["circular_accuracy"] = signature(
            "MCQ-circular", {**common, "circular": choice.CIRCULAR_REFERENCE, "groups": grouping}
        )
    breakdown = {
        name: choice.breakdown(scores, labels)
        for name, labels in (("category", data.categories), ("l2_category", data.l2_categories))
        if any(label is not None for label in labels)
    }
    environment = {"numpy": package_version("numpy")}
    if any(str(entry["path"]).lower().endswith((".xlsx", ".xlsm")) for entry in data.inputs):
        environment["openpyxl"] = package_version("openpyxl")
    return Result(
        metrics=metrics,
        per_sample=per_sample,
        signature={k: v for k, v in sigs.items() if k in metrics or k == "failure_rate"},
        counts=counts,
        inputs=data.inputs,
        options={
            "extract": rule,
            "circular": values.get("circular") or "auto",
            "circular_eval": circular,
            "input": data.source_format,
            "metrics": keys,
        },
        breakdown=breakdown,
        warnings=[*data.warnings, *_harness_warning(counts, len(scores), rule)],
        environment=environment,
        columns={
            "question": data.questions,
            "options": data.options,
            "prediction": data.predictions,
            "reference": data.answers,
            "letter": letters,
            "reason": scores.reasons,
        },
        rank=correct.astype(float),  # wrong answers first, in input order
        error_types=choice.error_types(correct, scores.refused, scores.letter_codes == choice.NO_LETTER),
        evidence={"rows": lambda: {
            "category": list(data.categories), "l2_category": list(data.l2_categories), "group": list(data.groups),
            **({"head": list(data.heads)} if data.heads is not None else {}),
            **{f: getattr(scores, f).tolist() for f in ROW_STATISTICS},
        }},  # fmt: skip
    )


def _harness_warning(counts: dict[str, int], n: int, rule: str) -> list[str]:
    """One line: unparsed answers and refusals, and what each harness would have done with what its rule
    left over."""
    keys = ("unparsed_answer", "refusal", "vlmevalkit_judged_answer", "lmms_eval_drawn_answer")
    if not any(counts[k] for k in keys):
        return []
    unparsed, refusals, judged, drawn = (counts[k] for k in keys)
    line = (
        f"{unparsed} of {n} answers have no letter under the {rule} rule (scored wrong), {refusals} are "
        f"refusals; VLMEvalKit would have sent {judged} to its judge model (then a random draw from the letters "
        f"and Z if the judge fails three times), lmms-eval would have drawn a random letter for {drawn}"
    )
    if "vlmevalkit_judged_group" in counts:
        line += (
            f"; VLMEvalKit's judge would have seen {counts['vlmevalkit_judged_group']} CircularEval groups"
        )
    return [line]


# the per-sample statistics a part keeps for the merge, and their types
ROW_STATISTICS = {"letter_codes": "int64", "reason_codes": "int64", "correct": "int8", "unparsed": "int8",
                  "refused": "int8", "k": "int64", "judge_vlmevalkit": "int8", "draw_lmms_eval": "int8",
                  "prefetched_wrong": "int8", "answerable": "int8"}  # fmt: skip


def merge(parts: list) -> Result:
    """The parts' per-sample extractions end to end, scored as one run; CircularEval is recomputed over all
    rows, so a question's rotations may fall in different parts (MMBench's rotations are far apart in its
    files)."""
    import numpy as np

    from vlmeval import shard
    from vlmeval.io.choice import ChoiceData
    from vlmeval.metrics.choice import ChoiceScores, circular_eval

    rows = shard.joined_columns(parts, "rows")
    options = parts[0].options
    values = {"extract": options["extract"], "circular": options["circular"]}
    keys = options["metrics"]
    n, heads = len(rows["correct"]), rows.get("head")
    none = [None] * n
    data = ChoiceData(shard.per_sample(parts, "ids"), none, none, none, rows["category"], rows["l2_category"],
                      rows["group"], heads, none, parts[0].inputs, shard.loader_counts(parts),
                      shard.loader_warnings(parts), source_format=options["input"])  # fmt: skip
    arrays = {f: np.asarray(rows[f], dtype=kind) for f, kind in ROW_STATISTICS.items()}
    scores = ChoiceScores(options["extract"], **arrays)
    if "circular_accuracy" in keys:
        scores.circular = circular_eval(rows["group"], scores.correct, heads=heads, judged=scores.judge_vlmevalkit,
                                        prefetched_wrong=scores.prefetched_wrong == 1)  # fmt: skip
    return replace(_result(data, keys, values, scores), failures=shard.primary_failures(parts, TASK))


def size(data) -> tuple[str, int]:
    return "records", len(data.ids)


def take(data, start: int, stop: int):
    from vlmeval.shard import take_rows

    return take_rows(data, start, stop, "ids", "predictions", "options", "answers", "categories", "l2_categories",
                     "groups", "heads", "questions")  # fmt: skip


TASK = Task(
    name="mcq",
    help="Multiple-choice accuracy with VLMEvalKit's, lmms-eval's or a strict letter extraction, and MMBench's CircularEval.",
    metrics=METRICS,
    primary=("accuracy",),
    options=OPTIONS,
    load=load,
    evaluate=evaluate,
    available=available,
    error_types=ERROR_TYPES,
    shard=Sharding(size, take, merge),
)
