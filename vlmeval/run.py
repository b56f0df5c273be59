"""Running a task, below the CLI and the Python API: check the options, load the inputs, choose the metrics,
evaluate, build the report (the one report builder), add intervals and evaluate gates; then finish it (the
atomic write and W&B). ``vlmeval.cli`` adds only argument handling and printing."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from vlmeval.errors import VlmevalError
from vlmeval.progress import QUIET, Progress
from vlmeval.report.report import Report
from vlmeval.tasks.task import Result, Task


def parse_meta(specs: list[str] | None) -> dict[str, Any]:
    """``--meta KEY=VALUE`` (repeatable) as the report's ``meta``: integers and finite numbers as numbers
    (``step=1500``, ``lr=1e-4``), the rest as text (``model=qwen2.5-vl-7b``)."""
    meta: dict[str, Any] = {}
    for spec in specs or []:
        key, sep, value = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise VlmevalError(f"--meta takes KEY=VALUE, got {spec!r}")
        if key in meta:
            raise VlmevalError(f"--meta {key} is given twice")
        meta[key] = meta_value(value)
    return meta


def meta_value(text: str) -> Any:
    import re

    stripped = text.strip()
    if re.fullmatch(r"[-+]?\d{1,18}", stripped):
        return int(stripped)
    try:
        number = float(stripped)
    except ValueError:
        return text
    return number if math.isfinite(number) and re.fullmatch(r"[-+.\deE]+", stripped) else text


def check_values(options, values: dict[str, Any]) -> None:
    """Every option value in its declared range and choices, finite where it is a number."""
    for option in options:
        value = values.get(option.name)
        if isinstance(value, list):
            continue
        if value is None or option.type not in (int, float) or isinstance(value, bool):
            if value is not None and option.choices and value not in option.choices:
                raise VlmevalError(
                    f"{option.label} must be one of {', '.join(option.choices)}, got {value!r}"
                )
            continue
        if not math.isfinite(value):
            raise VlmevalError(f"{option.label} must be a finite number, got {value}")
        low, high = option.minimum, option.maximum
        too_low = low is not None and (value <= low if option.min_open else value < low)
        too_high = high is not None and value > high
        if too_low or too_high:
            if low is not None and high is not None:
                span = f"in {'(' if option.min_open else '['}{low:g}, {high:g}]"
            elif low is not None:
                span = f"{'>' if option.min_open else '>='} {low:g}"
            else:
                span = f"<= {high:g}"
            raise VlmevalError(f"{option.label} must be {span}, got {value:g}")


def run_task(
    task: Task,
    values: dict[str, Any],
    *,
    metrics: str | list[str] | None = None,
    gates: list | None = None,
    bootstrap: int = 0,
    seed: int = 12345,
    failures: int = 0,
    progress: Progress = QUIET,
    out: Path | None = None,
    meta: dict[str, Any] | None = None,
    shard: tuple[int, int] | None = None,
    **evaluate_options: Any,
) -> tuple[Report, list]:
    """The report of one task run, with intervals; and the gates, matched to its metric keys. ``out``: where
    the report will go, checked against the files the inputs name (images) once they are known. ``shard``:
    (I, N), a partial report of the I-th of N slices for ``vlmeval merge`` (no intervals, gates left to it)."""
    from vlmeval.report.gates import canonical
    from vlmeval.tasks import gate_keys, resolve
    from vlmeval.tasks.task import require

    check_values(task.options, values)
    data = task.load(values)
    if out is not None:
        check_not_read(out, getattr(data, "images", None) or [])
    keys = resolve(task, metrics, task.available_keys(values, data), values)
    gates = canonical(gates or [], gate_keys(task, keys), task.name)
    require(task, keys)
    if shard is not None:
        from vlmeval.shard import take_part

        data, part = take_part(task, data, *shard)
    result = task.evaluate(data, keys, {**values, "failures": failures}, progress, **evaluate_options)
    report = build_report(task, result, failures=failures, bootstrap=bootstrap, seed=seed)
    report.meta = dict(meta or {})
    if shard is not None:
        from vlmeval.shard import finish_part

        return finish_part(report, result, part, gates, failures), []
    if bootstrap:
        from vlmeval.report.bootstrap import add_intervals

        add_intervals(report, bootstrap, seed, result.estimators)
    return report, gates


def build_report(
    task: Task, result: Result, *, failures: int = 0, bootstrap: int = 0, seed: int = 12345
) -> Report:
    """The report of a task's result: scales from the task's declarations, the environment, and the K worst
    samples by the primary metric (or the task's own ranking)."""
    from vlmeval.report.failures import worst_samples
    from vlmeval.report.report import environment

    report = Report(
        task=task.name,
        metrics=result.metrics,
        scale={k: (m.scale if (m := task.metric_for(k)) else "") for k in result.metrics},
        signature=result.signature,
        counts=result.counts,
        per_sample=result.per_sample,
        inputs=result.inputs,
        environment=environment(**result.environment),
        breakdown=result.breakdown,
        options={**result.options, "bootstrap": bootstrap, "seed": seed},
        warnings=result.warnings,
        stats=result.stats,
    )
    if result.error_types is not None:
        add_error_types(report, result.error_types)
    if result.failures is not None:
        report.failures = result.failures
    elif failures and result.columns:
        primary = report.primary
        values = result.rank if result.rank is not None else result.per_sample.get(primary)
        if values is not None:
            metric = task.metric_for(primary) if primary else None
            columns = result.columns
            if result.error_types is not None:
                columns = {**columns, "error_type": result.error_types}
            report.failures = worst_samples(
                result.per_sample["ids"],
                values,
                columns,
                failures,
                higher_is_better=metric.higher_is_better if metric is not None else True,
            )
    elif failures:  # COCO detection: AP belongs to the corpus, no image has a score to rank by
        report.warnings.append(
            f"--failures {failures}: no failure rows, as no sample has a score to rank by (COCO detection's AP is the "
            "whole set's); each sample's error type is counted in breakdown.error_type"
        )
    return report


def add_error_types(report: Report, error_types: list[str | None]) -> None:
    """``failure_rate`` (the share of samples with an error type; per sample 1 or 0, so that it has an
    interval and compares like any mean), the ``error_type`` breakdown (count and share of each type among
    the failures) and each sample's type."""
    from collections import Counter

    kinds = Counter(t for t in error_types if t is not None)
    failed = sum(kinds.values())
    report.metrics["failure_rate"] = failed / len(error_types) if error_types else 0.0
    report.scale["failure_rate"] = "0-1"
    ordered = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
    report.breakdown["error_type"] = {kind: {"count": n, "share": n / failed} for kind, n in ordered}
    report.per_sample["failure_rate"] = [0.0 if t is None else 1.0 for t in error_types]
    report.per_sample["error_type"] = list(error_types)


def task_inputs(task: Task, values: dict[str, Any]) -> dict[str, Path]:
    """The files a run reads, by the option that names them."""
    return {o.label: Path(values[o.name]) for o in task.options if o.type is Path and values.get(o.name)}


def output_path(given: str | Path | None, default: str, inputs: dict[str, Path], flag: str = "--out") -> Path:
    """Where an output goes, checked before any work: a file path (not empty, not a directory, in an existing
    directory) that is none of the inputs, also through a symbolic or hard link: the output would destroy it."""
    import os

    raw = default if given is None else str(given)
    if not raw.strip():
        raise VlmevalError(f"{flag} is empty: give a file path")
    path = Path(raw)
    # a link is written through (the atomic rename would replace the link itself: /dev/stdout, as root);
    # one that leads through /dev or /proc (a device, a process's stream) is refused
    hops, hop = [path.absolute()], path.absolute()
    while hop.is_symlink() and len(hops) < 40:
        hop = Path(os.path.normpath(hop.parent / os.readlink(hop)))
        hops.append(hop)
    if any(str(h) in ("/dev", "/proc") or str(h).startswith(("/dev/", "/proc/")) for h in hops):
        raise VlmevalError(
            f"{flag} {raw} is a device or a process's stream: the report is a file, written atomically "
            "(on stdout, --format json prints its numbers)"
        )
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if raw.endswith(("/", os.sep)) or path.is_dir():
        raise VlmevalError(f"{flag} {raw} names a directory: give a file path (such as {Path(raw) / default})")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise VlmevalError(f"{flag} {raw}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise VlmevalError(f"{flag} {raw}: directory {parent} is not writable")
    if path.exists() and not path.is_file():
        raise VlmevalError(f"{flag} {raw} is not a regular file (a named pipe or a device): give a file path")
    for label, source in inputs.items():
        if _same_file(path, source):
            raise VlmevalError(f"{flag} {raw} is also an input ({label} {source}): writing it would destroy that input")
        if path.exists() and source.is_dir() and _inside(path, source):
            raise VlmevalError(
                f"{flag} {raw} is a file inside {label} {source}, which this run reads: writing it could destroy "
                "an input; write the report elsewhere"
            )
    return path


def check_not_read(output: Path, read: list, flag: str = "--out") -> None:
    """An existing output is none of the files a run read (images found through the records)."""
    if not output.exists():
        return
    name = output.name
    for other in read:
        if isinstance(other, str) and other and Path(other).name == name and _same_file(output, Path(other)):
            raise VlmevalError(f"{flag} {output} is also an input (an image the run read): writing it would destroy it")


def distinct_outputs(outputs: dict[str, Path | None]) -> None:
    """Two outputs of one command are two files: the second written would replace the first."""
    given = [(flag, path) for flag, path in outputs.items() if path is not None]
    for k, (flag, path) in enumerate(given):
        for other_flag, other in given[k + 1 :]:
            if _same_file(path, other):
                raise VlmevalError(f"{flag} and {other_flag} are the same file ({path}): give each its own path")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _same_file(a: Path, b: Path) -> bool:
    import os

    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)  # hard links: one inode
    except (OSError, RuntimeError):  # a symlink loop is no file of ours to overwrite
        return False


def apply_gates(report: Report, gates: list) -> VlmevalError | None:
    """``report.gates`` from the gates; a gate on a metric this run did not compute is a usage error,
    returned so that the caller can write the report first."""
    from vlmeval.report.gates import evaluate_gates

    try:
        report.gates = evaluate_gates(gates, report.metrics)
    except VlmevalError as exc:
        return exc
    return None


def failed_gates(report: Report) -> list[dict[str, Any]]:
    return [g for g in report.gates if not g["passed"]]


def log_to_wandb(report: Report, path: Path, **where: Any) -> str:
    """Log a written report to W&B (it is on disk first: a W&B failure exits 2 with how to retry, and loses
    nothing)."""
    import os

    from vlmeval.report.wandb_log import log_report

    where.setdefault("project", os.environ.get("WANDB_PROJECT"))
    where.setdefault("entity", os.environ.get("WANDB_ENTITY"))
    where.setdefault("run_name", None)
    where.setdefault("tags", [])
    return log_report(report, path, **where)
