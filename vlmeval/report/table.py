"""Rich tables built from a report. Only the CLI prints them (to stdout).

Model and user text (predictions, references, ids, group names, warnings) is data: it goes into ``Text``
objects, never through Rich markup, and control characters are shown as escapes (``\\x1b``), so that model
output can neither break a table nor drive the terminal. The JSON report keeps the text exactly.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from vlmeval.report.console import visible
from vlmeval.report.report import Report

TOP_ROWS = 10  # breakdown rows shown without --verbose (by sample count)

def data(text: object, style: str = "") -> Text:
    """A table cell holding user or model text."""
    return Text(visible(text), style=style)


def format_value(value: float | None, scale: str = "", digits: int | None = None) -> str:
    if value is None:
        return "n/a"
    if scale == "count":
        return f"{int(value)}"
    if digits is not None:
        return f"{value:.{digits}f}"
    if scale == "0-100":
        return f"{value:.2f}"
    return f"{value:.4f}"


def _digits(report: Report, key: str) -> int | None:
    from vlmeval.tasks import metric_info

    metric = metric_info(report.task, key)
    return metric.digits if metric is not None else None


def metrics_table(report: Report) -> Table:
    table = Table(title=f"vlmeval {report.task}", title_justify="left", show_edge=False, header_style="bold")
    table.add_column("Metric", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    table.add_column("Scale", no_wrap=True, style="dim")
    if report.ci:
        table.add_column("95% CI", justify="right", no_wrap=True)
    for key, value in report.metrics.items():
        scale = report.scale.get(key, "")
        row = [data(key), format_value(value, scale, _digits(report, key)), scale]
        if report.ci:
            interval = report.ci.get(key)
            low_high = f"[{format_value(interval[0], scale)}, {format_value(interval[1], scale)}]" if interval else ""
            row.append(Text(low_high))
        table.add_row(*row)
    return table


def signature_lines(report: Report) -> Text:
    """One dim line per metric; long lines soft-wrap in the terminal and stay whole in a pipe."""
    width = max((len(k) for k in report.signature), default=0)
    lines = [f"{key:<{width}}  {sig}" for key, sig in report.signature.items() if key in report.metrics]
    return Text(visible("\n".join(lines)), style="dim")


# how a count's key reads for 1 and for more (the rest add an "s")
_NOUNS = {
    "extra_boxes": ("extra box", "extra boxes"),
    "swapped_corners": ("box with swapped corners", "boxes with swapped corners"),
    "clipped_boxes": ("clipped box", "clipped boxes"),
    "degenerate_boxes": ("degenerate box", "degenerate boxes"),
    "zero_area_boxes": ("zero-area box", "zero-area boxes"),
    "no_gt_box": ("sample without a ground-truth box", "samples without a ground-truth box"),
    "parse_failures": ("parse failure", "parse failures"),
    "caption_line_breaks": ("caption with a line break", "captions with a line break"),
    "missing_prediction": ("missing prediction", "missing predictions"),
    "empty_reference": ("empty reference", "empty references"),
}


def _count_phrase(key: str, value: int) -> str:
    singular, plural = _NOUNS.get(key, (key.replace("_", " "), key.replace("_", " ") + "s"))
    return f"{value} {singular if value == 1 else plural}"


def counts_line(report: Report) -> Text:
    counts = report.counts
    scored, records = counts.get("scored", 0), counts.get("records", 0)
    head = f"{scored} scored of {records} records" if records >= scored else f"{scored} scored ({records} records read)"
    parts = [head]
    for key, value in counts.items():
        if key in ("records", "scored") or isinstance(value, (bool, str)):
            continue
        if isinstance(value, dict):
            parts += [f"{v} skipped ({k.replace('_', ' ')})" for k, v in value.items() if v]
        elif value:
            parts.append(_count_phrase(key, value))
    return Text(visible(" · ".join(parts)), style="dim")


def gates_table(report: Report) -> Table | None:
    if not report.gates:
        return None
    table = Table(title="Gates", title_justify="left", show_edge=False, header_style="bold")
    for column in ("Gate", "Value", "Result"):
        table.add_column(column, no_wrap=True)
    for gate in report.gates:
        scale = report.scale.get(gate["metric"], "")
        result = Text("passed", style="green") if gate["passed"] else Text("FAILED", style="bold red")
        table.add_row(
            data(f"{gate['metric']} {gate['op']} {gate['threshold']:g}"), format_value(gate["value"], scale), result
        )
    return table


def breakdown_tables(report: Report, verbose: bool = False) -> list[Table]:
    """One table per breakdown; without ``verbose`` the ``TOP_ROWS`` largest groups of each."""
    tables = []
    for group, rows in (report.breakdown or {}).items():
        if not rows or not isinstance(rows, dict) or not all(isinstance(r, dict) for r in rows.values()):
            continue
        present = {k for row in rows.values() for k in row if k != "count"}
        keys = [k for k in report.metrics if k in present] + sorted(present - set(report.metrics))
        shown = list(rows.items())
        if not verbose and len(shown) > TOP_ROWS:
            shown = sorted(shown, key=lambda kv: -(kv[1].get("count") or 0))[:TOP_ROWS]
        table = Table(title=data(f"By {group.replace('_', ' ')}"), title_justify="left", show_edge=False)
        table.add_column(data(group), no_wrap=True)
        table.add_column("n", justify="right")
        for key in keys:
            table.add_column(data(key), justify="right")
        for name, values in shown:
            table.add_row(
                data(name),
                str(values.get("count", "")),
                *[format_value(values.get(k), report.scale.get(k, "")) for k in keys],
            )
        if len(shown) < len(rows):
            table.caption = f"the {len(shown)} largest of {len(rows)} groups (--verbose shows all)"
            table.caption_justify = "left"
        tables.append(table)
    return tables


def failures_table(report: Report) -> Table | None:
    if not report.failures:
        return None
    metric = report.failures[0].get("metric", report.primary)
    table = Table(title=data(f"Worst {len(report.failures)} by {metric}"), title_justify="left", show_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    if any("error_type" in row for row in report.failures):
        table.add_column("error", no_wrap=True)
    table.add_column("prediction", overflow="fold")
    table.add_column("reference", overflow="fold", style="dim")
    for row in report.failures:
        ref = row.get("reference")
        if isinstance(ref, list):
            ref = (str(ref[0]) if ref else "") + (f" (+{len(ref) - 1} more)" if len(ref) > 1 else "")
        cells = [data(row.get("id")), format_value(row.get("score"))]
        if len(table.columns) == 5:
            cells.append(data(row.get("error_type") or ""))
        table.add_row(*cells, data(row.get("prediction")), data(ref))
    return table


def renderables(report: Report, verbose: bool = False) -> list:
    """What ``vlmeval`` prints for a report, in order: the metrics, the counts, the largest breakdown
    groups, failures and gates; ``verbose`` adds the signatures and every breakdown row. Print ``Text``
    items with ``soft_wrap=True``."""
    parts: list = [metrics_table(report), counts_line(report)]
    if verbose:
        parts.append(signature_lines(report))
    parts += breakdown_tables(report, verbose)
    for extra in (failures_table(report), gates_table(report)):
        if extra is not None:
            parts.append(extra)
    return parts


def comparison_table(comparison, base_name: str, new_name: str) -> Table:
    """``vlmeval compare``: one row per metric with the delta, its interval and both tests' p-values."""
    title = data(f"{new_name} vs {base_name}")
    table = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for column in ("Metric", "Base", "New", "Delta", "95% CI of delta", "p (bootstrap)", "p (AR)"):
        table.add_column(column, justify="left" if column == "Metric" else "right")
    for key, row in comparison.rows.items():
        table.add_row(
            data(key),
            f"{row['base']:.4f}",
            f"{row['new']:.4f}",
            f"{row['delta']:+.4f}",
            Text(f"[{row['ci'][0]:+.4f}, {row['ci'][1]:+.4f}]"),
            f"{row['p_paired_bootstrap']:.4f}",
            f"{row['p_approx_randomization']:.4f}",
        )
    return table


def metrics_listing() -> Table:
    """``vlmeval metrics``: every metric of every task, with what it needs and whether that is installed."""
    from vlmeval.tasks import listed_metrics
    from vlmeval.tasks.task import NEEDS_TEXT, requirement_met

    table = Table(show_edge=False, header_style="bold")
    for column in ("Metric", "Tasks", "Scale", "Reference implementation", "Needs", "Available"):
        table.add_column(column, overflow="fold", no_wrap=column in ("Metric", "Scale", "Available"))
    met: dict[str, bool] = {}
    for key, declared in listed_metrics().items():
        metric = declared[0][1]
        references = list(dict.fromkeys(m.reference for _, m in declared))
        if len(references) == 1:
            reference = references[0]
        else:
            reference = "; ".join(
                " ".join(t for t, m in declared if m.reference == ref) + ": " + ref for ref in references
            )
        if metric.needs not in met:
            met[metric.needs] = requirement_met(metric.needs)
        table.add_row(
            Text(key),
            Text(" ".join(t for t, _ in declared)),
            Text(metric.scale),
            Text(reference),
            Text(NEEDS_TEXT[metric.needs]),
            "yes" if met[metric.needs] else "no",
        )
    return table
