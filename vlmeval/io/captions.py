"""Caption inputs: generic records or the official COCO pair, validated and joined on image id.

Accepted:
- predictions: generic records ``{"id", "prediction", "references"?, "image"?}`` or COCO results
  ``[{"image_id", "caption"}]``;
- references (``--refs``): generic records ``{"id", "references", "image"?}`` or a COCO captions annotation
  file (``{"images": [...], "annotations": [{"image_id", "caption"}]}``).
Without ``--refs`` every prediction record carries its ``references``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmeval.errors import InputError
from vlmeval.io.fields import optional_str, record_id, text_field, text_list_field
from vlmeval.io.join import index_ids, join_ids, overridden
from vlmeval.io.readers import RecordFile, read_records


@dataclass
class CaptionData:
    ids: list[str]
    predictions: list[str]
    references: list[list[str]]
    images: list[str | None]  # image path per sample, resolved against --images or the file's folder
    inputs: list[dict[str, Any]]
    counts: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    official_format: bool = False
    image_ids: list[str] = field(default_factory=list)  # the COCO image of each sample ('image_id', else the id)
    has_references: bool = True  # False: records without references, for CHAIR alone
    window: Any = None  # a part of a sharded run (--shard): its place in the whole input (vlmeval.shard.Window)


def _is_coco_results(rf: RecordFile) -> bool:
    first = rf.records[0] if rf.records else {}
    return rf.format == "json" and "image_id" in first and "caption" in first and "prediction" not in first


def _read_predictions(rf: RecordFile, with_refs: bool, references_optional: bool = False):
    coco = _is_coco_results(rf)
    id_key, text_key = ("image_id", "caption") if coco else ("id", "prediction")
    ids, preds, refs, images, image_ids = [], [], [], [], []
    for i, rec in enumerate(rf.records):
        ids.append(record_id(rf, i, rec, id_key))
        preds.append(text_field(rf, i, rec, text_key))
        if with_refs and not (references_optional and "references" not in rec):
            refs.append(text_list_field(rf, i, rec, "references"))
        else:
            refs.append(None)
        images.append(optional_str(rf, i, rec, "image"))
        image_ids.append(record_id(rf, i, rec, "image_id") if "image_id" in rec and not coco else ids[-1])
    return ids, preds, refs, images, coco, image_ids


def _read_coco_annotations(rf: RecordFile):
    doc = rf.document
    annotations = doc.get("annotations")
    if not isinstance(annotations, list):
        raise InputError("a COCO captions file needs an 'annotations' list", rf.path)
    grouped: dict[str, list[str]] = {}
    for i, ann in enumerate(annotations):
        where = ("annotations", i)
        if not isinstance(ann, dict):
            raise rf.error(where, "each annotation must be an object")
        if "caption" not in ann:
            raise rf.error(where, "annotation has no 'caption' (is this a COCO captions file, not instances?)")
        image_id = ann.get("image_id")
        caption = ann["caption"]
        if isinstance(image_id, bool) or not isinstance(image_id, (int, str)):
            raise rf.error(where, "annotation 'image_id' must be an integer or a string")
        if not isinstance(caption, str):
            raise rf.error(where, "annotation 'caption' must be a string")
        grouped.setdefault(str(image_id), []).append(caption)
    files: dict[str, str] = {}
    listed: list[str] = []
    for image in doc.get("images") or []:
        if isinstance(image, dict) and "id" in image:
            listed.append(str(image["id"]))
            if isinstance(image.get("file_name"), str):
                files[str(image["id"])] = image["file_name"]
    # COCOEvalCap's order (coco.getImgIds(): the images list), which its tokenizer runs see
    ids = [k for k in dict.fromkeys(listed) if k in grouped]
    seen = set(ids)
    ids += [k for k in grouped if k not in seen]
    return ids, [grouped[k] for k in ids], [files.get(k) for k in ids]


def _read_references(path):
    """A references file (COCO captions, or records with 'references'): the file, its ids, reference lists
    and images, and its input entry."""
    ref_file = read_records(path)
    if not ref_file.records and isinstance(ref_file.document, dict) and "annotations" in ref_file.document:
        ref_ids, ref_lists, ref_images = _read_coco_annotations(ref_file)
        return ref_file, ref_ids, ref_lists, ref_images, {**ref_file.input_entry(), "records": len(ref_ids)}
    if not ref_file.records:
        raise InputError("no reference records found", ref_file.path)
    ref_ids, ref_lists, ref_images = [], [], []
    for i, rec in enumerate(ref_file.records):
        ref_ids.append(record_id(ref_file, i, rec))
        ref_lists.append(text_list_field(ref_file, i, rec, "references"))
        ref_images.append(optional_str(ref_file, i, rec, "image"))
    return ref_file, ref_ids, ref_lists, ref_images, ref_file.input_entry()


def read_references(path) -> tuple[list[str], list[list[str]], list[str | None], dict[str, Any]]:
    """The ids, reference lists and images (resolved against the file's folder) of a references file, read
    once (``vlmeval.CaptionEvaluator(refs=...)``), and its entry in a report's ``inputs``; ids must be
    unique."""
    ref_file, ids, lists, images, entry = _read_references(path)
    index_ids(ref_file, ids, "reference")
    return ids, lists, [_resolve_image(name, ref_file.path.parent) for name in images], entry


def _resolve_image(name: str | None, base: Path | None) -> str | None:
    if name is None:
        return None
    path = Path(name)
    if not path.is_absolute() and base is not None:
        path = base / path
    return str(path)


def load_captions(
    predictions: str | Path,
    references: str | Path | None = None,
    *,
    images_dir: str | Path | None = None,
    allow_missing: bool = False,
    only_predicted: bool = False,
    references_optional: bool = False,
) -> CaptionData:
    """``only_predicted``: score only the references that have a prediction (pycocoevalcap's
    ``params['image_id'] = cocoRes.getImgIds()``); ``references_optional``: records without references are
    accepted (CHAIR needs none)."""
    pred_file = read_records(predictions)
    if not pred_file.records:
        raise InputError("no prediction records found", pred_file.path)
    ids, preds, inline_refs, pred_images, coco_results, pred_image_ids = _read_predictions(
        pred_file, references is None, references_optional
    )
    pred_index = index_ids(pred_file, ids, "prediction")
    inputs = [pred_file.input_entry()]
    warnings: list[str] = []
    if references is not None:
        warnings += overridden(pred_file, "references", references, "--refs")
    from vlmeval.io.images import images_folder

    image_base = images_folder(images_dir)

    has_references = True
    if references is None:
        order = list(range(len(ids)))
        out_ids, out_preds, out_image_ids = ids, preds, pred_image_ids
        has_references = all(r is not None for r in inline_refs)
        if not has_references and any(r is not None for r in inline_refs):
            first = next(i for i, r in enumerate(inline_refs) if r is None)
            raise pred_file.error(first, "missing field 'references' (other records have them)")
        out_refs = inline_refs if has_references else [[] for _ in ids]
        images = [_resolve_image(im, image_base or pred_file.path.parent) for im in pred_images]
        counts: dict[str, Any] = {"records": len(ids), "scored": len(ids), "skipped": {}}
    else:
        ref_file, ref_ids, ref_lists, ref_images, entry = _read_references(references)
        inputs.append(entry)
        ref_index = index_ids(ref_file, ref_ids, "reference")
        joined = join_ids(
            pred_index, ref_index, pred_file=pred_file, ref_file=ref_file, allow_missing=allow_missing,
            only_predicted=only_predicted,
        )  # fmt: skip
        order = joined.pred_pos
        out_ids = joined.ids
        out_image_ids = [pred_image_ids[p] if p >= 0 else k for p, k in zip(joined.pred_pos, joined.ids)]
        out_preds = [preds[p] if p >= 0 else "" for p in joined.pred_pos]
        out_refs = [ref_lists[r] for r in joined.ref_pos]
        images = []
        for p, r in zip(joined.pred_pos, joined.ref_pos):
            name = (pred_images[p] if p >= 0 else None) or ref_images[r]
            base = image_base or (
                pred_file.path.parent if p >= 0 and pred_images[p] else ref_file.path.parent
            )
            images.append(_resolve_image(name, base))
        warnings += joined.warnings()
        counts = {"records": len(ids), "scored": len(out_ids), "skipped": joined.skipped(), **joined.counts()}
    empty = sum(1 for p, pos in zip(out_preds, order) if pos >= 0 and not p.strip())
    if empty:
        counts["empty_prediction"] = empty
    empty_refs = sum(1 for rs in out_refs for r in rs if not r.strip())
    if empty_refs:
        counts["empty_reference"] = empty_refs
    return CaptionData(
        out_ids, out_preds, out_refs, images, inputs, counts, warnings, official_format=coco_results,
        image_ids=out_image_ids, has_references=has_references,
    )  # fmt: skip
