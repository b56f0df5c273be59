"""Multiple-choice and yes/no inputs, validated with ``FILE:LINE`` errors.

Multiple choice: records ``{"id", "prediction", "options", "answer", "category"?, "l2_category"?,
"group"?, "question"?}`` (JSONL, JSON, CSV, TSV, Parquet; ``options`` a dict of letters or a list, a JSON
value in CSV/TSV cells), or VLMEvalKit prediction files as VLMEvalKit writes them (TSV or XLSX, also any
record format with these columns): ``index``, ``question``, ``A``, ``B``, ..., ``answer``, ``prediction``,
``category``, ``l2-category``; an empty option cell is an absent option; ``index % 1000000`` is the
CircularEval group and rows with ``index < 1000000`` are the groups' original rows.

Yes/no: records ``{"id", "prediction", "answer": "yes"|"no" (any case), "category"?, "image"?,
"question"?}``.

Text fields must be text: a number where text is expected is an error, except in XLSX files, whose cells
pandas writes as numbers when a column looks numeric (an option "2"): those are read as the number's
text, counted (``counts.numeric_cell``) and warned about.
"""

from __future__ import annotations

import functools
import gc
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmeval.errors import InputError, counted
from vlmeval.io.fields import describe, integral, not_an_id, record_id
from vlmeval.io.join import first_repeat, index_ids
from vlmeval.io.readers import RecordFile, read_bytes, read_records

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CIRCULAR_MODULUS = 1_000_000  # VLMEvalKit: rotation r of question i has index i + r * 1e6


@dataclass
class ChoiceData:
    ids: list[str]
    predictions: list[str]
    options: list[dict[str, str]]  # letter -> text, letters in alphabetical order
    answers: list[str]
    categories: list[str | None]
    l2_categories: list[str | None]
    groups: list[str | None]  # CircularEval group (None: no rotation information)
    heads: list[bool] | None  # VLMEvalKit files: the rows a group is counted at (index < 1e6)
    questions: list[str | None]
    inputs: list[dict[str, Any]]
    counts: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    source_format: str = "records"  # or "vlmevalkit"

    @property
    def has_rotations(self) -> bool:
        """Some group holds more than one row (``--circular auto`` turns CircularEval on)."""
        seen: set[str] = set()
        for g in self.groups:
            if g is not None:
                if g in seen:
                    return True
                seen.add(g)
        return False


@dataclass
class YesNoData:
    ids: list[str]
    predictions: list[str]
    answers: list[str]  # "yes" / "no"
    categories: list[str | None]
    images: list[str | None]
    questions: list[str | None]
    inputs: list[dict[str, Any]]
    counts: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _collector_paused(read: Callable[[str | Path], Any]) -> Callable[[str | Path], Any]:
    """``read`` with Python's cyclic garbage collector paused: a million parsed records are a million tracked
    dicts that every collection walks again (more than half of the reading time), and reading makes no
    cycles."""

    @functools.wraps(read)
    def paused(path: str | Path) -> Any:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return read(path)
        finally:
            if enabled:
                gc.enable()

    return paused


# ---------------------------------------------------------------------------------------------
# XLSX


def read_xlsx(path: str | Path) -> RecordFile:
    """The first sheet of an XLSX file as records (header row = field names), located as ``FILE:ROW``.
    Cells keep openpyxl's types (str, int, float, bool, datetime, None)."""
    path = Path(path)
    raw, digest = read_bytes(path)
    try:
        import openpyxl  # only XLSX input needs it
    except ImportError:
        raise InputError("reading XLSX needs openpyxl: pip install openpyxl", path) from None
    import io
    import zipfile

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(f"not a readable XLSX file ({exc})", path) from None
    try:
        sheet = book.worksheets[0]  # the first sheet, as VLMEvalKit's pandas.read_excel reads it
        notes = [f"{path.name} has {len(book.worksheets)} sheets; only the first, '{sheet.title}', is read, as "
                 "VLMEvalKit's pandas.read_excel reads it"] if len(book.worksheets) > 1 else []  # fmt: skip
        # read every row there is: a stale <dimension> tag would cut read-only iteration short (pandas resets it)
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        header_row = next(rows, None)
        if header_row is None:
            return RecordFile(path, "xlsx", [], digest, notes=notes)
        header = ["" if h is None else str(h).strip() for h in header_row]
        while header and header[-1] == "":
            header.pop()
        if len(set(header)) != len(header) or "" in header:
            raise InputError("empty or duplicate column names in the header", path, 1)
        records: list[dict[str, Any]] = []
        lines: list[int] = []
        for number, row in enumerate(rows, start=2):
            cells = list(row[: len(header)]) + [None] * max(0, len(header) - len(row))
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            if any(c is not None for c in row[len(header) :]):
                raise InputError(f"a value beyond the {len(header)} named columns", path, number)
            records.append(dict(zip(header, cells)))
            lines.append(number)
    finally:
        book.close()
    return RecordFile(path, "xlsx", records, digest, _locate=lines.__getitem__, notes=notes)


def read_any(path: str | Path | RecordFile) -> RecordFile:
    if isinstance(path, RecordFile):  # records given in memory (the Python API)
        return path
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    try:
        return read_records(path)
    except InputError as exc:
        if exc.detail.startswith("unsupported file type"):  # here VLMEvalKit's .xlsx is one too
            raise InputError(exc.detail.replace("use .jsonl", "use .xlsx, .jsonl"), exc.path) from None
        raise


# ---------------------------------------------------------------------------------------------
# typed fields


class _Fields:
    """Typed field access for one file: text stays text; XLSX numbers are converted and counted."""

    def __init__(self, rf: RecordFile):
        self.rf = rf
        self.numeric_cells = 0
        self.first_numeric: str | None = None

    def text(
        self, i: int, rec: dict, key: str, *, required: bool = True, empty_is_none: bool = False
    ) -> str | None:
        if key not in rec or rec[key] is None:
            if required and key in rec:  # there, but null (an empty cell)
                raise self.rf.error(i, f"'{key}' is empty (null)")
            if required:
                present = ", ".join(sorted(map(str, rec))[:8]) or "none"
                raise self.rf.error(i, f"missing field '{key}' (fields present: {present})")
            return None
        value = rec[key]
        if isinstance(value, str):
            if empty_is_none and not value.strip():
                return None
            return value
        if self.rf.format == "xlsx" and isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise self.rf.error(i, f"'{key}' must be text, got {value}")
            self.numeric_cells += 1
            if self.first_numeric is None:
                self.first_numeric = f"{self.rf.where(i)} ('{key}' = {value!r})"
            return str(value)
        raise self.rf.error(i, f"'{key}' must be text, got {describe(value)}")

    def prediction(self, i: int, rec: dict) -> str:
        """An empty XLSX cell is an empty prediction (VLMEvalKit writes a missing answer as an empty cell)."""
        if self.rf.format == "xlsx" and "prediction" in rec and rec["prediction"] is None:
            return ""
        return self.text(i, rec, "prediction")  # type: ignore[return-value]

    def label(self, i: int, rec: dict, key: str) -> str | None:
        return self.text(i, rec, key, required=False, empty_is_none=True)

    def finish(self, warnings: list[str], counts: dict[str, Any]) -> None:
        if self.numeric_cells:
            counts["numeric_cell"] = self.numeric_cells
            warnings.append(
                f"{self.numeric_cells} numeric XLSX cells read as text (first at {self.first_numeric}); "
                "VLMEvalKit's pandas may read them differently (2 or 2.0)"
            )


def _options(rf: RecordFile, i: int, value: Any) -> dict[str, str]:
    if isinstance(value, str) and rf.format in ("csv", "tsv"):
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            raise rf.error(i, "'options' must be a JSON object or list in a CSV/TSV cell (not nested too deep)") from None
    if isinstance(value, dict):
        out = {}
        for key in sorted(value, key=str):
            if not (isinstance(key, str) and len(key) == 1 and key in LETTERS):
                raise rf.error(i, f"option keys must be capital letters A-Z, got {key!r}")
            if value[key] is not None:  # a null option is no option (Parquet fills a struct's missing letters)
                out[key] = value[key]
    elif isinstance(value, list):
        if len(value) > 26:
            raise rf.error(i, f"at most 26 options, got {len(value)}")
        out = dict(zip(LETTERS, value))
    else:
        raise rf.error(i, "'options' must be an object of letters to text or a list of texts")
    if not 2 <= len(out) <= 26:
        raise rf.error(i, f"a question needs 2 to 26 options, got {len(out)}")
    for key, text in out.items():
        if not isinstance(text, str):
            raise rf.error(i, f"option {key} must be text, got {describe(text)}")
        if not text.strip():
            raise rf.error(i, f"option {key} is empty")
    return out


def _answer(rf: RecordFile, i: int, answer: str, options: dict[str, str]) -> str:
    if answer not in options:
        shown = ", ".join(options)
        raise rf.error(i, f"the answer {answer!r} is not one of the option letters ({shown})")
    return answer


def _is_vlmevalkit(rec: dict) -> bool:
    return "index" in rec and "A" in rec and "B" in rec and "options" not in rec


def _vlmevalkit_index(rf: RecordFile, i: int, rec: dict) -> int:
    value = rec.get("index")
    if isinstance(value, bool) or value is None:
        raise rf.error(i, "'index' must be an integer")
    if isinstance(value, str):  # a TSV cell: "7", or "7.0" where pandas wrote the column as floats
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            digits = text.replace(".", "", 1)
            value = float(text) if digits.isascii() and digits.isdigit() else None  # not "²", which isdigit() takes
            if value is None or integral(value) is None:
                raise rf.error(i, f"'index' must be an integer, got {text!r}") from None
    if isinstance(value, float):
        whole = integral(value)
        if whole is None:
            raise rf.error(i, f"'index' must be an integer, {not_an_id(value)}")
        value = whole
    if not isinstance(value, int) or value < 0:
        raise rf.error(i, "'index' must be a non-negative integer")
    return value


# ---------------------------------------------------------------------------------------------


@_collector_paused
def read_choice_records(path: str | Path) -> ChoiceData:
    """Read multiple-choice predictions (records or a VLMEvalKit file) and validate every row."""
    rf, fields = _open(path)
    vlmevalkit = _is_vlmevalkit(rf.records[0])
    if not vlmevalkit and "id" not in rf.records[0] and _is_vlmevalkit({str(k).lower() if len(str(k)) > 1 else k: v
                                                                   for k, v in rf.records[0].items()}):  # fmt: skip
        raise rf.error(0, "the columns look like a VLMEvalKit file's in another case (Index, Answer...): "
                          "VLMEvalKit writes index, question, A, B, ..., answer, prediction")  # fmt: skip
    ids, preds, options, answers, cats, l2s, groups, questions = [], [], [], [], [], [], [], []
    heads: list[bool] | None = [] if vlmevalkit else None
    shared: dict[
        tuple, dict[str, str]
    ] = {}  # equal option sets share one dict (rotations, repeated questions)
    seen: dict[Any, dict[str, str]] = {}  # an options value as written -> its validated, shared dict
    na_predictions = no_option = 0
    for i, rec in enumerate(rf.records):
        get = rec.get
        if vlmevalkit:
            index = _vlmevalkit_index(rf, i, rec)
            ids.append(str(index))
            opts = _vlmevalkit_options(rf, fields, i, rec)
            g = index % CIRCULAR_MODULUS
            groups.append(str(g))
            heads.append(index == g)  # type: ignore[union-attr]
            l2 = _label(fields, i, rec, "l2-category" if "l2-category" in rec else "l2_category")
        else:
            ids.append(_fast_id(get("id")) or record_id(rf, i, rec))
            opts = _cached_options(rf, i, rec, seen, shared)
            groups.append(_label(fields, i, rec, "group", ids_too=True))
            l2 = _label(fields, i, rec, "l2_category")
        prediction = _prediction(fields, i, rec)
        if vlmevalkit and prediction in PANDAS_NA and prediction:
            na_predictions += 1  # VLMEvalKit reads "None" as NaN: str() gives 'nan', no letter in it
            prediction = "nan"
        preds.append(prediction)
        answer = get("answer")
        if type(answer) is not str or answer not in opts:
            answer = fields.text(i, rec, "answer").strip()  # type: ignore[union-attr]
            if vlmevalkit and answer in LETTERS and answer in rec and answer not in opts:
                no_option += 1  # its cell is empty (an option text pandas read as NA): never the letter found
            else:
                answer = _answer(rf, i, answer, opts)
        answers.append(answer)
        options.append(opts if not vlmevalkit else shared.setdefault(tuple(opts.items()), opts))
        cats.append(_label(fields, i, rec, "category"))
        l2s.append(l2)
        questions.append(_label(fields, i, rec, "question"))
    counts, warnings = _finish(rf, fields, ids, preds)
    if no_option:
        counts["answer_without_option"] = no_option
        warnings.append(
            f"{counted(no_option, 'question')} with an answer letter whose option is empty (VLMEvalKit's pandas reads "
            "N/A, None, NA and the like as empty): scored wrong, as VLMEvalKit scores them"
        )
    if na_predictions:
        counts["pandas_na_prediction"] = na_predictions
        warnings.append(
            f"{counted(na_predictions, 'prediction')} such as 'None' or 'N/A' read as VLMEvalKit's pandas reads them: "
            "the text 'nan', no letter"
        )
    if vlmevalkit:
        present = {g for g, h in zip(groups, heads) if h}  # type: ignore[arg-type]
        orphans = sorted({g for g in groups if g not in present}, key=int)
        if orphans:
            counts["circular_orphan_group"] = len(orphans)
            warnings.append(
                f"{counted(len(orphans), 'rotation group', verb=('has', 'have'))} no original row (index < 1000000): "
                "not counted in "
                f"circular_accuracy, as in VLMEvalKit (first: {orphans[0]})"
            )
    return ChoiceData(
        ids,
        preds,
        options,
        answers,
        cats,
        l2s,
        groups,
        heads,
        questions,
        [rf.input_entry()],
        counts,
        warnings,
        "vlmevalkit" if vlmevalkit else "records",
    )


def _open(path: str | Path) -> tuple[RecordFile, _Fields]:
    rf = read_any(path)
    if not rf.records:
        raise InputError("no records found" + (f" ({rf.notes[0]})" if rf.notes else ""), rf.path)
    return rf, _Fields(rf)


def _finish(
    rf: RecordFile, fields: _Fields, ids: list[str], preds: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """Ids unique; the counts and warnings every reader gives."""
    index_ids(rf, ids, "record")
    counts: dict[str, Any] = {
        "records": len(ids),
        "scored": len(ids),
        "skipped": {},
        "empty_prediction": sum(1 for p in preds if not p or p.isspace()),
    }
    warnings: list[str] = list(rf.notes)
    fields.finish(warnings, counts)
    return counts, warnings


# The loops above take the common case inline (text that is text, an id that is an id, options seen
# before) and hand anything else to the validators, which convert it or say what is wrong at its line.


def _prediction(fields: _Fields, i: int, rec: dict) -> str:
    pred = rec.get("prediction")
    return pred if type(pred) is str else fields.prediction(i, rec)


def _fast_id(value: Any) -> str | None:
    if type(value) is str:
        return value if value and not value[0].isspace() and not value[-1].isspace() else None
    if type(value) is int and -(10**18) < value < 10**18:
        return str(value)
    return None


def _label(fields: _Fields, i: int, rec: dict, key: str, *, ids_too: bool = False) -> str | None:
    """An optional label: None when absent or blank; ``ids_too``: an integer is read as its text."""
    value = rec.get(key)
    if value is None:
        return None
    if type(value) is str:
        return value if value and not value.isspace() else None
    if ids_too and type(value) is int:
        return str(value)
    if ids_too and isinstance(value, (int, float)) and not isinstance(value, bool):  # a group: text or an id
        whole = value if isinstance(value, int) else integral(value)
        if whole is None:
            raise fields.rf.error(i, f"'{key}' must be text or a whole number, got {describe(value)}")
        return str(whole)
    return fields.label(i, rec, key)


def _cached_options(rf: RecordFile, i: int, rec: dict, seen: dict, shared: dict) -> dict[str, str]:
    value = rec.get("options")
    kind = type(value)
    try:
        key = (kind, tuple(value.items()) if kind is dict else tuple(value) if kind is list else value)
        opts = seen.get(key)
    except TypeError:  # unhashable option texts: the validator says what is wrong
        key = opts = None
    if opts is None:
        if "options" not in rec:
            raise rf.error(i, "missing field 'options' (a dict of letters or a list)")
        opts = _options(rf, i, value)
        opts = shared.setdefault(tuple(opts.items()), opts)
        if key is not None:
            seen[key] = opts
    return opts


# What pandas' read_csv and read_excel read as NaN by default (pandas STR_NA_VALUES). VLMEvalKit reads its
# files with them: an option cell holding one is no option there, a prediction holding one the text "nan".
PANDAS_NA = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                       "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
                       # Excel's error cells, which pandas' openpyxl reader reads as NaN too
                       "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#GETTING_DATA"})  # fmt: skip


def _vlmevalkit_options(rf: RecordFile, fields: _Fields, i: int, rec: dict) -> dict[str, str]:
    opts = {}
    for c in LETTERS:
        # as pandas reads the cell: empty or an NA string is no option, a space is the option " "
        text = fields.text(i, rec, c, required=False) if c in rec else None
        if text is not None and text not in PANDAS_NA:
            opts[c] = text
    if len(opts) < 2:
        raise rf.error(i, f"a question needs 2 to 26 options (columns A, B, ...), got {len(opts)}")
    return opts


@_collector_paused
def read_yesno_records(path: str | Path) -> YesNoData:
    """Read yes/no predictions and validate every row."""
    rf, fields = _open(path)
    ids, preds, answers, cats, images, questions = [], [], [], [], [], []
    for i, rec in enumerate(rf.records):
        get = rec.get
        key = "id" if "id" in rec or "index" not in rec else "index"
        ids.append(_fast_id(get(key)) or record_id(rf, i, rec, key))
        preds.append(_prediction(fields, i, rec))
        answer = get("answer")
        answer = _YES_NO.get(answer) if type(answer) is str else None
        if answer is None:
            answer = _yes_no(rf, fields, i, rec)
        answers.append(answer)
        cats.append(_label(fields, i, rec, "category"))
        images.append(_label(fields, i, rec, "image" if "image" in rec else "image_path"))
        questions.append(_label(fields, i, rec, "question"))
    counts, warnings = _finish(rf, fields, ids, preds)
    data = YesNoData(ids, preds, answers, cats, images, questions, [rf.input_entry()], counts, warnings)
    return _one_sample_per_category(data) if any(c and "," in c for c in cats) else data


def _one_sample_per_category(data: YesNoData) -> YesNoData:
    """VLMEvalKit's POPE file keeps a question the three POPE splits share once, its category the splits
    joined ("adversarial,popular,random"), and its POPE_rating counts it once in each (``str.split(',')``,
    ``explode``): so per split, as POPE's evaluate.py runs on each split's own file, and in the overall
    numbers. Here such a record is one sample per category, id ``ID/CATEGORY``."""
    ids, preds, answers, cats, images, questions = [], [], [], [], [], []
    joined = 0
    for k, category in enumerate(data.categories):
        parts = list(dict.fromkeys(c for c in category.split(",") if c)) if category and "," in category else [category]
        parts = parts or [category]  # only commas: no split to count it in, the category as written
        joined += len(parts) > 1
        for part in parts:
            ids.append(data.ids[k] if len(parts) == 1 else f"{data.ids[k]}/{part}")
            cats.append(part)
            for out, column in ((preds, data.predictions), (answers, data.answers), (images, data.images),
                                (questions, data.questions)):  # fmt: skip
                out.append(column[k])
    twice = first_repeat(ids)  # "7/random" made for record 7 is also another record's id
    if twice is not None:
        raise InputError(f"the id {ids[twice]!r} names two samples: a record's own, and one split of a "
                         "comma-joined category (ID/CATEGORY); rename that record", data.inputs[0]["path"])  # fmt: skip
    counts = {**data.counts, "scored": len(ids), "multi_category_record": joined}
    warnings = [*data.warnings, (
        f"{counted(joined, 'record')} {'belongs' if joined == 1 else 'belong'} to several categories "
        "(comma-joined, as in VLMEvalKit's POPE file): each is scored once in each category, as VLMEvalKit's "
        "POPE_rating counts it, in the breakdown and in the overall numbers (ids ID/CATEGORY)")]
    return YesNoData(ids, preds, answers, cats, images, questions, data.inputs, counts, warnings)


_YES_NO = {"yes": "yes", "no": "no", "Yes": "yes", "No": "no", "YES": "yes", "NO": "no"}


def _yes_no(rf: RecordFile, fields: _Fields, i: int, rec: dict) -> str:
    answer = fields.text(i, rec, "answer").strip().lower()  # type: ignore[union-attr]
    if answer not in ("yes", "no"):
        raise rf.error(i, f"'answer' must be yes or no, got {rec['answer']!r}")
    return answer
