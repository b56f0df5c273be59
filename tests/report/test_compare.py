"""--bootstrap on task commands and `vlmeval compare` through the CLI."""

from __future__ import annotations

import json
import random

from tests.conftest import CAPTION_JSONL, FIXTURES, write_jsonl


def _report(tmp_path, name):
    return json.loads((tmp_path / name).read_text())


def test_bootstrap_intervals_on_every_task(cli, tmp_path):
    result = cli(
        "caption",
        CAPTION_JSONL,
        "--metrics",
        "Bleu,CIDEr,ROUGE_L",
        "--bootstrap",
        "200",
        "--out",
        "c.json",
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    report = _report(tmp_path, "c.json")
    for key, value in report["metrics"].items():
        low, high = report["ci"][key]
        assert low <= value <= high, key
        assert "ci:pct95-bs200-seed12345" in report["signature"][key]
    again = cli(
        "caption", CAPTION_JSONL, "--metrics", "CIDEr", "--bootstrap", "200", "--out", "c2.json", "--quiet"
    )
    assert again.exit_code == 0
    assert _report(tmp_path, "c2.json")["ci"]["CIDEr"] == report["ci"]["CIDEr"]  # seeded
    g = FIXTURES / "grounding"
    result = cli(
        "grounding", g / "phrase.jsonl", "--bootstrap", "100", "--seed", "1", "--out", "g.json", "--quiet"
    )
    assert result.exit_code == 0, result.stderr
    ci = _report(tmp_path, "g.json")["ci"]
    assert {"mean_iou", "acc@0.5", "precision", "recall", "f1"} <= set(ci)
    r = FIXTURES / "retrieval"
    result = cli("retrieval", "--image-embeddings", r / "image_embeddings.npy", "--text-embeddings", r / "text_embeddings.npy",
                 "--pairs", r / "pairs.jsonl", "--bootstrap", "100", "--out", "r.json", "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert {"t2i_R@1", "i2t_R@1", "i2t_NDCG@10"} <= set(_report(tmp_path, "r.json")["ci"])


def test_compare_and_max_drop(cli, tmp_path):
    rows = [json.loads(line) for line in CAPTION_JSONL.read_text().splitlines()]
    rng = random.Random(3)
    better = [
        {**r, "prediction": rng.choice(r["references"]) if rng.random() < 0.3 else r["prediction"]}
        for r in rows
    ]
    write_jsonl(tmp_path / "new.jsonl", better)
    assert (
        cli("caption", CAPTION_JSONL, "--metrics", "Bleu,CIDEr", "--out", "base.json", "--quiet").exit_code
        == 0
    )
    assert (
        cli("caption", "new.jsonl", "--metrics", "Bleu,CIDEr", "--out", "new.json", "--quiet").exit_code == 0
    )
    result = cli(
        "compare",
        "base.json",
        "new.json",
        "--format",
        "json",
        "--bootstrap",
        "300",
        "--trials",
        "300",
        "--max-drop",
        "CIDEr=0.01",
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    cider = out["metrics"]["CIDEr"]
    assert cider["delta"] > 0 and cider["ci"][0] > 0 and cider["p_paired_bootstrap"] < 0.05
    assert out["shared"] == {"ids": 500}
    assert "comparison written to vlmeval-compare.json" in result.stderr
    result = cli(
        "compare",
        "new.json",
        "base.json",
        "--max-drop",
        "CIDEr=0.01",
        "--bootstrap",
        "300",
        "--trials",
        "300",
    )
    assert result.exit_code == 1 and "gate failed: CIDEr dropped" in result.stderr
    # a different tokenizer makes the numbers incomparable
    assert cli(
        "caption",
        CAPTION_JSONL,
        "--metrics",
        "Bleu,CIDEr",
        "--tokenizer",
        "ptb-jar",
        "--out",
        "jar.json",
        "--quiet",
    ).exit_code in (0, 2)
    if (tmp_path / "jar.json").exists():
        result = cli("compare", "base.json", "jar.json")
        assert result.exit_code == 2 and "signatures differ" in result.stderr
        assert (
            cli(
                "compare", "base.json", "jar.json", "--force", "--trials", "100", "--bootstrap", "100"
            ).exit_code
            == 0
        )


def test_compare_refuses_different_tasks(cli, tmp_path):
    assert cli("caption", CAPTION_JSONL, "--metrics", "Bleu", "--out", "c.json", "--quiet").exit_code == 0
    assert (
        cli("grounding", FIXTURES / "grounding" / "phrase.jsonl", "--out", "g.json", "--quiet").exit_code == 0
    )
    result = cli("compare", "c.json", "g.json")
    assert (
        result.exit_code == 2 and "cannot compare a caption report with a grounding report" in result.stderr
    )


def test_a_drop_gate_no_shared_sample_can_measure_fails(cli, tmp_path):
    """NEW scored no sample on the gated metric (every ground truth empty): the drop is unmeasurable, and
    the gate fails as a --min gate on a NaN metric does (it passed: the NaN drop compared as no drop)."""
    records = [{"id": i, "prediction": "[10, 10, 50, 50]", "gt_boxes": [[10, 10, 50, 50]]} for i in range(8)]
    write_jsonl(tmp_path / "base.jsonl", records)
    write_jsonl(tmp_path / "new.jsonl", [{**r, "gt_boxes": []} for r in records])
    for name in ("base", "new"):
        assert cli("grounding", f"{name}.jsonl", "--out", f"{name}.json", "--quiet").exit_code == 0
    result = cli("compare", "base.json", "new.json", "--max-drop", "mean_iou=0.01", "--out", "c.json",
                 "--bootstrap", "50", "--trials", "50")  # fmt: skip
    assert result.exit_code == 1, result.stderr
    assert "mean_iou has no sample scored in both runs" in result.stderr
    assert _report(tmp_path, "c.json")["gates"] == [
        {"metric": "mean_iou", "max_drop": 0.01, "drop": None, "p": None, "passed": False}
    ]


def test_two_outputs_of_one_command_are_two_files(cli, tmp_path):
    assert cli("caption", CAPTION_JSONL, "--metrics", "Bleu", "--out", "a.json", "--quiet").exit_code == 0
    result = cli("compare", "a.json", "a.json", "a.json", "--out", "same.out", "--html", "same.out")
    assert result.exit_code == 2 and "--out and --html are the same file" in result.stderr
    assert not (tmp_path / "same.out").exists()


def test_the_html_page_is_none_of_the_images_it_shows(cli, tmp_path):
    import shutil

    image = tmp_path / "img.jpg"
    shutil.copy(FIXTURES / "grounding" / "images" / "000000117645.jpg", image)
    write_jsonl(tmp_path / "g.jsonl", [{"id": 1, "prediction": "[0, 0, 5, 5]", "gt_boxes": [[10, 10, 50, 50]], "image": "img.jpg"}])
    assert cli("grounding", "g.jsonl", "--failures", "1", "--out", "g.json", "--quiet").exit_code == 0
    before = image.read_bytes()
    result = cli("report", "g.json", "--html", "img.jpg")
    assert result.exit_code == 2 and "--html img.jpg is also an input" in result.stderr
    assert image.read_bytes() == before


def test_a_narrow_terminal_folds_the_names_and_keeps_the_numbers_whole(cli, tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    assert cli("caption", CAPTION_JSONL, "--metrics", "Bleu,CIDEr", "--bootstrap", "20", "--out", "r.json",
               "--quiet").exit_code == 0  # fmt: skip
    report = _report(tmp_path, "r.json")
    shown = subprocess.run([sys.executable, "-m", "vlmeval", "report", str(tmp_path / "r.json")], capture_output=True,
                           text=True, cwd=ROOT, env={**os.environ, "COLUMNS": "40"}).stdout  # fmt: skip
    assert "…" not in shown.split("\n\n")[0]
    for key, (low, high) in report["ci"].items():  # an interval may wrap after its comma
        assert f"[{low:.4f}," in shown and f"{high:.4f}]" in shown, key
    assert f"{report['metrics']['CIDEr']:.4f}" in shown and "Bleu_1" in shown


def test_an_undefined_metric_has_no_interval_and_no_test(cli, tmp_path):
    """CHAIR_i where no caption names an object is 0/0: no value, so no interval (it was [0, 0]) and, in a
    comparison, no delta, interval or p-value (approximate randomisation gave 0.0001)."""
    refs = ["A woman stands in the dining area at the table.", "A room with chairs, a table, and a woman in it."]
    nothing = [{"id": f"139-{k}", "image_id": 139, "prediction": "it is a nice picture.", "references": refs} for k in range(6)]
    named = [{**r, "prediction": "a woman at a table with a dog."} for r in nothing]
    write_jsonl(tmp_path / "none.jsonl", nothing)
    write_jsonl(tmp_path / "named.jsonl", named)
    chair = ("--metrics", "CHAIR,Bleu", "--chair-variant", "original", "--instances",
             FIXTURES / "detection" / "instances_val2017_mini.json", "--bootstrap", "30", "--quiet")  # fmt: skip
    assert cli("caption", "none.jsonl", *chair, "--out", "none.json").exit_code == 0
    assert cli("caption", "named.jsonl", *chair, "--out", "named.json").exit_code == 0
    report = _report(tmp_path, "none.json")
    assert report["metrics"]["CHAIR_i"] is None and "CHAIR_i" not in report["ci"] and "Bleu_1" in report["ci"]
    assert any("no bootstrap interval for CHAIR_i" in w for w in report["warnings"])
    result = cli("compare", "none.json", "named.json", "--bootstrap", "30", "--trials", "30", "--out", "c.json")
    assert result.exit_code == 0, result.stderr
    assert _report(tmp_path, "c.json")["metrics"]["CHAIR_i"] == {
        "base": None, "new": _report(tmp_path, "named.json")["metrics"]["CHAIR_i"], "delta": None, "ci": [None, None],
        "p_paired_bootstrap": None, "p_approx_randomization": None,
    }  # fmt: skip
    assert "nan" not in result.stdout


def test_failure_images_are_found_from_another_folder(cli, tmp_path, monkeypatch):
    """Failure rows keep image paths as the run saw them (relative to its folder, or for yes/no to the input
    file's): the page finds them from wherever it is made, through the report's environment.cwd."""
    import shutil

    (tmp_path / "data").mkdir()
    shutil.copy(FIXTURES / "grounding" / "images" / "000000117645.jpg", tmp_path / "data" / "img.jpg")
    write_jsonl(tmp_path / "data" / "g.jsonl", [{"id": 1, "prediction": "[0, 0, 5, 5]", "gt_boxes": [[10, 10, 50, 50]],
                                                  "image": "img.jpg"}])  # fmt: skip
    assert cli("grounding", "data/g.jsonl", "--failures", "1", "--out", "g.json", "--quiet").exit_code == 0
    assert _report(tmp_path, "g.json")["failures"][0]["image"] == "data/img.jpg"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert cli("report", "../g.json", "--html", "page.html", "--quiet").exit_code == 0
    page = (tmp_path / "elsewhere" / "page.html").read_text()
    assert "data:image/jpeg" in page and "image not found" not in page


def test_the_pair_table_gives_each_report_s_own_numbers(cli, tmp_path):
    """VQA accuracy is rounded as the official script rounds it: compared on all samples, BASE and NEW are
    the reports' 70.02, not the unrounded mean 70.0167; on a subset, the subset's means."""
    vqa = FIXTURES / "vqa" / "vqa_600.jsonl"
    assert cli("vqa", vqa, "--out", "v.json", "--quiet").exit_code == 0
    reported = _report(tmp_path, "v.json")["metrics"]
    assert reported["vqa_accuracy"] != reported["vqa_accuracy_unrounded"]
    assert cli("compare", "v.json", "v.json", "--force", "--out", "c.json", "--bootstrap", "20",
               "--trials", "20", "--quiet").exit_code == 0  # fmt: skip
    row = _report(tmp_path, "c.json")["metrics"]["vqa_accuracy"]
    assert row["base"] == row["new"] == reported["vqa_accuracy"] and row["delta"] == 0
    lines = vqa.read_text().splitlines()
    (tmp_path / "half.jsonl").write_text("\n".join(lines[:300]) + "\n")
    assert cli("vqa", "half.jsonl", "--out", "h.json", "--quiet").exit_code == 0
    assert cli("compare", "v.json", "h.json", "--force", "--out", "c2.json", "--bootstrap", "20",
               "--trials", "20", "--quiet").exit_code == 0  # fmt: skip
    half = _report(tmp_path, "c2.json")["metrics"]["vqa_accuracy"]
    assert half["new"] == half["base"] and half["base"] != _report(tmp_path, "h.json")["metrics"]["vqa_accuracy"]
