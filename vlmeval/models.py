"""Local models for the model-based metrics (BERTScore, CLIPScore): found, never downloaded.

A model is a local directory or a Hugging Face hub name already in the local cache. The hub is switched to
offline mode before transformers is imported, so nothing is fetched at run time; a missing model is one
sentence saying which model, where we looked and how to get it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vlmeval.errors import MissingDependency, VlmevalError

BERTSCORE_ENV = "VLMEVAL_BERTSCORE_MODEL"
CLIP_ENV = "VLMEVAL_CLIP_MODEL"
DEFAULT_BERTSCORE_MODEL = "roberta-large"
DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"


def offline_hub() -> None:
    """Nothing downloads: the hub and transformers read the local cache only."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def quiet_transformers() -> None:
    """Our own progress and warnings go to stderr; transformers' loading bars and notices do not."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def require_neural(metric: str) -> None:
    import importlib.util

    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependency(
            f"{metric} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
            f"installed: pip install 'vlmeval[neural]' (after the torch build you want, e.g. a CPU one)."
        )


@dataclass(frozen=True)
class LocalModel:
    name: str  # what the user gave (hub name or path)
    path: Path  # local directory holding config.json and the weights
    hub_name: str  # the hub name it stands for (for layer tables and baselines); the folder name for paths


def _hub_cache() -> str:
    try:
        from huggingface_hub.constants import HF_HUB_CACHE

        return str(HF_HUB_CACHE)
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return os.path.expanduser("~/.cache/huggingface/hub")


def locate_model(name: str, *, metric: str, flag: str, env: str) -> LocalModel:
    """A local directory, or a hub name resolved in the local Hugging Face cache without network."""
    offline_hub()
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise VlmevalError(
                f"{metric} model folder {path} has no config.json: point {flag} at a folder saved with "
                f"save_pretrained() (config.json, weights, tokenizer files)."
            )
        return LocalModel(name, path, _hub_name(path))
    looks_like_path = name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1)
    if not looks_like_path:
        try:
            from huggingface_hub import snapshot_download

            found = Path(snapshot_download(name, local_files_only=True))
            if (found / "config.json").is_file():
                return LocalModel(name, found, name)
        except Exception:  # noqa: BLE001 - any failure means "not in the cache"
            pass
    raise MissingDependency(
        f"{metric} model {name!r} is not a local folder and is not in the Hugging Face cache "
        f"({_hub_cache()}); on a machine with network run `huggingface-cli download {name}` (then copy the "
        f"cache or the folder here) and pass {flag} PATH or set {env}."
    )


def _hub_name(path: Path) -> str:
    """The hub name a saved model folder stands for: the cache layout models--org--name, else the folder."""
    for part in reversed(path.resolve().parts):
        if part.startswith("models--"):
            return part[len("models--") :].replace("--", "/")
    return path.name


def pick_device(device: str | None) -> str:
    import torch

    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


PRECISIONS = ("fp32", "bf16", "fp16")


def torch_dtype(precision: str):
    import torch

    try:
        return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    except KeyError:
        raise VlmevalError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}") from None


class TextEncoder:
    """A transformers encoder cut at ``layer`` (as bert_score cuts it) with its fast tokenizer; encodes
    sentences as bert_score's ``sent_encode`` does and returns L2-normalised token embeddings."""

    def __init__(self, local: LocalModel, layer: int | None, device: str | None, precision: str = "fp32"):
        offline_hub()
        quiet_transformers()
        from transformers import AutoModel, AutoTokenizer

        from vlmeval.metrics.bertscore import MODEL_LAYERS

        self.local = local
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(local.path), use_fast=True)
            model = AutoModel.from_pretrained(str(local.path))
        except Exception as exc:  # noqa: BLE001 - a broken or foreign folder: one sentence, not a traceback
            raise VlmevalError(f"cannot load the BERTScore model at {local.path}: {_one_line(exc)}") from None
        if hasattr(model, "decoder") and hasattr(model, "encoder"):
            model = model.encoder  # T5/BART: the encoder, as bert_score
        total = _num_layers(model)
        if layer is None:
            layer = MODEL_LAYERS.get(local.hub_name, total)
        if not 0 <= layer <= total:
            raise VlmevalError(
                f"--bertscore-layer {layer} is out of range: {local.name} has layers 0..{total}"
            )
        self.layer, self.num_layers = layer, total
        _truncate(model, layer)
        self.device = pick_device(device)
        self.precision = precision
        self.model = model.eval().to(self.device, dtype=torch_dtype(precision))
        tok = self.tokenizer
        self.special_ids = {i for i in (tok.cls_token_id, tok.sep_token_id) if i is not None}
        # bert_score passes add_prefix_space=True to GPT-2/RoBERTa (byte-level BPE) tokenizers: a space
        # before the (stripped, non-empty) sentence gives the same ids with the fast tokenizer
        self.prefix_space = _byte_level(tok)
        limit = tok.model_max_length
        self.max_length = int(limit) if limit and limit < 1_000_000 else None

    def token_ids(self, sentences: list[str]) -> list[list[int]]:
        texts = [(" " + s if self.prefix_space and s else s) for s in (x.strip() for x in sentences)]
        kwargs = {"truncation": True, "max_length": self.max_length} if self.max_length else {}
        return self.tokenizer(texts, add_special_tokens=True, **kwargs)["input_ids"]

    def __call__(self, sentences: list[str], batch_tokens: int = 8192, max_batch: int = 256):
        import numpy as np
        import torch

        from vlmeval.metrics.bertscore import EncodedSentences

        ids = self.token_ids(sentences)
        lengths = np.array([len(x) for x in ids], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        width = self.model.config.hidden_size
        flat = torch.empty((int(lengths.sum()), width), dtype=torch.float32, device=self.device)
        # sentences of one token length per batch: no padding, no attention mask, nothing computed twice
        order = np.argsort(lengths, kind="stable")
        bounds = np.flatnonzero(np.diff(lengths[order])) + 1
        batches = []
        for group in np.split(order, bounds):
            if len(group) == 0:
                continue
            size = max(1, min(max_batch, batch_tokens // max(int(lengths[group[0]]), 1)))
            batches.extend(group[i : i + size] for i in range(0, len(group), size))
        with torch.inference_mode():
            for batch in batches:
                input_ids = torch.tensor([ids[k] for k in batch], dtype=torch.long, device=self.device)
                hidden = self.model(input_ids)[0].float()
                hidden = hidden / hidden.norm(dim=-1, keepdim=True)
                rows = torch.as_tensor(
                    (offsets[batch][:, None] + np.arange(input_ids.shape[1])[None, :]).ravel(),
                    device=self.device,
                )
                flat[rows] = hidden.reshape(-1, width)
        return EncodedSentences(flat, offsets, lengths, [list(x) for x in ids])


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _byte_level(tokenizer) -> bool:
    names = {c.__name__ for c in type(tokenizer).__mro__}
    slow = getattr(tokenizer, "slow_tokenizer_class", None)
    if slow is not None:
        names |= {c.__name__ for c in slow.__mro__}
    return bool(names & {"GPT2Tokenizer", "RobertaTokenizer", "GPT2TokenizerFast", "RobertaTokenizerFast"})


def _layer_list(model):
    """The module list bert_score truncates, per architecture family."""
    from torch.nn import ModuleList

    for owner, attr in (
        (getattr(model, "encoder", None), "layer"),  # BERT, RoBERTa, ELECTRA, DeBERTa
        (getattr(model, "encoder", None), "block"),  # T5
        (getattr(model, "transformer", None), "layer"),  # DistilBERT
        (model, "layers"),  # BART encoder
        (model, "layer"),  # XLNet
    ):
        if owner is not None and isinstance(getattr(owner, attr, None), ModuleList):
            return owner, attr
    raise VlmevalError(f"BERTScore cannot cut {type(model).__name__} at a layer (bert_score does not either)")


def _num_layers(model) -> int:
    owner, attr = _layer_list(model)
    return len(getattr(owner, attr))


def _truncate(model, layer: int) -> None:
    import torch

    owner, attr = _layer_list(model)
    setattr(owner, attr, torch.nn.ModuleList(list(getattr(owner, attr))[:layer]))


CLIP_CONTEXT = 77  # CLIP's text context: longer captions are truncated (clip.tokenize(truncate=True))


def clip_text(text: str) -> str:
    """clip.tokenize's cleaning (SimpleTokenizer's basic_clean and whitespace_clean, then lower case):
    ftfy.fix_text (curly quotes, ligatures, full-width letters, mojibake), HTML entities unescaped twice,
    runs of whitespace one space. transformers' fast CLIP tokenizer does none of the first two."""
    import html
    import re

    try:
        import ftfy
    except ImportError:
        raise MissingDependency("CLIPScore needs ftfy (clip.tokenize cleans text with it): pip install 'vlmeval[neural]'") from None
    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


class ClipEncoder:
    """A transformers CLIPModel with its tokenizer and image settings, from a local folder."""

    def __init__(self, local: LocalModel, device: str | None, precision: str = "fp32"):
        offline_hub()
        quiet_transformers()
        import json

        from transformers import AutoTokenizer, CLIPModel

        from vlmeval.io.images import CLIP_MEAN, CLIP_STD

        self.local = local
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(local.path))
            model = CLIPModel.from_pretrained(str(local.path))
        except Exception as exc:  # noqa: BLE001 - a broken or foreign folder: one sentence, not a traceback
            raise VlmevalError(f"cannot load the CLIP model at {local.path}: {_one_line(exc)}") from None
        self.device = pick_device(device)
        self.precision = precision
        self.model = model.eval().to(self.device, dtype=torch_dtype(precision))
        self.context = min(CLIP_CONTEXT, self.model.config.text_config.max_position_embeddings)
        self.image_size = self.model.config.vision_config.image_size
        self.mean, self.std = CLIP_MEAN, CLIP_STD
        config = local.path / "preprocessor_config.json"
        if config.is_file():
            settings = json.loads(config.read_text())
            self.mean = tuple(settings.get("image_mean", self.mean))
            self.std = tuple(settings.get("image_std", self.std))

    def token_ids(self, texts: list[str]):
        """clip.tokenize(truncate=True)'s ids (without its padding) and which texts it truncated: its text
        cleaning (``clip_text``), then the BPE; past the context the first context-1 tokens and the
        end-of-text token."""
        import numpy as np

        full = self.tokenizer([clip_text(t) for t in texts], add_special_tokens=True)["input_ids"] if texts else []
        truncated = np.array([len(ids) > self.context for ids in full], dtype=bool)
        eot = full[0][-1] if full else 0
        return [x if len(x) <= self.context else x[: self.context - 1] + [eot] for x in full], truncated

    def text_features(self, texts: list[str], batch: int = 256):
        """L2-normalised text features (float64 numpy) and which texts were truncated to the context (bool
        per text). Texts are batched by token length (less padding; CLIP's causal text model makes padding
        inert)."""
        import numpy as np
        import torch

        ids, truncated = self.token_ids(texts)
        eot = ids[0][-1] if ids else 0
        lengths = np.array([len(x) for x in ids], dtype=np.int64)
        order = np.argsort(lengths, kind="stable")
        width = self.model.config.projection_dim
        feats = np.zeros((len(ids), width), dtype=np.float32)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eot
        with torch.inference_mode():
            for a in range(0, len(order), batch):
                rows = order[a : a + batch]
                longest = int(lengths[rows].max())
                input_ids = torch.full((len(rows), longest), pad, dtype=torch.long)
                mask = torch.zeros((len(rows), longest), dtype=torch.long)
                for r, k in enumerate(rows):
                    input_ids[r, : lengths[k]] = torch.tensor(ids[k])
                    mask[r, : lengths[k]] = 1
                out = self.model.get_text_features(
                    input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device)
                )
                feats[rows] = _features(out).float().cpu().numpy()
        return _normalise(feats), truncated

    def image_features(self, pixels):
        import numpy as np
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.stack(pixels)).to(self.device, dtype=self.model.dtype)
            out = self.model.get_image_features(pixel_values=x)
        return _normalise(_features(out).float().cpu().numpy())


def _features(out):
    """get_*_features returns a tensor (transformers 4) or an output with the pooled projection (5)."""
    if hasattr(out, "pooler_output") and not hasattr(out, "shape"):
        return out.pooler_output
    return out


def _normalise(x):
    import numpy as np

    x = x.astype(np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)
