"""The Python API: one function per task, with the CLI's defaults, option names and metric names, each
returning the same ``Report`` the CLI writes. Inputs are lists in memory (or, as on the command line, the
paths of files). Bad input raises ``vlmeval.VlmevalError`` with the sentence the CLI would print.

>>> import vlmeval
>>> report = vlmeval.caption(
...     ["a dog runs on the grass", "a cat sleeps on a sofa"],
...     [["a dog running on grass", "a brown dog outside"], ["a cat asleep on a couch", "a sleeping cat"]],
...     metrics="Bleu,ROUGE_L",
... )
>>> round(report.metrics["Bleu_1"], 4), report.scale["ROUGE_L"]
(0.6667, '0-1')
>>> sorted(report.to_wandb(prefix="val/"))[:2]
['val/Bleu_1', 'val/Bleu_2']

Options are the command's, as Python keywords (``--box-format`` is ``box_format=``); the common ones are
``metrics``, ``bootstrap``, ``seed``, ``failures``, ``meta``, ``minimum``/``maximum`` (gates, as
``{"CIDEr": 1.0}``). ``report.gates`` then holds each gate's result and ``report.passed`` whether all
passed. Every function reads the task's own declaration (``vlmeval.tasks``), so an option or metric the CLI
has, the API has.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vlmeval.errors import VlmevalError
from vlmeval.report.report import Report

Records = Sequence[Mapping[str, Any]]


def evaluate(
    task_name: str,
    values: dict[str, Any],
    *,
    metrics: str | Sequence[str] | None = None,
    bootstrap: int = 0,
    seed: int = 12345,
    failures: int = 0,
    meta: Mapping[str, Any] | None = None,
    minimum: Mapping[str, float] | None = None,
    maximum: Mapping[str, float] | None = None,
    prepared: Any = None,
    **options: Any,
) -> Report:
    """A task by name on its input ``values`` (paths, or records and arrays in memory) and ``options``, the
    command's options as Python keywords; what every function below calls. ``prepared``: what an evaluator
    computed once (handed to the task's ``evaluate``)."""
    from vlmeval.report.gates import Gate
    from vlmeval.run import apply_gates, run_task
    from vlmeval.tasks import get_task

    task = get_task(task_name)
    given = _given(task, values, options)
    bootstrap, seed, failures = _check_common(bootstrap, seed, failures)
    gates = [Gate(k, ">=", v) for k, v in _thresholds("minimum", minimum).items()]
    gates += [Gate(k, "<=", v) for k, v in _thresholds("maximum", maximum).items()]
    report, gates = run_task(
        task, given, metrics=_metric_names(metrics), gates=gates, bootstrap=bootstrap, seed=seed,
        failures=failures, meta=_meta(meta), **({"prepared": prepared} if prepared is not None else {}),
    )  # fmt: skip
    error = apply_gates(report, gates)
    if error is not None:
        raise error
    return report


def _given(task, values: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The task's option values as the CLI hands them over: defaults, then the inputs, then the options
    (choices as text, paths as paths), each checked against its declaration."""
    from vlmeval.io.readers import RecordFile, memory_records
    from vlmeval.run import check_values

    if not isinstance(values, Mapping):
        raise VlmevalError(f"the inputs must be a dict of the task's inputs (such as {{'preds': ...}}), got {values!r:.40}")
    # records given in memory (a list of dicts) are read as a file of them would be
    values = {k: memory_records([dict(r) for r in v], k)
              if isinstance(v, (list, tuple)) and all(isinstance(r, Mapping) for r in v) else v
              for k, v in values.items()}  # fmt: skip
    for option in task.options:  # a file input: a path, records or an array, as the task reads them
        value = values.get(option.name)
        # (a list: retrieval's query and item ids)
        if option.type is Path and value is not None and not isinstance(value, (str, os.PathLike, RecordFile, list)) \
                and type(value).__module__ != "numpy":  # fmt: skip
            from vlmeval.io.fields import describe

            raise VlmevalError(f"{option.name} must be a file path or records (a list of dicts), got {describe(value)}")
    known = {o.name for o in task.options}
    strange = sorted(set(values) - known)
    if strange:  # an input the task does not read would be dropped without a word
        inputs = ", ".join(o.name for o in task.options if o.argument or o.type is Path)
        raise VlmevalError(f"{task.name} takes no input {strange[0]!r}: its inputs are {inputs}")
    unknown = sorted(set(options) - known)
    if unknown:
        raise VlmevalError(
            f"{task.name} takes no option {unknown[0]!r}: its options are {', '.join(sorted(known - set(values)))}"
        )
    declared = {o.name: o for o in task.options}
    options = {name: _typed(declared[name], value) for name, value in options.items()}
    given = {**{o.name: o.default for o in task.options}, **values, **options}
    for option in task.options:
        if option.type is Path and isinstance(given.get(option.name), str):
            given[option.name] = Path(given[option.name])
    check_values(task.options, given)
    return given


def _typed(option, value: Any) -> Any:
    """A keyword's value as the command would have parsed it: of the option's type (numpy scalars as
    Python's), else one sentence. A bool takes True or False only: "no" is not False."""
    if value is None:
        if option.default is not None and not option.required:  # the command has no way to pass "no value"
            raise VlmevalError(f"{option.name}= must be {_EXPECTED.get(option.type, 'given')}, got null "
                               f"(its default is {option.default!r})")  # fmt: skip
        return value
    if option.type is Path:
        return value
    if option.multiple and isinstance(value, (list, tuple)):
        return [_scalar(f"{option.name}=", option.type, v) for v in value]
    return _scalar(f"{option.name}=", option.type, value)


_EXPECTED = {bool: "True or False", int: "a whole number", float: "a number", str: "text"}


def _scalar(label: str, kind: type, value: Any) -> Any:
    import numbers

    from vlmeval.io.fields import describe

    if kind is bool:
        if value is True or value is False:
            return value
        if type(value).__module__ == "numpy" and type(value).__name__ == "bool":  # numpy.bool_ (True_, False_)
            return bool(value)
        expected = "True or False"
    elif kind is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        expected = "a whole number"
    elif kind is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
        expected = "a number"
    else:
        if isinstance(value, str):
            return str(value)
        expected = "text"
    raise VlmevalError(f"{label} must be {expected}, got {describe(value)}")


def _check_common(bootstrap: Any, seed: Any, failures: Any) -> tuple[int, int, int]:
    from vlmeval.cli import COMMON  # the common options' declarations (their ranges)
    from vlmeval.run import check_values

    values = {name: _scalar(f"{name}=", int, value)
              for name, value in (("bootstrap", bootstrap), ("seed", seed), ("failures", failures))}  # fmt: skip
    check_values(COMMON, values)
    return values["bootstrap"], values["seed"], values["failures"]


def _metric_names(metrics: Any) -> str | list[str] | None:
    if metrics is None or isinstance(metrics, str):
        return metrics
    names = _column("metrics", metrics, per="metric")
    for name in names:
        _scalar("metrics=", str, name)
    return names


def _thresholds(label: str, gates: Any) -> dict[str, float]:
    """``minimum={"CIDEr": 1.0}``: metric names to finite numbers."""
    import math

    if gates is None:
        return {}
    if not isinstance(gates, Mapping):
        raise VlmevalError(f'{label}= must be a dict of metric names to thresholds ({{"CIDEr": 1.0}})')
    out = {}
    for key, value in gates.items():
        number = _scalar(f"{label}[{key!r}]", float, value)
        if not (isinstance(key, str) and math.isfinite(number)):
            raise VlmevalError(f"{label}= takes metric names and finite numbers, got {key!r}: {value!r}")
        out[key] = number
    return out


def _meta(meta: Any) -> dict[str, Any]:
    """``meta=``: facts about the run for the report (as ``--meta``), JSON scalars (numpy's as Python's)."""
    import math
    import numbers

    from vlmeval.io.fields import describe

    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        raise VlmevalError(f"meta= must be a dict ({{'step': 1500}}), got {describe(meta)}")
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if type(value).__module__ == "numpy" and hasattr(value, "item"):  # numpy scalars as Python's
            value = value.item()
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            value = int(value)
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = float(value)
        ok = value is None or isinstance(value, (str, bool, int)) or (isinstance(value, float) and math.isfinite(value))
        if not (isinstance(key, str) and ok):
            raise VlmevalError(
                f"meta= takes text keys and text, numbers (finite), booleans or None, got {key!r}: {describe(value)}"
            )
        out[key] = value
    return out


def _column(name: str, value: Any, per: str = "sample") -> list[Any] | None:
    """One entry per sample, in sample order: a list, tuple, numpy array, pandas Series or any iterator. A
    string, a set (no order) or a mapping is no such column: one sentence, not a character-by-character read."""
    from vlmeval.io.fields import describe

    if value is None:
        return None
    unordered = isinstance(value, (set, frozenset)) or isinstance(value, Mapping)
    if isinstance(value, (str, bytes)) or unordered:
        why = " (it has no order)" if unordered else ""
        raise VlmevalError(f"{name} must be a list with one entry per {per}, got {describe(value)}{why}")
    module = type(value).__module__.split(".")[0]
    if module in ("pandas", "numpy", "polars", "pyarrow") and hasattr(value, "tolist"):
        if getattr(value, "ndim", 1) == 0:
            raise VlmevalError(f"{name} must be a list with one entry per {per}, got one value")
        return value.tolist()  # a Series by position, whatever its index; numpy scalars as Python's
    if module in ("pandas", "polars", "pyarrow"):  # a table: which column is meant is not ours to guess
        raise VlmevalError(f"{name} must be a list with one entry per {per}, got a table: give one column")
    try:
        entries = list(value)
    except TypeError:
        raise VlmevalError(f"{name} must be a list with one entry per {per}, got {describe(value)}") from None
    # a list of numpy arrays or scalars (a box per sample, np.int64 ids): the Python values they hold (the
    # types are collected in C, so a plain list costs no Python pass)
    if not any(kind.__module__ == "numpy" for kind in set(map(type, entries))):
        return entries
    return [v.tolist() if type(v).__module__ == "numpy" else v for v in entries]


def _plain(value: Any) -> Any:
    """Nested lists of numbers with numpy arrays or scalars inside (boxes as ``np.float32``): as Python's."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# the record fields the functions' columns fill, by the keyword that gives them (for messages)
_KEYWORDS = {"prediction": "predictions", "image": "images", "width": "widths", "height": "heights",
             "answer_type": "answer_types", "question_type": "question_types", "question": "questions",
             "category": "categories", "l2_category": "l2_categories", "group": "groups", "options": "choices",
             "answer": "answers", "image_id": "image_ids", "evidence": "evidence", "operation": "operations"}  # fmt: skip


def _records(name: str, columns: Mapping[str, Sequence[Any] | None], ids: Sequence[Any] | None):
    """Lists of equal length as records ``{"id": ..., column: value}`` (a column given as None is left out)."""
    from vlmeval.io.readers import memory_records

    present = {k: _column(_KEYWORDS.get(k, k), v) for k, v in columns.items() if v is not None}
    ids = _column("ids", ids)
    lengths = {k: len(v) for k, v in present.items()}
    n = next(iter(lengths.values()), 0)
    if ids is not None:
        lengths["ids"] = len(ids)
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k} {v}" for k, v in lengths.items())
        raise VlmevalError(f"the inputs must have one entry per sample: got {detail}")
    keys = list(ids) if ids is not None else list(range(n))
    rows = [{"id": keys[i], **{k: v[i] for k, v in present.items()}} for i in range(n)]
    return memory_records(rows, name)


def _input(value: Any, name: str, columns: Mapping[str, Sequence[Any] | None], ids):
    """A path (str or Path) as on the command line, or lists in memory."""
    if isinstance(value, (str, Path)):
        given = [k for k, v in columns.items() if v is not None and k != "prediction"]
        if given:
            raise VlmevalError(
                f"{name} is a file: its records hold the {given[0]} column (as lists, {given[0]} goes with "
                f"{name} in memory)"
            )
        return Path(value)
    return _records(name, columns, ids)


def _path_or_column(value: Any, option: str, options: dict[str, Any]) -> Any:
    """A keyword that is a command option when it is a path (``images="imgs/"`` is ``--images imgs/``,
    ``questions=`` a VQA questions file) and a column when it is a list (each sample's image, question)."""
    if isinstance(value, (str, Path)):
        options[option] = value
        return None
    return value


def caption(
    predictions: Sequence[str] | str | Path,
    references: Sequence[Sequence[str]] | None = None,
    *,
    ids: Sequence[Any] | None = None,
    images: Sequence[str | None] | str | Path | None = None,
    image_ids: Sequence[Any] | None = None,
    refs: str | Path | None = None,
    **options: Any,
) -> Report:
    """Caption metrics as pycocoevalcap 1.2 computes them (BLEU-1..4, METEOR, ROUGE-L, CIDEr-D by default;
    ``metrics=`` adds SPICE, BERTScore, CLIPScore/RefCLIPScore, ROUGE-1/2, CHAIR with ``instances=``).

    ``predictions[i]`` is scored against ``references[i]``; or give the paths of a predictions file and of
    ``refs`` (a records file or a COCO captions file), as the command does. ``images``: each sample's image
    (a list), or the image folder (a path: ``--images DIR``); ``image_ids``: each sample's COCO image, for
    CHAIR, where the ids are not image ids (several captions of one image)."""
    columns = {"prediction": predictions, "references": references, "image": _path_or_column(images, "images", options),
               "image_id": image_ids}  # fmt: skip
    return evaluate("caption", {"preds": _input(predictions, "predictions", columns, ids), "refs": refs}, **options)


def vqa(
    predictions: Sequence[str] | str | Path,
    answers: Sequence[Sequence[str]] | None = None,
    *,
    ids: Sequence[Any] | None = None,
    answer_types: Sequence[str] | None = None,
    question_types: Sequence[str] | None = None,
    questions: Sequence[str] | str | Path | None = None,
    annotations: str | Path | None = None,
    **options: Any,
) -> Report:
    """VQA accuracy as the official VQA evaluation computes it (``variant=``), exact match and token F1,
    with answer-type and question-type breakdowns. ``answers[i]``: the (usually 10) human answers."""
    columns = {"prediction": predictions, "answers": answers, "answer_type": answer_types,
               "question_type": question_types, "question": _path_or_column(questions, "questions", options)}  # fmt: skip
    values = {"preds": _input(predictions, "predictions", columns, ids), "annotations": annotations}
    return evaluate("vqa", values, **options)


def docvqa(
    predictions: Sequence[str] | str | Path,
    answers: Sequence[Sequence[str]] | None = None,
    *,
    ids: Sequence[Any] | None = None,
    answer_types: Sequence[str | Sequence[str]] | None = None,
    evidence: Sequence[str | Sequence[str]] | None = None,
    operations: Sequence[str | Sequence[str]] | None = None,
    questions: Sequence[str] | None = None,
    refs: str | Path | None = None,
    **options: Any,
) -> Report:
    """ANLS as the RRC DocVQA/InfographicVQA scorer computes it (``threshold=`` 0.5), exact match, token F1,
    with breakdowns by ``answer_types``, ``evidence`` and ``operations`` (each sample's, as the records'
    fields)."""
    columns = {"prediction": predictions, "answers": answers, "answer_type": answer_types, "evidence": evidence,
               "operation": operations, "question": questions}  # fmt: skip
    return evaluate("docvqa", {"preds": _input(predictions, "predictions", columns, ids), "refs": refs}, **options)


def grounding(
    predictions: Sequence[Any] | str | Path,
    gt_boxes: Sequence[Sequence[Sequence[float]]] | None = None,
    *,
    ids: Sequence[Any] | None = None,
    widths: Sequence[float] | None = None,
    heights: Sequence[float] | None = None,
    scores: Sequence[Sequence[float] | None] | None = None,
    images: Sequence[str | None] | str | Path | None = None,
    refs: str | Path | None = None,
    **options: Any,
) -> Report:
    """IoU, acc@T, centre accuracy, box precision/recall/F1 (``box_format=`` says how the predicted boxes map
    to pixels, as ``--box-format``); a COCO detection results file with ``refs=`` gives the COCO stats.
    ``images``: each sample's image (a list), or the image folder (a path: ``--images DIR``)."""
    columns = {"prediction": predictions, "gt_boxes": _plain(gt_boxes), "width": widths, "height": heights,
               "scores": _plain(scores), "image": _path_or_column(images, "images", options)}  # fmt: skip
    return evaluate("grounding", {"preds": _input(predictions, "predictions", columns, ids), "refs": refs}, **options)


def retrieval(
    ranked: Records | str | Path | None = None,
    *,
    scores: Any = None,
    queries: Sequence[Any] | None = None,
    items: Sequence[Any] | None = None,
    relevant: Mapping[Any, Sequence[Any]] | None = None,
    image_embeddings: Any = None,
    text_embeddings: Any = None,
    pairs: Records | str | Path | None = None,
    **options: Any,
) -> Report:
    """Recall@K, MRR, NDCG@K, from one of the command's three inputs: ranked lists (records ``{"query",
    "ranking", "relevant"}``, or their file); a score matrix (``scores``, queries x items: a numpy array, a
    list of rows or a ``.npy`` path) with the ``queries`` and ``items`` ids in row and column order and the
    ``relevant`` items of each query (a dict of lists); or ``image_embeddings`` and ``text_embeddings``
    (arrays or ``.npy`` paths) with ``pairs`` (records ``{"image", "captions"}`` or their file), both ways."""
    from vlmeval.io.readers import memory_records

    embeddings = (image_embeddings, text_embeddings, pairs)
    given = [name for name, value in (("ranked lists", ranked), ("scores=", scores),
                                      ("embeddings", next((e for e in embeddings if e is not None), None)))
             if value is not None]  # fmt: skip
    if len(given) != 1:
        raise VlmevalError(
            "give one input: ranked lists, a score matrix (scores= with queries=, items=, relevant=), or "
            f"image_embeddings=, text_embeddings= and pairs={f' (got {given[0]} and {given[1]})' if given else ''}"
        )
    if scores is None and (queries is not None or items is not None or relevant is not None):
        raise VlmevalError("queries=, items= and relevant= go with a score matrix (scores=); ranked lists and "
                           "embeddings carry their own")  # fmt: skip
    if image_embeddings is not None or text_embeddings is not None or pairs is not None:
        if image_embeddings is None or text_embeddings is None or pairs is None:
            raise VlmevalError("embeddings need image_embeddings=, text_embeddings= and pairs=")
        values = {"image_embeddings": _matrix("image_embeddings", image_embeddings),
                  "text_embeddings": _matrix("text_embeddings", text_embeddings),
                  "pairs": _records_or_path("pairs", pairs, memory_records)}  # fmt: skip
        return evaluate("retrieval", values, **options)
    if scores is not None:
        if queries is None or items is None or relevant is None:
            raise VlmevalError("a score matrix needs queries=, items= and relevant=")
        if not isinstance(relevant, Mapping):
            raise VlmevalError("relevant= must be a dict of each query's relevant item ids ({query: [items]})")
        rows = [{"query": q, "relevant": _column(f"relevant[{q!r}]", r)} for q, r in relevant.items()]
        values = {"source": _matrix("scores", scores), "queries": _column("queries", queries),
                  "items": _column("items", items), "relevance": memory_records(rows, "relevant")}  # fmt: skip
        return evaluate("retrieval", values, **options)
    return evaluate("retrieval", {"source": _records_or_path("ranked", ranked, memory_records)}, **options)


def _matrix(name: str, value: Any) -> Any:
    """A path as on the command line, or an array (a list of rows made one)."""
    import numpy as np

    if isinstance(value, (str, Path)):
        return Path(value)
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(_column(name, value), dtype=np.float64)
    except (ValueError, TypeError):
        raise VlmevalError(f"{name}= must be a 2-D array of numbers (rows of equal length)") from None


def _records_or_path(name: str, value: Any, memory_records) -> Any:
    if isinstance(value, (str, Path)):
        return Path(value)
    rows = _column(name, value)
    bad = next((row for row in rows if not isinstance(row, Mapping)), None)
    if bad is not None:
        from vlmeval.io.fields import describe

        raise VlmevalError(f"{name} must be records (dicts), got {describe(bad)}")
    return memory_records([dict(row) for row in rows], name)


def mcq(
    predictions: Sequence[str] | str | Path,
    choices: Sequence[Mapping[str, str] | Sequence[str]] | None = None,
    answers: Sequence[str] | None = None,
    *,
    ids: Sequence[Any] | None = None,
    categories: Sequence[str] | None = None,
    l2_categories: Sequence[str] | None = None,
    groups: Sequence[Any] | None = None,
    questions: Sequence[str] | None = None,
    **options: Any,
) -> Report:
    """Multiple choice: the letter a named harness rule finds (``extract=``), accuracy, CircularEval over
    ``groups`` (the rotations of one question), what could not be parsed. ``choices[i]``: the options of
    question i (the records' ``options``), ``{"A": text, ...}`` or a list; ``answers[i]`` its letter. Or the
    path of a VLMEvalKit file."""
    columns = {"prediction": predictions, "options": choices, "answer": answers, "category": categories,
               "l2_category": l2_categories, "group": groups, "question": questions}  # fmt: skip
    return evaluate("mcq", {"preds": _input(predictions, "predictions", columns, ids)}, **options)


def yesno(
    predictions: Sequence[str] | str | Path,
    answers: Sequence[str] | None = None,
    *,
    ids: Sequence[Any] | None = None,
    categories: Sequence[str] | None = None,
    images: Sequence[str] | None = None,
    questions: Sequence[str] | None = None,
    **options: Any,
) -> Report:
    """Yes/no benchmarks (POPE, MME): accuracy, precision, recall, F1, yes ratio under a named parsing rule
    (``rule=`` pope, vlmevalkit, exact, mme); MME's acc+ and score when ``images`` and MME subtasks are given."""
    columns = {"prediction": predictions, "answer": answers, "category": categories, "image": images,
               "question": questions}  # fmt: skip
    return evaluate("yesno", {"preds": _input(predictions, "predictions", columns, ids)}, **options)


class CaptionEvaluator:
    """Caption metrics on fixed references, evaluated again and again (after every epoch, on every
    checkpoint): the references are tokenized, their n-grams and CIDEr-D's document frequencies counted
    and the models loaded once, so that each call costs the predictions' share. Each call returns the
    report ``vlmeval.caption`` returns for the same inputs, to the last bit.

    >>> import vlmeval
    >>> refs = [["a dog running on grass", "a brown dog outside"], ["a cat asleep on a couch", "a sleeping cat"]]
    >>> evaluator = vlmeval.CaptionEvaluator(refs, metrics="Bleu,ROUGE_L,CIDEr")
    >>> report = evaluator(["a dog runs on the grass", "a cat sleeps on a sofa"], meta={"step": 100})
    >>> report.metrics == vlmeval.caption(
    ...     ["a dog runs on the grass", "a cat sleeps on a sofa"], refs, metrics="Bleu,ROUGE_L,CIDEr"
    ... ).metrics
    True

    ``references[i]`` are the references of sample ``ids[i]`` (default 0..n-1); or give ``refs=`` the path
    of a references file (a COCO captions file, or records with 'references'), read once. Each call takes
    the predictions in that order (a list), or by id (a mapping); options are ``vlmeval.caption``'s, fixed
    at construction; ``meta``, ``bootstrap``, ``seed``, ``failures`` and the gates may change per call.
    """

    def __init__(
        self,
        references: Sequence[Sequence[str]] | None = None,
        *,
        ids: Sequence[Any] | None = None,
        images: Sequence[str | None] | None = None,
        refs: str | Path | None = None,
        metrics: str | Sequence[str] | None = None,
        **options: Any,
    ) -> None:
        from vlmeval.tasks import get_task, resolve

        if (references is None) == (refs is None):
            raise VlmevalError("give the references (lists of strings) or refs= (the path of a references file)")
        self._refs_entry = None  # the references file in each report's inputs, as the command lists it
        if refs is not None:
            from vlmeval.io.captions import read_references

            ids, references, images, self._refs_entry = read_references(Path(refs))
        # a copy (the caller may change its lists later); each sample's references checked as records are
        references = _column("references", references)
        self._references = [list(rs) if isinstance(rs, (list, tuple)) else rs for rs in references]
        self._ids = _column("ids", ids) if ids is not None else list(range(len(self._references)))
        self._images = _column("images", images)
        self._options = options
        # the inputs as one call would read them (empty predictions): checked once, and the metric keys
        from vlmeval.tasks.caption import prepare

        task = get_task("caption")
        given = _given(task, self._values([""] * len(self._references)), options)
        data = task.load(given)
        self.metrics = resolve(
            task, metrics if metrics is None or isinstance(metrics, str) else list(metrics),
            task.available_keys(given, data), given,
        )  # fmt: skip
        self._prepared = prepare(data, self.metrics, given)

    def _values(self, predictions: list[Any]) -> dict[str, Any]:
        columns = {"prediction": predictions, "references": self._references, "image": self._images}
        return {"preds": _records("predictions", columns, self._ids)}

    def __call__(
        self,
        predictions: Sequence[str] | Mapping[Any, str],
        *,
        meta: Mapping[str, Any] | None = None,
        bootstrap: int = 0,
        seed: int = 12345,
        failures: int = 0,
        minimum: Mapping[str, float] | None = None,
        maximum: Mapping[str, float] | None = None,
        **options: Any,
    ) -> Report:
        if options:
            raise VlmevalError(
                f"an evaluator's options are fixed when it is built: give {sorted(options)[0]}= to CaptionEvaluator(...)"
            )
        if isinstance(predictions, Mapping):  # by id, as the ids are written (COCO's integers as numbers too)
            by_id: dict[str, Any] = {}
            for key, value in predictions.items():
                if str(key) in by_id:
                    raise VlmevalError(f"duplicate prediction id {str(key)!r} (ids are compared as text: 10 and '10' are one)")
                by_id[str(key)] = value
            known = {str(k) for k in self._ids}
            extra = [k for k in by_id if k not in known]
            if extra:
                raise VlmevalError(
                    f"a prediction for id {extra[0]!r}, which has no reference ({len(extra)} such): give the predictions "
                    "of the evaluator's samples"
                )
            missing = [k for k in self._ids if str(k) not in by_id]
            if missing:
                raise VlmevalError(f"no prediction for id {missing[0]!r} ({len(missing)} of {len(self._ids)} missing)")
            predictions = [by_id[str(k)] for k in self._ids]
        else:  # a list in the evaluator's id order (a numpy array, a Series, an iterator too)
            predictions = _column("predictions", predictions)
        if len(predictions) != len(self._ids):
            raise VlmevalError(f"{len(predictions)} predictions for {len(self._ids)} samples with references")
        report = evaluate(
            "caption", self._values(list(predictions)), metrics=self.metrics, bootstrap=bootstrap, seed=seed,
            failures=failures, meta=meta, minimum=minimum, maximum=maximum, prepared=self._prepared,
            **self._options,
        )  # fmt: skip
        if self._refs_entry is not None:
            report.inputs.append(dict(self._refs_entry))
        return report


def _reports(items: Any) -> tuple[list[Report], list[str]]:
    from vlmeval.io.fields import describe
    from vlmeval.report.report import load_report

    items = _column("reports", items, per="report")
    bad = next((x for x in items if not isinstance(x, (Report, str, Path))), None)
    if bad is not None:
        raise VlmevalError(f"reports are Report objects or the paths of report files, got {describe(bad)}")
    reports = [load_report(x) if isinstance(x, (str, Path)) else x for x in items]
    names = [str(x) if isinstance(x, (str, Path)) else f"run {i + 1}" for i, x in enumerate(items)]
    return reports, names


def _settings(settings: dict[str, Any]) -> dict[str, Any]:
    """``vlmeval compare``'s options as keywords (``bootstrap``, ``trials``, ``seed``, ``test``, ``force``),
    typed and checked as the command checks them."""
    from vlmeval.report.compare import Settings, check_settings

    names = {"bootstrap": int, "trials": int, "seed": int, "test": str, "force": bool}
    unknown = sorted(set(settings) - set(names))
    if unknown:
        raise VlmevalError(f"no setting {unknown[0]!r}: the settings are {', '.join(names)} (vlmeval compare's options)")
    typed = {k: _scalar(f"{k}=", names[k], v) for k, v in settings.items()}
    if "bootstrap" in typed:
        typed["resamples"] = typed.pop("bootstrap")
    chosen = Settings(**typed)
    check_settings(chosen.test, chosen.resamples, chosen.trials, chosen.seed)
    return typed


def compare_runs(reports: Sequence[Report | str | Path], *, max_drops: Sequence[str] | None = None, **settings: Any):
    """``vlmeval compare A B C ...``: the run table, the best run per metric, the peak checkpoint and whether
    later ones declined (``meta.step``), as a ``RunComparison`` (``.to_dict()`` is the ``vlmeval.runs/1``
    JSON). ``reports``: ``Report`` objects or paths; ``max_drops``: ``["CIDEr=0.02"]`` as ``--max-drop``;
    ``settings``: ``bootstrap``, ``trials``, ``seed``, ``test``, ``force``, the command's options."""
    from vlmeval.report.runs import compare_runs as compare

    loaded, names = _reports(reports)
    drops = [_scalar("max_drops=", str, d) for d in _column("max_drops", max_drops or [], per="gate")]
    return compare(loaded, names, max_drops=drops, **_settings(settings))


def blind_gain(full: Report | str | Path, blind: Report | str | Path, **settings: Any):
    """``vlmeval compare FULL --blind BLIND``: the gain the image brings per metric (paired interval and
    p-value), and a warning when it is not significant ("the model may be ignoring the image")."""
    from vlmeval.report.runs import blind_gain as gain

    (a, b), names = _reports([full, blind])
    return gain(a, b, names, **_settings(settings))
