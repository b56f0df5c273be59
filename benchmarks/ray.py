"""CLIPScore/RefCLIPScore throughput on Ray (``--engine ray``) with 1 and 2 local workers, against one process,
and a check that every per-sample number equals the one-process run's.

Model: CLIP ViT-B/32 as transformers' CLIPConfig() defines it, random weights (no CLIP weights can be
downloaded here; ``--model PATH`` for a real one); CLIP's real tokenizer. Images: 640x480 JPEGs cut from the
COCO photos in fixtures/grounding/images (benchmarks/clipscore.py's). Blocks of ``--block`` records (the unit a
worker takes); a Ray run's time includes starting its actors and loading the model in each.
``--threads``: torch's CPU threads in the driver, hence in each worker (a worker uses the driver's count, so
that its numbers are the one-process run's).

    python benchmarks/ray.py [--images 192] [--block 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# this file is ray.py: its folder must not shadow the ray package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))


def _clipscore_benchmark():
    """benchmarks/clipscore.py (its images and model), loaded by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("clipscore_benchmark", HERE / "clipscore.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(1, str(HERE))  # for its own imports (_timing)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(HERE))
    return module


def score(records: list[dict], model: Path, engine: str) -> tuple[float, dict]:
    from vlmeval.scoring.model_metrics import NeuralOptions, NeuralScores, score_clip

    out = NeuralScores()
    options = NeuralOptions(clip_model=str(model), device="cpu", engine=engine)
    start = time.perf_counter()
    score_clip([r["prediction"] for r in records], [r["references"] for r in records],
               [r["image"] for r in records], ["CLIPScore", "RefCLIPScore"], options, out)  # fmt: skip
    return time.perf_counter() - start, out.per_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=192)
    parser.add_argument("--block", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()

    import ray
    import torch

    from vlmeval.scoring import model_metrics

    torch.set_num_threads(args.threads)
    model_metrics.CLIP_BLOCK = args.block
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        helpers = _clipscore_benchmark()
        model = Path(args.model) if args.model else helpers.base_clip(folder / "clip")
        paths = helpers.make_images(folder, args.images)
        records = [{"prediction": f"a photo of a kitchen number {i}", "references": ["a kitchen", f"a room {i % 7}"],
                    "image": str(p)} for i, p in enumerate(paths)]  # fmt: skip
        score(records[: args.block], model, "local")  # warm: imports, first model load
        rows = [("one process", *score(records, model, "local"))]
        for workers in (1, 2):
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            try:
                rows.append((f"ray, {workers} worker{'s' if workers > 1 else ''}", *score(records, model, "ray")))
            finally:
                ray.shutdown()
    local = rows[0][2]
    print(f"CLIPScore + RefCLIPScore, {args.images} images, blocks of {args.block}, {args.threads} torch thread(s) "
          f"per process, CLIP ViT-B/32 fp32 on CPU ({torch.get_num_threads()} threads in the driver)")  # fmt: skip
    print(f"{'engine':>16}  {'time s':>7}  {'images/s':>8}  equal to one process")
    for name, seconds, per_sample in rows:
        same = all(per_sample[k] == local[k] for k in local)
        print(f"{name:>16}  {seconds:>7.1f}  {args.images / seconds:>8.1f}  {same}")
    one, two = rows[1][1], rows[2][1]
    print(f"2 workers vs 1: {one / two:.2f}x ({one / two / 2:.0%} scaling efficiency)")


if __name__ == "__main__":
    main()
