"""Hostile cases for ``--shard I/N`` (on every command that scores a record file) and ``vlmeval merge``: a bad
part number, more parts than records, parts that are not the N slices of one run, edited or foreign files.
The parts are written by vlmeval itself (once, in-process) from fixture records; hostile variants are edits."""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from pathlib import Path

from tests.hostile import inputs
from tests.hostile.cases_reports import BASE, edited
from tests.hostile.harness import Case, Fifo, Folder, Lazy, Symlink
from tests.hostile.tasks import SPECS


def _shard_cases() -> list[Case]:
    out = []
    for spec in SPECS:
        n, files = spec.name, {"p.jsonl": inputs.jsonl(spec.records()), **(spec.extra() if spec.extra else {})}
        bad = (("zero", "0/3"), ("past", "4/3"), ("word", "two/3"), ("no-count", "2"), ("zero-count", "1/0"),
               ("negative", "-1/3"), ("three", "1/3/4"), ("empty", ""))  # fmt: skip
        for label, value in bad:
            out.append(Case(f"{n}-shard-{label}", spec.argv("p.jsonl", "--shard", value), files, err=r"--shard"))
        out.append(Case(f"{n}-shard-more-than-records", spec.argv("p.jsonl", "--shard", "9999/9999"), files,
                        err=r"make at most \d+ parts"))  # fmt: skip
        out.append(Case(f"{n}-shard-wandb", spec.argv("p.jsonl", "--shard", "1/2", "--wandb"), files,
                        err=r"--wandb logs a whole run"))  # fmt: skip
        out.append(Case(f"{n}-shard-part", spec.argv("p.jsonl", "--shard", "2/3"), files, code=0,
                        check=_is_part(2, 3)))  # fmt: skip
    return out


def _is_part(index: int, count: int):
    def check(cwd: Path, outcome) -> None:
        shard = json.loads((cwd / "r.json").read_text(encoding="utf-8"))["shard"]
        assert (shard["index"], shard["count"]) == (index, count), shard

    return check


@cache
def _parts(count: int = 2, *args: str) -> tuple[bytes, ...]:
    """The ``count`` partial reports of one yesno run on the fixture records (in-process)."""
    from typer.testing import CliRunner

    from vlmeval.cli import app

    old = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "p.jsonl").write_text(inputs.jsonl(inputs.head("yesno/pope_coco.jsonl", 30)), encoding="utf-8")
        os.chdir(tmp)
        try:
            for k in range(1, count + 1):
                argv = ["yesno", "p.jsonl", "--quiet", "--format", "json", "--out", f"{k}.json",
                        "--shard", f"{k}/{count}", *args]  # fmt: skip
                result = CliRunner().invoke(app, argv, catch_exceptions=False)
                assert result.exit_code == 0, f"could not write the parts the cases start from: {result.stderr}"
        finally:
            os.chdir(old)
        return tuple(Path(tmp, f"{k}.json").read_bytes() for k in range(1, count + 1))


def _part(k: int, count: int = 2, *args: str) -> Lazy:
    return Lazy(lambda: _parts(count, *args)[k - 1])


def _edit_part(k: int, edit) -> Lazy:
    return edited(lambda: _parts()[k - 1], edit)


def _set_shard(key, value):
    def edit(doc):
        doc["shard"][key] = value

    return edit


def _shorter_rows(doc):
    doc["shard"]["evidence"]["rows"]["label"] = doc["shard"]["evidence"]["rows"]["label"][:3]


def _drop_evidence(doc):
    del doc["shard"]["evidence"]["rows"]


def _other_metrics(doc):
    doc["options"]["metrics"] = ["accuracy"]


TWO = {"1.json": _part(1), "2.json": _part(2)}
M = ("merge", "1.json", "2.json", "--out", "r.json")

MERGE_CASES = [
    Case("merge-ok", M, TWO, code=0, stdout=r"accuracy"),
    Case("merge-json", (*M, "--format", "json"), TWO, code=0, stdout=r'"task": "yesno"'),
    Case("merge-no-parts", ("merge", "--out", "r.json"), {}, err=r"(?i)missing argument|PART"),
    Case("merge-missing-part", ("merge", "1.json", "--out", "r.json"), {"1.json": _part(1)}, err=r"part 2/2 missing"),
    Case("merge-twice", ("merge", "1.json", "1.json", "--out", "r.json"), {"1.json": _part(1)}, err=r"given twice"),
    Case("merge-no-such-file", ("merge", "1.json", "3.json", "--out", "r.json"), {"1.json": _part(1)},
         err=r"3\.json"),  # fmt: skip
    Case("merge-fifo", ("merge", "1.json", "f.json", "--out", "r.json"), {"1.json": _part(1), "f.json": Fifo()},
         err=r"(?i)named pipe"),  # fmt: skip
    Case("merge-folder", ("merge", "1.json", "d", "--out", "r.json"), {"1.json": _part(1), "d": Folder()},
         err=r"(?i)directory"),  # fmt: skip
    Case("merge-broken-link", ("merge", "1.json", "l.json", "--out", "r.json"),
         {"1.json": _part(1), "l.json": Symlink("nowhere.json")}, err=r"(?i)link"),  # fmt: skip
    Case("merge-not-json", M, {"1.json": _part(1), "2.json": "not json\n"}, err=r"2\.json"),
    Case("merge-not-a-report", M, {"1.json": _part(1), "2.json": '{"a": 1}\n'}, err=r"not a vlmeval report"),
    Case("merge-whole-report", M, {"1.json": _part(1), "2.json": BASE}, err=r"not a partial report"),
    Case("merge-other-count", M, {"1.json": _part(1), "2.json": _part(2, 3)}, err=r"part 1 of 2 but .* of 3"),
    Case("merge-other-options", M, {"1.json": _part(1), "2.json": _part(2, 2, "--rule", "exact")},
         err=r"different runs: their options differ"),  # fmt: skip
    Case("merge-other-metrics", M, {"1.json": _part(1), "2.json": _edit_part(2, _other_metrics)},
         err=r"different runs: their options differ"),  # fmt: skip
    Case("merge-bad-index", M, {"1.json": _part(1), "2.json": _edit_part(2, _set_shard("index", "2"))},
         err=r"not a valid partial report: shard\.index"),  # fmt: skip
    Case("merge-bool-count", M, {"1.json": _part(1), "2.json": _edit_part(2, _set_shard("count", True))},
         err=r"not a valid partial report: shard\.count"),  # fmt: skip
    Case("merge-wrong-slice", M, {"1.json": _part(1), "2.json": _edit_part(2, _set_shard("start", 3))},
         err=r"does not hold its slice"),  # fmt: skip
    Case("merge-edited-evidence", M, {"1.json": _part(1), "2.json": _edit_part(2, _shorter_rows)},
         err=r"partial report"),  # fmt: skip
    Case("merge-no-evidence", M, {"1.json": _part(1), "2.json": _edit_part(2, _drop_evidence)},
         err=r"lacks 'rows'"),  # fmt: skip
    Case("merge-out-is-a-part", ("merge", "1.json", "2.json", "--out", "1.json"), TWO, out="1.json",
         err=r"is also an input"),  # fmt: skip
    Case("merge-out-folder", ("merge", "1.json", "2.json", "--out", "d/"), {**TWO, "d": Folder()}, out="d",
         report="unchecked", err=r"names a directory"),  # fmt: skip
    Case("merge-format", (*M, "--format", "yaml"), TWO, err=r"--format"),
]

CASES = [*_shard_cases(), *MERGE_CASES]
