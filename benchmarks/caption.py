"""vlmeval vs pycocoevalcap 1.2 on COCO val2017 (5,000 images x 5 references), side by side in one process.

Per metric, both run on the same tokens (pycocoevalcap's PTBTokenizer output); each of our metrics is timed
with its own n-gram counting. The pipeline rows time tokenization + the metrics end to end. Every pair of
numbers is checked equal (1e-9; METEOR 1e-6) before a ratio is printed.

The process rows time what a user waits for: ``vlmeval caption res.json --refs ann.json`` (the default
metrics, then ``--metrics Bleu,ROUGE_L,CIDEr``) as a whole process, start-up, reading, report and printing
included, against a pycocoevalcap script doing the same as a whole process (COCO's loadRes, PTBTokenizer, the
scorers: what COCOEvalCap.evaluate runs), on the same files, with the same numbers (checked). vlmeval's
rows come twice: a first run against these references (they are prepared in the run, and kept), and later
runs (they come from the cache a first run left: ``vlmeval.scoring.reference_cache``).

    python benchmarks/caption.py [--images 5000] [--repeat 3] [--no-meteor] [--processes-only]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load(n_images: int):
    with gzip.open(ROOT / "fixtures" / "coco" / "captions_val2017.json.gz", "rt", encoding="utf-8") as f:
        coco = json.load(f)
    fake = json.loads((ROOT / "fixtures" / "coco" / "captions_val2014_fakecap_results.json").read_text())
    model = {r["image_id"]: r["caption"] for r in fake}
    refs: dict[int, list[str]] = {}
    for ann in coco["annotations"]:
        refs.setdefault(ann["image_id"], []).append(ann["caption"])
    ids = sorted(refs)[:n_images]
    preds = {}
    for i in ids:
        # a real model caption where tylin's fakecap results have one, else a model-style rewrite
        text = model.get(i) or " ".join(
            w for w in refs[i][-1].lower().rstrip(". ").split() if w not in {"a", "the"}
        )
        preds[i] = text
    return ids, preds, {i: refs[i][:5] for i in ids}


def best_of(repeat: int, fn):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


PYCOCOEVALCAP_SCRIPT = """
import json, sys
from pycocotools.coco import COCO
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.cider.cider import Cider
ann, res, out, ngram = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "ngram"
coco = COCO(ann)
results = coco.loadRes(res)
ids = coco.getImgIds()
gts = {i: coco.imgToAnns[i] for i in ids}
rs = {i: results.imgToAnns[i] for i in ids}
tokenizer = PTBTokenizer()
gts, rs = tokenizer.tokenize(gts), tokenizer.tokenize(rs)
scorers = [(Bleu(4), ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4"]), (Rouge(), "ROUGE_L"), (Cider(), "CIDEr")]
if not ngram:
    scorers.insert(1, (Meteor(), "METEOR"))
scores = {}
for scorer, names in scorers:
    score, _ = scorer.compute_score(gts, rs)
    scores.update(dict(zip(names, score)) if isinstance(names, list) else {names: score})
json.dump(scores, open(out, "w"))
"""


def process_rows(ids, preds, refs, repeat: int, meteor: bool) -> list:
    """Whole processes: vlmeval's CLI against the pycocoevalcap script, on the same COCO files."""
    import subprocess
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ann = {"images": [{"id": i} for i in ids], "annotations": [
            {"id": k, "image_id": i, "caption": c} for k, (i, c) in enumerate((i, c) for i in ids for c in refs[i])
        ]}  # fmt: skip
        (folder / "ann.json").write_text(json.dumps(ann))
        (folder / "res.json").write_text(json.dumps([{"image_id": i, "caption": preds[i]} for i in ids]))
        (folder / "script.py").write_text(PYCOCOEVALCAP_SCRIPT)
        # as after ``pip install``: modules run from their bytecode (the warm run writes vlmeval's where an
        # editable install has none; pycocoevalcap's was compiled at install)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        sets = [("default", [])] if meteor else []
        sets.append(("ngram", ["--metrics", "Bleu,ROUGE_L,CIDEr"]))
        for name, extra in sets:
            ours_cmd = [sys.executable, "-m", "vlmeval", "caption", str(folder / "res.json"), "--refs",
                        str(folder / "ann.json"), *extra, "--out", str(folder / "ours.json"), "--quiet"]  # fmt: skip
            ref_cmd = [sys.executable, str(folder / "script.py"), str(folder / "ann.json"), str(folder / "res.json"),
                       str(folder / "theirs.json"), name]  # fmt: skip

            def run(cmd, cache: str | None = None):
                start = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT,
                               env=env if cache is None else {**env, "XDG_CACHE_HOME": cache})  # fmt: skip
                return time.perf_counter() - start

            run(ours_cmd)  # warm: METEOR's index and the OS file cache, for both
            t_ref = min(run(ref_cmd) for _ in range(repeat if name == "ngram" else 1))
            theirs = json.loads((folder / "theirs.json").read_text())
            label = "default metrics" if name == "default" else "n-gram metrics"
            for when, fresh in (("first run against these references", True), ("later runs", False)):
                times = []
                for _ in range(repeat):
                    # first runs: a cache folder without prepared references (METEOR's index and the scanner
                    # from the real one); later runs: the references the warm-up run prepared
                    times.append(run(ours_cmd, fresh_cache(Path(tempfile.mkdtemp(dir=folder))) if fresh else None))
                ours = json.loads((folder / "ours.json").read_text())["metrics"]
                equal = all(abs(ours[k] - v) <= (1e-6 if k == "METEOR" else 1e-9) for k, v in theirs.items())
                rows.append((f"process: vlmeval caption, {label}, {when}", t_ref, min(times), t_ref / min(times), equal))
    return rows


def fresh_cache(where: Path) -> str:
    """A cache folder holding the real one's METEOR index and compiled scanner, but no prepared references."""
    from vlmeval.cache import cache_root

    real = cache_root()
    (where / "vlmeval").mkdir()
    for part in ("meteor", "regex"):
        if (real / part).is_dir():
            (where / "vlmeval" / part).symlink_to(real / part, target_is_directory=True)
    return str(where)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-meteor", action="store_true")
    parser.add_argument("--processes-only", action="store_true", help="only the whole-process rows")
    args = parser.parse_args()
    if args.processes_only:
        ids, preds, refs = load(args.images)
        print_rows(process_rows(ids, preds, refs, args.repeat, not args.no_meteor))
        return

    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    from vlmeval.io.captions import CaptionData
    from vlmeval.metrics.bleu import bleu_corpus, bleu_per_image, bleu_statistics
    from vlmeval.metrics.cider import cider_scores, cider_statistics
    from vlmeval.metrics.meteor_jar import meteor
    from vlmeval.metrics.ngrams import caption_ngrams
    from vlmeval.metrics.rouge import rouge_l
    from vlmeval.progress import QUIET
    from vlmeval.tasks.caption import evaluate
    from vlmeval.tokenizers import get_tokenizer

    ids, preds, refs = load(args.images)
    gts_raw = {i: [{"caption": c} for c in refs[i]] for i in ids}
    res_raw = {i: [{"caption": preds[i]}] for i in ids}
    print(f"{len(ids)} images, {sum(map(len, refs.values()))} references; best of {args.repeat}\n")

    rows = []

    def row(name, ref_time, our_time, equal):
        rows.append((name, ref_time, our_time, ref_time / our_time, equal))

    # tokenization: pycocoevalcap runs the jar twice (references, then predictions)
    def ref_tokenize():
        tok = PTBTokenizer()
        return quiet(tok.tokenize, gts_raw), quiet(tok.tokenize, res_raw)

    t_ref_tok, (gts, res) = best_of(args.repeat, ref_tokenize)
    documents = [[c for i in ids for c in refs[i]], [preds[i] for i in ids]]
    expected = [[c for i in ids for c in gts[i]], [res[i][0] for i in ids]]
    for name in ("ptb", "ptb-jar"):
        t_tok, tokens = best_of(args.repeat, lambda name=name: get_tokenizer(name)(documents))
        row(f"PTB tokenize ({name})", t_ref_tok, t_tok, tokens == expected)

    hyp_tok = [res[i][0] for i in ids]
    ref_tok = [gts[i] for i in ids]
    hyp_words = [h.split() for h in hyp_tok]
    ref_words = [[r.split() for r in rs] for rs in ref_tok]

    t_rb, (b_ref, b_img_ref) = best_of(args.repeat, lambda: quiet(Bleu(4).compute_score, gts, res, verbose=0))

    def ours_bleu():
        stats = bleu_statistics(caption_ngrams(hyp_words, ref_words, 4))
        return bleu_corpus(stats), bleu_per_image(stats)

    t_b, (b, b_img) = best_of(args.repeat, ours_bleu)
    row(
        "BLEU-1..4",
        t_rb,
        t_b,
        np.allclose(b, b_ref, atol=1e-9, rtol=0)
        and np.allclose(b_img, np.array(b_img_ref).T, atol=1e-9, rtol=0),
    )

    t_rr, (r_ref, r_img_ref) = best_of(args.repeat, lambda: Rouge().compute_score(gts, res))
    t_r, (r, r_img) = best_of(args.repeat, lambda: rouge_l(hyp_tok, ref_tok))
    row("ROUGE-L", t_rr, t_r, abs(r - r_ref) <= 1e-9 and np.allclose(r_img, r_img_ref, atol=1e-9, rtol=0))

    t_rc, (c_ref, c_img_ref) = best_of(args.repeat, lambda: Cider().compute_score(gts, res))
    t_c, c_img = best_of(
        args.repeat, lambda: cider_scores(cider_statistics(caption_ngrams(hyp_words, ref_words, 4)))
    )
    row(
        "CIDEr-D",
        t_rc,
        t_c,
        abs(c_img.mean() - c_ref) <= 1e-9 and np.allclose(c_img, c_img_ref, atol=1e-9, rtol=0),
    )

    if not args.no_meteor:
        # pycocoevalcap starts its JVM in Meteor(); both timings include the JVM start (one run each: ~15 s)
        def ref_meteor():
            scorer = Meteor()
            out = scorer.compute_score(gts, res)
            del scorer
            return out

        t_rm, (m_ref, m_img_ref) = best_of(1, ref_meteor)
        t_m, (m, m_img) = best_of(1, lambda: meteor(hyp_tok, ref_tok))
        row(
            "METEOR (jar)",
            t_rm,
            t_m,
            abs(m - m_ref) <= 1e-6 and np.allclose(m_img, m_img_ref, atol=1e-6, rtol=0),
        )
        # the Java-free METEOR (the default): its index is built on first use, then loaded once per process
        from vlmeval.metrics.meteor import meteor_corpus, meteor_scores, meteor_statistics

        def ours_meteor():
            stats = meteor_statistics(hyp_tok, ref_tok)
            return meteor_corpus(stats), meteor_scores(stats)

        t_mp, (mp, mp_img) = best_of(args.repeat, ours_meteor)
        row(
            "METEOR (Java-free, 2 processes)",
            t_rm,
            t_mp,
            abs(mp - m_ref) <= 1e-6 and np.allclose(mp_img, m_img_ref, atol=1e-6, rtol=0),
        )

    # the whole n-gram pipeline as `vlmeval caption --metrics Bleu,ROUGE_L,CIDEr` runs it (report included)
    t_ref_pipe = t_ref_tok + t_rb + t_rr + t_rc
    data = CaptionData(
        [str(i) for i in ids], [preds[i] for i in ids], [refs[i] for i in ids], [None] * len(ids), [], {}
    )
    keys = ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"]
    def pipeline_equal(m) -> bool:
        return (
            np.allclose([m[f"Bleu_{n}"] for n in range(1, 5)], b_ref, atol=1e-9, rtol=0)
            and abs(m["ROUGE_L"] - r_ref) <= 1e-9
            and abs(m["CIDEr"] - c_ref) <= 1e-9
        )

    import tempfile

    # the references prepared in the call (an empty cache each time, so its write is timed too), then
    # read from the cache a first call left (vlmeval.scoring.reference_cache)
    with tempfile.TemporaryDirectory() as tmp:
        saved = os.environ.get("XDG_CACHE_HOME")
        try:
            folders = iter(range(args.repeat + 1))
            os.environ["XDG_CACHE_HOME"] = f"{tmp}/{next(folders)}"

            def first_call():
                os.environ["XDG_CACHE_HOME"] = f"{tmp}/{next(folders)}"
                return evaluate(data, keys, {}, QUIET)

            t_pipe, report = best_of(args.repeat, first_call)
            row("pipeline: tok+BLEU+ROUGE-L+CIDEr", t_ref_pipe, t_pipe, pipeline_equal(report.metrics))
            t_pipe, report = best_of(args.repeat, lambda: evaluate(data, keys, {}, QUIET))
            row("pipeline, references from the cache", t_ref_pipe, t_pipe, pipeline_equal(report.metrics))
        finally:
            os.environ.pop("XDG_CACHE_HOME", None)
            if saved is not None:
                os.environ["XDG_CACHE_HOME"] = saved

    rows += process_rows(ids, preds, refs, args.repeat, not args.no_meteor)
    print_rows(rows)


def print_rows(rows: list) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'pycocoevalcap':>13}  {'vlmeval':>9}  {'ratio':>7}  numbers")
    for name, tr, to, ratio, equal in rows:
        print(f"{name:<{width}}  {tr:>12.3f}s  {to:>8.3f}s  {ratio:>6.1f}x  {'equal' if equal else 'DIFFER'}")
    if not all(r[4] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
