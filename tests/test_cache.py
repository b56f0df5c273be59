"""The cache folder: the tokenizer's compiled scanner is kept after the first run and given back as the same
pattern; a damaged, foreign or unwritable cache only means compiling again."""

from __future__ import annotations

import gzip
import json

import pytest
import regex

from tests.conftest import ROOT
from vlmeval import cache
from vlmeval.tokenizers import ptb
from vlmeval.tokenizers.ptb_rules import RULES

PATTERN = "|".join(
    f"(?P<r{k}>(?:{rule.pattern})" + (f"(?:{rule.context})" if rule.context else "") + ")"
    for k, rule in enumerate(RULES)
)  # the scanner's own pattern (ptb._scanner)
FLAGS = regex.POSIX | regex.V0


def _text() -> str:
    with gzip.open(ROOT / "fixtures" / "coco" / "captions_val2017.json.gz", "rt", encoding="utf-8") as f:
        captions = [a["caption"] for a in json.load(f)["annotations"][:3000]]
    odd = ["e.g. U.S.A. t-shirt 3 1/2 $5 <a href='x'> http://x.org n't can't 1-800-555 -- ...", "Mr. Smith's (cat)"]
    return "\n".join(captions + odd)


def _same(a, b, text: str) -> None:
    assert a.pattern == b.pattern and a.groupindex == b.groupindex and int(a.flags) == int(b.flags)
    for pos in range(0, len(text), 2):
        x, y = a.match(text, pos), b.match(text, pos)
        assert (x and (x.span(), x.lastgroup)) == (y and (y.span(), y.lastgroup)), text[pos : pos + 30]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "vlmeval" / "regex"


def test_the_scanner_comes_back_from_the_cache_as_the_same_pattern(folder):
    fresh = regex.compile(PATTERN, FLAGS)
    first = cache.compiled_regex(PATTERN, FLAGS)
    (stored,) = folder.iterdir()
    assert stored.stat().st_size > 10_000
    again = cache.compiled_regex(PATTERN, FLAGS)  # from the file
    text = _text()
    _same(first, fresh, text)
    _same(again, fresh, text)


def test_a_damaged_file_is_compiled_again(folder):
    cache.compiled_regex(PATTERN, FLAGS)
    (stored,) = folder.iterdir()
    data = bytearray(stored.read_bytes())
    data[-5] ^= 0xFF
    stored.write_bytes(bytes(data))
    _same(cache.compiled_regex(PATTERN, FLAGS), regex.compile(PATTERN, FLAGS), _text()[:20_000])
    stored.write_bytes(b"")
    _same(cache.compiled_regex(PATTERN, FLAGS), regex.compile(PATTERN, FLAGS), _text()[:20_000])


def test_another_regex_version_has_its_own_file(folder, monkeypatch):
    cache.compiled_regex("a+b", regex.POSIX)
    monkeypatch.setattr(regex, "__version__", "0.0.0")
    cache.compiled_regex("a+b", regex.POSIX)
    assert len(list(folder.iterdir())) == 2


def test_the_default_version_has_its_own_file(folder, monkeypatch):
    """A process that set regex.DEFAULT_VERSION = V1 (full case folding) writes a program later runs must
    not load: ``(?i:mass)`` matches "Maß" only under V1."""
    monkeypatch.setattr(regex, "DEFAULT_VERSION", regex.V1)
    assert cache.compiled_regex("(?i:mass)", regex.POSIX).fullmatch("maß")
    monkeypatch.setattr(regex, "DEFAULT_VERSION", regex.V0)
    assert not cache.compiled_regex("(?i:mass)", regex.POSIX).fullmatch("maß")
    assert len(list(folder.iterdir())) == 2


def test_a_file_that_is_not_a_regular_file_or_not_the_engine_is_not_read(folder):
    import os
    import pickle

    cache.compiled_regex("a+b", regex.POSIX)
    (stored,) = folder.iterdir()
    stored.unlink()
    os.mkfifo(stored)  # would block a plain open()
    assert cache.compiled_regex("a+b", regex.POSIX).fullmatch("aab")
    stored.unlink()
    payload = pickle.dumps(os.system, protocol=4)  # a checksum that matches, a global that is not the engine
    stored.write_bytes(cache.hashlib.sha256(payload).digest() + payload)
    assert cache.compiled_regex("a+b", regex.POSIX).fullmatch("aab")


def test_two_threads_compiling_at_once_get_their_own_patterns(folder):
    from concurrent.futures import ThreadPoolExecutor

    patterns = [f"(?P<g>x{'y' * k})+" for k in range(40)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda p: cache.compiled_regex(p, regex.POSIX), patterns))
    assert [g.pattern for g in got] == patterns
    import pickle

    pickle.dumps(regex.compile("z+"))  # regex's own pickling is untouched


def test_a_relative_cache_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    assert cache.cache_root().is_absolute()


def test_an_unwritable_cache_still_compiles(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder would be
    assert cache.compiled_regex("a+b", regex.POSIX).fullmatch("aab")


def test_the_tokenizer_is_the_same_with_its_scanner_from_the_cache(folder):
    lines = _text().split("\n")
    ptb._scanner.cache_clear()
    ptb._splitter.cache_clear()
    compiled = ptb.tokenize_ptb([lines], use_jar=False)
    ptb._scanner.cache_clear()
    ptb._splitter.cache_clear()
    assert len(list(folder.iterdir())) > 1  # the scanner and the trailing-context rules used
    assert ptb.tokenize_ptb([lines], use_jar=False) == compiled
