"""How `vlmeval caption` scales: 10k, 100k and 1M records with 5 references through tokenization and the
n-gram metrics (BLEU-1..4, ROUGE-L, CIDEr-D), or the default set (METEOR too, Java-free), each run as the
CLI in a fresh process, with its wall time and peak memory (that child's maximum resident set size).

Records are distinct, realistic captions: COCO val2017 references with one word swapped for another from
the same vocabulary (so every caption is new but the vocabulary stays COCO's), predictions likewise.

    python benchmarks/caption_scale.py [--sizes 10000,100000,1000000] [--metrics ngram|default]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_records(path: Path, n: int, seed: int = 0) -> None:
    with gzip.open(ROOT / "fixtures" / "coco" / "captions_val2017.json.gz", "rt", encoding="utf-8") as f:
        coco = json.load(f)
    groups: dict[int, list[str]] = {}
    for ann in coco["annotations"]:
        groups.setdefault(ann["image_id"], []).append(ann["caption"].strip())
    pool = [g for g in groups.values() if len(g) >= 6]
    vocab = sorted({w for g in pool for c in g for w in c.lower().split() if w.isalpha()})
    rng = random.Random(seed)

    def vary(caption: str) -> str:
        words = caption.split()
        words[rng.randrange(len(words))] = rng.choice(vocab)
        return " ".join(words)

    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            group = pool[rng.randrange(len(pool))]
            record = {
                "id": i,
                "prediction": vary(group[5]).lower().rstrip(". "),
                "references": [vary(c) for c in group[:5]],
            }
            out.write(json.dumps(record) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--metrics", choices=("ngram", "default"), default="ngram")
    args = parser.parse_args()
    chosen = ["--metrics", "Bleu,ROUGE_L,CIDEr"] if args.metrics == "ngram" else []
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            data = Path(tmp) / f"preds_{n}.jsonl"
            write_records(data, n)
            report = Path(tmp) / "report.json"
            cmd = [
                sys.executable,
                "-m",
                "vlmeval",
                "caption",
                str(data),
                *chosen,
                "--quiet",
                "--out",
                str(report),
            ]
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak resident set size
            elapsed = time.perf_counter() - start
            stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"{n}: exit {os.waitstatus_to_exitcode(status)}: {stderr[-500:]}")
            cider = json.loads(report.read_text())["metrics"]["CIDEr"]
            rows.append((n, data.stat().st_size / 2**20, elapsed, usage.ru_maxrss / 1024, cider))
            data.unlink()
    print(f"{'records':>9}  {'input MiB':>9}  {'time s':>8}  {'us/record':>9}  {'peak RSS MiB':>12}  CIDEr")
    for n, size, elapsed, peak, cider in rows:
        print(f"{n:>9}  {size:>9.0f}  {elapsed:>8.1f}  {elapsed / n * 1e6:>9.1f}  {peak:>12.0f}  {cider:.4f}")


if __name__ == "__main__":
    main()
