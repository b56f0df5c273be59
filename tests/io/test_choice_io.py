"""Multiple-choice and yes/no readers: records, VLMEvalKit TSV/XLSX files, and every error's FILE:LINE."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, write_jsonl
from vlmeval.errors import InputError
from vlmeval.io.choice import read_choice_records, read_xlsx, read_yesno_records

MCQ = FIXTURES / "mcq"


def test_vlmevalkit_tsv_and_xlsx_read_the_same(tmp_path):
    tsv = read_choice_records(MCQ / "mmbench_circular.tsv")
    xlsx = read_choice_records(MCQ / "mmbench_circular.xlsx")
    for name in (
        "ids",
        "predictions",
        "options",
        "answers",
        "categories",
        "l2_categories",
        "groups",
        "heads",
        "questions",
    ):
        assert getattr(tsv, name) == getattr(xlsx, name), name
    assert tsv.source_format == "vlmevalkit" and tsv.has_rotations
    assert tsv.counts["records"] == 77 and tsv.counts["circular_orphan_group"] == 1
    assert "no original row" in tsv.warnings[0]
    # three-option questions: the empty D cell is no option
    assert {len(o) for o in tsv.options} == {3, 4}
    rows = [r for r in tsv.ids if int(r) >= 1_000_000]
    assert all(tsv.groups[tsv.ids.index(r)] == str(int(r) % 1_000_000) for r in rows)
    assert [h for h, i in zip(tsv.heads, tsv.ids) if int(i) < 1_000_000] == [True] * sum(
        int(i) < 1_000_000 for i in tsv.ids
    )


def test_records_with_dict_and_list_options():
    data = read_choice_records(MCQ / "mcq_styles.jsonl")
    assert data.source_format == "records" and not data.has_rotations
    assert len(data.ids) == 400 and all(list(o) == sorted(o) for o in data.options)
    assert data.counts["empty_prediction"] == 20  # one "empty" style per item
    raw = [json.loads(line) for line in (MCQ / "mcq_styles.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {type(r["options"]).__name__ for r in raw} == {"dict", "list"}
    for r, opts in zip(raw, data.options):
        assert list(opts.values()) == (
            list(r["options"].values()) if isinstance(r["options"], dict) else r["options"]
        )


def test_csv_tsv_and_parquet_records(tmp_path):
    rows = [{"id": 1, "prediction": "B", "options": '{"A": "x", "B": "y"}', "answer": "B", "group": "q1"},
            {"id": 2, "prediction": "(A)", "options": '["x", "y", "z"]', "answer": "A", "group": "q1"}]  # fmt: skip
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("id,prediction,options,answer,group\n" + "".join(
        f'{r["id"]},{r["prediction"]},"{r["options"].replace(chr(34), chr(34) * 2)}",{r["answer"]},{r["group"]}\n' for r in rows
    ))  # fmt: skip
    data = read_choice_records(csv_path)
    assert data.options == [{"A": "x", "B": "y"}, {"A": "x", "B": "y", "C": "z"}] and data.groups == [
        "q1",
        "q1",
    ]
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": ["a", "b"],
            "prediction": ["B", "A"],
            "options": [["x", "y"], ["u", "v"]],
            "answer": ["B", "A"],
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    assert read_choice_records(tmp_path / "p.parquet").options == [{"A": "x", "B": "y"}, {"A": "u", "B": "v"}]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {"id": 1, "prediction": 3, "options": ["x", "y"], "answer": "A"},
            "'prediction' must be text, got the number",
        ),
        ({"id": 1, "prediction": None, "options": ["x", "y"], "answer": "A"}, "'prediction' is empty (null)"),
        ({"id": 1, "prediction": "A", "options": ["x", 2], "answer": "A"}, "option B must be text"),
        ({"id": 1, "prediction": "A", "options": ["x"], "answer": "A"}, "2 to 26 options"),
        ({"id": 1, "prediction": "A", "options": {"a": "x", "B": "y"}, "answer": "A"}, "capital letters"),
        ({"id": 1, "prediction": "A", "options": ["x", " "], "answer": "A"}, "option B is empty"),
        (
            {"id": 1, "prediction": "A", "options": ["x", "y"], "answer": "C"},
            "not one of the option letters (A, B)",
        ),
        ({"id": 1, "prediction": "A", "options": ["x", "y"], "answer": 1}, "'answer' must be text"),
        ({"id": 1, "prediction": "A", "answer": "A"}, "missing field 'options'"),
        ({"id": 1, "prediction": "A", "options": "x", "answer": "A"}, "'options' must be an object"),
        (
            {"id": 1, "prediction": "A", "options": ["x", "y"], "answer": "A", "category": 7},
            "'category' must be text",
        ),
    ],
)
def test_errors_say_file_and_line(tmp_path, record, message):
    path = write_jsonl(
        tmp_path / "p.jsonl", [{"id": 0, "prediction": "A", "options": ["x", "y"], "answer": "A"}, record]
    )
    with pytest.raises(InputError) as info:
        read_choice_records(path)
    assert str(info.value).startswith(f"{path}:2: ")
    assert message in str(info.value)


def test_duplicate_id(tmp_path):
    rec = {"id": 5, "prediction": "A", "options": ["x", "y"], "answer": "A"}
    path = write_jsonl(tmp_path / "p.jsonl", [rec, rec])
    with pytest.raises(InputError, match=r"p.jsonl:2: duplicate record id '5' \(first at line 1\)"):
        read_choice_records(path)


def _xlsx(path, rows):
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def test_xlsx_numbers_are_read_as_text_and_counted(tmp_path):
    path = _xlsx(tmp_path / "p.xlsx", [["index", "question", "A", "B", "answer", "prediction", "category"],
                                        [1, "How many?", 2, 3, "B", 3, "count"],
                                        [2, "Which?", "x", "y", "A", None, "other"]])  # fmt: skip
    data = read_choice_records(path)
    assert data.options == [{"A": "2", "B": "3"}, {"A": "x", "B": "y"}]
    assert data.predictions == ["3", ""] and data.counts["empty_prediction"] == 1
    assert data.counts["numeric_cell"] == 3 and f"{path}:2" in data.warnings[0]


def test_xlsx_errors_name_the_row(tmp_path):
    path = _xlsx(tmp_path / "p.xlsx", [["index", "A", "B", "answer", "prediction"], [1, "x", "y", "A", "A"],
                                        [2, "x", "y", "E", "A"]])  # fmt: skip
    with pytest.raises(InputError, match=rf"^{path}:3: the answer 'E' is not one of the option letters"):
        read_choice_records(path)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable XLSX file"):
        read_xlsx(bad)
    index = _xlsx(
        tmp_path / "i.xlsx", [["index", "A", "B", "answer", "prediction"], ["x1", "x", "y", "A", "A"]]
    )
    with pytest.raises(InputError, match=rf"^{index}:2: 'index' must be an integer"):
        read_choice_records(index)


def test_vlmevalkit_index_written_as_a_float(tmp_path):
    """pandas writes an index column holding a NaN as floats ("7.0"): the same index, as yes/no reads it.
    A float past 2**53 is a rounded integer (10**30 read back is another number): refused, not regrouped."""
    header = "index\tquestion\tA\tB\tanswer\tprediction\n"
    tsv = tmp_path / "p.tsv"
    tsv.write_text(header + "0.0\tq\tx\ty\tA\tA\n1000000.0\tq\ty\tx\tB\tB\n")
    assert read_choice_records(tsv).groups == read_choice_records(_vk_tsv(tmp_path)).groups
    for cell in ("1e3", "0.5", "-1"):
        tsv.write_text(header + f"{cell}\tq\tx\ty\tA\tA\n")
        with pytest.raises(InputError, match=rf"^{tsv}:2: 'index' must be"):
            read_choice_records(tsv)
    huge = _xlsx(tmp_path / "h.xlsx", [["index", "A", "B", "answer", "prediction"], [1e30, "x", "y", "A", "A"]])
    with pytest.raises(InputError, match=rf"^{huge}:2: 'index' must be an integer, got the number 1e\+30, a float"):
        read_choice_records(huge)


def _vk_tsv(tmp_path):
    path = tmp_path / "ints.tsv"
    path.write_text("index\tquestion\tA\tB\tanswer\tprediction\n0\tq\tx\ty\tA\tA\n1000000\tq\ty\tx\tB\tB\n")
    return path


def test_openpyxl_is_imported_only_for_xlsx():
    code = ("import sys; import vlmeval.io.choice as c; c.read_choice_records(sys.argv[1]); "
            "assert 'openpyxl' not in sys.modules; import vlmeval.metrics.choice, vlmeval.metrics.yesno; "
            "assert 'pandas' not in sys.modules and 'openpyxl' not in sys.modules")  # fmt: skip
    subprocess.run([sys.executable, "-c", code, str(MCQ / "mmbench_circular.tsv")], check=True)


def test_yesno_records(tmp_path):
    data = read_yesno_records(FIXTURES / "yesno" / "pope_coco.jsonl")
    assert len(data.ids) == 324 and set(data.answers) == {"yes", "no"}
    assert set(data.categories) == {"random", "popular", "adversarial"} and data.images[0].startswith(
        "COCO_val2014_"
    )
    mme = read_yesno_records(FIXTURES / "yesno" / "mme_style.jsonl")
    assert set(mme.answers) == {"yes", "no"} and len(set(mme.categories)) == 14
    path = write_jsonl(tmp_path / "y.jsonl", [{"id": 1, "prediction": "yes", "answer": "Yes"},
                                               {"id": 2, "prediction": "no", "answer": "maybe"}])  # fmt: skip
    with pytest.raises(InputError, match=rf"^{path}:2: 'answer' must be yes or no"):
        read_yesno_records(path)
    path = write_jsonl(tmp_path / "z.jsonl", [{"id": 1, "prediction": True, "answer": "yes"}])
    with pytest.raises(InputError, match=rf"^{path}:1: 'prediction' must be text, got (true|false)"):
        read_yesno_records(path)


def test_empty_file(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text("")
    with pytest.raises(InputError, match="no records found"):
        read_choice_records(path)


def test_vlmevalkit_columns_in_another_case_are_named(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("Index\tQuestion\tA\tB\tAnswer\tPrediction\n0\tq\tx\ty\tA\tA\n")
    with pytest.raises(InputError, match=rf"^{path}:2: the columns look like a VLMEvalKit file's in another case"):
        read_choice_records(path)


def test_xlsx_with_a_stale_dimension_tag_reads_every_row(tmp_path):
    """Writers that do not update the sheet's <dimension> leave it stale; read-only openpyxl trusts it and
    stops early, pandas (VLMEvalKit) reads every row."""
    import re
    import zipfile

    rows = [["index", "question", "A", "B", "answer", "prediction"]]
    rows += [[k, "q", "x", "y", "A", "A"] for k in range(10)]
    path = _xlsx(tmp_path / "full.xlsx", rows)
    stale = tmp_path / "stale.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(stale, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, n = re.subn(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:F4"/>', data)
                assert n == 1
            dst.writestr(item, data)
    assert len(read_choice_records(stale).ids) == 10


def test_a_pandas_parquet_with_questions_of_different_option_counts(tmp_path):
    """pandas writes the options dicts as one struct of every letter: a question's missing letters are null."""
    import pandas as pd

    path = tmp_path / "p.parquet"
    pd.DataFrame({"id": [1, 2], "prediction": ["A", "C"], "answer": ["A", "C"],
                  "options": [{"A": "x", "B": "y"}, {"A": "x", "B": "y", "C": "z"}]}).to_parquet(path)  # fmt: skip
    assert read_choice_records(path).options == [{"A": "x", "B": "y"}, {"A": "x", "B": "y", "C": "z"}]


def test_vlmevalkit_files_read_na_cells_as_vlmevalkits_pandas_does(tmp_path):
    """VLMEvalKit reads its files with pandas, whose default NA strings ("None", "N/A", "nan", ...) become
    NaN: such an option is no option (and a question whose answer's option is so is scored wrong, not
    refused), such a prediction is the text 'nan' (a "None" answer no longer reads as the option "No")."""
    import math

    from tests.reference import vlmevalkit as ovk
    from vlmeval.metrics.choice import score_choices

    rows = [["index", "question", "A", "B", "C", "answer", "prediction"],
            [0, "q", "Yes", "No", None, "B", "None"],
            [1, "q", "N/A", "x", "y", "A", "A"],
            [2, "q", "x", "nan", "y", "C", "C"],
            [3, "q", "x", "y", None, "A", "N/A"]]  # fmt: skip
    path = _xlsx(tmp_path / "p.xlsx", rows)
    data = read_choice_records(path)
    assert data.counts["answer_without_option"] == 1 and data.counts["pandas_na_prediction"] == 2
    ours = score_choices(data.predictions, data.options, data.answers, rule="vlmevalkit",
                         answers_without_option=True).correct.tolist()
    na = {"None", "N/A", "nan"}
    theirs = []
    for row in rows[1:]:
        item = {k: (math.nan if v is None or v in na else v) for k, v in zip(rows[0], row)}
        theirs.append(int(ovk.can_infer(str(item["prediction"]), ovk.build_choices(item)) == item["answer"]))
    assert ours == theirs == [0, 0, 1, 0]


def test_an_xlsx_with_several_sheets_says_only_the_first_is_read(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "notes"
    data = wb.create_sheet("predictions")
    for row in [["index", "A", "B", "answer", "prediction"], [0, "x", "y", "A", "A"]]:
        data.append(row)
    path = tmp_path / "p.xlsx"
    wb.save(path)
    with pytest.raises(InputError, match=r"no records found \(p\.xlsx has 2 sheets; only the first, 'notes', is read"):
        read_choice_records(path)
    wb.move_sheet("predictions", offset=-1)
    wb.save(path)
    assert any("only the first, 'predictions', is read" in w for w in read_choice_records(path).warnings)


def test_chance_credit_is_0_where_the_answers_option_is_missing():
    """A uniform draw over the options present is never the answer whose option pandas read as NA."""
    from vlmeval.metrics.choice import score_choices

    scores = score_choices(["zzz", "zzz"], [{"B": "x", "C": "y"}, {"A": "x", "B": "y"}], ["A", "A"],
                           answers_without_option=True)  # fmt: skip
    assert scores.credit.tolist() == [0.0, 0.5]


def test_a_vlmevalkit_option_cell_holding_a_space_is_an_option(tmp_path):
    """pandas keeps " " (no NA string): VLMEvalKit's choices include it."""
    tsv = tmp_path / "p.tsv"
    tsv.write_text("index\tquestion\tA\tB\tanswer\tprediction\n0\tq\t \ty\tA\tA\n")
    data = read_choice_records(tsv)
    assert data.options == [{"A": " ", "B": "y"}] and "answer_without_option" not in data.counts
