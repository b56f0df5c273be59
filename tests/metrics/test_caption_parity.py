"""Caption metrics against pycocoevalcap 1.2 run as the oracle on real COCO data.

Fixture: fixtures/caption (500 COCO val2017 images with all their 5-7 human references; predictions are
real model captions from tylin/coco-caption where available, model-style rewrites and edge cases otherwise).
Tolerances: 1e-9 for BLEU/ROUGE-L/CIDEr-D, 1e-6 for METEOR.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import CAPTION_COCO_ANN, CAPTION_COCO_RES, CAPTION_JSONL, requires_java
from tests.reference import coco_caption_eval


@pytest.fixture(scope="module")
def oracle():
    return coco_caption_eval(CAPTION_COCO_ANN, CAPTION_COCO_RES)


def _report(cli, tmp_path, *args):
    out = tmp_path / "r.json"
    result = cli(*args, "--out", out, "--quiet")
    assert result.exit_code == 0, result.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize(
    "layout, tokenizer", [("official", "ptb"), ("jsonl", "ptb"), ("official", "ptb-jar")]
)
@requires_java
def test_pipeline_equals_cocoevalcap(cli, tmp_path, oracle, layout, tokenizer):
    corpus, per_image, _, _ = oracle
    if layout == "official":
        args = ("caption", CAPTION_COCO_RES, "--refs", CAPTION_COCO_ANN)
    else:
        args = ("caption", CAPTION_JSONL)
    report = _report(cli, tmp_path, *args, "--tokenizer", tokenizer)
    ids = [int(i) for i in report["per_sample"]["ids"]]
    assert sorted(ids) == sorted(per_image["CIDEr"])
    for metric, expected in corpus.items():
        tol = 1e-6 if metric == "METEOR" else 1e-9
        assert report["metrics"][metric] == pytest.approx(expected, abs=tol), metric
        ours = np.array(report["per_sample"][metric])
        theirs = np.array([per_image[metric][i] for i in ids])
        assert np.max(np.abs(ours - theirs)) <= tol, metric


@pytest.mark.parametrize("tokenizer", ["ptb", "ptb-jar"])
@requires_java
def test_tokens_equal_pycocoevalcap(oracle, tokenizer):
    """References and predictions, as two documents in COCOEvalCap's order, give pycocoevalcap's tokens."""
    from tests.reference import LINE_BREAKS
    from vlmeval.tokenizers import get_tokenizer

    _, _, gts, res = oracle
    ann = json.loads(CAPTION_COCO_ANN.read_text())
    results = {r["image_id"]: r["caption"] for r in json.loads(CAPTION_COCO_RES.read_text())}
    by_image: dict[int, list[str]] = {}
    for a in ann["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a["caption"])
    ids = [im["id"] for im in ann["images"]]  # coco.getImgIds() order
    refs = [c.translate(LINE_BREAKS) for i in ids for c in by_image[i]]
    preds = [results[i].translate(LINE_BREAKS) for i in ids]
    ref_tokens, pred_tokens = get_tokenizer(tokenizer)([refs, preds])
    assert pred_tokens == [res[i][0] for i in ids]
    assert ref_tokens == [t for i in ids for t in gts[i]]


@requires_java
def test_line_break_bug_is_fixed(tmp_path):
    """pycocoevalcap shifts every caption after one containing \\r; vlmeval keeps them aligned."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    from tests.reference import quietly
    from vlmeval.tokenizers.ptb_jar import tokenize_ptb_jar

    captions = {1: [{"caption": "a cat\ron a mat"}], 2: [{"caption": "a dog"}], 3: [{"caption": "a bird"}]}
    theirs = quietly(PTBTokenizer().tokenize, captions)
    assert theirs[2] == ["on a mat"]  # the bug: image 2 got the second half of image 1's caption
    captions = ["a cat\ron a mat", "a dog", "a bird", "x\u2028y\x0bz\x0cw\u2029v"]
    assert tokenize_ptb_jar([captions]) == [["a cat on a mat", "a dog", "a bird", "x y z w v"]]


def test_numbers_do_not_depend_on_the_chunk_size():
    """Chunked scoring (look-ahead across chunk ends, document frequencies summed over chunks) gives the
    single-chunk numbers per image: BLEU and ROUGE-L exactly, CIDEr-D up to summation order (1e-12)."""
    from vlmeval.io.captions import load_captions
    from vlmeval.progress import QUIET
    from vlmeval.tasks.caption import evaluate

    data = load_captions(CAPTION_JSONL)
    keys = ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"]
    whole = evaluate(data, keys, {}, QUIET)
    for chunk in (37, 250):
        chunked = evaluate(data, keys, {}, QUIET, chunk_images=chunk)
        for key in keys[:-1]:  # integer statistics
            assert chunked.per_sample[key] == whole.per_sample[key]
        np.testing.assert_allclose(chunked.per_sample["CIDEr"], whole.per_sample["CIDEr"], rtol=0, atol=1e-12)


def test_meteor_beside_the_chunks_equals_one_unforked_run(monkeypatch):
    """METEOR runs in forked processes beside the chunk loop (one chunk: a share of its segments; several:
    one process takes every chunk tokenized so far). Its statistics, scores and the images it flags equal
    a run that forks nothing, whatever the chunk size."""
    import dataclasses

    import vlmeval.parallel
    from vlmeval.io.captions import load_captions
    from vlmeval.progress import QUIET
    from vlmeval.tasks.caption import evaluate

    data = load_captions(CAPTION_JSONL)
    flagged = [2, 40, 41, 300]  # capital sigma: Java and Python lower-case it differently
    predictions = [("ΟΔΟΣ " + p) if i in flagged else p for i, p in enumerate(data.predictions)]
    data = dataclasses.replace(data, predictions=predictions)
    keys = ["METEOR", "CIDEr"]
    with monkeypatch.context() as m:
        m.setattr(vlmeval.parallel, "can_fork", lambda: False)
        here = evaluate(data, keys, {}, QUIET, chunk_images=250)
    assert "~approx:4" in here.signature["METEOR"] or "+jar:4" in here.signature["METEOR"]
    for chunk in (10_000, 37, 250):
        beside = evaluate(data, keys, {}, QUIET, chunk_images=chunk)
        assert beside.per_sample["METEOR"] == here.per_sample["METEOR"]
        assert beside.metrics["METEOR"] == here.metrics["METEOR"]
        assert beside.signature["METEOR"] == here.signature["METEOR"]
        assert beside.warnings == here.warnings


@requires_java
def test_default_metrics_without_java_equal_cocoevalcap(tmp_path, oracle):
    """With no java on PATH (the oracle ran with it), `vlmeval caption` gives BLEU-1..4, METEOR, ROUGE-L and
    CIDEr-D equal to pycocoevalcap 1.2: METEOR and the tokenizer run without Java."""
    import os
    import subprocess
    import sys

    corpus, per_image, _, _ = oracle
    bare = tmp_path / "bin"  # a PATH with nothing on it: no java
    bare.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(bare)
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "vlmeval", "caption", str(CAPTION_COCO_RES), "--refs", str(CAPTION_COCO_ANN),
         "--out", str(out), "--quiet"], capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert "java" not in report["environment"] and "impl:py|" in report["signature"]["METEOR"]
    ids = [int(i) for i in report["per_sample"]["ids"]]
    for metric, expected in corpus.items():
        tol = 1e-6 if metric == "METEOR" else 1e-9
        assert report["metrics"][metric] == pytest.approx(expected, abs=tol), metric
        theirs = np.array([per_image[metric][i] for i in ids])
        assert np.max(np.abs(np.array(report["per_sample"][metric]) - theirs)) <= tol, metric
