"""`vlmeval retrieval` through the CLI: the three input forms agree, conventions, empty queries, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import FIXTURES, write_jsonl

R = FIXTURES / "retrieval"
EMB = [
    "--image-embeddings",
    R / "image_embeddings.npy",
    "--text-embeddings",
    R / "text_embeddings.npy",
    "--pairs",
    R / "pairs.jsonl",
]


def _report(tmp_path, name="r.json"):
    return json.loads((tmp_path / name).read_text())


@pytest.fixture
def t2i_inputs(tmp_path):
    """The fixture's text->image direction as a score matrix, id lists and relevance, and as ranked lists."""
    images = np.load(R / "image_embeddings.npy").astype(np.float64)
    texts = np.load(R / "text_embeddings.npy").astype(np.float64)
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    texts /= np.linalg.norm(texts, axis=1, keepdims=True)
    scores = texts @ images.T
    pairs = [json.loads(line) for line in (R / "pairs.jsonl").read_text().splitlines()]
    image_ids = [str(p["image"]) for p in pairs]
    caption_ids = [c for p in pairs for c in p["captions"]]
    owner = {c: str(p["image"]) for p in pairs for c in p["captions"]}
    np.save(tmp_path / "scores.npy", scores)
    (tmp_path / "queries.json").write_text(json.dumps(caption_ids))
    (tmp_path / "items.txt").write_text("\n".join(image_ids) + "\n")
    write_jsonl(tmp_path / "rel.jsonl", [{"query": c, "relevant": [owner[c]]} for c in caption_ids])
    order = np.argsort(-scores, axis=1, kind="stable")
    write_jsonl(tmp_path / "ranked.jsonl", [
        {"query": c, "ranking": [image_ids[j] for j in order[i][:50]], "relevant": [owner[c]]} for i, c in enumerate(caption_ids)
    ])  # fmt: skip
    return scores


def test_three_input_forms_agree(cli, tmp_path, t2i_inputs):
    assert cli("retrieval", *EMB, "--out", "emb.json", "--quiet").exit_code == 0
    emb = _report(tmp_path, "emb.json")
    result = cli(
        "retrieval",
        "scores.npy",
        "--queries",
        "queries.json",
        "--items",
        "items.txt",
        "--relevance",
        "rel.jsonl",
        "--out",
        "m.json",
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    matrix = _report(tmp_path, "m.json")
    result = cli("retrieval", "ranked.jsonl", "--out", "k.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    ranked = _report(tmp_path, "k.json")
    for key in ("R@1", "R@5", "R@10", "NDCG@10"):
        assert matrix["metrics"][key] == pytest.approx(emb["metrics"]["t2i_" + key], abs=1e-12)
        assert ranked["metrics"][key] == pytest.approx(matrix["metrics"][key], abs=1e-12)
    # a ranked list cut at 50 misses the relevant item for some queries: MRR 0 there, not 1/rank
    assert ranked["metrics"]["MRR"] <= matrix["metrics"]["MRR"]
    assert set(emb["metrics"]) == {
        f"{d}_{m}" for d in ("t2i", "i2t") for m in ("R@1", "R@5", "R@10", "MRR", "NDCG@10")
    } | {"failure_rate"}
    assert len(emb["per_sample"]["ids"]) == 800 and len(emb["per_sample"]["i2t_ids"]) == 200
    assert (
        "sim:cosine" in emb["signature"]["t2i_R@1"] and "parity:CLIP_benchmark" in emb["signature"]["t2i_R@1"]
    )


def test_options(cli, tmp_path):
    result = cli(
        "retrieval",
        *EMB,
        "--k",
        "1,20",
        "--ndcg-k",
        "5",
        "--recall-definition",
        "fraction",
        "--ties",
        "id",
        "--out",
        "r.json",
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path)
    assert {"t2i_R@20", "i2t_NDCG@5"} <= set(report["metrics"])
    assert (
        "def:fraction-of-relevant" in report["signature"]["i2t_R@1"]
        and "ties:id" in report["signature"]["i2t_R@1"]
    )
    # with one relevant image per caption, both recall definitions agree for text-to-image
    any_def = cli("retrieval", *EMB, "--k", "1,20", "--out", "a.json", "--quiet")
    assert any_def.exit_code == 0
    assert _report(tmp_path, "a.json")["metrics"]["t2i_R@20"] == pytest.approx(report["metrics"]["t2i_R@20"])
    assert _report(tmp_path, "a.json")["metrics"]["i2t_R@20"] > report["metrics"]["i2t_R@20"]


def test_graded_relevance_and_empty_queries(cli, tmp_path):
    np.save(tmp_path / "s.npy", np.array([[0.9, 0.5, 0.1], [0.2, 0.8, 0.4], [0.3, 0.3, 0.3]]))
    (tmp_path / "q.json").write_text('["a", "b", "c"]')
    (tmp_path / "i.json").write_text('["x", "y", "z"]')
    write_jsonl(tmp_path / "rel.jsonl", [
        {"query": "a", "item": "x", "relevance": 2}, {"query": "a", "item": "z", "relevance": 1},
        {"query": "b", "item": "z", "relevance": 3}, {"query": "c", "item": "x", "relevance": 0},
    ])  # fmt: skip
    args = ["retrieval", "s.npy", "--queries", "q.json", "--items", "i.json", "--relevance", "rel.jsonl"]
    result = cli(*args, "--out", "r.json")
    assert result.exit_code == 2 and "1 query has no relevant item (first: 'c')" in result.stderr
    assert cli(*args, "--empty-queries", "skip", "--out", "r.json", "--quiet").exit_code == 0
    skipped = _report(tmp_path)
    assert skipped["counts"]["skipped"] == {"no_relevant_item": 1} and skipped["counts"]["scored"] == 2
    assert skipped["metrics"]["R@1"] == 0.5 and skipped["metrics"]["MRR"] == pytest.approx((1 + 1 / 2) / 2)
    assert "gain:graded-linear" in skipped["signature"]["NDCG@10"]
    assert cli(*args, "--empty-queries", "zero", "--out", "r.json", "--quiet").exit_code == 0
    assert _report(tmp_path)["metrics"]["R@1"] == pytest.approx(1 / 3)


def test_a_block_of_queries_without_relevant_items(cli, tmp_path):
    """Every query of a block without a relevant item: their (empty) column indices stay integers."""
    np.save(tmp_path / "s.npy", np.array([[0.1, 0.2], [0.3, 0.4]]))
    (tmp_path / "q.json").write_text('["q0", "q1"]')
    (tmp_path / "i.json").write_text('["i0", "i1"]')
    write_jsonl(tmp_path / "rel.jsonl", [{"query": "q0", "relevant": []}])
    args = ["retrieval", "s.npy", "--queries", "q.json", "--items", "i.json", "--relevance", "rel.jsonl", "--out", "r.json"]
    result = cli(*args)
    assert result.exit_code == 2 and "2 queries have no relevant item" in result.stderr
    result = cli(*args, "--empty-queries", "zero")
    assert result.exit_code == 0, result.stderr
    assert _report(tmp_path)["metrics"]["R@1"] == 0.0 and "2 queries without a relevant item" in result.stdout
    assert cli(*args, "--empty-queries", "skip").exit_code == 0 and _report(tmp_path)["counts"]["scored"] == 0


@pytest.mark.parametrize(
    "relevance,message",
    [
        ({"query": "nope", "relevant": ["x"]}, "query 'nope' is not in the query ids"),
        ({"query": "a", "relevant": ["w"]}, "item 'w' is not in the item ids"),
        ({"query": "a", "item": "x", "relevance": -1}, "'relevance' must be a number >= 0"),
        ({"query": "a"}, "needs 'relevant'"),
    ],
)
def test_bad_relevance(cli, tmp_path, relevance, message):
    np.save(tmp_path / "s.npy", np.zeros((1, 2)))
    (tmp_path / "q.txt").write_text("a\n")
    (tmp_path / "i.txt").write_text("x\ny\n")
    write_jsonl(tmp_path / "rel.jsonl", [{"query": "a", "relevant": ["y"]}, relevance])
    result = cli(
        "retrieval",
        "s.npy",
        "--queries",
        "q.txt",
        "--items",
        "i.txt",
        "--relevance",
        "rel.jsonl",
        "--out",
        "r.json",
    )
    assert result.exit_code == 2
    assert "rel.jsonl:2:" in result.stderr and message in result.stderr


def test_bad_matrices(cli, tmp_path):
    (tmp_path / "q.txt").write_text("a\nb\n")
    (tmp_path / "i.txt").write_text("x\ny\n")
    write_jsonl(tmp_path / "rel.jsonl", [{"query": "a", "relevant": ["y"]}])
    args = ["--queries", "q.txt", "--items", "i.txt", "--relevance", "rel.jsonl", "--out", "r.json"]
    np.save(tmp_path / "s.npy", np.zeros((3, 2)))
    result = cli("retrieval", "s.npy", *args)
    assert result.exit_code == 2 and "3 x 2 but there are 2 query ids" in result.stderr
    np.save(tmp_path / "s.npy", np.array([[0.1, np.nan], [0.2, 0.3]]))
    result = cli("retrieval", "s.npy", *args)
    assert result.exit_code == 2 and "NaN values (first at row 0, column 1)" in result.stderr
    np.save(tmp_path / "s.npy", np.zeros((2, 2)))
    (tmp_path / "q.txt").write_text("a\na\n")
    result = cli("retrieval", "s.npy", *args)
    assert result.exit_code == 2 and "q.txt:2: duplicate query id 'a'" in result.stderr
    result = cli("retrieval", "s.npy", "--out", "r.json")
    assert result.exit_code == 2 and "needs --queries" in result.stderr
    result = cli("retrieval", "--out", "r.json")
    assert result.exit_code == 2


def test_bad_ranked_lists_and_embeddings(cli, tmp_path):
    write_jsonl(tmp_path / "k.jsonl", [{"query": "a", "ranking": ["x", "y", "x"], "relevant": ["x"]}])
    result = cli("retrieval", "k.jsonl", "--out", "r.json")
    assert result.exit_code == 2 and "k.jsonl:1: item 'x' appears twice" in result.stderr
    np.save(tmp_path / "img.npy", np.zeros((2, 4), dtype=np.float32))
    np.save(tmp_path / "txt.npy", np.ones((2, 4), dtype=np.float32))
    write_jsonl(
        tmp_path / "pairs.jsonl", [{"image": 1, "captions": ["c1"]}, {"image": 2, "captions": ["c2"]}]
    )
    result = cli(
        "retrieval",
        "--image-embeddings",
        "img.npy",
        "--text-embeddings",
        "txt.npy",
        "--pairs",
        "pairs.jsonl",
        "--out",
        "r.json",
    )
    assert result.exit_code == 2 and "row 0 is a zero vector" in result.stderr


def test_every_part_stops_on_the_whole_inputs_empty_queries(cli, tmp_path):
    """--empty-queries error: a part whose own queries all have relevant items stops as the one run does."""
    np.save(tmp_path / "s.npy", np.arange(12, dtype=float).reshape(4, 3))
    (tmp_path / "q.json").write_text('["a", "b", "c", "d"]')
    (tmp_path / "i.json").write_text('["x", "y", "z"]')
    write_jsonl(tmp_path / "rel.jsonl", [{"query": "c", "relevant": ["x"]}, {"query": "d", "relevant": ["y"]}])
    args = ["retrieval", "s.npy", "--queries", "q.json", "--items", "i.json", "--relevance", "rel.jsonl"]
    whole = cli(*args, "--out", "r.json")
    part = cli(*args, "--shard", "2/2", "--out", "p.json")  # queries c, d: both have one
    assert whole.exit_code == part.exit_code == 2 and whole.stderr == part.stderr
    assert "2 queries have no relevant item (first: 'a')" in part.stderr


def test_embeddings_whose_norm_overflows_or_underflows_still_point_where_they_point(cli, tmp_path):
    """float32 3e30 overflows its squared norm, 1e-300 underflows it: the rows are scaled first."""
    np.save(tmp_path / "img.npy", np.array([[3e30, 0, 1e29], [0, 3e30, 0]], dtype=np.float32))
    np.save(tmp_path / "txt.npy", np.array([[1e-300, 0, 1e-301], [0, 1e-300, 0]], dtype=np.float64))
    write_jsonl(tmp_path / "pairs.jsonl", [{"image": 1, "captions": ["c1"]}, {"image": 2, "captions": ["c2"]}])
    args = ("--image-embeddings", "img.npy", "--text-embeddings", "txt.npy", "--pairs", "pairs.jsonl")
    result = cli("retrieval", *args, "--out", "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    metrics = _report(tmp_path)["metrics"]
    assert metrics["t2i_R@1"] == 1.0 and metrics["i2t_R@1"] == 1.0
    np.save(tmp_path / "img.npy", np.array([[np.inf, 0, 0], [0, 1, 0]], dtype=np.float32))
    result = cli("retrieval", *args, "--out", "r.json")
    assert result.exit_code == 2 and "infinite values (first at row 0, column 0)" in result.stderr


def test_gates_on_direction_keys(cli, tmp_path):
    result = cli("retrieval", *EMB, "--min", "t2i_R@1=0.99", "--out", "r.json", "--quiet")
    assert result.exit_code == 1
    result = cli("retrieval", *EMB, "--min", "R@1=0.1", "--out", "r.json", "--quiet")
    assert result.exit_code == 2 and "cannot gate on 'R@1'" in result.stderr


def test_error_types_per_query(cli, tmp_path):
    """Failed: no relevant item surely in the top K of the smallest --k; low_rank when one is surely in the
    top K of the largest, else miss. Ties count as not surely in; skipped queries are not scored."""
    np.save(tmp_path / "s.npy", np.array([
        [0.9, 0.5, 0.1, 0.0],  # a: x first
        [0.9, 0.8, 0.4, 0.0],  # b: y second
        [0.9, 0.8, 0.7, 0.1],  # c: w last
        [0.5, 0.5, 0.1, 0.0],  # d: x tied with y for the first place
        [0.3, 0.3, 0.3, 0.3],  # e: nothing relevant
    ]))  # fmt: skip
    (tmp_path / "q.json").write_text('["a", "b", "c", "d", "e"]')
    (tmp_path / "i.json").write_text('["x", "y", "z", "w"]')
    write_jsonl(tmp_path / "rel.jsonl", [
        {"query": "a", "relevant": ["x"]}, {"query": "b", "relevant": ["y"]}, {"query": "c", "relevant": ["w"]},
        {"query": "d", "relevant": ["x"]}, {"query": "e", "relevant": []},
    ])  # fmt: skip
    args = ["retrieval", "s.npy", "--queries", "q.json", "--items", "i.json", "--relevance", "rel.jsonl", "--k", "1,2"]
    assert cli(*args, "--empty-queries", "skip", "--failures", "5", "--out", "r.json", "--quiet").exit_code == 0
    report = _report(tmp_path)
    types = dict(zip(report["per_sample"]["ids"], report["per_sample"]["error_type"]))
    assert types == {"a": None, "b": "low_rank", "c": "miss", "d": "low_rank", "e": None}
    assert report["metrics"]["failure_rate"] == 3 / 5
    # the worst first, the skipped query not among them (it is not scored)
    assert [(row["id"], row["error_type"]) for row in report["failures"]] == [
        ("c", "miss"), ("b", "low_rank"), ("d", "low_rank"), ("a", None),  # d: expected rank 1.5
    ]  # fmt: skip
    # ties broken by item order put x first for d; a query without relevant items scored 0 is a miss
    assert cli(*args, "--ties", "id", "--empty-queries", "zero", "--out", "z.json", "--quiet").exit_code == 0
    report = _report(tmp_path, "z.json")
    assert report["per_sample"]["error_type"] == [None, "low_rank", "miss", None, "miss"]
    assert cli(*args, "--empty-queries", "zero", "--failures", "1", "--out", "w.json", "--quiet").exit_code == 0
    assert [(row["id"], row["error_type"]) for row in _report(tmp_path, "w.json")["failures"]] == [("e", "miss")]
    assert "failed:R@1<1|low_rank:R@2=1|ties:id|empty:zero" in report["signature"]["failure_rate"]
    # --recall-definition does not change what a failure is
    assert cli(*args, "--ties", "id", "--empty-queries", "zero", "--recall-definition", "fraction", "--out", "f.json",
               "--quiet").exit_code == 0  # fmt: skip
    assert _report(tmp_path, "f.json")["per_sample"]["error_type"] == report["per_sample"]["error_type"]


def test_error_types_in_both_directions(cli, tmp_path):
    """Embeddings: failure_rate and error_type are the text-to-image queries' (1 - t2i_R@1 without ties);
    the image-to-text queries have their own i2t_error_type, and every failure row its type."""
    assert cli("retrieval", *EMB, "--failures", "4", "--out", "r.json", "--quiet").exit_code == 0
    report = _report(tmp_path)
    ps = report["per_sample"]
    assert report["metrics"]["failure_rate"] == pytest.approx(1 - report["metrics"]["t2i_R@1"])
    for prefix in ("", "i2t_"):
        r1, r10 = ps[f"{prefix or 't2i_'}R@1"], ps[f"{prefix or 't2i_'}R@10"]
        expected = [None if a == 1 else "low_rank" if b == 1 else "miss" for a, b in zip(r1, r10)]
        assert ps[f"{prefix}error_type"] == expected
    i2t = report["breakdown"]["i2t_error_type"]
    assert sum(v["count"] for v in i2t.values()) == sum(v < 1 for v in ps["i2t_R@1"])
    assert all(row["error_type"] in ("miss", "low_rank") for row in report["failures"])
    assert {row["direction"] for row in report["failures"]} == {"t2i", "i2t"}
