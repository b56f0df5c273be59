"""Valid inputs for every command, cut from the bundled fixtures (small: a case must run in tens of ms), and
the serialisers the mutations use (JSONL, JSON, CSV/TSV, Parquet, gzip, .npy, PNG headers)."""

from __future__ import annotations

import copy
import csv
import gzip
import io
import json
import struct
import zlib
from functools import cache
from typing import Any

from tests.hostile.harness import FIXTURES

N = 6  # records per generated input


@cache
def _fixture_lines(path: str) -> tuple[str, ...]:
    return tuple(line for line in (FIXTURES / path).read_text(encoding="utf-8").splitlines() if line.strip())


def head(path: str, n: int = N, start: int = 0) -> list[dict]:
    return [json.loads(line) for line in _fixture_lines(path)[start : start + n]]


@cache
def _fixture_json(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


def fixture_json(path: str) -> Any:
    return copy.deepcopy(_fixture_json(path))


# ---------------------------------------------------------------------------------------------------
# serialisers


def jsonl(records: list, newline: str = "\n") -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + newline for r in records)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


def delimited(records: list[dict], delimiter: str = ",") -> str:
    """CSV/TSV as the README describes it: list fields as JSON arrays in the cell."""
    columns = list(dict.fromkeys(k for r in records for k in r))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for r in records:
        writer.writerow(
            [json.dumps(r[c]) if isinstance(r.get(c), (list, dict)) else r.get(c, "") for c in columns]
        )
    return buffer.getvalue()


def parquet(columns: dict[str, Any], schema=None) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(columns, schema=schema) if schema is None else pa.Table.from_pydict(columns, schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def parquet_records(records: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records), buffer)
    return buffer.getvalue()


def gz(data: str | bytes) -> bytes:
    return gzip.compress(data.encode("utf-8") if isinstance(data, str) else data, mtime=0)


def gz_truncated(data: str | bytes) -> bytes:
    blob = gz(data)
    return blob[: len(blob) // 2]


def gz_corrupt(data: str | bytes) -> bytes:
    """A gzip member whose deflate stream is garbage in the middle (zlib's "invalid ..." errors)."""
    blob = bytearray(gz(data))
    for i in range(12, min(len(blob) - 8, 60)):
        blob[i] ^= 0xFF
    return bytes(blob)


def gz_bad_crc(data: str | bytes) -> bytes:
    blob = bytearray(gz(data))
    blob[-8] ^= 0xFF  # the CRC32 of the trailer
    return bytes(blob)


def npy(array) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (a decompression bomb's size) with a tiny body."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


def png(width: int = 64, height: int = 48) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def deep(levels: int = 100_000) -> str:
    return "[" * levels + "]" * levels


HUGE_INT = "9" * 5000  # past Python's 4300-digit int parsing limit


# ---------------------------------------------------------------------------------------------------
# valid inputs per command


def caption_records() -> list[dict]:
    return head("caption/coco_val2017_500.jsonl", N, start=2)  # real captions (the first two are edge cases)


def caption_coco() -> tuple[list[dict], dict]:
    results = fixture_json("caption/coco_val2017_500_results.json")[2 : 2 + N]
    ann = fixture_json("caption/captions_val2017_500.json")
    keep = {r["image_id"] for r in results}
    ann["images"] = [im for im in ann["images"] if im["id"] in keep]
    ann["annotations"] = [a for a in ann["annotations"] if a["image_id"] in keep]
    ann.pop("licenses", None)
    return results, ann


def vqa_records() -> list[dict]:
    return head("vqa/vqa_600.jsonl")


def vqa_official() -> tuple[list[dict], dict, dict]:
    results = fixture_json("vqa/results_600.json")[:N]
    keep = {r["question_id"] for r in results}
    ann = fixture_json("vqa/v2_annotations_600.json")
    ann["annotations"] = [a for a in ann["annotations"] if a["question_id"] in keep]
    questions = fixture_json("vqa/v2_questions_600.json")
    questions["questions"] = [q for q in questions["questions"] if q["question_id"] in keep]
    return results, ann, questions


def docvqa_records() -> list[dict]:
    return head("docvqa/docvqa_400.jsonl")


def docvqa_rrc() -> tuple[list[dict], dict]:
    submission = fixture_json("docvqa/submission_400.json")[:N]
    keep = {s["questionId"] for s in submission}
    gt = fixture_json("docvqa/gt_400.json")
    gt["data"] = [d for d in gt["data"] if d["questionId"] in keep]
    return submission, gt


def grounding_refs() -> list[dict]:
    return [r for r in head("grounding/refs.jsonl", 40) if "width" in r][:N]


def grounding_preds() -> list[dict]:
    keep = {r["id"] for r in grounding_refs()}
    return [p for p in head("grounding/preds_xyxy.jsonl", 60) if p["id"] in keep]


def grounding_records() -> list[dict]:
    """Self-contained records: the prediction and the ground truth on one line."""
    preds = {p["id"]: p["prediction"] for p in grounding_preds()}
    return [{"id": r["id"], "prediction": preds[r["id"]], **{k: v for k, v in r.items() if k != "id"}}
            for r in grounding_refs()]  # fmt: skip


def grounding_noimage_size() -> list[dict]:
    """Records whose size must come from the image header (the two bundled JPEGs)."""
    refs = [r for r in head("grounding/refs.jsonl", 60) if "width" not in r][:2]
    return [{"id": r["id"], "prediction": "[10, 10, 100, 100]", "gt_boxes": r["gt_boxes"], "image": r["image"]}
            for r in refs]  # fmt: skip


def phrase_records() -> list[dict]:
    return head("grounding/phrase.jsonl")


def detection() -> tuple[list[dict], dict]:
    instances = fixture_json("detection/instances_val2017_mini.json")
    keep = {im["id"] for im in instances["images"][:3]}
    instances["images"] = [im for im in instances["images"] if im["id"] in keep]
    instances["annotations"] = [
        {k: v for k, v in a.items() if k != "segmentation"}
        for a in instances["annotations"]
        if a["image_id"] in keep
    ]
    instances.pop("licenses", None)
    results = [
        r
        for r in fixture_json("detection/instances_val2017_mini_synthetic_results.json")
        if r["image_id"] in keep
    ]
    return results, instances


def score_matrix():
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.random((4, 6)).astype(np.float32)


QUERY_IDS = ["q0", "q1", "q2", "q3"]
ITEM_IDS = ["i0", "i1", "i2", "i3", "i4", "i5"]


def relevance_rows() -> list[dict]:
    return [{"query": q, "relevant": [ITEM_IDS[i], ITEM_IDS[(i + 2) % 6]]} for i, q in enumerate(QUERY_IDS)]


def ranked_records() -> list[dict]:
    return [
        {"query": f"q{i}", "ranking": [f"i{(i + j) % 6}" for j in range(6)], "relevant": [f"i{(i + 1) % 6}"]}
        for i in range(N)
    ]


def mcq_records() -> list[dict]:
    return head("mcq/mcq_styles.jsonl")


def yesno_records() -> list[dict]:
    return head("yesno/pope_coco.jsonl")


def embeddings(n_images: int = 10):
    import numpy as np

    images = np.load(FIXTURES / "retrieval/image_embeddings.npy")[:n_images]
    texts = np.load(FIXTURES / "retrieval/text_embeddings.npy")[: 4 * n_images]
    pairs = head("retrieval/pairs.jsonl", n_images)
    return images, texts, pairs
