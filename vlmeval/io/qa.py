"""VQA and DocVQA inputs: generic records or the official formats, validated and joined on question id.

VQA: generic records ``{"id", "prediction", "answers", "answer_type"?, "question_type"?, "question"?}``,
or VQA v2 results ``[{"question_id", "answer"}]`` with ``--annotations`` (``{"annotations": [...]}``, each
with ``answers: [{"answer", ...}]``) and optionally ``--questions`` (``{"questions": [...]}``, for the
question text). DocVQA/InfographicVQA: generic records ``{"id", "prediction", "answers", ...}`` or an RRC
submission ``[{"questionId", "answer"}]`` with ``--refs`` (the ``{"data": [...]}`` ground truth, with
``answer_type``/``question_types``, ``evidence``, ``operation/reasoning`` lists where present).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmeval.errors import InputError, counted
from vlmeval.io.fields import describe, integral, not_an_id, record_id, text_field
from vlmeval.io.join import index_ids, join_ids, overridden
from vlmeval.io.readers import RecordFile, read_json_document, read_records

# group fields reported in the breakdown, and where the official formats keep them
VQA_GROUPS = {"answer_type": ("answer_type",), "question_type": ("question_type",)}
DOCVQA_GROUPS = {
    "answer_type": ("answer_type", "question_types"),
    "evidence": ("evidence",),
    "operation": ("operation", "operation/reasoning"),
}


@dataclass
class QAData:
    ids: list[str]
    predictions: list[str]
    answers: list[list[str]]
    answered: list[bool]  # False: no prediction (--allow-missing), scored 0
    groups: dict[str, list[list[str]]]  # group name -> per question, the groups it belongs to
    questions: list[str | None]
    inputs: list[dict[str, Any]]
    counts: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    window: Any = None  # a part of a sharded run (--shard): its place in the whole input (vlmeval.shard.Window)


def _answers(rf: RecordFile, where, record: dict, key: str = "answers") -> list[str]:
    """A list of strings, or of ``{"answer": ...}`` objects (VQA annotations)."""
    if key not in record:
        raise _error(rf, where, f"missing field '{key}'")
    value = record[key]
    if isinstance(value, str) and rf.format in ("csv", "tsv"):
        import json

        try:
            value = json.loads(value) if value.strip().startswith("[") else [value]
        except (json.JSONDecodeError, RecursionError):
            raise _error(rf, where, f"'{key}' looks like a JSON list but does not parse (or nests too deep)") from None
    if not isinstance(value, list) or not value:
        raise _error(rf, where, f"'{key}' must be a non-empty list")
    out = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("answer")
        if not isinstance(item, str):
            found = describe(item)
            raise _error(
                rf, where, f"'{key}' must hold strings (or objects with an 'answer' string), found {found}"
                + (": numbers are not turned into text (write the text itself, in quotes)" if "number" in found else ""),
            )  # fmt: skip
        out.append(item)
    return out


def _error(rf: RecordFile, where, message: str) -> InputError:
    return rf.error(where, message)


def _group_values(rf: RecordFile, where, record: dict, names: tuple[str, ...]) -> list[str]:
    """A group field (answer_type, evidence, ...): a string or a list of strings."""
    for name in names:
        value = record.get(name)
        if value is None or value == "":
            continue
        values = value if isinstance(value, list) else [value]
        bad = next((v for v in values if not isinstance(v, str)), None)
        if bad is not None:
            raise _error(rf, where, f"'{name}' must be a string or a list of strings, found {describe(bad)}")
        return values  # an empty list: the question belongs to no group of this kind
    return []


def _references(
    rf: RecordFile, records: list[dict], id_key: str, groups: dict[str, tuple[str, ...]], where_of
):
    ids, answers, group_values, questions = [], [], {g: [] for g in groups}, []
    for i, rec in enumerate(records):
        where = where_of(i)
        if not isinstance(rec, dict):
            raise _error(rf, where, "expected a JSON object")
        if id_key not in rec:
            raise _error(rf, where, f"missing field '{id_key}'")
        ids.append(_id(rf, where, rec[id_key], id_key))
        answers.append(_answers(rf, where, rec))
        for g, names in groups.items():
            group_values[g].append(_group_values(rf, where, rec, names))
        q = rec.get("question")
        questions.append(q if isinstance(q, str) else None)
    return ids, answers, group_values, questions


def _id(rf: RecordFile, where, value, key: str) -> str:
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
        raise _error(rf, where, f"'{key}' must be a string or an integer")
    if isinstance(value, float):
        whole = integral(value)
        if whole is None:
            raise _error(rf, where, f"'{key}' must be a string or an integer, {not_an_id(value)}")
        value = whole
    return str(value).strip() if isinstance(value, str) else str(value)


def _predictions(rf: RecordFile):
    first = rf.records[0] if rf.records else {}
    for id_key, text_key in (("question_id", "answer"), ("questionId", "answer"), ("id", "prediction")):
        if id_key in first and text_key in first:
            break
    else:
        id_key, text_key = "id", "prediction"
    ids, preds = [], []
    for i, rec in enumerate(rf.records):
        ids.append(record_id(rf, i, rec, id_key))
        preds.append(text_field(rf, i, rec, text_key))
    return ids, preds, id_key


def _load(
    predictions: str | Path,
    references: str | Path | None,
    questions: str | Path | None,
    groups: dict[str, tuple[str, ...]],
    allow_missing: bool,
    references_option: str,
) -> QAData:
    pred_file = read_records(predictions)
    if not pred_file.records:
        raise InputError("no prediction records found", pred_file.path)
    pred_ids, preds, pred_id_key = _predictions(pred_file)
    pred_index = index_ids(pred_file, pred_ids, "prediction")
    inputs = [pred_file.input_entry()]

    if references is None:
        if pred_id_key != "id":
            raise InputError(
                f"official results need the ground truth: pass {references_option}", pred_file.path
            )
        ref_file = pred_file
        ref_ids, answers, group_values, question_text = _references(
            pred_file, pred_file.records, "id", groups, lambda i: i
        )
    else:
        ref_file = read_records(references)
        doc = ref_file.document
        if not ref_file.records and isinstance(doc, dict) and isinstance(doc.get("annotations"), list):
            records, id_key = doc["annotations"], "question_id"  # VQA v2 annotations

            def where_of(i):
                return ("annotations", i)
        elif ref_file.records:
            records = ref_file.records
            id_key = next((k for k in ("questionId", "question_id", "id") if k in records[0]), "id")

            def where_of(i):
                return i
        else:
            raise InputError(
                "no ground-truth records found (expected a list, {'data': [...]} or {'annotations': [...]})",
                ref_file.path,
            )
        ref_ids, answers, group_values, question_text = _references(
            ref_file, records, id_key, groups, where_of
        )
        inputs.append({**ref_file.input_entry(), "records": len(ref_ids)})
    ref_index = index_ids(ref_file, ref_ids, "reference") if references is not None else pred_index

    question_warnings: list[str] = []
    if questions is not None:
        qfile = read_json_document(questions)
        qdoc = qfile.document
        items = qdoc.get("questions") if isinstance(qdoc, dict) else qdoc
        if not isinstance(items, list):
            raise InputError("a VQA questions file needs a 'questions' list", qfile.path)
        # VQA v2: a question's image in the questions file and in the annotations are one image
        ann_image = {str(a.get("question_id")): a.get("image_id") for a in (records if references is not None else [])
                     if isinstance(a, dict) and "image_id" in a}  # fmt: skip
        text: dict[str, str] = {}
        other_image = 0
        for k, q in enumerate(items):
            where = ("questions", k) if isinstance(qdoc, dict) else k
            if not isinstance(q, dict) or "question_id" not in q:
                raise qfile.error(where, "each question needs a 'question_id' (and its 'question')")
            if not isinstance(q.get("question"), str):
                raise qfile.error(where, f"'question' must be a string, got {describe(q.get('question'))}")
            key = _id(qfile, where, q["question_id"], "question_id")
            if key in text:
                raise qfile.error(where, f"duplicate question_id {key!r}")
            text[key] = q["question"]
            other_image += key in ann_image and "image_id" in q and q["image_id"] != ann_image[key]
        unknown = sum(1 for k in ref_ids if k not in text)
        if other_image:
            question_warnings.append(
                f"{counted(other_image, 'question')} in {qfile.path.name} {'names' if other_image == 1 else 'name'} "
                "another image than the annotations do (another split's questions file?)"
            )
        if unknown:
            question_warnings.append(
                f"{counted(unknown, 'question')} of the ground truth {'is' if unknown == 1 else 'are'} not in "
                f"{qfile.path.name} (another split?): {'its failure row has' if unknown == 1 else 'their failure rows have'} no question text"
            )
        question_text = [text.get(k, t) for k, t in zip(ref_ids, question_text)]
        inputs.append({"path": str(qfile.path), "sha256": qfile.sha256, "records": len(items)})

    if references is None:
        counts: dict[str, Any] = {"records": len(pred_ids), "scored": len(pred_ids), "skipped": {}}
        return QAData(
            pred_ids, preds, answers, [True] * len(preds), group_values, question_text, inputs, counts,
            question_warnings,
        )

    joined = join_ids(
        pred_index,
        ref_index,
        pred_file=pred_file,
        ref_file=ref_file,
        allow_missing=allow_missing,
        missing_as="0",
    )
    order = joined.ref_pos
    data = QAData(
        ids=joined.ids,
        predictions=[preds[p] if p >= 0 else "" for p in joined.pred_pos],
        answers=[answers[r] for r in order],
        answered=[p >= 0 for p in joined.pred_pos],
        groups={g: [values[r] for r in order] for g, values in group_values.items()},
        questions=[question_text[r] for r in order],
        inputs=inputs,
        counts={
            "records": len(pred_ids),
            "scored": len(joined.ids),
            "skipped": joined.skipped(),
            **joined.counts(),
        },
        warnings=[*joined.warnings("predictions"), *overridden(pred_file, "answers", references, references_option.split(" (")[0]),
                  *_mp_docvqa(ref_file), *question_warnings],
    )
    return data


def _mp_docvqa(ref_file: RecordFile) -> list[str]:
    """MP-DocVQA ground truth (its page fields) is scored here as RRC DocVQA scores it: say so."""
    if ref_file.records and isinstance(ref_file.records[0], dict) and "answer_page_idx" in ref_file.records[0]:
        return [f"{ref_file.path.name} is MP-DocVQA ground truth: its own evaluator does not collapse whitespace "
                "as RRC DocVQA's ANLS (the default, --variant rrc) does; --variant mp-docvqa scores as it does"]
    return []


def load_vqa(predictions, annotations=None, questions=None, *, allow_missing: bool = False) -> QAData:
    return _load(
        predictions, annotations, questions, VQA_GROUPS, allow_missing, "--annotations (and --questions)"
    )


def load_docvqa(predictions, refs=None, *, allow_missing: bool = False) -> QAData:
    return _load(predictions, refs, None, DOCVQA_GROUPS, allow_missing, "--refs")
