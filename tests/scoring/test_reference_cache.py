"""The references' share of a run kept between runs: a later run against the same references reads exactly
what the first one prepared (and the error types' consensus it found) and reports the same; other
references, another chunking, a damaged, foreign or unwritable cache, references whose tokens depend on
Java, and runs of several chunks are computed as usual."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT
from vlmeval.scoring import captions, reference_cache
from vlmeval.scoring.captions import prepare_references, score_captions

KEYS = ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"]


def _key(references, chunk: int = 10_000) -> str:
    """The prepared references' file name."""
    regex = reference_cache._regex_version()
    return reference_cache._key(references, reference_cache.PREPARED_SOURCES, "prepared", "ptb", str(chunk), regex)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "vlmeval" / "references"


@pytest.fixture
def prepared_calls(monkeypatch):
    """How often the references are prepared (not read from the cache)."""
    calls = []
    original = captions.prepare_references

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(captions, "prepare_references", counting)
    return calls


@pytest.fixture(scope="module")
def corpus(caption_records):
    preds = [r["prediction"] for r in caption_records]
    refs = [list(r["references"]) for r in caption_records]
    return preds, refs


def _same(a, b) -> None:
    """Every field of two ``CaptionReferences``, arrays with their dtypes."""
    assert (a.tokenizer, a.chunk, a.bounds, a.strings, a.window, a.keep) == (
        b.tokenizer, b.chunk, b.bounds, b.strings, b.window, b.keep,
    )  # fmt: skip
    assert a.references == b.references and a.words == b.words and a.odd == b.odd and a.grouped == b.grouped
    assert a.line_breaks == b.line_breaks
    assert vars(a.tokenizer_stats) == vars(b.tokenizer_stats)
    for x, y in zip(a.ids, b.ids, strict=True):
        for field in ("ids", "lengths"):
            assert getattr(x, field).dtype == getattr(y, field).dtype
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field))
    x, y = a.ngrams(0), b.ngrams(0)
    assert x.base == y.base and x.counts.n == y.counts.n and x.counts.num_grams == y.counts.num_grams
    for arrays in (("ref_owner", "refs_per_image"),):
        for field in arrays:
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field))
    np.testing.assert_array_equal(x.counts.lengths, y.counts.lengths)
    for field in ("sent", "gram", "count", "keys"):
        for p, q in zip(getattr(x.counts, field), getattr(y.counts, field), strict=True):
            assert p.dtype == q.dtype and p.flags.writeable
            np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("strings", [False, True])
def test_the_references_come_back_as_prepared(folder, corpus, prepared_calls, strings):
    _, refs = corpus
    fresh = prepare_references(refs, strings=strings)
    first = reference_cache.prepared_references(refs, tokenizer="ptb", chunk=10_000, strings=strings)
    (stored,) = folder.iterdir()
    again = reference_cache.prepared_references(refs, tokenizer="ptb", chunk=10_000, strings=strings)
    assert len(prepared_calls) == 1  # the first run; the second read the file
    _same(first, fresh)
    _same(again, fresh)
    # one file serves both: the tokenized texts (METEOR, SPICE) are in it whether or not the first run read them
    other = reference_cache.prepared_references(refs, tokenizer="ptb", chunk=10_000, strings=not strings)
    assert len(prepared_calls) == 1 and list(folder.iterdir()) == [stored]
    _same(other, prepare_references(refs, strings=not strings))


def test_a_later_run_scores_the_same_without_preparing(folder, corpus, prepared_calls):
    preds, refs = corpus
    first = score_captions(preds, refs, KEYS)
    second = score_captions(preds, refs, KEYS)
    assert len(prepared_calls) == 1
    assert first.metrics == second.metrics and first.per_sample == second.per_sample
    assert first.signature == second.signature and first.stats == second.stats
    assert first.columns["tokens"] == second.columns["tokens"]
    weights = np.random.default_rng(0).integers(0, 3, len(preds)).astype(float)
    assert first.estimators["CIDEr"](weights) == second.estimators["CIDEr"](weights)


def test_other_references_or_chunking_are_another_file(folder, corpus):
    _, refs = corpus
    changed = [list(rs) for rs in refs]
    changed[7][2] += "."
    swapped = [refs[1], refs[0], *refs[2:]]
    assert len({_key(refs), _key(changed), _key(swapped), _key(refs, 20_000)}) == 4
    # the same characters split otherwise: between references, and between images
    assert len({_key(r, 9) for r in ([["ab", "c"]], [["a", "bc"]], [["a"], ["bc"]])}) == 3
    prepared = reference_cache.prepared_references(refs, tokenizer="ptb", chunk=10_000, strings=False)
    assert [p.name for p in folder.iterdir()] == [f"{_key(refs)}.refs"] and prepared.chunk == 10_000


def test_the_key_reads_the_modules_that_compute_it(folder, corpus, monkeypatch):
    package = ROOT / "vlmeval"
    sources = reference_cache.PREPARED_SOURCES + reference_cache.CONSENSUS_SOURCES
    assert all((package / name).is_file() for name in sources)
    _, refs = corpus
    key = _key(refs)
    monkeypatch.setattr(reference_cache, "PREPARED_SOURCES", reference_cache.PREPARED_SOURCES[1:])
    assert _key(refs) != key
    import regex

    # regex's version without importing it: the file the key reads states it
    main = Path(regex.__file__).parent / "_main.py"
    assert f'__version__ = "{regex.__version__}"' in main.read_text(encoding="utf-8")
    assert hashlib.sha256(main.read_bytes()).hexdigest() in reference_cache._regex_version()


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "fifo", "foreign"])
def test_a_damaged_or_foreign_file_is_prepared_again(folder, corpus, prepared_calls, damage):
    preds, refs = corpus
    expected = score_captions(preds, refs, KEYS)
    (stored,) = folder.iterdir()
    data = bytearray(stored.read_bytes())
    stored.unlink()
    if damage == "flip":
        data[len(data) // 2] ^= 0x40
        stored.write_bytes(bytes(data))
    elif damage == "truncate":
        stored.write_bytes(bytes(data[: len(data) - 100]))
    elif damage == "empty":
        stored.write_bytes(b"")
    elif damage == "fifo":
        os.mkfifo(stored)  # reading it must not wait for a writer
    else:  # another set of references' file under this name
        score_captions(preds[:300], refs[:300], KEYS)
        (other,) = folder.iterdir()
        other.rename(stored)
    calls = len(prepared_calls)
    again = score_captions(preds, refs, KEYS)
    assert len(prepared_calls) == calls + 1
    assert again.metrics == expected.metrics and again.per_sample == expected.per_sample
    reference_cache.prepared_references(refs, tokenizer="ptb", chunk=10_000, strings=False)
    assert len(prepared_calls) == calls + 1  # rewritten: read this time


def test_an_unwritable_cache_only_means_preparing(tmp_path, monkeypatch, corpus, prepared_calls):
    (tmp_path / "vlmeval").mkdir()
    (tmp_path / "vlmeval" / "references").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    preds, refs = corpus
    first = score_captions(preds, refs, KEYS)
    second = score_captions(preds, refs, KEYS)
    assert len(prepared_calls) == 2 and first.per_sample == second.per_sample


def test_references_whose_tokens_depend_on_java_are_not_kept(folder, corpus, prepared_calls):
    _, refs = corpus
    odd = [list(rs) for rs in refs]
    odd[3][0] = "ΟΔΟΣ ΣΑΣ 2Σ"  # the jar's tokens (Java present), or an approximation (absent)
    prepared = reference_cache.prepared_references(odd, tokenizer="ptb", chunk=10_000, strings=False)
    assert prepared.tokenizer_stats.jar + prepared.tokenizer_stats.approximate == 1
    assert not folder.exists() or not list(folder.iterdir())


@pytest.mark.parametrize("tokenizer,chunk", [("ptb", 200), ("ptb-jar", 10_000)])
def test_only_one_chunk_of_the_java_free_tokenizer_is_kept(folder, corpus, tokenizer, chunk):
    import shutil

    if tokenizer == "ptb-jar" and shutil.which("java") is None:
        pytest.skip("needs a Java runtime")
    _, refs = corpus
    prepared = reference_cache.prepared_references(refs, tokenizer=tokenizer, chunk=chunk, strings=False)
    assert len(prepared.bounds) == -(-len(refs) // chunk) and prepared.tokenizer == tokenizer
    assert not folder.exists() or not list(folder.iterdir())


def test_the_folder_keeps_the_most_recently_used(folder, corpus, monkeypatch):
    monkeypatch.setattr(reference_cache, "KEEP_FILES", 3)
    _, refs = corpus
    sets = [refs[i * 50 : (i + 1) * 50] for i in range(5)]
    keys = [_key(s) for s in sets]
    for i, s in enumerate(sets):
        reference_cache.prepared_references(s, tokenizer="ptb", chunk=10_000, strings=False)
        stamp = 1_000_000_000 + i
        os.utime(folder / f"{keys[i]}.refs", (stamp, stamp))
    reference_cache.prepared_references(sets[0], tokenizer="ptb", chunk=10_000, strings=False)  # prepared again
    kept = {p.stem for p in folder.iterdir()}
    assert kept == {keys[0], keys[3], keys[4]}


def test_two_processes_preparing_at_once(tmp_path):
    script = (
        "import json, sys; from vlmeval.scoring.reference_cache import prepared_references\n"
        "refs = [[l] for l in json.load(open(sys.argv[1]))]\n"
        "print(len(prepared_references(refs, tokenizer='ptb', chunk=10_000, strings=False).words))\n"
    )
    import json

    from tests.conftest import CAPTION_JSONL

    lines = [json.loads(line)["references"][0] for line in CAPTION_JSONL.read_text(encoding="utf-8").splitlines()]
    (tmp_path / "refs.json").write_text(json.dumps(lines))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "refs.json")], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, text=True) for _ in range(4)]  # fmt: skip
    words = {run.communicate()[0] for run in runs}
    assert all(run.returncode == 0 for run in runs) and len(words) == 1
    (stored,) = (tmp_path / "vlmeval" / "references").iterdir()
    refs = [[line] for line in lines]
    found = reference_cache._prepared(reference_cache._load(stored, _key(refs)), refs, 10_000, False)
    assert found is not None and str(len(found.words)) == words.pop().strip()


def test_the_consensus_comes_back_as_found(folder, corpus, monkeypatch):
    from vlmeval.metrics.errors import ContentConsensus

    _, refs = corpus
    fresh = ContentConsensus.of(refs)
    calls = []
    original = ContentConsensus.of.__func__
    monkeypatch.setattr(ContentConsensus, "of", classmethod(lambda cls, r: calls.append(1) or original(cls, r)))
    first = reference_cache.content_consensus(refs)
    again = reference_cache.content_consensus(refs)
    assert len(calls) == 1 and [p.suffix for p in folder.iterdir()] == [".consensus"]
    for found in (first, again):
        assert found.stems == fresh.stems and len(found.parts) == 1
        (x,), (y,) = found.parts, fresh.parts
        assert x.width == y.width and x.keys.dtype == y.keys.dtype and x.wanted.dtype == y.wanted.dtype
        np.testing.assert_array_equal(x.keys, y.keys)
        np.testing.assert_array_equal(x.wanted, y.wanted)
    reference_cache.content_consensus(refs[:-1])
    assert len(calls) == 2


def test_a_later_cli_run_reports_the_same_from_the_cache(folder, cli, tmp_path, monkeypatch):
    """Both shares kept: no preparing, no consensus, the same report (error types and failure rows too)."""
    import json

    from tests.conftest import CAPTION_COCO_ANN, CAPTION_COCO_RES
    from vlmeval.metrics import errors

    args = ["caption", CAPTION_COCO_RES, "--refs", CAPTION_COCO_ANN, "--metrics", "Bleu,ROUGE_L,CIDEr",
            "--failures", "5", "--bootstrap", "20", "--quiet"]  # fmt: skip
    first = cli(*args, "--out", tmp_path / "first.json")
    assert first.exit_code == 0, first.output
    assert sorted(p.suffix for p in folder.iterdir()) == [".consensus", ".refs"]
    calls = []
    monkeypatch.setattr(captions, "prepare_references", lambda *a, **k: calls.append("prepare"))
    monkeypatch.setattr(errors.ContentConsensus, "of", classmethod(lambda cls, r: calls.append("consensus")))
    second = cli(*args, "--out", tmp_path / "second.json")
    assert second.exit_code == 0 and calls == [] and second.output == first.output
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("first", "second"))
    assert {k: v for k, v in a.items() if k != "environment"} == {k: v for k, v in b.items() if k != "environment"}
