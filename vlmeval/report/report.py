"""The report: what every command produces, writes atomically, and what ``compare``/``report`` read back.

Schema ``vlmeval.report/1`` (CONTRACT.md). ``per_sample`` keeps per-sample scores and, where a corpus metric
is not a mean of them (BLEU, CIDEr-D, METEOR...), the sufficient statistics in ``stats`` so that bootstrap
and compare never need the inputs again.
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import sys
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vlmeval import __version__
from vlmeval.errors import InputError, VlmevalError

SCHEMA = "vlmeval.report/1"
SUMMARY = ("schema", "task", "metrics", "scale", "ci", "signature", "counts", "gates", "warnings", "meta")
# the JSON type each field of a report must have (a report read back is checked before anything uses it)
FIELD_TYPES = {
    "task": str, "metrics": dict, "scale": dict, "signature": dict, "counts": dict, "per_sample": dict,
    "inputs": list, "environment": dict, "breakdown": dict, "ci": dict, "gates": list, "failures": list,
    "options": dict, "warnings": list, "stats": dict, "meta": dict, "shard": dict,
}  # fmt: skip
_JSON_NAMES = {dict: "an object", list: "a list", str: "a string"}


@dataclass
class Report:
    task: str
    metrics: dict[str, float]
    scale: dict[str, str]
    signature: dict[str, str]
    counts: dict[str, Any]
    per_sample: dict[str, Any]
    inputs: list[dict[str, Any]]
    environment: dict[str, Any]
    breakdown: dict[str, Any] = field(default_factory=dict)
    ci: dict[str, list[float]] = field(default_factory=dict)
    gates: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # per-sample sufficient statistics for corpus metrics (not in the schema's required keys)
    stats: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)  # run facts (--meta KEY=VALUE): step, model, lr...
    # a partial report (--shard I/N): which part, and what vlmeval merge needs (vlmeval.shard)
    shard: dict[str, Any] = field(default_factory=dict)
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; shallow (no copy of the per-sample lists, which can hold millions of numbers)."""
        ordered = {"schema": self.schema, "task": self.task}
        ordered.update(
            {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("schema", "task")}
        )
        for optional in ("ci", "stats", "meta", "shard"):  # written only when there is something to write
            if not ordered[optional]:
                del ordered[optional]
        return ordered

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: object = None) -> Report:
        if not isinstance(data, dict):
            from vlmeval.io.fields import describe

            raise InputError(f"not a vlmeval report (a JSON object with schema {SCHEMA!r}), got {describe(data)}", path)
        if data.get("schema") != SCHEMA:
            raise InputError(f"not a vlmeval report (schema {data.get('schema')!r}, expected {SCHEMA!r})", path)
        known = {f for f in cls.__dataclass_fields__}
        missing = [
            k for k in ("task", "metrics", "scale", "signature", "counts", "per_sample") if k not in data
        ]
        if missing:
            raise InputError(f"report lacks {', '.join(missing)}", path)
        _check_shape(data, path)
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs.setdefault("inputs", [])
        kwargs.setdefault("environment", {})
        return cls(**kwargs)

    def summary(self, path: object = None) -> dict[str, Any]:
        """What ``--format json`` prints: the numbers and how they were made, without the per-sample lists
        (the report file at ``path`` keeps everything)."""
        whole = self.to_dict()
        out = {k: whole[k] for k in SUMMARY if k in whole}
        if path is not None:
            out["report"] = str(path)
        return out

    def save(self, path: str | Path) -> None:
        """Write the report as the CLI writes it (atomically; a ``.gz`` name is gzipped)."""
        if not isinstance(path, (str, os.PathLike)):
            from vlmeval.errors import VlmevalError

            raise VlmevalError(f"save() takes a file path, got {type(path).__name__}")
        write_report(self, path)

    def to_wandb(self, prefix: str = "") -> dict[str, float]:
        """The flat dict ``wandb.log`` takes: every metric, and its interval as ``<metric>_ci_low/_high``."""
        out = {f"{prefix}{k}": v for k, v in self.metrics.items() if v is not None}
        for key, (low, high) in self.ci.items():
            out[f"{prefix}{key}_ci_low"], out[f"{prefix}{key}_ci_high"] = low, high
        return out

    @property
    def passed(self) -> bool:
        """Whether every gate passed (True without gates)."""
        return all(g["passed"] for g in self.gates)

    @property
    def primary(self) -> str | None:
        """The metric failure cases are ranked by, and the first row of the table."""
        from vlmeval.tasks import primary_metric

        return primary_metric(self.task, self.metrics)


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _fits_a_float(value) -> bool:
    """A JSON integer can have 400 digits; a float cannot hold it (NaN can: an undefined metric)."""
    try:
        float(value or 0)
    except OverflowError:
        return False
    return True


def _check_shape(data: dict[str, Any], path: object) -> None:
    """A report read back has the shape a vlmeval report has: one sentence naming the first field that
    does not, before compare, HTML or W&B read it."""
    for key, kind in FIELD_TYPES.items():
        if key in data and not isinstance(data[key], kind):
            raise InputError(f"not a valid report: '{key}' must be {_JSON_NAMES[kind]}", path)
    for key, value in data["metrics"].items():
        if not _number(value) or not _fits_a_float(value):
            raise InputError(f"not a valid report: metrics.{key} is not a number", path)
    for field_name in ("scale", "signature"):
        for key, value in data[field_name].items():
            if not isinstance(value, str):
                raise InputError(f"not a valid report: {field_name}.{key} must be a string", path)
    for key in ("records", "scored"):
        value = data["counts"].get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InputError(f"not a valid report: counts.{key} must be a whole number", path)
    for k, failure in enumerate(data.get("failures", [])):
        if not isinstance(failure, dict):
            raise InputError(f"not a valid report: failures[{k}] must be an object", path)
        if not isinstance(failure.get("image"), (str, type(None))):
            raise InputError(f"not a valid report: failures[{k}].image must be a path (text) or null", path)
        if failure.get("score") is not None and not (_number(failure["score"]) and _fits_a_float(failure["score"])):
            raise InputError(f"not a valid report: failures[{k}].score must be a number or null", path)
    for name, groups in data.get("breakdown", {}).items():
        # {breakdown: {group: {metric: number or null}}}, and an IoU sweep's groups are thresholds
        if not isinstance(groups, dict) or not all(
            isinstance(row, dict) and all(v is None or (_number(v) and _fits_a_float(v)) for v in row.values())
            for row in groups.values()
        ):
            raise InputError(f"not a valid report: breakdown.{name} must map groups to metric numbers", path)
        if name == "iou_threshold" and not all(_is_float_text(t) for t in groups):
            raise InputError("not a valid report: breakdown.iou_threshold's groups must be IoU thresholds", path)
    for k, gate in enumerate(data.get("gates", [])):
        if not (isinstance(gate, dict) and isinstance(gate.get("metric"), str) and isinstance(gate.get("op"), str)
                and gate.get("threshold") is not None
                and all(_number(gate.get(f)) and _fits_a_float(gate.get(f)) for f in ("threshold", "value"))
                and isinstance(gate.get("passed"), bool)):  # fmt: skip
            raise InputError(
                f"not a valid report: gates[{k}] must hold metric, op, threshold, value and passed", path
            )
    per_sample = data["per_sample"]
    if "ids" not in per_sample and any(k in data["metrics"] for k in per_sample):
        raise InputError("not a valid report: per_sample has values but no 'ids' to pair them by", path)
    lengths = {k: len(v) for k, v in per_sample.items() if (k == "ids" or k.endswith("_ids")) and isinstance(v, list)}
    for key in lengths:  # samples pair by id (compare, merge): one id, one sample
        ids = per_sample[key]
        if not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in ids):
            raise InputError(f"not a valid report: per_sample.{key} must hold ids (text or whole numbers)", path)
        texts = list(map(str, ids))
        if len(set(texts)) != len(texts):
            from vlmeval.io.join import first_repeat

            twice = texts[first_repeat(texts)]  # type: ignore[index]
            raise InputError(f"not a valid report: per_sample.{key} holds the id {twice!r} twice", path)
    for key, values in per_sample.items():
        if not isinstance(values, list):
            raise InputError(f"not a valid report: per_sample.{key} must be a list", path)
        if lengths and len(values) not in lengths.values():
            raise InputError(
                f"not a valid report: per_sample.{key} has {len(values)} values for "
                f"{' or '.join(str(n) for n in sorted(set(lengths.values())))} samples",
                path,
            )
        if key in data["metrics"] and not all(_number(v) for v in values):
            raise InputError(f"not a valid report: per_sample.{key} holds a value that is not a number", path)
    for key, interval in data.get("ci", {}).items():
        if not (isinstance(interval, list) and len(interval) == 2 and all(_number(v) for v in interval)):
            raise InputError(f"not a valid report: ci.{key} must be [low, high]", path)
    for name, table in data.get("stats", {}).items():
        columns = table.values() if isinstance(table, dict) else [table]
        if not all(isinstance(c, list) for c in columns):
            raise InputError(f"not a valid report: stats.{name} must hold lists", path)


def _is_float_text(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def load_report(path: str | Path) -> Report:
    """A saved report (gzipped or not); every way the file can be wrong is one sentence."""
    from vlmeval.io.readers import read_json_document

    path = Path(path)
    return Report.from_dict(read_json_document(path).document, path)


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null. Containers without any are returned as they are."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        isfinite = math.isfinite
        if all(isfinite(v) if type(v) is float else not isinstance(v, (dict, list, tuple)) for v in value):
            return value
        return [_clean(v) for v in value]
    return value


# fields whose values are long lists (one number or statistic per sample): written compact, one line each
LONG_FIELDS = ("per_sample", "stats", "shard")


def dumps_json(data: dict[str, Any]) -> str:
    """A report (or any dict) as JSON people can read and programs can write fast: one top-level field a
    line, small fields indented, and the long per-sample lists one compact line each through json's C
    encoder (an indented dump runs the pure-Python encoder over every number)."""

    def one(value: Any, indent: int | None) -> str:
        return json.dumps(value, indent=indent, ensure_ascii=False, allow_nan=False)

    parts = []
    for key, value in _clean(data).items():
        if key in LONG_FIELDS and isinstance(value, dict) and value:
            text = "{\n" + ",\n".join(f"  {one(k, None)}: {one(v, None)}" for k, v in value.items()) + "\n }"
        else:
            text = one(value, 1).replace("\n", "\n ")
        parts.append(f" {one(key, None)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_json_atomic(data: Any, path: str | Path) -> None:
    """Write to a temporary file in the same directory, then rename: never a half-written file."""
    text = dumps_json(data)
    write_atomic(path, lambda handle: handle.write(text))


def write_atomic(path: str | Path, write) -> None:
    """``write(handle)`` into a temporary file beside ``path``, then rename it over ``path``; the file gets
    the permissions a plain open() would give (mkstemp's are owner-only)."""
    path = Path(path)
    if path.is_symlink():  # written through: the rename would replace the link itself
        path = Path(os.path.realpath(path))
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise VlmevalError(f"cannot write {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as stored:
            if path.suffix.lower() == ".gz":  # a .gz name gets gzip (reproducible: no name, no time)
                import gzip

                with gzip.GzipFile(filename="", fileobj=stored, mode="wb", mtime=0) as packed:
                    with io.TextIOWrapper(packed, encoding="utf-8", errors="backslashreplace") as handle:
                        write(handle)
            else:
                # a file name that is not UTF-8 (kept by Python as lone surrogates) is written as its JSON
                # escape (\udcff), not an error
                handle = io.TextIOWrapper(stored, encoding="utf-8", errors="backslashreplace")
                write(handle)
                handle.flush()
                handle.detach()  # the file stays open for the fsync below
            stored.flush()
            os.fsync(stored.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_report(report: Report, path: str | Path) -> None:
    try:
        write_json_atomic(report.to_dict(), path)
    except OSError as exc:
        raise VlmevalError(f"cannot write the report to {path}: {exc.strerror or exc}") from None


def environment(**extra: Any) -> dict[str, Any]:
    import numpy

    env: dict[str, Any] = {
        "vlmeval": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "numpy": numpy.__version__,
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),  # what the relative paths in the report (inputs, failure images) are relative to
    }
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def package_version(name: str) -> str | None:
    """An installed distribution's version: from the name of its ``NAME-VERSION.dist-info`` folder, the first
    on ``sys.path`` as ``importlib.metadata`` finds it (whose import and search cost a run 0.02 s); where
    there is none (an egg, a zip), ``importlib.metadata`` itself."""
    import re

    def normal(text: str) -> str:
        return re.sub(r"[-_.]+", "_", text).lower()

    wanted = normal(name)
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            project, _, rest = folder.partition("-")
            if normal(project) != wanted:
                continue
            if folder.endswith(".dist-info"):
                return rest[: -len(".dist-info")]
            if folder.endswith(".egg-info"):
                return _metadata_version(name)  # not a wheel's folder: its version is inside
    return _metadata_version(name)


def _metadata_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None
