"""Hostile cases particular to `vlmeval retrieval`: the score matrix with its id lists and relevance
judgements, and image/text embeddings with their pairs (ranked lists are a TaskSpec in tasks.py)."""

from __future__ import annotations

import numpy as np

from tests.hostile import inputs
from tests.hostile.harness import Case, Fifo, Folder, Symlink

MATRIX = inputs.score_matrix()
Q, ITEMS = inputs.QUERY_IDS, inputs.ITEM_IDS
SCORES = {
    "s.npy": inputs.npy(MATRIX),
    "q.txt": "\n".join(Q) + "\n",
    "i.json": inputs.dumps(ITEMS),
    "rel.jsonl": inputs.jsonl(inputs.relevance_rows()),
}
ARGS = ("s.npy", "--queries", "q.txt", "--items", "i.json", "--relevance", "rel.jsonl")
IMAGES, TEXTS, PAIRS = inputs.embeddings()
EMB = {"img.npy": inputs.npy(IMAGES), "txt.npy": inputs.npy(TEXTS), "pairs.jsonl": inputs.jsonl(PAIRS)}
EMB_ARGS = ("--image-embeddings", "img.npy", "--text-embeddings", "txt.npy", "--pairs", "pairs.jsonl")


def rt(*args: str) -> tuple[str, ...]:
    return ("retrieval", *args, "--out", "r.json")


def scores(**changes) -> dict:
    return {**SCORES, **changes}


def emb(**changes) -> dict:
    return {**EMB, **changes}


def _rel(*rows: dict) -> str:
    return inputs.jsonl([*inputs.relevance_rows()[:1], *rows, *inputs.relevance_rows()[1:]])


def _npy_truncated() -> bytes:
    blob = inputs.npy(MATRIX)
    return blob[:-10]


NOT_PICKLE = r"^(?!.*(?i:pickle))"  # numpy's advice to load pickled data is never the answer

CASES: list[Case] = [
    Case("retrieval-scores-ok", rt(*ARGS), SCORES, code=0),
    Case("retrieval-scores-float64-int", rt(*ARGS), scores(**{"s.npy": inputs.npy((MATRIX * 100).astype(np.int16))}),
         code=0),
    Case("retrieval-scores-inf", rt(*ARGS), scores(**{"s.npy": inputs.npy(np.where(MATRIX > 0.9, -np.inf, MATRIX))}),
         code=0),
    Case("retrieval-scores-gz-ids", rt("s.npy", "--queries", "q.txt.gz", "--items", "i.json", "--relevance", "rel.jsonl"),
         scores(**{"q.txt.gz": inputs.gz(SCORES["q.txt"])}), code=0),
    Case("retrieval-scores-crlf-bom-ids", rt(*ARGS), scores(**{"q.txt": "\ufeff" + "\r\n".join(Q) + "\r\n\r\n"}), code=0),
    # the matrix
    Case("retrieval-npy-random-bytes", rt(*ARGS), scores(**{"s.npy": bytes(range(256)) * 4}),
         err=NOT_PICKLE + r".*s\.npy: not a \.npy file"),
    Case("retrieval-npy-text", rt(*ARGS), scores(**{"s.npy": "0.1 0.2\n0.3 0.4\n"}), err=NOT_PICKLE + r".*s\.npy: not a \.npy"),
    Case("retrieval-npy-npz", rt(*ARGS), scores(**{"s.npy": b"PK\x03\x04" + b"\x00" * 40}), err=r"s\.npy: a \.npz archive"),
    Case("retrieval-npy-object", rt(*ARGS), scores(**{"s.npy": inputs.npy(np.array([[1, "a"]] * 4, dtype=object))}),
         err=NOT_PICKLE + r".*s\.npy: the score matrix holds Python objects"),
    Case("retrieval-npy-truncated", rt(*ARGS), scores(**{"s.npy": _npy_truncated()}), err=r"s\.npy: truncated \.npy file"),
    Case("retrieval-npy-header-damaged", rt(*ARGS), scores(**{"s.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': zz}    \n"}),
         err=r"s\.npy: not a readable \.npy file"),
    Case("retrieval-npy-1d", rt(*ARGS), scores(**{"s.npy": inputs.npy(MATRIX.ravel())}), err=r"s\.npy: the score matrix must be 2-D"),
    Case("retrieval-npy-3d", rt(*ARGS), scores(**{"s.npy": inputs.npy(MATRIX[None])}), err=r"s\.npy: the score matrix must be 2-D"),
    Case("retrieval-npy-complex", rt(*ARGS), scores(**{"s.npy": inputs.npy(MATRIX.astype(np.complex64))}),
         err=r"s\.npy: the score matrix must be numeric"),
    Case("retrieval-npy-bool", rt(*ARGS), scores(**{"s.npy": inputs.npy(MATRIX > 0.5)}), err=r"must be numeric"),
    Case("retrieval-npy-structured", rt(*ARGS),
         scores(**{"s.npy": inputs.npy(np.zeros((4, 6), dtype=[("a", "f4"), ("b", "i4")]))}), err=r"must be numeric"),
    Case("retrieval-npy-nan", rt(*ARGS), scores(**{"s.npy": inputs.npy(np.where(MATRIX > 0.9, np.nan, MATRIX))}),
         err=r"s\.npy: the score matrix has NaN values \(first at row \d+, column \d+\)"),
    Case("retrieval-npy-shape-mismatch", rt(*ARGS), scores(**{"s.npy": inputs.npy(MATRIX[:3])}),
         err=r"s\.npy: the score matrix is 3 x 6 but there are 4 query ids"),
    Case("retrieval-npy-missing", rt(*ARGS), {k: v for k, v in SCORES.items() if k != "s.npy"}, err=r"s\.npy: no such file"),
    Case("retrieval-npy-fifo", rt(*ARGS), scores(**{"s.npy": Fifo()}), err=r"(?i)s\.npy: .*named pipe"),
    Case("retrieval-npy-directory", rt(*ARGS), scores(**{"s.npy": Folder()}), err=r"s\.npy: is a directory"),
    Case("retrieval-npy-symlink-loop", rt(*ARGS), scores(**{"s.npy": Symlink("s.npy")}), err=r"s\.npy: symbolic link loop"),
    Case("retrieval-npy-wrong-extension", rt("s.csv", *ARGS[1:]), scores(**{"s.csv": "1,2\n"}),
         err=r"ranked lists carry their own queries"),
    # the id lists
    Case("retrieval-ids-json-object", rt(*ARGS), scores(**{"q.txt": '{"q0": 0, "q1": 1}'}),
         err=r"q\.txt:1: query ids must be a JSON list or one id per line; this file holds JSON objects"),
    Case("retrieval-ids-jsonl-records", rt(*ARGS), scores(**{"q.txt": inputs.jsonl([{"id": q} for q in Q])}),
         err=r"q\.txt:1: query ids must be a JSON list"),
    Case("retrieval-ids-nested-list", rt(*ARGS), scores(**{"i.json": inputs.dumps([ITEMS[0], [ITEMS[1]], *ITEMS[2:]])}),
         err=r"i\.json:3: item id #2 must be a non-empty string or an integer, got a list"),
    Case("retrieval-ids-bool", rt(*ARGS), scores(**{"i.json": inputs.dumps([ITEMS[0], True, *ITEMS[2:]])}),
         err=r"i\.json:3: item id #2 must be"),
    Case("retrieval-ids-duplicate-lines", rt(*ARGS), scores(**{"q.txt": "q0\nq1\nq0\nq3\n"}),
         err=r"q\.txt:3: duplicate query id 'q0' \(first at line 1\)"),
    Case("retrieval-ids-duplicate-json", rt(*ARGS), scores(**{"i.json": inputs.dumps([ITEMS[0], ITEMS[1], ITEMS[0], *ITEMS[3:]])}),
         err=r"i\.json:4: duplicate item id 'i0' \(first at line 2\)"),
    Case("retrieval-ids-empty", rt(*ARGS), scores(**{"q.txt": "\n\n"}), err=r"q\.txt: no query ids"),
    Case("retrieval-ids-deep", rt(*ARGS), scores(**{"i.json": inputs.deep()}), err=r"i\.json: .*nested too deeply"),
    Case("retrieval-ids-broken-json", rt(*ARGS), scores(**{"i.json": '["i0", "i1",'}), err=r"i\.json:1: not valid JSON"),
    Case("retrieval-ids-utf16", rt(*ARGS), scores(**{"q.txt": ("\ufeff" + SCORES["q.txt"]).encode("utf-16-le")}),
         err=r"q\.txt:1: is UTF-16 encoded"),
    Case("retrieval-ids-utf16-no-bom", rt(*ARGS), scores(**{"q.txt": SCORES["q.txt"].encode("utf-16-le")}),
         err=r"q\.txt:1: contains a NUL byte"),
    Case("retrieval-ids-fifo", rt(*ARGS), scores(**{"q.txt": Fifo()}), err=r"(?i)q\.txt: .*named pipe"),
    Case("retrieval-ids-dangling", rt(*ARGS), scores(**{"q.txt": Symlink("gone.txt")}),
         err=r"q\.txt: broken symbolic link \(its target gone\.txt does not exist\)"),
    # relevance judgements
    Case("retrieval-rel-unknown-query", rt(*ARGS), scores(**{"rel.jsonl": _rel({"query": "zz", "relevant": ["i0"]})}),
         err=r"rel\.jsonl:2: query 'zz' is not in the query ids"),
    Case("retrieval-rel-unknown-item", rt(*ARGS), scores(**{"rel.jsonl": _rel({"query": "q1", "item": "zz"})}),
         err=r"rel\.jsonl:2: item 'zz' is not in the item ids"),
    Case("retrieval-rel-judged-twice", rt(*ARGS), scores(**{"rel.jsonl": _rel({"query": "q0", "relevant": ["i0"]})}),
         err=r"rel\.jsonl:2: item 'i0' is judged twice for query 'q0'"),
    Case("retrieval-rel-grade-nan", rt(*ARGS), scores(**{"rel.jsonl": _rel({"query": "q1", "item": "i5", "relevance": float("nan")})}),
         err=r"rel\.jsonl:2: 'relevance' must be a number >= 0"),
    Case("retrieval-rel-grade-string", rt(*ARGS), scores(**{"rel.jsonl": _rel({"query": "q1", "item": "i5", "relevance": "2"})}),
         err=r"rel\.jsonl:2: 'relevance' must be a number >= 0"),
    Case("retrieval-rel-grade-negative", rt(*ARGS), scores(**{"rel.jsonl": _rel({"query": "q1", "item": "i5", "relevance": -1})}),
         err=r"rel\.jsonl:2: 'relevance' must be a number >= 0"),
    Case("retrieval-rel-query-listed-twice", rt(*ARGS), scores(**{"rel.jsonl": _rel({"query": "q0", "relevant": ["i5"]})}),
         err=r"rel\.jsonl:2: query .* has a second 'relevant' row \(first at line 1\)"),
    Case("retrieval-rel-relevant-string", rt(*ARGS), scores(**{"rel.jsonl": _rel({"query": "q1", "relevant": "i5"})}),
         err=r"rel\.jsonl:2: 'relevant' must be a list of item ids"),
    Case("retrieval-rel-item-object", rt(*ARGS), scores(**{"rel.jsonl": _rel({"query": "q1", "relevant": [{"id": "i5"}]})}),
         err=r"rel\.jsonl:2: item id .* must be a string or an integer"),
    Case("retrieval-rel-neither", rt(*ARGS), scores(**{"rel.jsonl": _rel({"query": "q1"})}),
         err=r"rel\.jsonl:2: a relevance row needs 'relevant'"),
    Case("retrieval-rel-empty-query", rt(*ARGS),
         scores(**{"rel.jsonl": inputs.jsonl(inputs.relevance_rows()[:3])}), err=r"(?i)quer"),
    Case("retrieval-rel-empty-query-zero", rt(*ARGS, "--empty-queries", "zero"),
         scores(**{"rel.jsonl": inputs.jsonl(inputs.relevance_rows()[:3])}), code=0),
    Case("retrieval-needs-all-three", rt("s.npy", "--queries", "q.txt"), SCORES,
         err=r"a score matrix needs --queries, --items and --relevance"),
    Case("retrieval-nothing", rt(), {}, err=r"give a score matrix"),
    Case("retrieval-out-is-matrix", ("retrieval", *ARGS, "--out", "s.npy"), SCORES, out="s.npy",
         err=r"(?i)(input|same file)", tag="out-is-input"),
    Case("retrieval-out-is-queries", ("retrieval", *ARGS, "--out", "q.txt"), SCORES, out="q.txt",
         err=r"(?i)(input|same file)", tag="out-is-input"),
    Case("retrieval-out-is-relevance", ("retrieval", *ARGS, "--out", "rel.jsonl"), SCORES, out="rel.jsonl",
         err=r"(?i)(input|same file)", tag="out-is-input"),
    # cut-offs
    Case("retrieval-k-zero", rt(*ARGS, "--k", "0"), SCORES, err=r"--k takes positive integers"),
    Case("retrieval-k-empty", rt(*ARGS, "--k", ""), SCORES, err=r"--k takes positive integers"),
    Case("retrieval-k-word", rt(*ARGS, "--k", "1,five"), SCORES, err=r"--k takes positive integers"),
    Case("retrieval-k-fraction", rt(*ARGS, "--k", "1.5"), SCORES, err=r"--k takes positive integers"),
    Case("retrieval-k-huge", rt(*ARGS, "--k", "99999999999999999999"), SCORES, code=(0, 2), tag="int-overflow"),
    Case("retrieval-k-repeated", rt(*ARGS, "--k", "1,1,5, 5"), SCORES, code=0),
    Case("retrieval-ndcg-k-zero", rt(*ARGS, "--ndcg-k", "0"), SCORES, err=r"--ndcg-k", tag="usage-box"),
    Case("retrieval-ties-unknown", rt(*ARGS, "--ties", "random"), SCORES, err=r"--ties", tag="usage-box"),
    # embeddings
    Case("retrieval-emb-ok", rt(*EMB_ARGS), EMB, code=0),
    Case("retrieval-emb-float64", rt(*EMB_ARGS), emb(**{"img.npy": inputs.npy(IMAGES.astype(np.float64))}), code=0),
    Case("retrieval-emb-rows-mismatch", rt(*EMB_ARGS), emb(**{"img.npy": inputs.npy(IMAGES[:-1])}),
         err=r"img\.npy: 9 image embeddings for 10 images in pairs\.jsonl"),
    Case("retrieval-emb-text-rows-mismatch", rt(*EMB_ARGS), emb(**{"txt.npy": inputs.npy(TEXTS[:-1])}),
         err=r"txt\.npy: 39 text embeddings for 40 captions"),
    Case("retrieval-emb-dims-mismatch", rt(*EMB_ARGS), emb(**{"txt.npy": inputs.npy(TEXTS[:, :64])}),
         err=r"txt\.npy: image embeddings have 128 dimensions, text embeddings 64"),
    Case("retrieval-emb-zero-vector", rt(*EMB_ARGS), emb(**{"img.npy": inputs.npy(np.vstack([np.zeros((1, 128), np.float32), IMAGES[1:]]))}),
         err=r"img\.npy: row 0 is a zero vector"),
    Case("retrieval-emb-random-bytes", rt(*EMB_ARGS), emb(**{"img.npy": b"\x80\x04junk" * 30}),
         err=NOT_PICKLE + r".*img\.npy: not a \.npy file"),
    Case("retrieval-emb-pairs-caption-twice", rt(*EMB_ARGS),
         emb(**{"pairs.jsonl": inputs.jsonl([PAIRS[0], {**PAIRS[1], "captions": PAIRS[0]["captions"][:1] + PAIRS[1]["captions"][1:]}, *PAIRS[2:]])}),
         err=r"pairs\.jsonl:2: caption id .* is listed twice"),
    Case("retrieval-emb-pairs-captions-string", rt(*EMB_ARGS),
         emb(**{"pairs.jsonl": inputs.jsonl([PAIRS[0], {**PAIRS[1], "captions": "x"}, *PAIRS[2:]])}),
         err=r"pairs\.jsonl:2: 'captions' must be a non-empty list"),
    Case("retrieval-emb-pairs-caption-bool", rt(*EMB_ARGS),
         emb(**{"pairs.jsonl": inputs.jsonl([PAIRS[0], {**PAIRS[1], "captions": [True]}, *PAIRS[2:]])}),
         err=r"pairs\.jsonl:2: caption id true must be a string or an integer"),
    Case("retrieval-emb-pairs-image-duplicate", rt(*EMB_ARGS),
         emb(**{"pairs.jsonl": inputs.jsonl([PAIRS[0], {**PAIRS[1], "image": PAIRS[0]["image"]}, *PAIRS[2:]])}),
         err=r"pairs\.jsonl:2: duplicate image id"),
    Case("retrieval-emb-with-positional", rt("s.npy", *EMB_ARGS), {**EMB, **SCORES},
         err=r"embeddings .* take no positional input"),
    Case("retrieval-emb-incomplete", rt("--image-embeddings", "img.npy"), EMB, err=r"give a score matrix"),
    Case("retrieval-out-is-pairs", ("retrieval", *EMB_ARGS, "--out", "pairs.jsonl"), EMB, out="pairs.jsonl",
         err=r"(?i)(input|same file)", tag="out-is-input"),
]  # fmt: skip
