"""Join predictions to references on id (compared as strings).

Documented behaviour (README "Inputs"):
- a duplicated id in either file is an error, located at its second occurrence;
- a reference with no prediction is an error, or with ``allow_missing`` is scored as an empty prediction
  and counted as ``missing_prediction``;
- a prediction with no reference is skipped, counted as ``extra_prediction`` and warned about;
- no id in common is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vlmeval.errors import InputError, counted
from vlmeval.io.readers import RecordFile


def index_ids(rf: RecordFile, ids: list[str], what: str, locations: list | None = None) -> dict[str, int]:
    """Map id -> position; a duplicate id is an error at its second occurrence."""
    index: dict[str, int] = {}
    for position, key in enumerate(ids):
        first = index.setdefault(key, position)
        if first != position:
            loc = locations[position] if locations is not None else position
            first_loc = locations[first] if locations is not None else first
            raise rf.error(loc, f"duplicate {what} id {key!r} (first at {rf.place(first_loc)})")
    return index


def first_repeat(keys) -> int | None:
    """The position of the first key that repeats an earlier one, or None (unhashable keys never repeat)."""
    seen: set = set()
    for position, key in enumerate(keys):
        try:
            if key in seen:
                return position
            seen.add(key)
        except TypeError:
            continue
    return None


def _preview(ids: list[str], n: int = 5) -> str:
    shown = ", ".join(_shown_id(i) for i in ids[:n])
    return shown + (", ..." if len(ids) > n else "")


def _normalisation_hint(missing: list[str], extra: list[str]) -> str:
    """Where ids only differ in Unicode normalisation (a composed "é" and "e" + a combining accent), say so:
    they print alike."""
    if not extra or all(k.isascii() for k in missing):
        return ""
    import unicodedata

    wanted = {unicodedata.normalize("NFC", k) for k in missing}
    alike = [k for k in extra if unicodedata.normalize("NFC", k) in wanted]
    if not alike:
        return ""
    return (f"; {counted(len(alike), 'prediction id', verb=('differs', 'differ'))} from them only in Unicode "
            f"normalisation (first: {_shown_id(alike[0])}): ids are compared as written")


def _shown_id(key: str) -> str:
    """An id in a message; one that is not in Unicode's composed form (NFC) shows its code points: "café"
    written with a combining accent looks like the composed one, and the two do not join."""
    import unicodedata

    return repr(key) if key.isascii() or unicodedata.is_normalized("NFC", key) else ascii(key) + " (not NFC)"


@dataclass
class Joined:
    """Ids to score, in reference order, with where each side comes from (-1: no prediction)."""

    ids: list[str]
    pred_pos: list[int]
    ref_pos: list[int]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    missing_as: str = "empty predictions"
    unpredicted: list[str] = field(default_factory=list)  # references left out by --only-predicted

    def counts(self) -> dict[str, int]:
        out = {}
        if self.missing:
            out["missing_prediction"] = len(self.missing)
        return out

    def skipped(self) -> dict[str, int]:
        out = {"extra_prediction": len(self.extra)} if self.extra else {}
        if self.unpredicted:
            out["reference_without_prediction"] = len(self.unpredicted)
        return out

    def warnings(self, what: str = "predictions") -> list[str]:
        notes = []
        if self.extra:
            notes.append(
                f"{len(self.extra)} {what} have no reference and were skipped ({_preview(self.extra)})"
            )
        if self.unpredicted:
            notes.append(
                f"{len(self.unpredicted)} references have no prediction and were left out (--only-predicted; "
                f"CIDEr-D's IDF comes from the {len(self.ids)} scored, as pycocoevalcap computes it on that subset)"
            )
        if self.missing:
            notes.append(
                f"{len(self.missing)} references have no prediction and were scored as {self.missing_as} "
                f"({_preview(self.missing)})"
            )
        return notes


def join_ids(
    pred_index: dict[str, int],
    ref_index: dict[str, int],
    *,
    pred_file: RecordFile,
    ref_file: RecordFile,
    allow_missing: bool,
    missing_as: str = "empty predictions",
    only_predicted: bool | None = None,
) -> Joined:
    """``only_predicted`` (captions): the references without a prediction are left out (counted) instead of
    being an error; None where the task has no such option."""
    missing = [k for k in ref_index if k not in pred_index]
    extra = [k for k in pred_index if k not in ref_index]
    unpredicted: list[str] = []
    if only_predicted and missing:
        unpredicted, missing = missing, []
        ref_index = {k: v for k, v in ref_index.items() if k in pred_index}
    if len(extra) == len(pred_index) and pred_index:
        raise InputError(
            f"no prediction id matches a reference id (predictions: {_preview(list(pred_index), 3)}; "
            f"references in {ref_file.path}: {_preview(list(ref_index), 3)})",
            pred_file.path,
        )
    if missing and not allow_missing:
        subset = (
            "pass --only-predicted to score only the references that have one (pycocoevalcap's "
            "params['image_id'] = cocoRes.getImgIds()), or --allow-missing"
            if only_predicted is not None
            else "pass --allow-missing"
        )
        raise InputError(
            f"{len(missing)} of {len(ref_index)} references have no prediction ({_preview(missing)}); "
            f"{subset} to score them as {missing_as}{_normalisation_hint(missing, extra)}",
            pred_file.path,
        )
    ids = list(ref_index)
    return Joined(
        ids=ids,
        pred_pos=[pred_index.get(k, -1) for k in ids],
        ref_pos=[ref_index[k] for k in ids],
        missing=missing,
        extra=extra,
        missing_as=missing_as,
        unpredicted=unpredicted,
    )


def overridden(pred_file: RecordFile, key: str, references: object, option: str) -> list[str]:
    """The warning that the predictions' own ``key`` (references, answers, boxes) is not what is scored:
    the file given with ``option`` is."""
    if not any(key in rec for rec in pred_file.records[:1000] if isinstance(rec, dict)):
        return []
    name = Path(str(getattr(references, "path", references))).name
    return [f"{pred_file.path.name} has its own '{key}'; {name} ({option}) gives the ones scored"]
