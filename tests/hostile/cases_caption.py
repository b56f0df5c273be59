"""Hostile cases particular to `vlmeval caption`: --refs records, the official COCO pair, CSV/Parquet list
fields, joins."""

from __future__ import annotations

import copy

from tests.hostile import inputs
from tests.hostile.harness import Case, Fifo, Folder, Symlink

FAST = ("--metrics", "Bleu,ROUGE_L,CIDEr")


def cap(*args: str) -> tuple[str, ...]:
    return ("caption", *args, *FAST, "--out", "r.json")


RECORDS = inputs.caption_records()
PREDS = [{"id": r["id"], "prediction": r["prediction"]} for r in RECORDS]
REFS = [{"id": r["id"], "references": r["references"]} for r in RECORDS]
RESULTS, ANN = inputs.caption_coco()
PAIR = {"p.jsonl": inputs.jsonl(PREDS), "refs.jsonl": inputs.jsonl(REFS)}
COCO = {"res.json": inputs.dumps(RESULTS), "ann.json": inputs.dumps(ANN)}


def _with(records: list[dict], index: int, **changes) -> list[dict]:
    out = copy.deepcopy(records)
    out[index].update(changes)
    return out


def _ann(**changes) -> str:
    doc = copy.deepcopy(ANN)
    doc.update(changes)
    return inputs.dumps(doc)


def _ann_caption(index: int, value) -> str:
    doc = copy.deepcopy(ANN)
    doc["annotations"][index]["caption"] = value
    return inputs.dumps(doc)


CASES: list[Case] = [
    # --refs records
    Case("caption-refs-ok", cap("p.jsonl", "--refs", "refs.jsonl"), PAIR, code=0),
    Case("caption-refs-numbers", cap("p.jsonl", "--refs", "refs.jsonl"),
         {**PAIR, "refs.jsonl": inputs.jsonl(_with(REFS, 1, references=[1, 2]))},
         err=r"refs\.jsonl:2: 'references' must be a list of strings"),
    Case("caption-refs-duplicate", cap("p.jsonl", "--refs", "refs.jsonl"),
         {**PAIR, "refs.jsonl": inputs.jsonl([*REFS, REFS[0]])},
         err=rf"refs\.jsonl:{len(REFS) + 1}: duplicate reference id .*first at line 1"),
    Case("caption-refs-no-common-id", cap("p.jsonl", "--refs", "refs.jsonl"),
         {**PAIR, "refs.jsonl": inputs.jsonl([{**r, "id": f"x{r['id']}"} for r in REFS])},
         err=r"p\.jsonl: no prediction id matches a reference id"),
    Case("caption-refs-missing-prediction", cap("p.jsonl", "--refs", "refs.jsonl"),
         {**PAIR, "p.jsonl": inputs.jsonl(PREDS[1:])}, err=r"p\.jsonl: 1 of \d+ references have no prediction.*--allow-missing"),
    Case("caption-refs-allow-missing", cap("p.jsonl", "--refs", "refs.jsonl", "--allow-missing"),
         {**PAIR, "p.jsonl": inputs.jsonl(PREDS[1:])}, code=0),
    Case("caption-refs-extra-prediction", cap("p.jsonl", "--refs", "refs.jsonl"),
         {**PAIR, "p.jsonl": inputs.jsonl([*PREDS, {"id": "extra", "prediction": "x"}])}, code=0,
         err=r"no reference and were skipped"),
    Case("caption-refs-missing-file", cap("p.jsonl", "--refs", "nope.jsonl"), {"p.jsonl": PAIR["p.jsonl"]},
         err=r"nope\.jsonl: no such file"),
    Case("caption-refs-fifo", cap("p.jsonl", "--refs", "refs.jsonl"), {**PAIR, "refs.jsonl": Fifo()},
         err=r"(?i)refs\.jsonl: .*named pipe"),
    Case("caption-refs-directory", cap("p.jsonl", "--refs", "refs.jsonl"), {**PAIR, "refs.jsonl": Folder()},
         err=r"refs\.jsonl: is a directory"),
    Case("caption-refs-gz-corrupt", cap("p.jsonl", "--refs", "refs.jsonl.gz"),
         {**PAIR, "refs.jsonl.gz": inputs.gz_corrupt(PAIR["refs.jsonl"] * 30)}, err=r"(?i)refs\.jsonl\.gz: corrupt gzip"),
    Case("caption-out-is-refs", cap("p.jsonl", "--refs", "refs.jsonl")[:-2] + ("--out", "refs.jsonl"), PAIR,
         out="refs.jsonl", err=r"(?i)(input|same file)", tag="out-is-input"),
    Case("caption-out-symlink-to-refs", cap("p.jsonl", "--refs", "refs.jsonl")[:-2] + ("--out", "l.json"),
         {**PAIR, "l.json": Symlink("refs.jsonl")}, out="l.json", err=r"(?i)(input|same file)", tag="out-is-input"),
    # the official COCO pair
    Case("caption-coco-ok", cap("res.json", "--refs", "ann.json"), COCO, code=0),
    Case("caption-coco-ann-gz", cap("res.json", "--refs", "ann.json.gz"),
         {"res.json": COCO["res.json"], "ann.json.gz": inputs.gz(COCO["ann.json"])}, code=0),
    Case("caption-coco-ann-gzip-named-json", cap("res.json", "--refs", "ann.json"),
         {"res.json": COCO["res.json"], "ann.json": inputs.gz(COCO["ann.json"])}, code=0),
    Case("caption-coco-result-caption-number", cap("res.json", "--refs", "ann.json"),
         {**COCO, "res.json": inputs.dumps(_with(RESULTS, 1, caption=7))}, err=r"res\.json:\d+: 'caption' must be a string"),
    Case("caption-coco-result-caption-missing", cap("res.json", "--refs", "ann.json"),
         {**COCO, "res.json": inputs.dumps([RESULTS[0], {"image_id": RESULTS[1]["image_id"]}, *RESULTS[2:]])},
         err=r"res\.json:\d+: missing field 'caption'"),
    Case("caption-coco-result-image-id-bool", cap("res.json", "--refs", "ann.json"),
         {**COCO, "res.json": inputs.dumps(_with(RESULTS, 1, image_id=True))}, err=r"res\.json:\d+: 'image_id' must be"),
    Case("caption-coco-ann-caption-number", cap("res.json", "--refs", "ann.json"),
         {**COCO, "ann.json": _ann_caption(1, 7)}, err=r"ann\.json:\d+: annotation 'caption' must be a string"),
    Case("caption-coco-ann-no-annotations", cap("res.json", "--refs", "ann.json"),
         {**COCO, "ann.json": _ann(annotations={"a": 1})}, err=r"ann\.json: a COCO captions file needs an 'annotations' list"),
    Case("caption-coco-ann-instances", cap("res.json", "--refs", "ann.json"),
         {**COCO, "ann.json": inputs.dumps(inputs.detection()[1])}, err=r"ann\.json:\d+: annotation has no 'caption'"),
    Case("caption-coco-ann-deep", cap("res.json", "--refs", "ann.json"), {**COCO, "ann.json": inputs.deep()},
         err=r"ann\.json: .*nested too deeply"),
    Case("caption-coco-ann-lone-surrogate", cap("res.json", "--refs", "ann.json"),
         {**COCO, "ann.json": COCO["ann.json"].replace('"caption": "', '"caption": "\\ud83d', 1)},
         err=r"ann\.json:\d+: .*surrogate"),
    Case("caption-coco-string-ids-vs-int", cap("res.json", "--refs", "ann.json"),
         {**COCO, "res.json": inputs.dumps([{**r, "image_id": f"im{r['image_id']}"} for r in RESULTS])},
         err=r"no prediction id matches a reference id"),
    Case("caption-out-is-ann", ("caption", "res.json", "--refs", "ann.json", *FAST, "--out", "ann.json"), COCO,
         out="ann.json", err=r"(?i)(input|same file)", tag="out-is-input"),
    # list fields in CSV and Parquet
    Case("caption-csv-plain-reference", cap("p.csv"),
         {"p.csv": "id,prediction,references\n1,a dog,a dog runs\n2,a cat,\"[\"\"a cat\"\", \"\"cat\"\"]\"\n"}, code=0),
    Case("caption-csv-broken-list", cap("p.csv"), {"p.csv": "id,prediction,references\n1,a dog,[broken\n"},
         err=r"p\.csv:2: 'references' looks like a JSON list but does not parse"),
    Case("caption-csv-number-list", cap("p.csv"), {"p.csv": "id,prediction,references\n1,a dog,\"[1, 2]\"\n"},
         err=r"p\.csv:2: 'references' must be a list of strings"),
    Case("caption-csv-surrogate-list", cap("p.csv"),
         {"p.csv": 'id,prediction,references\n1,a dog,"[""\\ud800""]"\n'}, err=r"p\.csv:2: 'references' .*surrogate"),
    Case("caption-parquet-int-references", cap("p.parquet"),
         {"p.parquet": inputs.parquet({"id": [1, 2], "prediction": ["a dog", "a cat"], "references": [[1, 2], [3]]})},
         err=r"p\.parquet:1: 'references' must be a list of strings"),
    Case("caption-parquet-binary-prediction", cap("p.parquet"),
         {"p.parquet": inputs.parquet({"id": [1, 2], "prediction": [b"a dog", b"\xff\x00"], "references": [["a"], ["b"]]})},
         err=r"p\.parquet:1: 'prediction' must be a string, got binary data"),
    Case("caption-parquet-null-prediction", cap("p.parquet"),
         {"p.parquet": inputs.parquet({"id": [1, 2], "prediction": ["a dog", None], "references": [["a"], ["b"]]})},
         err=r"p\.parquet:2: 'prediction' is null"),
    Case("caption-parquet-struct-id", cap("p.parquet"),
         {"p.parquet": inputs.parquet({"id": [{"a": 1}, {"a": 2}], "prediction": ["x", "y"], "references": [["a"], ["b"]]})},
         err=r"p\.parquet:1: 'id' must be a string or an integer"),
    # predictions that are real model output, however odd
    Case("caption-empty-and-blank-predictions", cap("p.jsonl"),
         {"p.jsonl": inputs.jsonl(_with(_with(RECORDS, 1, prediction=""), 2, prediction=" \t "))}, code=0,
         check=lambda cwd, o: None),
    Case("caption-long-prediction", cap("p.jsonl"),
         {"p.jsonl": inputs.jsonl(_with(RECORDS, 1, prediction="a dog " * 20000))}, code=0, slow_ok=True),
    Case("caption-unicode-everywhere", cap("p.jsonl"),
         {"p.jsonl": inputs.jsonl(_with(RECORDS, 1, prediction="一只狗 🐕 Σίσυφος ‮ﷺ", references=["犬 🐶", "a dog"]))},
         code=0),
    Case("caption-reference-list-empty", cap("p.jsonl"), {"p.jsonl": inputs.jsonl(_with(RECORDS, 1, references=[]))},
         err=r"p\.jsonl:2: 'references' is empty"),
    Case("caption-tokenizer-unknown", cap("p.jsonl", "--tokenizer", "nltk"), {"p.jsonl": inputs.jsonl(RECORDS)},
         err=r"--tokenizer", tag="usage-box"),
    Case("caption-precision-unknown", cap("p.jsonl", "--precision", "fp8"), {"p.jsonl": inputs.jsonl(RECORDS)},
         err=r"--precision"),
]  # fmt: skip
