"""The HTML report: one self-contained file (inline CSS, SVG plots, images as data URIs) from a report JSON.

``vlmeval report REPORT.json --html out.html``. Contents: the metric table with signatures and intervals,
gates, counts and warnings, breakdown tables with bars (VQA answer types, DocVQA evidence, per-category AP),
histograms of per-sample scores, the IoU histogram, accuracy over IoU thresholds and the precision/recall
curve for grounding/COCO mAP, and the failure cases with image thumbnails and boxes drawn over them
(ground truth green, prediction red). Images are read with Pillow when the report's paths still exist.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

from vlmeval.report.report import Report

THUMB = 320  # longest side of a failure thumbnail, pixels
HIST_LIMIT = 200_000  # per-sample values binned per metric (a uniform subsample beyond)
WIDTH, HEIGHT = 360, 200


def _esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.4f}"  # as the table prints it (an MME score 1108.3333, not 1,108.3)
    return str(v)


def histogram_svg(values: list[float], title: str, bins: int = 20) -> str:
    finite = [v for v in values if isinstance(v, (int, float)) and v is not None and math.isfinite(v)]
    if not finite:
        return ""
    if len(finite) > HIST_LIMIT:
        step = len(finite) / HIST_LIMIT
        finite = [finite[int(i * step)] for i in range(HIST_LIMIT)]
    low, high = min(finite), max(finite)
    # in halves: the difference of two finite floats can overflow (-1e308 to 1e308)
    half = high / 2 - low / 2
    if half == 0:  # one value: a bar one wide (where 1e17 + 1 is 1e17, as wide as the value)
        half = 0.5 if low + 1.0 != low else abs(low) / 2
    counts = [0] * bins
    for v in finite:
        counts[min(bins - 1, int((v / 2 - low / 2) / half * bins))] += 1
    top = max(counts)
    edge = _edge_format(2 * half / bins, low, high)
    pad_l, pad_b, pad_t = 40, 24, 22
    plot_w, plot_h = WIDTH - pad_l - 8, HEIGHT - pad_b - pad_t
    bar_w = plot_w / bins
    parts = [
        f'<svg class="plot hist" role="img" aria-label="{_esc(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{WIDTH / 2}" y="14" text-anchor="middle" class="t">{_esc(title)}</text>',
    ]
    for i, c in enumerate(counts):
        h = plot_h * c / top if top else 0
        x, y = pad_l + i * bar_w, pad_t + plot_h - h
        lo, hi = 2 * (low / 2 + half * (i / bins)), 2 * (low / 2 + half * ((i + 1) / bins))  # halves: no overflow
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}">'
            f"<title>{edge(lo)}–{edge(hi)}: {c}</title></rect>"
        )
    base = pad_t + plot_h
    parts += [
        f'<line x1="{pad_l}" y1="{base}" x2="{WIDTH - 8}" y2="{base}" class="axis"/>',
        f'<text x="{pad_l}" y="{base + 16}" class="l">{edge(low)}</text>',
        f'<text x="{WIDTH - 8}" y="{base + 16}" text-anchor="end" class="l">{edge(high)}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" text-anchor="end" class="l">{top}</text>',
        f'<text x="{pad_l - 4}" y="{base}" text-anchor="end" class="l">0</text>',
        "</svg>",
    ]
    return "".join(parts)


def _edge_format(width: float, low: float, high: float):
    """Bin edges to the bin width's precision (a BLEU of 3.35e-19 starts the bin "0.000-0.050"); very large
    or very small scales in the shortest form."""
    if not (0 < width < math.inf) or max(abs(low), abs(high)) >= 1e7:
        return lambda v: f"{v:.3g}"
    decimals = max(0, 1 - math.floor(math.log10(width)))
    if decimals > 6:
        return lambda v: f"{v:.3g}"
    return lambda v: f"{v:.{decimals}f}"


BAR_ROWS = 50  # a bar chart with more groups shows the BAR_ENDS highest and lowest, and says how many more
BAR_ENDS = 20


def bars_svg(labels: list[str], values: list[float], title: str) -> str:
    """Groups sorted by value, highest first; every group when there are at most BAR_ROWS (the table
    beside the chart always lists all)."""
    rows: list = [(lab, v) for lab, v in zip(labels, values) if v is not None and math.isfinite(v)]
    if not rows:
        return ""
    rows.sort(key=lambda row: -row[1])
    if len(rows) > BAR_ROWS:
        more = len(rows) - 2 * BAR_ENDS
        rows = [*rows[:BAR_ENDS], (f"… {more} more of {len(rows)} (see the table)", None), *rows[-BAR_ENDS:]]
    top = max(max(v for _, v in rows if v is not None), 1e-12)
    row_h, pad_l, pad_t = 18, 150, 22
    height = pad_t + row_h * len(rows) + 6
    parts = [
        f'<svg class="plot bars" role="img" aria-label="{_esc(title)}" viewBox="0 0 {WIDTH + 120} {height}" '
        f'width="{WIDTH + 120}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{(WIDTH + 120) / 2}" y="14" text-anchor="middle" class="t">{_esc(title)}</text>',
    ]
    span = WIDTH + 120 - pad_l - 60
    for i, (lab, v) in enumerate(rows):
        y = pad_t + i * row_h
        if v is None:  # the gap between the highest and the lowest
            parts.append(f'<text x="{pad_l}" y="{y + 12}" class="l more">{_esc(lab)}</text>')
            continue
        w = span * max(v, 0) / top
        parts.append(
            f'<text x="{pad_l - 6}" y="{y + 12}" text-anchor="end" class="l">{_esc(str(lab)[:22])}</text>'
            f'<rect class="bar" x="{pad_l}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}"/>'
            f'<text x="{pad_l + w + 4:.1f}" y="{y + 12}" class="l">{v:.4g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_svg(
    xs: list[float], series: dict[str, list[float | None]], title: str, xlabel: str, ylabel: str
) -> str:
    if not xs or not series:
        return ""
    pad_l, pad_b, pad_t = 40, 34, 22
    plot_w, plot_h = WIDTH - pad_l - 8, HEIGHT - pad_b - pad_t
    x0, x1 = min(xs), max(xs)
    x1 = x1 if x1 > x0 else x0 + 1
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    parts = [
        f'<svg class="plot line" role="img" aria-label="{_esc(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{WIDTH / 2}" y="14" text-anchor="middle" class="t">{_esc(title)}</text>',
    ]
    for k, (name, ys) in enumerate(series.items()):
        points = [
            f"{pad_l + plot_w * (x - x0) / (x1 - x0):.1f},{pad_t + plot_h * (1 - max(0.0, min(1.0, y))):.1f}"
            for x, y in zip(xs, ys)
            if y is not None and math.isfinite(y)
        ]
        if points:
            color = colors[k % len(colors)]
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{" ".join(points)}"/>'
            )
            parts.append(
                f'<text x="{WIDTH - 10}" y="{pad_t + 12 + 12 * k}" text-anchor="end" fill="{color}" class="l">{_esc(name)}</text>'
            )
    base = pad_t + plot_h
    parts += [
        f'<line x1="{pad_l}" y1="{base}" x2="{WIDTH - 8}" y2="{base}" class="axis"/>',
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{base}" class="axis"/>',
        f'<text x="{pad_l}" y="{base + 14}" class="l">{x0:.3g}</text>',
        f'<text x="{WIDTH - 8}" y="{base + 14}" text-anchor="end" class="l">{x1:.3g}</text>',
        f'<text x="{pad_l + plot_w / 2}" y="{base + 28}" text-anchor="middle" class="l">{_esc(xlabel)}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" text-anchor="end" class="l">1</text>',
        f'<text x="{pad_l - 4}" y="{base}" text-anchor="end" class="l">0</text>',
        f'<text x="10" y="{pad_t + plot_h / 2}" class="l" transform="rotate(-90 10 {pad_t + plot_h / 2})" '
        f'text-anchor="middle">{_esc(ylabel)}</text>',
        "</svg>",
    ]
    return "".join(parts)


def thumbnail(path: str | None, boxes: bool) -> dict[str, Any] | None:
    """A JPEG thumbnail as a data URI with the original size (box coordinates stay in stored pixels, so EXIF
    orientation is applied only where no boxes are drawn)."""
    from vlmeval.io.images import thumbnail as load_thumbnail

    found = load_thumbnail(path, THUMB, upright=not boxes)
    if found is None:
        return None
    small, (width, height) = found
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=85)
    uri = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"uri": uri, "width": width, "height": height, "w": small.size[0], "h": small.size[1]}


def _box_list(value: Any) -> list[list[float]]:
    """Boxes from a failure row: one [x1, y1, x2, y2] or a list of them."""
    if not isinstance(value, list) or not value:
        return []
    if all(isinstance(v, (int, float)) for v in value) and len(value) == 4:
        return [[float(v) for v in value]]
    return [[float(v) for v in b] for b in value if isinstance(b, list) and len(b) == 4]


def _failure_rows(report: Report) -> list[dict[str, Any]]:
    from vlmeval.io.images import report_image

    grounding = report.task == "grounding"
    rows = []
    for row in report.failures:
        reference = row.get("reference")
        gt = _box_list(reference) if grounding else []
        pred = _box_list(row.get("box")) if grounding else []
        thumb = thumbnail(report_image(report, row.get("image")), boxes=grounding)
        if isinstance(reference, list) and not gt:
            reference = " | ".join(str(r) for r in reference)
        rows.append(
            {
                "id": row.get("id"),
                "score": _fmt(row.get("score")),
                "prediction": row.get("prediction")
                if isinstance(row.get("prediction"), str)
                else str(row.get("prediction")),
                "reference": reference
                if not gt
                else ", ".join(f"[{', '.join(f'{v:g}' for v in b)}]" for b in gt),
                "question": row.get("question"),
                "thumb": thumb,
                "gt_boxes": gt,
                "pred_boxes": pred,
                "image": row.get("image"),
                "error_type": row.get("error_type"),
            }
        )
    return rows


def error_type_svgs(report: Report) -> list[str]:
    """One bar chart per error-type breakdown (``error_type``, and a second retrieval direction's
    ``i2t_error_type``): how many failures of each type, with the failure rate in the title."""
    charts = []
    for group, table in (report.breakdown or {}).items():
        if not group.endswith("error_type") or not isinstance(table, dict) or not table:
            continue
        counts = [row.get("count") if isinstance(row, dict) else None for row in table.values()]
        failed = sum(c for c in counts if isinstance(c, (int, float)))
        samples = report.per_sample.get(group[: -len("error_type")] + "ids") or report.per_sample.get("ids") or []
        of = f" of {len(samples)}" if samples else ""
        title = f"{failed}{of} failed, by {group.replace('_', ' ')}"
        charts.append(bars_svg(list(table), counts, title))
    return [c for c in charts if c]


def _plots(report: Report) -> list[str]:
    plots = []
    numeric = [
        k
        for k, v in report.per_sample.items()
        if k in report.metrics and isinstance(v, list) and any(isinstance(x, (int, float)) for x in v[:1000])
        and k != "failure_rate"  # 0 or 1 per sample: the error-type chart shows it
    ]
    for key in numeric:
        title = "IoU of each sample" if key == "mean_iou" else f"{key} per sample"
        svg = histogram_svg(report.per_sample[key], title)
        if svg:
            plots.append(svg)
    sweep = report.breakdown.get("iou_threshold") if isinstance(report.breakdown, dict) else None
    if sweep:
        xs = [float(t) for t in sweep]
        ys = [next((v for k, v in row.items() if k.startswith("acc")), None) for row in sweep.values()]
        plots.append(line_svg(xs, {"accuracy": ys}, "Accuracy over IoU thresholds", "IoU threshold", "acc"))
    curve = report.stats.get("pr_curve") if isinstance(report.stats, dict) else None
    if curve:
        series = {k: v for k, v in curve.items() if k != "recall"}
        plots.append(
            line_svg(
                curve["recall"], series, "Precision/recall (COCO, all areas, 100 dets)", "recall", "precision"
            )
        )
    plots += error_type_svgs(report)
    for group, table in (report.breakdown or {}).items():
        if group == "iou_threshold" or group.endswith("error_type") or not isinstance(table, dict) or not table:
            continue
        first = next(iter(table.values()))
        if not isinstance(first, dict):
            continue
        metric = next((k for k in (report.primary, *first) if k and k != "count" and k in first), None)
        if metric:
            labels = list(table)
            values = [table[lab].get(metric) for lab in labels]
            plots.append(bars_svg(labels, values, f"{metric} by {group.replace('_', ' ')}"))
    return [p for p in plots if p]


def _breakdowns(report: Report) -> list[dict[str, Any]]:
    out = []
    for group, table in (report.breakdown or {}).items():
        if not isinstance(table, dict) or not table or not isinstance(next(iter(table.values())), dict):
            continue
        columns = list(dict.fromkeys(k for row in table.values() for k in row))
        out.append(
            {
                "name": group.replace("_", " "),
                "columns": columns,
                "rows": [[label, *(_fmt(row.get(c)) for c in columns)] for label, row in table.items()],
            }
        )
    return out


def _template(name: str, strict: bool = False):
    """A page template; every value it is given is HTML-escaped unless marked safe (our own SVG). ``strict``:
    a name the template uses and was not given is an error, not an empty string."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, Undefined, select_autoescape

    env = Environment(
        loader=PackageLoader("vlmeval.report", "templates"), autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined if strict else Undefined,
    )  # fmt: skip
    return env.get_template(name)


def render_html(report: Report, source: str | None = None) -> str:
    template = _template("report.html.j2")
    from markupsafe import Markup

    metrics = [
        {
            "key": key,
            "value": _fmt(value),
            "ci": report.ci.get(key),
            "scale": report.scale.get(key, ""),
            "signature": report.signature.get(key, ""),
        }
        for key, value in report.metrics.items()
    ]
    return template.render(
        report=report,
        source=source,
        metrics=metrics,
        fmt=_fmt,
        plots=[Markup(p) for p in _plots(report)],
        breakdowns=_breakdowns(report),
        failures=_failure_rows(report),
        primary=report.primary,
    )


def write_html(report: Report, path: str | Path, source: str | None = None) -> None:
    """Written atomically, like the JSON report."""
    _write_page(render_html(report, source), path)


def _write_page(text: str, path: str | Path) -> None:
    from vlmeval.errors import VlmevalError
    from vlmeval.report.report import write_atomic

    try:
        write_atomic(path, lambda handle: handle.write(text))
    except OSError as exc:
        raise VlmevalError(f"cannot write the HTML report to {path}: {exc.strerror or exc}") from None


# The series page (``vlmeval compare A B C ... --html``, ``vlmeval report A B C ... --html``): the run table on
# top, then each metric over the steps (or the runs as given) with its 95% interval band and the peak marked.
SERIES_W, SERIES_H = 420, 230
SERIES_TICKS = 12  # x labels shown at most (every k-th beyond)


def series_svg(xs: list[float], values: list[float | None], intervals: list[list[float] | None],
               peak: int | None, title: str, ticks: list[str], xlabel: str, peak_note: str = "") -> str:  # fmt: skip
    """One metric over the runs: the values joined by a line, the intervals as a band (and a whisker at each
    run), the peak circled; every point says its run, value and interval on hover."""
    shown = [i for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not shown:
        return ""
    spread = [values[i] for i in shown] + [v for i in shown if intervals[i] for v in intervals[i]]
    low, high = min(spread), max(spread)
    pad = (high - low) * 0.08 or max(abs(high), 1.0) * 0.05
    low, high = low - pad, high + pad
    x0, x1 = min(xs), max(xs)
    left, right, top, bottom = 52, 14, 38, 42  # room above the plot for the peak's label
    plot_w, plot_h = SERIES_W - left - right, SERIES_H - top - bottom

    def px(x: float) -> float:
        return left + (plot_w * (x - x0) / (x1 - x0) if x1 > x0 else plot_w / 2)

    def py(y: float) -> float:
        return top + plot_h * (high - y) / (high - low)

    parts = [
        f'<svg class="plot series" role="img" aria-label="{_esc(title)}" viewBox="0 0 {SERIES_W} {SERIES_H}" '
        f'width="{SERIES_W}" height="{SERIES_H}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{SERIES_W / 2}" y="15" text-anchor="middle" class="t">{_esc(title)}</text>',
    ]
    banded = [i for i in shown if intervals[i]]
    if len(banded) >= 2:
        upper = [(px(xs[i]), py(intervals[i][1])) for i in banded]
        lower = [(px(xs[i]), py(intervals[i][0])) for i in reversed(banded)]
        edge = upper + lower
        parts.append(f'<polygon class="band" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in edge)}"/>')
    for i in banded:
        x = px(xs[i])
        low_y, high_y = py(intervals[i][0]), py(intervals[i][1])
        parts.append(f'<line class="whisker" x1="{x:.1f}" y1="{low_y:.1f}" x2="{x:.1f}" y2="{high_y:.1f}"/>')
    line = " ".join(f"{px(xs[i]):.1f},{py(values[i]):.1f}" for i in shown)
    parts.append(f'<polyline class="trend" fill="none" points="{line}"/>')
    for i in shown:
        ci = f" [{intervals[i][0]:.4g}, {intervals[i][1]:.4g}]" if intervals[i] else ""
        parts.append(f'<circle class="pt" cx="{px(xs[i]):.1f}" cy="{py(values[i]):.1f}" r="3.5">'
                     f"<title>{_esc(ticks[i])}: {values[i]:.4g}{ci}</title></circle>")  # fmt: skip
    if peak is not None and peak in shown:
        x, y = px(xs[peak]), py(values[peak])
        parts.append(f'<circle class="peak" cx="{x:.1f}" cy="{y:.1f}" r="7"><title>peak: {_esc(ticks[peak])}'
                     f"{_esc(peak_note)}</title></circle>"
                     f'<text class="l peak-label" x="{x:.1f}" y="{y - 10:.1f}" text-anchor="middle">'
                     f"peak{_esc(peak_note)}</text>")  # fmt: skip
    base = top + plot_h
    every = max(1, math.ceil(len(xs) / SERIES_TICKS))
    parts += [
        f'<line x1="{left}" y1="{base}" x2="{SERIES_W - right}" y2="{base}" class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" class="axis"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" class="l">{high:.4g}</text>',
        f'<text x="{left - 4}" y="{base}" text-anchor="end" class="l">{low:.4g}</text>',
        *(f'<text x="{px(xs[i]):.1f}" y="{base + 14}" text-anchor="middle" class="l">{_esc(ticks[i][:12])}</text>'
          for i in range(0, len(xs), every)),
        f'<text x="{left + plot_w / 2}" y="{base + 32}" text-anchor="middle" class="l">{_esc(xlabel)}</text>',
        "</svg>",
    ]  # fmt: skip
    return "".join(parts)


def _series_plots(comparison) -> list[str]:
    steps = comparison.order == "step"
    runs = comparison.runs
    xs = [float(run.meta["step"]) if steps else float(i + 1) for i, run in enumerate(runs)]
    ticks = [f"{run.meta['step']:g}" if steps else run.label for run in runs]
    plots = []
    for key in comparison.scale:
        peak = (comparison.peak or {}).get(key)
        index = next((i for i, run in enumerate(runs) if peak and run.label == peak["label"]), None)
        note = ""
        if peak and peak["declined"]:
            note = f", declined to step {peak['last_step']:g} (p={peak['p_decline']:.3g})"
        svg = series_svg(xs, [run.metrics[key]["value"] for run in runs], [run.metrics[key]["ci"] for run in runs],
                         index, key, ticks, "step" if steps else "run (as given)", note)  # fmt: skip
        if svg:
            plots.append(svg)
    return plots


def render_runs_html(comparison) -> str:
    """The series page of a ``RunComparison``: every user string (labels, meta, metric names) escaped."""
    from markupsafe import Markup

    from vlmeval.report.table import interval_text, metric_text

    task, scale, meta = comparison.task, comparison.scale, comparison.meta_columns()
    rows = [
        {
            "label": run.label,
            "meta": ["–" if run.meta.get(k) is None else run.meta[k] for k in meta],
            "cells": [
                {"value": metric_text(task, key, run.metrics[key]["value"], scale[key]),
                 "ci": interval_text(run.metrics[key]["ci"], scale[key]),
                 "best": comparison.best.get(key, {}).get("run") == run.label}
                for key in scale
            ],
        }
        for run in comparison.runs
    ]  # fmt: skip
    best = []
    for key, row in comparison.best.items():
        peak = (comparison.peak or {}).get(key)
        best.append({
            "key": key, "run": row["run"], "runner_up": row.get("runner_up", "–"), "p": _fmt(row.get("p")),
            "delta": _fmt(row.get("delta")), "peak": peak,
            "drop": "–" if not peak else metric_text(task, key, peak["drop"], scale[key]),
            "drop_ci": "" if not peak else interval_text(peak["drop_ci"], scale[key]),
            "p_decline": "–" if not peak else _fmt(peak["p_decline"]),
        })  # fmt: skip
    shared = ", ".join(str(n) for n in comparison.shared.values())
    return _template("runs.html.j2", strict=True).render(
        c=comparison, meta=meta, keys=list(scale), rows=rows, best=best, shared=shared,
        plots=[Markup(p) for p in _series_plots(comparison)],
    )  # fmt: skip


def write_runs_html(comparison, path: str | Path) -> None:
    """Written atomically, like the JSON report."""
    _write_page(render_runs_html(comparison), path)
