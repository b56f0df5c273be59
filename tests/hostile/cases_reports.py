"""Hostile cases for the commands that read reports: `vlmeval report` (table, --html, --to-wandb) and
`vlmeval compare`. The reports themselves are written by vlmeval (once, on first use) from fixture records,
some with model text that must stay data; hostile variants are edits of those."""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from functools import cache
from pathlib import Path

from tests.hostile import inputs
from tests.hostile.harness import Case, Fifo, Folder, HardLink, Lazy, Symlink

FAST = ("--metrics", "Bleu,ROUGE_L,CIDEr")
N_COMPARE = 40


def _write_report(records: list[dict], *args: str) -> bytes:
    """A report written by ``vlmeval caption`` (in-process, JSON on stdout so no table is printed)."""
    from typer.testing import CliRunner

    from vlmeval.cli import app

    old = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "p.jsonl").write_text(inputs.jsonl(records), encoding="utf-8")
        os.chdir(tmp)
        try:
            argv = ["caption", "p.jsonl", *FAST, "--format", "json", "--quiet", "--out", "r.json", *args]
            result = CliRunner().invoke(app, argv, catch_exceptions=False)
        finally:
            os.chdir(old)
        assert result.exit_code == 0, f"could not write the report the cases start from: {result.stderr}"
        return Path(tmp, "r.json").read_bytes()


def _compare_records(empty: bool) -> list[dict]:
    records = inputs.head("caption/coco_val2017_500.jsonl", N_COMPARE, start=2)
    return [{**r, "prediction": "" if empty else r["prediction"]} for r in records]


HTML_TEXTS = {
    "prediction": "<script>alert(1)</script></textarea><img src=x onerror=alert(5)>",
    "id": "</textarea><script>alert(2)</script>",
    "reference": "javascript:alert(3)",
    "image": "javascript:alert(4)",
}
MARKUP_TEXTS = ["[INST] hi [/INST]", "[bold red]x[/bold red]", "a dog\x1b[2J\x1b]0;pwned\x07"]


def _hostile_html_records() -> list[dict]:
    records = copy.deepcopy(inputs.caption_records())
    records[0]["prediction"] = HTML_TEXTS["prediction"]
    records[1]["id"] = HTML_TEXTS["id"]
    records[2]["references"] = [HTML_TEXTS["reference"], *records[2]["references"]]
    records[3]["image"] = HTML_TEXTS["image"]
    return records


def _markup_records() -> list[dict]:
    records = copy.deepcopy(inputs.caption_records())
    for record, text in zip(records, MARKUP_TEXTS):
        record["prediction"] = text
    records[len(MARKUP_TEXTS)]["id"] = "[/INST]"
    return records


@cache
def base_report() -> bytes:
    return _write_report(inputs.caption_records(), "--failures", "3", "--bootstrap", "20")


@cache
def html_report() -> bytes:
    return _write_report(_hostile_html_records(), "--failures", "6")


@cache
def markup_report() -> bytes:
    return _write_report(_markup_records(), "--failures", "6")


@cache
def compare_base() -> bytes:
    return _write_report(_compare_records(False))


@cache
def compare_worse() -> bytes:
    return _write_report(_compare_records(True))


def edited(source, edit) -> Lazy:
    """A Lazy report: ``edit(dict)`` applied to the report ``source()`` (edit returns the new document, or
    None to keep the edited dict), serialised as JSON (or bytes/str as returned)."""

    def make():
        doc = json.loads(source())
        out = edit(doc)
        out = doc if out is None else out
        return out if isinstance(out, (bytes, str)) else json.dumps(out)

    return Lazy(make)


BASE = Lazy(base_report)
R = {"R.json": BASE}


def rep(*args: str) -> tuple[str, ...]:
    return ("report", "R.json", *args)


def _set(key, value):
    def edit(doc):
        doc[key] = value

    return edit


def _first_metric_string(doc):
    key = next(iter(doc["metrics"]))
    doc["metrics"][key] = "high"


def html_is_inert(name: str = "r.html"):
    def check(cwd, outcome):
        text = (cwd / name).read_text(encoding="utf-8")
        for raw in ("<script>alert", "</textarea><script", "<img src=x onerror"):
            assert raw.lower() not in text.lower(), f"raw {raw!r} in the HTML report"
        found = re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", text, re.I)
        assert not found, f"a javascript: URL in an attribute: {found.group(0)!r}"
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, (
            "the prediction is not shown (escaped) in the HTML"
        )

    return check


def wandb_table_keeps_text(cwd, outcome):
    tables = list(Path(cwd, "wandb").glob("offline-run-*/files/media/table/failures_*.table.json"))
    assert len(tables) == 1, f"no failures table in the offline run: {tables}"
    table = json.loads(tables[0].read_text(encoding="utf-8"))
    cells = {str(c) for row in table["data"] for c in row}
    for text in MARKUP_TEXTS:
        assert text in cells, f"W&B table does not keep {text!r} exactly"


WANDB_ENV = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": ".", "WANDB_API_KEY": None,
             "WANDB_ENTITY": None, "WANDB_PROJECT": None}  # fmt: skip

CB = {"B.json": Lazy(compare_base), "N.json": Lazy(compare_worse)}


def cmp(*args: str) -> tuple[str, ...]:
    return ("compare", "B.json", "N.json", "--bootstrap", "200", "--trials", "200", *args, "--out", "c.json")


def _per_sample(edit):
    def apply(doc):
        edit(doc["per_sample"])

    return edited(compare_worse, apply)


def _cider_strings(per_sample):
    per_sample["CIDEr"] = ["x"] * len(per_sample["CIDEr"])


def _cider_short(per_sample):
    per_sample["CIDEr"] = per_sample["CIDEr"][:3]


def _ids_missing(per_sample):
    per_sample.pop("ids")


def _signature(doc):
    doc["signature"]["CIDEr"] = doc["signature"]["CIDEr"].replace("sigma:6", "sigma:9")


CASES: list[Case] = [
    # vlmeval report
    Case("report-ok", rep(), R, code=0, out=None, stdout=r"CIDEr"),
    Case("report-json", rep("--format", "json"), R, code=0, out=None, stdout=r'"schema": "vlmeval\.report/1"'),
    Case("report-bom", rep(), {"R.json": Lazy(lambda: b"\xef\xbb\xbf" + base_report())}, code=0, out=None),
    Case("report-missing", rep(), {}, out=None, err=r"R\.json: no such file"),
    Case("report-not-json", rep(), {"R.json": "{oops"}, out=None, err=r"R\.json:1: not valid JSON"),
    Case("report-json-list", rep(), {"R.json": "[1, 2]"}, out=None, err=r"R\.json: not a vlmeval report"),
    Case("report-other-schema", rep(), {"R.json": '{"schema": "other/9"}'}, out=None, err=r"R\.json: not a vlmeval report"),
    Case("report-lacks-fields", rep(), {"R.json": edited(base_report, lambda d: {"schema": d["schema"], "task": "caption"})},
         out=None, err=r"R\.json: report lacks"),
    Case("report-utf16", rep(), {"R.json": Lazy(lambda: ("\ufeff" + base_report().decode()).encode("utf-16-le"))}, out=None,
         err=r"R\.json:(1:)? .*(UTF-8|UTF-16)"),
    Case("report-metrics-list", rep(), {"R.json": edited(base_report, _set("metrics", [1, 2]))}, out=None,
         err=r"R\.json: .*metrics", tag="report-shape"),
    Case("report-metrics-string", rep(), {"R.json": edited(base_report, _set("metrics", "all good"))}, out=None,
         err=r"R\.json: .*metrics", tag="report-shape"),
    Case("report-metric-value-string", rep(), {"R.json": edited(base_report, _first_metric_string)}, out=None,
         err=r"R\.json: .*metric", tag="report-shape"),
    Case("report-failures-not-list", rep(), {"R.json": edited(base_report, _set("failures", "many"))}, out=None,
         err=r"R\.json: .*failures", tag="report-shape"),
    Case("report-counts-not-object", rep(), {"R.json": edited(base_report, _set("counts", 7))}, out=None,
         err=r"R\.json: .*counts", tag="report-shape"),
    Case("report-deep", rep(), {"R.json": inputs.deep()}, out=None, err=r"R\.json: .*nested too deeply",
         tag="report-shape"),
    Case("report-huge-int", rep(), {"R.json": edited(base_report, lambda d: json.dumps(d).replace('"metrics": {', '"x": ' + inputs.HUGE_INT + ', "metrics": {'))},
         out=None, err=r"R\.json: .*digits", tag="report-shape"),
    Case("report-nan-metric", rep(), {"R.json": edited(base_report, lambda d: d["metrics"].update(CIDEr=float("nan")))},
         out=None, code=0),
    # a field edited to another type: one sentence before any writer reads it
    *[Case(f"report-{name}", rep(), {"R.json": edited(base_report, edit)}, out=None, err=rf"R\.json: not a valid report: {err}",
           tag="report-shape")
      for name, edit, err in (
          ("metric-past-float", lambda d: d["metrics"].update(CIDEr=10**400), r"metrics\.CIDEr"),
          ("scale-int", lambda d: d["scale"].update(CIDEr=7), r"scale\.CIDEr"),
          ("signature-null", lambda d: d["signature"].update(CIDEr=None), r"signature\.CIDEr"),
          ("records-string", lambda d: d["counts"].update(records="many"), r"counts\.records"),
          ("failure-int", _set("failures", [7]), r"failures\[0\]"),
          ("gate-without-passed", _set("gates", [{"metric": "CIDEr", "op": ">=", "threshold": 1, "value": 0.5}]),
           r"gates\[0\]"),
          ("breakdown-value-string", _set("breakdown", {"error_type": {"omission": {"count": "many"}}}),
           r"breakdown\.error_type must map groups to metric numbers"),
          ("breakdown-list", _set("breakdown", {"iou_threshold": [0.5]}), r"breakdown\.iou_threshold must map"),
          ("iou-sweep-key", _set("breakdown", {"iou_threshold": {"x": {"acc@x": 0.5}}}),
           r"breakdown\.iou_threshold's groups must be IoU thresholds"),
          ("failure-image-number", _set("failures", [{"id": "1", "image": 5}]), r"failures\[0\]\.image"),
          ("failure-score-string", _set("failures", [{"id": "1", "score": "high"}]), r"failures\[0\]\.score"),
          ("per-sample-ids-twice", lambda d: d["per_sample"].update(ids=[d["per_sample"]["ids"][0]] * len(d["per_sample"]["ids"])),
           r"per_sample\.ids holds the id .* twice"),
      )],  # fmt: skip
    # finite but past half the float range: the HTML and W&B histograms bin it (their range overflowed)
    Case("report-html-values-near-float-max", rep("--html", "h.html"),
         {"R.json": edited(base_report, lambda d: d["per_sample"].update(CIDEr=[(-1) ** k * 1e308 for k in range(len(d["per_sample"]["CIDEr"]))]))},
         out="h.html", code=0),
    Case("report-unknown-task", rep(), {"R.json": edited(base_report, _set("task", "astrology"))}, out=None,
         code=(0, 2)),
    Case("report-fifo", rep(), {"R.json": Fifo()}, out=None, err=r"(?i)R\.json: .*named pipe", tag="report-file"),
    Case("report-directory", rep(), {"R.json": Folder()}, out=None, err=r"R\.json: is a directory", tag="report-file"),
    Case("report-symlink-loop", rep(), {"R.json": Symlink("R.json")}, out=None, err=r"(?i)R\.json: .*loop",
         tag="report-file"),
    Case("report-markup", ("report", "M.json"), {"M.json": Lazy(markup_report)}, out=None, code=0,
         stdout=re.escape("[bold red]x[/bold red]"), tag="markup"),
    Case("report-markup-json", ("report", "M.json", "--format", "json"), {"M.json": Lazy(markup_report)}, out=None,
         code=0, stdout=r'"schema": "vlmeval\.report/1"'),
    # --html
    Case("report-html", rep("--html", "r.html"), R, out="r.html", code=0, check=lambda cwd, o: None),
    Case("report-html-hostile", ("report", "H.json", "--format", "json", "--html", "r.html"), {"H.json": Lazy(html_report)},
         out="r.html", code=0, check=html_is_inert()),
    Case("report-html-is-input", rep("--html", "R.json"), R, out="R.json", err=r"(?i)(input|same file)",
         tag="out-is-input"),
    Case("report-html-symlink-to-input", rep("--html", "h.html"), {**R, "h.html": Symlink("R.json")}, out="h.html",
         err=r"(?i)(input|same file)", tag="out-is-input"),
    Case("report-html-hardlink-to-input", rep("--html", "h.html"), {**R, "h.html": HardLink("R.json")}, out="h.html",
         err=r"(?i)(input|same file)", tag="out-is-input"),
    Case("report-html-trailing-slash", rep("--html", "newdir/"), R, out="newdir", err=r"(?i)newdir.*director",
         tag="out-path"),
    Case("report-html-missing-dir", rep("--format", "json", "--html", "missing/r.html"), R, out="missing/r.html",
         err=r"missing.* does not exist"),
    Case("report-html-gz-name", rep("--html", "r.html.gz"), R, out="r.html.gz", code=(0, 2), tag="out-gz",
         check=lambda cwd, o: _gzipped_or_absent(cwd / "r.html.gz")),
    # --to-wandb, offline: the failures table keeps model text exactly
    Case("report-wandb-markup", ("report", "M.json", "--format", "json", "--to-wandb", "--project", "p", "--quiet"),
         {"M.json": Lazy(markup_report)}, out=None, code=0, env=WANDB_ENV, outputs=("wandb/",),
         check=wandb_table_keeps_text, slow_ok=True),
    # vlmeval compare
    Case("compare-ok", cmp(), CB, out="c.json", code=0, stdout=r"CIDEr"),
    Case("compare-json", cmp("--format", "json"), CB, out="c.json", code=0, stdout=r'"schema": "vlmeval\.compare/1"'),
    Case("compare-same-file", ("compare", "B.json", "B.json", "--bootstrap", "50", "--trials", "50", "--out", "c.json"),
         CB, out="c.json", code=0),
    Case("compare-gate-fails", cmp("--max-drop", "CIDEr=0.01"), CB, out="c.json", code=1, err=r"gate failed: CIDEr dropped"),
    Case("compare-gate-passes", cmp("--max-drop", "CIDEr=100"), CB, out="c.json", code=0),
    Case("compare-gate-nan", cmp("--max-drop", "CIDEr=nan"), CB, out="c.json", err=r"--max-drop", tag="gate-nonfinite"),
    Case("compare-gate-inf", cmp("--max-drop", "CIDEr=inf"), CB, out="c.json", err=r"--max-drop", tag="gate-nonfinite"),
    Case("compare-gate-negative", cmp("--max-drop", "CIDEr=-1"), CB, out="c.json", err=r"--max-drop takes METRIC=DELTA"),
    Case("compare-gate-no-value", cmp("--max-drop", "CIDEr"), CB, out="c.json", err=r"--max-drop takes METRIC=DELTA"),
    Case("compare-gate-unknown", cmp("--max-drop", "nosuch=1"), CB, out="c.json", err=r"cannot gate on 'nosuch'"),
    Case("compare-out-is-base", cmp()[:-2] + ("--out", "B.json"), CB, out="B.json", err=r"(?i)(input|same file)",
         tag="out-is-input"),
    Case("compare-out-is-new", cmp()[:-2] + ("--out", "N.json"), CB, out="N.json", err=r"(?i)(input|same file)",
         tag="out-is-input"),
    Case("compare-out-symlink-to-base", cmp()[:-2] + ("--out", "l.json"), {**CB, "l.json": Symlink("B.json")},
         out="l.json", err=r"(?i)(input|same file)", tag="out-is-input"),
    Case("compare-out-trailing-slash", cmp()[:-2] + ("--out", "newdir/"), CB, out="newdir",
         err=r"(?i)newdir.*director", tag="out-path"),
    Case("compare-tasks-differ", cmp(), {**CB, "N.json": edited(compare_worse, _set("task", "vqa"))}, out="c.json",
         err=r"cannot compare a caption report with a vqa report"),
    Case("compare-signatures-differ", cmp(), {**CB, "N.json": edited(compare_worse, _signature)}, out="c.json",
         err=r"signatures differ.*--force"),
    Case("compare-signatures-differ-forced", cmp("--force"), {**CB, "N.json": edited(compare_worse, _signature)},
         out="c.json", code=(0, 1), err=r"signatures differ"),
    Case("compare-per-sample-strings", cmp(), {**CB, "N.json": _per_sample(_cider_strings)}, out="c.json",
         err=r"N\.json: .*per_sample", tag="compare-per-sample"),
    Case("compare-per-sample-short", cmp(), {**CB, "N.json": _per_sample(_cider_short)}, out="c.json",
         err=r"N\.json: .*per_sample", tag="compare-per-sample"),
    Case("compare-per-sample-no-ids", cmp(), {**CB, "N.json": _per_sample(_ids_missing)}, out="c.json",
         err=r"N\.json: .*(ids|per_sample)", tag="compare-per-sample"),
    Case("compare-per-sample-not-object", cmp(), {**CB, "N.json": edited(compare_worse, _set("per_sample", [1]))},
         out="c.json", err=r"N\.json: .*per_sample", tag="compare-per-sample"),
    Case("compare-not-a-report", cmp(), {**CB, "N.json": "[]"}, out="c.json", err=r"N\.json: not a vlmeval report"),
    Case("compare-missing", cmp(), {"B.json": CB["B.json"]}, out="c.json", err=r"N\.json: no such file"),
    Case("compare-fifo", cmp(), {**CB, "N.json": Fifo()}, out="c.json", err=r"(?i)N\.json: .*named pipe",
         tag="report-file"),
    Case("compare-bootstrap-zero", ("compare", "B.json", "N.json", "--bootstrap", "0", "--out", "c.json"), CB,
         out="c.json", err=r"--bootstrap", tag="usage-box"),
    Case("compare-seed-negative", cmp("--seed", "-5"), CB, out="c.json", code=(0, 2), tag="int-overflow"),
]  # fmt: skip


# runs and checkpoints (vlmeval.runs/1): B, M and N at steps 1-3; N (empty predictions) is the newest and worst;
# M's label and meta carry model text, which the series page must show as text
def _meta(source, **meta):
    return edited(source, lambda doc: doc.setdefault("meta", {}).update(meta))


RUNS = {"B.json": _meta(compare_base, step=1), "M.json": _meta(compare_base, step=2, run=HTML_TEXTS["id"],
        note=HTML_TEXTS["prediction"]), "N.json": _meta(compare_worse, step=3)}  # fmt: skip


def runs(*args: str) -> tuple[str, ...]:
    return ("compare", "B.json", "M.json", "N.json", "--bootstrap", "200", "--trials", "200", *args, "--out", "c.json")


def blind(*args: str) -> tuple[str, ...]:
    return ("compare", "B.json", "--blind", "N.json", "--bootstrap", "200", "--trials", "200", *args, "--out", "c.json")


def series_page_is_inert(cwd, outcome):
    text = (cwd / "r.html").read_text(encoding="utf-8")
    for raw in ("<script>alert", "</textarea><script", "<img src=x onerror"):
        assert raw not in text, f"raw {raw!r} in the series page"
    assert "&lt;/textarea&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in text, "the run label is not shown (escaped)"
    assert 'class="plot series"' in text, "no series plot"


def wandb_history_at_step(cwd, outcome):
    files = list(Path(cwd, "wandb").glob("offline-run-*-r1/run-r1.wandb"))
    assert len(files) == 1, f"no offline run r1: {files}"
    assert b"_step" in files[0].read_bytes(), "no history row in the run"


CASES += [
    Case("compare-runs-ok", runs(), RUNS, out="c.json", code=0, stdout=r"3 runs by step"),
    Case("compare-runs-json", runs("--format", "json"), RUNS, out="c.json", code=0, stdout=r'"schema": "vlmeval\.runs/1"'),
    Case("compare-runs-two", cmp("--runs"), CB, out="c.json", code=0, stdout=r"2 runs"),
    Case("compare-runs-gate-fails", runs("--max-drop", "CIDEr=0.01"), RUNS, out="c.json", code=1,
         err=r"gate failed: CIDEr dropped [\d.]+ from B to N"),
    Case("compare-runs-gate-passes", runs("--max-drop", "CIDEr=100"), RUNS, out="c.json", code=0),
    Case("compare-runs-gate-unknown", runs("--max-drop", "nosuch=1"), RUNS, out="c.json", err=r"cannot gate on 'nosuch'"),
    Case("compare-runs-signatures-differ", runs(), {**RUNS, "N.json": edited(compare_worse, _signature)}, out="c.json",
         err=r"signatures differ.*--force"),
    Case("compare-runs-tasks-differ", runs(), {**RUNS, "N.json": edited(compare_worse, _set("task", "vqa"))},
         out="c.json", err=r"cannot compare a caption report with a vqa report"),
    Case("compare-runs-html-hostile", runs("--html", "r.html"), RUNS, out="c.json", code=0, outputs=("r.html",),
         check=series_page_is_inert),
    Case("compare-runs-html-is-input", runs("--html", "M.json"), RUNS, out="c.json", err=r"(?i)(input|same file)",
         tag="out-is-input"),
    Case("compare-one-report", ("compare", "B.json", "--out", "c.json"), CB, out="c.json",
         err=r"compare takes two reports or more"),
    Case("compare-pair-html", cmp("--html", "h.html"), CB, out="c.json", err=r"--html draws a series"),
    # FULL --blind BLIND (vlmeval.blind/1): exit 0 whether or not the image helps
    Case("compare-blind-ok", blind(), CB, out="c.json", code=0, stdout=r"image withheld"),
    Case("compare-blind-json", blind("--format", "json"), CB, out="c.json", code=0,
         stdout=r'"schema": "vlmeval\.blind/1"'),
    Case("compare-blind-same-run-warns", ("compare", "B.json", "--blind", "B2.json", "--out", "c.json"),
         {**CB, "B2.json": Lazy(compare_base)}, out="c.json", code=0, err=r"the model may be ignoring the image"),
    Case("compare-blind-two-full", ("compare", "B.json", "N.json", "--blind", "N.json", "--out", "c.json"), CB,
         out="c.json", err=r"--blind takes one FULL report"),
    Case("compare-blind-max-drop", blind("--max-drop", "CIDEr=1"), CB, out="c.json", err=r"--blind compares one run"),
    Case("compare-blind-missing", ("compare", "B.json", "--blind", "X.json", "--out", "c.json"), CB, out="c.json",
         err=r"X\.json: no such file"),
    Case("compare-blind-out-is-blind", blind()[:-2] + ("--out", "N.json"), CB, out="N.json",
         err=r"(?i)(input|same file)", tag="out-is-input"),
    # `vlmeval report` over several reports; --run-id/--step
    Case("report-several", ("report", "B.json", "M.json", "N.json"), RUNS, out=None, code=0, stdout=r"Best and peak"),
    Case("report-several-html", ("report", "B.json", "M.json", "N.json", "--html", "r.html"), RUNS, out="r.html",
         code=0, check=series_page_is_inert),
    Case("report-several-wandb", ("report", "B.json", "N.json", "--to-wandb"), CB, out=None,
         err=r"--to-wandb logs one report"),
    Case("report-run-id-without-wandb", rep("--run-id", "x"), R, out=None, err=r"--run-id and --step go with --to-wandb"),
    Case("report-step-negative", rep("--to-wandb", "--step", "-1"), R, out=None, err=r"--step"),
    Case("report-step-not-a-number", rep("--to-wandb", "--step", "x"), R, out=None, err=r"--step"),
    Case("report-wandb-bad-run-id", rep("--to-wandb", "--run-id", "a/b", "--format", "json"), R, out=None,
         env=WANDB_ENV, err=r"--run-id 'a/b': use letters, digits, '\.', '_' and '-'"),
    Case("report-wandb-run-id-escape", rep("--to-wandb", "--run-id", "a\x1bb"), R, out=None, env=WANDB_ENV,
         err=r"--run-id 'a\\x1bb': use letters"),
    Case("report-wandb-step", rep("--to-wandb", "--run-id", "r1", "--step", "7", "--format", "json", "--quiet"), R,
         out=None, code=0, env=WANDB_ENV, outputs=("wandb/",), check=wandb_history_at_step, slow_ok=True),
]  # fmt: skip


def _gzipped_or_absent(path: Path) -> None:
    if path.exists():
        assert path.read_bytes()[:2] == b"\x1f\x8b", f"{path.name} is named .gz but is not gzip"
