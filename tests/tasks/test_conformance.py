"""Every registered metric conforms (the evaluate-style conformance loop): it resolves by key and family,
has a scale and a reference, can be gated, and its interval kind works in a real run."""

from __future__ import annotations

import importlib
import json
import shutil

import pytest

from tests.conftest import CAPTION_JSONL, FIXTURES
from vlmeval.report.bootstrap import INTERVALS
from vlmeval.report.gates import Gate, canonical
from vlmeval.tasks import TASKS, gate_keys, get_task, listed_metrics, resolve
from vlmeval.tasks.task import NEEDS_TEXT, requirement_met

# MME's own ranges: perception has 10 subtasks, cognition 4, each up to 200 (accuracy + acc+, in percent)
SCALES = {"0-1", "0-100", "0-10", "0-2.5", "count", "0-2800", "0-2000", "0-800"}
EVERY_METRIC = [(name, m) for name in TASKS for m in get_task(name).metrics]


@pytest.mark.parametrize("task_name, metric", EVERY_METRIC, ids=lambda x: getattr(x, "key", x))
def test_declaration(task_name, metric):
    task = get_task(task_name)
    assert metric.scale in SCALES and metric.reference and metric.needs in NEEDS_TEXT
    if ":" in metric.interval:  # a task's own estimator builder: it must exist
        module, _, function = metric.interval.partition(":")
        assert callable(getattr(importlib.import_module(module), function))
    else:
        assert metric.interval in INTERVALS
    keys = metric.listed_keys()
    assert keys, "a pattern lists its keys under the default options"
    for key in keys:
        assert task.metric_for(key) is metric
        parents = list(metric.companion_of) or [key]
        assert canonical([Gate(key.lower(), ">=", 0.0)], gate_keys(task, parents), task.name)[0].metric == key
        if not metric.companion_of:
            assert resolve(task, key.upper(), [key]) == [key]
            family = [k for m in task.selectable() if m.family_name == metric.family_name for k in m.listed_keys()]
            assert key in resolve(task, metric.family_name.lower(), family)


def test_every_key_is_listed_once_per_task():
    listed = listed_metrics()
    for name in TASKS:
        keys = [k for m in get_task(name).metrics for k in m.listed_keys()]
        assert len(keys) == len(set(keys)), name
        assert all(name in [t for t, _ in listed[k]] for k in keys)


def test_options_are_declared_once():
    from vlmeval.cli import _COMMON_NAMES

    for name in TASKS:
        task = get_task(name)
        names = [o.name for o in task.options]
        assert len(names) == len(set(names)) and not set(names) & _COMMON_NAMES
        for option in task.options:
            assert option.help
            if option.choices and option.default is not None:
                assert option.default in option.choices


F = FIXTURES
# one run per task input form, with every metric it can compute here (model metrics have their own tests)
RUNS = {
    "caption": ["caption", CAPTION_JSONL, "--metrics", "Bleu,METEOR,ROUGE,CIDEr"],
    "vqa": ["vqa", F / "vqa/vqa_600.jsonl", "--metrics", "vqa_accuracy,exact_match,token_f1,Bleu,METEOR,ROUGE"],
    "docvqa": ["docvqa", F / "docvqa/docvqa_400.jsonl", "--metrics", "ANLS,exact_match,token_f1,Bleu,ROUGE"],
    "grounding": ["grounding", F / "grounding/phrase.jsonl", "--score-threshold", "0.5"],
    "detection": [
        "grounding", F / "detection/instances_val2014_fakebbox100_results.json",
        "--refs", F / "detection/instances_val2014_100.json",
    ],
    "retrieval": [
        "retrieval", "--image-embeddings", F / "retrieval/image_embeddings.npy",
        "--text-embeddings", F / "retrieval/text_embeddings.npy", "--pairs", F / "retrieval/pairs.jsonl",
    ],
    "mcq": ["mcq", F / "mcq/mmbench_circular.tsv"],
    "mcq_records": ["mcq", F / "mcq/mcq_styles.jsonl", "--extract", "lmms-eval"],
    "yesno_pope": ["yesno", F / "yesno/pope_coco.jsonl"],
    "yesno_mme": ["yesno", F / "yesno/mme_style.jsonl", "--rule", "mme"],
}  # fmt: skip


@pytest.mark.parametrize("run", list(RUNS))
def test_every_metric_gets_its_declared_interval(cli, tmp_path, run):
    result = cli(*RUNS[run], "--bootstrap", "20", "--out", "r.json", "--quiet")
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    task = get_task(report["task"])
    for key, value in report["metrics"].items():
        metric = task.metric_for(key)
        assert metric is not None, key
        assert report["scale"][key] == metric.scale
        assert key in report["signature"] or metric.companion_of or metric.scale == "count"
        needs_met = requirement_met(metric.needs) and (metric.key != "METEOR" or shutil.which("java"))
        if metric.interval != "none" and needs_met:
            low, high = report["ci"][key]
            assert low <= value <= high or abs(high - low) < 1e-9 or key == "parse_failures", (key, value, low, high)
        else:
            assert key not in report.get("ci", {})
