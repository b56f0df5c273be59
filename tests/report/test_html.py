"""The HTML report: structure checked with html.parser, then rendered in a real browser (Debian's chromium,
headless, --no-sandbox): the DOM after load (the page's own self-check: thumbnails decoded, plots present),
no console messages at all, and a screenshot that is a real, non-blank PNG."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import CAPTION_JSONL, FIXTURES, write_jsonl

GROUNDING = FIXTURES / "grounding"
IMAGES = GROUNDING / "images"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: dict[str, int] = {}
        self.classes: dict[str, int] = {}
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name == "class":
                for c in (value or "").split():
                    self.classes[c] = self.classes.get(c, 0) + 1
            if name == "id":
                self.ids.add(value)


def _parse(path: Path) -> _Tags:
    parser = _Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture
def grounding_report(cli, tmp_path):
    """A grounding run on the samples whose COCO images are in the fixtures, failures with their images."""
    keep = {"000000000802.jpg", "000000117645.jpg"}
    refs = [json.loads(x) for x in (GROUNDING / "refs.jsonl").read_text().splitlines() if x]
    refs = [r for r in refs if r.get("image") in keep]
    ids = {r["id"] for r in refs}
    preds = [json.loads(x) for x in (GROUNDING / "preds_xyxy.jsonl").read_text().splitlines() if x]
    preds = [p for p in preds if p["id"] in ids]
    write_jsonl(tmp_path / "refs.jsonl", refs)
    write_jsonl(tmp_path / "preds.jsonl", preds)
    result = cli(
        "grounding", tmp_path / "preds.jsonl", "--refs", tmp_path / "refs.jsonl", "--images", IMAGES,
        "--failures", "4", "--bootstrap", "100", "--out", "g.json", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return tmp_path / "g.json"


def test_grounding_html_structure(cli, tmp_path, grounding_report):
    result = cli("report", grounding_report, "--html", "g.html", "--quiet")
    assert result.exit_code == 0, result.output
    page = _parse(tmp_path / "g.html")
    assert {"metrics", "failures", "plots", "counts", "environment"} <= page.ids
    assert page.tags["img"] == 4  # every failure has its thumbnail
    assert page.classes["gt"] >= 4 and page.classes["pred"] >= 1  # boxes drawn over them
    assert page.classes["plot"] >= 3  # IoU histogram, accuracy over IoU thresholds, per-sample plots
    text = (tmp_path / "g.html").read_text()
    assert "data:image/jpeg;base64," in text and "http://" not in text.replace(
        "http://www.w3.org/2000/svg", ""
    )
    report = json.loads(grounding_report.read_text())
    for key in report["metrics"]:
        assert key in text
    assert re.search(r"\[\d\.\d{4}, \d\.\d{4}\]", text)  # an interval
    # every failure tagged with its type, and the types' bar chart (its title counts the failures)
    typed = [row["error_type"] for row in report["failures"] if row.get("error_type")]
    assert typed and page.classes["etype"] == len(typed)
    for kind in typed:
        assert f'data-error-type="{kind}"' in text
    failed = sum(row["count"] for row in report["breakdown"]["error_type"].values())
    assert f'aria-label="{failed} of {len(report["per_sample"]["ids"])} failed, by error type"' in text


def test_caption_and_vqa_html(cli, tmp_path):
    records = [json.loads(x) for x in CAPTION_JSONL.read_text().splitlines()[:120]]
    write_jsonl(tmp_path / "c.jsonl", records)
    assert cli("caption", tmp_path / "c.jsonl", "--metrics", "Bleu,CIDEr", "--failures", "5",
               "--bootstrap", "50", "--out", "c.json", "-q").exit_code == 0  # fmt: skip
    assert cli("report", "c.json", "--html", "c.html", "-q").exit_code == 0
    page = _parse(tmp_path / "c.html")
    assert page.classes["hist"] == 5  # Bleu_1..4 and CIDEr per sample
    assert page.tags.get("img", 0) == 0  # no images in these records: no thumbnails, no broken ones

    vqa = FIXTURES / "vqa"
    assert cli("vqa", vqa / "results_600.json", "--annotations", vqa / "v2_annotations_600.json",
               "--questions", vqa / "v2_questions_600.json", "--failures", "3", "--out", "v.json",
               "-q").exit_code == 0  # fmt: skip
    assert cli("report", "v.json", "--html", "v.html", "-q").exit_code == 0
    page = _parse(tmp_path / "v.html")
    assert page.classes["bars"] >= 3  # per answer type, per question type, and the error types
    assert page.classes["breakdown"] >= 3
    text = (tmp_path / "v.html").read_text()
    assert "Q: " in text  # the question beside a failing answer
    assert page.classes["etype"] == 3 and "<th>error type</th>" in text
    report = json.loads((tmp_path / "v.json").read_text())
    chart = re.search(r'<svg class="plot bars" role="img" aria-label="(\d+) of 600 failed, by error type".*?</svg>', text)
    assert chart and int(chart.group(1)) == round(600 * report["metrics"]["failure_rate"])
    for kind, row in report["breakdown"]["error_type"].items():  # one bar per type, its count beside it
        assert f">{kind}</text>" in chart.group(0) and f">{row['count']}</text>" in chart.group(0)


def test_html_for_coco_detection_has_pr_curve(cli, tmp_path):
    det = FIXTURES / "detection"
    gt = next(det.glob("instances_val2014_100*.json"))
    res = next(det.glob("*fakebbox100*.json"))
    assert cli("grounding", res, "--refs", gt, "--out", "d.json", "-q").exit_code == 0
    assert cli("report", "d.json", "--html", "d.html", "-q").exit_code == 0
    text = (tmp_path / "d.html").read_text()
    assert "Precision/recall" in text and "IoU=0.50" in text and "AP by category" in text


@pytest.mark.skipif(_chromium() is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_rendered_in_headless_chromium(cli, tmp_path, grounding_report):
    assert cli("report", grounding_report, "--html", "g.html", "--quiet").exit_code == 0
    url = (tmp_path / "g.html").resolve().as_uri()
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]  # fmt: skip
    dom = subprocess.run(
        [*base, "--enable-logging=stderr", "--v=0", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    root = re.search(r"<html[^>]*>", html).group(0)
    assert 'data-rendered="ok"' in root
    assert 'data-images="4"' in root and 'data-broken-images="0"' in root
    plots = int(re.search(r'data-plots="(\d+)"', root).group(1))
    assert plots >= 4  # with the error types' chart
    typed = [row for row in json.loads(grounding_report.read_text())["failures"] if row.get("error_type")]
    assert f'data-error-tags="{len(typed)}"' in root and len(typed) > 0  # each failure tagged, in the live DOM
    assert html.count("<tr>") >= 10 and '<table id="metrics">' in html
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console

    shot = tmp_path / "report.png"
    run = subprocess.run(
        [*base, "--window-size=1280,2400", "--hide-scrollbars", f"--screenshot={shot}", url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    from PIL import Image, ImageStat

    with Image.open(shot) as image:
        assert image.size == (1280, 2400)
        spread = ImageStat.Stat(image.convert("L")).stddev[0]
    assert spread > 10  # not a blank page: text, plots and photos were painted


def test_bar_charts_sort_by_value_and_say_what_they_leave_out():
    """COCO's per-category AP has 70-80 groups: the chart shows the 20 highest and 20 lowest, sorted, and
    says how many more the table holds (it used to cut at 40 alphabetically, silently)."""
    from vlmeval.report.html import BAR_ENDS, bars_svg

    labels = [f"class{i:02d}" for i in range(70)]
    values = [((i * 37) % 70) / 70 for i in range(70)]
    svg = bars_svg(labels, values, "AP by category")
    assert svg.count('class="bar"') == 2 * BAR_ENDS and "… 30 more of 70 (see the table)" in svg
    shown = [label for label in labels if f">{label}<" in svg]
    ranked = sorted(labels, key=lambda lab: -values[labels.index(lab)])
    assert shown == [*ranked[:BAR_ENDS], *ranked[-BAR_ENDS:]] or set(shown) == set(ranked[:BAR_ENDS] + ranked[-BAR_ENDS:])
    few = bars_svg(labels[:12], values[:12], "AP")
    assert few.count('class="bar"') == 12 and "more of" not in few


def test_histogram_bins_are_labelled_to_their_width():
    """A per-image BLEU of 3.35e-19 starts the first bin: "0.000-0.050", not "3.35e-19-0.05"; edges of a
    range as wide as the floats stay finite."""
    import re

    from vlmeval.report.html import histogram_svg

    titles = re.findall(r"<title>([^<]*)</title>", histogram_svg([3.35e-19, 0.2, 0.5, 1.0], "BLEU"))
    assert titles[0] == "0.000–0.050: 1" and titles[-1] == "0.950–1.000: 1"
    wide = re.findall(r"<title>([^<]*)</title>", histogram_svg([-1e308, 1e308], "wide"))
    assert not any("nan" in t or "inf" in t for t in wide), wide
