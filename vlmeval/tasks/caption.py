"""Image captioning: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D (pycocoevalcap 1.2 numbers), and on request SPICE,
BERTScore, CLIPScore/RefCLIPScore, ROUGE-1/2 and the hallucination metrics CHAIR_i/CHAIR_s/CHAIR_recall.
The COCO pipeline itself is ``vlmeval.scoring.captions``; CHAIR is ``vlmeval.metrics.chair``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vlmeval.metrics.chair import DEFAULT_VARIANT as CHAIR_DEFAULT
from vlmeval.metrics.chair import VARIANTS as CHAIR_VARIANTS
from vlmeval.scoring.answers import ROUGE_SCORE
from vlmeval.scoring.captions import CHUNK_IMAGES, COCO_METRICS, METEOR_OPTION, TOKENIZER_OPTION
from vlmeval.scoring.model_metrics import (
    BERTSCORE,
    BERTSCORE_OPTIONS,
    CLIP,
    CLIP_OPTIONS,
    DEVICE_OPTIONS,
    MODEL_KEYS,
)
from vlmeval.tasks.task import Metric, Option, Result, Sharding, Task

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
    METEOR_OPTION,
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


# why a failed caption failed (the README's table), tried in this order. A caption fails when one of these
# applies (CIDEr has no fixed bar: its IDF comes from the evaluated corpus).
ERROR_TYPES = {
    "empty": "the caption is empty (a missing one under --allow-missing too)",
    "repetition": "a sequence of up to 12 words three times in a row: a generation loop ('a a a a a')",
    "hallucination": "with CHAIR (--instances): it mentions an object the image's instance annotations lack",
    "omission": "with references: it uses fewer than half of the content words at least half of its references use "
    "(lower-cased words less a list of function words, Snowball-stemmed as METEOR 1.5 stems)",
}


@dataclass
class Prepared:
    """The references' share of a caption run, computed once by ``vlmeval.CaptionEvaluator``: the COCO
    pipeline's (``CaptionReferences``), the models and their reference-side work (``ModelCache``), and the
    consensus content words of the omission rule (``ContentConsensus``)."""

    references: Any
    models: Any
    consensus: Any


def prepare(data, keys: list[str], values: dict[str, Any]) -> Prepared:
    """From the cache of recent runs' references where it can (``vlmeval.scoring.reference_cache``)."""
    from vlmeval.scoring.captions import CHUNK_IMAGES
    from vlmeval.scoring.model_metrics import ModelCache
    from vlmeval.scoring.reference_cache import content_consensus, prepared_references

    strings = "SPICE" in keys or "METEOR" in keys
    tokenizer = values.get("tokenizer", TOKENIZER_OPTION.default)
    references = prepared_references(data.references, tokenizer=tokenizer, chunk=CHUNK_IMAGES, strings=strings,
                                     keep=True)  # fmt: skip
    consensus = content_consensus(data.references) if data.has_references else None
    return Prepared(references, ModelCache(), consensus)


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


EARLY_TYPES = 1000  # images from which the error types are found in a forked process (below: here, cheaper)


class _TypesBeside:
    """The error types of a run of several chunks, found slice by slice of ``ERROR_CHUNK`` images in a
    ``Worker`` process while this one scores (a slice's types depend on its own texts only). A slice is
    sent when fewer than two wait there, so the worker holds little; what is left when the scoring ends is
    shared: this process takes the slices from the end."""

    def __init__(self, predictions: list[str], references: list[list[str]]):
        from vlmeval.metrics.errors import ERROR_CHUNK
        from vlmeval.parallel import Worker

        self.predictions, self.references = predictions, references
        self.bounds = [(a, min(a + ERROR_CHUNK, len(predictions))) for a in range(0, len(predictions), ERROR_CHUNK)]
        self.sent: list[tuple[int, int]] = []
        self.parts: dict[int, list] = {}
        self.worker = Worker("vlmeval.metrics.errors:caption_error_types")

    @classmethod
    def started(cls, predictions, references) -> _TypesBeside | None:
        """None where no worker can run (the types are then found here, as for one chunk)."""
        import os

        if os.name != "posix":
            return None
        try:
            return cls(predictions, references)
        except OSError:
            return None

    def tick(self) -> None:
        while self.worker.ready():
            self.parts[self.sent.pop(0)[0]] = self.worker.receive()[0]
        while self.worker.outstanding < 2 and self.bounds:
            a, b = self.bounds.pop(0)
            self.worker.send([(self.predictions[a:b], self.references[a:b])])
            self.sent.append((a, b))

    def result(self) -> list[str | None]:
        from vlmeval.metrics.errors import caption_error_types

        while self.bounds:  # the worker takes them from the front, this process from the end
            self.tick()
            if self.bounds:
                a, b = self.bounds.pop()
                self.parts[a] = caption_error_types(self.predictions[a:b], self.references[a:b])
        while self.sent:
            self.parts[self.sent.pop(0)[0]] = self.worker.receive()[0]
        self.worker.close()
        return [t for a in sorted(self.parts) for t in self.parts[a]]

    def discard(self) -> None:
        self.worker.close()


def evaluate(
    data, keys: list[str], values: dict[str, Any], progress, *, chunk_images: int = CHUNK_IMAGES,
    prepared: Prepared | None = None,
) -> Result:
    """``prepared``: what ``vlmeval.CaptionEvaluator`` computed once for these references."""
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
    if prepared is not None and prepared.references.references != data.references:
        raise AssertionError("an evaluator's references changed")  # a bug: the evaluator holds both
    from vlmeval.metrics.errors import caption_error_types, omission_fields
    from vlmeval.scoring.reference_cache import content_consensus  # from recent runs' cache where it can

    references = data.references if data.has_references else None
    done: dict[str, Any] = {"consensus": prepared.consensus if prepared else None}

    def error_types(hallucinated=None) -> list[str | None]:
        with progress.step("error types"):
            if references is not None and done["consensus"] is None:
                done["consensus"] = content_consensus(references)
            return caption_error_types(data.predictions, references, hallucinated, done["consensus"])

    early = None
    if not chair_keys and references is not None and done["consensus"] is None and (
        EARLY_TYPES <= len(references) <= chunk_images
    ):
        from vlmeval.parallel import start

        # the error types need the texts only: a forked process finds them while this one reads, tokenizes and
        # scores (where forking is not safe, they are found here at the end). One chunk only: a process that
        # reads every text of a larger run would soon hold its own copy of them (reference counts are
        # writes), doubling the memory; those runs find them in ``meanwhile``
        early = start(error_types)

    elif not chair_keys and references is not None and done["consensus"] is None and len(references) > chunk_images:
        early = _TypesBeside.started(data.predictions, references)

    def meanwhile() -> None:
        """While METEOR's forked process runs: the error types (CHAIR's hallucinations come later: then
        the omission rule's side of the references only)."""
        if early is not None:
            return
        if not chair_keys:
            done["types"] = error_types()
        elif references is not None and done["consensus"] is None:
            done["consensus"] = content_consensus(references)

    try:
        scores = score_captions(
            data.predictions, prepared.references if prepared else data.references, text_keys,
            tokenizer=tokenizer, progress=progress, chunk_images=chunk_images, neural=neural, images=data.images,
            meteor=values.get("meteor", "py"), window=data.window, models=prepared.models if prepared else None,
            meanwhile=meanwhile, each_chunk=early.tick if isinstance(early, _TypesBeside) else None,
        )  # fmt: skip
    except BaseException:
        if early is not None:
            early.discard()
        raise
    if early is not None:
        done["types"] = early.result()
    if set(keys) & {"ROUGE_1", "ROUGE_2"}:
        _rouge_score(data, keys, scores)
    inputs = list(data.inputs)
    if chair_keys:
        _chair(data, chair_keys, values, scores, inputs, progress)
    counts = _with_counts(data.counts, scores.counts)
    ordered = {k: scores.metrics[k] for k in keys if k in scores.metrics}
    columns = {
        "prediction": data.predictions,
        "reference": data.references,
        "tokens": scores.columns["tokens"],
        "image": data.images,
    }
    if chair_keys:
        columns.update({k: scores.columns[k] for k in ("objects", "hallucinated")})
    from vlmeval.report.signature import signature

    types = done["types"] if "types" in done else error_types(scores.columns["hallucinated"] if chair_keys else None)
    checked = ",".join(["empty", "repetition", *(["hallucination"] if chair_keys else []),
                        *(["omission"] if data.has_references else [])])  # fmt: skip
    return Result(
        metrics=ordered,
        per_sample={"ids": data.ids, **{k: scores.per_sample[k] for k in ordered}, **_chair_lists(scores)},
        signature={
            **{k: scores.signature[k] for k in ordered},
            "failure_rate": signature("failure-rate", {"failed": "a-type-applies", **omission_fields(), "types": checked}),
        },
        counts=counts,
        inputs=inputs,
        options={
            "tokenizer": tokenizer,
            **({"meteor": values.get("meteor", "py")} if "METEOR" in keys else {}),
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
        error_types=types,
        evidence={**scores.evidence, **_failure_columns(data, values, ordered, columns)},
    )


def _failure_columns(data, values: dict[str, Any], metrics: dict[str, float], columns: dict[str, Any]) -> dict:
    """A part's failure-row columns for all its captions, when the merge must rank them itself: CIDEr-D, the
    primary metric, changes with the IDF of all references, so a part cannot know its K worst."""
    from vlmeval.tasks import primary_metric

    if data.window is None or not values.get("failures") or primary_metric("caption", metrics) != "CIDEr":
        return {}
    return {"columns": lambda: columns}


def _with_counts(counts: dict[str, Any], scored: dict[str, Any]) -> dict[str, Any]:
    """The input's counts with the scoring's (line breaks, CLIP's truncations, skipped samples) added."""
    extra = dict(scored)
    skipped = extra.pop("skipped", {})
    if skipped or extra:
        counts = {**counts, **extra}
        counts["skipped"] = {**counts.get("skipped", {}), **skipped}
    return counts


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
        # an image's ground truth takes the references of all its records, also those in other parts
        window = data.window
        images, refs_of = (data.image_ids, data.references) if window is None else (window.image_ids, window.references)
        wanted = None if window is None else set(data.image_ids)
        for image, refs in zip(images, refs_of):
            if wanted is None or image in wanted:
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
    unknown = [image for image in stats.image_ids if str(image) not in truth]
    if unknown:
        scores.warnings.append(_unknown_warning(len(unknown), len(stats.image_ids), instances.path))
    scores.evidence["chair"] = {"images": list(stats.image_ids), "unknown": unknown, "instances": str(instances.path)}


def _unknown_warning(unknown: int, images: int, path) -> str:
    return (
        f"{unknown} of {images} images have no instance annotation in {path}: every "
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


def size(data) -> tuple[str, int]:
    return "records", len(data.ids)


def take(data, start: int, stop: int):
    from dataclasses import replace

    from vlmeval.shard import Window, take_rows

    part = take_rows(data, start, stop, "ids", "predictions", "references", "images", "image_ids")
    return replace(part, window=Window(start, data.predictions, data.references, data.images, data.image_ids))


def merge(parts: list) -> Result:
    """The parts' per-caption statistics end to end, scored as one run: the COCO pipeline's corpus metrics
    (``vlmeval.scoring.caption_merge``: CIDEr-D rescored with the IDF of all references), ROUGE-1/2 and CHAIR
    from per-caption values and sums."""
    from vlmeval import shard
    from vlmeval.scoring.caption_merge import merge_pipeline

    result = shard.base_result(parts, TASK)
    keys = result.options["metrics"]
    pipeline = merge_pipeline(parts, [k for k in keys if k not in CHAIR_PARTS], "images", CHUNK_IMAGES)
    computed = dict(pipeline.metrics)
    for key in ("ROUGE_1", "ROUGE_2"):
        values = result.per_sample.get(key)
        if key in keys:
            computed[key] = float(np.mean(values)) if values else 0.0
    result.per_sample.update(pipeline.per_sample)
    result.signature.update(pipeline.signature)
    result.counts = _with_counts(result.counts, pipeline.counts)
    result.stats, result.estimators = pipeline.stats, pipeline.estimators
    result.warnings += pipeline.warnings
    if set(keys) & set(CHAIR_PARTS):
        _merge_chair(parts, [k for k in keys if k in CHAIR_PARTS], computed, result)
    result.metrics = {k: computed[k] for k in parts[0].metrics if k != "failure_rate"}
    if "columns" in parts[0].shard["evidence"]:  # ranked by the run's CIDEr-D: the report builder picks the K worst
        result.columns, result.failures = shard.joined_columns(parts, "columns"), None
    return result


def _merge_chair(parts: list, keys: list[str], computed: dict[str, float], result: Result) -> None:
    """CHAIR from the per-caption sums of all parts; its image count and hash over all their images."""
    from vlmeval import shard
    from vlmeval.metrics.chair import ChairStatistics, chair_scores, image_ids_sha256

    table = {field: shard.per_stat(parts, "chair", field) for field in parts[0].stats["chair"]}
    sums = {field: np.asarray(values, dtype=np.int64) for field, values in table.items()}
    corpus = chair_scores(ChairStatistics(result.options["chair_variant"], [], [], np.zeros(0, dtype=np.int64), sums))
    computed.update({key: float(corpus[key]) for key in keys})
    found = shard.evidence(parts, "chair")
    images = list(dict.fromkeys(image for f in found for image in f["images"]))
    unknown = set(image for f in found for image in f["unknown"])
    for key in keys:
        signature = shard.with_field(result.signature[key], "imgs", str(len(images)))
        result.signature[key] = shard.with_field(signature, "imgs_sha256", image_ids_sha256(images)[:12])
    result.stats["chair"] = table
    if unknown:
        result.warnings.append(_unknown_warning(len(unknown), len(images), found[0]["instances"]))


TASK = Task(
    name="caption",
    help="Caption metrics as pycocoevalcap 1.2 computes them (BLEU, METEOR, ROUGE-L, CIDEr-D), plus more on request.",
    metrics=(*COCO_METRICS, *BERTSCORE, *CLIP, *ROUGE_SCORE[1:], *CHAIR),
    primary=("CIDEr", "Bleu_4", "CLIPScore", "BERTScore_F1", "METEOR", "ROUGE_L", "CHAIR_s"),
    options=OPTIONS,
    load=load,
    evaluate=evaluate,
    defaults=defaults,
    error_types=ERROR_TYPES,
    shard=Sharding(size, take, merge),
)
