"""The tasks. This table is the one list of them: name -> the module that declares ``TASK`` (see
``vlmeval.tasks.task``), imported on first use. The CLI's commands, ``vlmeval metrics``, ``--metrics``
resolution, gates and the report's scales all read the declarations through the functions below.
"""

from __future__ import annotations

import importlib
from typing import Any

from vlmeval.tasks.task import Metric, Task, split_names

TASKS: dict[str, str] = {
    "caption": "vlmeval.tasks.caption",
    "vqa": "vlmeval.tasks.vqa",
    "docvqa": "vlmeval.tasks.docvqa",
    "grounding": "vlmeval.tasks.grounding",
    "retrieval": "vlmeval.tasks.retrieval",
    "mcq": "vlmeval.tasks.mcq",
    "yesno": "vlmeval.tasks.yesno",
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        from vlmeval.errors import VlmevalError

        raise VlmevalError(f"unknown task {name!r}: the tasks are {', '.join(TASKS)}")
    return importlib.import_module(TASKS[name]).TASK


def find_task(name: str) -> Task | None:
    """The task of a report, or None for a report of a task this version does not know."""
    return get_task(name) if name in TASKS else None


def metric_info(task: str, key: str) -> Metric | None:
    found = find_task(task)
    return found.metric_for(key) if found is not None else None


def scale_of(task: str, key: str) -> str:
    metric = metric_info(task, key)
    return metric.scale if metric is not None else ""


def higher_is_better(task: str, key: str) -> bool:
    metric = metric_info(task, key)
    return metric.higher_is_better if metric is not None else True


def primary_metric(task: str, metrics: dict[str, Any]) -> str | None:
    found = find_task(task)
    for key in found.primary if found is not None else ():
        if key in metrics:
            return key
    return next(iter(metrics), None)


def resolve(
    task: Task, names: str | list[str] | None, available: list[str], values: dict[str, Any] | None = None
) -> list[str]:
    """Metric keys for ``--metrics`` (keys or family names, case-insensitive), in the task's order;
    without names the task's default set (under the option ``values``)."""
    from vlmeval.errors import VlmevalError

    wanted_names = split_names(names)
    if wanted_names is None:
        return task.default_keys(available, values)
    if not any(wanted_names):
        raise VlmevalError("--metrics names no metric: give metric keys or families, comma-separated")
    wanted: set[str] = set()
    for name in wanted_names:
        if not name:
            continue
        low = name.lower()
        keys = [k for k in available if k.lower() == low] or [
            k for k in available if (m := task.metric_for(k)) is not None and m.family_name.lower() == low
        ]
        companion = next((m for m in task.metrics if m.companion_of and m.key.lower() == low), None)
        if companion is not None:
            raise VlmevalError(f"{companion.key} is reported with {', '.join(companion.companion_of)}: "
                               "ask for one of those")  # fmt: skip
        if low == "failure_rate" and task.error_types:
            raise VlmevalError("failure_rate is in every report: --metrics chooses the other metrics")
        if not keys:
            families = sorted({m.family_name for k in available if (m := task.metric_for(k)) is not None})
            raise VlmevalError(
                f"unknown metric {name!r} for {task.name}: choose from {', '.join(available)} "
                f"(or a family: {', '.join(families)})"
            )
        wanted.update(keys)
    chosen = [k for k in available if k in wanted]
    return chosen + [
        k for k in available if k not in wanted and (m := task.metric_for(k)) is not None and m.always
    ]


def gate_keys(task: Task, keys: list[str]) -> list[str]:
    """What a gate may name: the requested keys and the companions reported with them."""
    companions = [
        m.key
        for m in task.metrics
        if m.companion_of and set(m.companion_of) & set(keys) and m.key not in keys
    ]
    return [*keys, *companions, *(["failure_rate"] if task.error_types else [])]


def listed_metrics() -> dict[str, list[tuple[str, Metric]]]:
    """Every metric key (a pattern as its keys under the default options) with the tasks reporting it and
    their declarations, for ``vlmeval metrics``."""
    out: dict[str, list[tuple[str, Metric]]] = {}
    for name in TASKS:
        for metric in get_task(name).metrics:
            for key in metric.listed_keys():
                out.setdefault(key, []).append((name, metric))
    return out
