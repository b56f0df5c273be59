"""``--shard I/N`` and ``vlmeval merge``: for every task, N parts merged through the CLI equal the report of one
unsharded run, bit for bit (``differences`` with rel=0; only ``environment`` differs: the merge records its own
argv), with ``--bootstrap`` on; the refusals are one sentence and exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.golden.cases import differences

ROOT = Path(__file__).resolve().parents[1]
F = ROOT / "fixtures"
G = F / "grounding"
R = F / "retrieval"
PARTS = (1, 2, 3, 7)

# fmt: off
# name -> a command line (the unsharded run); each is sharded into every N of PARTS and merged
CASES: dict[str, list[str]] = {
    "caption_ngram": ["caption", f"{F}/caption/coco_val2017_500.jsonl", "--metrics", "Bleu,ROUGE_L,CIDEr",
                      "--failures", "5", "--bootstrap", "20"],
    "caption_coco_meteor": ["caption", f"{F}/caption/coco_val2017_500_results.json", "--refs",
                            f"{F}/caption/captions_val2017_500.json", "--metrics", "Bleu,METEOR,ROUGE,CIDEr",
                            "--failures", "3", "--bootstrap", "20"],
    "vqa_jsonl": ["vqa", f"{F}/vqa/vqa_600.jsonl", "--failures", "5", "--bootstrap", "30"],
    "vqa_official_2017": ["vqa", f"{F}/vqa/results_600.json", "--annotations", f"{F}/vqa/v2_annotations_600.json",
                          "--questions", f"{F}/vqa/v2_questions_600.json", "--variant", "official-2017",
                          "--failures", "3"],
    "vqa_text_metrics": ["vqa", f"{F}/vqa/vqa_600.jsonl", "--metrics", "vqa_accuracy,Bleu,METEOR,ROUGE",
                         "--bootstrap", "20"],
    "docvqa_rrc": ["docvqa", f"{F}/docvqa/submission_400.json", "--refs", f"{F}/docvqa/gt_400.json",
                   "--failures", "5", "--bootstrap", "30"],
    "docvqa_jsonl": ["docvqa", f"{F}/docvqa/docvqa_400.jsonl", "--threshold", "0.4",
                     "--metrics", "ANLS,exact_match,Bleu"],
    "yesno_pope": ["yesno", f"{F}/yesno/pope_coco.jsonl", "--failures", "4", "--bootstrap", "30"],
    "yesno_mme": ["yesno", f"{F}/yesno/mme_style.jsonl", "--rule", "mme", "--failures", "3", "--bootstrap", "30"],
    "mcq_styles": ["mcq", f"{F}/mcq/mcq_styles.jsonl", "--failures", "4", "--bootstrap", "30"],
    "mcq_circular_tsv": ["mcq", f"{F}/mcq/mmbench_circular.tsv", "--failures", "3", "--bootstrap", "30"],
    "mcq_circular_xlsx_lmms": ["mcq", f"{F}/mcq/mmbench_circular.xlsx", "--extract", "lmms-eval",
                               "--bootstrap", "20"],
    "grounding_xyxy": ["grounding", f"{G}/preds_xyxy.jsonl", "--refs", f"{G}/refs.jsonl", "--failures", "4",
                       "--bootstrap", "30"],
    "grounding_defects_auto": ["grounding", f"{G}/preds_defects.jsonl", "--refs", f"{G}/refs.jsonl",
                               "--box-format", "auto", "--images", f"{G}/images", "--failures", "6"],
    "grounding_qwen25": ["grounding", f"{G}/preds_qwen25-vl.jsonl", "--refs", f"{G}/refs.jsonl", "--box-format",
                         "qwen2.5-vl", "--iou", "0.7", "--images", f"{G}/images"],
    "grounding_phrase": ["grounding", f"{G}/phrase.jsonl", "--score-threshold", "0.5", "--bootstrap", "30",
                         "--failures", "3"],
    "retrieval_embeddings": ["retrieval", "--image-embeddings", f"{R}/image_embeddings.npy", "--text-embeddings",
                             f"{R}/text_embeddings.npy", "--pairs", f"{R}/pairs.jsonl", "--failures", "3",
                             "--bootstrap", "30"],
    "retrieval_fraction_id": ["retrieval", "--image-embeddings", f"{R}/image_embeddings.npy", "--text-embeddings",
                              f"{R}/text_embeddings.npy", "--pairs", f"{R}/pairs.jsonl", "--k", "1,2,20",
                              "--ndcg-k", "5", "--recall-definition", "fraction", "--ties", "id"],
    "detection_coco": ["grounding", f"{F}/detection/instances_val2014_fakebbox100_results.json", "--refs",
                       f"{F}/detection/instances_val2014_100.json", "--bootstrap", "10"],
}
# fmt: on


@pytest.fixture(scope="session")
def made(tmp_path_factory) -> Path:
    """Inputs made from the fixtures: CHAIR records (several captions per image), a score matrix with graded
    relevance and queries without a relevant item, and ranked lists cut at 30."""
    import numpy as np

    from tests.conftest import write_jsonl

    folder = tmp_path_factory.mktemp("made")
    captions = json.loads((F / "chair" / "captions_val2017_mini.json").read_text(encoding="utf-8"))
    refs: dict = {}
    for ann in captions["annotations"]:
        refs.setdefault(ann["image_id"], []).append(ann["caption"])
    preds = [
        json.loads(x)
        for x in (F / "chair" / "preds_val2017_mini.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    write_jsonl(folder / "chair.jsonl", [{"id": r["id"], "image_id": r["image_id"], "prediction": r["caption"],
                                          "references": refs[r["image_id"]]} for r in preds])  # fmt: skip
    rng = np.random.default_rng(7)
    scores = np.round(rng.random((40, 25)), 2)  # rounded: ties, for --ties average
    np.save(folder / "scores.npy", scores)
    (folder / "queries.json").write_text(json.dumps([f"q{i}" for i in range(40)]))
    (folder / "items.txt").write_text("".join(f"d{j}\n" for j in range(25)))
    graded = [{"query": f"q{i}", "item": f"d{j}", "relevance": int(rng.integers(0, 3))}
              for i in range(40) if i % 9 for j in rng.choice(25, 3, replace=False)]  # fmt: skip
    write_jsonl(folder / "graded.jsonl", graded)
    order = np.argsort(-scores, axis=1, kind="stable")
    ranked = [{"query": f"q{i}", "ranking": [f"d{j}" for j in order[i][: 30 - i % 7]],
               "relevant": [f"d{(3 * i) % 25}", f"d{(5 * i + 1) % 25}"]} for i in range(40)]  # fmt: skip
    write_jsonl(folder / "ranked.jsonl", ranked)
    return folder


def run(cli, args: list[str], out: Path) -> dict:
    result = cli(*args, "--out", out, "--quiet")
    assert result.exit_code in (0, 1), result.output
    return json.loads(out.read_text(encoding="utf-8"))


def merged(cli, args: list[str], count: int, tmp: Path) -> dict:
    parts = [tmp / f"part{k}of{count}.json" for k in range(1, count + 1)]
    for k, part in enumerate(parts, 1):
        run(cli, [*args, "--shard", f"{k}/{count}"], part)
    return run(cli, ["merge", *parts], tmp / f"merged{count}.json")


def same(expected: dict, actual: dict) -> list[str]:
    strip = ("environment",)
    return differences({k: v for k, v in expected.items() if k not in strip},
                       {k: v for k, v in actual.items() if k not in strip}, rel=0.0)  # fmt: skip


# fmt: off
# cases on the inputs ``made`` makes (MADE stands for its folder)
MATRIX = ["retrieval", "MADE/scores.npy", "--queries", "MADE/queries.json", "--items", "MADE/items.txt",
          "--relevance", "MADE/graded.jsonl"]
MADE_CASES: dict[str, list[str]] = {
    "caption_chair": ["caption", "MADE/chair.jsonl", "--metrics", "CHAIR,CIDEr,Bleu", "--chair-variant", "original",
                      "--instances", f"{F}/detection/instances_val2017_mini.json", "--failures", "3",
                      "--bootstrap", "20"],
    "retrieval_matrix_graded_zero": [*MATRIX, "--empty-queries", "zero", "--failures", "3", "--bootstrap", "20"],
    "retrieval_matrix_skip_id": [*MATRIX, "--empty-queries", "skip", "--ties", "id", "--k", "1,3", "--ndcg-k", "4"],
    "retrieval_ranked": ["retrieval", "MADE/ranked.jsonl", "--failures", "4", "--bootstrap", "20"],
}
# fmt: on
NEEDS = {"caption_chair": "chair"}


@pytest.mark.parametrize("name", [*CASES, *MADE_CASES])
def test_merged_parts_equal_one_run(cli, tmp_path, name, made):
    if name in NEEDS:
        from vlmeval.tasks.task import requirement_met

        if not requirement_met(NEEDS[name]):
            pytest.skip(f"needs {NEEDS[name]}")
    args = [a.replace("MADE", str(made)) for a in CASES.get(name) or MADE_CASES[name]]
    whole = run(cli, args, tmp_path / "whole.json")
    for count in PARTS:
        assert same(whole, merged(cli, args, count, tmp_path)) == [], (name, count)


# ---------------------------------------------------------------------------- model metrics (BERTScore, CLIP)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few records, so that the parts' slices cut through blocks (a part computes the blocks it
    touches whole) and bert_score's batches of 64 pairs straddle blocks and parts."""
    monkeypatch.setattr("vlmeval.metrics.bertscore.BLOCK_RECORDS", 8)
    monkeypatch.setattr("vlmeval.scoring.model_metrics.CLIP_BLOCK", 5)


def test_bertscore_parts_equal_one_run(cli, tmp_path, caption_records, small_blocks):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.conftest import write_jsonl
    from tests.neural.models import minilm_path

    records = [dict(r) for r in caption_records[:32]]
    records[3]["prediction"] = ""  # an empty prediction, and uneven reference counts
    records[7]["references"] = records[7]["references"][:2]
    data = write_jsonl(tmp_path / "caps.jsonl", records)
    args = ["caption", str(data), "--metrics", "BERTScore,CIDEr", "--bertscore-model", str(minilm_path()),
            "--bertscore-idf", "--failures", "3", "--bootstrap", "20"]  # fmt: skip
    whole = run(cli, args, tmp_path / "whole.json")
    for count in PARTS[
        1:
    ]:  # one part is the run itself: the model's time goes to the slicings that cut blocks
        assert same(whole, merged(cli, args, count, tmp_path)) == [], count


def test_clipscore_parts_equal_one_run(cli, tmp_path, small_blocks):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from PIL import Image

    from tests.conftest import write_jsonl
    from tests.neural.models import tiny_clip

    folder = tmp_path / "images"
    folder.mkdir()
    for k, name in enumerate(sorted((G / "images").glob("*.jpg"))[:3]):
        Image.open(name).convert("RGB").resize((160 + 40 * k, 120)).save(folder / f"{k}.jpg")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    images = ["0.jpg", "1.jpg", "2.jpg", "missing.jpg", "broken.jpg", None, "1.jpg"]
    records = [{"id": i, "prediction": f"a photo of thing {i} " + "very long " * (40 if i % 5 == 0 else 0),
                "references": [f"thing {i}", f"an object {i % 3}"]} for i in range(23)]  # fmt: skip
    for i, record in enumerate(records):
        if images[i % 7]:
            record["image"] = images[i % 7]
    data = write_jsonl(tmp_path / "caps.jsonl", records)
    args = ["caption", str(data), "--images", str(folder), "--metrics", "CLIPScore,RefCLIPScore,Bleu",
            "--clip-model", str(tiny_clip(str(tmp_path / "model"))), "--failures", "2",
            "--bootstrap", "20"]  # fmt: skip
    whole = run(cli, args, tmp_path / "whole.json")
    assert whole["counts"]["skipped"] and whole["counts"]["clip_truncated_predictions"]
    for count in PARTS:
        assert same(whole, merged(cli, args, count, tmp_path)) == [], count


# --------------------------------------------------------------------------------- slicings (hypothesis)


def _parts_in_process(task_name: str, values: dict, count: int, **options) -> list:
    """The N partial reports of a run through the Python API, each read back from its JSON as the merge reads it."""
    from vlmeval.report.report import Report, dumps_json
    from vlmeval.run import run_task
    from vlmeval.tasks import get_task

    parts = []
    for index in range(1, count + 1):
        report, _ = run_task(get_task(task_name), dict(values), shard=(index, count), **options)
        parts.append(Report.from_dict(json.loads(dumps_json(report.to_dict()))))
    return parts


@pytest.fixture(scope="module")
def pope_rows() -> list[dict]:
    return [json.loads(x) for x in (F / "yesno" / "pope_coco.jsonl").read_text(encoding="utf-8").splitlines()]


def test_any_slicing_merges_to_one_run(tmp_path_factory, pope_rows):
    """Over drawn subsets of POPE and numbers of parts (also one record per part), merged == one run."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.conftest import write_jsonl
    from vlmeval.report.report import Report, dumps_json
    from vlmeval.run import run_task
    from vlmeval.shard import merge_reports
    from vlmeval.tasks import get_task

    folder = tmp_path_factory.mktemp("slicings")
    calls: list[int] = []

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        st.lists(st.integers(0, len(pope_rows) - 1), min_size=1, max_size=60),
        st.integers(1, 12),
        st.integers(0, 3),
    )
    def check(picked, count, rule):
        rows = [{**pope_rows[k], "id": f"{n}-{pope_rows[k]['id']}"} for n, k in enumerate(picked)]
        path = write_jsonl(folder / "drawn.jsonl", rows)
        values = {"preds": path, "rule": ("pope", "vlmevalkit", "exact", "mme")[rule]}
        options = {"bootstrap": 10, "seed": 3, "failures": 2}
        whole, _ = run_task(get_task("yesno"), dict(values), **options)
        count = min(count, len(rows))
        merged, _ = merge_reports(_parts_in_process("yesno", values, count, **options))
        expected, actual = (json.loads(dumps_json(r.to_dict())) for r in (whole, merged))
        assert same(expected, actual) == []
        assert Report.from_dict(actual).shard == {}
        calls.append(count)

    check()
    assert len(calls) >= 20 and max(calls) > 1


# ------------------------------------------------------------------------------------- refusals, CLI


@pytest.fixture
def pope_parts(cli, tmp_path) -> tuple[list[Path], list[str]]:
    args = ["yesno", f"{F}/yesno/pope_coco.jsonl", "--bootstrap", "10"]
    parts = [tmp_path / f"p{k}.json" for k in (1, 2, 3)]
    for k, part in enumerate(parts, 1):
        run(cli, [*args, "--shard", f"{k}/3"], part)
    return parts, args


def _refused(cli, tmp_path, *args) -> str:
    out = tmp_path / "merged.json"
    result = cli("merge", *args, "--out", out, "--quiet")
    assert result.exit_code == 2, result.output
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert not out.exists()
    return lines[0]


def test_merge_refuses_what_is_not_one_run(cli, tmp_path, pope_parts):
    (p1, p2, p3), args = pope_parts
    assert "part 3/3 missing" in _refused(cli, tmp_path, p1, p2)
    assert "part 2/3 is given twice" in _refused(cli, tmp_path, p1, p2, p2, p3)
    other = tmp_path / "seed.json"
    run(cli, [*args, "--shard", "2/3", "--seed", "7"], other)
    assert "different runs: their options differ (seed" in _refused(cli, tmp_path, p1, other, p3)
    four = tmp_path / "four.json"
    run(cli, [*args, "--shard", "2/4"], four)
    assert "is part 1 of 3 but" in _refused(cli, tmp_path, p1, four, p3)
    rows = (F / "yesno" / "pope_coco.jsonl").read_text(encoding="utf-8").splitlines()
    changed = tmp_path / "changed.jsonl"
    changed.write_text("\n".join(rows[:-1] + [rows[-1].replace('"yes"', '"no"')]) + "\n", encoding="utf-8")
    moved = tmp_path / "moved.json"
    run(cli, ["yesno", changed, "--bootstrap", "10", "--shard", "3/3"], moved)
    assert "their inputs differ" in _refused(cli, tmp_path, p1, p2, moved)
    whole = tmp_path / "whole.json"
    run(cli, args, whole)
    assert "is not a partial report" in _refused(cli, tmp_path, p1, whole, p3)
    mcq = tmp_path / "mcq.json"
    run(cli, ["mcq", f"{F}/mcq/mcq_styles.jsonl", "--shard", "2/3"], mcq)
    assert "different tasks" in _refused(cli, tmp_path, p1, mcq, p3)
    before = p1.read_bytes()
    result = cli("merge", p1, p2, p3, "--out", p1, "--quiet")  # the output would destroy a part
    assert result.exit_code == 2 and "is also an input" in result.output and p1.read_bytes() == before


def test_merge_through_the_cli_evaluates_the_parts_gates(cli, tmp_path):
    args = ["yesno", f"{F}/yesno/pope_coco.jsonl", "--min", "accuracy=99", "--failures", "2"]
    parts = [tmp_path / f"g{k}.json" for k in (1, 2)]
    for k, part in enumerate(parts, 1):  # a part evaluates no gate: exit 0, the gate kept for the merge
        result = cli(*args, "--shard", f"{k}/2", "--out", part)
        assert result.exit_code == 0, result.output
        assert json.loads(part.read_text())["shard"]["gates"] == [
            {"metric": "accuracy", "op": ">=", "threshold": 99.0}
        ]
    result = cli("merge", *parts, "--out", tmp_path / "m.json")
    assert result.exit_code == 1, result.output  # the gate fails on the merged accuracy
    assert "accuracy" in result.stdout and "gate failed" in result.output
    whole = run(cli, args, tmp_path / "w.json")
    assert same(whole, json.loads((tmp_path / "m.json").read_text())) == []


@pytest.mark.parametrize("spec,message", [
    ("3/2", "I must be between 1 and N"), ("0/4", "I must be between 1 and N"), ("2", "--shard takes I/N"),
    ("a/b", "--shard takes I/N"), ("1/0", "I must be between 1 and N"), ("400/400", "make at most"),
])  # fmt: skip
def test_shard_usage_errors_are_one_sentence(cli, tmp_path, spec, message):
    result = cli(
        "yesno", f"{F}/yesno/pope_coco.jsonl", "--shard", spec, "--out", tmp_path / "r.json", "--quiet"
    )
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.json").exists()


def test_bertscore_on_answers_parts_equal_one_run(cli, tmp_path, small_blocks):
    """VQA's free-form answers with BERTScore rescaled by a baseline file (the answers as references)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.neural.models import minilm_path

    rows = (F / "vqa" / "vqa_600.jsonl").read_text(encoding="utf-8").splitlines()[:24]
    data = tmp_path / "vqa.jsonl"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    baseline = tmp_path / "baseline.tsv"
    baseline.write_text("LAYER,P,R,F\n" + "".join(f"{k},0.{k}1,0.{k}2,0.{k}3\n" for k in range(7)))
    args = ["vqa", str(data), "--metrics", "vqa_accuracy,BERTScore", "--bertscore-model", str(minilm_path()),
            "--bertscore-rescale", "--bertscore-baseline", str(baseline), "--failures", "2"]  # fmt: skip
    whole = run(cli, args, tmp_path / "whole.json")
    for count in (2, 7):
        assert same(whole, merged(cli, args, count, tmp_path)) == [], count


@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java")
def test_meteor_jar_parts_equal_one_run(cli, tmp_path, caption_records):
    """--meteor jar: the merge asks the jar for the EVAL line over all the parts' statistics."""
    from tests.conftest import write_jsonl

    data = write_jsonl(tmp_path / "caps.jsonl", caption_records[:25])
    args = ["caption", str(data), "--metrics", "METEOR,Bleu_4", "--meteor", "jar", "--bootstrap", "10"]
    whole = run(cli, args, tmp_path / "whole.json")
    assert same(whole, merged(cli, args, 3, tmp_path)) == []


def test_tokenizer_notes_merge_as_one_run_counts_them(tmp_path, caption_records):
    """Captions the Java-free tokenizer cannot guarantee (capital sigma, long s), counted per chunk of the run's
    documents with the lines around each chunk (so a caption next to a chunk's end counts in two chunks): the
    parts count the run's chunks that start in their slices, so the merged tag (+jar:N or ~approx:N), warning
    and examples are one run's. Chunks of 7 images, parts cutting through them."""
    import copy

    from tests.conftest import write_jsonl
    from vlmeval.report.report import dumps_json
    from vlmeval.run import run_task
    from vlmeval.shard import merge_reports
    from vlmeval.tasks import get_task

    records = copy.deepcopy(caption_records[:40])
    for k in (0, 6, 7, 13, 20, 27, 39):
        records[k]["prediction"] = f"ΣΟΦΟΣ {records[k]['prediction']}"
    for k in (5, 14, 33):
        records[k]["references"][0] = f"a ſ {records[k]['references'][0]}"
    values = {"preds": write_jsonl(tmp_path / "unsure.jsonl", records)}
    options = {"metrics": "Bleu,CIDEr", "chunk_images": 7, "failures": 2}
    whole, _ = run_task(get_task("caption"), dict(values), **options)
    assert "jar:" in whole.signature["Bleu_4"] or "approx:" in whole.signature["Bleu_4"]
    for count in (2, 3, 7):
        merged, _ = merge_reports(_parts_in_process("caption", values, count, **options))
        expected, actual = (json.loads(dumps_json(r.to_dict())) for r in (whole, merged))
        assert same(expected, actual) == [], count
