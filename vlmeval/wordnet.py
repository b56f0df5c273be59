"""WordNet 3.0 lemmas as NLTK's ``WordNetLemmatizer().lemmatize(word, pos)`` gives them, without NLTK.

``lemmatize`` is NLTK's: the shortest of the forms ``_morphy`` finds, else the word itself. ``_morphy`` looks
the word up in the exception list of its part of speech (``noun.exc``, ...), else applies the detachment
rules once, and keeps the candidates (the word included) that the index file (``index.noun``, ...) lists for
that part of speech. NLTK up to 3.8 then kept applying the rules to the candidates until one was in the
index (``iterate=True``); 3.9 dropped that step.

The files come from, in this order: ``$VLMEVAL_WORDNET_DIR``; Debian's ``wordnet-base`` package
(``/usr/share/wordnet``: ``apt-get install wordnet-base``); an ``nltk_data`` folder's ``corpora/wordnet``
(a folder or NLTK's ``wordnet.zip``). They are read when CHAIR first needs a lemma, never at import.
"""

from __future__ import annotations

import io
import os
import zipfile
from functools import lru_cache
from pathlib import Path

WORDNET_DIR_ENV = "VLMEVAL_WORDNET_DIR"
DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")
POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}

_SUBSTITUTIONS = {
    "n": (("s", ""), ("ses", "s"), ("ves", "f"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
          ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"),
          ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}  # fmt: skip


class WordNetMissing(LookupError):
    """No WordNet files were found; the message says where we looked and how to install them."""


def _candidate_sources() -> list[Path]:
    from vlmeval.metrics.chair_words import nltk_data_dirs

    out = []
    env = os.environ.get(WORDNET_DIR_ENV)
    if env:
        out.append(Path(env))
    out.append(DEBIAN_WORDNET_DIR)
    for root in nltk_data_dirs():
        out += [root / "corpora" / "wordnet", root / "corpora" / "wordnet.zip"]
    return out


def _open_source(path: Path):
    """A reader ``name -> text`` over a WordNet folder or NLTK's wordnet.zip, or None if it is not one."""
    needed = [f"index.{s}" for s in POS_FILES.values()] + [f"{s}.exc" for s in POS_FILES.values()]
    if path.is_dir():
        if all((path / n).is_file() for n in needed):
            return lambda name: (path / name).read_text(encoding="utf-8", errors="strict")
        return None
    if path.is_file() and zipfile.is_zipfile(path):
        z = zipfile.ZipFile(path)
        names = {Path(n).name: n for n in z.namelist()}
        if all(n in names for n in needed):
            return lambda name: io.TextIOWrapper(z.open(names[name]), encoding="utf-8").read()
    return None


class WordNet:
    """The lemma index and exception lists of WordNet, per part of speech (n, v, a, r)."""

    def __init__(self, read, source: str):
        self.source = source
        self.lemmas: dict[str, frozenset[str]] = {}
        self.exceptions: dict[str, dict[str, list[str]]] = {}
        for pos, suffix in POS_FILES.items():
            names = set()
            for line in read(f"index.{suffix}").splitlines():
                # the licence header lines start with a space, as NLTK's reader skips them
                if line and not line.startswith(" "):
                    fields = line.split()
                    # the part of speech is the second field (NLTK keys on it, not on the file name)
                    if len(fields) > 1 and fields[1] == pos:
                        names.add(fields[0])
            self.lemmas[pos] = frozenset(names)
            exc: dict[str, list[str]] = {}
            for line in read(f"{suffix}.exc").splitlines():
                terms = line.split()
                if terms:
                    exc[terms[0]] = terms[1:]
            self.exceptions[pos] = exc

    def morphy(self, form: str, pos: str, iterate: bool = False) -> list[str]:
        """NLTK's ``WordNetCorpusReader._morphy(form, pos)`` (3.8 when ``iterate``, 3.9+ otherwise)."""
        known = self.lemmas[pos]
        subs = _SUBSTITUTIONS[pos]

        def apply_rules(forms):
            return [f[: -len(old)] + new for f in forms for old, new in subs if f.endswith(old)]

        def filter_forms(forms):
            out, seen = [], set()
            for f in forms:
                if f in known and f not in seen:
                    out.append(f)
                    seen.add(f)
            return out

        exceptions = self.exceptions[pos]
        if form in exceptions:
            return filter_forms([form] + exceptions[form])
        forms = apply_rules([form])
        results = filter_forms([form] + forms)
        if results or not iterate:
            return results
        while forms:
            forms = apply_rules(forms)
            results = filter_forms(forms)
            if results:
                return results
        return []

    def lemmatize(self, word: str, pos: str = "n", iterate: bool = False) -> str:
        """``WordNetLemmatizer().lemmatize(word, pos)``: the shortest lemma (the first of equal length)."""
        lemmas = self.morphy(word, pos, iterate)
        return min(lemmas, key=len) if lemmas else word


def missing_message(looked: list[Path]) -> str:
    return (
        "CHAIR needs WordNet 3.0 to lemmatise as NLTK does, and found none (looked in: "
        + ", ".join(str(p) for p in looked)
        + "): install Debian's wordnet-base (apt-get install wordnet-base), or set "
        + f"${WORDNET_DIR_ENV} to a folder holding WordNet's index.noun, noun.exc, ... files"
    )


@lru_cache(maxsize=4)
def load_wordnet(path: str | None = None) -> WordNet:
    """The first WordNet found (or the one at ``path``); ``WordNetMissing`` says what to install."""
    sources = [Path(path)] if path else _candidate_sources()
    for source in sources:
        read = _open_source(source)
        if read is not None:
            return WordNet(read, str(source))
    raise WordNetMissing(missing_message(sources))
