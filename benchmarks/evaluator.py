"""Repeated evaluation on fixed references, as a training loop validates after every epoch: K evaluations of
5,000 predictions on COCO val2017 (5,000 images x 5 references) by ``vlmeval.CaptionEvaluator``, by K one-shot
``vlmeval.caption`` calls, and by K pycocoevalcap 1.2 runs (PTBTokenizer, then its scorers, as a training
script calls them; METEOR starts its JVM each run, as ``Meteor()`` does).

The K prediction sets are the benchmark's model captions with seeded edits (a word dropped, a word added), so
each call scores different predictions. Every evaluator report is checked identical to the one-shot report of
the same predictions (metrics, per-sample scores, statistics, signatures) and the corpus numbers equal to
pycocoevalcap's (1e-9; METEOR 1e-6). The evaluator's total includes building it.

    python benchmarks/evaluator.py [--evaluations 10] [--images 5000] [--metrics default|ngram]
                                   [--reference-runs 10]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from caption import load  # noqa: E402  (the same COCO val2017 data as benchmarks/caption.py)

METRICS = {"default": None, "ngram": "Bleu,ROUGE_L,CIDEr"}
EXTRA_WORDS = ("outside", "together", "nearby", "indoors", "small", "large")


def prediction_sets(preds: list[str], count: int) -> list[list[str]]:
    sets = []
    for seed in range(count):
        rng = random.Random(seed)
        edited = []
        for text in preds:
            words = text.split()
            if len(words) > 3 and rng.random() < 0.7:
                del words[rng.randrange(len(words))]
            if rng.random() < 0.3:
                words.append(rng.choice(EXTRA_WORDS))
            edited.append(" ".join(words))
        sets.append(edited)
    return sets


def pycocoevalcap_run(refs: dict, ids: list, predictions: list[str], with_meteor: bool) -> dict[str, float]:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        tokenizer = PTBTokenizer()
        gts = tokenizer.tokenize({i: [{"caption": c} for c in refs[i]] for i in ids})
        res = tokenizer.tokenize({i: [{"caption": p}] for i, p in zip(ids, predictions)})
        out: dict[str, float] = {}
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
        out.update({f"Bleu_{n + 1}": b for n, b in enumerate(bleu)})
        if with_meteor:
            scorer = Meteor()
            out["METEOR"], _ = scorer.compute_score(gts, res)
            del scorer
        out["ROUGE_L"], _ = Rouge().compute_score(gts, res)
        out["CIDEr"], _ = Cider().compute_score(gts, res)
    return out


def same_report(a, b) -> bool:
    return (a.metrics, a.per_sample, a.stats, a.signature) == (b.metrics, b.per_sample, b.stats, b.signature)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluations", type=int, default=10)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--metrics", choices=sorted(METRICS), default="default")
    parser.add_argument("--reference-runs", type=int, default=10, help="pycocoevalcap runs (0: skip it)")
    args = parser.parse_args()

    import vlmeval

    ids, preds, refs = load(args.images)
    references = [refs[i] for i in ids]
    sets = prediction_sets([preds[i] for i in ids], args.evaluations)
    metrics = METRICS[args.metrics]
    vlmeval.caption(sets[0][:50], references[:50], metrics=metrics)  # METEOR's index and imports, for both
    print(f"{len(ids)} images x 5 references, {args.evaluations} prediction sets, metrics: {args.metrics}\n")

    start = time.perf_counter()
    evaluator = vlmeval.CaptionEvaluator(references, ids=ids, metrics=metrics)
    built = time.perf_counter() - start
    ours = [evaluator(p) for p in sets]
    t_evaluator = time.perf_counter() - start

    start = time.perf_counter()
    one_shot = [vlmeval.caption(p, references, ids=ids, metrics=metrics) for p in sets]
    t_one_shot = time.perf_counter() - start
    identical = all(same_report(a, b) for a, b in zip(ours, one_shot))

    rows = [
        ("vlmeval.CaptionEvaluator", t_evaluator, f"identical to one-shot: {'yes' if identical else 'NO'}"),
        ("vlmeval.caption (one-shot)", t_one_shot, ""),
    ]
    equal = True
    if args.reference_runs:
        runs = min(args.reference_runs, len(sets))
        start = time.perf_counter()
        theirs = [pycocoevalcap_run(refs, ids, p, metrics is None) for p in sets[:runs]]
        t_ref = (time.perf_counter() - start) * len(sets) / runs
        for got, want in zip(ours, theirs):
            for key, value in want.items():
                equal &= abs(got.metrics[key] - value) <= (1e-6 if key == "METEOR" else 1e-9)
        note = f"corpus numbers equal: {'yes' if equal else 'NO'}"
        if runs < len(sets):
            note += f" ({runs} runs, scaled to {len(sets)})"
        rows.append(("pycocoevalcap 1.2", t_ref, note))

    print(f"{'':<28} {'total':>9} {'per call':>9} {'evaluator is':>13}")
    for name, total, note in rows:
        ratio = total / t_evaluator
        print(f"{name:<28} {total:>8.2f}s {total / len(sets):>8.3f}s {ratio:>12.1f}x  {note}")
    print(f"\n(the evaluator's total includes building it: {built:.2f}s)")
    if not identical or not equal:
        sys.exit(1)


if __name__ == "__main__":
    main()
