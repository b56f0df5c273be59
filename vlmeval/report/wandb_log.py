"""Log a report as a Weights & Biases run: config = signatures, options and input hashes; summary = the
metrics and their intervals; a table of the failure cases; histograms of per-sample scores; the report
JSON as an artifact. ``WANDB_MODE=offline`` works with no network. A W&B failure never touches the local
report: the caller has written it first, and the error says how to retry."""

from __future__ import annotations

import math
from pathlib import Path

from vlmeval.errors import MissingDependency, VlmevalError

HISTOGRAM_LIMIT = 1_000_000  # per-sample values sent per metric


def log_report(
    report,
    report_path: Path,
    *,
    project: str | None,
    entity: str | None,
    run_name: str | None,
    tags: list[str],
    run_id: str | None = None,
    step: int | None = None,
) -> str:
    """``run_id``: log into that run, resuming it (``resume="allow"``: created when it does not exist).
    ``step``: the metrics and their intervals also as the run's history row at that step (one checkpoint of
    a series), with the histograms and failures; a step below the resumed run's next one is refused before
    anything is logged, as W&B would drop it. Offline every call writes its own run folder with the same id
    (``wandb sync`` joins them), and the run's earlier steps are not known here."""
    try:
        import wandb
    except ImportError:
        raise MissingDependency("W&B logging needs wandb: pip install 'vlmeval[wandb]'") from None
    import os

    if report.shard:
        raise VlmevalError(
            f"{report_path} is part {report.shard.get('index')} of {report.shard.get('count')} of a sharded run: log "
            "the merged report (vlmeval merge PART.json ... --out MERGED.json), not a part"
        )
    import shlex

    again = [f"--{flag} {shlex.quote(str(value))}" for flag, value in (("project", project), ("entity", entity),
             ("run-name", run_name), ("run-id", run_id), ("step", step)) if value is not None]  # fmt: skip
    again += [f"--tags {shlex.quote(t)}" for t in tags or []]
    retry = (f"the report is safe at {report_path}; retry with "
             f"`vlmeval report {shlex.quote(str(report_path))} --to-wandb{''.join(' ' + a for a in again)}`")  # fmt: skip
    if os.environ.get("WANDB_MODE", "").lower() not in ("offline", "dryrun", "disabled"):
        retry += ", or log offline (WANDB_MODE=offline) and `wandb sync` later"
    config = {
        "task": report.task,
        "signature": report.signature,
        "options": report.options,
        "inputs": [
            {k: v for k, v in entry.items() if k in ("path", "sha256", "records")} for entry in report.inputs
        ],
        "vlmeval": report.environment.get("vlmeval"),
        "meta": report.meta,  # --meta step=1500 --meta model=...: what the run is, where W&B filters runs
        "counts": report.counts,
    }
    # wandb's login prints "Loaded credentials" before Settings(silent=True) applies: quiet it for this call
    silent_before = os.environ.get("WANDB_SILENT")
    os.environ["WANDB_SILENT"] = "true"
    try:
        run = wandb.init(
            project=project or f"vlmeval-{report.task}", entity=entity, name=run_name, tags=tags or None, config=config,
            job_type="eval", settings=wandb.Settings(silent=True, console="off"), id=run_id,
            resume="allow" if run_id else None,
        )  # fmt: skip
        _check_step(run, step, run_id)
        summary = {k: v for k, v in report.metrics.items() if v is not None}
        for key, (low, high) in report.ci.items():
            summary[f"{key}_ci_low"], summary[f"{key}_ci_high"] = low, high
        summary.update(error_type_rates(report))
        if run_id:  # a resumed run's summary is the last checkpoint's: drop the interval and error-type keys it lacks
            for key in [k for k in list(run.summary.keys()) if k not in summary and _ours(k)]:
                try:
                    del run.summary[key]
                except Exception:  # a wandb that cannot delete keeps them: they are the earlier checkpoint's
                    pass
        run.summary.update(summary)
        logged = {}
        for key, values in report.per_sample.items():
            if key in report.metrics and values:  # a report read back holds null where a sample was not scored
                finite = [v for v in values[:HISTOGRAM_LIMIT]
                          if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]  # fmt: skip
                if finite:
                    # wandb.Histogram's own np.histogram, on halves: two finite floats' range can overflow
                    # (-1e308..1e308) and halving is exact, so the bins are the same
                    import numpy as np

                    counts, edges = np.histogram(np.asarray(finite, dtype=np.float64) / 2, bins=64)
                    logged[f"per_sample/{key}"] = wandb.Histogram(np_histogram=(counts, edges * 2))
        if report.failures:
            columns = [c for c in dict.fromkeys(k for row in report.failures for k in row) if c != "image"]
            if "error_type" in columns:  # beside the score, where a reader of the table looks first
                columns.remove("error_type")
                columns.insert(2, "error_type")
            data = [[_cell(row.get(c)) for c in columns] for row in report.failures]
            pictures = [_picture(wandb, report, row) for row in report.failures]
            if any(p is not None for p in pictures):  # the image column only where images were found
                columns.append("image")
                for row, picture in zip(data, pictures):
                    row.append(picture)
            logged["failures"] = wandb.Table(columns=columns, data=data)
        if step is not None:  # the checkpoint's row: the summary's keys at its step
            logged = {**summary, **logged}
        if logged:
            run.log(logged, step=step)
        artifact = wandb.Artifact(f"vlmeval-{report.task}-report", type="vlmeval-report")
        artifact.add_file(str(report_path), name="report.json.gz" if str(report_path).endswith(".gz") else "report.json")
        run.log_artifact(artifact)
        where = getattr(run, "dir", "") or ""
        run.finish()
    except VlmevalError:
        raise
    except Exception as exc:  # network, login, quota, a wandb bug: one sentence, never a traceback
        message = " ".join(str(exc).split())
        raise VlmevalError(f"W&B logging failed ({type(exc).__name__}: {message}); {retry}") from None
    finally:
        try:  # stop wandb's service: settings of this run must not leak into a later one in the process
            wandb.teardown()
        except Exception:
            pass
        if silent_before is None:
            os.environ.pop("WANDB_SILENT", None)
        else:
            os.environ["WANDB_SILENT"] = silent_before
    return str(Path(where).parent) if where else ""


def _check_step(run, step: int | None, run_id: str | None) -> None:
    """W&B keeps only increasing steps: a lower one than the run's next step would be dropped with a log line."""
    if step is None or not run_id:
        return
    try:
        next_step = int(run.step)
    except Exception:  # a disabled or shared-mode run has no step to compare with
        return
    if step < next_step:
        run.finish()
        raise VlmevalError(
            f"--step {step} is below the next step ({next_step}) of W&B run {run_id}: W&B keeps only increasing "
            "steps, so nothing was logged; log the checkpoints in step order, or into another --run-id"
        )


def error_type_rates(report) -> dict[str, float]:
    """``error_type/<type>``: the share of all samples that failed with that type (they sum to
    ``failure_rate``); a second retrieval direction's as ``i2t_error_type/<type>``."""
    rates = {}
    for group, table in (report.breakdown or {}).items():
        if not group.endswith("error_type") or not isinstance(table, dict):
            continue
        samples = len(report.per_sample.get(group[: -len("error_type")] + "ids") or report.per_sample.get("ids") or [])
        for kind, row in table.items():
            if samples and isinstance(row, dict) and isinstance(row.get("count"), (int, float)):
                rates[f"{group}/{kind}"] = row["count"] / samples
    return rates


THUMB = 512  # longest side of an image logged in the failures table


def _picture(wandb, report, row: dict):
    """A failure's image as a wandb.Image (a thumbnail), with the ground-truth and predicted boxes as W&B box
    overlays for grounding; None when the report names no image or it cannot be read."""
    from vlmeval.io.images import report_image, thumbnail
    from vlmeval.report.html import _box_list

    found = thumbnail(report_image(report, row.get("image")), THUMB, upright=False)
    if found is None:
        return None
    image, (width, height) = found
    scale_x, scale_y = image.size[0] / width, image.size[1] / height
    if report.task != "grounding":
        return wandb.Image(image, caption=str(row.get("id")))

    def boxes(items, class_id, caption):
        return [
            {
                "position": {
                    "minX": b[0] * scale_x,
                    "minY": b[1] * scale_y,
                    "maxX": b[2] * scale_x,
                    "maxY": b[3] * scale_y,
                },
                "domain": "pixel",
                "class_id": class_id,
                "box_caption": caption,
            }
            for b in items
        ]

    labels = {1: "ground truth", 2: "prediction"}
    overlay = {
        "ground_truth": {"box_data": boxes(_box_list(row.get("reference")), 1, "gt"), "class_labels": labels},
        "predictions": {"box_data": boxes(_box_list(row.get("box")), 2, "pred"), "class_labels": labels},
    }
    return wandb.Image(image, boxes=overlay, caption=str(row.get("id")))


def _ours(key: str) -> bool:
    """A summary key vlmeval writes per checkpoint (not the metrics: a metric a checkpoint lacks stays)."""
    return key.endswith(("_ci_low", "_ci_high")) or key.startswith(("error_type/", "i2t_error_type/"))


def _cell(value):
    """A failure row's value as a table cell: text and numbers as they are, lists (references) as JSON."""
    if isinstance(value, (str, int, float)) or value is None:
        return value
    import json

    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)
