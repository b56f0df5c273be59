"""Generic case families: each turns a TaskSpec into cases. A family knows what the contract says for every
command (README "Inputs", "Exit codes and streams"); the task tables add what is particular to one."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator

from tests.hostile import inputs
from tests.hostile.harness import Case, Fifo, Folder, HardLink, Mode, Symlink
from tests.hostile.tasks import TaskSpec

NAN, INF = float("nan"), float("inf")

# wrong values per field kind: (label, value). Written into record 2, so every message must say ":2:".
BAD: dict[str, list[tuple[str, object]]] = {
    "id": [("null", None), ("bool", True), ("fraction", 1.5), ("list", [1]), ("object", {"a": 1}),
           ("empty", ""), ("blank", "  "), ("nan", NAN)],
    "text": [("int", 2), ("float", 2.0), ("bool", True), ("list", ["a"]), ("object", {"a": "b"}),
             ("null", None)],
    "texts": [("string", "a dog"), ("number", 7), ("numbers", [1, 2]), ("null-item", [None]),
              ("nested", [["a"]]), ("empty", []), ("object", {"a": "b"}), ("bool-item", [True])],
    "number": [("string", "640"), ("bool", True), ("list", [640]), ("nan", NAN), ("inf", INF),
               ("negative", -5), ("zero", 0)],
    "boxes": [("string", "x"), ("three", [[1, 2, 3]]), ("string-coord", [[1, 2, 3, "4"]]),
              ("nan", [[NAN, 1, 2, 3]]), ("inverted", [[5, 5, 1, 1]]), ("bool-coord", [[True, 1, 2, 3]]),
              ("object", {"a": 1})],
    "scores": [("string", "0.5"), ("nan", [NAN, 0.9]), ("inf", [INF, 0.9]), ("string-item", ["a"]),
               ("object", {"a": 1}), ("bool-item", [True])],
    "opt_text": [("number", 7), ("list", ["a"]), ("object", {"a": 1}), ("bool", True)],
    "box_prediction": [("number", 7), ("object", {"a": 1}), ("bool", True)],
    "ids": [("string", "i1"), ("object-item", [{"a": 1}]), ("null-item", [None]), ("bool-item", [True]),
            ("number", 7)],
    "group": [("object", {"a": 1}), ("nested", [["x"]]), ("bool", True)],
}  # fmt: skip

ERR = {  # what the message must say, per kind ({f}: the field)
    "boxes": r"p\.jsonl:2: .*(gt_boxes|ground-truth box)",
    "ids": r"p\.jsonl:2: .*(item|'{f}')",
}
ERR_DEFAULT = r"p\.jsonl:2: .*'{f}'"


def _files(spec: TaskSpec, records: list | None = None, **more) -> dict:
    """The spec's extra files, ``p.jsonl`` with ``records`` (default: the valid ones), and ``more``."""
    files = dict(spec.extra()) if spec.extra else {}
    files["p.jsonl"] = inputs.jsonl(spec.records() if records is None else records)
    files.update(more)
    return files


def _only(spec: TaskSpec, name: str, content) -> dict:
    """The spec's extra files and one input ``name``."""
    return {**(spec.extra() if spec.extra else {}), name: content}


def _mutated(spec: TaskSpec, index: int, key: str, value=..., drop: bool = False) -> list[dict]:
    records = copy.deepcopy(spec.records())
    if drop:
        records[index].pop(key, None)
    else:
        records[index][key] = value
    return records


def _marked(spec: TaskSpec, marker: bytes, *, raw: bool = False, json_doc: bool = False) -> bytes:
    """The input with ``marker`` as raw bytes inside a string of an extra field of record 2 (``raw``: as the
    whole value, quotes included). ``json_doc``: a JSON list instead of JSON Lines."""
    records = copy.deepcopy(spec.records())
    records[1]["note"] = "@@MARK@@"
    text = (inputs.dumps(records) if json_doc else inputs.jsonl(records)).encode("utf-8")
    return text.replace(b'"@@MARK@@"' if raw else b"@@MARK@@", marker)


def _line(spec: TaskSpec, index: int, raw: bytes) -> bytes:
    lines = inputs.jsonl(spec.records()).encode("utf-8").splitlines(keepends=True)
    lines[index] = raw
    return b"".join(lines)


def filesystem(spec: TaskSpec) -> Iterator[Case]:
    n = spec.name
    good = inputs.jsonl(spec.records())
    yield Case(f"{n}-fs-missing", spec.argv(), {}, err=r"p\.jsonl: no such file")
    yield Case(f"{n}-fs-directory", spec.argv(), {"p.jsonl": Folder()}, err=r"p\.jsonl: is a directory")
    yield Case(f"{n}-fs-fifo", spec.argv(), {"p.jsonl": Fifo()}, err=r"(?i)p\.jsonl: .*(named pipe|fifo)")
    yield Case(f"{n}-fs-symlink-loop", spec.argv(), {"p.jsonl": Symlink("p.jsonl")},
               err=r"(?i)p\.jsonl: .*(link.*loop|loop.*link)")  # fmt: skip
    yield Case(f"{n}-fs-dangling-symlink", spec.argv(), {"p.jsonl": Symlink("gone.jsonl")},
               err=r"(?i)p\.jsonl: .*(broken|dangling).*link.*gone\.jsonl")  # fmt: skip
    yield Case(
        f"{n}-fs-symlink-ok", spec.argv(), {"real.jsonl": good, "p.jsonl": Symlink("real.jsonl")}, code=0
    )
    yield Case(f"{n}-fs-empty", spec.argv(), {"p.jsonl": ""}, err=r"p\.jsonl: no .*found")
    yield Case(
        f"{n}-fs-blank-lines-only", spec.argv(), {"p.jsonl": "\n \r\n\t\n"}, err=r"p\.jsonl: no .*found"
    )
    if not spec.as_nobody:
        return
    # typer's own readability check may answer first ("not readable"); the reader says "permission denied"
    yield Case(f"{n}-fs-unreadable", spec.argv(), {"p.jsonl": Mode(good, 0o000)}, via="nobody",
               err=r"(?i)p\.jsonl.*(permission denied|not readable)", tag="usage-box")  # fmt: skip


def encodings(spec: TaskSpec) -> Iterator[Case]:
    n, records = spec.name, spec.records()
    last = len(records)
    lines = inputs.jsonl(records).splitlines(keepends=True)
    bom_crlf = "\ufeff" + "\r\n".join(["", *[line.rstrip("\n") for line in lines], "", "  "]) + "\r\n"
    yield Case(f"{n}-enc-bom-crlf-blank-lines", spec.argv(), _only(spec, "p.jsonl", bom_crlf), code=0)
    yield Case(f"{n}-enc-bom-every-line", spec.argv(),
               _only(spec, "p.jsonl", "".join("\ufeff" + line for line in lines)), code=0)  # fmt: skip
    yield Case(
        f"{n}-enc-no-final-newline", spec.argv(), _only(spec, "p.jsonl", "".join(lines).rstrip("\n")), code=0
    )
    utf16 = ("\ufeff" + "".join(lines)).encode("utf-16-le")
    yield Case(f"{n}-enc-utf16", spec.argv(), {"p.jsonl": utf16}, err=r"(?i)p\.jsonl:1: .*UTF-16")
    yield Case(f"{n}-enc-latin1", spec.argv(), {"p.jsonl": _marked(spec, b"caf\xe9")},
               err=r"p\.jsonl:2: not valid UTF-8")  # fmt: skip
    yield Case(f"{n}-enc-nul-in-string", spec.argv(), {"p.jsonl": _marked(spec, b"a\x00b")},
               err=r"p\.jsonl:2: .*NUL")  # fmt: skip
    line2 = inputs.jsonl(records[1:2]).encode()
    yield Case(f"{n}-enc-nul-first", spec.argv(), {"p.jsonl": _line(spec, 1, b"\x00" + line2)},
               err=r"p\.jsonl:2: .*NUL")  # fmt: skip
    yield Case(f"{n}-enc-nul-spread", spec.argv(), {"p.jsonl": _line(spec, 1, b"{\x00\"\x00i\x00d\x00}\n")},
               err=r"p\.jsonl:2: .*NUL")  # fmt: skip
    yield Case(f"{n}-enc-lone-surrogate", spec.argv(), {"p.jsonl": _marked(spec, rb"x\ud800y")},
               err=r"p\.jsonl:2: .*surrogate")  # fmt: skip
    yield Case(
        f"{n}-enc-surrogate-pair",
        spec.argv(),
        _only(spec, "p.jsonl", _marked(spec, rb"\ud83d\ude00")),
        code=0,
    )
    yield Case(f"{n}-enc-u2028-in-string", spec.argv(),
               _only(spec, "p.jsonl", _marked(spec, "a\u2028b\u0085c".encode())), code=0)  # fmt: skip
    yield Case(f"{n}-enc-raw-tab-in-string", spec.argv(), {"p.jsonl": _marked(spec, b"a\tb")},
               err=r"p\.jsonl:2: not valid JSON")  # fmt: skip
    yield Case(f"{n}-enc-truncated-last-line", spec.argv(), {"p.jsonl": "".join(lines).rstrip("\n")[:-3]},
               err=rf"p\.jsonl:{last}: not valid JSON")  # fmt: skip
    yield Case(f"{n}-enc-two-objects-on-a-line", spec.argv(),
               {"p.jsonl": _line(spec, 1, line2.rstrip(b"\n") + b" " + line2)}, err=r"p\.jsonl:2: not valid JSON")  # fmt: skip
    yield Case(f"{n}-enc-list-line", spec.argv(), {"p.jsonl": _line(spec, 1, b"[1, 2]\n")},
               err=r"p\.jsonl:2: expected a JSON object, got a list")  # fmt: skip
    yield Case(f"{n}-enc-deep-nesting", spec.argv(), {"p.jsonl": _marked(spec, inputs.deep().encode(), raw=True)},
               err=r"p\.jsonl:2: .*nested too deeply")  # fmt: skip
    yield Case(f"{n}-enc-huge-integer", spec.argv(), {"p.jsonl": _marked(spec, inputs.HUGE_INT.encode(), raw=True)},
               err=r"p\.jsonl:2: .*digits")  # fmt: skip
    yield Case(f"{n}-enc-nan-in-unused-field", spec.argv(), _only(spec, "p.jsonl", _marked(spec, b"NaN", raw=True)),
               code=0)  # fmt: skip


def formats(spec: TaskSpec) -> Iterator[Case]:
    n, records = spec.name, spec.records()
    text = inputs.jsonl(records)
    a = spec.argv
    yield Case(f"{n}-fmt-json-list", a("p.json"), _only(spec, "p.json", inputs.dumps(records)), code=0)
    yield Case(
        f"{n}-fmt-json-data", a("p.json"), _only(spec, "p.json", inputs.dumps({"data": records})), code=0
    )
    yield Case(f"{n}-fmt-jsonl-as-json", a("p.json"), _only(spec, "p.json", text), code=0)
    yield Case(f"{n}-fmt-uppercase-ext", a("P.JSONL"), _only(spec, "P.JSONL", text), code=0)
    yield Case(f"{n}-fmt-json-trailing", a("p.json"), {"p.json": inputs.dumps(records) + "\nx"},
               err=r"p\.json:\d+: not valid JSON")  # fmt: skip
    yield Case(
        f"{n}-fmt-json-scalar", a("p.json"), {"p.json": '"hello"'}, err=r"(?i)p\.json: .*(list|records)"
    )
    yield Case(
        f"{n}-fmt-json-deep", a("p.json"), {"p.json": inputs.deep()}, err=r"p\.json: .*nested too deeply"
    )
    yield Case(f"{n}-fmt-json-item-not-object", a("p.json"), {"p.json": inputs.dumps([records[0], 3])},
               err=r"p\.json:\d+: expected a JSON object, got a number")  # fmt: skip
    yield Case(f"{n}-fmt-json-lone-surrogate", a("p.json"),
               {"p.json": _marked(spec, rb"\udc00", json_doc=True)},
               err=r"p\.json:\d+: .*surrogate")  # fmt: skip
    yield Case(f"{n}-fmt-json-utf16", a("p.json"), {"p.json": ("\ufeff" + inputs.dumps(records)).encode("utf-16-le")},
               err=r"(?i)p\.json:1: .*UTF-16")  # fmt: skip
    if spec.delimited:
        yield Case(f"{n}-fmt-csv", a("p.csv"), _only(spec, "p.csv", inputs.delimited(records)), code=0)
        yield Case(f"{n}-fmt-tsv", a("p.tsv"), _only(spec, "p.tsv", inputs.delimited(records, "\t")), code=0)
        yield Case(f"{n}-fmt-csv-bom-crlf", a("p.csv"),
                   _only(spec, "p.csv", "\ufeff" + inputs.delimited(records).replace("\n", "\r\n")), code=0)  # fmt: skip
        yield Case(f"{n}-fmt-csv-field-count", a("p.csv"),
                   {"p.csv": inputs.delimited(records).replace("\n", ",extra\n", 3).replace(",extra\n", "\n", 2)},
                   err=r"p\.csv:3: expected \d+ fields")  # fmt: skip
        yield Case(f"{n}-fmt-csv-header-only", a("p.csv"), {"p.csv": inputs.delimited(records).split("\n")[0] + "\n"},
                   err=r"p\.csv: no .*found")  # fmt: skip
        csv_text = inputs.delimited(records)
        yield Case(f"{n}-fmt-csv-latin1", a("p.csv"), {"p.csv": csv_text.encode() + b"x,caf\xe9\n"},
                   err=rf"p\.csv:{csv_text.count(chr(10)) + 1}: not valid UTF-8")  # fmt: skip
    yield Case(
        f"{n}-fmt-parquet", a("p.parquet"), _only(spec, "p.parquet", inputs.parquet_records(records)), code=0
    )
    yield Case(f"{n}-fmt-parquet-corrupt", a("p.parquet"), {"p.parquet": b"PAR1" + b"\x00garbage" * 8 + b"PAR1"},
               err=r"p\.parquet: not a readable Parquet file")  # fmt: skip
    blob = inputs.parquet_records(records)
    yield Case(f"{n}-fmt-parquet-truncated", a("p.parquet"), {"p.parquet": blob[: len(blob) // 2]},
               err=r"p\.parquet: not a readable Parquet file")  # fmt: skip
    yield Case(f"{n}-fmt-gz", a("p.jsonl.gz"), _only(spec, "p.jsonl.gz", inputs.gz(text)), code=0)
    yield Case(
        f"{n}-fmt-json-gz", a("p.json.gz"), _only(spec, "p.json.gz", inputs.gz(inputs.dumps(records))), code=0
    )
    # decision: the content decides (gzip magic 1f 8b), the name before .gz decides the format
    yield Case(f"{n}-fmt-plain-named-gz", a("p.jsonl.gz"), _only(spec, "p.jsonl.gz", text), code=0)
    yield Case(f"{n}-fmt-gzip-named-plain", a("p.jsonl"), _only(spec, "p.jsonl", inputs.gz(text)), code=0)
    yield Case(
        f"{n}-fmt-json-gzip-named-plain",
        a("p.json"),
        _only(spec, "p.json", inputs.gz(inputs.dumps(records))),
        code=0,
    )
    yield Case(f"{n}-fmt-gz-truncated", a("p.jsonl.gz"), {"p.jsonl.gz": inputs.gz_truncated(text * 20)},
               err=r"(?i)p\.jsonl\.gz: .*truncated")  # fmt: skip
    yield Case(f"{n}-fmt-gz-corrupt", a("p.jsonl.gz"), {"p.jsonl.gz": inputs.gz_corrupt(text * 20)},
               err=r"(?i)p\.jsonl\.gz: .*(corrupt|invalid)")  # fmt: skip
    yield Case(f"{n}-fmt-gz-bad-crc", a("p.jsonl.gz"), {"p.jsonl.gz": inputs.gz_bad_crc(text)},
               err=r"(?i)p\.jsonl\.gz: .*(crc|corrupt)")  # fmt: skip
    yield Case(f"{n}-fmt-json-gz-corrupt", a("p.json.gz"), {"p.json.gz": inputs.gz_corrupt(inputs.dumps(records) * 20)},
               err=r"(?i)p\.json\.gz: .*(corrupt|invalid)")  # fmt: skip
    yield Case(f"{n}-fmt-gz-empty-content", a("p.jsonl.gz"), {"p.jsonl.gz": inputs.gz("")},
               err=r"p\.jsonl\.gz: no .*found")  # fmt: skip
    yield Case(f"{n}-fmt-txt", a("p.txt"), {"p.txt": text}, err=r"p\.txt: unsupported file type")
    yield Case(f"{n}-fmt-no-extension", a("preds"), {"preds": text}, err=r"preds: unsupported file type")


def fields(spec: TaskSpec) -> Iterator[Case]:
    n = spec.name
    for key, kind in spec.fields.items():
        for label, value in BAD[kind]:
            expected = ERR.get(kind, ERR_DEFAULT).replace("{f}", re.escape(key))
            tag = "coercion-qa" if key in spec.qa_fields and _qa_coerces(kind, label) else None
            yield Case(f"{n}-field-{key}-{label}", spec.argv(), _files(spec, _mutated(spec, 1, key, value)),
                       err=expected, tag=tag)  # fmt: skip
    for key in spec.required:
        yield Case(f"{n}-field-{key}-missing", spec.argv(), _files(spec, _mutated(spec, 1, key, drop=True)),
                   err=rf"p\.jsonl:2: missing field '{key}'")  # fmt: skip
    id_key = next((k for k, kind in spec.fields.items() if kind == "id"), None)
    if id_key:
        records = copy.deepcopy(spec.records())
        records[2][id_key] = records[0][id_key]
        yield Case(f"{n}-field-{id_key}-duplicate", spec.argv(), _files(spec, records),
                   err=r"p\.jsonl:3: duplicate .*id .*first at line 1")  # fmt: skip
        for label, value in (
            ("int", 777),
            ("string-int", "777"),
            ("integral-float", 777.0),
            ("unicode", "画像-№7"),
        ):
            yield Case(
                f"{n}-field-{id_key}-ok-{label}",
                spec.argv(),
                _files(spec, _mutated(spec, 1, id_key, value)),
                code=0,
            )


def _qa_coerces(kind: str, label: str) -> bool:
    """io/qa.py turns these into text instead of refusing them (marked for its owner)."""
    if kind == "texts":
        return label in ("numbers",)
    return kind == "group"


def outputs(spec: TaskSpec) -> Iterator[Case]:
    n = spec.name
    files = _files(spec)
    loss = r"(?i)(input|same file|overwrite)"
    yield Case(
        f"{n}-out-is-input", spec.argv(out="p.jsonl"), files, out="p.jsonl", err=loss, tag="out-is-input"
    )
    yield Case(f"{n}-out-is-input-dotted", spec.argv(out="./sub/../p.jsonl"), {**files, "sub": Folder()},
               out="p.jsonl", err=loss, tag="out-is-input")  # fmt: skip
    yield Case(f"{n}-out-is-input-absolute", spec.argv(out="{cwd}/p.jsonl"), files, out="p.jsonl", err=loss,
               tag="out-is-input")  # fmt: skip
    yield Case(f"{n}-out-symlink-to-input", spec.argv(out="link.json"), {**files, "link.json": Symlink("p.jsonl")},
               out="link.json", err=loss, tag="out-is-input")  # fmt: skip
    yield Case(f"{n}-out-hardlink-to-input", spec.argv(out="hard.json"), {**files, "hard.json": HardLink("p.jsonl")},
               out="hard.json", err=loss, tag="out-is-input")  # fmt: skip
    yield Case(f"{n}-out-trailing-slash", spec.argv(out="newdir/"), files, out="newdir",
               err=r"(?i)newdir.*(director|folder)", tag="out-path")  # fmt: skip
    yield Case(
        f"{n}-out-empty", spec.argv(out=""), files, out=None, err=r"(?i)--out.*(empty|path)", tag="out-path"
    )
    yield Case(f"{n}-out-existing-dir", spec.argv(out="outdir"), {**files, "outdir": Folder()}, out="outdir",
               err=r"(?i)outdir.*(is a )?director")  # fmt: skip
    yield Case(f"{n}-out-fifo", spec.argv(out="pipe.json"), {**files, "pipe.json": Fifo()}, out="pipe.json",
               err=r"(?i)pipe\.json.*(regular file|fifo|named pipe)", tag="out-path")  # fmt: skip
    yield Case(f"{n}-out-missing-dir", spec.argv(out="missing/r.json"), files, out="missing/r.json",
               err=r"(?i)missing.*does not exist")  # fmt: skip
    yield Case(f"{n}-out-overwrites-old-report", spec.argv(), {**files, "r.json": '{"old": true}'}, code=0)
    if spec.as_nobody:
        yield Case(f"{n}-out-readonly-dir", spec.argv(out="ro/r.json"), {**files, "ro": Folder(0o555)},
                   out="ro/r.json", via="nobody", err=r"(?i)ro/r\.json.*(permission denied|not writable)")  # fmt: skip


def options(spec: TaskSpec) -> Iterator[Case]:
    n, files, a = spec.name, _files(spec), spec.argv
    p = spec.primary
    yield Case(f"{n}-opt-gate-pass", a("p.jsonl", "--min", f"{p}=-1"), files, code=0)
    yield Case(f"{n}-opt-gate-fail", a("p.jsonl", "--min", f"{p}=1e9"), files, code=1, err=r"gate failed")
    yield Case(f"{n}-opt-gate-max-fail", a("p.jsonl", "--max", f"{p}=-1"), files, code=1, err=r"gate failed")
    for label, value in (("nan", "nan"), ("inf", "inf"), ("neg-inf", "-inf"), ("word", "high")):
        yield Case(f"{n}-opt-gate-{label}", a("p.jsonl", "--min", f"{p}={value}"), files, err=r"--min")
    yield Case(f"{n}-opt-gate-max-nan", a("p.jsonl", "--max", f"{p}=nan"), files, err=r"--max")
    yield Case(f"{n}-opt-gate-no-value", a("p.jsonl", "--min", p), files, err=r"--min .*METRIC=VALUE")
    yield Case(
        f"{n}-opt-gate-unknown", a("p.jsonl", "--min", "nosuch=1"), files, err=r"cannot gate on 'nosuch'"
    )
    for value in ("nan", "inf"):
        yield Case(f"{n}-opt-min-cider-{value}", a("p.jsonl", "--min-cider", value), files, err=r"(?i)cider",
                   tag="gate-nonfinite" if n == "caption" else None)  # fmt: skip
    if spec.metrics:  # retrieval has no --metrics
        yield from _metric_options(spec, files)
    yield from _more_options(spec, files)


def _metric_options(spec: TaskSpec, files: dict) -> Iterator[Case]:
    n, a = spec.name, spec.argv
    yield Case(
        f"{n}-opt-metrics-empty", a("p.jsonl", "--metrics", ""), files, err=r"--metrics", tag="empty-metrics"
    )
    yield Case(f"{n}-opt-metrics-commas", a("p.jsonl", "--metrics", ",,"), files, err=r"--metrics",
               tag="empty-metrics")  # fmt: skip
    yield Case(f"{n}-opt-metrics-unknown", a("p.jsonl", "--metrics", "nosuch"), files, err=r"nosuch")


def _more_options(spec: TaskSpec, files: dict) -> Iterator[Case]:
    n, a = spec.name, spec.argv
    yield Case(f"{n}-opt-bootstrap-huge", a("p.jsonl", "--bootstrap", "99999999999999999999"), files,
               err=r"--bootstrap", tag="int-overflow")  # fmt: skip
    yield Case(f"{n}-opt-bootstrap-negative", a("p.jsonl", "--bootstrap", "-1"), files, err=r"--bootstrap",
               tag="usage-box")  # fmt: skip
    yield Case(f"{n}-opt-seed-negative", a("p.jsonl", "--bootstrap", "5", "--seed", "-5"), files,
               code=(0, 2), err=None, tag="int-overflow")  # fmt: skip
    yield Case(f"{n}-opt-failures-negative", a("p.jsonl", "--failures", "-1"), files, err=r"--failures",
               tag="usage-box")  # fmt: skip
    yield Case(
        f"{n}-opt-format-unknown", a("p.jsonl", "--format", "xml"), files, err=r"--format", tag="usage-box"
    )
    yield Case(
        f"{n}-opt-unknown-option", a("p.jsonl", "--frobnicate"), files, err=r"--frobnicate", tag="usage-box"
    )
    yield Case(
        f"{n}-opt-json-stdout", a("p.jsonl", "--format", "json"), files, code=0, stdout=r'"schema": "vlmeval'
    )
    yield Case(f"{n}-help", (spec.command, "--help"), {}, code=0, out=None, stdout=r"Usage")


# model text that must stay data: (label, text, what stdout must show literally or None)
MODEL_TEXT = [
    ("inst-close", "[INST] hi [/INST] a dog", "[/INST]"),
    ("closing-tag", "a dog [/x]", "[/x]"),
    ("rich-style", "[bold red]x[/bold red] a dog", "[bold red]x[/bold red]"),
    ("rich-link", "[link=https://evil.example]click[/link]", "[link=https://evil.example]"),
    ("escape-clear", "a dog\x1b[2J\x1b[H", None),
    ("osc-title", "a dog\x1b]0;pwned\x07", None),
    ("backspace-cr", "good\rbad\x08", None),
    ("html", "<script>alert(1)</script></textarea>", "<script>alert(1)</script>"),
    ("bidi", "a dog \u202eevil\u202c", None),
]


def model_text(spec: TaskSpec) -> Iterator[Case]:
    if spec.text is None:
        return
    n = spec.name
    for label, text, shown in MODEL_TEXT:
        value = text + (" [1, 2, 30, 40]" if spec.command == "grounding" else "")
        records = _mutated(spec, 1, spec.text, value)
        markup = shown is not None and "[" in shown
        yield Case(
            f"{n}-text-{label}",
            spec.argv("p.jsonl", "--failures", str(len(records))),
            _files(spec, records),
            code=0,
            stdout=re.escape(shown) if shown else None,
            check=failure_keeps(spec.text, value),
            tag="markup" if markup else None,
        )
    records = _mutated(spec, 1, next(k for k, kind in spec.fields.items() if kind == "id"), "[/INST]")
    yield Case(f"{n}-text-id-markup", spec.argv("p.jsonl", "--failures", str(len(records))), _files(spec, records),
               code=0, stdout=re.escape("[/INST]"), tag="markup")  # fmt: skip


def failure_keeps(key: str, value: str):
    def check(cwd, outcome):
        report = json.loads((cwd / "r.json").read_text(encoding="utf-8"))
        shown = [row.get(key) for row in report.get("failures", [])]
        assert value in shown, f"the report does not keep {value!r} exactly: {shown}"

    return check


FAMILIES = [filesystem, encodings, formats, fields, outputs, options, model_text]


def generic_cases(specs) -> list[Case]:
    return [
        case
        for spec in specs
        for family in FAMILIES
        if spec.families is None or family.__name__ in spec.families
        for case in family(spec)
    ]
