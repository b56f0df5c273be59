"""The report: what every command produces, writes atomically, and what ``compare``/``report`` read back.

Schema ``vlmeval.report/1`` (CONTRACT.md). ``per_sample`` keeps per-sample scores and, where a corpus metric
is not a mean of them (BLEU, CIDEr-D, METEOR...), the sufficient statistics in ``stats`` so that bootstrap
and compare never need the inputs again.
"""

from __future__ import annotations

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
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; shallow (no copy of the per-sample lists, which can hold millions of numbers)."""
        ordered = {"schema": self.schema, "task": self.task}
        ordered.update(
            {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("schema", "task")}
        )
        if not ordered["stats"]:
            del ordered["stats"]
        return ordered

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: object = None) -> Report:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else None
            raise InputError(f"not a vlmeval report (schema {found!r}, expected {SCHEMA!r})", path)
        known = {f for f in cls.__dataclass_fields__}
        missing = [
            k for k in ("task", "metrics", "scale", "signature", "counts", "per_sample") if k not in data
        ]
        if missing:
            raise InputError(f"report lacks {', '.join(missing)}", path)
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs.setdefault("inputs", [])
        kwargs.setdefault("environment", {})
        return cls(**kwargs)

    @property
    def primary(self) -> str | None:
        """The metric failure cases are ranked by, and the first row of the table."""
        from vlmeval.tasks import primary_metric

        return primary_metric(self.task, self.metrics)


def load_report(path: str | Path) -> Report:
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path, exc.lineno) from None
    except UnicodeDecodeError:
        raise InputError("not valid UTF-8", path) from None
    return Report.from_dict(data, path)


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


def write_json_atomic(data: Any, path: str | Path, indent: int | None = 1) -> None:
    """Write to a temporary file in the same directory, then rename: never a half-written file."""

    def write(handle) -> None:
        json.dump(_clean(data), handle, indent=indent, ensure_ascii=False, allow_nan=False)
        handle.write("\n")

    write_atomic(path, write)


def write_atomic(path: str | Path, write) -> None:
    """``write(handle)`` into a temporary file beside ``path``, then rename it over ``path``; the file gets
    the permissions a plain open() would give (mkstemp's are owner-only)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise VlmevalError(f"cannot write {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
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
    # indented for reading by eye; a large report compact (json's C encoder only runs without indent)
    indent = 1 if len(report.per_sample.get("ids", ())) <= 20_000 else None
    try:
        write_json_atomic(report.to_dict(), path, indent=indent)
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
    }
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None
