"""The input layer on hostile files: every message names the real cause, with FILE:LINE where there is a
line (readers, fields, images, retrieval inputs, grounding scores). The CLI-level cases are in tests/hostile."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import struct
import zlib

import numpy as np
import pytest

from vlmeval.errors import InputError
from vlmeval.io import fields
from vlmeval.io.grounding import load_grounding
from vlmeval.io.images import image_size
from vlmeval.io.readers import read_json_document, read_records
from vlmeval.io.retrieval import load_matrix, load_ranked, read_ids

GOOD = b'{"id": 1, "prediction": "a"}\n{"id": 2, "prediction": "b"}\n'


def _fails(path, pattern):
    with pytest.raises(InputError) as err:
        read_records(path)
    assert pattern in str(err.value), str(err.value)
    return str(err.value)


# ---- what the path is


def test_fifo_symlink_loop_dangling_link_directory(tmp_path):
    fifo = tmp_path / "p.jsonl"
    os.mkfifo(fifo)
    _fails(fifo, "p.jsonl: is a named pipe (FIFO), not a regular file")  # and no hang
    loop = tmp_path / "l.jsonl"
    os.symlink("l.jsonl", loop)
    _fails(loop, "l.jsonl: symbolic link loop")
    dangling = tmp_path / "d.jsonl"
    os.symlink("gone.jsonl", dangling)
    _fails(dangling, "d.jsonl: broken symbolic link (its target gone.jsonl does not exist)")
    (tmp_path / "dir.json").mkdir()
    _fails(tmp_path / "dir.json", "is a directory")
    _fails(tmp_path / "none.csv", "none.csv: no such file")
    (tmp_path / "f").write_text("x")
    _fails(tmp_path / "f" / "p.json", "no such file (a part of the path is a file, not a folder)")


# ---- gzip: the content decides


@pytest.mark.parametrize("name", ["p.jsonl", "p.json"])
def test_gzip_is_recognised_by_content(tmp_path, name):
    records = [{"id": 1, "prediction": "a"}, {"id": 2, "prediction": "b"}]
    text = GOOD if name.endswith("l") else json.dumps(records).encode()
    plain_named_gz = tmp_path / f"x_{name}.gz"
    plain_named_gz.write_bytes(text)
    gzip_named_plain = tmp_path / f"y_{name}"
    gzip_named_plain.write_bytes(gzip.compress(text))
    for path in (plain_named_gz, gzip_named_plain):
        rf = read_records(path)
        assert [r["id"] for r in rf.records] == [1, 2]
        assert rf.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()  # the stored bytes


@pytest.mark.parametrize("name", ["p.jsonl.gz", "p.json.gz"])
def test_damaged_gzip(tmp_path, name):
    body = (GOOD * 200) if "jsonl" in name else json.dumps([{"id": i} for i in range(2000)]).encode()
    blob = gzip.compress(body)
    path = tmp_path / name
    path.write_bytes(blob[: len(blob) // 2])
    _fails(path, f"{name}: truncated gzip file")
    corrupt = bytearray(blob)
    corrupt[20:60] = bytes(b ^ 0xFF for b in corrupt[20:60])
    path.write_bytes(bytes(corrupt))
    _fails(path, f"{name}: corrupt gzip file")
    bad_crc = bytearray(blob)
    bad_crc[-8] ^= 0xFF
    path.write_bytes(bytes(bad_crc))
    assert "CRC" in _fails(path, f"{name}: corrupt gzip file")


# ---- encodings and JSON edge cases


def test_nul_bytes_are_named(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"id": 1}\n{"id": "a\x00b"}\n')
    _fails(path, "p.jsonl:2: contains a NUL byte (column 10)")
    path.write_bytes(b'{"id": 1}\n\x00{"id": 2}\n')  # was "not valid UTF-8 (byte 0x69)": json's UTF-16 guess
    _fails(path, "p.jsonl:2: contains a NUL byte (column 1)")
    path.write_bytes('{"id": 1}\n'.encode("utf-16-le"))  # UTF-16 without a BOM
    _fails(path, "p.jsonl:1: contains a NUL byte")
    csv_path = tmp_path / "p.csv"
    csv_path.write_bytes(b"id,prediction\n1,a\x00\n")
    _fails(csv_path, "p.csv:2: contains a NUL byte")


@pytest.mark.parametrize("name", ["p.jsonl", "p.json", "p.csv"])
def test_utf16_with_bom(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(("\ufeff" + '{"id": 1}\n').encode("utf-16-le"))
    _fails(path, f"{name}:1: is UTF-16 encoded (it starts with a UTF-16 byte order mark); save it as UTF-8")


def test_bom_on_later_lines_and_a_bom_only_line(tmp_path):
    path = tmp_path / "p.jsonl"
    # two files joined with cat, each with its BOM; a first line with only a BOM
    path.write_bytes(b"\xef\xbb\xbf\r\n" + GOOD + b"\xef\xbb\xbf" + b'{"id": 3, "prediction": "c"}\n')
    rf = read_records(path)
    assert [r["id"] for r in rf.records] == [1, 2, 3] and rf.line(2) == 4


@pytest.mark.parametrize("name", ["p.jsonl", "p.json"])
def test_deep_nesting_and_huge_numbers(tmp_path, name):
    path = tmp_path / name
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text('{"id": 1}\n{"id": 2, "x": ' + deep + "}\n" if name == "p.jsonl" else deep)
    _fails(path, "nested too deeply")
    path.write_text(
        '{"id": 1}\n{"id": 2, "x": ' + "9" * 5000 + "}\n" if name == "p.jsonl" else "[" + "9" * 5000 + "]"
    )
    message = _fails(path, "a number with 5000 digits (integers may have at most 4300)")
    assert "set_int_max_str_digits" not in message  # Python's advice is for programmers


def test_json_document_deep_and_huge(tmp_path):
    path = tmp_path / "ann.json"
    path.write_text('{"a": ' + "9" * 5000 + "}")
    with pytest.raises(InputError, match="5000 digits"):
        read_json_document(path)


def test_lone_surrogates_are_refused_where_they_are(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1, "p": "\\ud83d\\ude00"}\n{"id": 2, "p": "x\\ud800y"}\n')
    _fails(path, "p.jsonl:2: a string holds a lone UTF-16 surrogate (\\ud800)")
    doc = tmp_path / "p.json"
    doc.write_text(
        '[\n{"id": 1, "p": "\\ud83d\\ude00"},\n{"id": 2, "p": "\\\\ud800"},\n{"id": 3, "p": "\\udc00"}\n]'
    )
    _fails(doc, "p.json:4: a string holds a lone UTF-16 surrogate (\\udc00)")
    doc.write_text('[{"id": 1, "p": "\\ud83d\\ude00 and \\\\ud800 as text"}]')
    assert read_records(doc).records[0]["p"] == "\U0001f600 and \\ud800 as text"


def test_json_top_level_that_holds_no_records(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('"hello"')
    _fails(path, 'expected a list of records (or {"data": [...]}), got a string')


def test_parquet_that_pyarrow_cannot_decode(tmp_path):
    path = tmp_path / "p.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")
    _fails(path, "p.parquet: not a readable Parquet file")


# ---- field types: one rule, no silent coercion


def _rf(tmp_path, records, name="p.jsonl"):
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text(records)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return read_records(path)


@pytest.mark.parametrize(
    "value, message",
    [
        (2.0, "'prediction' must be a string, got the number 2.0: numbers are not turned into text"),
        (7, "'prediction' must be a string, got the number 7"),
        (True, "'prediction' must be a string, got true"),
        (["a"], "'prediction' must be a string, got a list [\"a\"]"),
        (None, "'prediction' is null"),
    ],
)
def test_text_field_refuses_other_types(tmp_path, value, message):
    rf = _rf(tmp_path, [{"id": 1, "prediction": "ok"}, {"id": 2, "prediction": value}])
    assert fields.text_field(rf, 0, rf.records[0], "prediction") == "ok"
    with pytest.raises(InputError) as err:
        fields.text_field(rf, 1, rf.records[1], "prediction")
    assert str(err.value).startswith(f"{rf.path}:2: {message}"), str(err.value)


def test_text_list_field_refuses_numbers_in_every_format(tmp_path):
    rf = _rf(tmp_path, [{"id": 1, "references": [1, 2]}])
    with pytest.raises(
        InputError,
        match=r"p\.jsonl:1: 'references' must be a list of strings \(item 1 is not\), got the number 1",
    ):
        fields.text_list_field(rf, 0, rf.records[0], "references")
    rf = _rf(tmp_path, 'id,references\n1,"[""a"", 2]"\n', "p.csv")
    with pytest.raises(InputError, match=r"item 2 is not"):
        fields.text_list_field(rf, 0, rf.records[0], "references")


def test_number_field_reads_text_only_from_csv(tmp_path):
    rf = _rf(tmp_path, [{"width": "640"}])
    with pytest.raises(InputError, match="'width' must be a number, got the string \"640\""):
        fields.number_field(rf, 0, rf.records[0], "width")
    rf = _rf(tmp_path, "width\n640\n", "p.csv")
    assert fields.number_field(rf, 0, rf.records[0], "width") == 640.0


def test_optional_str_refuses_numbers(tmp_path):
    rf = _rf(tmp_path, [{"image": 139}])
    with pytest.raises(InputError, match="'image' must be a string, got the number 139"):
        fields.optional_str(rf, 0, rf.records[0], "image")


def test_describe_never_fails():
    assert fields.describe(b"\xff\x00") == "binary data (2 bytes)"
    assert fields.describe(float("nan")) == "the number nan"
    assert fields.describe({"a": [1, {2, 3}]}).startswith("an object")
    assert fields.describe(10**5000) == "the number with more than 4300 digits"
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    assert fields.describe(nested) == "a list"


def test_parquet_binary_and_nested_values(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"id": [1], "prediction": [b"\xff"], "references": [[1, 2]]}), path)
    rf = read_records(path)
    with pytest.raises(
        InputError, match=r"p\.parquet:1: 'prediction' must be a string, got binary data \(1 bytes\)"
    ):
        fields.text_field(rf, 0, rf.records[0], "prediction")
    with pytest.raises(InputError, match=r"p\.parquet:1: 'references' must be a list of strings"):
        fields.text_list_field(rf, 0, rf.records[0], "references")


# ---- retrieval inputs


def test_ids_file_holding_json_objects(tmp_path):
    path = tmp_path / "q.json"
    path.write_text('\n{"q0": 0, "q1": 1}')
    with pytest.raises(
        InputError,
        match=r"q\.json:2: query ids must be a JSON list or one id per line; this file holds JSON objects",
    ):
        read_ids(path, "query")


def test_ids_json_list_errors_have_lines(tmp_path):
    path = tmp_path / "i.json"
    path.write_text('[\n"a",\n["b"],\n"c"\n]')
    with pytest.raises(
        InputError, match=r"i\.json:3: item id #2 must be a non-empty string or an integer, got a list"
    ):
        read_ids(path, "item")
    path.write_text('[\n"a",\n"b",\n"a"\n]')
    with pytest.raises(InputError, match=r"i\.json:4: duplicate item id 'a' \(first at line 2\)"):
        read_ids(path, "item")
    path.write_text("[" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        read_ids(path, "item")


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content, message",
    [
        (
            bytes(range(256)),
            "s.npy: not a .npy file (it does not start with numpy's header): save the matrix with numpy.save",
        ),
        (b"PK\x03\x04" + bytes(30), "s.npy: a .npz archive (numpy.savez), not a .npy file"),
        (
            _npy(np.array([[1, "a"]], dtype=object)),
            "the matrix holds Python objects (dtype object), not numbers",
        ),
        (
            _npy(np.ones((4, 6), np.float32))[:-10],
            "s.npy: truncated .npy file: its header declares float32 (4, 6)",
        ),
        (
            b"\x93NUMPY\x01\x00\x10\x00{'descr': zz}    \n",
            "s.npy: not a readable .npy file: its header is damaged",
        ),
        (_npy(np.ones(3)), "the matrix must be 2-D, got shape (3,)"),
    ],
)
def test_npy_files_that_are_not_numeric_matrices(tmp_path, content, message):
    path = tmp_path / "s.npy"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_matrix(path, "the matrix")
    assert message in str(err.value) and "pickle" not in str(err.value), str(err.value)


def test_ranked_lists_take_ids_only(tmp_path):
    path = tmp_path / "r.jsonl"
    for ranking, relevant, message in [
        ([{"a": 1}], ["x"], "'ranking' item ids must be strings or integers, found an object"),
        ([None], ["x"], "found null"),
        (["x"], [True], "'relevant' item ids must be strings or integers, found true"),
    ]:
        path.write_text(json.dumps({"query": "q", "ranking": ranking, "relevant": relevant}) + "\n")
        with pytest.raises(InputError, match=rf"r\.jsonl:1: .*{message}"):
            load_ranked(path)
    path.write_text(json.dumps({"query": "q", "relevant": ["x"]}) + "\n")
    with pytest.raises(InputError, match=r"r\.jsonl:1: missing field 'ranking'"):
        load_ranked(path)


# ---- images and grounding


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_image_size_of_a_bomb_a_fifo_and_a_folder(tmp_path, recwarn):
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    bomb = tmp_path / "big.png"
    bomb.write_bytes(_png_header(100_000, 100_000))
    assert image_size(bomb) == (100_000, 100_000)  # the header's size; nothing is decoded
    assert Image.MAX_IMAGE_PIXELS == limit
    warm = tmp_path / "warm.png"
    warm.write_bytes(_png_header(12_000, 10_000))  # over the limit, under twice it: Pillow warns
    assert image_size(warm) == (12_000, 10_000) and not recwarn.list
    os.mkfifo(tmp_path / "f.jpg")
    assert image_size(tmp_path / "f.jpg") is None  # and no hang
    (tmp_path / "d.jpg").mkdir()
    assert image_size(tmp_path / "d.jpg") is None


def test_grounding_scores_one_rule_with_coco(tmp_path):
    path = tmp_path / "p.jsonl"
    record = {"id": 1, "prediction": [[1, 1, 5, 5], [2, 2, 6, 6]], "gt_boxes": [[1, 1, 5, 5]]}
    path.write_text(
        json.dumps(record) + "\n" + json.dumps({**record, "id": 2, "scores": [0.5, float("nan")]}) + "\n"
    )
    with pytest.raises(
        InputError, match=r"p\.jsonl:2: 'scores' must be finite numbers, found nan \(item 2\)"
    ):
        load_grounding(path)
    path.write_text(json.dumps({**record, "scores": [0.5, 10**400]}) + "\n")
    with pytest.raises(
        InputError, match=r"p\.jsonl:1: 'scores' must be finite numbers, found an integer too large"
    ):
        load_grounding(path)
    csv_path = tmp_path / "p.csv"
    csv_path.write_text('id,prediction,gt_boxes,scores\n1,"[[1, 1, 5, 5]]","[[1, 1, 5, 5]]","[0.9]"\n')
    assert load_grounding(csv_path).scores == [[0.9]]  # a JSON array in the cell, as for gt_boxes


@pytest.mark.parametrize("shift", [-5, -3, -2, -1, 0, 1])
def test_lone_surrogate_across_a_read_boundary(tmp_path, shift):
    """Surrogate escapes are looked for a chunk at a time (1 MiB reads): one that straddles two reads is found."""
    line = b'{"id": 0, "p": "' + b"a" * 200 + b'"}\n'
    head = line * ((1 << 20) // len(line))
    pad = (1 << 20) - len(head) + shift - len(b'{"id": 1, "p": "')
    if pad < 0:
        head, pad = head[: -len(line)], pad + len(line)
    blob = head + b'{"id": 1, "p": "' + b"b" * pad + b'\\ud800"}\n'
    path = tmp_path / "p.jsonl"
    path.write_bytes(blob)
    assert blob.index(b"\\ud800") in range((1 << 20) - 6, (1 << 20) + 2)
    with pytest.raises(InputError, match=r"p\.jsonl:\d+: a string holds a lone UTF-16 surrogate"):
        read_records(path)
