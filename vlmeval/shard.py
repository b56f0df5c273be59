"""Past one process: ``--shard I/N`` scores the I-th of N contiguous slices of a run into a partial report, and
``vlmeval merge`` puts the N parts back together into exactly the report one run over everything writes (every
metric, per-sample value, breakdown, count, warning, signature, failure row and, with ``--bootstrap``, every
interval: the same estimators run on the same draws over the merged statistics).

A part reads the whole input (its counts and loader warnings are the whole input's), scores its slice and keeps
what the merge needs in the report's ``shard`` field::

    "shard": {"index": 2, "count": 8, "unit": "records", "start": 125, "stop": 250, "total": 1000,
              "loader": {"counts": {...}, "warnings": [...]},   # the whole input's, as every part read them
              "gates": [{"metric": "CIDEr", "op": ">=", "threshold": 1.0}],  # evaluated by the merge
              "failures": 5,                                     # --failures K
              "evidence": {...}}                                 # the task's per-sample statistics

Slices are ``numpy.array_split``'s: the first ``total % N`` parts one unit longer. What a unit is, how a part
takes its slice and how the parts merge is each task's ``Sharding`` (``vlmeval.tasks.task``); this module
checks that the parts are the N slices of one run and rebuilds the report through ``vlmeval.run.build_report``.
A part has no intervals and evaluates no gate (its exit code is 0 unless it fails to run): both are the merge's.
"""

from __future__ import annotations

import base64
import copy
import os
import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vlmeval.errors import InputError, VlmevalError

SHARD_FORMAT = "I/N (the I-th of N parts, counted from 1: 2/8)"
# signature fields that describe a slice rather than the run (a part's value differs from the merged one)
SLICE_FIELDS = ("nrefs", "idf", "tok", "impl", "imgs", "imgs_sha256", "subtasks", "gain")
# environment entries every report has (vlmeval.report.report.environment); the rest are the task's versions
BASE_ENVIRONMENT = ("vlmeval", "python", "platform", "numpy", "argv")


@dataclass
class Window:
    """A part's place in the whole input, for metrics whose per-sample numbers depend on more than the sample:
    the whole input's lists (the caption pipeline tokenizes a part inside the whole documents, BERTScore takes
    its IDF from all references) and where the part's slice starts."""

    start: int
    predictions: list
    references: list
    images: list | None = None
    image_ids: list | None = None


def parse_shard(text: str | None, wandb: bool = False) -> tuple[int, int] | None:
    """``--shard I/N`` as (I, N); None without it."""
    if text is None:
        return None
    found = re.fullmatch(r"\s*(\d{1,9})\s*/\s*(\d{1,9})\s*", text)
    if not found:
        raise VlmevalError(f"--shard takes {SHARD_FORMAT}, got {text!r}")
    index, count = int(found.group(1)), int(found.group(2))
    if count < 1 or not 1 <= index <= count:
        raise VlmevalError(
            f"--shard {text.strip()}: I must be between 1 and N, and N at least 1 ({SHARD_FORMAT[5:-1]})"
        )
    if wandb:
        raise VlmevalError(
            "--wandb logs a whole run: log the merged one (vlmeval report MERGED.json --to-wandb), not a part"
        )
    return index, count


def slice_bounds(total: int, index: int, count: int) -> tuple[int, int]:
    """Units [start, stop) of part ``index`` (1-based) of ``count``: numpy.array_split's boundaries."""
    size, longer = divmod(total, count)
    start = (index - 1) * size + min(index - 1, longer)
    return start, start + size + (1 if index <= longer else 0)


def take_part(task, data: Any, index: int, count: int) -> tuple[Any, dict[str, Any]]:
    """The data part ``index`` of ``count`` evaluates, and its ``shard`` entry so far."""
    if task.shard is None:
        raise VlmevalError(f"{task.name} cannot be sharded")
    unit, total = task.shard.size(data)
    if count > total:
        raise VlmevalError(f"--shard {index}/{count}: {total} {unit} make at most {total} parts, not {count}")
    start, stop = slice_bounds(total, index, count)
    loader = {"counts": copy.deepcopy(data.counts), "warnings": list(data.warnings)}
    info = {"index": index, "count": count, "unit": unit, "start": start, "stop": stop, "total": total}
    return task.shard.take(data, start, stop), {**info, "loader": loader}


def finish_part(report, result, part: dict[str, Any], gates: list, failures: int):
    """The partial report: the slice's report with its ``shard`` entry (gates kept for the merge)."""
    evidence = {k: v() if callable(v) else v for k, v in result.evidence.items()}
    report.shard = {**part, "gates": [asdict(g) for g in gates], "failures": failures, "evidence": evidence}
    report.warnings.append(
        f"a partial report: part {part['index']} of {part['count']} ({part['unit']} {part['start'] + 1}-"
        f"{part['stop']} of {part['total']}); its numbers are its slice's and its counts the whole input's: "
        f"vlmeval merge the {part['count']} parts for the run's report"
    )
    return report


# ------------------------------------------------------------------------------------------------- merging


def merge_files(paths: list[Path], out: str | None):
    """The merged report of the partial reports at ``paths``, its gates, and where it goes (checked first)."""
    from vlmeval.report.report import load_report
    from vlmeval.run import output_path

    if not paths:
        raise VlmevalError("vlmeval merge needs the partial reports of one run (written with --shard I/N)")
    parts = [load_report(p) for p in paths]
    inputs = {f"PART {k}": Path(p) for k, p in enumerate(paths, start=1)}
    out_path = output_path(out, f"vlmeval-{parts[0].task}.json", inputs)
    report, gates = merge_reports(parts, [str(p) for p in paths])
    return report, gates, out_path


def merge_reports(parts: list, names: list[str] | None = None):
    """The report one run over all the parts' slices writes, and the parts' gates to evaluate on it."""
    from vlmeval.report.gates import Gate
    from vlmeval.run import build_report
    from vlmeval.tasks import get_task

    parts = check_parts(parts, names or [f"part {k + 1}" for k in range(len(parts))])
    first = parts[0]
    task = get_task(first.task)
    try:
        result = task.shard.merge(parts)
    except (KeyError, IndexError, ValueError, TypeError) as exc:  # an edited part: its statistics do not fit
        if os.environ.get("VLMEVAL_DEBUG"):
            raise
        raise InputError(
            f"not a valid partial report: the parts' statistics do not fit together ({type(exc).__name__}: {exc})"
        ) from None
    bootstrap, seed = first.options.get("bootstrap", 0), first.options.get("seed", 12345)
    report = build_report(task, result, failures=first.shard["failures"], bootstrap=bootstrap, seed=seed)
    report.meta = dict(first.meta)
    if bootstrap:
        from vlmeval.report.bootstrap import add_intervals

        add_intervals(report, bootstrap, seed, result.estimators)
    return report, [Gate(**g) for g in first.shard["gates"]]


_PART_FIELDS = {"index": int, "count": int, "unit": str, "start": int, "stop": int, "total": int,
                "loader": dict, "gates": list, "failures": int, "evidence": dict}  # fmt: skip


def check_parts(parts: list, names: list[str]) -> list:
    """The parts in order, checked to be the N slices of one run: one sentence for the first problem."""
    from vlmeval.tasks import TASKS

    for part, name in zip(parts, names):
        if not part.shard:
            raise VlmevalError(
                f"{name} is not a partial report (it has no 'shard' field): write parts with --shard I/N"
            )
        for key, kind in _PART_FIELDS.items():
            if not isinstance(part.shard.get(key), kind) or isinstance(part.shard.get(key), bool):
                raise InputError(
                    f"not a valid partial report: shard.{key} is missing or not a {kind.__name__}", name
                )
        if part.task not in TASKS:
            raise VlmevalError(f"{name} is a report of task {part.task!r}, which this vlmeval does not know")
    first, first_name = parts[0], names[0]
    count = first.shard["count"]
    by_index: dict[int, str] = {}
    for part, name in zip(parts, names):
        info = part.shard
        if part.task != first.task:
            raise VlmevalError(
                f"{first_name} and {name} are parts of different tasks ({first.task} and {part.task})"
            )
        if info["count"] != count:
            raise VlmevalError(
                f"{first_name} is part {first.shard['index']} of {count} but {name} is part {info['index']} of "
                f"{info['count']}"
            )
        if info["index"] in by_index:
            raise VlmevalError(
                f"part {info['index']}/{count} is given twice ({by_index[info['index']]} and {name})"
            )
        by_index[info["index"]] = name
        _same_run(first, part, first_name, name)
        if (info["start"], info["stop"]) != slice_bounds(info["total"], info["index"], count) or info[
            "index"
        ] > count:
            raise InputError(
                f"not a valid partial report: shard {info['index']}/{count} does not hold its slice", name
            )
    missing = [k for k in range(1, count + 1) if k not in by_index]
    if missing:
        shown = ", ".join(f"{k}/{count}" for k in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise VlmevalError(
            f"{len(parts)} parts given, the run has {count}: part{'s' if len(missing) > 1 else ''} {shown} missing"
        )
    return [part for _, part in sorted(zip([p.shard["index"] for p in parts], parts), key=lambda x: x[0])]


def _same_run(first, part, first_name: str, name: str) -> None:
    """The two parts come from one run: the same inputs (by hash), options, metrics, signatures, gates, meta."""
    a, b = first.shard, part.shard
    if (a["unit"], a["total"]) != (b["unit"], b["total"]):
        raise VlmevalError(
            f"{first_name} and {name} slice different inputs ({a['total']} {a['unit']} and {b['total']} {b['unit']})"
        )
    checks = (
        ("inputs", [(i.get("path"), i.get("sha256")) for i in first.inputs],
         [(i.get("path"), i.get("sha256")) for i in part.inputs]),
        ("options", first.options, part.options),
        ("metrics", list(first.metrics), list(part.metrics)),
        ("signatures", _run_signatures(first), _run_signatures(part)),
        ("vlmeval versions", first.environment.get("vlmeval"), part.environment.get("vlmeval")),
        ("gates", a["gates"], b["gates"]),
        ("--failures", a["failures"], b["failures"]),
        ("meta", first.meta, part.meta),
        ("input counts", a["loader"], b["loader"]),
    )  # fmt: skip
    for what, x, y in checks:
        if x != y:
            raise VlmevalError(
                f"{first_name} and {name} are parts of different runs: their {what} differ{_first_difference(x, y)}"
            )


def _first_difference(x: Any, y: Any) -> str:
    """Where two values first differ, short: the differing key or list item, or what one list has and the
    other lacks (a metric list cut at a fixed width could hide the missing metric)."""
    return f" ({_difference(x, y)})"


def _difference(x: Any, y: Any) -> str:
    if isinstance(x, dict) and isinstance(y, dict):
        for key in dict.fromkeys([*x, *y]):
            if x.get(key) != y.get(key):
                return f"{key}: {_difference(x.get(key), y.get(key))}"
    if isinstance(x, list) and isinstance(y, list):
        if len(x) == len(y):
            for u, v in zip(x, y):
                if u != v:
                    return _difference(u, v)
        only_x, only_y = [u for u in x if u not in y], [v for v in y if v not in x]
        if only_x or only_y:
            return f"{_short(only_x) if only_x else 'nothing'} vs {_short(only_y) if only_y else 'nothing'} besides"
    return f"{_short(x)} vs {_short(y)}"


def _short(value: Any, width: int = 60) -> str:
    """A value for a message: its start and its end where it is long (hashes differ at the end too)."""
    text = str(value)
    return text if len(text) <= width else f"{text[: width // 2 - 2]}...{text[-(width // 2 - 2):]}"


def _run_signatures(report) -> dict[str, str]:
    """Signatures without the fields that describe a slice (``nrefs``, ``idf:corpus-N``...)."""
    pattern = re.compile(r"\|(" + "|".join(SLICE_FIELDS) + r"):[^|]*")
    return {k: pattern.sub(r"|\1:*", v) for k, v in report.signature.items()}


# ------------------------------------------------------------------------------- helpers for tasks' merges


def take_rows(data: Any, start: int, stop: int, *names: str) -> Any:
    """``data`` with its per-record lists ``names`` cut to [start, stop) (a list that is None stays None)."""
    from dataclasses import replace

    cut = {n: None if getattr(data, n) is None else getattr(data, n)[start:stop] for n in names}
    return replace(data, **cut)


def loader_counts(parts: list) -> dict[str, Any]:
    """The whole input's counts, as every part read them (a fresh copy)."""
    return copy.deepcopy(parts[0].shard["loader"]["counts"])


def loader_warnings(parts: list) -> list[str]:
    return list(parts[0].shard["loader"]["warnings"])


def evidence(parts: list, name: str) -> list[Any]:
    """Each part's evidence ``name`` (one sentence when a part lacks it)."""
    out = []
    for part in parts:
        found = part.shard["evidence"].get(name)
        if found is None:
            raise InputError(
                f"not a valid partial report: shard.evidence lacks {name!r}", f"part {part.shard['index']}"
            )
        out.append(found)
    return out


def joined_columns(parts: list, name: str) -> dict[str, list]:
    """A table of per-unit evidence columns, each the parts' columns end to end (checked: every column of a
    part as long as the part's records)."""
    tables = evidence(parts, name)
    for part, table in zip(parts, tables):
        lengths = {len(column) for column in table.values() if isinstance(column, list)}
        if part.shard["unit"] == "records":
            lengths.add(len(part.per_sample.get("ids", ())))
        if len(lengths) > 1 or set(table) != set(tables[0]):
            raise InputError(f"not a valid partial report: its shard.evidence.{name} does not fit its records",
                             f"part {part.shard['index']}")  # fmt: skip
    return {key: [x for table in tables for x in table[key]] for key in tables[0]}


def per_sample(parts: list, key: str) -> list[Any]:
    return [x for part in parts for x in part.per_sample.get(key, [])]


def per_stat(parts: list, table: str, column: str) -> list[Any]:
    """A per-sample column of the reports' ``stats`` tables, end to end."""
    return [x for part in parts for x in part.stats[table][column]]


def merged_failures(parts: list, k: int, higher_is_better: bool = True, by: str | None = None) -> list[dict]:
    """The K worst rows over all parts: each part holds its own K worst, worst first and ties in input order,
    so the K worst of their union (a stable sort, parts in order) are the K worst one run finds. ``by``: a
    field whose groups each get their own K (retrieval's directions), in order of first appearance."""
    rows = [row for part in parts for row in part.failures]
    groups: dict[Any, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get(by) if by else None, []).append(row)
    sign = 1.0 if higher_is_better else -1.0

    def worst_first(
        row: dict,
    ) -> tuple[bool, float]:  # a NaN score (null in JSON) sorts last, as np.argsort does
        score = row["score"]
        unscored = score is None or score != score
        return unscored, 0.0 if unscored else sign * score

    return [row for group in groups.values() for row in sorted(group, key=worst_first)[:k]]


def primary_failures(parts: list, task) -> list[dict]:
    """``merged_failures`` ranked as the task ranks them: by its primary metric."""
    from vlmeval.tasks import primary_metric

    primary = primary_metric(task.name, parts[0].metrics)
    metric = task.metric_for(primary) if primary else None
    higher = metric.higher_is_better if metric is not None else True
    return merged_failures(parts, parts[0].shard["failures"], higher)


def run_options(parts: list) -> dict[str, Any]:
    """The run's options as the task recorded them (the report builder adds ``bootstrap`` and ``seed``)."""
    return {k: v for k, v in parts[0].options.items() if k not in ("bootstrap", "seed")}


def base_result(parts: list, task):
    """A ``Result`` with what the parts share or simply join: per-sample lists end to end, the first part's
    signatures (``nrefs`` the run's), options, inputs and versions, the whole input's counts and warnings,
    the K worst failures and the error types. The task's merge adds its metrics, counts, warnings, breakdowns."""
    from vlmeval.tasks.task import Result

    derived = ("failure_rate", "error_type")  # the report builder derives these from the error types
    lists = {k: per_sample(parts, k) for k in parts[0].per_sample if k not in derived}
    types = per_sample(parts, "error_type") if "error_type" in parts[0].per_sample else None
    return Result(
        metrics={}, per_sample=lists, signature=merged_signatures(parts), counts=loader_counts(parts),
        inputs=list(parts[0].inputs), options=run_options(parts), warnings=loader_warnings(parts),
        environment=environment_extras(parts), failures=primary_failures(parts, task), error_types=types,
    )  # fmt: skip


def summed(parts: list, *path: str) -> Any:
    """The sum over the parts of the count at ``path`` in their reports' counts (0 where a part has none)."""
    total = 0
    for part in parts:
        value: Any = part.counts
        for key in path:
            value = value.get(key, 0) if isinstance(value, dict) else 0
        total += value
    return total


def union_nrefs(values: list[str]) -> str:
    """``nrefs`` of the union of slices from each slice's (``5``, ``var3-10``; ``0`` for an empty one)."""
    ranges = []
    for value in values:
        low, _, high = value.removeprefix("var").partition("-")
        if value != "0":
            ranges.append((int(low), int(high or low)))
    if not ranges:
        return "0"
    low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
    return str(low) if low == high else f"var{low}-{high}"


def signature_field(signature: str, name: str) -> str | None:
    found = re.search(r"\|" + re.escape(name) + r":([^|]*)", signature)
    return found.group(1) if found else None


def with_field(signature: str, name: str, value: str) -> str:
    """The signature with field ``name`` set to ``value`` (where it has the field)."""
    return re.sub(r"(\|" + re.escape(name) + r":)[^|]*", lambda m: m.group(1) + value, signature, count=1)


def merged_nrefs(parts: list, key: str) -> str | None:
    """The merged ``nrefs`` of metric ``key`` from the parts' signatures."""
    found = [signature_field(p.signature.get(key, ""), "nrefs") for p in parts]
    return union_nrefs([f for f in found if f is not None]) if any(f is not None for f in found) else None


def merged_signatures(parts: list, keys: list[str] | None = None) -> dict[str, str]:
    """The first part's signatures with ``nrefs`` made the run's."""
    out = dict(parts[0].signature)
    for key in keys if keys is not None else list(out):
        nrefs = merged_nrefs(parts, key)
        if key in out and nrefs is not None:
            out[key] = with_field(out[key], "nrefs", nrefs)
    return out


def environment_extras(parts: list) -> dict[str, Any]:
    """The versions a part recorded beyond the base entries (the merge records its own base entries)."""
    return {k: v for k, v in parts[0].environment.items() if k not in BASE_ENVIRONMENT}


# -------------------------------------------------------------------- compact arrays inside a JSON report


def pack(values: Any, dtype: str = "int32") -> dict[str, Any]:
    """An integer array as a short JSON object (zlib + base64 of its little-endian bytes)."""
    array = np.ascontiguousarray(np.asarray(values, dtype=np.dtype(dtype).newbyteorder("<")))
    data = base64.b64encode(zlib.compress(array.tobytes(), 1)).decode("ascii")
    return {"dtype": dtype, "size": int(array.size), "zlib_base64": data}


def unpack(packed: Any) -> np.ndarray:
    try:
        dtype = np.dtype(packed["dtype"]).newbyteorder("<")
        if dtype.kind not in "iub":
            raise ValueError(dtype)
        array = np.frombuffer(zlib.decompress(base64.b64decode(packed["zlib_base64"])), dtype=dtype)
        if array.size != packed["size"]:
            raise ValueError("size")
    except (KeyError, TypeError, ValueError, zlib.error) as exc:
        raise InputError(f"not a valid partial report: a packed array does not read back ({exc})") from None
    return array.astype(dtype.newbyteorder("="))
