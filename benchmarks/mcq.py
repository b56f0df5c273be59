"""Multiple-choice extraction and scoring: vlmeval vs VLMEvalKit's own loop, on the same rows.

1,000,000 rows drawn (seeded) from the 477 fixture rows of fixtures/mcq (real MMBench items,
predictions in 20 model styles: letters, "(B)", "The answer is B.", option text, long reasoning, refusals,
Chinese, empty, ...). The reference is VLMEvalKit's exact-matching loop restated in
tests/reference/vlmevalkit.py, run row by row as VLMEvalKit runs it (``eval_vanilla(None, row)``: its
``build_choices`` over the row's A-Z columns, ``can_infer``, compare with the answer); vlmeval is
``score_choices(..., rule="vlmevalkit")``. The per-row hits are checked equal before any time is printed.

Two layouts of the same rows: the options of equal questions shared as one object (as
``vlmeval.io.choice`` hands them over) and one options dict per row (the slowest case for vlmeval).

Then the whole command, as a process: ``vlmeval mcq FILE.jsonl --out R.json -q`` on a JSONL file of
``--rows`` records drawn the same way from fixtures/mcq/mcq_styles.jsonl (every field as the fixture has
it, ids renumbered), reading, validation, scoring and the report written; the report's accuracy is checked
against VLMEvalKit's loop on the same rows. Printed: the best wall time of ``--runs`` and its CPU time
(user + system: other processes on the machine change the wall time, not the CPU time).

    python benchmarks/mcq.py [--rows 1000000] [--runs 3] [--skip-ratio]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _timing import best_of_alternating, timed  # noqa: E402  (benchmarks/ is the script directory)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-ratio", action="store_true", help="only the whole-command timing")
    args = parser.parse_args()
    if not args.skip_ratio:
        ratio(args)
    whole_command(args)


def ratio(args) -> None:

    from tests.reference.vlmevalkit import eval_vanilla
    from vlmeval.io.choice import read_choice_records
    from vlmeval.metrics.choice import score_choices

    base = []
    for name in ("mcq_styles.jsonl", "mmbench_circular.tsv"):
        data = read_choice_records(ROOT / "fixtures" / "mcq" / name)
        base += list(zip(data.predictions, data.options, data.answers))
    rng = random.Random(12345)
    rows = [rng.choice(base) for _ in range(args.rows)]
    preds = [p for p, _, _ in rows]
    shared = [o for _, o, _ in rows]
    answers = [a for _, _, a in rows]
    # VLMEvalKit's rows: the options as A..Z columns, the answer as GT
    vk_rows = [{"prediction": p, "GT": a, **o} for p, o, a in rows]

    def reference():
        return [eval_vanilla(None, item)["hit"] for item in vk_rows]

    t_ref, t_ours, ref, ours = best_of_alternating(
        reference, lambda: score_choices(preds, shared, answers, rule="vlmevalkit"), args.runs
    )
    if ours.correct.tolist() != ref:
        raise SystemExit("vlmeval's hits differ from VLMEvalKit's")
    per_row = [dict(o) for o in shared]
    t_copies, ours_copies = timed(lambda: score_choices(preds, per_row, answers, rule="vlmevalkit"))
    for _ in range(args.runs - 1):
        t, _ = timed(lambda: score_choices(preds, per_row, answers, rule="vlmevalkit"))
        t_copies = min(t_copies, t)
    if ours_copies.correct.tolist() != ref:
        raise SystemExit("vlmeval's hits differ from VLMEvalKit's")

    distinct_preds = len(set(preds))
    print(f"rows {args.rows:,}: {distinct_preds:,} distinct predictions, {ours.distinct:,} distinct "
          f"(prediction, options) pairs; accuracy {ours.metrics()['accuracy']:.2f} (VLMEvalKit "
          f"{100 * sum(ref) / len(ref):.2f}), identical per row")  # fmt: skip
    print(f"VLMEvalKit loop (eval_vanilla per row)   {t_ref:8.2f} s")
    print(f"vlmeval, options shared per question     {t_ours:8.2f} s   {t_ref / t_ours:6.1f}x")
    print(f"vlmeval, one options dict per row        {t_copies:8.2f} s   {t_ref / t_copies:6.1f}x")
    print(f"(best of {args.runs}; vlmeval also computes lmms-eval's draws and the judge count for every row)")


def whole_command(args) -> None:
    import json
    import os
    import resource
    import subprocess
    import tempfile

    from tests.reference.vlmevalkit import eval_vanilla

    fixture = ROOT / "fixtures" / "mcq" / "mcq_styles.jsonl"
    base = [json.loads(line) for line in fixture.read_text(encoding="utf-8").splitlines() if line]
    rng = random.Random(12345)
    drawn = [rng.choice(base) for _ in range(args.rows)]
    vlmevalkit_hits = 0
    for row in drawn:  # VLMEvalKit's verdict per row: the options as A..Z columns
        options = (
            row["options"]
            if isinstance(row["options"], dict)
            else dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", row["options"]))
        )
        vlmevalkit_hits += eval_vanilla(
            None, {"prediction": row["prediction"], "GT": row["answer"], **options}
        )["hit"]
    vlmevalkit = 100 * vlmevalkit_hits / args.rows
    vlmeval = [ROOT / ".venv" / "bin" / "vlmeval"]
    if not vlmeval[0].exists():
        vlmeval = [sys.executable, "-m", "vlmeval"]
    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / "mcq.jsonl", Path(tmp) / "report.json"
        with path.open("w", encoding="utf-8") as handle:
            for i, row in enumerate(drawn):
                handle.write(json.dumps({**row, "id": i}, ensure_ascii=False) + "\n")
        size = path.stat().st_size
        best = None
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall, done = timed(lambda: subprocess.run([*vlmeval, "mcq", str(path), "--out", str(out), "-q"],
                                                      capture_output=True, text=True, env=os.environ.copy()))  # fmt: skip
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                raise SystemExit(f"vlmeval mcq failed: {done.stderr.strip()}")
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            if best is None or wall < best[0]:
                best = (wall, cpu)
        accuracy = json.loads(out.read_text(encoding="utf-8"))["metrics"]["accuracy"]
    if abs(accuracy - vlmevalkit) > 1e-9:
        raise SystemExit(f"the command's accuracy {accuracy} differs from VLMEvalKit's {vlmevalkit}")
    print(f"vlmeval mcq, {args.rows:,} records ({size / 2**20:,.0f} MiB JSONL), the whole command: "
          f"{best[0]:.2f} s wall, {best[1]:.2f} s CPU (best of {args.runs}); accuracy {accuracy:.2f} = VLMEvalKit's")  # fmt: skip


if __name__ == "__main__":
    main()
