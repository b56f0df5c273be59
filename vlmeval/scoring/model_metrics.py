"""Model-based metrics with local models: BERTScore (captions and free-form answers), CLIPScore and
RefCLIPScore (captions with images). torch and transformers are imported only when one of them runs; the
options that choose the models are declared here once, for every task that offers these metrics."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlmeval.errors import MissingDependency, VlmevalError
from vlmeval.models import PRECISIONS  # models.py imports torch only inside its functions
from vlmeval.progress import QUIET, Progress
from vlmeval.report.signature import nrefs, signature
from vlmeval.tasks.task import Metric, Option, Result

BERTSCORE = tuple(
    Metric(f"BERTScore_{p}", "0-1", "bert_score 0.3.13", family="BERTScore", needs="neural", default=False)
    for p in ("P", "R", "F1")
)
CLIP = (
    Metric("CLIPScore", "0-2.5", "Hessel et al. 2021 (jmhessel/clipscore)", needs="neural", default=False),
    Metric("RefCLIPScore", "0-2.5", "Hessel et al. 2021 (jmhessel/clipscore)", needs="neural", default=False),
)
BERTSCORE_KEYS = tuple(m.key for m in BERTSCORE)
CLIP_KEYS = tuple(m.key for m in CLIP)
MODEL_KEYS = frozenset(BERTSCORE_KEYS + CLIP_KEYS)

PANEL = "Model-based metrics (BERTScore, CLIPScore)"
BERTSCORE_OPTIONS = (
    Option(
        "bertscore_model",
        str,
        None,
        "BERTScore model: a local folder or a hub name in the local cache.",
        default_text="$VLMEVAL_BERTSCORE_MODEL, else roberta-large",
        panel=PANEL,
    ),
    Option(
        "bertscore_layer",
        int,
        None,
        "Layer to use.",
        minimum=0,
        default_text="bert_score's table, else the last",
        panel=PANEL,
    ),
    Option("bertscore_idf", bool, False, "IDF weights from the references.", panel=PANEL),
    Option(
        "bertscore_rescale", bool, False, "Rescale with bert_score's baseline for the model.", panel=PANEL
    ),
    Option("bertscore_lang", str, "en", "Language of the rescale baseline.", panel=PANEL),
    Option("bertscore_baseline", Path, None, "A custom baseline file (bert_score's format).", panel=PANEL),
)
CLIP_OPTIONS = (
    Option(
        "clip_model",
        str,
        None,
        "CLIP model: a local folder or a cached hub name.",
        default_text="$VLMEVAL_CLIP_MODEL, else openai/clip-vit-base-patch32",
        panel=PANEL,
    ),
)
DEVICE_OPTIONS = (
    Option(
        "precision",
        str,
        "fp32",
        "Model precision: fp32 (reference numbers), bf16 or fp16.",
        choices=PRECISIONS,
        panel=PANEL,
    ),
    Option(
        "device", str, None, "torch device for model metrics.", default_text="cuda if available", panel=PANEL
    ),
)


@dataclass
class NeuralOptions:
    bertscore_model: str | None = (
        None  # path or cached hub name; default $VLMEVAL_BERTSCORE_MODEL or roberta-large
    )
    bertscore_layer: int | None = None
    bertscore_idf: bool = False
    bertscore_rescale: bool = False
    bertscore_lang: str = "en"
    bertscore_baseline: str | None = None  # a custom baseline file (bert_score's baseline_path)
    clip_model: str | None = None  # default $VLMEVAL_CLIP_MODEL or openai/clip-vit-base-patch32
    precision: str = "fp32"
    device: str | None = None
    workers: int | None = None  # image decoding threads

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> NeuralOptions:
        """The options among a command's values (``--bertscore-model`` ...), as the report records them."""
        names = {f for f in cls.__dataclass_fields__}
        chosen = {k: v for k, v in values.items() if k in names}
        if chosen.get("bertscore_baseline") is not None:
            chosen["bertscore_baseline"] = str(chosen["bertscore_baseline"])
        return cls(**chosen)


@dataclass
class NeuralScores:
    metrics: dict[str, float] = field(default_factory=dict)
    per_sample: dict[str, list[float]] = field(default_factory=dict)
    signature: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def score_model_metrics(
    predictions, references, keys: list[str], options: NeuralOptions | None, images, progress, result: Result
) -> None:
    """BERTScore and CLIPScore/RefCLIPScore (those of ``keys``), added to ``result``."""
    options = options or NeuralOptions()
    out = NeuralScores()
    if set(keys) & set(BERTSCORE_KEYS):
        score_bertscore(predictions, references, options, out, progress)
    if set(keys) & set(CLIP_KEYS):
        score_clip(predictions, references, images or [None] * len(predictions), keys, options, out, progress)
    for key in keys:
        result.metrics[key] = out.metrics[key]
        result.per_sample[key] = out.per_sample[key]
        result.signature[key] = out.signature[key]
    result.warnings.extend(out.warnings)
    result.environment.update(out.environment)
    if out.skipped:
        result.counts.setdefault("skipped", {}).update(out.skipped)
    result.counts.update(out.counts)


def _versions() -> dict[str, str]:
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__}


def score_bertscore(
    predictions: list[str],
    references: list[list[str]],
    options: NeuralOptions,
    out: NeuralScores,
    progress: Progress = QUIET,
) -> None:
    from vlmeval.metrics.bertscore import bertscore, read_baseline
    from vlmeval.models import (
        BERTSCORE_ENV,
        DEFAULT_BERTSCORE_MODEL,
        TextEncoder,
        locate_model,
        require_neural,
    )

    require_neural("BERTScore")
    name = options.bertscore_model or os.environ.get(BERTSCORE_ENV) or DEFAULT_BERTSCORE_MODEL
    local = locate_model(name, metric="BERTScore", flag="--bertscore-model", env=BERTSCORE_ENV)
    with progress.step(f"BERTScore: loading {name}"):
        encoder = TextEncoder(local, options.bertscore_layer, options.device, options.precision)
    baseline = None
    if options.bertscore_rescale:
        baseline = read_baseline(_baseline_text(options, local.hub_name), encoder.layer)
    with progress.step(f"BERTScore ({local.hub_name}, layer {encoder.layer}) on {len(predictions)} samples"):
        scores = bertscore(
            predictions,
            references,
            encoder,
            special_ids=encoder.special_ids,
            idf=options.bertscore_idf,
            baseline=baseline,
        )
    # bert_score's hash: model_L<layer>_<idf|no-idf>_version=...(hug_trans=...)[-rescaled|-custom-rescaled]
    versions = _versions()
    fields = {
        "model": local.hub_name,
        "L": encoder.layer,
        "idf": "yes" if options.bertscore_idf else "no",
        "rescaled": ("custom" if options.bertscore_baseline else options.bertscore_lang)
        if options.bertscore_rescale
        else "no",
        "tok": "fast",
        "prec": options.precision,
        "multi": "max",
        "nrefs": nrefs([len(r) for r in references]),
        "hug_trans": versions["transformers"],
        "parity": "bert_score-0.3.13",
    }
    for col, key in enumerate(BERTSCORE_KEYS):
        values = scores[:, col]
        out.metrics[key] = float(np.mean(values)) if len(values) else 0.0
        out.per_sample[key] = values.tolist()
        out.signature[key] = signature(key.replace("_", "-"), fields)
    empty = sum(1 for p in predictions if not p.strip())
    if empty:
        out.warnings.append(f"BERTScore: {empty} empty predictions score 0 (as bert_score scores them)")
    out.environment.update(versions)


def _baseline_text(options: NeuralOptions, hub_name: str) -> str:
    if options.bertscore_baseline:
        path = Path(options.bertscore_baseline)
        if not path.is_file():
            raise VlmevalError(f"--bertscore-baseline {path}: no such file")
        return path.read_text()
    import importlib.util

    spec = importlib.util.find_spec("bert_score")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency(
            "BERTScore rescaling reads bert_score's baseline files, and bert_score is not installed: "
            "pip install 'vlmeval[neural]' (or pass --bertscore-baseline FILE)."
        )
    path = (
        Path(list(spec.submodule_search_locations)[0])
        / "rescale_baseline"
        / options.bertscore_lang
        / (f"{hub_name}.tsv")
    )
    if not path.is_file():
        raise MissingDependency(
            f"bert_score ships no {options.bertscore_lang!r} baseline for {hub_name} ({path}): pass "
            f"--bertscore-baseline FILE, or leave out --bertscore-rescale."
        )
    return path.read_text()


def _bounded_map(pool, fn, items, ahead: int):
    """``pool.map`` that keeps at most ``ahead`` results decoded ahead of the consumer: decoding may run
    faster than the model, and a million decoded images do not fit in memory."""
    from collections import deque

    queue: deque = deque()
    it = iter(items)
    for item in it:
        queue.append(pool.submit(fn, item))
        if len(queue) >= ahead:
            break
    while queue:
        result = queue.popleft().result()
        nxt = next(it, None)
        if nxt is not None:
            queue.append(pool.submit(fn, nxt))
        yield result


def score_clip(
    predictions: list[str],
    references: list[list[str]],
    images: list[str | None],
    keys: list[str],
    options: NeuralOptions,
    out: NeuralScores,
    progress: Progress = QUIET,
) -> None:
    """CLIPScore (and RefCLIPScore) per sample with an image; samples without a usable image are counted and
    left out of the mean (their per-sample value is null)."""
    from concurrent.futures import ThreadPoolExecutor

    from vlmeval.io.images import ImageProblem, clip_pixels
    from vlmeval.metrics.clipscore import PROMPT, WEIGHT, clip_s, max_reference_cosine, prompted, ref_clip_s
    from vlmeval.models import CLIP_ENV, DEFAULT_CLIP_MODEL, ClipEncoder, locate_model, require_neural

    require_neural("CLIPScore")
    if not any(images):
        raise VlmevalError(
            "CLIPScore needs the images: give each record an 'image' field (a path, relative to --images DIR "
            "or to the predictions file), or use a COCO captions file whose images list their file_name"
        )
    name = options.clip_model or os.environ.get(CLIP_ENV) or DEFAULT_CLIP_MODEL
    local = locate_model(name, metric="CLIPScore", flag="--clip-model", env=CLIP_ENV)
    with progress.step(f"CLIPScore: loading {name}"):
        encoder = ClipEncoder(local, options.device, options.precision)

    n = len(predictions)
    # each distinct image file once
    unique: dict[str, int] = {}
    image_index = np.full(n, -1)
    for i, path in enumerate(images):
        if path:
            image_index[i] = unique.setdefault(path, len(unique))
    paths = list(unique)
    image_feats = np.zeros((len(paths), encoder.model.config.projection_dim))
    usable = np.zeros(len(paths), dtype=bool)
    problems: dict[str, int] = {}
    examples: list[str] = []
    workers = options.workers or min(8, os.cpu_count() or 1)
    size = encoder.image_size

    def load(path: str):
        try:
            return clip_pixels(Path(path), size, encoder.mean, encoder.std)
        except ImageProblem as problem:
            return problem

    batch = 64
    with progress.step(f"CLIPScore: {len(paths)} images", total=len(paths)) as advance:
        # decoding runs in worker threads (Pillow releases the GIL) while the model encodes the last batch
        with ThreadPoolExecutor(max_workers=workers) as pool:
            loaded = _bounded_map(pool, load, paths, ahead=4 * batch)
            pending: list[tuple[int, Any]] = []
            for k, result in enumerate(loaded):
                if isinstance(result, ImageProblem):
                    problems[result.reason] = problems.get(result.reason, 0) + 1
                    if len(examples) < 3:
                        examples.append(str(result))
                else:
                    pending.append((k, result))
                if len(pending) == batch or (k == len(paths) - 1 and pending):
                    rows = [p[0] for p in pending]
                    image_feats[rows] = encoder.image_features([p[1] for p in pending])
                    usable[rows] = True
                    advance(len(pending))
                    pending = []
    no_image = int(np.sum(image_index < 0))
    if no_image:
        problems["no_image"] = no_image
    scored = np.flatnonzero((image_index >= 0) & usable[np.maximum(image_index, 0)])
    with progress.step("CLIPScore: captions"):
        cand_feats, truncated = encoder.text_features(prompted([predictions[i] for i in scored]))
    per_clip = np.full(n, np.nan)
    per_clip[scored] = clip_s(image_feats[image_index[scored]], cand_feats, WEIGHT)
    fields = {
        "model": local.hub_name,
        "prompt": PROMPT.strip().replace(" ", "_"),
        "w": f"{WEIGHT:g}",
        "ctx": encoder.context,
        "img": f"bicubic{size}-crop-exif",
        "prec": options.precision,
        "parity": "clipscore-hessel2021",
    }
    if "CLIPScore" in keys:
        out.metrics["CLIPScore"] = float(np.mean(per_clip[scored])) if len(scored) else float("nan")
        out.per_sample["CLIPScore"] = per_clip.tolist()
        out.signature["CLIPScore"] = signature("CLIP-S", fields)
    ref_truncated = 0
    if "RefCLIPScore" in keys:
        groups = [references[i] for i in scored]
        flat = [r for rs in groups for r in rs]
        group = np.repeat(np.arange(len(scored)), [len(rs) for rs in groups])
        ref_feats, ref_truncated = encoder.text_features(prompted(flat))
        text_text = max_reference_cosine(cand_feats, ref_feats, group, len(scored))
        per_ref = np.full(n, np.nan)
        per_ref[scored] = ref_clip_s(per_clip[scored], text_text)
        out.metrics["RefCLIPScore"] = float(np.mean(per_ref[scored])) if len(scored) else float("nan")
        out.per_sample["RefCLIPScore"] = per_ref.tolist()
        out.signature["RefCLIPScore"] = signature(
            "RefCLIP-S", {**fields, "nrefs": nrefs([len(r) for r in references])}
        )
    for reason, count in problems.items():
        out.skipped[reason] = count
    if problems:
        shown = "; ".join(examples)
        out.warnings.append(
            f"CLIPScore: {len(scored)} of {n} samples scored; left out: "
            + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in problems.items())
            + (f" ({shown})" if shown else "")
        )
    if truncated or ref_truncated:
        out.warnings.append(
            f"CLIPScore: {truncated} predictions and {ref_truncated} references were longer than CLIP's "
            f"{encoder.context} tokens and were truncated (as clip.tokenize(truncate=True))"
        )
    out.environment.update(_versions())
    out.counts.update({"clip_truncated_predictions": truncated, "clip_truncated_references": ref_truncated})
