"""Retrieval inputs: a score matrix (``.npy``, queries x items) with id lists and relevance judgements,
ranked lists, or image/text embeddings with the image -> captions pairs."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlmeval.errors import InputError
from vlmeval.io.fields import describe, record_id
from vlmeval.io.readers import (
    RecordFile,
    _lazy_json_locator,
    _loads,
    check_file,
    decode_text,
    nul_error,
    read_bytes,
    read_records,
)


@dataclass
class Relevance:
    """Relevant items per query, CSR: query q's items are ``items[indptr[q]:indptr[q+1]]`` (column
    indices, or 1-based positions in its ranked list) with grades ``gains`` (> 0)."""

    indptr: np.ndarray
    items: np.ndarray
    gains: np.ndarray

    @classmethod
    def from_lists(cls, items: list[list[float]], gains: list[list[float]]) -> Relevance:
        lengths = np.fromiter((len(x) for x in items), dtype=np.int64, count=len(items))
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        flat_items = np.fromiter((v for x in items for v in x), dtype=np.float64, count=int(indptr[-1]))
        flat_gains = np.fromiter((v for x in gains for v in x), dtype=np.float64, count=int(indptr[-1]))
        return cls(indptr, flat_items, flat_gains)

    def rows(self, start: int, stop: int) -> Relevance:
        a, b = self.indptr[start], self.indptr[stop]
        return Relevance(self.indptr[start : stop + 1] - a, self.items[a:b], self.gains[a:b])

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.indptr)

    @property
    def graded(self) -> bool:
        return bool(len(self.gains)) and bool((self.gains != 1).any())


@dataclass
class RetrievalDirection:
    """One direction of retrieval: queries, and either a score source or ranked positions."""

    name: str  # "" for a single direction, "t2i_" / "i2t_" for embeddings
    query_ids: list[str]
    relevance: Relevance
    n_items: int
    scores: Any = None  # callable (start, stop) -> float array [stop - start, n_items]; None for ranked lists
    # a part of a sharded run: the whole input's queries without a relevant item (how many, the first), so
    # that --empty-queries error stops every part as it stops one run
    whole_empty: tuple[int, str] | None = None


@dataclass
class RetrievalData:
    directions: list[RetrievalDirection]
    inputs: list[dict[str, Any]]
    source: str  # "scores", "ranked", "embeddings"
    counts: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read_ids(path: str | Path | list, what: str) -> tuple[list[str], dict[str, Any]]:
    """Ids from a JSON list or a text file with one id per line (or a list, from the Python API);
    duplicates and empty ids are errors."""
    if isinstance(path, (list, tuple)):
        return _ids_in_memory(list(path), what)
    path = Path(path)
    raw, digest = read_bytes(path)
    text = decode_text(raw, path)
    if "\x00" in text:
        raise nul_error(text, path)
    stripped = text.lstrip()
    lines: list[int]
    if stripped.startswith("{"):
        # a JSON object (or JSON Lines records) would otherwise become one "id" per line
        raise InputError(
            f"{what} ids must be a JSON list or one id per line; this file holds JSON objects", path,
            text[: len(text) - len(stripped)].count("\n") + 1,
        )  # fmt: skip
    if stripped.startswith("["):
        values = _loads(text, path)
        if not isinstance(values, list):
            raise InputError(f"{what} ids must be a JSON list or one id per line", path)
        locate = _lazy_json_locator(text, ())
        ids = []
        for i, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
                raise InputError(
                    f"{what} id #{i + 1} must be a non-empty string or an integer, got {describe(value)}",
                    path,
                    locate(i),
                )
            ids.append(value.strip() if isinstance(value, str) else str(value))
        lines = [locate(i) for i in range(len(ids))] if len(set(ids)) != len(ids) else []
    else:
        ids, lines = [], []
        for number, line in enumerate(text.split("\n"), start=1):
            value = line.strip()
            if value:
                ids.append(value)
                lines.append(number)
    seen: dict[str, int] = {}
    for position, key in enumerate(ids):
        first = seen.setdefault(key, position)
        if first != position:
            raise InputError(
                f"duplicate {what} id {key!r} (first at line {lines[first]})", path, lines[position]
            )
    if not ids:
        raise InputError(f"no {what} ids", path)
    return ids, {"path": str(path), "sha256": digest, "records": len(ids)}


NPY_MAGIC = b"\x93NUMPY"


def _ids_in_memory(ids: list, what: str) -> tuple[list[str], dict[str, Any]]:
    from vlmeval.io.fields import record_id
    from vlmeval.io.readers import memory_records

    rf = memory_records([{"id": i} for i in ids], f"{what} ids")
    out = [record_id(rf, k, rec) for k, rec in enumerate(rf.records)]
    seen: dict[str, int] = {}
    for k, key in enumerate(out):
        if seen.setdefault(key, k) != k:
            raise rf.error(k, f"duplicate {what} id {key!r} (first at {seen[key] + 1})")
    return out, rf.input_entry()


def load_matrix(path: str | Path | np.ndarray, what: str, finite: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
    """A 2-D numeric ``.npy`` array, memory-mapped (a large matrix is read block by block); or an array
    given in memory (the Python API). NaN is refused; so is an infinity where ``finite`` (embeddings: a
    cosine needs finite vectors; a score of -inf, an item masked out, ranks last)."""
    if isinstance(path, np.ndarray):
        if path.ndim != 2 or not np.issubdtype(path.dtype, np.number) or np.issubdtype(path.dtype, np.complexfloating):
            raise InputError(f"{what} must be a 2-D array of real numbers, got shape {path.shape} {path.dtype}")
        _refuse_nonfinite(path, 0, what, finite, None)
        return path, {"path": f"<{what}>", "sha256": hashlib.sha256(np.ascontiguousarray(path).tobytes()).hexdigest(), "records": int(path.shape[0])}
    path = Path(path)
    check_file(path)
    if path.suffix.lower() != ".npy":
        raise InputError(f"{what} must be a .npy file (numpy.save)", path)
    shape, dtype = _npy_header(path, what)
    if len(shape) != 2:
        raise InputError(f"{what} must be 2-D, got shape {shape}", path)
    if dtype.kind not in "fiu":
        raise InputError(f"{what} must be numeric, got dtype {dtype}", path)
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"not a readable .npy array: {exc}", path) from None
    rows = max(1, (64 << 20) // max(array.shape[1] * array.itemsize, 1))
    if array.dtype.kind == "f":
        for start in range(0, array.shape[0], rows):  # the finiteness check, block by block
            _refuse_nonfinite(np.asarray(array[start : start + rows]), start, what, finite, path)
    digest = hashlib.sha256()
    with path.open("rb") as f:  # the file's own sha256, as every other input records it (sha256sum FILE)
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return array, {
        "path": str(path),
        "sha256": digest.hexdigest(),
        "records": int(array.shape[0]),
        "shape": list(array.shape),
    }


def _refuse_nonfinite(block: np.ndarray, start: int, what: str, finite: bool, path: Path | None) -> None:
    """NaN (and, where ``finite``, an infinity) in rows ``start``.. of a matrix: one sentence naming the first."""
    if block.dtype.kind != "f":
        return
    bad = ~np.isfinite(block) if finite else np.isnan(block)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        kind = "NaN" if np.isnan(block[r, c]) else "infinite"
        raise InputError(f"{what} has {kind} values (first at row {start + r}, column {c})", path)


def _npy_header(path: Path, what: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the .npy header, checked against the file's size, so that what is not a numeric
    .npy array says so (numpy itself would suggest allow_pickle for random bytes)."""
    from numpy.lib import format as npy

    try:
        with open(path, "rb") as handle:
            start = handle.read(len(NPY_MAGIC))
            if start != NPY_MAGIC:
                kind = "a .npz archive (numpy.savez), not a .npy file" if start.startswith(b"PK") else (
                    "not a .npy file (it does not start with numpy's header)"
                )  # fmt: skip
                raise InputError(f"{kind}: save {what} with numpy.save", path)
            handle.seek(0)
            version = npy.read_magic(handle)
            shape, fortran, dtype = (
                npy.read_array_header_1_0(handle) if version == (1, 0) else npy.read_array_header_2_0(handle)
            )
            offset = handle.tell()
    except InputError:
        raise
    except PermissionError:
        raise InputError("permission denied", path) from None
    except (ValueError, OSError, SyntaxError, TypeError) as exc:
        raise InputError(
            f"not a readable .npy file: its header is damaged ({' '.join(str(exc).split())[:120]})", path
        ) from None
    if dtype.hasobject:
        raise InputError(
            f"{what} holds Python objects (dtype {dtype}), not numbers: save a numeric array", path
        )
    needed = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    size = path.stat().st_size
    if size < needed:
        raise InputError(
            f"truncated .npy file: its header declares {dtype} {tuple(shape)} ({needed} bytes) but the file has {size}",
            path,
        )
    return tuple(shape), dtype


def _grade(rf: RecordFile, i: int, value) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise rf.error(i, f"'relevance' must be a number >= 0, got {json.dumps(value)}")
    return float(value)


def read_relevance(
    path: str | Path, query_index: dict[str, int], item_index: dict[str, int]
) -> tuple[Relevance, RecordFile]:
    """Relevance rows, binary ``{"query", "relevant": [ids]}`` or graded ``{"query", "item", "relevance"}``;
    grade 0 means not relevant. Unknown query or item ids and repeated pairs are errors."""
    rf = read_records(path)
    per_query: list[dict[int, float]] = [{} for _ in query_index]
    listed: dict[str, int] = {}  # query -> the row that lists its relevant items
    for i, rec in enumerate(rf.records):
        query = record_id(rf, i, rec, "query")
        if query not in query_index:
            raise rf.error(i, f"query {query!r} is not in the query ids")
        judged = per_query[query_index[query]]
        if "relevant" in rec:
            items = rec["relevant"]
            if not isinstance(items, list):
                raise rf.error(i, "'relevant' must be a list of item ids")
            pairs = [(item, 1.0) for item in items]
        elif "item" in rec:
            pairs = [(rec["item"], _grade(rf, i, rec.get("relevance", 1)))]
        else:
            raise rf.error(i, "a relevance row needs 'relevant' (a list of ids) or 'item' and 'relevance'")
        for item, grade in pairs:
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise rf.error(i, f"item id {json.dumps(item)} must be a string or an integer")
            key = str(item).strip() if isinstance(item, str) else str(item)
            if key not in item_index:
                raise rf.error(i, f"item {key!r} is not in the item ids")
            column = item_index[key]
            if column in judged:
                raise rf.error(i, f"item {key!r} is judged twice for query {query!r}")
            judged[column] = grade
        if "relevant" in rec:
            if query in listed:  # one row lists a query's relevant items: a second is an edit gone wrong
                raise rf.error(i, f"query {query!r} has a second 'relevant' row (first at {rf.place(listed[query])})")
            listed[query] = i
    items = [[c for c, g in sorted(j.items()) if g > 0] for j in per_query]
    gains = [[g for c, g in sorted(j.items()) if g > 0] for j in per_query]
    return Relevance.from_lists(items, gains), rf


def load_scores(
    scores: str | Path | np.ndarray, queries: str | Path, items: str | Path, relevance: str | Path
) -> RetrievalData:
    matrix, matrix_entry = load_matrix(scores, "the score matrix")
    query_ids, q_entry = read_ids(queries, "query")
    item_ids, i_entry = read_ids(items, "item")
    if matrix.shape != (len(query_ids), len(item_ids)):
        raise InputError(
            f"the score matrix is {matrix.shape[0]} x {matrix.shape[1]} but there are {len(query_ids)} query ids "
            f"and {len(item_ids)} item ids (rows are queries, columns items)",
            None if isinstance(scores, np.ndarray) else Path(scores),
        )
    rel, rf = read_relevance(
        relevance, {q: i for i, q in enumerate(query_ids)}, {t: i for i, t in enumerate(item_ids)}
    )

    # floats compare in their stored type; integer scores as float64, exact up to 2**53 (larger ones that
    # differ only past that would tie)
    dtype = matrix.dtype if matrix.dtype.kind == "f" else np.float64

    def block(start: int, stop: int) -> np.ndarray:
        return np.asarray(matrix[start:stop], dtype=dtype)

    direction = RetrievalDirection("", query_ids, rel, len(item_ids), block)
    return RetrievalData([direction], [matrix_entry, q_entry, i_entry, rf.input_entry()], "scores")


def load_ranked(path: str | Path) -> RetrievalData:
    """Ranked lists ``{"query", "ranking": [ids], "relevant": [ids]}`` (or ``"relevance": {id: grade}``);
    a relevant item missing from the ranking was not retrieved."""
    rf = read_records(path)
    if not rf.records:
        raise InputError("no ranked lists found", rf.path)
    query_ids, positions, gains = [], [], []
    for i, rec in enumerate(rf.records):
        query_ids.append(record_id(rf, i, rec, "query"))
        if "ranking" not in rec:
            raise rf.error(i, "missing field 'ranking' (the list of retrieved item ids, best first)")
        ranking = rec["ranking"]
        if not isinstance(ranking, list):
            raise rf.error(
                i, f"'ranking' must be the list of retrieved item ids, best first, got {describe(ranking)}"
            )
        where: dict[str, int] = {}
        for position, item in enumerate(ranking, start=1):
            key = _item_id(rf, i, item, "ranking")
            if where.setdefault(key, position) != position:
                raise rf.error(i, f"item {key!r} appears twice in the ranking")
        # the judged ids read as the ranking's are (stripped); an id judged twice with two grades is an error
        if "relevance" in rec and isinstance(rec["relevance"], dict):
            pairs = [(_item_id(rf, i, k, "relevance"), _grade(rf, i, v)) for k, v in rec["relevance"].items()]
        elif isinstance(rec.get("relevant"), list):
            pairs = [(_item_id(rf, i, k, "relevant"), 1.0) for k in rec["relevant"]]
        else:
            raise rf.error(i, "a ranked list needs 'relevant' (a list of ids) or 'relevance' ({id: grade})")
        judged: dict[str, float] = {}
        for key, grade in pairs:
            if judged.setdefault(key, grade) != grade:
                raise rf.error(i, f"item {key!r} is judged twice for query {query_ids[-1]!r}, with grades "
                                  f"{judged[key]:g} and {grade:g}")  # fmt: skip
        kept = [(k, g) for k, g in judged.items() if g > 0]
        positions.append([float(where.get(k, math.inf)) for k, _ in kept])
        gains.append([g for _, g in kept])
    from vlmeval.io.join import index_ids

    index_ids(rf, query_ids, "query")
    n_items = max((len(r.get("ranking", [])) for r in rf.records), default=0)
    direction = RetrievalDirection("", query_ids, Relevance.from_lists(positions, gains), n_items, None)
    return RetrievalData([direction], [rf.input_entry()], "ranked")


def _item_id(rf: RecordFile, i: int, item: Any, key: str) -> str:
    """An item id in a ranked list: a string or an integer (compared as strings), as record ids are."""
    if isinstance(item, str) and item.strip():
        return item.strip()
    if isinstance(item, int) and not isinstance(item, bool):
        return str(item)
    raise rf.error(i, f"'{key}' item ids must be strings or integers, found {describe(item)}")


def _where(source) -> Path | None:
    """The file a message names: None for an array given in memory (the Python API)."""
    return None if isinstance(source, np.ndarray) else Path(source)


def load_embeddings(images: str | Path, texts: str | Path, pairs: str | Path) -> RetrievalData:
    """Image and text embeddings (rows in the order of the pairs file: images in its order, captions in the
    order they appear in it) and ``{"image": id, "captions": [ids]}`` rows; cosine similarity, both ways."""
    image_matrix, image_entry = load_matrix(images, "the image embeddings", finite=True)
    text_matrix, text_entry = load_matrix(texts, "the text embeddings", finite=True)
    rf = read_records(pairs)
    image_ids, caption_ids, caption_image = [], [], []
    for i, rec in enumerate(rf.records):
        image_ids.append(record_id(rf, i, rec, "image"))
        captions = rec.get("captions")
        if not isinstance(captions, list) or not captions:
            raise rf.error(i, "'captions' must be a non-empty list of caption ids")
        for c in captions:
            if isinstance(c, bool) or not isinstance(c, (str, int)):
                raise rf.error(i, f"caption id {json.dumps(c)} must be a string or an integer")
            caption_ids.append(str(c))
            caption_image.append(i)
    from vlmeval.io.join import index_ids

    index_ids(rf, image_ids, "image")
    seen: dict[str, int] = {}
    for position, c in enumerate(caption_ids):
        if seen.setdefault(c, position) != position:
            raise rf.error(caption_image[position], f"caption id {c!r} is listed twice")
    if image_matrix.shape[0] != len(image_ids):
        raise InputError(
            f"{image_matrix.shape[0]} image embeddings for {len(image_ids)} images in {rf.path.name}",
            _where(images),
        )
    if text_matrix.shape[0] != len(caption_ids):
        raise InputError(
            f"{text_matrix.shape[0]} text embeddings for {len(caption_ids)} captions in {rf.path.name}",
            _where(texts),
        )
    if image_matrix.shape[1] != text_matrix.shape[1]:
        raise InputError(
            f"image embeddings have {image_matrix.shape[1]} dimensions, text embeddings {text_matrix.shape[1]}",
            _where(texts),
        )
    dtype = np.float32 if image_matrix.dtype == np.float32 and text_matrix.dtype == np.float32 else np.float64
    image_unit = _unit_rows(np.asarray(image_matrix, dtype=dtype), _where(images))
    text_unit = _unit_rows(np.asarray(text_matrix, dtype=dtype), _where(texts))
    caption_image_arr = np.asarray(caption_image, dtype=np.int64)
    n_images, n_texts = len(image_ids), len(caption_ids)
    t2i = Relevance(
        np.arange(n_texts + 1, dtype=np.int64), caption_image_arr.astype(np.float64), np.ones(n_texts)
    )
    order = np.argsort(caption_image_arr, kind="stable")
    i2t = Relevance(
        np.concatenate([[0], np.cumsum(np.bincount(caption_image_arr, minlength=n_images))]),
        order.astype(np.float64),
        np.ones(n_texts),
    )
    directions = [
        RetrievalDirection("t2i_", caption_ids, t2i, n_images, lambda a, b: text_unit[a:b] @ image_unit.T),
        RetrievalDirection("i2t_", image_ids, i2t, n_texts, lambda a, b: image_unit[a:b] @ text_unit.T),
    ]
    counts = {"images": n_images, "captions": n_texts}
    return RetrievalData(directions, [image_entry, text_entry, rf.input_entry()], "embeddings", counts)


def _unit_rows(matrix: np.ndarray, path: Path) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    # a norm that overflows (float32 3e30) or underflows (1e-300) in the array's own type: those rows are
    # scaled by their largest value first, in float64
    odd = np.flatnonzero(~np.isfinite(norms[:, 0]) | (norms[:, 0] == 0))
    largest = np.abs(matrix[odd]).max(axis=1).astype(np.float64) if len(odd) else np.zeros(0)
    zero = odd[largest == 0]
    if len(zero):
        raise InputError(f"row {zero[0]} is a zero vector: its cosine similarity is undefined", path)
    unit = matrix / np.where(norms == 0, 1, norms)
    if len(odd):
        scaled = matrix[odd].astype(np.float64) / largest[:, None]
        unit[odd] = (scaled / np.linalg.norm(scaled, axis=1, keepdims=True)).astype(unit.dtype)
    return unit
