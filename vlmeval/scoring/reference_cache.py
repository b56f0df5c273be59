"""The references' share of a caption run kept between runs, in ``$XDG_CACHE_HOME/vlmeval/references``
(``vlmeval.cache``).

Scoring a model against a fixed reference set (a validation split, checkpoint after checkpoint) does the
same work on the references every time: PTB-tokenizing them, encoding their words and counting their
n-grams is a third of an n-gram run (0.3 s of 1.0 s on 5,000 COCO images x 5), and the error types'
consensus of each image's references (``omission``) another 0.3 s of the second core. A run whose
references fit one chunk keeps both, each in a file named by the sha256 of the references themselves
(every text, its length, each image's count) and of everything else the result depends on: the source of
the modules that compute it (so an edited or upgraded vlmeval never reads another's file), the Python,
Unicode and numpy versions, and for the prepared references the tokenizer, the chunk size and ``regex``'s
version. A later run against the same references reads them (about 0.02 s) instead.

- ``prepared_references``: the ``CaptionReferences`` (token ids, the words, ROUGE-L's own tokens, the
  tokenized texts METEOR and SPICE read, the n-gram counts). Only references the Java-free tokenizer's own
  tiers tokenize are kept: where one went to the jar (or was approximated without Java) the tokens depend
  on Java's presence, so the run prepares them as usual.
- ``content_consensus``: the error types' ``ContentConsensus``.

A file holds no pickle: a JSON header (words, counts, each array's dtype, shape and place) and the raw
arrays, integer arrays narrowed to the smallest type that holds them, with a CRC-32 of it all; a file that
does not check out is computed again and rewritten. Files are written atomically; the folder keeps the
``KEEP_FILES`` most recently used and at most ``KEEP_BYTES`` in all (the oldest go first), and no file over
``MAX_FILE_BYTES`` is written. Deleting the folder only costs the next run the work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
MAGIC = b"vlmeval-references\n"
KEEP_FILES = 32
KEEP_BYTES = 1 << 30
MAX_FILE_BYTES = 256 << 20
# the modules whose code decides what is kept (paths inside the package), with this file's format
PREPARED_SOURCES = (
    "tokenizers/ptb.py", "tokenizers/ptb_rules.py", "tokenizers/ptb_jar.py", "scoring/captions.py",
    "metrics/ngrams.py", "metrics/cider.py", "scoring/reference_cache.py",
)  # fmt: skip
CONSENSUS_SOURCES = ("metrics/errors.py", "metrics/meteor_data.py", "scoring/reference_cache.py")
_HEAD = struct.Struct("<QI")  # header length, CRC-32 of everything after this struct


def folder() -> Path:
    from vlmeval.cache import cache_root

    return cache_root() / "references"


def prepared_references(references: list[list[str]], *, tokenizer: str, chunk: int, strings: bool,
                        later: list | None = None, keep: bool = False):  # fmt: skip
    """``prepare_references(references, ...)``, from the cache where it holds them, and kept there for the
    next run where it can (above). ``later``: where to put the job that keeps them, for the caller to run
    once it has scored (the n-gram counts it needs anyway are then counted; the job writes no sooner than
    the run's own work needs it to), instead of keeping them now. ``keep``: an evaluator's (all of it held
    for every call)."""
    from vlmeval.scoring.captions import prepare_references

    if tokenizer != "ptb" or len(references) > chunk or not references:
        return prepare_references(references, tokenizer=tokenizer, chunk=chunk, strings=strings, keep=keep)
    path = None
    with contextlib.suppress(Exception):  # noqa: BLE001 - a cache that cannot be read only means preparing
        key = _key(references, PREPARED_SOURCES, "prepared", tokenizer, str(chunk), _regex_version())
        path = folder() / f"{key}.refs"
        found = _prepared(_load(path, key), references, chunk, strings)
        if found is not None:
            found.keep = keep
            return found
    prepared = prepare_references(references, tokenizer=tokenizer, chunk=chunk, strings=True, keep=keep)
    stats = prepared.tokenizer_stats
    if path is not None and stats is not None and stats.jar == 0 and stats.approximate == 0:
        texts = prepared.grouped[0]  # taken now: a run lets go of them once read
        prepared.hold = True  # the counts kept once the run counts them

        def store() -> None:
            with contextlib.suppress(Exception):  # noqa: BLE001 - an unwritable cache: prepared again next time
                _store_prepared(path, key, prepared, texts)

        if later is None:
            store()
        else:
            later.append(store)
    if not strings:
        prepared.strings, prepared.grouped = False, []
    return prepared


def content_consensus(references: Sequence[Sequence[str]]):
    """``ContentConsensus.of(references)``, from the cache where it holds it, and kept there where it can."""
    from vlmeval.metrics.errors import ERROR_CHUNK, Consensus, ContentConsensus

    if not references or len(references) > ERROR_CHUNK:
        return ContentConsensus.of(references)
    path = None
    with contextlib.suppress(Exception):  # noqa: BLE001 - as above
        key = _key(references, CONSENSUS_SOURCES, "consensus", str(ERROR_CHUNK))
        path = folder() / f"{key}.consensus"
        loaded = _load(path, key)
        if loaded is not None:
            header, arrays, _ = loaded
            return ContentConsensus({stem: i for i, stem in enumerate(header["stems"])},
                                    [Consensus(arrays["keys"], arrays["wanted"], header["width"])])  # fmt: skip
    consensus = ContentConsensus.of(references)
    if path is not None and len(consensus.parts) == 1:
        (part,) = consensus.parts
        with contextlib.suppress(Exception):  # noqa: BLE001 - as above
            _store(path, {"key": key, "stems": list(consensus.stems), "width": part.width},
                   {"keys": part.keys, "wanted": part.wanted})  # fmt: skip
    return consensus


def _key(references: Sequence[Sequence[str]], sources: tuple[str, ...], *parts: str) -> str:
    import unicodedata

    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for part in (str(FORMAT), sys.version, unicodedata.unidata_version, np.__version__, *parts):
        h.update(part.encode() + b"\0")
    for name in sources:
        h.update(hashlib.sha256((package / name).read_bytes()).digest())
    # the texts, each one's length and each image's count: the concatenation then reads back one way only
    flat = [r for rs in references for r in rs]
    h.update("".join(flat).encode("utf-8", "surrogatepass"))
    h.update(np.fromiter(map(len, flat), dtype=np.int64, count=len(flat)).tobytes())
    h.update(np.fromiter(map(len, references), dtype=np.int64, count=len(references)).tobytes())
    return h.hexdigest()


def _regex_version() -> str:
    """The installed ``regex``'s version (its ``_main.py``, which states it) and engine, without importing it
    (a run whose texts need no scanner never does)."""
    import importlib.util

    spec = importlib.util.find_spec("regex")
    where = Path(spec.origin).parent  # type: ignore[union-attr, arg-type]
    engines = sorted(f"{p.name}:{p.stat().st_size}" for p in where.glob("_regex*"))
    return hashlib.sha256((where / "_main.py").read_bytes()).hexdigest() + ",".join(engines)


# --------------------------------------------------------------------------------------------- the files


def _narrow(a: np.ndarray) -> np.ndarray:
    """An int64 array in the smallest integer type that holds its values (read back as int64)."""
    if a.dtype != np.int64 or a.size == 0:
        return a
    low, high = int(a.min()), int(a.max())
    for dtype in (np.uint8, np.uint16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return a.astype(dtype)
    return a


def _store(path: Path, header: dict, arrays: dict[str, np.ndarray], tail: bytes = b"") -> None:
    """Write ``header`` (JSON), ``arrays`` and ``tail`` (bytes) as one checked file, atomically."""
    from numpy.lib.format import dtype_to_descr

    from vlmeval.cache import write_atomic

    stored, places, offset = [], [], 0
    for name, a in arrays.items():
        narrow = np.ascontiguousarray(_narrow(a))
        places.append([name, dtype_to_descr(narrow.dtype), dtype_to_descr(a.dtype), list(a.shape), offset])
        stored.append(narrow)
        offset += narrow.nbytes
    data = {**header, "format": FORMAT, "arrays": places, "tail": [offset, len(tail)]}
    head = json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if _HEAD.size + len(head) + offset + len(tail) > MAX_FILE_BYTES:
        return
    crc = zlib.crc32(head)
    for a in stored:
        crc = zlib.crc32(memoryview(a).cast("B"), crc)
    crc = zlib.crc32(tail, crc)

    def write(f) -> None:
        f.write(MAGIC + _HEAD.pack(len(head), crc) + head)
        for a in stored:
            f.write(memoryview(a).cast("B"))
        f.write(tail)

    write_atomic(path, write, sync=False)  # the CRC finds a file a crash damaged
    _prune(path.parent)


def _load(path: Path, key: str) -> tuple[dict, dict[str, np.ndarray], memoryview] | None:
    """A file ``_store`` wrote for ``key``: its header, arrays (their own dtypes, writable) and tail; None
    where there is none or it does not check out."""
    from numpy.lib.format import descr_to_dtype

    from vlmeval.cache import read_cached

    data = read_cached(path, MAX_FILE_BYTES)
    start = len(MAGIC) + _HEAD.size
    if data is None or not data.startswith(MAGIC) or len(data) < start:
        return None
    size, crc = _HEAD.unpack_from(data, len(MAGIC))
    body = memoryview(data)[start:]
    if zlib.crc32(body) != crc:
        return None
    header = json.loads(bytes(body[:size]).decode("utf-8", "surrogatepass"))
    if header.get("format") != FORMAT or header.get("key") != key:
        return None
    payload = body[size:]
    arrays = {}
    for name, stored, original, shape, offset in header["arrays"]:
        dtype = descr_to_dtype(_descr(stored))
        count = int(np.prod(shape, dtype=np.int64))
        a = np.frombuffer(payload, dtype=dtype, count=count, offset=offset).reshape(shape)
        arrays[name] = a.astype(descr_to_dtype(_descr(original)))  # a copy: owns its memory, writable
    at, length = header["tail"]
    with contextlib.suppress(OSError):
        os.utime(path)  # the most recently used is pruned last
    return header, arrays, payload[at : at + length]


def _descr(stored: Any):
    """A dtype description as JSON gave it back (a record's fields as lists, not tuples)."""
    return stored if isinstance(stored, str) else [tuple(field) for field in stored]


def _prune(where: Path) -> None:
    """Keep the ``KEEP_FILES`` most recently used files, at most ``KEEP_BYTES`` in all."""
    files = []
    for entry in os.scandir(where):
        with contextlib.suppress(OSError):
            if entry.name.endswith((".refs", ".consensus")) and entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                files.append((st.st_mtime_ns, st.st_size, entry.path))
    files.sort(reverse=True)
    total = 0
    for kept, (_, size, name) in enumerate(files):
        total += size
        if kept >= KEEP_FILES or total > KEEP_BYTES:
            with contextlib.suppress(OSError):
                os.unlink(name)


# ------------------------------------------------------------------------------- prepared references


def _store_prepared(path: Path, key: str, prepared, texts: list[list[str]]) -> None:
    ids, ngrams = prepared.ids[0], prepared.ngrams(0)
    counts, stats = ngrams.counts, prepared.tokenizer_stats
    arrays = {"ids": ids.ids, "id_lengths": ids.lengths, "ngram_lengths": counts.lengths}
    for k in range(counts.n):
        for name in ("sent", "gram", "count", "keys"):
            arrays[f"{name}{k}"] = getattr(counts, name)[k]
    header = {
        "key": key, "words": prepared.words, "odd": sorted(prepared.odd[0].items()),
        "stats": [stats.captions, stats.scanned], "line_breaks": prepared.line_breaks, "n": counts.n,
        "num_grams": counts.num_grams, "base": ngrams.base,
    }  # fmt: skip
    _store(path, header, arrays, json.dumps(texts, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _prepared(loaded, references: list[list[str]], chunk: int, strings: bool):
    """The ``CaptionReferences`` of a loaded file, or None where it does not fit ``references``."""
    from vlmeval.metrics.ngrams import Encoded, NgramCounts, ReferenceNgrams
    from vlmeval.scoring.captions import CaptionReferences
    from vlmeval.tokenizers.ptb import TokenizerStats

    if loaded is None:
        return None
    header, arrays, texts = loaded
    n, num = header["n"], len(references)
    per_image = np.fromiter(map(len, references), dtype=np.int64, count=num)
    lengths = arrays["id_lengths"]
    if len(lengths) != per_image.sum() or lengths.sum() != len(arrays["ids"]):
        return None
    counts = NgramCounts(n, arrays["ngram_lengths"], *([arrays[f"{name}{k}"] for k in range(n)]
                                                        for name in ("sent", "gram", "count")),
                         list(header["num_grams"]), [arrays[f"keys{k}"] for k in range(n)])  # fmt: skip
    owner = np.repeat(np.arange(num, dtype=np.int64), per_image)
    captions, scanned = header["stats"]
    out = CaptionReferences(references, "ptb", chunk, [(0, num)], strings)
    out.words, out.ids = header["words"], [Encoded(arrays["ids"], lengths, {})]
    out.odd = [{int(i): tokens for i, tokens in header["odd"]}]
    out.counted = [ReferenceNgrams(counts, header["base"], owner, per_image)]
    out.tokenizer_stats = TokenizerStats(captions=captions, scanned=scanned)
    out.line_breaks = header["line_breaks"]
    if strings:
        out.grouped = [json.loads(bytes(texts).decode("utf-8", "surrogatepass"))]
    return out
