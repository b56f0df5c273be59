"""The ``vlmeval`` command line, built from the task table: one command per task (its arguments and options
declared by the task module, the common options added here once), plus ``report``, ``compare`` and
``metrics``. Argument handling and printing only: the work is in ``vlmeval.run`` and the task modules.

Exit codes: 0 ok, 1 a gate failed (the report is still written), 2 bad usage or input (one sentence on
stderr, no traceback), 3 an internal error (a bug: please report it).
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import os
import re
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

with warnings.catch_warnings():  # typer 0.24 imports two helpers click 8.2+ deprecates (not ours to act on)
    warnings.simplefilter("ignore", DeprecationWarning)
    import typer
    import typer.main
    from typer.core import TyperArgument, TyperCommand, TyperGroup

from vlmeval import __version__
from vlmeval.errors import VlmevalError
from vlmeval.report import console
from vlmeval.tasks.task import Option, Task

COMMON_PANEL = "Report, gates and intervals"


def _keep_argument_help() -> None:
    """click 8.5 gave arguments a help of their own: typer 0.24 (vlmeval keeps typer below 0.25 for its
    start-up) sets an argument's help, then click's ``__init__`` sets it to None. Put it back."""
    init = TyperArgument.__init__
    if getattr(init, "keeps_help", False):
        return

    def __init__(self, *args, help=None, **kwargs):  # noqa: A002 - typer's keyword
        init(self, *args, help=help, **kwargs)
        if self.help is None:
            self.help = help

    __init__.keeps_help = True  # type: ignore[attr-defined]
    TyperArgument.__init__ = __init__  # type: ignore[method-assign]


_keep_argument_help()
# click's UsageError, reached through typer's public API (typer 0.24 uses click; from 0.25 on it vendors it)
_USAGE_ERROR = typer.BadParameter.__mro__[1]


class _NoBoolMetavar:
    """``--help`` is a flag: typer would show ``<bool>`` after it. Help on a closed pipe (``| head``) is no
    error: Rich would exit 1 there."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option

    def format_help(self, ctx, formatter):
        try:
            return super().format_help(ctx, formatter)  # type: ignore[misc]
        except SystemExit:
            if console.stdout_closed():
                raise typer.Exit(0) from None
            raise


class _Command(_NoBoolMetavar, TyperCommand):
    pass


class _Group(_NoBoolMetavar, TyperGroup):
    """Our errors become one sentence and exit 2, usage errors one line and exit 2, anything unexpected
    one line and exit 3; a closed stdout (``| head``) is not an error."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _USAGE_ERROR as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # plain `vlmeval`: the help, as --help shows it
                sys.stdout.write(exc.format_message() + "\n")
                code = 0
            else:
                message = " ".join(exc.format_message().split())
                hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
                sys.stderr.write(f"error: {message}{hint}\n")
                code = 2
        except typer.Abort:
            sys.stderr.write("interrupted\n")
            code = 130
        if not standalone_mode:
            return code
        sys.exit(code or 0)

    def list_commands(self, ctx) -> list[str]:
        from vlmeval.tasks import TASKS

        return [*TASKS, *(name for name in super().list_commands(ctx) if name not in TASKS)]

    def get_command(self, ctx, name: str):
        """A task's command is built when it is asked for: a run reads one task's declarations, not all."""
        from vlmeval.tasks import TASKS, get_task

        if name in TASKS and name not in self.commands:
            self.commands[name] = task_command(get_task(name))
        return super().get_command(ctx, name)

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except VlmevalError as exc:
            console.error(str(exc))
            ctx.exit(2)
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            ctx.exit(130)
        except Exception as exc:
            # exits and usage errors belong to the CLI framework (typer and click)
            if type(exc).__module__.split(".")[0] in ("typer", "click") or os.environ.get("VLMEVAL_DEBUG"):
                raise
            if isinstance(exc, OSError) and exc.errno in (errno.EPIPE, errno.ENOSPC, errno.EIO) and "--help" in sys.argv:
                raise  # click writing a command's help into a closed or full stdout: main() says so

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

# The options every task command takes (CONTRACT.md "Common options"), declared once.
METRICS_OPTION = Option("metrics", str, None, "Metric keys or families, comma-separated.", panel=COMMON_PANEL)
COMMON = (
    Option("out", str, None, "Report JSON path (.json.gz: gzipped).", default_text="vlmeval-<task>.json",
           metavar="PATH", panel=COMMON_PANEL),
    Option("format", str, "table", "What to print on stdout.", choices=("table", "json"), panel=COMMON_PANEL),
    Option("minimum", str, None, "Gate: exit 1 unless METRIC >= VALUE (repeatable).", flag="--min",
           multiple=True, metavar="METRIC=VALUE", panel=COMMON_PANEL),
    Option("maximum", str, None, "Gate for lower-is-better metrics: exit 1 unless METRIC <= VALUE.", flag="--max",
           multiple=True, metavar="METRIC=VALUE", panel=COMMON_PANEL),
    Option("min_cider", float, None, "Alias of --min CIDEr=VALUE.", panel=COMMON_PANEL),
    Option("bootstrap", int, 0, "Bootstrap resamples for 95% confidence intervals (0: none).", minimum=0,
           maximum=1_000_000, panel=COMMON_PANEL),
    Option("seed", int, 12345, "Seed for resampling.", minimum=0, maximum=2**63 - 1, panel=COMMON_PANEL),
    Option("failures", int, 0, "Put the K worst samples in the report.", minimum=0, metavar="K", panel=COMMON_PANEL),
    Option("wandb", bool, False, "Also log the report as a W&B run ($WANDB_PROJECT [default: vlmeval-<task>], "
           "$WANDB_ENTITY; WANDB_MODE=offline works).", panel=COMMON_PANEL),
    Option("quiet", bool, False, "No progress bars or warnings on stderr.", short="-q", panel=COMMON_PANEL),
    Option("verbose", bool, False, "Print signatures and every breakdown row too.", short="-v", panel=COMMON_PANEL),
    Option("meta", str, None, "A fact about the run for the report's meta (repeatable; numbers as numbers): "
           "--meta step=1500 --meta model=qwen2.5-vl-7b.", multiple=True, metavar="KEY=VALUE", panel=COMMON_PANEL),
    Option("shard", str, None, "Score the I-th of N contiguous slices into a partial report for vlmeval merge.",
           metavar="I/N", panel=COMMON_PANEL),
)  # fmt: skip
_COMMON_NAMES = {o.name for o in (METRICS_OPTION, *COMMON)}


def _escape(text: str) -> str:
    """Help text is Rich markup to typer: ``[neural]`` or ``[default: x]`` must show as written (the rule of
    rich.markup.escape, without importing rich at start-up)."""
    return re.sub(r"(\\*)(\[[a-z#/@][^[]*?])", lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", text)


def _choices(option: Option) -> type[Enum]:
    return Enum(f"{option.name}_choice", {c: c for c in option.choices}, type=str)  # type: ignore[return-value]


def _parameter(option: Option) -> inspect.Parameter:
    """One declared option as a typer parameter."""
    kind = _choices(option) if option.choices else option.type
    annotation: Any = list[kind] if option.multiple else kind  # type: ignore[valid-type]
    if option.default is None and not option.required:
        annotation = annotation | None
    help_text = option.help + (f" [default: {option.default_text}]" if option.default_text else "")
    settings: dict[str, Any] = {"help": _escape(help_text), "rich_help_panel": option.panel or None}
    if option.default_text or option.default is None or option.type is bool:
        settings["show_default"] = False
    if option.metavar is not None:
        settings["metavar"] = option.metavar
    elif option.argument:
        settings["metavar"] = option.name.upper()
    elif option.type is bool:
        settings["metavar"] = ""  # a flag takes no value: no "<bool>" after it
    if option.argument:
        info = typer.Argument(**settings)
    else:
        info = typer.Option(option.flag_name, *([option.short] if option.short else []), **settings)
    default = inspect.Parameter.empty if option.required else option.default
    if option.choices and default is not None and default is not inspect.Parameter.empty:
        default = kind(default)  # type: ignore[operator]
    keyword = inspect.Parameter.KEYWORD_ONLY
    return inspect.Parameter(option.name, keyword, default=default, annotation=Annotated[annotation, info])


def _default_metrics(task: Task) -> str:
    """The task's default set, by family where a whole family is in it ("Bleu,METEOR,ROUGE_L,CIDEr")."""
    chosen: list[str] = []
    for metric in task.selectable():
        if not metric.default:
            continue
        family = [m for m in task.selectable() if m.family_name == metric.family_name]
        name = metric.family_name if len(family) > 1 and all(m.default for m in family) else metric.key
        chosen.append(name.replace("{", "<").replace("}", ">"))
    return ",".join(dict.fromkeys(chosen))


def task_command(task: Task):
    """The task's command: its own arguments and options, then --metrics and the common options."""
    options = list(task.options)
    if task.takes_metrics:
        options.append(
            Option(**{**METRICS_OPTION.__dict__, "default_text": _default_metrics(task)})  # type: ignore[arg-type]
        )
    options += COMMON
    clash = {o.name for o in task.options} & _COMMON_NAMES
    if clash:  # a task module may not redefine a common option
        raise RuntimeError(f"task {task.name} redefines common options {sorted(clash)}")

    def command(**values: Any) -> None:
        _run(task, {k: v.value if isinstance(v, Enum) else v for k, v in values.items()})

    command.__signature__ = inspect.Signature([_parameter(o) for o in options])  # type: ignore[attr-defined]
    command.__name__ = task.name
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    single.command(name=task.name, help=_escape(task.help), cls=_Command)(command)
    return typer.main.get_command(single)  # one command: typer returns it as it is


def _run(task: Task, values: dict[str, Any]) -> None:
    from vlmeval.progress import Progress
    from vlmeval.report.gates import parse_gates
    from vlmeval.run import check_values, output_path, parse_meta, run_task, task_inputs
    from vlmeval.shard import parse_shard

    common = {k: values.pop(k) for k in list(values) if k in _COMMON_NAMES}
    check_values(COMMON, common)
    shard = parse_shard(common["shard"], common["wandb"])
    out = output_path(common["out"], f"vlmeval-{task.name}.json", task_inputs(task, values))
    gates = parse_gates(common["minimum"], common["maximum"], common["min_cider"])
    meta = parse_meta(common["meta"])
    with Progress(enabled=False if common["quiet"] else None) as progress:
        report, gates = run_task(
            task, values, metrics=common.get("metrics"), gates=gates, bootstrap=common["bootstrap"],
            seed=common["seed"], failures=common["failures"], progress=progress, out=out, meta=meta, shard=shard,
        )  # fmt: skip
    _finish(report, gates, out, common)


FORKED_WRITE_SAMPLES = 100_000  # up to this many samples, the report is written by a forked process


def _finish(report, gates, out: Path, common: dict[str, Any]) -> None:
    """Gates, atomic write, stdout, W&B, exit code. The report is written by a forked process (where forking
    is safe: ``vlmeval.parallel``) while the table is drawn here; nothing is shown before it is written."""
    from vlmeval.parallel import start
    from vlmeval.report.report import write_report
    from vlmeval.run import apply_gates, failed_gates, log_to_wandb

    quiet, wandb = common["quiet"], common["wandb"]
    gate_error = apply_gates(report, gates)

    def write() -> None:
        write_report(report, out)

    # (a run of many samples writes here: a fork beside it would copy the pages its objects are on)
    small = len(report.per_sample.get("ids") or []) <= FORKED_WRITE_SAMPLES
    writing = start(write) if small else None
    if writing is None:
        write()
    try:
        shown = None if gate_error is not None else _render_report(report, common["format"], common["verbose"], out)
    except BaseException:
        if writing is not None:
            writing.discard()
        raise
    if writing is not None:
        writing.result()
    console.warn(report.warnings, quiet)
    if not quiet:
        console.note(f"report written to {out}")
    if gate_error is not None:
        raise gate_error
    console.emit(shown or "")
    wandb_error = None
    if wandb:
        try:
            where = log_to_wandb(report, out)
        except VlmevalError as exc:  # said after the gates: a failed gate still says so, and exits 1
            wandb_error = exc
        else:
            if not quiet:
                console.note(f"logged to W&B{f' ({where})' if where else ''}")
    failed = failed_gates(report)
    if failed:
        if not quiet:
            detail = ", ".join(
                f"{g['metric']} {g['value']:.4g} (needs {g['op']} {g['threshold']:g})" for g in failed
            )
            console.note(f"gate failed: {detail}")
        if wandb_error is not None:
            console.error(str(wandb_error))
        raise typer.Exit(code=1)
    if wandb_error is not None:
        raise wandb_error


def _render_report(report, fmt: str, verbose: bool, path: Path) -> str:
    """The table, or the report's numbers as JSON (the file at ``path`` keeps the per-sample lists), as the
    text stdout gets."""
    if fmt == "json":
        import json

        from vlmeval.report.report import _clean

        return json.dumps(_clean(report.summary(path)), ensure_ascii=False, indent=1) + "\n"
    from vlmeval.report.table import renderables

    return console.render(renderables(report, verbose))


FormatOpt = Annotated[str, typer.Option("--format", help="What to print on stdout: table or json.")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bars or warnings on stderr.", metavar="")
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Print signatures and every breakdown row too.", metavar="")
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Compare even when the signatures differ.", metavar="")]


@app.command(cls=_Command)
def report(
    paths: Annotated[list[Path], typer.Argument(metavar="REPORT...", show_default=False, help="A report "
                     "written by a vlmeval command; several: their run table (--html: each metric over steps).")],
    fmt: FormatOpt = "table",
    to_wandb: Annotated[bool, typer.Option("--to-wandb", metavar="",
                                           help="Log the report as a W&B run (WANDB_MODE=offline works).")] = False,
    project: Annotated[str | None, typer.Option("--project", show_default=False,
                                                help="W&B project \\[default: vlmeval-<task>].")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="W&B entity.")] = None,
    run_name: Annotated[str | None, typer.Option("--run-name", help="W&B run name.")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tags", help="W&B tag (repeatable).")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="With --to-wandb: log into this W&B run "
                                               "(resumed; created when it does not exist).")] = None,
    step: Annotated[int | None, typer.Option("--step", min=0, max=2**63 - 1, metavar="N", help="With --to-wandb: "
                                             "the metrics as the run's history row at step N (steps increase).")] = None,
    html_out: Annotated[str | None, typer.Option("--html", metavar="PATH",
                                                 help="Write a self-contained HTML report (plots, failure images).")] = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:  # fmt: skip
    """Print a saved report; write it as HTML; log it to W&B. Several reports: the run table (as compare)."""
    from vlmeval.report.report import load_report
    from vlmeval.run import check_not_read, output_path

    _check_format(fmt)
    if (run_id is not None or step is not None) and not to_wandb:
        raise VlmevalError("--run-id and --step go with --to-wandb")
    if run_id is not None and not re.fullmatch(r"[A-Za-z0-9._-]{1,128}", run_id):
        # W&B refuses some characters and an offline run's folder is named after it
        raise VlmevalError(f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' (at most 128)")
    if len(paths) > 1 and to_wandb:
        raise VlmevalError("--to-wandb logs one report: give each checkpoint's report with --run-id ID --step N")
    sources = {"REPORT": paths[0]} if len(paths) == 1 else {f"REPORT {i + 1}": p for i, p in enumerate(paths)}
    if html_out is not None:
        html_out = output_path(html_out, "vlmeval-report.html", sources, flag="--html")
    if len(paths) > 1:  # numpy and the paired tests only here: printing one report stays quick to start
        from vlmeval.report.runs import compare_runs

        return _show_comparison(compare_runs([load_report(p) for p in paths], paths, force=force), fmt, html_out, quiet)
    path = paths[0]
    loaded = load_report(path)
    if html_out is not None:  # the page reads the failure rows' images: none of them may be the page
        from vlmeval.io.images import report_image

        check_not_read(html_out, [report_image(loaded, row.get("image")) for row in loaded.failures], flag="--html")
    console.emit(_render_report(loaded, fmt, verbose, path))
    if html_out is not None:
        from vlmeval.report.html import write_html

        write_html(loaded, html_out, source=str(path))
        if not quiet:
            console.note(f"HTML report written to {html_out}")
    if to_wandb:
        from vlmeval.run import log_to_wandb

        where = log_to_wandb(loaded, path, project=project, entity=entity, run_name=run_name, tags=tags or [],
                             run_id=run_id, step=step)  # fmt: skip
        if not quiet:
            console.note(f"logged to W&B{f' ({where})' if where else ''}")


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise VlmevalError(f"--format must be one of table, json, got {fmt!r}")


def _show_comparison(result, fmt: str, html_path: Path | None, quiet: bool, names: tuple = ()) -> None:
    """The series page, warnings, the table or JSON; exit 1 when a --max-drop gate failed."""
    from vlmeval.report.html import write_runs_html

    if html_path is not None:
        write_runs_html(result, html_path)
    if not console.show_comparison(result, fmt, quiet, names, html_path):
        raise typer.Exit(code=1)


@app.command(cls=_Command)
def compare(
    reports: Annotated[list[Path], typer.Argument(metavar="REPORT...", show_default=False, help="BASE NEW; three "
                       "or more (runs, checkpoints: the run table); or FULL with --blind.")],
    runs: Annotated[bool, typer.Option("--runs", metavar="", help="Two reports as runs (vlmeval.runs/1).")] = False,
    blind: Annotated[Path | None, typer.Option("--blind", metavar="BLIND.json", help="The same model run with "
                                               "the image withheld: FULL's multimodal gain.")] = None,
    test: Annotated[str, typer.Option("--test", help="Whose p-value --max-drop and the best run use: "
                                      "paired-bootstrap or approx-randomization.")] = "paired-bootstrap",
    resamples: Annotated[int, typer.Option("--bootstrap", help="Paired bootstrap resamples.")] = 1000,
    trials: Annotated[int, typer.Option("--trials", help="Approximate randomisation trials.")] = 10000,
    seed: Annotated[int, typer.Option("--seed", help="Seed for resampling.")] = 12345,
    max_drop: Annotated[list[str] | None, typer.Option("--max-drop", metavar="METRIC=DELTA", help="Exit 1 when NEW "
                        "(runs: the newest) is worse than BASE (the best earlier) by > DELTA with p < 0.05.")] = None,
    force: ForceOpt = False,
    out: Annotated[str | None, typer.Option("--out", show_default=False, metavar="PATH",
                                            help="Comparison JSON \\[default: vlmeval-compare.json].")] = None,
    html_out: Annotated[str | None, typer.Option("--html", metavar="PATH",
                                                 help="Of runs: a self-contained page, each metric over steps.")] = None,
    fmt: FormatOpt = "table",
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Is NEW better than BASE (sacrebleu's paired tests)? Also over runs and checkpoints, and FULL vs blind."""
    from vlmeval.report import compare as paired
    from vlmeval.report.report import load_report, write_json_atomic
    from vlmeval.report.runs import blind_gain, compare_runs, comparison_kind
    from vlmeval.run import distinct_outputs, output_path

    _check_format(fmt)
    kind = comparison_kind(len(reports), runs=runs, blind=blind is not None, gated=bool(max_drop), html=bool(html_out))
    given = [*reports, *([blind] if blind is not None else [])]
    roles = {"pair": ["BASE", "NEW"], "blind": ["FULL", "BLIND"]}.get(kind) or [f"REPORT {i + 1}" for i in range(len(given))]
    sources = dict(zip(roles, given))
    out_path = output_path(out, "vlmeval-compare.json", sources)
    html_path = None if html_out is None else output_path(html_out, "vlmeval-runs.html", sources, flag="--html")
    distinct_outputs({"--out": out_path, "--html": html_path})
    paired.check_settings(test, resamples, trials, seed)
    loaded = [load_report(p) for p in given]
    settings = {"resamples": resamples, "trials": trials, "seed": seed, "force": force, "test": test}
    if kind == "pair":
        result = paired.compare_reports(*loaded, **settings)
        paired.drop_gates(result, max_drop)
    elif kind == "runs":
        result = compare_runs(loaded, given, max_drops=max_drop, **settings)
    else:
        result = blind_gain(*loaded, given, **settings)
    write_json_atomic(result.to_dict(), out_path)
    if not quiet:
        console.note(f"comparison written to {out_path}")
    _show_comparison(result, fmt, html_path, quiet, tuple(p.name for p in given))


@app.command(cls=_Command)
def merge(
    parts: Annotated[list[Path], typer.Argument(metavar="PART...", help="The N partial reports of one run (--shard I/N).")],
    out: Annotated[str | None, typer.Option("--out", help="Report JSON \\[default: vlmeval-<task>.json].",
                                            show_default=False, metavar="PATH")] = None,
    fmt: FormatOpt = "table", quiet: QuietOpt = False, verbose: VerboseOpt = False,
) -> None:
    """Merge the parts of a sharded run into the report one run over everything writes; evaluate its gates."""
    from vlmeval.shard import merge_files

    _check_format(fmt)
    report, gates, out_path = merge_files(parts, out)
    _finish(report, gates, out_path, {"quiet": quiet, "wandb": False, "format": fmt, "verbose": verbose})


@app.command(name="metrics", cls=_Command)
def list_metrics() -> None:
    """List every metric: task, scale, reference implementation, what it needs, and whether that is installed."""
    from vlmeval.report.table import metrics_listing

    with console.printing():
        out = console.stdout()
        if not out.is_terminal:
            out.width = max(out.width, 150)  # a pipe or file: whole rows beat 80-column folding
        out.print(metrics_listing())


def _version_callback(value: bool) -> None:
    if value:
        sys.stdout.write(f"vlmeval {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version.", metavar=""
        ),
    ] = False,
) -> None:
    pass


def main() -> None:
    if sys.stdout is None:  # started with stdout closed (>&-): the results go nowhere, the run still runs
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    console.utf8_or_escaped()
    console.diagnostics_never_fail()
    try:
        app()
    except OSError as exc:  # what click writes itself (--help, --version) into a closed or full stdout
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if isinstance(exc, BrokenPipeError):
            sys.exit(0)
        sys.stderr.write(f"error: cannot write to stdout: {exc.strerror or exc}\n")
        sys.exit(2)
