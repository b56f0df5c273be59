"""BERTScore and CLIPScore/RefCLIPScore on a Ray cluster (``--engine ray [--ray-address ADDR]``, extra
``vlmeval[ray]``): blocks of records stream through Ray Data to an actor pool, one model replica per GPU (or per
CPU worker when the cluster has none), and each block's per-sample statistics come back in order.

What runs where, so that the numbers equal one process's exactly:
- the driver makes the plan from the whole input: the blocks (``bertscore.BLOCK_RECORDS``,
  ``model_metrics.CLIP_BLOCK`` records), BERTScore's IDF over all references and bert_score's floor flags of
  each block's pairs (its batches of 64 pairs cross blocks);
- a worker scores whole blocks (``bertscore.score_block``, ``model_metrics.clip_block``): a block's sentences
  are embedded together and its pairs matched together, its images encoded in the same batches, so a block's
  numbers are the ones one process computes for it;
- the driver puts the blocks' rows back in order and computes the corpus numbers, as one process does.
On CPU, a model's last bits also depend on torch's thread count: a CPU worker uses the driver's count (a local
cluster then equals this machine's one-process run). Image files are read by the workers: on a cluster they
must see the same paths (a shared file system).

ray is imported here only (``vlmeval --help`` and the local engine never import it).
"""

from __future__ import annotations

import logging
import os
import pickle
import warnings
from typing import Any

import numpy as np

from vlmeval.errors import MissingDependency, VlmevalError


def connect(address: str | None) -> Any:
    """The ray module, joined to the cluster at ``address``, or to a local one it starts (or already runs)."""
    try:
        import ray
    except ImportError:
        raise MissingDependency(
            "--engine ray needs Ray, which is not installed: pip install 'vlmeval[ray]'"
        ) from None
    if not ray.is_initialized():
        try:
            ray.init(
                address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR
            )
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
            raise VlmevalError(f"cannot start or join {where}: {' '.join(str(exc).split())[:200]}") from None
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return ray


def pool(ray: Any, device: str | None, blocks: int) -> tuple[int, dict[str, float]]:
    """Actors and each one's resources: one per GPU of the cluster (unless --device cpu), else one per CPU."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus and not (device or "").startswith("cpu"):
        return max(1, min(gpus, blocks)), {"num_gpus": 1}
    return max(1, min(int(resources.get("CPU", 1)), blocks)), {"num_cpus": 1}


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _run(ray: Any, actor: type, items: list[Any], settings: dict[str, Any], device: str | None) -> list[Any]:
    """``actor(**settings)(item)`` for every item, on an actor pool through Ray Data; results in item order."""
    if not items:
        return []
    size, resources = pool(ray, device, len(items))
    rows = [
        {"k": k, "payload": pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)}
        for k, item in enumerate(items)
    ]
    strategy = ray.data.ActorPoolStrategy(size=size)
    with warnings.catch_warnings():  # ray 2.60 deprecates its only way to set max_restarts, for 2.64
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset = ray.data.from_items(rows).map_batches(
            actor, batch_size=1, compute=strategy, fn_constructor_kwargs=settings,
            # a worker that dies fails the run (and Ray then keeps no copy of the actors' arguments)
            ray_remote_args_fn=lambda: {"max_restarts": 0},
            **resources,
        )  # fmt: skip
    found = {int(row["k"]): pickle.loads(row["payload"]) for row in dataset.iter_rows()}
    return [found[k] for k in range(len(items))]


def _device(gpu: bool, device: str | None) -> str:
    if device:
        return device
    return "cuda" if gpu else "cpu"


class _Actor:
    """A model replica: built once per actor, then one block per call."""

    def __init__(self, threads: int, **settings: Any) -> None:
        import torch

        if not torch.cuda.is_available():
            torch.set_num_threads(threads)  # a model's CPU numbers depend on the thread count
        self.model = self.load(**settings)

    def load(self, **settings: Any) -> Any:
        raise NotImplementedError

    def score(self, item: Any) -> Any:
        raise NotImplementedError

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        out = [
            pickle.dumps(self.score(pickle.loads(p)), protocol=pickle.HIGHEST_PROTOCOL)
            for p in batch["payload"]
        ]
        return {"k": np.asarray(batch["k"]), "payload": np.array(out, dtype=object)}


class _BertScoreActor(_Actor):
    def load(self, local, layer, device, precision, special_ids, idf):  # type: ignore[override]
        import torch

        from vlmeval.models import TextEncoder

        self.special_ids, self.idf = special_ids, idf
        return TextEncoder(local, layer, _device(torch.cuda.is_available(), device), precision)

    def score(self, item):
        from vlmeval.metrics.bertscore import score_block

        candidates, references, floors = item
        return score_block(candidates, references, self.model, self.special_ids, self.idf, floors)


class _ClipActor(_Actor):
    def load(self, local, device, precision, with_refs, workers):  # type: ignore[override]
        import torch

        from vlmeval.models import ClipEncoder

        self.with_refs, self.workers = with_refs, workers
        return ClipEncoder(local, _device(torch.cuda.is_available(), device), precision)

    def score(self, item):
        from vlmeval.scoring.model_metrics import clip_block

        predictions, references, images = item
        rows = clip_block(self.model, predictions, references, images, self.with_refs, self.workers)
        return rows, self.model.context, self.model.image_size


def bertscore_blocks(local, encoder, options):
    """``run_blocks`` for ``vlmeval.metrics.bertscore.bertscore``: the plan's blocks on the cluster's actors."""
    ray = connect(options.ray_address)

    def run(plan, candidates, references) -> list[np.ndarray]:
        items = [
            (candidates[lo:hi], references[lo:hi], floors)
            for (lo, hi), floors in zip(plan.blocks, plan.floors)
        ]
        settings = {"local": local, "layer": encoder.layer, "device": options.device, "precision": options.precision,
                    "special_ids": encoder.special_ids, "idf": plan.idf, "threads": _threads()}  # fmt: skip
        return _run(ray, _BertScoreActor, items, settings, options.device)

    return run


def clip_blocks(local, options, items: list[tuple], with_refs: bool) -> tuple[list[dict], int, int]:
    """``clip_block`` of each block (predictions, references, images) on the cluster's actors, in order; and
    the model's text context and image size."""
    ray = connect(options.ray_address)
    settings = {"local": local, "device": options.device, "precision": options.precision, "with_refs": with_refs,
                "workers": options.workers or min(8, os.cpu_count() or 1), "threads": _threads()}  # fmt: skip
    done = _run(ray, _ClipActor, items, settings, options.device)
    if not done:
        return [], 0, 0
    return [rows for rows, _, _ in done], done[0][1], done[0][2]
