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
    if value is None or value != value:  # None, or NaN: no value
        return "n/a"
    if scale == "count":  # a count; its interval's percentile bounds may fall between two
        return f"{int(value)}" if float(value).is_integer() else f"{value:.3f}".rstrip("0")
    if digits is not None:
        return f"{value:.{digits}f}"
    if scale == "0-100":
        return f"{value:.2f}"
    return f"{value:.4f}"


def _digits(task: str, key: str) -> int | None:
    from vlmeval.tasks import metric_info

    metric = metric_info(task, key)
    return metric.digits if metric is not None else None


def metrics_table(report: Report) -> Table:
    """On a narrow terminal the metric names fold; the numbers never shrink to an ellipsis."""
    rows = []
    for key, value in report.metrics.items():
        scale = report.scale.get(key, "")
        row = [data(key), metric_text(report.task, key, value, scale), scale]
        if report.ci:
            row.append(interval_text(report.ci.get(key), scale))
        rows.append(row)

    def widest(k: int, header: str) -> int:
        return max([len(header), *(len(str(r[k])) for r in rows)])

    table = Table(title=f"vlmeval {report.task}", title_justify="left", show_edge=False, header_style="bold")
    table.add_column("Metric", overflow="fold", min_width=min(8, widest(0, "Metric")))
    table.add_column("Score", justify="right", no_wrap=True, min_width=widest(1, "Score"))
    table.add_column("Scale", no_wrap=True, style="dim", min_width=widest(2, "Scale"))
    if report.ci:  # an interval wraps after its comma, never inside a number
        halves = max([6, *(len(part) for r in rows for part in str(r[3]).split(" "))])
        table.add_column("95% CI", justify="right", overflow="fold", min_width=halves)
    for row in rows:
        table.add_row(*row[:3], *(Text(r) for r in row[3:]))
    return table


def metric_text(task: str, key: str, value: float | None, scale: str) -> str:
    """A metric's value as the tables show it (the digits its task declares)."""
    return format_value(value, scale, _digits(task, key))


def interval_text(interval: list[float] | None, scale: str) -> str:
    return f"[{format_value(interval[0], scale)}, {format_value(interval[1], scale)}]" if interval else ""


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
    "negative_size_boxes": ("box with a negative size", "boxes with a negative size"),
    "no_gt_box": ("sample without a ground-truth box", "samples without a ground-truth box"),
    "queries_without_relevant": ("query without a relevant item", "queries without a relevant item"),
    "parse_failures": ("parse failure", "parse failures"),
    "caption_line_breaks": ("caption with a line break", "captions with a line break"),
    "missing_prediction": ("missing prediction", "missing predictions"),
    "empty_reference": ("empty reference", "empty references"),
}


def _count_phrase(key: str, value: int) -> str:
    direction, base = (key[:4], key[4:]) if key.startswith(("t2i_", "i2t_")) else ("", key)  # retrieval's
    phrase = key.replace("_", " ")
    if base in _NOUNS:
        singular, plural = (direction.replace("_", " ") + noun for noun in _NOUNS[base])
    elif phrase.endswith("ies"):  # already plural: "queries"
        singular, plural = phrase[:-3] + "y", phrase
    elif phrase.endswith("s"):  # "images", "captions"
        singular, plural = phrase[:-1], phrase
    else:
        singular, plural = phrase, phrase + "s"
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
        table.add_row(*cells, data(_shown(row.get("prediction"))), data(_shown(ref)))
    return table


SHOWN_CHARS = 500  # of a failure's prediction or reference in the table (the report keeps all of it)


def _shown(text: object) -> object:
    """A long text cut for the terminal: folding megabytes of text in a table takes minutes."""
    if isinstance(text, str) and len(text) > SHOWN_CHARS:
        return f"{text[:SHOWN_CHARS]}… (+{len(text) - SHOWN_CHARS:,} characters)"
    return text


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


def _metric_rows(title: object, columns: tuple[str, ...], left: tuple[str, ...] = ("Metric",)) -> Table:
    """A table of one row per metric: ``left`` columns hold text, the others numbers."""
    table = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, justify="left" if column in left else "right")
    return table


def comparison_table(comparison, base_name: str, new_name: str) -> Table:
    """``vlmeval compare``: one row per metric with the delta, its interval and both tests' p-values."""
    columns = ("Metric", "Base", "New", "Delta", "95% CI of delta", "p (bootstrap)", "p (AR)")
    table = _metric_rows(data(f"{new_name} vs {base_name}"), columns)
    for key, row in comparison.rows.items():
        table.add_row(
            data(key),
            _number(row["base"], "{:.4f}"),
            _number(row["new"], "{:.4f}"),
            _number(row["delta"], "{:+.4f}"),
            Text(_interval(row["ci"])),
            _p_text(row["p_paired_bootstrap"]),
            _p_text(row["p_approx_randomization"]),
        )
    return table


def _number(value: float | None, form: str) -> str:
    """A comparison's number; n/a where a side has none (an undefined metric)."""
    return "n/a" if value is None or value != value else form.format(value)


def _interval(ci) -> str:
    return "n/a" if not ci or any(v is None or v != v for v in ci) else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]"


def _meta_text(value: object) -> str:
    if value is None:
        return "–"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _p_text(p: float | None) -> str:
    return "–" if p is None or p != p else f"{p:.4f}"


def runs_tables(comparison) -> list[Table]:
    """``vlmeval compare`` over runs: the run table users write by hand (one row per run, the meta columns
    that differ between runs, then each metric with its 95% interval, the best in bold), then per metric
    the best run's p-value against the runner-up and, over checkpoints, the peak and its decline test."""
    task, keys, meta = comparison.task, list(comparison.scale), comparison.meta_columns()
    title = f"vlmeval {task}: {len(comparison.runs)} runs" + (" by step" if comparison.order == "step" else "")
    table = Table(title=data(title), title_justify="left", show_edge=False, header_style="bold")
    for column in ("run", *meta):
        table.add_column(data(column), no_wrap=True)
    for key in keys:
        table.add_column(data(key), justify="right", no_wrap=True)
    for run in comparison.runs:
        cells = [data(run.label), *(data(_meta_text(run.meta.get(k))) for k in meta)]
        for key in keys:
            metric, scale = run.metrics[key], comparison.scale[key]
            best = comparison.best.get(key, {}).get("run") == run.label
            cell = Text(metric_text(task, key, metric["value"], scale), style="bold" if best else "")
            if metric["ci"]:
                cell.append("\n" + interval_text(metric["ci"], scale), style="dim")
            cells.append(cell)
        table.add_row(*cells)
    return [table, _best_table(comparison)]


def _best_table(comparison) -> Table:
    peaks = comparison.peak
    columns = ("Metric", "Best", "Runner-up", "p")
    if peaks is not None:
        columns += ("Peak step", "Drop to last", "95% CI", "p (decline)", "Declined")
    title = "Best" + (" and peak" if peaks is not None else "")
    table = _metric_rows(title, columns, left=("Metric", "Best", "Runner-up"))
    for key, best in comparison.best.items():
        scale = comparison.scale[key]
        row = [data(key), data(best["run"]), data(best.get("runner_up", "–")), _p_text(best.get("p"))]
        if peaks is not None:
            peak = peaks[key]
            declined = {True: Text("yes", style="bold red"), False: Text("no"), None: Text("untested")}
            drop_ci = Text(interval_text(peak["drop_ci"], scale))
            row += [_meta_text(peak["step"]), format_value(peak["drop"], scale), drop_ci, _p_text(peak["p_decline"]),
                    declined[peak["declined"]]]  # fmt: skip
        table.add_row(*row)
    return table


def blind_table(comparison) -> Table:
    """``vlmeval compare FULL --blind BLIND``: per metric what the image adds, its interval and p-value."""
    title = data(f"{comparison.full.label} vs {comparison.blind.label} (image withheld)")
    table = _metric_rows(title, ("Metric", "Full", "Blind", "Gain", "95% CI of gain", "p", "Significant"))
    for key, row in comparison.gain.items():
        table.add_row(
            data(key), _number(row["full"], "{:.4f}"), _number(row["blind"], "{:.4f}"),
            _number(row["delta"], "{:+.4f}"), Text(_interval(row["ci"])), _p_text(row["p"]),
            "yes" if row["significant"] else Text("no", style="bold yellow"),
        )  # fmt: skip
    return table


def comparison_parts(result, names: list[str]) -> list[Table]:
    """What ``vlmeval compare`` prints for a pair (``compare_reports``), runs or a blind comparison."""
    from vlmeval.report.runs import BlindComparison, RunComparison

    if isinstance(result, RunComparison):
        return runs_tables(result)
    if isinstance(result, BlindComparison):
        return [blind_table(result)]
    return [comparison_table(result, names[0], names[1])]


def _per_task(declared: list, field: str) -> str:
    """One field of a metric several tasks declare: the value, or each task's where they differ
    ("grounding: 0-1; yesno: 0-100")."""
    values = list(dict.fromkeys(getattr(m, field) for _, m in declared))
    if len(values) == 1:
        return values[0]
    return "; ".join(" ".join(t for t, m in declared if getattr(m, field) == v) + ": " + v for v in values)


def metrics_listing() -> Table:
    """``vlmeval metrics``: every metric of every task, with what it needs and whether that is installed."""
    from vlmeval.tasks import TASKS, listed_metrics
    from vlmeval.tasks.task import NEEDS_TEXT, requirement_met

    table = Table(show_edge=False, header_style="bold")
    for column in ("Metric", "Tasks", "Scale", "Reference implementation", "Needs", "Available"):
        table.add_column(column, overflow="fold", no_wrap=column in ("Metric", "Available"))
    met: dict[str, bool] = {}
    for key, declared in listed_metrics().items():
        metric = declared[0][1]
        if metric.needs not in met:
            met[metric.needs] = requirement_met(metric.needs)
        table.add_row(
            Text(key),
            Text(" ".join(t for t, _ in declared)),
            Text(_per_task(declared, "scale")),
            Text(_per_task(declared, "reference")),
            Text(NEEDS_TEXT[metric.needs]),
            "yes" if met[metric.needs] else "no",
        )
    table.add_row(
        Text("failure_rate"), Text(" ".join(TASKS)), Text("0-1"),
        Text("vlmeval: the share of samples with an error type (README: Error types)"), Text("-"), "yes",
    )  # fmt: skip
    return table
