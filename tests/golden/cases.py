"""Reports on the bundled fixtures, pinned: each case is a vlmeval command line whose report must not change
unless a change means to change it (then the golden file is rewritten with ``make_golden.py`` and the change
recorded in CHANGELOG.md). The golden files were first written by the code at b36f413, before the task layer
was rebuilt (issue "Tasks that describe themselves"), so they also prove that rebuild changed no number.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
F = "fixtures"
GOLDEN = Path(__file__).resolve().parent

# name -> arguments (paths relative to the repository root)
CASES: dict[str, list[str]] = {
    "caption_jsonl": ["caption", f"{F}/caption/coco_val2017_500.jsonl", "--failures", "5"],
    "caption_coco_ngram_ci": [
        "caption", f"{F}/caption/coco_val2017_500_results.json", "--refs", f"{F}/caption/captions_val2017_500.json",
        "--metrics", "Bleu,ROUGE_L,CIDEr", "--bootstrap", "200", "--failures", "3",
    ],
    "vqa_jsonl": ["vqa", f"{F}/vqa/vqa_600.jsonl", "--failures", "5", "--bootstrap", "100"],
    "vqa_official_2017": [
        "vqa", f"{F}/vqa/results_600.json", "--annotations", f"{F}/vqa/v2_annotations_600.json",
        "--questions", f"{F}/vqa/v2_questions_600.json", "--variant", "official-2017",
    ],
    "vqa_text_metrics": ["vqa", f"{F}/vqa/vqa_600.jsonl", "--metrics", "vqa_accuracy,Bleu,ROUGE", "--bootstrap", "50"],
    "docvqa_rrc": [
        "docvqa", f"{F}/docvqa/submission_400.json", "--refs", f"{F}/docvqa/gt_400.json", "--failures", "5",
        "--bootstrap", "100",
    ],
    "docvqa_jsonl": ["docvqa", f"{F}/docvqa/docvqa_400.jsonl", "--threshold", "0.4"],
    "grounding_xyxy": [
        "grounding", f"{F}/grounding/preds_xyxy.jsonl", "--refs", f"{F}/grounding/refs.jsonl", "--failures", "4",
        "--bootstrap", "100",
    ],
    "grounding_qwen25": [
        "grounding", f"{F}/grounding/preds_qwen25-vl.jsonl", "--refs", f"{F}/grounding/refs.jsonl",
        "--box-format", "qwen2.5-vl", "--iou", "0.7", "--images", f"{F}/grounding/images",
    ],
    "grounding_florence2": [
        "grounding", f"{F}/grounding/preds_florence2.jsonl", "--refs", f"{F}/grounding/refs.jsonl",
        "--box-format", "florence2", "--images", f"{F}/grounding/images",
    ],
    "grounding_auto": [
        "grounding", f"{F}/grounding/preds_norm1000.jsonl", "--refs", f"{F}/grounding/refs.jsonl",
        "--box-format", "auto", "--images", f"{F}/grounding/images",
    ],
    "grounding_defects": [
        "grounding", f"{F}/grounding/preds_defects.jsonl", "--refs", f"{F}/grounding/refs.jsonl", "--failures", "6",
    ],
    "grounding_phrase": [
        "grounding", f"{F}/grounding/phrase.jsonl", "--score-threshold", "0.5", "--bootstrap", "100",
    ],
    "detection_coco": [
        "grounding", f"{F}/detection/instances_val2014_fakebbox100_results.json", "--refs",
        f"{F}/detection/instances_val2014_100.json", "--bootstrap", "20",
    ],
    "retrieval_embeddings": [
        "retrieval", "--image-embeddings", f"{F}/retrieval/image_embeddings.npy", "--text-embeddings",
        f"{F}/retrieval/text_embeddings.npy", "--pairs", f"{F}/retrieval/pairs.jsonl", "--failures", "3",
        "--bootstrap", "100",
    ],
    "retrieval_fraction_id": [
        "retrieval", "--image-embeddings", f"{F}/retrieval/image_embeddings.npy", "--text-embeddings",
        f"{F}/retrieval/text_embeddings.npy", "--pairs", f"{F}/retrieval/pairs.jsonl", "--k", "1,2,20",
        "--ndcg-k", "5", "--recall-definition", "fraction", "--ties", "id",
    ],
}
# cases that need Java (none since METEOR runs without it)
JAVA: set[str] = set()
# keys whose value depends on the machine or the run, not on the evaluation
VOLATILE = ("environment",)


def normalise(report: dict) -> dict:
    """A report without what differs between machines; input paths relative to the repository root."""
    out = {k: v for k, v in report.items() if k not in VOLATILE}
    inputs = []
    for entry in out.get("inputs", []):
        entry = dict(entry)
        path = Path(entry["path"])
        if path.is_absolute():
            try:
                entry["path"] = str(path.relative_to(ROOT))
            except ValueError:
                pass
        inputs.append(entry)
    out["inputs"] = inputs
    return out


def differences(expected, actual, where: str = "", rel: float = 0.0, out: list | None = None) -> list[str]:
    """Paths where two JSON values differ (numbers within ``rel`` relative tolerance count as equal)."""
    out = [] if out is None else out
    if len(out) > 20:
        return out
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in list(dict.fromkeys([*expected, *actual])):
            if key not in expected or key not in actual:
                out.append(f"{where}.{key}: {'missing' if key not in actual else 'unexpected'}")
            else:
                differences(expected[key], actual[key], f"{where}.{key}", rel, out)
        if list(expected) != list(actual) and not out:
            out.append(f"{where}: key order {list(expected)[:6]} vs {list(actual)[:6]}")
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            out.append(f"{where}: length {len(expected)} vs {len(actual)}")
        else:
            for i, (e, a) in enumerate(zip(expected, actual)):
                differences(e, a, f"{where}[{i}]", rel, out)
    elif (
        isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool)
        and rel > 0
    ):
        if not math.isclose(expected, actual, rel_tol=rel, abs_tol=rel):
            out.append(f"{where}: {expected!r} vs {actual!r}")
    elif expected != actual or type(expected) is not type(actual):
        out.append(f"{where}: {json.dumps(expected)[:80]} vs {json.dumps(actual)[:80]}")
    return out
