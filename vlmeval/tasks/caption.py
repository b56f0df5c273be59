"""Image captioning: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D (pycocoevalcap 1.2 numbers), and on request SPICE,
BERTScore, CLIPScore/RefCLIPScore, ROUGE-1/2. The pipeline itself is ``vlmeval.scoring.captions``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmeval.scoring.answers import ROUGE_SCORE
from vlmeval.scoring.captions import CHUNK_IMAGES, COCO_METRICS, TOKENIZER_OPTION
from vlmeval.scoring.model_metrics import (
    BERTSCORE,
    BERTSCORE_OPTIONS,
    CLIP,
    CLIP_OPTIONS,
    DEVICE_OPTIONS,
    MODEL_KEYS,
)
from vlmeval.tasks.task import Option, Result, Task

OPTIONS = (
    Option("preds", Path, None, "Predictions: JSONL/JSON/CSV/TSV/Parquet records, or COCO results JSON.",
           argument=True, required=True),
    Option("refs", Path, None, "References: records with 'references', or a COCO captions file."),
    Option("images", Path, None, "Image folder (CLIPScore)."),
    TOKENIZER_OPTION,
    *BERTSCORE_OPTIONS,
    *CLIP_OPTIONS,
    *DEVICE_OPTIONS,
    Option("allow_missing", bool, False, "Score references that have no prediction as empty predictions (counted)."),
)  # fmt: skip


def load(values: dict[str, Any]):
    from vlmeval.io.captions import load_captions

    return load_captions(
        values["preds"],
        values.get("refs"),
        images_dir=values.get("images"),
        allow_missing=values.get("allow_missing", False),
    )


def evaluate(
    data, keys: list[str], values: dict[str, Any], progress, *, chunk_images: int = CHUNK_IMAGES
) -> Result:
    from vlmeval.report.report import package_version
    from vlmeval.scoring.captions import score_captions
    from vlmeval.scoring.model_metrics import NeuralOptions

    tokenizer = values.get("tokenizer", TOKENIZER_OPTION.default)
    neural = NeuralOptions.from_values(values)
    scores = score_captions(
        data.predictions, data.references, keys, tokenizer=tokenizer, progress=progress,
        chunk_images=chunk_images, neural=neural, images=data.images,
    )  # fmt: skip
    counts = data.counts
    extra = dict(scores.counts)
    skipped = extra.pop("skipped", {})
    if skipped or extra:
        counts = {**counts, **extra}
        counts["skipped"] = {**counts.get("skipped", {}), **skipped}
    ordered = {k: scores.metrics[k] for k in keys if k in scores.metrics}
    return Result(
        metrics=ordered,
        per_sample={"ids": data.ids, **{k: scores.per_sample[k] for k in ordered}},
        signature={k: scores.signature[k] for k in ordered},
        counts=counts,
        inputs=data.inputs,
        options={
            "tokenizer": tokenizer,
            "metrics": keys,
            **({"neural": neural.as_dict()} if MODEL_KEYS & set(keys) else {}),
        },
        stats=scores.stats,
        estimators=scores.estimators,
        warnings=data.warnings + scores.warnings,
        environment={
            "java": scores.environment.get("java"),
            "pycocoevalcap": package_version("pycocoevalcap"),
            **{k: v for k, v in scores.environment.items() if k != "java"},
        },
        columns={
            "prediction": data.predictions,
            "reference": data.references,
            "tokens": scores.columns["tokens"],
            "image": data.images,
        },
    )


TASK = Task(
    name="caption",
    help="Caption metrics as pycocoevalcap 1.2 computes them (BLEU, METEOR, ROUGE-L, CIDEr-D), plus more on request.",
    metrics=(*COCO_METRICS, *BERTSCORE, *CLIP, *ROUGE_SCORE[1:]),
    primary=("CIDEr", "Bleu_4", "CLIPScore", "BERTScore_F1", "METEOR", "ROUGE_L"),
    options=OPTIONS,
    load=load,
    evaluate=evaluate,
)
