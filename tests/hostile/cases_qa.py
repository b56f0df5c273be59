"""Hostile cases particular to `vlmeval vqa` (official VQA v2 results, annotations, questions) and
`vlmeval docvqa` (RRC submission and ground truth, --threshold)."""

from __future__ import annotations

import copy

from tests.hostile import inputs
from tests.hostile.harness import Case, Fifo, Symlink

RESULTS, ANN, QUESTIONS = inputs.vqa_official()
VQA = {"res.json": inputs.dumps(RESULTS), "ann.json": inputs.dumps(ANN), "q.json": inputs.dumps(QUESTIONS)}
SUBMISSION, GT = inputs.docvqa_rrc()
DOC = {"sub.json": inputs.dumps(SUBMISSION), "gt.json": inputs.dumps(GT)}
DOC_RECORDS = {"p.jsonl": inputs.jsonl(inputs.docvqa_records())}
VQA_RECORDS = {"p.jsonl": inputs.jsonl(inputs.vqa_records())}


def vqa(*args: str) -> tuple[str, ...]:
    return ("vqa", *args, "--out", "r.json")


def doc(*args: str) -> tuple[str, ...]:
    return ("docvqa", *args, "--out", "r.json")


OFFICIAL = ("res.json", "--annotations", "ann.json", "--questions", "q.json")
RRC = ("sub.json", "--refs", "gt.json")


def _results(index: int, **changes) -> str:
    out = copy.deepcopy(RESULTS)
    out[index].update(changes)
    return inputs.dumps(out)


def _ann(index: int, **changes) -> str:
    doc_ = copy.deepcopy(ANN)
    doc_["annotations"][index].update(changes)
    return inputs.dumps(doc_)


def _gt(index: int, **changes) -> str:
    doc_ = copy.deepcopy(GT)
    doc_["data"][index].update(changes)
    return inputs.dumps(doc_)


def _sub(index: int, **changes) -> str:
    out = copy.deepcopy(SUBMISSION)
    out[index].update(changes)
    return inputs.dumps(out)


CASES: list[Case] = [
    # VQA v2 official files
    Case("vqa-official-ok", vqa(*OFFICIAL), VQA, code=0),
    Case("vqa-official-no-questions", vqa("res.json", "--annotations", "ann.json"), VQA, code=0),
    Case("vqa-official-answer-number", vqa(*OFFICIAL), {**VQA, "res.json": _results(1, answer=2)},
         err=r"res\.json:\d+: 'answer' must be a string, got the number 2"),
    Case("vqa-official-answer-float", vqa(*OFFICIAL), {**VQA, "res.json": _results(1, answer=2.0)},
         err=r"res\.json:\d+: 'answer' must be a string"),
    Case("vqa-official-question-id-fraction", vqa(*OFFICIAL), {**VQA, "res.json": _results(1, question_id=1.5)},
         err=r"res\.json:\d+: 'question_id' must be a string or an integer"),
    Case("vqa-official-question-id-past-2-53", vqa(*OFFICIAL), {**VQA, "res.json": _results(1, question_id=2.0**60)},
         err=r"res\.json:\d+: 'question_id' must be a string or an integer, got the number 1\.15.*e\+18, a float"),
    Case("vqa-official-ann-answer-numbers", vqa(*OFFICIAL), {**VQA, "ann.json": _ann(1, answers=[{"answer": 2}] * 10)},
         err=r"ann\.json:\d+: .*'answers'", tag="coercion-qa"),
    Case("vqa-official-ann-answers-empty", vqa(*OFFICIAL), {**VQA, "ann.json": _ann(1, answers=[])},
         err=r"ann\.json:\d+: 'answers' must be a non-empty list"),
    Case("vqa-official-ann-answer-type-object", vqa(*OFFICIAL), {**VQA, "ann.json": _ann(1, answer_type={"a": 1})},
         err=r"ann\.json:\d+: .*'answer_type'", tag="coercion-qa"),
    Case("vqa-official-ann-duplicate", vqa(*OFFICIAL),
         {**VQA, "ann.json": inputs.dumps({**ANN, "annotations": ANN["annotations"] + ANN["annotations"][:1]})},
         err=r"ann\.json:\d+: duplicate reference id"),
    Case("vqa-official-ann-not-vqa", vqa(*OFFICIAL), {**VQA, "ann.json": '{"info": {}}'},
         err=r"ann\.json: no ground-truth records found"),
    Case("vqa-official-missing-annotations", vqa("res.json"), VQA,
         err=r"res\.json: official results need the ground truth: pass --annotations"),
    Case("vqa-official-questions-without-annotations", vqa("p.jsonl", "--questions", "q.json"), {**VQA, **VQA_RECORDS},
         err=r"--questions needs --annotations"),
    Case("vqa-official-questions-duplicate-id", vqa(*OFFICIAL),
         {**VQA, "q.json": inputs.dumps({**QUESTIONS, "questions": QUESTIONS["questions"] + QUESTIONS["questions"][:1]})},
         err=r"q\.json:\d+: (\.questions\[\d+\]: )?duplicate question_id"),
    Case("vqa-official-question-number", vqa(*OFFICIAL),
         {**VQA, "q.json": inputs.dumps({**QUESTIONS, "questions": [{**QUESTIONS["questions"][0], "question": 5}]})},
         err=r"q\.json:\d+: (\.questions\[0\]: )?'question' must be a string, got the number 5"),
    Case("vqa-official-questions-other-image", vqa(*OFFICIAL),
         {**VQA, "q.json": inputs.dumps({**QUESTIONS, "questions": [{**QUESTIONS["questions"][0], "image_id": 987654321},
                                                                     *QUESTIONS["questions"][1:]]})}, code=0,
         err=r"1 question in q\.json names another image than the annotations do"),
    Case("vqa-official-questions-of-another-split", vqa(*OFFICIAL),
         {**VQA, "q.json": inputs.dumps({**QUESTIONS, "questions": QUESTIONS["questions"][1:]})}, code=0,
         err=r"1 question of the ground truth is not in q\.json \(another split\?\)"),
    Case("vqa-official-questions-not-list", vqa(*OFFICIAL), {**VQA, "q.json": '{"questions": 3}'},
         err=r"q\.json: a VQA questions file needs a 'questions' list"),
    Case("vqa-official-questions-deep", vqa(*OFFICIAL), {**VQA, "q.json": inputs.deep()},
         err=r"q\.json: .*nested too deeply"),
    Case("vqa-official-questions-fifo", vqa(*OFFICIAL), {**VQA, "q.json": Fifo()}, err=r"(?i)q\.json: .*named pipe"),
    Case("vqa-official-questions-symlink-loop", vqa(*OFFICIAL), {**VQA, "q.json": Symlink("q.json")},
         err=r"(?i)q\.json: symbolic link loop"),
    Case("vqa-official-ann-gz", vqa("res.json", "--annotations", "ann.json.gz"),
         {**VQA, "ann.json.gz": inputs.gz(VQA["ann.json"])}, code=0),
    Case("vqa-official-ann-truncated-gz", vqa("res.json", "--annotations", "ann.json.gz"),
         {**VQA, "ann.json.gz": inputs.gz_truncated(VQA["ann.json"])}, err=r"(?i)ann\.json\.gz: truncated gzip"),
    Case("vqa-official-partial", vqa(*OFFICIAL), {**VQA, "res.json": inputs.dumps(RESULTS[1:])},
         err=r"res\.json: 1 of \d+ references have no prediction"),
    Case("vqa-official-partial-allowed", vqa(*OFFICIAL, "--allow-missing"),
         {**VQA, "res.json": inputs.dumps(RESULTS[1:])}, code=0),
    Case("vqa-out-is-annotations", ("vqa", *OFFICIAL, "--out", "ann.json"), VQA, out="ann.json",
         err=r"(?i)(input|same file)", tag="out-is-input"),
    Case("vqa-out-is-questions", ("vqa", *OFFICIAL, "--out", "q.json"), VQA, out="q.json",
         err=r"(?i)(input|same file)", tag="out-is-input"),
    Case("vqa-out-is-results", ("vqa", *OFFICIAL, "--out", "res.json"), VQA, out="res.json",
         err=r"(?i)(input|same file)", tag="out-is-input"),
    Case("vqa-variant-unknown", vqa("p.jsonl", "--variant", "2019"), VQA_RECORDS, err=r"--variant", tag="usage-box"),
    Case("vqa-variant-harness", vqa("p.jsonl", "--variant", "harness"), VQA_RECORDS, code=0),
    Case("vqa-answers-fewer-than-ten", vqa("p.jsonl"),
         {"p.jsonl": inputs.jsonl([{**r, "answers": r["answers"][:2]} for r in inputs.vqa_records()])}, code=0),
    # DocVQA / InfographicVQA RRC files
    Case("docvqa-rrc-ok", doc(*RRC), DOC, code=0),
    Case("docvqa-rrc-answer-number", doc(*RRC), {**DOC, "sub.json": _sub(1, answer=625)},
         err=r"sub\.json:\d+: 'answer' must be a string, got the number 625"),
    Case("docvqa-rrc-question-id-null", doc(*RRC), {**DOC, "sub.json": _sub(1, questionId=None)},
         err=r"sub\.json:\d+: 'questionId' must be a string or an integer"),
    Case("docvqa-rrc-gt-answers-string", doc(*RRC), {**DOC, "gt.json": _gt(1, answers="625")},
         err=r"gt\.json:\d+: 'answers' must be a non-empty list"),
    Case("docvqa-rrc-gt-answers-numbers", doc(*RRC), {**DOC, "gt.json": _gt(1, answers=[625])},
         err=r"gt\.json:\d+: .*'answers'", tag="coercion-qa"),
    Case("docvqa-rrc-gt-data-not-list", doc(*RRC), {**DOC, "gt.json": '{"data": {"a": 1}}'},
         err=r"gt\.json: 'data' must be the list of records, got an object"),
    Case("docvqa-rrc-gt-record-not-object", doc(*RRC), {**DOC, "gt.json": inputs.dumps({"data": [GT["data"][0], 7]})},
         err=r"gt\.json:\d+: expected a JSON object, got a number"),
    Case("docvqa-rrc-gt-duplicate", doc(*RRC), {**DOC, "gt.json": inputs.dumps({**GT, "data": GT["data"] + GT["data"][:1]})},
         err=r"gt\.json:\d+: duplicate reference id"),
    Case("docvqa-rrc-without-refs", doc("sub.json"), DOC, err=r"sub\.json: official results need the ground truth: pass --refs"),
    Case("docvqa-rrc-gt-utf16", doc(*RRC), {**DOC, "gt.json": ("\ufeff" + DOC["gt.json"]).encode("utf-16-le")},
         err=r"gt\.json:1: is UTF-16 encoded"),
    Case("docvqa-out-is-refs", ("docvqa", *RRC, "--out", "gt.json"), DOC, out="gt.json", err=r"(?i)(input|same file)",
         tag="out-is-input"),
    Case("docvqa-threshold-nan", doc("p.jsonl", "--threshold", "nan"), DOC_RECORDS, err=r"--threshold",
         tag="usage-box"),
    Case("docvqa-threshold-inf", doc("p.jsonl", "--threshold", "inf"), DOC_RECORDS, err=r"--threshold",
         tag="usage-box"),
    Case("docvqa-threshold-neg-inf", doc("p.jsonl", "--threshold", "-inf"), DOC_RECORDS, err=r"--threshold",
         tag="usage-box"),
    Case("docvqa-threshold-above-one", doc("p.jsonl", "--threshold", "1.5"), DOC_RECORDS, err=r"--threshold",
         tag="usage-box"),
    Case("docvqa-threshold-negative", doc("p.jsonl", "--threshold", "-0.1"), DOC_RECORDS, err=r"--threshold",
         tag="usage-box"),
    Case("docvqa-threshold-word", doc("p.jsonl", "--threshold", "half"), DOC_RECORDS, err=r"--threshold",
         tag="usage-box"),
    Case("docvqa-threshold-edges", doc("p.jsonl", "--threshold", "1"), DOC_RECORDS, code=0),
]  # fmt: skip
