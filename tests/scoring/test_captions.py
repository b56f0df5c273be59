"""A run of one chunk without METEOR computes CIDEr-D in a forked process beside BLEU and ROUGE-L: its report
(every number, the bootstrap intervals, a sharded run's parts merged) is bit for bit the one-process one."""

from __future__ import annotations

import pytest

from tests.conftest import CAPTION_JSONL
from tests.test_shard import merged, run, same
from vlmeval.scoring import captions
from vlmeval.scoring.captions import score_captions

KEYS = ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"]


@pytest.fixture
def forks(monkeypatch):
    """Per CIDEr-D job started, whether it was forked off and whether it could be (no other thread alive)."""
    from vlmeval import parallel

    started = []
    original = parallel.Pending.__init__

    def recording(self, job):
        could = parallel.can_fork()
        original(self, job)
        if "_score_ngrams" in job.__qualname__:
            started.append((self.forked, could))

    monkeypatch.setattr(parallel.Pending, "__init__", recording)
    return started


# in a fresh process: earlier tests may leave threads alive (W&B's), and then nothing forks
SCRIPT = """
import json, sys
import numpy as np
from vlmeval import parallel
from vlmeval.scoring import captions
records = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
preds, refs = [r["prediction"] for r in records], [list(r["references"]) for r in records]
keys = sys.argv[2].split(",")
forked = []
original = parallel.Pending.__init__
def recording(self, job):
    original(self, job)
    if "_score_ngrams" in job.__qualname__:
        forked.append(self.forked)
parallel.Pending.__init__ = recording
captions.CIDER_BESIDE_IMAGES = 10**9
alone = captions.score_captions(preds, refs, keys)
assert forked == [], forked
captions.CIDER_BESIDE_IMAGES = 1
beside = captions.score_captions(preds, refs, keys)
assert forked == [True], forked
assert alone.metrics == beside.metrics and alone.per_sample == beside.per_sample and alone.stats == beside.stats
for w in np.random.default_rng(1).integers(0, 3, (4, len(preds))).astype(float):
    assert alone.estimators["CIDEr"](w) == beside.estimators["CIDEr"](w)
print("same")
"""


@pytest.mark.parametrize("keys", [KEYS, ["CIDEr"], ["ROUGE_L", "CIDEr"]])
def test_cider_beside_is_the_one_process_result(tmp_path, keys):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "-c", SCRIPT, str(CAPTION_JSONL), ",".join(keys)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)})  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "same", done.stderr


def test_no_fork_beside_meteor_or_several_chunks(caption_records, monkeypatch, forks):
    preds = [r["prediction"] for r in caption_records]
    refs = [list(r["references"]) for r in caption_records]
    monkeypatch.setattr(captions, "CIDER_BESIDE_IMAGES", 1)
    score_captions(preds, refs, KEYS, chunk_images=200)
    score_captions(preds, refs, [*KEYS, "METEOR"])  # 500 images: too few for METEOR's own share to fork
    assert forks == []


def test_reports_and_merged_parts_with_cider_beside(cli, tmp_path, monkeypatch, forks):
    args = ["caption", str(CAPTION_JSONL), "--metrics", "Bleu,ROUGE_L,CIDEr", "--failures", "5", "--bootstrap", "20"]
    monkeypatch.setattr(captions, "CIDER_BESIDE_IMAGES", 10**9)
    alone = run(cli, args, tmp_path / "alone.json")
    monkeypatch.setattr(captions, "CIDER_BESIDE_IMAGES", 1)
    beside = run(cli, args, tmp_path / "beside.json")
    assert [forked for forked, could in forks] == [could for forked, could in forks] and len(forks) == 1
    assert same(alone, beside) == []
    assert same(alone, merged(cli, args, 3, tmp_path)) == []


def test_not_single_spaced_texts_are_the_anchored_patterns():
    """The texts ROUGE-L reads on their own tokens: those a regular expression with line anchors finds."""
    import random
    import re

    pattern = re.compile(r"[^\S \n]|  |^ | $", re.MULTILINE)

    def by_regex(texts):
        joined = "\n".join(texts)
        starts = [0]
        for t in texts[:-1]:
            starts.append(starts[-1] + len(t) + 1)
        from bisect import bisect_right

        return sorted({bisect_right(starts, m.start()) - 1 for m in pattern.finditer(joined)})

    rng = random.Random(3)
    pieces = ["a", "dog", " ", "  ", "\t", "\xa0", "\u2009", "\x1c", "\x85", "\u3000", "3", "", "b c"]
    for _ in range(2000):
        texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(1, 6))]
        assert captions._not_single_spaced(texts) == by_regex(texts), texts
