"""Rich tables built from a report. Only the CLI prints them (to stdout)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from vlmeval.report.report import Report


def format_value(value: float | None, scale: str = "", precise: bool = False) -> str:
    if value is None:
        return "n/a"
    if scale == "count":
        return f"{int(value)}"
    if precise:
        return f"{value:.6f}"
    if scale == "0-100":
        return f"{value:.2f}"
    return f"{value:.4f}"


def metrics_table(report: Report) -> Table:
    table = Table(title=f"vlmeval {report.task}", title_justify="left", show_edge=False, header_style="bold")
    table.add_column("Metric", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    table.add_column("Scale", no_wrap=True, style="dim")
    if report.ci:
        table.add_column("95% CI", justify="right", no_wrap=True)
    for key, value in report.metrics.items():
        scale = report.scale.get(key, "")
        row = [key, format_value(value, scale, precise=key.endswith("_unrounded")), scale]
        if report.ci:
            interval = report.ci.get(key)
            row.append(
                f"[{format_value(interval[0], scale)}, {format_value(interval[1], scale)}]"
                if interval
                else ""
            )
        table.add_row(*row)
    return table


def signature_lines(report: Report) -> Text:
    """One dim line per metric; long lines soft-wrap in the terminal and stay whole in a pipe."""
    width = max((len(k) for k in report.signature), default=0)
    lines = [f"{key:<{width}}  {sig}" for key, sig in report.signature.items() if key in report.metrics]
    return Text("\n".join(lines), style="dim")


def counts_line(report: Report) -> Text:
    counts = report.counts
    parts = [f"{counts.get('scored', 0)} scored of {counts.get('records', 0)} records"]
    for key, value in counts.items():
        if key in ("records", "scored"):
            continue
        if isinstance(value, dict):
            parts += [f"{v} skipped ({k.replace('_', ' ')})" for k, v in value.items() if v]
        elif value:
            parts.append(f"{value} {key.replace('_', ' ')}")
    return Text(" · ".join(parts), style="dim")


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
            f"{gate['metric']} {gate['op']} {gate['threshold']:g}", format_value(gate["value"], scale), result
        )
    return table


def breakdown_tables(report: Report) -> list[Table]:
    tables = []
    for group, rows in (report.breakdown or {}).items():
        if not rows:
            continue
        present = {k for row in rows.values() for k in row if k != "count"}
        keys = [k for k in report.metrics if k in present] + sorted(present - set(report.metrics))
        table = Table(title=f"By {group.replace('_', ' ')}", title_justify="left", show_edge=False)
        table.add_column(group, no_wrap=True)
        table.add_column("n", justify="right")
        for key in keys:
            table.add_column(key, justify="right")
        for name, values in rows.items():
            table.add_row(
                str(name),
                str(values.get("count", "")),
                *[format_value(values.get(k), report.scale.get(k, "")) for k in keys],
            )
        tables.append(table)
    return tables


def failures_table(report: Report) -> Table | None:
    if not report.failures:
        return None
    table = Table(
        title=f"Worst {len(report.failures)} by {report.failures[0].get('metric', report.primary)}",
        title_justify="left",
        show_edge=False,
    )
    table.add_column("id", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("prediction", overflow="fold")
    table.add_column("reference", overflow="fold", style="dim")
    for row in report.failures:
        ref = row.get("reference")
        if isinstance(ref, list):
            ref = (str(ref[0]) if ref else "") + (f" (+{len(ref) - 1} more)" if len(ref) > 1 else "")
        table.add_row(
            str(row.get("id")), format_value(row.get("score")), str(row.get("prediction")), str(ref)
        )
    return table


def renderables(report: Report) -> list:
    """What ``vlmeval`` prints for a report, in order. Print ``Text`` items with ``soft_wrap=True``."""
    parts = [metrics_table(report), counts_line(report), signature_lines(report)]
    parts += breakdown_tables(report)
    for extra in (failures_table(report), gates_table(report)):
        if extra is not None:
            parts.append(extra)
    return parts


def comparison_table(comparison, base_name: str, new_name: str) -> Table:
    """``vlmeval compare``: one row per metric with the delta, its interval and both tests' p-values."""
    table = Table(
        title=f"{new_name} vs {base_name}", title_justify="left", show_edge=False, header_style="bold"
    )
    for column in ("Metric", "Base", "New", "Delta", "95% CI of delta", "p (bootstrap)", "p (AR)"):
        table.add_column(column, justify="left" if column == "Metric" else "right")
    for key, row in comparison.rows.items():
        table.add_row(key, f"{row['base']:.4f}", f"{row['new']:.4f}", f"{row['delta']:+.4f}",
                      f"[{row['ci'][0]:+.4f}, {row['ci'][1]:+.4f}]", f"{row['p_paired_bootstrap']:.4f}",
                      f"{row['p_approx_randomization']:.4f}")  # fmt: skip
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
