"""Image captioning: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D (pycocoevalcap 1.2 numbers), and on request SPICE,
BERTScore, CLIPScore/RefCLIPScore, ROUGE-1/2 and the hallucination metrics CHAIR_i/CHAIR_s/CHAIR_recall.
The COCO pipeline itself is ``vlmeval.scoring.captions``; CHAIR is ``vlmeval.metrics.chair``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vlmeval.metrics.chair import DEFAULT_VARIANT as CHAIR_DEFAULT
from vlmeval.metrics.chair import VARIANTS as CHAIR_VARIANTS
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
from vlmeval.tasks.task import Metric, Option, Result, Task

CHAIR_REFERENCE = "LisaAnne/Hallucination utils/chair.py (variants: --chair-variant)"
# per-caption sums: numerator and denominator of each CHAIR metric (ratios of sums over the corpus)
CHAIR_PARTS = {
    "CHAIR_i": ("hallucinated_mentions", "mentions"),
    "CHAIR_s": ("hallucinated_captions", "captions"),
    "CHAIR_recall": ("gt_objects_mentioned", "gt_objects"),
}
CHAIR = tuple(
    Metric(
        key, "0-1", CHAIR_REFERENCE, family="CHAIR", needs="chair", higher_is_better=key == "CHAIR_recall",
        default=False, interval="vlmeval.tasks.caption:chair_estimator", arg=parts,
    )
    for key, parts in CHAIR_PARTS.items()
)  # fmt: skip
CHAIR_PANEL = "Hallucination (CHAIR)"

OPTIONS = (
    Option("preds", Path, None, "Predictions: JSONL/JSON/CSV/TSV/Parquet records, or COCO results JSON.",
           argument=True, required=True),
    Option("refs", Path, None, "References: records with 'references', or a COCO captions file."),
    Option("images", Path, None, "Image folder (CLIPScore)."),
    TOKENIZER_OPTION,
    *BERTSCORE_OPTIONS,
    *CLIP_OPTIONS,
    *DEVICE_OPTIONS,
    Option("instances", Path, None, "COCO instances_*.json: the objects in each image (CHAIR; adds it to the "
           "default metrics).", panel=CHAIR_PANEL),
    Option("chair_variant", str, CHAIR_DEFAULT, "Which CHAIR code to reproduce (README).",
           choices=tuple(CHAIR_VARIANTS), panel=CHAIR_PANEL),
    Option("allow_missing", bool, False, "Score references that have no prediction as empty predictions (counted)."),
    Option("only_predicted", bool, False, "Score only the references that have a prediction (pycocoevalcap's "
           "params['image_id'] = cocoRes.getImgIds(); CIDEr's IDF from that subset)."),
)  # fmt: skip


def load(values: dict[str, Any]):
    from vlmeval.errors import VlmevalError
    from vlmeval.io.captions import load_captions

    if values.get("allow_missing") and values.get("only_predicted"):
        raise VlmevalError("--allow-missing and --only-predicted contradict each other: choose one")
    return load_captions(
        values["preds"],
        values.get("refs"),
        images_dir=values.get("images"),
        allow_missing=values.get("allow_missing", False),
        only_predicted=values.get("only_predicted", False),
        references_optional=values.get("instances") is not None,
    )


def defaults(values: dict[str, Any], available: list[str]) -> list[str]:
    """The COCO set; with --instances, CHAIR too."""
    chosen = [k for k in available if (m := TASK.metric_for(k)) is not None and m.default]
    return chosen + (list(CHAIR_PARTS) if values.get("instances") is not None else [])


def evaluate(
    data, keys: list[str], values: dict[str, Any], progress, *, chunk_images: int = CHUNK_IMAGES
) -> Result:
    from vlmeval.report.report import package_version
    from vlmeval.scoring.captions import score_captions
    from vlmeval.scoring.model_metrics import NeuralOptions

    chair_keys = [k for k in keys if k in CHAIR_PARTS]
    text_keys = [k for k in keys if k not in CHAIR_PARTS]
    if text_keys and not data.has_references:
        from vlmeval.errors import VlmevalError

        raise VlmevalError(
            f"{text_keys[0]} needs references, which the records lack: give 'references' or --refs "
            "(without them only CHAIR can be computed: --metrics CHAIR)"
        )
    tokenizer = values.get("tokenizer", TOKENIZER_OPTION.default)
    neural = NeuralOptions.from_values(values)
    scores = score_captions(
        data.predictions, data.references, text_keys, tokenizer=tokenizer, progress=progress,
        chunk_images=chunk_images, neural=neural, images=data.images,
    )  # fmt: skip
    if set(keys) & {"ROUGE_1", "ROUGE_2"}:
        _rouge_score(data, keys, scores)
    inputs = list(data.inputs)
    if chair_keys:
        _chair(data, chair_keys, values, scores, inputs, progress)
    counts = data.counts
    extra = dict(scores.counts)
    skipped = extra.pop("skipped", {})
    if skipped or extra:
        counts = {**counts, **extra}
        counts["skipped"] = {**counts.get("skipped", {}), **skipped}
    ordered = {k: scores.metrics[k] for k in keys if k in scores.metrics}
    columns = {
        "prediction": data.predictions,
        "reference": data.references,
        "tokens": scores.columns["tokens"],
        "image": data.images,
    }
    if chair_keys:
        columns.update({k: scores.columns[k] for k in ("objects", "hallucinated")})
    return Result(
        metrics=ordered,
        per_sample={"ids": data.ids, **{k: scores.per_sample[k] for k in ordered}, **_chair_lists(scores)},
        signature={k: scores.signature[k] for k in ordered},
        counts=counts,
        inputs=inputs,
        options={
            "tokenizer": tokenizer,
            "metrics": keys,
            **({"neural": neural.as_dict()} if MODEL_KEYS & set(keys) else {}),
            **({"chair_variant": values.get("chair_variant", CHAIR_DEFAULT)} if chair_keys else {}),
            **({"only_predicted": True} if values.get("only_predicted") else {}),
        },
        stats=scores.stats,
        estimators=scores.estimators,
        warnings=data.warnings + scores.warnings,
        environment={
            "java": scores.environment.get("java"),
            "pycocoevalcap": package_version("pycocoevalcap"),
            **{k: v for k, v in scores.environment.items() if k != "java"},
        },
        columns=columns,
    )


def _rouge_score(data, keys: list[str], scores: Result) -> None:
    """ROUGE-1/2 with rouge-score's conventions on the raw captions (as for free-form answers)."""
    from vlmeval.metrics.rouge_score import rouge_n_l
    from vlmeval.scoring.answers import rouge_score_signature

    rouge = rouge_n_l(data.predictions, data.references)
    for key in ("ROUGE_1", "ROUGE_2"):
        if key in keys:
            scores.metrics[key] = float(np.mean(rouge[key])) if rouge[key] else 0.0
            scores.per_sample[key] = rouge[key]
            scores.signature[key] = rouge_score_signature(key, data.references)


def _chair(data, keys: list[str], values: dict[str, Any], scores: Result, inputs: list, progress) -> None:
    """CHAIR_i/CHAIR_s/CHAIR_recall: the objects each caption mentions against its image's instance
    annotations (and the objects its references mention); per caption, the mentioned and hallucinated
    objects; per-caption sums in ``stats["chair"]`` so that intervals resample them."""
    from vlmeval.errors import InputError, MissingDependency, VlmevalError
    from vlmeval.io.readers import read_json_document
    from vlmeval.metrics.chair import chair_scores, chair_statistics, load_instances
    from vlmeval.report.signature import signature

    path = values.get("instances")
    if path is None:
        raise VlmevalError(
            "CHAIR needs --instances instances_*.json (COCO's instance annotations of the images)"
        )
    variant = values.get("chair_variant", CHAIR_DEFAULT)
    instances = read_json_document(path)
    try:
        truth = load_instances(instances.document)
    except ValueError as exc:
        raise InputError(str(exc), instances.path) from None
    inputs.append({**instances.input_entry(), "records": len(truth)})
    references: dict[str, list[str]] = {}
    if data.has_references:
        for image, refs in zip(data.image_ids, data.references):
            references.setdefault(image, []).extend(refs)
    try:
        with progress.step(f"CHAIR ({variant}) on {len(data.predictions)} captions"):
            stats = chair_statistics(data.predictions, data.image_ids, truth, references or None, variant)
    except LookupError as exc:  # WordNet, Punkt or the tagger model is not installed
        raise MissingDependency(str(exc)) from None
    per_caption = {field: np.zeros(len(stats.captions)) for parts in CHAIR_PARTS.values() for field in parts}
    for i, caption in enumerate(stats.captions):
        truth_here = set(caption.gt_objects)
        per_caption["mentions"][i] = len(caption.node_words)
        per_caption["hallucinated_mentions"][i] = len(caption.hallucinated)
        per_caption["captions"][i] = 1
        per_caption["hallucinated_captions"][i] = 1 if caption.hallucinated else 0
        per_caption["gt_objects"][i] = len(truth_here)
        per_caption["gt_objects_mentioned"][i] = len(truth_here & set(caption.node_words))
    corpus = chair_scores(stats)
    fields = stats.signature_fields()
    fields = {"variant": variant, "syn": fields["synonyms_sha256"][:12], "imgs": fields["images"],
              "imgs_sha256": fields["images_sha256"][:12], "parity": CHAIR_VARIANTS[variant].parity}  # fmt: skip
    for key in keys:
        numerator, denominator = CHAIR_PARTS[key]
        scores.metrics[key] = float(corpus[key])
        with np.errstate(invalid="ignore", divide="ignore"):
            scores.per_sample[key] = np.where(
                per_caption[denominator] > 0,
                per_caption[numerator] / np.maximum(per_caption[denominator], 1),
                np.nan,
            ).tolist()
        scores.signature[key] = signature(key.replace("_", "-"), fields)
    scores.stats["chair"] = {k: v.astype(np.int64).tolist() for k, v in per_caption.items()}
    scores.columns["objects"] = [list(c.node_words) for c in stats.captions]
    scores.columns["hallucinated"] = [[word for word, _ in c.hallucinated] for c in stats.captions]
    unknown = sum(1 for image in stats.image_ids if str(image) not in truth)
    if unknown:
        scores.warnings.append(
            f"{unknown} of {len(stats.image_ids)} images have no instance annotation in {instances.path}: every "
            "object their captions mention counts as hallucinated (as the reference code counts them)"
        )


def _chair_lists(scores: Result) -> dict[str, list]:
    """The objects each caption mentions and those hallucinated, beside the per-sample scores."""
    if "objects" not in scores.columns:
        return {}
    return {"chair_objects": scores.columns["objects"], "chair_hallucinated": scores.columns["hallucinated"]}


def chair_estimator(report, key: str, parts: tuple[str, str]):
    """CHAIR as a ratio of sums over the resampled captions (``stats["chair"]``): the metric on the resampled
    corpus, as the reference computes it."""
    from vlmeval.report.bootstrap import Estimator

    table = report.stats.get("chair")
    if not isinstance(table, dict) or not all(p in table for p in parts):
        return None
    stats = np.stack([np.asarray(table[p], dtype=np.float64) for p in parts], axis=1)

    def score(s: np.ndarray) -> np.ndarray:
        return np.divide(s[..., 0], s[..., 1], out=np.full(s.shape[:-1], np.nan), where=s[..., 1] > 0)

    return Estimator(stats, score)


TASK = Task(
    name="caption",
    help="Caption metrics as pycocoevalcap 1.2 computes them (BLEU, METEOR, ROUGE-L, CIDEr-D), plus more on request.",
    metrics=(*COCO_METRICS, *BERTSCORE, *CLIP, *ROUGE_SCORE[1:], *CHAIR),
    primary=("CIDEr", "Bleu_4", "CLIPScore", "BERTScore_F1", "METEOR", "ROUGE_L", "CHAIR_s"),
    options=OPTIONS,
    load=load,
    evaluate=evaluate,
    defaults=defaults,
)
