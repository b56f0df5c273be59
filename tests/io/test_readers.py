"""Readers: every format, every location an error can point at."""

from __future__ import annotations

import gzip
import json

import pytest

from vlmeval.errors import InputError
from vlmeval.io.readers import read_records


def test_jsonl_bom_crlf_blank_lines(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": 1, "prediction": "a"}\r\n\r\n\n{"id": "2", "prediction": "b"}\r\n')
    rf = read_records(path)
    assert [r["id"] for r in rf.records] == [1, "2"]
    assert rf.where(1) == f"{path}:4"


def test_jsonl_line_separator_inside_a_string_is_not_a_line_break(tmp_path):
    path = tmp_path / "p.jsonl"
    # a raw U+2028 is valid inside a JSON string; str.splitlines() would break the record there
    path.write_text(
        '{"id": 1, "prediction": "a\u2028b\\fc"}\n{"id": 2, "prediction": "d"}\n', encoding="utf-8"
    )
    rf = read_records(path)
    assert rf.records[0]["prediction"] == "a\u2028b\x0cc"
    assert rf.line(1) == 2


def test_jsonl_malformed_line_is_located(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1}\n\n{"id": 2,,}\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_records(path)
    assert str(err.value).startswith(f"{path}:3: not valid JSON")


def test_jsonl_record_must_be_an_object(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(InputError, match=r":2: expected a JSON object, got a list"):
        read_records(path)


def test_json_list_and_data_wrapper_locate_records_lazily(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"data": [\n  {"id": 1},\n\n  {"id": 2}\n]}', encoding="utf-8")
    rf = read_records(path)
    assert rf.line(0) == 2 and rf.line(1) == 4
    path.write_text('[\n{"id": 1},\n"oops"\n]', encoding="utf-8")
    with pytest.raises(InputError, match=r"p.json:3: expected a JSON object, got a string"):
        read_records(path)


def test_json_syntax_error_has_line(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('[\n{"id": 1},\n{"id": 2\n]', encoding="utf-8")
    with pytest.raises(InputError, match=r"p.json:4: not valid JSON"):
        read_records(path)


def test_json_lines_saved_as_json_are_read_as_lines(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"id": 1}\n{"id": 2}\n', encoding="utf-8")
    assert len(read_records(path).records) == 2


def test_official_document_is_kept_whole(tmp_path):
    path = tmp_path / "ann.json"
    path.write_text('{"images": [],\n "annotations": [\n {"image_id": 1}]}', encoding="utf-8")
    rf = read_records(path)
    assert rf.records == [] and rf.document["annotations"] == [{"image_id": 1}]
    assert rf.line(("annotations", 0)) == 3


def test_csv_and_tsv_with_list_cells_and_multiline_fields(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        'id,prediction,references\n1,"two\nlines","[""a"", ""b""]"\n\n2,x,single\n', encoding="utf-8"
    )
    rf = read_records(path)
    assert rf.records[0]["prediction"] == "two\nlines"
    assert rf.line(0) == 2 and rf.line(1) == 5
    tsv = tmp_path / "p.tsv"
    tsv.write_text("id\tprediction\n1\ta b\n2\tc\td\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"p.tsv:3: expected 2 fields"):
        read_records(tsv)


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "p.parquet"
    pq.write_table(
        pa.table({"id": [1, 2], "prediction": ["a", "b"], "references": [["x"], ["y", "z"]]}), path
    )
    rf = read_records(path)
    assert rf.records[1] == {"id": 2, "prediction": "b", "references": ["y", "z"]}
    assert rf.where(1).endswith("p.parquet:2")


def test_gzip_and_hash_of_stored_bytes(tmp_path):
    import hashlib

    path = tmp_path / "p.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"id": 1}\n'))
    rf = read_records(path)
    assert rf.records == [{"id": 1}]
    assert rf.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("p.txt", b"x", "unsupported file type '.txt'"),
        ("p.jsonl", b'{"id": 1}\n{"id": "\xff"}\n', "p.jsonl:2: not valid UTF-8"),
    ],
)
def test_bad_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message.replace(".", r"\.").replace("(", r"\(")):
        read_records(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_records(tmp_path / "nope.jsonl")


def test_a_name_without_a_known_extension_is_named_as_what_it_is_first(tmp_path):
    (tmp_path / "adir").mkdir()
    with pytest.raises(InputError, match="adir: is a directory"):
        read_records(tmp_path / "adir")
    with pytest.raises(InputError, match="preds: no such file"):
        read_records(tmp_path / "preds")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(InputError, match="loop: symbolic link loop"):
        read_records(tmp_path / "loop")


def test_inputs_are_never_modified(tmp_path):
    path = tmp_path / "p.json"
    original = json.dumps([{"id": 1, "prediction": "x"}]).encode()
    path.write_bytes(original)
    read_records(path)
    assert path.read_bytes() == original


def test_one_line_json_documents_name_the_element(tmp_path):
    """COCO, VQA and RRC files ship as one line: an error there names the element by its jq path, since
    every line number is 1; a pretty-printed file gives the line alone."""
    from vlmeval.io.captions import read_references

    doc = {"images": [], "annotations": [{"image_id": 1, "caption": "a"}, {"image_id": 2, "caption": 5}]}
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"^.*flat\.json:1: \.annotations\[1\]: annotation 'caption' must be a string$"):
        read_references(flat)
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(doc, indent=1))
    with pytest.raises(InputError, match=r"^.*pretty\.json:\d+: annotation 'caption' must be a string$"):
        read_references(pretty)
    results = tmp_path / "res.json"
    results.write_text(json.dumps([{"image_id": 1, "caption": "a"}, {"image_id": 1, "caption": "b"}]))
    rf = read_records(results)
    assert rf.place(1) == ".[1]" and str(rf.error(1, "x")).endswith("res.json:1: .[1]: x")


@pytest.mark.parametrize(
    "column",
    [
        "plain",
        "list",
        "map",
        "dictionary",
        "struct",
    ],
)
def test_parquet_strings_holding_nul_are_refused(tmp_path, column):
    """As in JSONL and CSV: NUL is no text (the caption error rules also use it to mark where a text starts:
    a NUL in a prediction gave the next captions each other's error types)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    bad = "a dog\x00 runs"
    values = {
        "plain": pa.array(["fine", bad]),
        "list": pa.array([["fine"], ["ok", bad]]),
        "map": pa.array([[("A", "x")], [("A", bad)]], type=pa.map_(pa.string(), pa.string())),
        "dictionary": pa.array(["fine", bad]).dictionary_encode(),
        "struct": pa.array([{"t": "fine"}, {"t": bad}]),
    }[column]
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"id": ["1", "2"], "field": values}), path)
    with pytest.raises(InputError, match=rf"^{path}:2: 'field' contains a NUL character"):
        read_records(path)


def test_parquet_map_columns_read_as_objects(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "p.parquet"
    options = pa.array([[("A", "x"), ("B", "y")]], type=pa.map_(pa.string(), pa.string()))
    pq.write_table(pa.table({"id": ["1"], "options": options}), path)
    assert read_records(path).records == [{"id": "1", "options": {"A": "x", "B": "y"}}]


def test_data_that_is_no_list_and_a_file_gzipped_twice_say_so(tmp_path):
    data = tmp_path / "d.json"
    data.write_text('{"data": 5}')
    with pytest.raises(InputError, match=r"d\.json: 'data' must be the list of records, got a number$"):
        read_records(data)
    twice = tmp_path / "t.jsonl.gz"
    twice.write_bytes(gzip.compress(gzip.compress(b'{"id": 1}\n')))
    with pytest.raises(InputError, match=r"t\.jsonl\.gz:1: is gzipped twice"):
        read_records(twice)


def test_an_image_behind_a_folder_that_cannot_be_searched_is_no_image(tmp_path, monkeypatch):
    """Path.is_file raises PermissionError there (Python 3.11) as a non-root user; it was exit 3."""
    from pathlib import Path

    from vlmeval.io import images

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "is_file", denied)
    monkeypatch.setattr(Path, "stat", lambda self, **_: denied(self))
    assert images.image_size(tmp_path / "a.png") is None and images.thumbnail(tmp_path / "a.png", 64, upright=True) is None
    assert images.why_unreadable(tmp_path / "a.png").startswith("permission denied")


def test_a_csv_id_is_its_cells_text(tmp_path):
    """CSV/TSV cells are text: an id cell 1.0 stays "1.0", as in an ids file or a JSON string (a JSON number
    1.0 is the integer 1)."""
    from vlmeval.io.fields import record_id

    path = tmp_path / "p.csv"
    path.write_text("id,prediction\n1.0,a\n1.5,b\nv2.0,c\n")
    rf = read_records(path)
    assert [record_id(rf, i, r) for i, r in enumerate(rf.records)] == ["1.0", "1.5", "v2.0"]


def test_the_predictions_own_references_beside_refs_are_named_in_a_warning(tmp_path):
    """--refs gives what is scored; the predictions' own references, answers or boxes are not silently
    dropped without a word."""
    from vlmeval.io.captions import load_captions
    from vlmeval.io.grounding import load_grounding
    from vlmeval.io.qa import load_docvqa

    preds = tmp_path / "p.jsonl"
    refs = tmp_path / "r.jsonl"
    preds.write_text(json.dumps({"id": 1, "prediction": "a dog", "references": ["x"], "answers": ["x"],
                                 "gt_boxes": [[1, 1, 2, 2]]}) + "\n")  # fmt: skip
    refs.write_text(json.dumps({"id": 1, "references": ["a dog"], "answers": ["a dog"], "gt_boxes": [[1, 1, 3, 3]]}) + "\n")
    assert "p.jsonl has its own 'references'; r.jsonl (--refs) gives the ones scored" in load_captions(preds, refs).warnings
    assert "p.jsonl has its own 'answers'; r.jsonl (--refs) gives the ones scored" in load_docvqa(preds, refs).warnings
    assert "p.jsonl has its own 'gt_boxes'; r.jsonl (--refs) gives the ones scored" in load_grounding(preds, refs).warnings


def test_ids_that_differ_only_in_unicode_normalisation_are_named(tmp_path):
    from vlmeval.io.captions import load_captions

    preds, refs = tmp_path / "p.jsonl", tmp_path / "r.jsonl"
    preds.write_text(json.dumps({"id": "cafe\u0301", "prediction": "a cup"}) + "\n" + json.dumps({"id": "x", "prediction": "a"}) + "\n")
    refs.write_text(json.dumps({"id": "caf\u00e9", "references": ["a cup"]}) + "\n" + json.dumps({"id": "x", "references": ["a"]}) + "\n")
    with pytest.raises(InputError) as info:
        load_captions(preds, refs)
    assert "1 prediction id differs from them only in Unicode normalisation (first: 'cafe\\u0301' (not NFC))" in str(info.value)


def test_a_csv_quote_left_open_is_named_and_parquet_decimal_boxes_are_numbers(tmp_path):
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmeval.io.grounding import load_grounding

    path = tmp_path / "p.csv"
    path.write_text('id,prediction,answer\n1,"yes,no\n2,no,no\n')
    with pytest.raises(InputError, match=r"p\.csv:2: expected 3 fields .*a quote in it left open"):
        read_records(path)
    boxes = pa.array([[[decimal.Decimal("10.5"), decimal.Decimal(10), decimal.Decimal(50), decimal.Decimal(60)]]],
                     type=pa.list_(pa.list_(pa.decimal128(6, 2))))  # fmt: skip
    parquet = tmp_path / "g.parquet"
    pq.write_table(pa.table({"id": ["a"], "prediction": ["[10.5, 10, 50, 60]"], "gt_boxes": boxes}), parquet)
    assert load_grounding(parquet).gt_boxes[0].tolist() == [[10.5, 10.0, 50.0, 60.0]]
