"""Hostile cases for `vlmeval metrics`, help texts, and what only a real process shows: a closed stdout
(``| head``), a stdout that cannot encode the output (``PYTHONIOENCODING=ascii``), a terminal (control
characters in model text), and usage errors as a user's shell sees them."""

from __future__ import annotations

import copy
import gzip
import re

from tests.hostile import inputs
from tests.hostile.harness import Case

FAST = ("--metrics", "Bleu,ROUGE_L,CIDEr")
RECORDS = inputs.caption_records()
P = {"p.jsonl": inputs.jsonl(RECORDS)}
BIG = {"p.jsonl": inputs.jsonl(inputs.head("caption/coco_val2017_500.jsonl", 300))}


def cap(*args: str) -> tuple[str, ...]:
    return ("caption", "p.jsonl", *FAST, "--out", "r.json", *args)


def _with_prediction(index: int, text: str, key: str = "prediction") -> dict:
    records = copy.deepcopy(RECORDS)
    records[index][key] = text
    return {"p.jsonl": inputs.jsonl(records)}


def _non_ascii() -> dict:
    records = copy.deepcopy(RECORDS)
    records[1]["prediction"] = "un chien · très «joli» 🐕"
    return {"p.jsonl": inputs.jsonl(records)}


def _ascii_only(cwd, outcome):
    assert outcome.stdout.isascii(), "stdout is not ASCII under PYTHONIOENCODING=ascii"
    assert "CIDEr" in outcome.stdout, "nothing useful reached stdout"


def _gzip_or_nothing(cwd, outcome):
    path = cwd / "r.json.gz"
    if outcome.code == 0:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            assert handle.read(40).startswith("{"), "r.json.gz is not gzipped JSON"


RAW_CONTROL = r"\x1b\[2J|\x1b\]0;|\x07"  # clear screen, set title, bell: never raw from model text
VISIBLE_ESC = r"\\x1b|\\u001b|\\e|␛|\^\["

CASES: list[Case] = [
    # vlmeval metrics and help
    Case("metrics-ok", ("metrics",), {}, code=0, out=None, stdout=r"CIDEr"),
    Case("metrics-needs-extra-shown", ("metrics",), {}, code=0, out=None, stdout=re.escape("vlmeval[neural]"),
         tag="help-markup"),
    Case("metrics-extra-argument", ("metrics", "extra"), {}, out=None, err=r"extra", tag="usage-box"),
    Case("root-help", ("--help",), {}, code=0, out=None, stdout=r"caption"),
    Case("root-version", ("--version",), {}, code=0, out=None, stdout=r"^vlmeval \d"),
    Case("root-unknown-command", ("frobnicate",), {}, out=None, err=r"frobnicate", tag="usage-box"),
    *[Case(f"{c}-help-exit0", (c, "--help"), {}, code=0, out=None, stdout=r"Usage") for c in ("report", "compare", "metrics")],
    Case("retrieval-help-keeps-brackets", ("retrieval", "--help"), {}, code=0, out=None, stdout=re.escape("[ids]"),
         tag="help-markup"),
    Case("caption-help-keeps-default", ("caption", "--help"), {}, code=0, out=None,
         stdout=re.escape("[default: Bleu,METEOR,ROUGE_L,CIDEr]")),
    Case("caption-missing-argument", ("caption",), {}, out=None, err=r"(?i)preds", tag="usage-box"),
    # --out r.json.gz: gzipped as named, or refused in one sentence
    Case("caption-out-gz", cap()[:-2] + ("--out", "r.json.gz"), P, out="r.json.gz", report="unchecked",
         outputs=("r.json.gz",), code=(0, 2), check=_gzip_or_nothing, tag="out-gz"),
    # a closed stdout: `| head` that has exited
    Case("process-closed-stdout-table", cap(), P, via="closed", code=(0, 141), report="unchecked", outputs=("r.json",),
         tag="closed-stdout"),
    Case("process-closed-stdout-json", cap("--format", "json"), P, via="closed", code=(0, 141), report="unchecked",
         outputs=("r.json",)),
    Case("process-closed-stdout-metrics", ("metrics",), {}, via="closed", code=(0, 141), out=None,
         tag="closed-stdout"),
    Case("process-head-large-json", cap("--format", "json"), BIG, via="head", code=(0, 141), report="unchecked",
         outputs=("r.json",)),
    Case("process-head-large-table", cap("--failures", "300"), BIG, via="head", code=(0, 141), report="unchecked",
         outputs=("r.json",), tag="closed-stdout"),
    # a stdout that cannot encode what is printed
    Case("process-ascii-stdout", cap(), _with_prediction(1, ""), via="process", env={"PYTHONIOENCODING": "ascii"},
         code=0, check=_ascii_only, tag="ascii-stdout"),  # "1 empty prediction" joins the summary with "·"
    Case("process-ascii-stdout-model-text", cap("--failures", "6"), _non_ascii(), via="process",
         env={"PYTHONIOENCODING": "ascii"}, code=0, check=_ascii_only, tag="ascii-stdout"),
    Case("process-ascii-stdout-json", cap("--format", "json"), _non_ascii(), via="process",
         env={"PYTHONIOENCODING": "ascii"}, code=0, stdout=r'"schema"'),
    # a terminal: control characters from model text are shown, not obeyed
    Case("pty-ok", cap(), P, via="pty", code=0, stdout=r"CIDEr"),
    Case("pty-prediction-escapes", cap("--failures", "6"), _with_prediction(1, "a dog\x1b[2J\x1b]0;pwned\x07"),
         via="pty", code=0, stdout_not=RAW_CONTROL, stdout=VISIBLE_ESC, tag="terminal"),
    Case("pty-id-escapes", cap("--failures", "6"), _with_prediction(1, "x\x1b[2Jy", key="id"),
         via="pty", code=0, stdout_not=RAW_CONTROL, tag="terminal"),
    Case("pty-duplicate-id-escapes", cap(),
         {"p.jsonl": inputs.jsonl([*RECORDS[:2], {**RECORDS[2], "id": "\x1b]0;pwned\x07"}, {**RECORDS[3], "id": "\x1b]0;pwned\x07"}])},
         via="pty", code=2, stdout_not=RAW_CONTROL, err=r"duplicate prediction id"),
    Case("pty-usage-error", cap("--iou", "2"), P, via="pty", code=2, err=r"--iou"),
    Case("process-usage-error-one-line", ("grounding", "p.jsonl", "--iou", "2", "--out", "r.json"),
         {"p.jsonl": inputs.jsonl(inputs.grounding_records())}, via="process", err=r"--iou", tag="usage-box"),
    Case("process-bad-input-one-line", cap(), {"p.jsonl": '{"id": 1,,}\n'}, via="process",
         err=r"^error: p\.jsonl:1: not valid JSON"),
    Case("process-debug-off", cap(), {"p.jsonl": inputs.deep()}, via="process", err=r"p\.jsonl:1: .*nested too deeply"),
]  # fmt: skip
