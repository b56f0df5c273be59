"""One ``TaskSpec`` per command that scores a record file. The generic families (families.py) turn each into
cases: file system, encodings, formats, every field's wrong types, output paths, option values, model text.
A new command (mcq, yesno, merge...) adds a spec here and gets all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.hostile import inputs
from vlmeval.tasks import TASKS


@dataclass(frozen=True)
class TaskSpec:
    name: str  # case name prefix
    command: str
    records: Callable[[], list[dict]]  # valid, self-contained records (one JSONL file)
    fast: tuple[str, ...] = ()  # options that keep a run fast (caption: no METEOR, no JVM)
    # field -> kind (families.BAD): each kind's wrong values are written into record 2 (line 2)
    fields: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    # fields read by io/qa.py (not the input layer's files): their wrong-type cases are marked for its owner
    qa_fields: tuple[str, ...] = ()
    text: str | None = "prediction"  # where model text goes (shown in the failures table)
    what: str = "prediction"  # "no <what> records found"
    delimited: bool = True  # CSV/TSV input is supported
    metrics: bool = True  # the command takes --metrics
    primary: str = ""  # a metric to gate on
    extra: Callable[[], dict] | None = None  # more files every case needs (images...)
    # which generic families apply (families.FAMILIES names); None: all of them
    families: tuple[str, ...] | None = None
    # the cases that need a real process as another user (permissions when run as root): a second or so
    # each, and the same code path for every command, so a few specs carry them
    as_nobody: bool = False

    def argv(self, source: str = "p.jsonl", *more: str, out: str | None = "r.json") -> tuple[str, ...]:
        tail = ("--out", out) if out is not None else ()
        return (self.command, source, *self.fast, *tail, *more)


CAPTION = TaskSpec(
    name="caption",
    command="caption",
    records=inputs.caption_records,
    fast=("--metrics", "Bleu,ROUGE_L,CIDEr"),
    fields={"id": "id", "prediction": "text", "references": "texts", "image": "opt_text"},
    required=("id", "prediction", "references"),
    primary="CIDEr",
    as_nobody=True,
)

VQA = TaskSpec(
    name="vqa",
    command="vqa",
    records=inputs.vqa_records,
    fields={"id": "id", "prediction": "text", "answers": "texts", "answer_type": "group"},
    required=("id", "prediction", "answers"),
    qa_fields=("answers", "answer_type"),
    primary="vqa_accuracy",
)

DOCVQA = TaskSpec(
    name="docvqa",
    command="docvqa",
    records=inputs.docvqa_records,
    fields={"id": "id", "prediction": "text", "answers": "texts", "evidence": "group"},
    required=("id", "prediction", "answers"),
    qa_fields=("answers", "evidence"),
    primary="ANLS",
)

GROUNDING = TaskSpec(
    name="grounding",
    command="grounding",
    records=inputs.grounding_records,
    fields={
        "id": "id",
        "prediction": "box_prediction",
        "gt_boxes": "boxes",
        "width": "number",
        "height": "number",
        "image": "opt_text",
    },
    required=("id", "prediction", "gt_boxes"),
    primary="acc@0.5",
)

PHRASE = TaskSpec(
    name="phrase",
    command="grounding",
    records=inputs.phrase_records,
    fast=("--score-threshold", "0.5"),
    fields={"scores": "scores"},
    text=None,
    families=("fields", "formats"),  # the rest is the grounding command's, covered by GROUNDING
    primary="f1",
)

RANKED = TaskSpec(
    name="ranked",
    command="retrieval",
    records=inputs.ranked_records,
    fields={"query": "id", "ranking": "ids", "relevant": "ids"},
    required=("query", "ranking"),
    text=None,
    what="ranked list",
    delimited=False,
    metrics=False,
    as_nobody=True,
    primary="MRR",
)

# the newer commands: the families that exercise the input path and the CLI around it
MCQ = TaskSpec(
    name="mcq",
    command="mcq",
    records=inputs.mcq_records,
    fields={"id": "id", "prediction": "text", "answer": "text", "category": "opt_text"},
    required=("id", "prediction", "options", "answer"),
    primary="accuracy",
    families=("filesystem", "fields", "outputs", "model_text"),
)

YESNO = TaskSpec(
    name="yesno",
    command="yesno",
    records=inputs.yesno_records,
    fields={"id": "id", "prediction": "text", "answer": "text", "category": "opt_text"},
    required=("id", "prediction", "answer"),
    primary="accuracy",
    families=("filesystem", "fields", "outputs", "model_text"),
)

# the specs of the commands this version has (a command still being written has no cases yet)
SPECS = [s for s in (CAPTION, VQA, DOCVQA, GROUNDING, PHRASE, RANKED, MCQ, YESNO) if s.command in TASKS]
