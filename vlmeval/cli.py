"""The ``vlmeval`` command line: argument handling only. Work happens in ``vlmeval.tasks``/``vlmeval.report``.

Exit codes: 0 ok, 1 a gate failed (the report is still written), 2 bad usage or input (one sentence on
stderr, no traceback), 3 an internal error (a bug: please report it).
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from vlmeval import __version__
from vlmeval.errors import VlmevalError


class _Group(TyperGroup):
    """Turns our errors into one sentence and exit 2, and anything unexpected into one line and exit 3."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except VlmevalError as exc:
            from rich.markup import escape

            _stderr().print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            ctx.exit(130)
        except BrokenPipeError:  # stdout closed early (| head): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except Exception as exc:
            # usage errors and exits belong to the CLI framework (typer, which vendors click)
            if type(exc).__module__.split(".")[0] in ("typer", "click") or os.environ.get("VLMEVAL_DEBUG"):
                raise
            sys.stderr.write(
                f"vlmeval: internal error: {type(exc).__name__}: {exc} "
                "(a bug; rerun with VLMEVAL_DEBUG=1 for the traceback)\n"
            )
            ctx.exit(3)


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,  # a W&B key may be a local variable
    help="Score vision-language model outputs: official COCO caption, VQA, DocVQA, grounding and retrieval "
    "numbers. Results go to stdout, diagnostics to stderr; every command writes a JSON report.",
)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


class TokenizerName(str, Enum):
    ptb = "ptb"
    ptb_jar = "ptb-jar"


# Options every task command takes (CONTRACT.md "Common options").
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Report JSON path \\[default: vlmeval-<task>.json].", show_default=False),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="What to print on stdout.")]
MinOpt = Annotated[
    list[str] | None,
    typer.Option("--min", help="Gate: exit 1 unless METRIC >= VALUE (repeatable).", metavar="METRIC=VALUE"),
]
MaxOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--max",
        help="Gate for lower-is-better metrics: exit 1 unless METRIC <= VALUE.",
        metavar="METRIC=VALUE",
    ),
]
BootstrapOpt = Annotated[
    int,
    typer.Option("--bootstrap", min=0, help="Bootstrap resamples for 95% confidence intervals (0: none)."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for resampling.")]
FailuresOpt = Annotated[
    int, typer.Option("--failures", min=0, help="Put the K worst samples in the report.", metavar="K")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or warnings on stderr.")]
WandbOpt = Annotated[
    bool,
    typer.Option(
        "--wandb",
        help="Also log the report as a W&B run ($WANDB_PROJECT [default: vlmeval-<task>], $WANDB_ENTITY; "
        "WANDB_MODE=offline works).",
    ),
]
AllowMissingOpt = Annotated[
    bool,
    typer.Option(
        "--allow-missing", help="Score references that have no prediction as empty predictions (counted)."
    ),
]


class Common:
    """The common options of one task command."""

    def __init__(
        self, task, out, fmt, minimum, maximum, min_cider, bootstrap, seed, failures, quiet, wandb=False
    ):
        self.task = task
        self.wandb = wandb
        self.out = out or Path(f"vlmeval-{task}.json")
        self.format = fmt
        self.bootstrap, self.seed, self.failures, self.quiet = bootstrap, seed, failures, quiet
        from vlmeval.report.gates import parse_gates

        self.gates = parse_gates(minimum, maximum, min_cider)

    def progress(self):
        from vlmeval.progress import Progress

        return Progress(enabled=False if self.quiet else None)

    def check_gates(self, known: list[str]) -> None:
        from vlmeval.report.gates import canonical

        self.gates = canonical(self.gates, known, self.task)

    def options(self) -> dict:
        return {"bootstrap": self.bootstrap, "seed": self.seed}


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _warn(messages: list[str], quiet: bool) -> None:
    if quiet or not messages:
        return
    from rich.markup import escape

    console = _stderr()
    for message in messages:
        console.print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


def _finish(report, common: Common) -> None:
    """Gates, atomic write, stdout, exit code."""
    from vlmeval.report.gates import evaluate_gates
    from vlmeval.report.report import write_report

    if common.bootstrap:
        from vlmeval.report.bootstrap import add_intervals

        add_intervals(report, common.bootstrap, common.seed)
    gate_error = None
    try:
        report.gates = evaluate_gates(common.gates, report.metrics)
    except VlmevalError as exc:
        gate_error = exc
    write_report(report, common.out)
    _warn(report.warnings, common.quiet)
    if gate_error is not None:
        raise gate_error
    _print_report(report, common.format)
    if common.wandb:
        import os

        from vlmeval.report.wandb_log import log_report

        # the report is on disk first: a W&B failure exits 2 with how to retry, and loses nothing
        where = log_report(
            report, common.out, project=os.environ.get("WANDB_PROJECT"), entity=os.environ.get("WANDB_ENTITY"),
            run_name=None, tags=[],
        )  # fmt: skip
        if not common.quiet:
            _stderr().print(f"logged to W&B{f' ({where})' if where else ''}", markup=False)
    if any(not g["passed"] for g in report.gates):
        failed = ", ".join(
            f"{g['metric']} {g['value']:.4g} (needs {g['op']} {g['threshold']:g})"
            for g in report.gates
            if not g["passed"]
        )
        if not common.quiet:
            _stderr().print(f"gate failed: {failed}", markup=False)
        raise typer.Exit(code=1)


def _print_report(report, fmt: OutputFormat) -> None:
    if fmt == OutputFormat.json:
        import json

        from vlmeval.report.report import _clean

        sys.stdout.write(json.dumps(_clean(report.to_dict()), ensure_ascii=False, indent=1) + "\n")
        return
    from rich.console import Console
    from rich.text import Text

    from vlmeval.report.table import renderables

    console = Console(highlight=False)
    for part in renderables(report):
        console.print(part, soft_wrap=isinstance(part, Text))


@app.command()
def caption(
    preds: Annotated[
        Path, typer.Argument(help="Predictions: JSONL/JSON/CSV/TSV/Parquet records, or COCO results JSON.")
    ],
    refs: Annotated[
        Path | None,
        typer.Option("--refs", help="References: records with 'references', or a COCO captions file."),
    ] = None,
    images: Annotated[Path | None, typer.Option("--images", help="Image folder (CLIPScore).")] = None,
    metrics: Annotated[
        str | None,
        typer.Option(
            "--metrics",
            help="Metric keys or families, comma-separated \\[default: Bleu,METEOR,ROUGE_L,CIDEr].",
        ),
    ] = None,
    tokenizer: Annotated[
        TokenizerName,
        typer.Option(
            "--tokenizer", help="ptb: Java-free, the jar's tokens; ptb-jar: run CoreNLP's jar itself."
        ),
    ] = TokenizerName.ptb,
    bertscore_model: BertModelOpt = None,
    bertscore_layer: BertLayerOpt = None,
    bertscore_idf: BertIdfOpt = False,
    bertscore_rescale: BertRescaleOpt = False,
    bertscore_lang: BertLangOpt = "en",
    bertscore_baseline: BertBaselineOpt = None,
    clip_model: ClipModelOpt = None,
    precision: PrecisionOpt = "fp32",
    device: DeviceOpt = None,
    allow_missing: AllowMissingOpt = False,
    out: OutOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    minimum: MinOpt = None,
    maximum: MaxOpt = None,
    min_cider: Annotated[
        float | None, typer.Option("--min-cider", help="Alias of --min CIDEr=VALUE.")
    ] = None,
    bootstrap: BootstrapOpt = 0,
    seed: SeedOpt = 12345,
    failures: FailuresOpt = 0,
    to_wandb: WandbOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Caption metrics as pycocoevalcap 1.2 computes them (BLEU, METEOR, ROUGE-L, CIDEr-D), plus more on request."""
    from vlmeval.io.captions import load_captions
    from vlmeval.tasks.caption import caption_metrics, evaluate_caption, require_caption_extras

    common = Common(
        "caption", out, fmt, minimum, maximum, min_cider, bootstrap, seed, failures, quiet, to_wandb
    )
    keys = caption_metrics(metrics)
    common.check_gates(keys)
    require_caption_extras(keys)
    data = load_captions(preds, refs, images_dir=images, allow_missing=allow_missing)
    with common.progress() as progress:
        report = evaluate_caption(
            data,
            keys,
            tokenizer=tokenizer.value,
            progress=progress,
            failures=failures,
            options=common.options(),
            neural=_neural(
                bertscore_model, bertscore_layer, bertscore_idf, bertscore_rescale, bertscore_lang,
                bertscore_baseline, clip_model, precision, device,
            ),
        )  # fmt: skip
    _finish(report, common)


class VqaVariant(str, Enum):
    official_2021 = "official-2021"
    official_2017 = "official-2017"
    harness = "harness"


MetricsOpt = Annotated[
    str | None, typer.Option("--metrics", help="Metric keys or families, comma-separated.")
]
# Model-based metrics (BERTScore, CLIPScore): local models only, nothing downloads.
BertModelOpt = Annotated[
    str | None,
    typer.Option(
        "--bertscore-model",
        help="BERTScore model: a local folder or a hub name in the local cache "
        "\\[default: $VLMEVAL_BERTSCORE_MODEL, else roberta-large].",
        show_default=False,
    ),
]
BertLayerOpt = Annotated[
    int | None,
    typer.Option(
        "--bertscore-layer", min=0, help="Layer to use \\[default: bert_score's table, else the last]."
    ),
]
BertIdfOpt = Annotated[bool, typer.Option("--bertscore-idf", help="IDF weights from the references.")]
BertRescaleOpt = Annotated[
    bool, typer.Option("--bertscore-rescale", help="Rescale with bert_score's baseline for the model.")
]
BertLangOpt = Annotated[str, typer.Option("--bertscore-lang", help="Language of the rescale baseline.")]
BertBaselineOpt = Annotated[
    Path | None, typer.Option("--bertscore-baseline", help="A custom baseline file (bert_score's format).")
]
ClipModelOpt = Annotated[
    str | None,
    typer.Option(
        "--clip-model",
        help="CLIP model: a local folder or a cached hub name "
        "\\[default: $VLMEVAL_CLIP_MODEL, else openai/clip-vit-base-patch32].",
        show_default=False,
    ),
]
PrecisionOpt = Annotated[
    str, typer.Option("--precision", help="Model precision: fp32 (reference numbers), bf16 or fp16.")
]
DeviceOpt = Annotated[
    str | None,
    typer.Option("--device", help="torch device for model metrics \\[default: cuda if available]."),
]


def _neural(model, layer, idf, rescale, lang, baseline, clip_model, precision, device):
    from vlmeval.models import PRECISIONS
    from vlmeval.tasks.neural import NeuralOptions

    if precision not in PRECISIONS:
        raise VlmevalError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return NeuralOptions(
        bertscore_model=model,
        bertscore_layer=layer,
        bertscore_idf=idf,
        bertscore_rescale=rescale,
        bertscore_lang=lang,
        bertscore_baseline=str(baseline) if baseline else None,
        clip_model=clip_model,
        precision=precision,
        device=device,
    )


TokenizerOpt = Annotated[
    TokenizerName,
    typer.Option("--tokenizer", help="For BLEU/METEOR on free-form answers: ptb (Java-free) or ptb-jar."),
]
MinCiderOpt = Annotated[float | None, typer.Option("--min-cider", help="Alias of --min CIDEr=VALUE.")]


@app.command()
def vqa(
    preds: Annotated[
        Path,
        typer.Argument(help="Predictions: records with 'prediction' and 'answers', or VQA v2 results JSON."),
    ],
    annotations: Annotated[
        Path | None, typer.Option("--annotations", help="VQA v2 annotations (or records with 'answers').")
    ] = None,
    questions: Annotated[
        Path | None, typer.Option("--questions", help="VQA v2 questions (question text).")
    ] = None,
    variant: Annotated[
        VqaVariant, typer.Option("--variant", help="Which official script (or harness) to reproduce.")
    ] = VqaVariant.official_2021,
    metrics: MetricsOpt = None,
    tokenizer: TokenizerOpt = TokenizerName.ptb,
    bertscore_model: BertModelOpt = None,
    bertscore_layer: BertLayerOpt = None,
    bertscore_idf: BertIdfOpt = False,
    bertscore_rescale: BertRescaleOpt = False,
    bertscore_lang: BertLangOpt = "en",
    bertscore_baseline: BertBaselineOpt = None,
    precision: PrecisionOpt = "fp32",
    device: DeviceOpt = None,
    allow_missing: Annotated[
        bool, typer.Option("--allow-missing", help="Score questions without a prediction as 0 (counted).")
    ] = False,
    out: OutOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    minimum: MinOpt = None,
    maximum: MaxOpt = None,
    min_cider: MinCiderOpt = None,
    bootstrap: BootstrapOpt = 0,
    seed: SeedOpt = 12345,
    failures: FailuresOpt = 0,
    to_wandb: WandbOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """VQA accuracy as the official VQA evaluation computes it, with answer-type breakdown, EM and token F1."""
    from vlmeval.io.qa import load_vqa
    from vlmeval.tasks.vqa import evaluate_vqa, vqa_metrics

    common = Common("vqa", out, fmt, minimum, maximum, min_cider, bootstrap, seed, failures, quiet, to_wandb)
    keys = vqa_metrics(metrics)
    common.check_gates(keys + (["vqa_accuracy_unrounded"] if "vqa_accuracy" in keys else []))
    if questions is not None and annotations is None:
        raise VlmevalError("--questions needs --annotations")
    data = load_vqa(preds, annotations, questions, allow_missing=allow_missing)
    with common.progress() as progress:
        report = evaluate_vqa(
            data, keys, variant=variant.value, tokenizer=tokenizer.value, progress=progress,
            failures=failures, options=common.options(),
            neural=_neural(
                bertscore_model, bertscore_layer, bertscore_idf, bertscore_rescale, bertscore_lang,
                bertscore_baseline, None, precision, device,
            ),
        )  # fmt: skip
    _finish(report, common)


@app.command()
def docvqa(
    preds: Annotated[
        Path,
        typer.Argument(help="Predictions: records with 'prediction' and 'answers', or an RRC submission."),
    ],
    refs: Annotated[
        Path | None, typer.Option("--refs", help="Ground truth: RRC {'data': [...]} or records.")
    ] = None,
    threshold: Annotated[
        float,
        typer.Option("--threshold", min=0.0, max=1.0, help="ANLS threshold tau: lower similarities score 0."),
    ] = 0.5,
    metrics: MetricsOpt = None,
    tokenizer: TokenizerOpt = TokenizerName.ptb,
    bertscore_model: BertModelOpt = None,
    bertscore_layer: BertLayerOpt = None,
    bertscore_idf: BertIdfOpt = False,
    bertscore_rescale: BertRescaleOpt = False,
    bertscore_lang: BertLangOpt = "en",
    bertscore_baseline: BertBaselineOpt = None,
    precision: PrecisionOpt = "fp32",
    device: DeviceOpt = None,
    allow_missing: Annotated[
        bool, typer.Option("--allow-missing", help="Score questions without a prediction as 0 (counted).")
    ] = False,
    out: OutOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    minimum: MinOpt = None,
    maximum: MaxOpt = None,
    min_cider: MinCiderOpt = None,
    bootstrap: BootstrapOpt = 0,
    seed: SeedOpt = 12345,
    failures: FailuresOpt = 0,
    to_wandb: WandbOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """ANLS as the RRC DocVQA/InfographicVQA scorer computes it, with breakdowns, EM and token F1."""
    from vlmeval.io.qa import load_docvqa
    from vlmeval.tasks.docvqa import docvqa_metrics, evaluate_docvqa

    common = Common(
        "docvqa", out, fmt, minimum, maximum, min_cider, bootstrap, seed, failures, quiet, to_wandb
    )
    keys = docvqa_metrics(metrics)
    common.check_gates(keys)
    data = load_docvqa(preds, refs, allow_missing=allow_missing)
    with common.progress() as progress:
        report = evaluate_docvqa(
            data, keys, threshold=threshold, tokenizer=tokenizer.value, progress=progress,
            failures=failures, options=common.options(),
            neural=_neural(
                bertscore_model, bertscore_layer, bertscore_idf, bertscore_rescale, bertscore_lang,
                bertscore_baseline, None, precision, device,
            ),
        )  # fmt: skip
    _finish(report, common)


class BoxFormat(str, Enum):
    xyxy = "xyxy"
    xywh = "xywh"
    norm1 = "norm1"
    norm1000 = "norm1000"
    qwen_vl = "qwen-vl"
    qwen25_vl = "qwen2.5-vl"
    paligemma = "paligemma"
    florence2 = "florence2"
    kosmos2 = "kosmos2"
    gemini = "gemini"
    auto = "auto"


@app.command()
def grounding(
    preds: Annotated[
        Path,
        typer.Argument(
            help="Predictions: records with 'prediction' (text or boxes) and 'gt_boxes', or COCO detection results JSON."
        ),
    ],
    refs: Annotated[
        Path | None,
        typer.Option(
            "--refs", help="Ground truth: records with 'gt_boxes' (joined on id), or COCO instances_*.json."
        ),
    ] = None,
    box_format: Annotated[
        BoxFormat,
        typer.Option(
            "--box-format",
            help="How predicted boxes map to pixels (see README); auto guesses as VLMEvalKit does.",
        ),
    ] = BoxFormat.xyxy,
    images: Annotated[
        Path | None, typer.Option("--images", help="Image folder, for sizes when records lack width/height.")
    ] = None,
    iou: Annotated[
        float, typer.Option("--iou", min=0.0, max=1.0, help="IoU threshold for acc@T and matching.")
    ] = 0.5,
    score_threshold: Annotated[
        float | None,
        typer.Option(
            "--score-threshold",
            help="Keep boxes scoring at least this for precision/recall/F1 \\[default: all boxes; 0.5 for COCO detection].",
            show_default=False,
        ),
    ] = None,
    min_pixels: Annotated[
        int, typer.Option("--min-pixels", min=1, help="qwen2.5-vl: smart_resize min_pixels.")
    ] = 56 * 56,
    max_pixels: Annotated[
        int, typer.Option("--max-pixels", min=1, help="qwen2.5-vl: smart_resize max_pixels.")
    ] = 16384 * 28 * 28,
    patch_factor: Annotated[
        int, typer.Option("--patch-factor", min=1, help="qwen2.5-vl: smart_resize factor.")
    ] = 28,
    metrics: MetricsOpt = None,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing", help="Score samples without a prediction as no box (IoU 0, counted)."
        ),
    ] = False,
    out: OutOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    minimum: MinOpt = None,
    maximum: MaxOpt = None,
    min_cider: MinCiderOpt = None,
    bootstrap: BootstrapOpt = 0,
    seed: SeedOpt = 12345,
    failures: FailuresOpt = 0,
    to_wandb: WandbOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """IoU, acc@T, centre accuracy, box precision/recall/F1 from boxes in any model's frame; COCO mAP for detection."""
    from vlmeval.io.box_text import NEEDS_SIZE, ResizeOptions
    from vlmeval.io.grounding import is_coco_detection, load_detection, load_grounding
    from vlmeval.io.readers import read_records
    from vlmeval.tasks.grounding import evaluate_detection, evaluate_grounding, grounding_metrics

    common = Common(
        "grounding", out, fmt, minimum, maximum, min_cider, bootstrap, seed, failures, quiet, to_wandb
    )
    pred_file = read_records(preds)
    detection = bool(pred_file.records) and is_coco_detection(pred_file)
    keys = grounding_metrics(metrics, iou, detection)
    common.check_gates(keys + ([] if detection else ["matched_iou"]))
    if detection:
        if refs is None:
            raise VlmevalError("COCO detection results need --refs instances_*.json (the COCO ground truth)")
        data = load_detection(pred_file, refs)
        with common.progress() as progress:
            report = evaluate_detection(
                data, keys, iou=iou, score_threshold=0.5 if score_threshold is None else score_threshold,
                progress=progress, options=common.options(),
            )  # fmt: skip
    else:
        data = load_grounding(
            pred_file,
            refs,
            images_dir=images,
            need_size=box_format.value in NEEDS_SIZE,
            allow_missing=allow_missing,
        )
        with common.progress() as progress:
            report = evaluate_grounding(
                data, keys, box_format=box_format.value, iou=iou, score_threshold=score_threshold,
                resize=ResizeOptions(patch_factor, min_pixels, max_pixels), progress=progress,
                failures=failures, options=common.options(),
            )  # fmt: skip
    _finish(report, common)


class RecallDefinition(str, Enum):
    any = "any"
    fraction = "fraction"


class Ties(str, Enum):
    average = "average"
    id = "id"


class EmptyQueries(str, Enum):
    error = "error"
    zero = "zero"
    skip = "skip"


@app.command()
def retrieval(
    source: Annotated[
        Path | None,
        typer.Argument(
            help="A score matrix (.npy, queries x items) or ranked lists (.jsonl); none with embeddings."
        ),
    ] = None,
    queries: Annotated[
        Path | None, typer.Option("--queries", help="Query ids, in row order (JSON list or one per line).")
    ] = None,
    items: Annotated[Path | None, typer.Option("--items", help="Item ids, in column order.")] = None,
    relevance: Annotated[
        Path | None,
        typer.Option(
            "--relevance", help='JSONL {"query", "relevant": [ids]} or graded {"query", "item", "relevance"}.'
        ),
    ] = None,
    image_embeddings: Annotated[
        Path | None,
        typer.Option("--image-embeddings", help="Image embeddings (.npy), rows in --pairs order."),
    ] = None,
    text_embeddings: Annotated[
        Path | None,
        typer.Option("--text-embeddings", help="Caption embeddings (.npy), rows in --pairs order."),
    ] = None,
    pairs: Annotated[
        Path | None, typer.Option("--pairs", help='JSONL {"image": id, "captions": [ids]}.')
    ] = None,
    k: Annotated[str, typer.Option("--k", help="Cut-offs for R@K, comma-separated.")] = "1,5,10",
    ndcg_k: Annotated[int, typer.Option("--ndcg-k", min=1, help="Cut-off for NDCG@K.")] = 10,
    recall_definition: Annotated[
        RecallDefinition,
        typer.Option(
            "--recall-definition",
            help="any: a relevant item in the top K (CLIP papers); fraction: share of relevant items.",
        ),
    ] = RecallDefinition.any,
    ties: Annotated[
        Ties,
        typer.Option(
            "--ties",
            help="Tied scores: average over their orderings (sklearn/torchmetrics NDCG), or break by item order.",
        ),
    ] = Ties.average,
    empty_queries: Annotated[
        EmptyQueries,
        typer.Option(
            "--empty-queries", help="Queries with no relevant item: error, score 0, or skip (counted)."
        ),
    ] = EmptyQueries.error,
    out: OutOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    minimum: MinOpt = None,
    maximum: MaxOpt = None,
    min_cider: MinCiderOpt = None,
    bootstrap: BootstrapOpt = 0,
    seed: SeedOpt = 12345,
    failures: FailuresOpt = 0,
    to_wandb: WandbOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Recall@K, MRR and NDCG@K from a score matrix, ranked lists, or image/text embeddings (both directions)."""
    from vlmeval.io.retrieval import load_embeddings, load_ranked, load_scores
    from vlmeval.tasks.retrieval import evaluate_retrieval

    common = Common(
        "retrieval", out, fmt, minimum, maximum, min_cider, bootstrap, seed, failures, quiet, to_wandb
    )
    try:
        recall_ks = sorted({int(v) for v in k.split(",") if v.strip()})
    except ValueError:
        raise VlmevalError(f"--k takes positive integers, comma-separated (got {k!r})") from None
    if not recall_ks or recall_ks[0] < 1:
        raise VlmevalError(f"--k takes positive integers, comma-separated (got {k!r})")
    embedding_options = (image_embeddings, text_embeddings, pairs)
    if source is None:
        if not all(embedding_options):
            raise VlmevalError(
                "give a score matrix (.npy) with --queries/--items/--relevance, ranked lists (.jsonl), or "
                "--image-embeddings, --text-embeddings and --pairs"
            )
        prefixes = ["t2i_", "i2t_"]
    else:
        if any(embedding_options):
            raise VlmevalError(
                "embeddings (--image-embeddings/--text-embeddings/--pairs) take no positional input"
            )
        prefixes = [""]
    names = [f"R@{v}" for v in recall_ks] + ["MRR", f"NDCG@{ndcg_k}"]
    common.check_gates([p + n for p in prefixes for n in names])
    if source is None:
        data = load_embeddings(image_embeddings, text_embeddings, pairs)
    elif source.suffix.lower() == ".npy":
        if not (queries and items and relevance):
            raise VlmevalError("a score matrix needs --queries, --items and --relevance")
        data = load_scores(source, queries, items, relevance)
    else:
        if queries or items or relevance:
            raise VlmevalError(
                "ranked lists carry their own queries and relevance: drop --queries/--items/--relevance"
            )
        data = load_ranked(source)
    with common.progress() as progress:
        report = evaluate_retrieval(
            data, recall_ks=recall_ks, ndcg_k=ndcg_k, ties=ties.value, recall_definition=recall_definition.value,
            empty_queries=empty_queries.value, progress=progress, failures=failures, options=common.options(),
        )  # fmt: skip
    _finish(report, common)


@app.command()
def report(
    path: Annotated[Path, typer.Argument(help="A report written by a vlmeval command.")],
    fmt: FormatOpt = OutputFormat.table,
    to_wandb: Annotated[
        bool, typer.Option("--to-wandb", help="Log the report as a W&B run (WANDB_MODE=offline works).")
    ] = False,
    project: Annotated[
        str | None,
        typer.Option("--project", help="W&B project \\[default: vlmeval-<task>].", show_default=False),
    ] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="W&B entity.")] = None,
    run_name: Annotated[str | None, typer.Option("--run-name", help="W&B run name.")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tags", help="W&B tag (repeatable).")] = None,
    html_out: Annotated[
        Path | None,
        typer.Option("--html", help="Write a self-contained HTML report (plots, failure images)."),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Print a saved report; write it as HTML; log it to W&B."""
    from vlmeval.report.report import load_report

    loaded = load_report(path)
    _print_report(loaded, fmt)
    if html_out is not None:
        from vlmeval.report.html import write_html

        write_html(loaded, html_out, source=str(path))
        if not quiet:
            _stderr().print(f"HTML report written to {html_out}", markup=False)
    if to_wandb:
        from vlmeval.report.wandb_log import log_report

        where = log_report(loaded, path, project=project, entity=entity, run_name=run_name, tags=tags or [])
        if not quiet:
            _stderr().print(f"logged to W&B{f' ({where})' if where else ''}", markup=False)


class PairedTest(str, Enum):
    paired_bootstrap = "paired-bootstrap"
    approx_randomization = "approx-randomization"


@app.command()
def compare(
    base: Annotated[Path, typer.Argument(help="The baseline report.")],
    new: Annotated[Path, typer.Argument(help="The new report.")],
    test: Annotated[
        PairedTest, typer.Option("--test", help="Which test's p-value the --max-drop gate uses.")
    ] = PairedTest.paired_bootstrap,
    resamples: Annotated[int, typer.Option("--bootstrap", min=1, help="Paired bootstrap resamples.")] = 1000,
    trials: Annotated[int, typer.Option("--trials", min=1, help="Approximate randomisation trials.")] = 10000,
    seed: SeedOpt = 12345,
    max_drop: Annotated[
        list[str] | None,
        typer.Option(
            "--max-drop",
            metavar="METRIC=DELTA",
            help="Exit 1 when NEW is worse by more than DELTA with p < 0.05.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Compare even when the signatures differ.")] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Comparison JSON \\[default: vlmeval-compare.json].", show_default=False),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    quiet: QuietOpt = False,
) -> None:
    """Is NEW really better than BASE? Paired bootstrap and approximate randomisation (sacrebleu's tests)."""
    import json

    from vlmeval.report.compare import compare_reports, drop_gates
    from vlmeval.report.report import _clean, load_report, write_json_atomic

    comparison = compare_reports(
        load_report(base),
        load_report(new),
        resamples=resamples,
        trials=trials,
        seed=seed,
        force=force,
        test=test.value,
    )
    drop_gates(comparison, max_drop)
    write_json_atomic(_clean(comparison.to_dict()), out or Path("vlmeval-compare.json"))
    _warn(comparison.warnings, quiet)
    if fmt == OutputFormat.json:
        sys.stdout.write(json.dumps(_clean(comparison.to_dict()), indent=1) + "\n")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(
            title=f"{new.name} vs {base.name}", title_justify="left", show_edge=False, header_style="bold"
        )
        for column in ("Metric", "Base", "New", "Delta", "95% CI of delta", "p (bootstrap)", "p (AR)"):
            table.add_column(column, justify="left" if column == "Metric" else "right")
        for key, row in comparison.rows.items():
            table.add_row(key, f"{row['base']:.4f}", f"{row['new']:.4f}", f"{row['delta']:+.4f}",
                          f"[{row['ci'][0]:+.4f}, {row['ci'][1]:+.4f}]", f"{row['p_paired_bootstrap']:.4f}",
                          f"{row['p_approx_randomization']:.4f}")  # fmt: skip
        Console(highlight=False).print(table)
    failed = [g for g in comparison.gates if not g["passed"]]
    if failed:
        if not quiet:
            _stderr().print(
                "gate failed: "
                + ", ".join(
                    f"{g['metric']} dropped {g['drop']:.4g} (max {g['max_drop']:g}, p={g['p']:.3g})"
                    for g in failed
                ),
                markup=False,
            )
        raise typer.Exit(code=1)


@app.command(name="metrics")
def list_metrics() -> None:
    """List every metric: task, scale, reference implementation, what it needs, and whether that is installed."""
    from rich.console import Console
    from rich.table import Table

    from vlmeval.metrics.registry import METRICS, NEEDS_TEXT, requirement_met

    table = Table(show_edge=False, header_style="bold")
    for column in ("Metric", "Tasks", "Scale", "Reference implementation", "Needs", "Available"):
        table.add_column(column, overflow="fold", no_wrap=column in ("Metric", "Scale", "Available"))
    cache: dict[str, bool] = {}
    for m in METRICS.values():
        if m.needs not in cache:
            cache[m.needs] = requirement_met(m.needs)
        table.add_row(
            m.key,
            " ".join(m.tasks),
            m.scale,
            m.reference,
            NEEDS_TEXT[m.needs],
            "yes" if cache[m.needs] else "no",
        )
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 150)  # a pipe or file: whole rows beat 80-column folding
    console.print(table)


def _version_callback(value: bool) -> None:
    if value:
        sys.stdout.write(f"vlmeval {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    pass


def main() -> None:
    app()
