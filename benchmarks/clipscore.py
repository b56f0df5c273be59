"""CLIPScore: vlmeval vs torchmetrics 1.9 ``clip_score``, side by side in one process, same images and model.

Model: CLIP ViT-B/32 as transformers' CLIPConfig() defines it (openai/clip-vit-base-patch32's architecture)
with random weights, since no CLIP weights can be downloaded here (pass ``--model PATH`` for a real one);
CLIP's real tokenizer from open-clip-torch's BPE vocabulary. Images: ``--images`` JPEGs (640x480) cut from
the two COCO val2017 photos in fixtures/grounding/images. Both sides decode the JPEG files (torchmetrics takes
tensors, so its side reads them with Pillow first), run the model on CPU in batches of 64 and average.

    python benchmarks/clipscore.py [--images 256] [--device cpu] [--model PATH]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _timing import best_of_alternating  # noqa: E402


def make_images(folder: Path, n: int) -> list[Path]:
    from PIL import Image

    rng = random.Random(0)
    photos = [
        Image.open(p).convert("RGB") for p in sorted((ROOT / "fixtures/grounding/images").glob("*.jpg"))
    ]
    paths = []
    for i in range(n):
        photo = photos[i % len(photos)]
        w, h = photo.size
        cw, ch = rng.randint(w // 2, w), rng.randint(h // 2, h)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        path = folder / f"{i:05d}.jpg"
        photo.crop((x, y, x + cw, y + ch)).resize((640, 480), Image.BICUBIC).save(path, quality=90)
        paths.append(path)
    return paths


def base_clip(folder: Path) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    from tests.neural.models import clip_tokenizer_files

    folder.mkdir(parents=True, exist_ok=True)

    clip_tokenizer_files(folder)
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    config = CLIPConfig()
    config.text_config.eos_token_id = 49407
    torch.manual_seed(0)
    CLIPModel(config).eval().save_pretrained(folder)
    CLIPProcessor(image_processor=CLIPImageProcessor(), tokenizer=tokenizer).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default=None)
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()

    import json

    import numpy as np
    import torch
    from PIL import Image
    from torchmetrics.functional.multimodal.clip_score import _clip_score_update
    from transformers import CLIPModel, CLIPProcessor

    from vlmeval.metrics.clipscore import PROMPT
    from vlmeval.scoring.model_metrics import NeuralOptions, NeuralScores, score_clip

    tmp = Path(tempfile.mkdtemp(prefix="vlmeval-clip-bench-"))
    model_dir = Path(args.model) if args.model else base_clip(tmp / "clip")
    paths = make_images(tmp, args.images)
    records = [
        json.loads(x) for x in (ROOT / "fixtures/caption/coco_val2017_500.jsonl").read_text().splitlines()
    ]
    captions = [records[i % len(records)]["prediction"] or "a photo" for i in range(len(paths))]
    references = [records[i % len(records)]["references"] for i in range(len(paths))]
    print(
        f"{len(paths)} images 640x480, model {model_dir.name}, {args.device}, torch threads {torch.get_num_threads()}"
    )

    def theirs():
        model = CLIPModel.from_pretrained(str(model_dir)).eval().to(args.device)
        processor = CLIPProcessor.from_pretrained(str(model_dir))
        scores = []
        with torch.no_grad():
            for a in range(0, len(paths), 64):
                images = [
                    torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1)
                    for p in paths[a : a + 64]
                ]
                s, _ = _clip_score_update(
                    images, [PROMPT + c for c in captions[a : a + 64]], model, processor
                )
                scores.append(s.cpu())
        return 2.5 * np.clip(torch.cat(scores).numpy() / 100, 0, None)

    def ours():
        out = NeuralScores()
        options = NeuralOptions(clip_model=str(model_dir), device=args.device, precision=args.precision)
        score_clip(captions, references, [str(p) for p in paths], ["CLIPScore"], options, out)
        return np.array(out.per_sample["CLIPScore"])

    ours()  # warm-up (imports)
    t_ref, t_ours, ref, mine = best_of_alternating(theirs, ours, 2)
    print(f"torchmetrics 1.9    {t_ref:7.2f} s")
    print(
        f"vlmeval             {t_ours:7.2f} s   ({t_ref / t_ours:.2f}x)   max |diff| {np.abs(mine - ref).max():.2e}"
    )


if __name__ == "__main__":
    main()
