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
ENGINES = ("local", "ray")
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
    Option("engine", str, "local", "Where the models run: local (this process), or ray (an actor pool, one model "
           "per GPU or CPU worker; pip install 'vlmeval[ray]').", choices=ENGINES, panel=PANEL),
    Option("ray_address", str, None, "The Ray cluster to join (ray://host:10001 or host:6379).",
           default_text="a local cluster", metavar="ADDR", panel=PANEL),
)  # fmt: skip


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
    engine: str = "local"  # local, or ray (vlmeval.scoring.ray_engine)
    ray_address: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """What the report records: where the models ran (--engine) changes no number, so it is left out."""
        return {k: v for k, v in self.__dict__.items() if v is not None and k not in ("engine", "ray_address")}

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
    evidence: dict[str, Any] = field(default_factory=dict)  # what vlmeval merge needs beyond the lists


class ModelCache:
    """What ``vlmeval.CaptionEvaluator`` keeps between calls: the loaded models, and per block of records the
    references' BERTScore embeddings, CLIP's image features and the references' CLIP text features. Each is
    computed as a one-shot run computes it (a block's reference sentences as one set, its images in order),
    so every call's numbers are the one-shot run's. A one-shot run has none."""

    def __init__(self) -> None:
        self._kept: dict[tuple, Any] = {}

    def get(self, key: tuple, build):
        if key not in self._kept:
            self._kept[key] = build()
        return self._kept[key]


def _kept(cache: ModelCache | None, model_key: tuple):
    """The store a block keeps its reference-side work in (None: a one-shot run keeps nothing)."""
    return None if cache is None else (lambda key, build: cache.get((*model_key, *key), build))


def score_model_metrics(
    predictions, references, keys: list[str], options: NeuralOptions | None, images, progress, result: Result,
    window=None, cache: ModelCache | None = None,
) -> None:
    """BERTScore and CLIPScore/RefCLIPScore (those of ``keys``), added to ``result``. ``cache``: an
    evaluator's ``ModelCache``."""
    options = options or NeuralOptions()
    out = NeuralScores()
    if set(keys) & set(BERTSCORE_KEYS):
        score_bertscore(predictions, references, options, out, progress, window, cache)
    if set(keys) & set(CLIP_KEYS):
        images = images or [None] * len(predictions)
        score_clip(predictions, references, images, keys, options, out, progress, window, cache)
    if window is not None:
        result.evidence["model"] = out.evidence
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


def _ray_version() -> dict[str, str]:
    from vlmeval.report.report import package_version

    return {"ray": package_version("ray") or "?"}


def score_bertscore(
    predictions: list[str],
    references: list[list[str]],
    options: NeuralOptions,
    out: NeuralScores,
    progress: Progress = QUIET,
    window=None,
    cache: ModelCache | None = None,
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
    model_key = ("bertscore", str(local.path), options.bertscore_layer, options.device, options.precision)
    with progress.step(f"BERTScore: loading {name}"):
        def load():
            return TextEncoder(local, options.bertscore_layer, options.device, options.precision)

        encoder = cache.get(model_key, load) if cache is not None else load()
    baseline = None
    if options.bertscore_rescale:
        source, text = _baseline_text(options, local.hub_name)
        try:
            baseline = read_baseline(text, encoder.layer)
        except ValueError as exc:
            raise VlmevalError(f"the BERTScore baseline {source}: {exc}") from None
    with progress.step(f"BERTScore ({local.hub_name}, layer {encoder.layer}) on {len(predictions)} samples"):
        run_blocks = None
        if options.engine == "ray":
            from vlmeval.scoring.ray_engine import bertscore_blocks

            run_blocks = bertscore_blocks(local, encoder, options)
        scores = bertscore(
            predictions,
            references,
            encoder,
            special_ids=encoder.special_ids,
            idf=options.bertscore_idf,
            baseline=baseline,
            window=window,
            run_blocks=run_blocks,
            keep=_kept(cache, model_key),
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
        out.warnings.append(empty_warning(empty))
    out.evidence["bertscore_empty"] = empty
    # the values the means are of (the QA tasks show unanswered questions as 0, which rescaling does not give)
    out.evidence["bertscore"] = {key: out.per_sample[key] for key in BERTSCORE_KEYS}
    out.environment.update(versions)
    if options.engine == "ray":
        out.environment.update(_ray_version())


def empty_warning(empty: int) -> str:
    return f"BERTScore: {empty} empty predictions score 0 (as bert_score scores them)"


def _baseline_text(options: NeuralOptions, hub_name: str) -> tuple[str, str]:
    """Where the baseline comes from, and its text."""
    if options.bertscore_baseline:
        path = Path(options.bertscore_baseline)
        if not path.is_file():
            raise VlmevalError(f"--bertscore-baseline {path}: no such file")
        try:
            return str(path), path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VlmevalError(f"--bertscore-baseline {path}: cannot read it as text ({exc})") from None
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
    return str(path), path.read_text()


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


CLIP_BLOCK = 4096  # records whose images and texts are encoded together (see score_clip)
CLIP_BATCH = 64  # image files per model batch


def score_clip(
    predictions: list[str],
    references: list[list[str]],
    images: list[str | None],
    keys: list[str],
    options: NeuralOptions,
    out: NeuralScores,
    progress: Progress = QUIET,
    window=None,
    cache: ModelCache | None = None,
) -> None:
    """CLIPScore (and RefCLIPScore) per sample with an image; samples without a usable image are counted and
    left out of the mean (their per-sample value is null).

    Records are scored in blocks of ``CLIP_BLOCK``: a block's distinct image files in batches of
    ``CLIP_BATCH`` (a batch encodes those of its files that decode), its texts batched by token length. A
    block's numbers depend on nothing outside it (a feature's last bits do depend on its batch), so a part of a
    sharded run (``window``: it computes the blocks it touches whole), a Ray worker and one process agree."""
    from vlmeval.metrics.clipscore import PROMPT, WEIGHT
    from vlmeval.models import CLIP_ENV, DEFAULT_CLIP_MODEL, locate_model, require_neural

    require_neural("CLIPScore")
    whole, at = (images, 0) if window is None else (window.images or [None] * len(window.predictions), window.start)
    if not any(whole):
        raise VlmevalError(
            "CLIPScore needs the images: give each record an 'image' field (a path, relative to --images DIR "
            "or to the predictions file), or use a COCO captions file whose images list their file_name"
        )
    name = options.clip_model or os.environ.get(CLIP_ENV) or DEFAULT_CLIP_MODEL
    local = locate_model(name, metric="CLIPScore", flag="--clip-model", env=CLIP_ENV)
    n = len(predictions)
    with_refs = "RefCLIPScore" in keys
    whole_p, whole_r = (predictions, references) if window is None else (window.predictions, window.references)
    blocks = [(b * CLIP_BLOCK, min((b + 1) * CLIP_BLOCK, len(whole_p))) for b in range(at // CLIP_BLOCK, -(-(at + n) // CLIP_BLOCK))]
    if options.engine == "ray":
        from vlmeval.scoring.ray_engine import clip_blocks

        with progress.step(f"CLIPScore on Ray ({name}): {len(blocks)} blocks of up to {CLIP_BLOCK} samples"):
            done, context, size = clip_blocks(local, options, [(whole_p[a:b], whole_r[a:b], whole[a:b]) for a, b in blocks], with_refs)
    else:
        from vlmeval.models import ClipEncoder

        model_key = ("clip", str(local.path), options.device, options.precision)
        with progress.step(f"CLIPScore: loading {name}"):
            def load():
                return ClipEncoder(local, options.device, options.precision)

            encoder = cache.get(model_key, load) if cache is not None else load()
        keep = _kept(cache, model_key)
        done = []
        with progress.step(f"CLIPScore on {n} samples", total=n) as advance:
            for a, b in blocks:
                done.append(clip_block(encoder, whole_p[a:b], whole_r[a:b], whole[a:b], with_refs, options.workers, keep))
                advance(min(b, at + n) - max(a, at))
        context, size = encoder.context, encoder.image_size
    first = blocks[0][0] if blocks else 0
    rows = {k: np.concatenate([d[k] for d in done])[at - first : at - first + n] for k in ClipRows.__annotations__}
    per_clip = rows["clip"]
    scored = np.flatnonzero(~np.isnan(per_clip))
    fields = {
        "model": local.hub_name,
        "prompt": PROMPT.strip().replace(" ", "_"),
        "w": f"{WEIGHT:g}",
        "ctx": context,
        "img": f"bicubic{size}-crop-exif",
        "prec": options.precision,
        "parity": "clipscore-hessel2021",
    }
    if "CLIPScore" in keys:
        out.metrics["CLIPScore"] = float(np.mean(per_clip[scored])) if len(scored) else float("nan")
        out.per_sample["CLIPScore"] = per_clip.tolist()
        out.signature["CLIPScore"] = signature("CLIP-S", fields)
    if with_refs:
        per_ref = rows["ref_clip"]
        out.metrics["RefCLIPScore"] = float(np.mean(per_ref[scored])) if len(scored) else float("nan")
        out.per_sample["RefCLIPScore"] = per_ref.tolist()
        out.signature["RefCLIPScore"] = signature(
            "RefCLIP-S", {**fields, "nrefs": nrefs([len(r) for r in references])}
        )
    problems: dict[str, int] = {}
    for reason in rows["problem"].tolist():
        if reason and reason != "no_image":
            problems[reason] = problems.get(reason, 0) + 1
    no_image = int(np.sum(rows["problem"] == "no_image"))
    if no_image:
        problems["no_image"] = no_image
    examples = [str(e) for e in rows["example"].tolist() if e][:3]
    truncated, ref_truncated = int(rows["truncated"].sum()), int(rows["ref_truncated"].sum())
    out.skipped.update(problems)
    out.warnings.extend(clip_warnings(len(scored), n, problems, examples, truncated, ref_truncated, context))
    out.evidence["clip"] = {"scored": len(scored), "problems": problems, "examples": examples, "context": context}
    out.environment.update(_versions())
    if options.engine == "ray":
        out.environment.update(_ray_version())
    out.counts.update({"clip_truncated_predictions": truncated, "clip_truncated_references": ref_truncated})


def clip_warnings(scored: int, n: int, problems: dict[str, int], examples: list[str], truncated: int,
                  ref_truncated: int, context: int) -> list[str]:  # fmt: skip
    out = []
    if problems:
        shown = "; ".join(examples)
        out.append(
            f"CLIPScore: {scored} of {n} samples scored; left out: "
            + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in problems.items())
            + (f" ({shown})" if shown else "")
        )
    if truncated or ref_truncated:
        out.append(
            f"CLIPScore: {truncated} predictions and {ref_truncated} references were longer than CLIP's "
            f"{context} tokens and were truncated (as clip.tokenize(truncate=True))"
        )
    return out


@dataclass
class ClipRows:
    """Per sample of a block: CLIP-S and RefCLIP-S (NaN: not scored), why it was not (a skip key, or None), the
    problem's message, whether its prediction was truncated, how many of its references were."""

    clip: np.ndarray
    ref_clip: np.ndarray
    problem: np.ndarray  # object: None, or missing_image / unreadable_image / no_image
    example: np.ndarray  # object: None, or the problem's message (a file's)
    truncated: np.ndarray
    ref_truncated: np.ndarray


def clip_block(encoder, predictions, references, images, with_refs: bool, workers: int | None = None,
               keep=None) -> dict:  # fmt: skip
    """``ClipRows`` (as a dict of arrays) of one block of records. ``keep``: an evaluator's store, which then
    encodes the block's images and references once for every call."""
    from concurrent.futures import ThreadPoolExecutor

    from vlmeval.io.images import ImageProblem, clip_pixels
    from vlmeval.metrics.clipscore import WEIGHT, clip_s, max_reference_cosine, prompted, ref_clip_s

    n = len(predictions)
    unique: dict[str, int] = {}  # each distinct image file once
    image_index = np.full(n, -1)
    for i, path in enumerate(images):
        if path:
            image_index[i] = unique.setdefault(path, len(unique))
    paths = list(unique)
    size = encoder.image_size

    def load(path: str):
        try:
            return clip_pixels(Path(path), size, encoder.mean, encoder.std)
        except ImageProblem as problem:
            return problem

    def encode_images():
        image_feats = np.zeros((len(paths), encoder.model.config.projection_dim))
        failed: dict[int, ImageProblem] = {}
        # decoding runs in worker threads (Pillow releases the GIL) while the model encodes the last batch
        with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
            loaded = _bounded_map(pool, load, paths, ahead=4 * CLIP_BATCH)
            for start in range(0, len(paths), CLIP_BATCH):
                batch = [(k, next(loaded)) for k in range(start, min(start + CLIP_BATCH, len(paths)))]
                good = [(k, x) for k, x in batch if not isinstance(x, ImageProblem)]
                failed.update((k, x) for k, x in batch if isinstance(x, ImageProblem))
                if good:
                    image_feats[[k for k, _ in good]] = encoder.image_features([x for _, x in good])
        return image_feats, failed

    image_feats, failed = keep(("images", tuple(paths)), encode_images) if keep else encode_images()
    usable = np.array([k not in failed for k in range(len(paths))], dtype=bool)
    has = image_index >= 0
    scored = np.flatnonzero(has & usable[np.maximum(image_index, 0)])
    problem = np.array([None] * n, dtype=object)
    example = np.array([None] * n, dtype=object)
    problem[~has] = "no_image"
    for i in np.flatnonzero(has):
        found = failed.get(int(image_index[i]))
        if found is not None:
            problem[i], example[i] = found.reason, str(found)
    cand_feats, cand_cut = encoder.text_features(prompted([predictions[i] for i in scored]))
    rows = ClipRows(np.full(n, np.nan), np.full(n, np.nan), problem, example, np.zeros(n, dtype=np.int64),
                    np.zeros(n, dtype=np.int64))  # fmt: skip
    rows.clip[scored] = clip_s(image_feats[image_index[scored]], cand_feats, WEIGHT)
    rows.truncated[scored] = cand_cut
    if with_refs:
        groups = [references[i] for i in scored]
        flat = [r for rs in groups for r in rs]
        group = np.repeat(np.arange(len(scored)), [len(rs) for rs in groups])
        def encode_references():
            return encoder.text_features(prompted(flat))

        ref_feats, ref_cut = keep(("references", tuple(flat)), encode_references) if keep else encode_references()
        text_text = max_reference_cosine(cand_feats, ref_feats, group, len(scored))
        rows.ref_clip[scored] = ref_clip_s(rows.clip[scored], text_text)
        rows.ref_truncated[scored] = np.bincount(group, weights=ref_cut, minlength=len(scored)).astype(np.int64)
    return dict(rows.__dict__)


def merge_model_metrics(parts: list, keys: list[str], out: Result) -> None:
    """BERTScore and CLIPScore/RefCLIPScore of the run from its parts: means of the joined per-sample values,
    counts and warnings from the parts' sums (each part computed whole the blocks it touched, with the IDF and
    bert_score's batches of the whole input)."""
    from vlmeval import shard

    found = shard.evidence(parts, "model")
    for key in keys:
        if key in BERTSCORE_KEYS:
            values = np.asarray([x for f in found for x in f["bertscore"][key]], dtype=np.float64)
            out.metrics[key] = float(np.mean(values)) if len(values) else 0.0
            continue
        values = np.asarray(shard.per_sample(parts, key), dtype=np.float64)
        scored = values[~np.isnan(values)]
        out.metrics[key] = float(np.mean(scored)) if len(scored) else float("nan")
    if set(keys) & set(BERTSCORE_KEYS):
        empty = sum(f["bertscore_empty"] for f in found)
        if empty:
            out.warnings.append(empty_warning(empty))
    if set(keys) & set(CLIP_KEYS):
        clips = [f["clip"] for f in found]
        problems: dict[str, int] = {}
        for clip in clips:
            for reason, count in clip["problems"].items():
                if reason != "no_image":
                    problems[reason] = problems.get(reason, 0) + count
        no_image = sum(c["problems"].get("no_image", 0) for c in clips)
        if no_image:
            problems["no_image"] = no_image
        names = ("clip_truncated_predictions", "clip_truncated_references")
        counted = [sum(c.get(k, 0) for c in shard.evidence(parts, "counts")) for k in names]
        examples = [e for c in clips for e in c["examples"]][:3]
        scored = sum(c["scored"] for c in clips)
        out.warnings.extend(clip_warnings(scored, parts[0].shard["total"], problems, examples, *counted, clips[0]["context"]))
        if problems:
            out.counts.setdefault("skipped", {}).update(problems)
        out.counts.update(dict(zip(names, counted)))
