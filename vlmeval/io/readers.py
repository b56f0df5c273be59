"""Read record files (JSONL, JSON, CSV, TSV, Parquet; optionally gzipped) and remember where each record is.

Every record keeps its location so that validation anywhere else can say ``FILE:LINE: what is wrong``.
JSON documents are parsed with the fast C parser; a record's line is found only when an error needs it.
"""

from __future__ import annotations

import codecs
import csv
import errno
import gzip
import hashlib
import io
import json
import os
import re
import stat
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmeval.errors import InputError

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass
class RecordFile:
    """The records of one input file, each locatable as ``path:line`` (``path:row`` for Parquet)."""

    path: Path
    format: str
    records: list[Any]
    sha256: str
    document: Any = None  # the whole parsed JSON document, for official formats (COCO, VQA, RRC)
    _locate: Callable[[int], int] = field(default=lambda i: i + 1, repr=False)
    # a JSON document on one line (as COCO, VQA and RRC files ship): the line says nothing, the element's
    # place in the document does (".annotations[56]")
    _route: tuple[Any, ...] | None = None
    notes: list[str] = field(default_factory=list)  # what reading it left out, for the report's warnings

    def line(self, index: int) -> int:
        return self._locate(index)

    def where(self, index: int) -> str:
        return f"{self.path}:{self.line(index)}"

    def place(self, index: Any) -> str:
        """Where a record is, for a message: "line 7", or on a one-line document its jq path
        (``.annotations[56]``, ``.[6]``: ``jq '.annotations[56]' FILE`` shows it)."""
        if self._route is None:
            return f"line {self.line(index)}"
        steps = index if isinstance(index, tuple) else (*self._route, index)
        path = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in steps)
        return path if path.startswith(".") else "." + path

    def error(self, index: Any, message: str) -> InputError:
        if self._route is not None:
            message = f"{self.place(index)}: {message}"
        return InputError(message, self.path, self.line(index))

    def input_entry(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256, "records": len(self.records)}


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        check_file(path)  # a missing file, a directory or a device is named as what it is first
        raise InputError(
            f"unsupported file type '{''.join(path.suffixes) or path.name}': use .jsonl, .json, .csv, .tsv or .parquet",
            path,
        )
    return fmt


GZIP_MAGIC = b"\x1f\x8b"


def check_file(path: Path) -> None:
    """An InputError naming the real cause unless ``path`` is a regular file (after symlinks): a FIFO or a
    device would block or never end, and every input is hashed into the report."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(
                f"broken symbolic link (its target {os.readlink(path)} does not exist)", path
            ) from None
        raise InputError("no such file", path) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError("symbolic link loop (the link resolves to itself)", path) from None
        if exc.errno == errno.EACCES:
            raise InputError("permission denied (a folder on the path cannot be searched)", path) from None
        if exc.errno == errno.ENOTDIR:
            raise InputError("no such file (a part of the path is a file, not a folder)", path) from None
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise InputError("is a directory, expected a file", path)
    kind = (
        "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
        else "a socket" if stat.S_ISSOCK(mode)
        else "a device"
    )  # fmt: skip
    raise InputError(f"is {kind}, not a regular file: give vlmeval the file itself", path)


def open_input(path: Path):
    """The file opened for reading in binary, after ``check_file``; OS errors become one sentence."""
    check_file(path)
    try:
        return open(path, "rb")
    except PermissionError:
        raise InputError("permission denied", path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None


def gzip_error(exc: BaseException, path: Path) -> InputError:
    """One sentence for what gzip/zlib raise on a damaged file."""
    if isinstance(exc, EOFError):
        return InputError("truncated gzip file (it ends before its compressed data does)", path)
    if isinstance(exc, zlib.error):
        return InputError(f"corrupt gzip file: the compressed data is invalid ({exc})", path)
    return InputError(f"corrupt gzip file ({exc})", path)  # gzip.BadGzipFile: CRC, length, header


def read_bytes(path: Path) -> tuple[bytes, str]:
    """The file's content and the sha256 of the file as stored. Gzip is recognised by its content (the
    magic bytes 1f 8b), not by the name: a plain file named .gz is read as it is, a gzipped one without
    .gz is decompressed."""
    with open_input(path) as handle:
        try:
            raw = handle.read()
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    digest = hashlib.sha256(raw).hexdigest()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise gzip_error(exc, path) from None
    return raw, digest


_UTF16_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _wrong_encoding(raw: bytes) -> str | None:
    """What a file that is not UTF-8 most likely is, from its first bytes."""
    for bom in _UTF16_BOMS:
        if raw.startswith(bom):
            name = "UTF-32" if len(bom) == 4 else "UTF-16"
            return f"is {name} encoded (it starts with a {name} byte order mark); save it as UTF-8"
    if raw.startswith(b"\x1f\x8b"):  # what is left after one gunzip is gzip again
        return "is gzipped twice (its content is gzip data again): decompress it once more"
    return None


def decode_text(raw: bytes, path: Path) -> str:
    """UTF-8 with an optional BOM; a bad byte is reported at its line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        other = _wrong_encoding(raw)
        if other:
            raise InputError(other, path, 1) from None
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})", path, line) from None


def nul_error(text: str, path: Path, line: int | None = None) -> InputError:
    """A NUL byte is valid UTF-8 but never text: a UTF-16 file without a BOM, or binary data. ``line``: the
    line ``text`` is (else the line is counted in ``text``)."""
    nul, newline = "\x00", "\n"
    pos = text.index(nul)
    if line is None:
        line = text.count(newline, 0, pos) + 1
    column = pos - (text.rfind(newline, 0, pos) + 1) + 1
    return InputError(
        f"contains a NUL byte (column {column}): binary data, or a UTF-16 file without a byte order mark?",
        path,
        line,
    )


def _json_value_error(exc: ValueError) -> str:
    """json raises a plain ValueError (not JSONDecodeError) for an integer too long to convert."""
    digits = re.search(r"value has (\d+) digits", str(exc))
    if digits:
        return f"not readable: a number with {digits.group(1)} digits (integers may have at most 4300)"
    return f"not valid JSON: {exc}"


# a JSON string escape of a UTF-16 surrogate (D800-DFFF): only then can a parsed string hold a lone one
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def lone_surrogate(value: Any) -> str | None:
    """The first lone UTF-16 surrogate in the strings of a parsed value (escaped, for a message), or None.
    JSON lets ``"\\ud800"`` through; no UTF-8 output (the report, the terminal) can hold it."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.object[exc.start].encode("unicode_escape").decode("ascii")
    except (ValueError, RecursionError):  # NaN is fine here; too deep was refused already
        return None
    return None


def surrogate_error(char: str, path: Path, line: int | None) -> InputError:
    return InputError(
        f"a string holds a lone UTF-16 surrogate ({char}), which is not a character: the file was written "
        "by a broken encoder (split emoji?)",
        path,
        line,
    )


def memory_records(records: list[Any], name: str) -> RecordFile:
    """Records given in memory (the Python API), located as ``<name>:N`` (the N-th record) in messages; their
    sha256 is that of their JSON, so that two runs on the same data record the same input."""
    import json

    blob = json.dumps(records, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    return RecordFile(Path(f"<{name}>"), "json", records, hashlib.sha256(blob).hexdigest())


def read_records(path: str | Path | RecordFile) -> RecordFile:
    """Read a record file; the format comes from the extension. Records already read (``memory_records``)
    pass through."""
    if isinstance(path, RecordFile):
        return path
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "jsonl":
        return _stream_jsonl(path)
    raw, digest = read_bytes(path)
    if fmt == "parquet":
        return _read_parquet(path, raw, digest)
    text = decode_text(raw, path)
    if fmt == "json":
        return _read_json(path, text, digest)
    return _read_delimited(path, text, digest, "\t" if fmt == "tsv" else ",", fmt)


def read_json_document(path: str | Path) -> RecordFile:
    """Read a JSON file whose top level is not a list of records (COCO annotations, VQA questions...)."""
    path = Path(path)
    raw, digest = read_bytes(path)
    text = decode_text(raw, path)
    doc = _loads(text, path)
    return RecordFile(path, "json", [], digest, document=doc, _locate=_lazy_json_locator(text, ()),
                      _route=_one_line_route(text, ()))


def _one_line_route(text: str, route: tuple[Any, ...]) -> tuple[Any, ...] | None:
    end = len(text)
    while end and text[end - 1].isspace():  # trailing line ends do not make a second line
        end -= 1
    return route if text.find("\n", 0, end) < 0 else None


def _loads(text: str, path: Path) -> Any:
    """A whole JSON document; every way it can fail is one sentence with its line."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if "\x00" in text:
            raise nul_error(text, path) from None
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", path, exc.lineno) from None
    except RecursionError:
        raise InputError(
            "not readable: JSON nested too deeply (arrays or objects inside each other)", path
        ) from None
    except ValueError as exc:
        raise InputError(_json_value_error(exc), path) from None
    _check_surrogates(doc, text, path)
    return doc


def _check_surrogates(doc: Any, text: str, path: Path) -> None:
    if _SURROGATE_ESCAPE.search(text):
        char = lone_surrogate(doc)
        if char is not None:
            raise surrogate_error(char, path, _surrogate_line(text))


def _surrogate_line(text: str) -> int | None:
    """The line of the first lone surrogate escape (a high one not followed by a low one, or a low one not
    preceded by a high one), skipping escaped backslashes."""
    for match in re.finditer(r"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})", text):
        if len(match.group(1)) % 2 == 0:
            continue  # "\\\\ud800" is a backslash and the text "ud800"
        unit = int(match.group(2), 16)
        after = text[match.end() : match.end() + 6]
        before = text[max(0, match.start() - 6) : match.start()]
        paired = (unit < 0xDC00 and re.fullmatch(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}", after)) or (
            unit >= 0xDC00 and re.fullmatch(r"\\u[dD][89abAB][0-9a-fA-F]{2}", before)
        )
        if not paired:
            return text.count("\n", 0, match.start()) + 1
    return None


def _read_jsonl(path: Path, text: str, digest: str) -> RecordFile:
    records: list[Any] = []
    lines: list[int] = []
    # split on "\n" only: str.splitlines() would also split on U+2028 and friends inside JSON strings
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        record = _parse_line(stripped, path, number)
        if record is _BLANK:
            continue
        if not isinstance(record, dict):
            raise InputError(f"expected a JSON object, got {_kind(record)}", path, number)
        records.append(record)
        lines.append(number)
    return RecordFile(path, "jsonl", records, digest, _locate=lines.__getitem__)


_BLANK = object()  # a line that holds only a BOM and spaces


def _parse_line(line: str, path: Path, number: int) -> Any:
    """One JSON Lines record (or _BLANK); the checks beyond json.loads run only when the line needs them."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        # a BOM: on line 1, or where files joined with cat each bring theirs
        if line.startswith("\ufeff"):
            rest = line[1:].strip()
            return _parse_line(rest, path, number) if rest else _BLANK
        if "\x00" in line:
            raise nul_error(line, path, line=number) from None
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", path, number) from None
    except RecursionError:
        raise InputError(
            "not readable: JSON nested too deeply (arrays or objects inside each other)", path, number
        ) from None
    except ValueError as exc:
        raise InputError(_json_value_error(exc), path, number) from None
    if "\\u" in line and _SURROGATE_ESCAPE.search(line):
        char = lone_surrogate(record)
        if char is not None:
            raise surrogate_error(char, path, number)
    return record


def _stream_jsonl(path: Path) -> RecordFile:
    """JSON Lines read line by line (a file of a million records never sits in memory as text)."""
    digest = hashlib.sha256()
    records: list[Any] = []
    lines: list[int] = []
    escapes = False  # the text holds a JSON surrogate escape somewhere: only then are lines searched for one

    class _Hashing(io.RawIOBase):  # hash the stored bytes as they are read
        def __init__(self, raw):
            self._raw = raw

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = self._raw.readinto(buffer)
            digest.update(memoryview(buffer)[:n])
            return n

    class _Scanning(io.RawIOBase):
        """Looks for surrogate escapes a chunk at a time, before the chunk's lines are parsed (a search of
        every line would cost more than a tenth of the whole loop)."""

        def __init__(self, raw):
            self._raw, self._tail = raw, b""

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            nonlocal escapes
            n = self._raw.readinto(buffer)
            if n and not escapes:
                view = memoryview(buffer)[:n]
                # an escape may straddle two chunks: the joint is searched too
                if _SURROGATE_ESCAPE_BYTES.search(view) or _SURROGATE_ESCAPE_BYTES.search(
                    self._tail + bytes(view[:6])
                ):
                    escapes = True
                self._tail = bytes(view[-6:])
            return n

    with open_input(path) as stored:
        gzipped = stored.read(2) == GZIP_MAGIC  # the content decides, not the name (see read_bytes)
        stored.seek(0)
        source = _Hashing(stored)
        binary = gzip.GzipFile(fileobj=io.BufferedReader(source)) if gzipped else source
        reader = io.BufferedReader(_Scanning(binary), buffer_size=1 << 20)
        append_record, append_line, loads = records.append, lines.append, json.loads
        try:
            # split on b"\n" only: U+2028 and friends may sit inside JSON strings
            for number, raw in enumerate(reader, start=1):
                stripped = raw.strip()
                if not stripped:
                    continue
                try:
                    # decoded here, not by json.loads: its encoding guess reads NUL bytes as UTF-16
                    line = stripped.decode("utf-8")
                    record = loads(line)
                    if escapes and _SURROGATE_ESCAPE_BYTES.search(stripped):
                        char = lone_surrogate(record)
                        if char is not None:
                            raise surrogate_error(char, path, number)
                except UnicodeDecodeError as exc:
                    other = _wrong_encoding(stripped) if number == 1 else None
                    if other:
                        raise InputError(other, path, number) from None
                    raise InputError(
                        f"not valid UTF-8 (byte 0x{stripped[exc.start]:02x})", path, number
                    ) from None
                except (ValueError, RecursionError):  # the slow path says what is wrong (or reads a BOM)
                    record = _parse_line(line, path, number)
                    if record is _BLANK:
                        continue
                if type(record) is not dict:
                    raise InputError(f"expected a JSON object, got {_kind(record)}", path, number)
                append_record(record)
                append_line(number)
        except (OSError, EOFError, zlib.error) as exc:
            if gzipped:
                raise gzip_error(exc, path) from None
            raise InputError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", path) from None
    return RecordFile(path, "jsonl", records, digest.hexdigest(), _locate=lines.__getitem__)


def _read_json(path: Path, text: str, digest: str) -> RecordFile:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            # JSON Lines saved as .json: read it as what it is
            return _read_jsonl(path, text, digest)
        doc = _loads(text, path)  # raises, saying what is wrong
    except (ValueError, RecursionError):
        doc = _loads(text, path)
    else:
        _check_surrogates(doc, text, path)
    if isinstance(doc, list):
        records, route = doc, ()
    elif isinstance(doc, dict) and isinstance(doc.get("data"), list):
        records, route = doc["data"], ("data",)
    elif isinstance(doc, dict) and "data" in doc and not any(isinstance(v, list) for k, v in doc.items() if k != "data"):
        raise InputError(f"'data' must be the list of records, got {_kind(doc['data'])}", path)
    elif isinstance(doc, dict):
        # an official document (COCO annotations, VQA questions, ...): the task reads doc itself
        return RecordFile(path, "json", [], digest, document=doc, _locate=_lazy_json_locator(text, ()),
                          _route=_one_line_route(text, ()))
    else:
        raise InputError(f'expected a list of records (or {{"data": [...]}}), got {_kind(doc)}', path)
    rf = RecordFile(path, "json", records, digest, document=doc, _locate=_lazy_json_locator(text, route),
                    _route=_one_line_route(text, route))
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise rf.error(i, f"expected a JSON object, got {_kind(record)}")
    return rf


def _read_delimited(path: Path, text: str, digest: str, delimiter: str, fmt: str) -> RecordFile:
    if "\x00" in text:
        raise nul_error(text, path)
    # a cell is as long as the file allows (csv's default limit, 131,072 characters, would refuse a long
    # prediction that JSONL takes)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return RecordFile(path, fmt, [], digest)
    except csv.Error as exc:
        raise InputError(f"not valid {fmt.upper()}: {exc}", path, 1) from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise InputError("duplicate column names in the header", path, 1)
    records: list[dict[str, str]] = []
    lines: list[int] = []
    start = reader.line_num + 1
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                start = reader.line_num + 1
                continue
            if len(row) != len(header):
                # a quote left open swallows the line ends and separators that follow it into one cell
                hint = "; a quote in it left open (the cell then runs on over the line ends)?" if reader.line_num > start else ""
                raise InputError(
                    f"expected {len(header)} fields (as in the header), found {len(row)}{hint}", path, start
                )
            records.append(dict(zip(header, row)))
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"not valid {fmt.upper()}: {exc}", path, reader.line_num) from None
    return RecordFile(path, fmt, records, digest, _locate=lines.__getitem__)


def _read_parquet(path: Path, raw: bytes, digest: str) -> RecordFile:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a core dependency
        raise InputError("reading Parquet needs pyarrow: pip install pyarrow", path) from None
    try:
        table = pq.read_table(io.BytesIO(raw))
        # a map column (map<string, string> options) reads as the object it is, not as (key, value) pairs
        # (asked only where there is one: the conversion is slower)
        maps = any(_has_map(f.type) for f in table.schema)
        records = table.to_pylist(maps_as_pydicts="strict") if maps else table.to_pylist()
    except Exception as exc:  # pyarrow raises many types for corrupt files (and invalid UTF-8 in strings)
        raise InputError(f"not a readable Parquet file ({' '.join(str(exc).split())[:200]})", path) from None
    for name in table.column_names:
        # NUL is no text in any format (the caption rules also mark where a text starts with it)
        if any(_holds_nul_strings(chunk) for chunk in table.column(name).chunks):
            # (a dictionary's unused entry holds it in no row)
            row = next((r for r, record in enumerate(records) if _holds_nul(record.get(name))), None)
            if row is not None:
                raise InputError(f"'{name}' contains a NUL character: binary data, not text?", path, row + 1)
    return RecordFile(path, "parquet", records, digest)


def _has_map(kind) -> bool:
    import pyarrow as pa

    if pa.types.is_map(kind):
        return True
    if pa.types.is_struct(kind):
        return any(_has_map(kind.field(k).type) for k in range(kind.num_fields))
    value = getattr(kind, "value_type", None)  # lists, dictionaries
    return value is not None and _has_map(value)


def _holds_nul_strings(array) -> bool:
    """Whether any string inside an Arrow array (at any depth: lists, structs, maps) holds a NUL."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if getattr(pa.types, "is_string_view", lambda _: False)(kind):
        return _holds_nul_strings(array.cast(pa.string()))
    if pa.types.is_dictionary(kind):
        return _holds_nul_strings(array.dictionary)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return bool(pc.any(pc.match_substring(array, "\x00")).as_py())
    if pa.types.is_map(kind):
        return _holds_nul_strings(array.keys) or _holds_nul_strings(array.items)
    views = (getattr(pa.types, name, lambda _: False) for name in ("is_list_view", "is_large_list_view"))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind) or any(
        view(kind) for view in views
    ):
        return _holds_nul_strings(array.flatten())
    if pa.types.is_struct(kind):
        return any(_holds_nul_strings(field) for field in array.flatten())
    return False


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


def _kind(value: Any) -> str:
    return {
        list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean",
        dict: "an object", bytes: "binary data",
    }.get(type(value), "null" if value is None else type(value).__name__)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Finding a record's line in a JSON document, only when an error needs it.

_DECODER = json.JSONDecoder()
_WS = " \t\n\r"


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _child_offsets(text: str, pos: int) -> dict[Any, int]:
    """Offsets of the direct children of the JSON array or object starting at ``pos``."""
    offsets: dict[Any, int] = {}
    opening = text[pos]
    closing = "]" if opening == "[" else "}"
    pos = _skip_ws(text, pos + 1)
    index = 0
    while pos < len(text) and text[pos] != closing:
        if opening == "{":
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            pos = _skip_ws(text, pos + 1)  # the colon
        else:
            key = index
            index += 1
        offsets[key] = pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
    return offsets


def _lazy_json_locator(text: str, route: tuple[Any, ...]) -> Callable[[Any], int]:
    cache: dict[tuple[Any, ...], dict[Any, int]] = {}

    def locate(index: Any) -> int:
        steps = index if isinstance(index, tuple) else (*route, index)
        parent, last = steps[:-1], steps[-1]
        if parent not in cache:
            pos = _skip_ws(text, 0)
            for step in parent:
                pos = _child_offsets(text, pos).get(step, pos)
            cache[parent] = _child_offsets(text, pos) if text[pos : pos + 1] in ("[", "{") else {}
        pos = cache[parent].get(last, 0)
        return text.count("\n", 0, pos) + 1

    return locate
