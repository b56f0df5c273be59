"""Yes/no questions (POPE, MME, HallusionBench-style): the label a named rule reads in the model's text
(``--rule``), accuracy, precision/recall/F1 and yes ratio with "yes" the positive class, per category; on MME
data acc+ and the MME score. The rules and metrics are ``vlmeval.metrics.yesno`` (its docstring is their
card); the inputs ``vlmeval.io.choice``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from vlmeval.metrics.yesno import DEFAULT_RULE, RULES
from vlmeval.tasks.task import Metric, Option, Result, Sharding, Task

RULE_REFERENCE = (
    "POPE evaluate.py / VLMEvalKit YOrN_Extraction / lmms-eval POPE / MME calculation.py, as --rule names"
)
POPE_PRF = "POPE evaluate.py (yes the positive class; labels from --rule)"
MME = "MME calculation.py"
MME_INTERVAL = "vlmeval.metrics.yesno:mme_estimator"  # images resampled, scores from per-image sums

METRICS = (
    Metric("accuracy", "0-100", RULE_REFERENCE),
    *(Metric(k, "0-100", POPE_PRF, interval="prf", arg=k) for k in ("precision", "recall", "f1")),
    Metric("yes_ratio", "0-100", "POPE evaluate.py: the share of answers read as yes"),
    Metric("unparsed", "count", "answers the --rule reads as neither yes nor no (scored wrong)",
           higher_is_better=False, interval="sum", always=True),
    Metric("acc_plus", "0-100", f"{MME} acc+: images whose questions are all right", interval=MME_INTERVAL,
           samples="mme_image_ids"),
    Metric("mme_score", "0-2800", f"{MME}: per subtask 100 * (acc + acc+), summed", interval=MME_INTERVAL,
           samples="mme_image_ids"),
    Metric("mme_perception", "0-2000", f"{MME}: the 10 perception subtasks' scores, summed", interval=MME_INTERVAL,
           arg="perception", samples="mme_image_ids", companion_of=("mme_score",)),
    Metric("mme_cognition", "0-800", f"{MME}: the 4 cognition subtasks' scores, summed", interval=MME_INTERVAL,
           arg="cognition", samples="mme_image_ids", companion_of=("mme_score",)),
)  # fmt: skip
MME_KEYS = ("acc_plus", "mme_score")

OPTIONS = (
    Option("preds", Path, None, "Predictions: records with 'prediction' and 'answer' (yes/no), optional "
           "'category' and 'image'.", argument=True, required=True),
    Option("rule", str, DEFAULT_RULE, "Which benchmark's or harness's rule reads yes or no in the answer.",
           choices=RULES),
)  # fmt: skip

# how a wrong answer's type is decided (the README's table), tried in this order
ERROR_TYPES = {
    "refusal": "the answer declines to say (vlmeval's phrase list, yesno.REFUSAL: 'not sure', 'hard to tell', "
    "'cannot tell', 'sorry'...), whatever --rule made of it",
    "unparsed": "the --rule reads neither yes nor no in it",
    "wrong_choice": "the --rule reads yes or no, the wrong one",
}


def load(values: dict[str, Any]):
    from vlmeval.io.choice import read_yesno_records

    return read_yesno_records(values["preds"])


def is_mme(data: Any) -> bool:
    """MME-style records: every category an MME subtask, every record with its image."""
    from vlmeval.metrics.yesno import MME_SUBTASKS

    if data is None:
        return True
    return bool(data.ids) and all(c in MME_SUBTASKS for c in data.categories) and None not in data.images


def available(values: dict[str, Any], data: Any) -> list[str]:
    """accuracy, precision, recall, f1, yes_ratio, unparsed; acc_plus and mme_score on MME-style records."""
    return [
        "accuracy",
        "precision",
        "recall",
        "f1",
        "yes_ratio",
        "unparsed",
        *(MME_KEYS if is_mme(data) else ()),
    ]


def evaluate(data, keys: list[str], values: dict[str, Any], progress) -> Result:
    from vlmeval.metrics import yesno

    rule = values.get("rule") or DEFAULT_RULE
    mme = bool(set(MME_KEYS) & set(keys))
    with progress.step(f"reading yes/no ({rule})"):
        scores = yesno.score_yesno(
            data.predictions, data.answers, rule=rule, categories=data.categories,
            images=data.images if mme else None,
        )  # fmt: skip
    return _result(data, keys, rule, scores)


def _result(data, keys: list[str], rule: str, scores) -> Result:
    """The result of the per-sample scores: ``evaluate``'s, or all the parts' for ``vlmeval merge``."""
    import numpy as np

    from vlmeval.metrics import yesno
    from vlmeval.metrics.choice import error_types
    from vlmeval.report.report import package_version
    from vlmeval.report.signature import signature

    computed = scores.metrics()
    wanted = [*keys, *(("mme_perception", "mme_cognition") if "mme_score" in keys else ())]
    metrics = {k: computed[k] for k in wanted}
    said_yes = scores.tp + scores.fp
    per_sample: dict[str, Any] = {
        "ids": data.ids,
        "accuracy": (100.0 * scores.correct).tolist(),
        "yes_ratio": (100.0 * said_yes).tolist(),
        "unparsed": scores.unparsed.tolist(),
    }
    # accuracy per sample (100 right, 0 wrong) is each sample's correctness: kept whatever --metrics asks
    per_sample = {k: v for k, v in per_sample.items() if k in ("ids", "accuracy") or k in keys}
    per_sample["label"] = scores.labels
    stats: dict[str, Any] = {
        "matching": {
            "true_positives": scores.tp.tolist(),
            "predicted": said_yes.tolist(),
            "ground_truth": scores.truth.tolist(),
        }
    }
    common = {"rule": rule, "parity": yesno.REFERENCES[rule], "pos": yesno.POSITIVE,
              "unparsed": yesno.UNPARSED_SCORE}  # fmt: skip
    prf = {**common, "zero": yesno.ZERO_DIVISION}
    sigs = {
        "accuracy": signature("YesNo-acc", common),
        "precision": signature("YesNo-P", prf),
        "recall": signature("YesNo-R", prf),
        "f1": signature("YesNo-F1", prf),
        "yes_ratio": signature("YesNo-yes-ratio", {**common, "of": "predictions"}),
        "unparsed": signature("YesNo-unparsed", {"rule": rule, "parity": yesno.REFERENCES[rule]}),
        "failure_rate": signature("failure-rate", {"rule": rule, "types": ",".join(ERROR_TYPES)}),
    }
    found_counts = _counts(scores)
    counts = {**data.counts, **found_counts}
    warnings = [*data.warnings, *_harness_warning(found_counts, len(scores), rule)]
    if scores.mme is not None:
        found = scores.mme
        per_sample["mme_image_ids"] = found.image_ids()
        per_sample["acc_plus"] = (100.0 * found.image_hit).tolist()
        stats["mme"] = found.stats()
        fields = {"labels": rule, "parity": yesno.MME_REFERENCE, "pair": yesno.MME_PAIRING}
        sigs["acc_plus"] = signature("MME-acc+", fields)
        for key, part in (("mme_score", yesno.MME_SUBTASKS), ("mme_perception", yesno.MME_PERCEPTION),
                          ("mme_cognition", yesno.MME_COGNITION)):  # fmt: skip
            present = sum(1 for t in found.subtasks if t in part)
            sigs[key] = signature("MME-score", {**fields, "subtasks": f"{present}/{len(part)}"})
        counts.update({"mme_image": len(found.image_keys), "mme_unpaired_image": found.unpaired})
        if found.unpaired:
            warnings.append(
                f"{found.unpaired} MME images do not have exactly two questions (MME asks two per image): "
                "their acc+ counts all of their questions"
            )
    elif data.ids and all(c in yesno.MME_SUBTASKS for c in data.categories):
        missing = data.images.count(None)
        warnings.append(
            f"the categories are MME subtasks but {missing} records have no 'image': no acc_plus or mme_score "
            "(acc+ pairs the questions of one image)"
        )
    return Result(
        metrics=metrics,
        per_sample=per_sample,
        signature={k: v for k, v in sigs.items() if k in metrics or k == "failure_rate"},
        counts=counts,
        inputs=data.inputs,
        options={"rule": rule, "metrics": keys},
        breakdown={"category": yesno.breakdown(scores, data.categories)}
        if any(c is not None for c in data.categories)
        else {},
        stats=stats,
        warnings=warnings,
        environment={"numpy": package_version("numpy")},
        columns={
            "question": data.questions,
            "prediction": data.predictions,
            "reference": data.answers,
            "label": scores.labels,
            "category": data.categories,
            "image": data.images,
        },
        rank=scores.correct.astype(float),  # wrong answers first, in input order
        error_types=error_types(scores.correct, scores.refused, np.asarray(scores.unparsed) == 1),
        evidence={"rows": lambda: {"category": list(data.categories), "image": list(data.images), "label": scores.labels,
                                   **{f: getattr(scores, f).tolist() for f in ROW_STATISTICS}}},
    )


def _counts(scores) -> dict[str, int]:
    """Unparsed answers, refusals, and how many VLMEvalKit would have sent to its judge."""
    return {
        "unparsed_answer": int(scores.unparsed.sum()),
        "refusal": int(scores.refused.sum()),
        "vlmevalkit_judged_answer": int(scores.judge_vlmevalkit.sum()),
    }


def _harness_warning(counts: dict[str, int], n: int, rule: str) -> list[str]:
    if not any(counts.values()):
        return []
    unparsed, refusals, judged = (
        counts["unparsed_answer"],
        counts["refusal"],
        counts["vlmevalkit_judged_answer"],
    )
    return [
        f"{unparsed} of {n} answers are neither yes nor no under the {rule} rule (scored wrong), {refusals} are "
        f"refusals; VLMEvalKit would have sent {judged} to its judge model (and kept them wrong if it could not "
        "tell either)"
    ]


ROW_STATISTICS = ("truth", "tp", "fp", "fn", "tn", "unparsed", "judge_vlmevalkit", "refused")


def merge(parts: list) -> Result:
    """The parts' per-sample labels and counts end to end, scored as one run (MME's images paired across parts)."""
    import numpy as np

    from vlmeval import shard
    from vlmeval.io.choice import YesNoData
    from vlmeval.metrics.yesno import YesNoScores, with_mme

    rows = shard.joined_columns(parts, "rows")
    keys, rule = parts[0].options["metrics"], parts[0].options["rule"]
    n = len(rows["label"])
    data = YesNoData(shard.per_sample(parts, "ids"), [None] * n, [None] * n, rows["category"], rows["image"],
                     [None] * n, parts[0].inputs, shard.loader_counts(parts), shard.loader_warnings(parts))  # fmt: skip
    scores = YesNoScores(rule, rows["label"], **{f: np.asarray(rows[f], dtype=np.int8) for f in ROW_STATISTICS})
    mme = bool(set(MME_KEYS) & set(keys))
    scores = with_mme(scores, data.categories, data.images if mme else None)
    return replace(_result(data, keys, rule, scores), failures=shard.primary_failures(parts, TASK))


def size(data) -> tuple[str, int]:
    return "records", len(data.ids)


def take(data, start: int, stop: int):
    from vlmeval.shard import take_rows

    return take_rows(data, start, stop, "ids", "predictions", "answers", "categories", "images", "questions")


TASK = Task(
    name="yesno",
    help="Yes/no accuracy, precision/recall/F1 and yes ratio as POPE computes them; MME's acc+ and score.",
    metrics=METRICS,
    primary=("accuracy", "f1"),
    options=OPTIONS,
    load=load,
    evaluate=evaluate,
    available=available,
    error_types=ERROR_TYPES,
    shard=Sharding(size, take, merge),
)
