"""Typed access to record fields, with ``FILE:LINE`` errors. CSV/TSV cells hold lists as JSON arrays.

One rule for types: JSON, JSON Lines and Parquet carry types, so a field must already have its type (a
number where text is expected is an error, never stringified: a prediction ``2.0`` is not the answer
``"2"``). CSV/TSV cells are all text, so there a list is a JSON array in the cell and a number is parsed.
"""

from __future__ import annotations

import json
import math
from typing import Any

from vlmeval.io.readers import RecordFile, lone_surrogate

DELIMITED = ("csv", "tsv")
# Past 2**53 a float is a rounded integer: an id 10**30 that XLSX or JSON stored as a float reads back as
# 1000000000000000019884624838656, another id.
EXACT_FLOAT_LIMIT = 2**53


def integral(value: float) -> int | None:
    """A float that is exactly the integer it shows (a whole number below 2**53) as that int; else None."""
    return int(value) if value.is_integer() and abs(value) < EXACT_FLOAT_LIMIT else None


def not_an_id(value: float) -> str:
    if value.is_integer():
        return f"got the number {_number(value)}, a float too large to hold an integer exactly (write the id as a string)"
    return f"got {_number(value)}"


def describe(value: Any) -> str:
    """A short, safe description of any value a reader can produce, for a message."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"the number {_number(value)}"
    if isinstance(value, str):
        return f"the string {json.dumps(value[:30], ensure_ascii=False)}" + ("..." if len(value) > 30 else "")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"binary data ({len(value)} bytes)"
    kind = {list: "a list", tuple: "a list", dict: "an object"}.get(type(value))
    if kind is None:
        name = type(value).__name__
        return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
    try:
        shown = json.dumps(value, ensure_ascii=False, default=lambda v: f"<{type(v).__name__}>")
    except (ValueError, RecursionError, TypeError):
        return kind
    return f"{kind} {shown[:40]}{'...' if len(shown) > 40 else ''}"


def _number(value: int | float) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int past Python's 4300-digit conversion limit
        return "with more than 4300 digits"
    return text if len(text) <= 24 else text[:20] + "..."


def _missing(rf: RecordFile, i: int, record: dict, key: str) -> Exception:
    if key in record:  # there, but null (an empty cell)
        return rf.error(i, f"'{key}' is empty (null)")
    present = ", ".join(sorted(map(str, record))[:8]) or "none"
    return rf.error(i, f"missing field '{key}' (fields present: {present})")


def record_id(rf: RecordFile, i: int, record: dict, key: str = "id") -> str:
    """Ids may be strings or integers; they are compared as strings."""
    if key not in record:
        raise _missing(rf, i, record, key)
    value = record[key]
    if isinstance(value, bool) or value is None:
        raise rf.error(i, f"'{key}' must be a string or an integer, got {json.dumps(value)}")
    if isinstance(value, float):
        whole = integral(value)
        if whole is None:
            raise rf.error(i, f"'{key}' must be a string or an integer, {not_an_id(value)}")
        value = whole
    if not isinstance(value, (str, int)):
        raise rf.error(i, f"'{key}' must be a string or an integer, got {describe(value)}")
    text = value.strip() if isinstance(value, str) else _int_text(rf, i, key, value)
    if text == "":
        raise rf.error(i, f"'{key}' is empty")
    return text


def _int_text(rf: RecordFile, i: int, key: str, value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than Python converts
        raise rf.error(i, f"'{key}' is an integer with more than 4300 digits") from None


def _not_text(rf: RecordFile, i: int, key: str, value: Any, what: str = "a string") -> Exception:
    hint = ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # the coercion this refuses: 2.0 would become "2.0", which scores 0 against the answer "2"
        hint = ": numbers are not turned into text (write the text itself, in quotes)"
    return rf.error(i, f"'{key}' must be {what}, got {describe(value)}{hint}")


def text_field(rf: RecordFile, i: int, record: dict, key: str, *, required: bool = True) -> str | None:
    if key not in record or (record[key] is None and not required):
        if required:
            raise _missing(rf, i, record, key)
        return None
    value = record[key]
    if type(value) is str:
        return value
    if isinstance(value, str):  # a str subclass: plain text from here on
        return str(value)
    if value is None:
        raise rf.error(i, f"'{key}' is null (an empty answer is the empty string \"\")")
    raise _not_text(rf, i, key, value)


def text_list_field(
    rf: RecordFile, i: int, record: dict, key: str, *, allow_empty: bool = False
) -> list[str]:
    if key not in record:
        raise _missing(rf, i, record, key)
    value = record[key]
    if isinstance(value, str) and rf.format in DELIMITED:
        stripped = value.strip()
        if stripped.startswith("["):
            value = _cell_json(rf, i, key, stripped)
        else:
            value = [value]
    if isinstance(value, str):
        raise rf.error(i, f"'{key}' must be a list of strings, got a single string (write [\"...\"])")
    if not isinstance(value, (list, tuple)):
        raise rf.error(i, f"'{key}' must be a list of strings, got {describe(value)}")
    if not all(type(item) is str for item in value):
        for position, item in enumerate(value, start=1):
            if not isinstance(item, str):
                raise _not_text(rf, i, key, item, f"a list of strings (item {position} is not)")
        value = [str(item) for item in value]  # str subclasses: plain text from here on
    if not value and not allow_empty:
        raise rf.error(i, f"'{key}' is empty")
    return list(value)


def _cell_json(rf: RecordFile, i: int, key: str, text: str) -> Any:
    """A JSON array in a CSV/TSV cell."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise rf.error(i, f"'{key}' looks like a JSON list but does not parse") from None
    char = lone_surrogate(value) if "\\u" in text else None
    if char is not None:
        raise rf.error(i, f"'{key}' holds a lone UTF-16 surrogate ({char}), which is not a character")
    return value


def optional_str(rf: RecordFile, i: int, record: dict, key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _not_text(rf, i, key, value)
    return value


def number_field(rf: RecordFile, i: int, record: dict, key: str, *, required: bool = False) -> float | None:
    value: Any = record.get(key)
    if value is None or value == "":
        if required:
            raise _missing(rf, i, record, key)
        return None
    if isinstance(value, str):
        if rf.format not in DELIMITED:
            raise rf.error(i, f"'{key}' must be a number, got {describe(value)}")
        try:
            value = float(value)
        except ValueError:
            raise rf.error(i, f"'{key}' must be a number, got {value[:30]!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise rf.error(i, f"'{key}' must be a number, got {describe(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise rf.error(i, f"'{key}' must be a finite number, got {_number(value)}")
    return number
