"""CLIPScore / RefCLIPScore against two references, on a tiny random CLIP with CLIP's real tokenizer:

- torchmetrics 1.9 ``clip_score`` internals (``_clip_score_update``: per-sample 100 * cos with transformers'
  CLIPProcessor) on the same model: ours = 2.5 * max(theirs / 100, 0), prompt passed in the text since
  torchmetrics adds none; its mean is clamped after averaging, so the per-sample values are compared.
- a direct transcription of jmhessel/clipscore (get_clip_score, get_refonlyclipscore) with open_clip's
  SimpleTokenizer (= clip.tokenize(truncate=True)) and CLIP's transform restated with Pillow and numpy.
Images: two real COCO val2017 JPEGs (fixtures/grounding/images) and variants made from them in the test.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

from tests.conftest import FIXTURES, write_jsonl  # noqa: E402
from tests.neural.models import tiny_clip  # noqa: E402

COCO = FIXTURES / "grounding" / "images"
MEAN = np.array((0.48145466, 0.4578275, 0.40821073), dtype=np.float32)
STD = np.array((0.26862954, 0.26130258, 0.27577711), dtype=np.float32)
CAPTIONS = [
    ("a kitchen with a stove a sink and a refrigerator", ["A kitchen with white cabinets and a fridge.",
                                                           "An old stove in a small kitchen."]),
    ("a cat sitting on a couch next to a remote", ["A cat lying on a sofa.", "A cat with a remote control.",
                                                    "A living room with a couch and a cat."]),
]  # fmt: skip


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return tiny_clip(str(tmp_path_factory.mktemp("clip")))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Two real photos at sizes where torchvision's and transformers' centre crops agree, and variants."""
    folder = tmp_path_factory.mktemp("images")
    a = Image.open(COCO / "000000000802.jpg").convert("RGB")
    b = Image.open(COCO / "000000117645.jpg").convert("RGB")
    a.resize((320, 240)).save(folder / "kitchen.jpg", quality=95)
    b.resize((240, 320)).save(folder / "cat.png")
    return folder


def _open_clip_tokenizer():
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("open-clip-torch is not installed")
    pytest.importorskip("ftfy")
    path = Path(list(spec.submodule_search_locations)[0]) / "tokenizer.py"
    # the module alone: the package's __init__ wants torchvision
    loader = importlib.util.spec_from_file_location("open_clip_tokenizer", path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module.SimpleTokenizer()


def _hessel_transform(path: Path) -> np.ndarray:
    """clipscore.py's _transform_test: Resize(224, BICUBIC), CenterCrop(224), RGB, ToTensor, Normalize."""
    image = Image.open(path)
    w, h = image.size
    if w <= h:
        size = (224, int(224 * h / w))
    else:
        size = (int(224 * w / h), 224)
    image = image.resize(size, Image.BICUBIC)
    left, top = int(round((size[0] - 224) / 2.0)), int(round((size[1] - 224) / 2.0))
    image = image.crop((left, top, left + 224, top + 224)).convert("RGB")
    x = np.asarray(image, dtype=np.float32) / 255.0
    return ((x - MEAN) / STD).transpose(2, 0, 1)


def _hessel(clip_dir, image_paths, candidates, references):
    """jmhessel/clipscore get_clip_score + get_refonlyclipscore, features from the same transformers model."""
    from transformers import CLIPModel

    model = CLIPModel.from_pretrained(str(clip_dir)).eval()
    tok = _open_clip_tokenizer()

    def text(captions):
        ids = tok(["A photo depicts " + c for c in captions], context_length=77)  # truncates, ends with EOT
        with torch.no_grad():
            return model.get_text_features(input_ids=ids).numpy()

    with torch.no_grad():
        imgs = model.get_image_features(
            pixel_values=torch.from_numpy(np.stack([_hessel_transform(p) for p in image_paths]))
        ).numpy()
    cands = text(candidates)
    imgs = imgs / np.sqrt(np.sum(imgs**2, axis=1, keepdims=True))
    cands = cands / np.sqrt(np.sum(cands**2, axis=1, keepdims=True))
    per = 2.5 * np.clip(np.sum(imgs * cands, axis=1), 0, None)
    flat = [r for rs in references for r in rs]
    idxs = [i for i, rs in enumerate(references) for _ in rs]
    refs = text(flat)
    refs = refs / np.sqrt(np.sum(refs**2, axis=1, keepdims=True))
    text_text = []
    for c_idx, cand in enumerate(cands):
        cur = np.vstack([f for f, i in zip(refs, idxs) if i == c_idx])
        text_text.append(np.max(cand.dot(cur.transpose())))
    text_text = np.array(text_text)
    return per, 2 * per * text_text / (per + text_text)


def _run(cli, tmp_path, clip_dir, images, records, *extra):
    data = write_jsonl(tmp_path / "caps.jsonl", records)
    result = cli(
        "caption", data, "--metrics", "CLIPScore,RefCLIPScore", "--clip-model", clip_dir, "--images", images,
        "--out", "r.json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / "r.json").read_text()), result


def test_equals_hessel_formula_with_truncation(cli, tmp_path, clip_dir, images):
    long = " ".join(["a very long caption about a kitchen with many things in it"] * 12)  # > 77 tokens
    cands = [CAPTIONS[0][0], CAPTIONS[1][0], long]
    refs = [CAPTIONS[0][1], CAPTIONS[1][1], [long, "A kitchen."]]
    files = ["kitchen.jpg", "cat.png", "kitchen.jpg"]
    records = [
        {"id": i, "image": f, "prediction": c, "references": r}
        for i, (f, c, r) in enumerate(zip(files, cands, refs))
    ]
    report, result = _run(cli, tmp_path, clip_dir, images, records)
    per, ref_per = _hessel(clip_dir, [images / f for f in files], cands, refs)
    assert np.abs(np.array(report["per_sample"]["CLIPScore"]) - per).max() < 1e-5
    assert np.abs(np.array(report["per_sample"]["RefCLIPScore"]) - ref_per).max() < 1e-5
    assert abs(report["metrics"]["CLIPScore"] - per.mean()) < 1e-5
    assert report["counts"]["clip_truncated_predictions"] == 1
    assert report["counts"]["clip_truncated_references"] == 1
    assert "truncated" in result.output


def test_equals_torchmetrics_per_sample(tmp_path, clip_dir, images):
    tm = pytest.importorskip("torchmetrics.functional.multimodal.clip_score")
    from transformers import CLIPModel, CLIPProcessor

    from vlmeval.metrics.clipscore import PROMPT
    from vlmeval.scoring.model_metrics import NeuralOptions, NeuralScores, score_clip

    model = CLIPModel.from_pretrained(str(clip_dir)).eval()
    processor = CLIPProcessor.from_pretrained(str(clip_dir))
    files = ["kitchen.jpg", "cat.png"]
    cands = [c for c, _ in CAPTIONS]
    pixels = [
        torch.from_numpy(np.array(Image.open(images / f).convert("RGB"))).permute(2, 0, 1) for f in files
    ]
    with torch.no_grad():
        theirs, _ = tm._clip_score_update(pixels, [PROMPT + c for c in cands], model, processor)
    out = NeuralScores()
    score_clip(
        cands, [r for _, r in CAPTIONS], [str(images / f) for f in files], ["CLIPScore"],
        NeuralOptions(clip_model=str(clip_dir), device="cpu"), out,
    )  # fmt: skip
    expected = 2.5 * np.clip(theirs.numpy() / 100.0, 0, None)
    assert np.abs(np.array(out.per_sample["CLIPScore"]) - expected).max() < 1e-4


def _variants(folder: Path) -> dict[str, str]:
    """Images in the modes the loader must handle; returns file -> what it is."""
    base = Image.open(folder / "kitchen.jpg")
    base.convert("L").save(folder / "gray.png")
    rgba = base.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(folder / "rgba.png")
    base.convert("CMYK").save(folder / "cmyk.jpg")
    base.convert("P").save(folder / "palette.png")
    wide = (np.asarray(base.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    Image.fromarray(wide).save(folder / "gray16.png")  # mode I;16
    # stored sideways with EXIF orientation 6 (rotate 90 degrees clockwise to view)
    exif = Image.Exif()
    exif[0x0112] = 6
    base.transpose(Image.Transpose.ROTATE_90).save(folder / "exif6.jpg", exif=exif, quality=95)
    data = (folder / "kitchen.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "notimage.jpg").write_text("not an image")
    return {
        "gray.png": "grey", "rgba.png": "rgba", "cmyk.jpg": "cmyk", "palette.png": "palette",
        "gray16.png": "16-bit", "exif6.jpg": "exif", "truncated.jpg": "truncated", "notimage.jpg": "garbage",
        "missing.jpg": "missing",
    }  # fmt: skip


def test_image_modes_each_defined(cli, tmp_path, clip_dir, images):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "kitchen.jpg").write_bytes((images / "kitchen.jpg").read_bytes())
    kinds = _variants(folder)
    files = ["kitchen.jpg", *kinds]
    records = [
        {"id": f, "image": f, "prediction": CAPTIONS[0][0], "references": CAPTIONS[0][1]} for f in files
    ]
    records.append({"id": "no-image", "prediction": "x", "references": ["y"]})
    report, result = _run(cli, tmp_path, clip_dir, folder, records)
    per = dict(zip(report["per_sample"]["ids"], report["per_sample"]["CLIPScore"]))
    # unusable images are counted, their samples left out (null), never a crash
    assert report["counts"]["skipped"]["unreadable_image"] == 2
    assert report["counts"]["skipped"]["missing_image"] == 1
    assert report["counts"]["skipped"]["no_image"] == 1
    for f in ("truncated.jpg", "notimage.jpg", "missing.jpg", "no-image"):
        assert per[f] is None
    scored = [v for v in per.values() if v is not None]
    assert report["metrics"]["CLIPScore"] == pytest.approx(np.mean(scored))
    # EXIF orientation applied: the sideways file scores as the upright photo (JPEG re-encoding aside)
    assert per["exif6.jpg"] == pytest.approx(per["kitchen.jpg"], abs=0.02)
    # 16-bit grey scaled to 8 bits equals the 8-bit grey image
    assert per["gray16.png"] == pytest.approx(per["gray.png"], abs=1e-6)
    for f in ("gray.png", "rgba.png", "cmyk.jpg", "palette.png"):
        assert per[f] is not None and np.isfinite(per[f])
    assert "unreadable" in result.output


def test_clip_pixels_modes():
    from vlmeval.io.images import ImageProblem, clip_pixels

    with pytest.raises(ImageProblem) as problem:
        clip_pixels(Path("/nonexistent/x.jpg"))
    assert problem.value.reason == "missing_image"
    x = clip_pixels(COCO / "000000000802.jpg")
    assert x.shape == (3, 224, 224) and x.dtype == np.float32


def test_no_images_is_a_clear_error(cli, tmp_path, clip_dir):
    data = write_jsonl(tmp_path / "caps.jsonl", [{"id": 1, "prediction": "a", "references": ["b"]}])
    result = cli("caption", data, "--metrics", "CLIPScore", "--clip-model", clip_dir)
    assert result.exit_code == 2
    assert "'image' field" in result.output


def test_token_ids_equal_clip_tokenize_on_text_it_cleans(clip_dir):
    """clip.tokenize cleans text with ftfy and html.unescape before its BPE; transformers' fast tokenizer does
    neither: curly quotes, entities, ligatures, full-width letters and mojibake would differ."""
    from vlmeval.models import ClipEncoder, LocalModel

    texts = ["a \u201cdog\u201d on a \u2018mat\u2019", "fish &amp; chips &lt;3", "\ufb01ne ligature \ufb02our",
             "\uff21 \uff42\uff49\uff4b\uff45", "caf\u00c3\u00a9 mojibake", "tabs\tand   spaces\n", "",
             "A PHOTO of CAPITALS", "emoji \U0001f436 and \u00e9"]  # fmt: skip
    encoder = ClipEncoder(LocalModel(str(clip_dir), Path(clip_dir), Path(clip_dir).name), "cpu")
    ours, truncated = encoder.token_ids(texts)
    reference = _open_clip_tokenizer()
    expected = reference(texts, context_length=77).tolist()
    assert [row + [0] * (77 - len(row)) for row in ours] == expected and not truncated.any()
