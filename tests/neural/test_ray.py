"""``--engine ray``: BERTScore and CLIPScore/RefCLIPScore on a local Ray cluster of two CPU workers (an actor
pool, one model replica each) give the numbers one process gives, bit for bit: the real MiniLM the tests ship
(with IDF, empty predictions, uneven references) and a tiny random CLIP (missing, broken and shared images,
truncated captions). Blocks are made small so that several blocks go to each worker."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
ray = pytest.importorskip("ray")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray Data's own, at its start

from tests.conftest import FIXTURES, write_jsonl  # noqa: E402
from tests.golden.cases import differences  # noqa: E402
from tests.neural.models import minilm_path, tiny_clip  # noqa: E402

# what may differ between the two runs: versions and argv (environment); nothing else
COMPARED = (
    "metrics",
    "per_sample",
    "signature",
    "counts",
    "warnings",
    "stats",
    "breakdown",
    "failures",
    "ci",
)


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr("vlmeval.metrics.bertscore.BLOCK_RECORDS", 8)
    monkeypatch.setattr("vlmeval.scoring.model_metrics.CLIP_BLOCK", 4)


def _both(cli, tmp_path, args: list[str]) -> tuple[dict, dict]:
    reports = []
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.json"
        result = cli(*args, "--engine", engine, "--out", out, "--quiet")
        assert result.exit_code == 0, result.output
        reports.append(json.loads(out.read_text(encoding="utf-8")))
    return reports[0], reports[1]


def _same(local: dict, remote: dict) -> list[str]:
    return differences({k: local.get(k) for k in COMPARED}, {k: remote.get(k) for k in COMPARED}, rel=0.0)


def test_bertscore_on_ray_equals_one_process(cli, tmp_path, caption_records, cluster, small_blocks):
    records = [dict(r) for r in caption_records[:30]]
    records[2]["prediction"] = ""
    records[5]["references"] = records[5]["references"][:1]
    data = write_jsonl(tmp_path / "caps.jsonl", records)
    args = ["caption", data, "--metrics", "BERTScore", "--bertscore-model", minilm_path(), "--bertscore-idf",
            "--bootstrap", "20", "--failures", "2"]  # fmt: skip
    local, remote = _both(cli, tmp_path, args)
    assert _same(local, remote) == []
    assert remote["environment"]["ray"] == ray.__version__


def test_clipscore_on_ray_equals_one_process(cli, tmp_path, cluster, small_blocks):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for k, name in enumerate(sorted((FIXTURES / "grounding" / "images").glob("*.jpg"))[:2]):
        Image.open(name).convert("RGB").resize((200 + 40 * k, 150)).save(folder / f"{k}.jpg")
    (folder / "broken.jpg").write_bytes(b"not an image")
    names = ["0.jpg", "1.jpg", "missing.jpg", "broken.jpg", "0.jpg"]
    records = [{"id": i, "prediction": f"a photo of thing {i}" + " long" * (80 if i == 4 else 0),
                "references": [f"thing {i}", "an object"], "image": names[i % 5]} for i in range(14)]  # fmt: skip
    data = write_jsonl(tmp_path / "caps.jsonl", records)
    args = ["caption", data, "--images", folder, "--metrics", "CLIPScore,RefCLIPScore",
            "--clip-model", tiny_clip(str(tmp_path / "model"))]  # fmt: skip
    local, remote = _both(cli, tmp_path, args)
    assert local["counts"]["skipped"] == {"missing_image": 3, "unreadable_image": 3}
    assert _same(local, remote) == []


def test_missing_ray_is_one_sentence(cli, tmp_path, caption_records, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    data = write_jsonl(tmp_path / "caps.jsonl", caption_records[:3])
    result = cli("caption", data, "--metrics", "BERTScore", "--bertscore-model", minilm_path(), "--engine", "ray",
                 "--out", tmp_path / "r.json", "--quiet")  # fmt: skip
    assert result.exit_code == 2
    assert "pip install 'vlmeval[ray]'" in result.output and "Traceback" not in result.output
