"""What sharding costs: one `vlmeval caption` run over N records against the same run in P parts (`--shard I/P`,
each a fresh process, as a Slurm array runs them) and `vlmeval merge` of the parts: wall time and peak memory
(the child's maximum resident set size) of each, the parts' sizes on disk, and a check that the merged report
equals the one run's (every field but ``environment``).

Records as benchmarks/caption_scale.py makes them (COCO val2017 references with one word swapped; distinct
captions, COCO's vocabulary); metrics BLEU-1..4, ROUGE-L and CIDEr-D (CIDEr-D's IDF comes from all references:
the merge rescores it from the parts' token ids).

    python benchmarks/shard.py [--records 1000000] [--parts 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from caption_scale import write_records  # noqa: E402


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command in a child process of its own."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd[2:5])}: exit {child.returncode}: {child.stderr.read().decode()[-800:]}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--parts", type=int, default=8)
    parser.add_argument("--metrics", default="Bleu,ROUGE_L,CIDEr")
    args = parser.parse_args()
    vlmeval = [sys.executable, "-m", "vlmeval"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "preds.jsonl"
        write_records(data, args.records)
        run = [*vlmeval, "caption", str(data), "--metrics", args.metrics, "--quiet"]
        whole_time, whole_rss = timed([*run, "--out", str(folder / "whole.json")])
        rows = []
        for k in range(1, args.parts + 1):
            out = folder / f"part{k}.json"
            seconds, rss = timed([*run, "--shard", f"{k}/{args.parts}", "--out", str(out)])
            rows.append((k, seconds, rss, out.stat().st_size / 2**20))
        parts = [str(folder / f"part{k}.json") for k in range(1, args.parts + 1)]
        merge_time, merge_rss = timed([*vlmeval, "merge", *parts, "--quiet", "--out", str(folder / "merged.json")])
        whole, merged = (json.loads((folder / f"{n}.json").read_text()) for n in ("whole", "merged"))
        equal = all(whole[k] == merged[k] for k in whole if k != "environment") and set(whole) == set(merged)
        whole_size = (folder / "whole.json").stat().st_size / 2**20
        input_size = data.stat().st_size / 2**20
    print(f"{args.records} records ({input_size:.0f} MiB), {args.metrics}, {args.parts} parts")
    print(f"{'run':>12}  {'time s':>7}  {'peak RSS MiB':>12}  {'report MiB':>10}")
    print(f"{'one run':>12}  {whole_time:>7.1f}  {whole_rss:>12.0f}  {whole_size:>10.1f}")
    for k, seconds, rss, size in rows:
        print(f"{f'part {k}/{args.parts}':>12}  {seconds:>7.1f}  {rss:>12.0f}  {size:>10.1f}")
    print(f"{'merge':>12}  {merge_time:>7.1f}  {merge_rss:>12.0f}  {whole_size:>10.1f}")
    total = sum(r[1] for r in rows)
    slowest = max(r[1] for r in rows)
    print(f"parts: {total:.1f} s of work in all ({total / whole_time:.2f}x one run); on {args.parts} machines "
          f"{slowest:.1f} s + merge {merge_time:.1f} s = {slowest + merge_time:.1f} s "
          f"({whole_time / (slowest + merge_time):.2f}x faster than one run)")  # fmt: skip
    print(f"merged report equals the one run's (all but environment): {equal}")
    if not equal:
        sys.exit(1)


if __name__ == "__main__":
    main()
