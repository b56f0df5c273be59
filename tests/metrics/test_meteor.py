"""The Java-free METEOR 1.5 against the official jar (meteor-1.5.jar -l en -norm, as pycocoevalcap 1.2 runs
it): the jar is the oracle, one JVM for the whole module.

Compared: statistics lines (exactly), segment scores and the corpus score (EVAL line, to 1e-6; in practice
bit for bit or one ulp). Corpora: the 500 real COCO val2017 images of fixtures/caption (tokenized as
pycocoevalcap tokenizes: references and predictions as two documents), the rewrites of
fixtures/meteor (every matcher, reordering, repetitions, numbers, punctuation-only, empty and very long
captions, the tokenizer's adversarial alphabet), and hypothesis-drawn segments. Without Java the same
inputs are checked against the jar answers stored in fixtures/meteor (made by
fixtures/scripts/make_meteor_fixtures.py).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES, requires_java
from vlmeval.metrics import meteor as M
from vlmeval.metrics import meteor_data as md

EXAMPLES = int(os.environ.get("VLMEVAL_METEOR_EXAMPLES", "20"))  # `make test-all` may raise it
CASES = FIXTURES / "meteor" / "meteor_cases.jsonl"
EXPECTED = FIXTURES / "meteor" / "meteor_expected.json"


def load_cases() -> list[dict]:
    return [json.loads(line) for line in CASES.read_text(encoding="utf-8").split("\n") if line]


def coco500() -> tuple[list[str], list[list[str]]]:
    from vlmeval.tokenizers.ptb import tokenize_ptb

    records = [json.loads(line) for line in (FIXTURES / "caption" / "coco_val2017_500.jsonl").open()]
    refs = [r["references"] for r in records]
    ref_tok, hyp_tok = tokenize_ptb([[c for rs in refs for c in rs], [r["prediction"] for r in records]])
    it = iter(ref_tok)
    return hyp_tok, [[next(it) for _ in rs] for rs in refs]


@pytest.fixture(scope="module")
def jar():
    from vlmeval.metrics.meteor_jar import MeteorJar

    with MeteorJar() as running:
        yield running


def assert_equal_jar(stats: M.MeteorStatistics, lines: list[str], per: np.ndarray, corpus: float) -> None:
    expected = M.MeteorStatistics.from_lines(lines)
    bad = np.flatnonzero((stats.stats != expected.stats).any(1))
    assert bad.tolist() == [], f"statistics differ for {len(bad)} segments, first {bad[:5].tolist()}"
    assert stats.lines() == list(lines)
    assert np.abs(M.meteor_scores(stats) - per).max(initial=0) <= 1e-12
    assert abs(M.meteor_corpus(stats) - corpus) <= 1e-12


# ------------------------------------------------------------------------------------------- the corpora


@requires_java
def test_coco500_equals_the_jar(jar):
    hyps, refs = coco500()
    corpus, per, lines = jar.score_with_stats(hyps, refs)
    stats = M.meteor_statistics(hyps, refs)
    assert len(stats) == 500 and not stats.unreproduced.any()
    assert_equal_jar(stats, lines, per, corpus)


@requires_java
def test_fixture_rewrites_equal_the_jar(jar):
    cases = load_cases()
    hyps, refs = [c["hyp_tok"] for c in cases], [c["refs_tok"] for c in cases]
    corpus, per, lines = jar.score_with_stats(hyps, refs)
    assert lines == [c["jar_stats"] for c in cases]  # the stored answers are still the jar's
    stats = M.meteor_statistics(hyps, refs)
    assert not stats.unreproduced.any()
    assert_equal_jar(stats, lines, per, corpus)
    # every module, the fragmentation penalty and the perfect-segment rule are exercised
    s = stats.stats
    assert all(s[:, 4 + 4 * m].sum() + s[:, 6 + 4 * m].sum() > 0 for m in range(4))
    assert (s[:, 20] > 1).sum() > 50 and (M._corpus_rows(s)).sum() >= 1


def test_without_java_equals_the_stored_jar_answers(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    from vlmeval.java import find_java

    assert find_java() is None
    cases = load_cases()
    expected = json.loads(EXPECTED.read_text())
    stats = M.meteor_statistics([c["hyp_tok"] for c in cases], [c["refs_tok"] for c in cases])
    assert_equal_jar(
        stats,
        [c["jar_stats"] for c in cases],
        np.array([c["jar_score"] for c in cases]),
        expected["cases_corpus"],
    )
    hyps, refs = coco500()
    c500 = expected["coco500"]
    assert_equal_jar(M.meteor_statistics(hyps, refs), c500["stats"], np.array(c500["scores"]), c500["corpus"])


def test_one_process_and_two_processes_agree():
    cases = load_cases()
    hyps, refs = [c["hyp_tok"] for c in cases], [c["refs_tok"] for c in cases]
    one = M.meteor_statistics(hyps, refs, workers=1)
    if hasattr(os, "fork"):
        two = M.meteor_statistics(hyps, refs, workers=2)
        assert np.array_equal(one.stats, two.stats)
        assert np.array_equal(one.unreproduced, two.unreproduced)


def test_long_segments_get_a_second_process_and_their_fair_share():
    """A second process pays from 1,000 segments, or earlier for long ones (hypothesis x reference words);
    its share of a run of one chunk balances METEOR against the rest of the run: COCO's 451 words a
    segment give the measured 0.75, METEOR alone half."""
    from vlmeval.scoring.captions import METEOR_OTHER_WORK, meteor_child_share

    short = (["a dog on a bed"] * 500, [["a dog lies on a bed", "a brown dog"]] * 500)
    paragraph = " ".join(["the dog lies on a large bed near a window with white curtains"] * 8)
    long = ([paragraph] * 60, [[paragraph, paragraph]] * 60)
    assert not M.worth_two_processes(*short) and M.worth_two_processes(*long)
    assert M.worth_two_processes(["a"] * 1000, [["a"]] * 1000) and not M.worth_two_processes([paragraph * 9], [[paragraph * 9]])
    coco = (["w " * 9 + "w"] * 100, [["w " * 9 + "w"] * 5] * 100)  # 10 x 50 words: close to COCO's 451
    assert 0.7 < meteor_child_share(*coco, METEOR_OTHER_WORK[False]) < 0.8
    assert meteor_child_share(*long, 0.0) == 0.5 and meteor_child_share(*long, METEOR_OTHER_WORK[False]) < 0.51


def test_long_sentence_path_equals_the_narrow_one(monkeypatch):
    """Pairs with a sentence over 64 words take the per-pair search; forced on every pair, it must give
    the same statistics (and so the jar's)."""
    cases = load_cases()[:120]
    hyps, refs = [c["hyp_tok"] for c in cases], [c["refs_tok"] for c in cases]
    narrow = M.meteor_statistics(hyps, refs, workers=1)
    monkeypatch.setattr(M, "_WIDE", 0)
    wide = M.meteor_statistics(hyps, refs, workers=1)
    assert np.array_equal(narrow.stats, wide.stats)
    assert (
        M.MeteorStatistics.from_lines([c["jar_stats"] for c in cases]).stats.tolist() == wide.stats.tolist()
    )


# ------------------------------------------------------------------------------ drawn segments (hypothesis)


def _pool() -> list[str]:
    words = set()
    for c in load_cases():
        words.update(c["hyp_tok"].split())
        for r in c["refs_tok"]:
            words.update(r.split())
    return sorted(w for w in words if len(w) < 25)


_POOL = _pool()
_FEW = [
    "a",
    "the",
    "man",
    "men",
    "dog",
    "dogs",
    "on",
    "of",
    "'s",
    "two",
    "2",
    "riding",
    "rides",
    "horse",
    ",",
    ".",
]
_word = st.one_of(st.sampled_from(_POOL), st.sampled_from(_FEW))
_sentence = st.lists(_word, max_size=24).map(" ".join)
_segment = st.tuples(_sentence, st.lists(_sentence, min_size=1, max_size=5))
_CAPTIONS = [c["refs_tok"][0] for c in load_cases()[:200]]


@st.composite
def _related_segment(draw):
    """A reference and a rewrite of it: shuffled, cut, words repeated or swapped from the pool."""
    ref = draw(st.sampled_from(_CAPTIONS)).split()
    hyp = list(ref)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.integers(0, 3))
        k = draw(st.integers(0, max(len(hyp) - 1, 0)))
        if not hyp:
            break
        if op == 0:
            hyp[k] = draw(_word)
        elif op == 1:
            hyp.insert(k, hyp[k])
        elif op == 2:
            hyp = hyp[k:] + hyp[:k]
        else:
            del hyp[k]
    others = draw(st.lists(_sentence, max_size=3))
    return " ".join(hyp), [" ".join(ref), *others]


def _check_drawn(jar, segments) -> None:
    hyps = [h for h, _ in segments]
    refs = [r for _, r in segments]
    corpus, per, lines = jar.score_with_stats(hyps, refs)
    stats = M.meteor_statistics(hyps, refs, workers=1)
    assert_equal_jar(stats, lines, per, corpus)


@requires_java
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_segment, _related_segment()), min_size=1, max_size=12))
def test_property_drawn_segments_equal_the_jar(jar, segments):
    _check_drawn(jar, segments)


@pytest.mark.slow
@requires_java
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_segment, _related_segment()), min_size=1, max_size=30))
def test_property_drawn_segments_equal_the_jar_many(jar, segments):
    _check_drawn(jar, segments)


# ------------------------------------------------------------------------------------ corpus and resampling


@requires_java
def test_resampled_corpus_equals_the_jar_eval_on_resampled_lines(jar):
    hyps, refs = coco500()
    stats = M.meteor_statistics(hyps, refs)
    lines = stats.lines()
    rng = np.random.default_rng(12345)
    weights = rng.multinomial(len(lines), np.full(len(lines), 1 / len(lines)), size=4)
    ours = M.meteor_corpus(stats, weights)
    assert ours.shape == (4,)
    for row, value in zip(weights, ours):
        resampled = [line for line, k in zip(lines, row) for _ in range(k)]
        assert abs(jar.evaluate(resampled)[0] - value) <= 1e-12
    assert M.meteor_corpus(stats, weights[0]) == ours[0]
    assert M.meteor_corpus(stats, np.ones(len(lines))) == M.meteor_corpus(stats)


def test_statistics_round_trip_through_json():
    cases = load_cases()[:50]
    stats = M.meteor_statistics([c["hyp_tok"] for c in cases], [c["refs_tok"] for c in cases])
    stats.unreproduced[3] = True
    back = M.MeteorStatistics.from_lists(json.loads(json.dumps(stats.to_lists())))
    assert np.array_equal(back.stats, stats.stats) and np.array_equal(back.unreproduced, stats.unreproduced)
    assert M.meteor_corpus(back) == M.meteor_corpus(stats)


def test_empty_inputs():
    stats = M.meteor_statistics([], [])
    assert len(stats) == 0 and stats.stats.shape == (0, M.STATS_WIDTH)
    with pytest.raises(ValueError):
        M.meteor_statistics(["a"], [])


# ----------------------------------------------------------------------------------- inputs the jar sees


def test_line_protocol_cleaning():
    """As meteor_jar._score_line: "|||" removed from the hypothesis, double spaces collapsed once, newlines
    made spaces; a reference holding "|||" is two references to the jar; no reference is one empty one."""
    assert M.jar_view("a ||| b\nc", ["x\ry"]) == ("a b c", ["x y"])
    assert M.jar_view("a", ["x ||| y"]) == ("a", ["x", "y"])
    assert M.jar_view("a", []) == ("a", [""])


@requires_java
def test_line_protocol_edge_cases_equal_the_jar(jar):
    hyps = ["a man ||| rides", "||||", "  a  dog  ", "a dog\nruns", "", "x"]
    refs = [["a man rides ||| a horse"], ["|"], ["a dog"], ["a dog runs\r"], [""], []]
    corpus, per, lines = jar.score_with_stats(hyps, refs)
    assert_equal_jar(M.meteor_statistics(hyps, refs), lines, per, corpus)


def test_flags_what_is_not_reproduced():
    hyps = ["a dog", "ΟΔΟΣ dog", "a \u2c2f dog", "a \ud800 dog", "café dog"]
    stats = M.meteor_statistics(hyps, [["a dog"]] * len(hyps))
    assert stats.unreproduced.tolist() == [False, True, True, True, False]


@requires_java
def test_dot_runs_and_literal_dotmulti_equal_the_jar(jar):
    hyps = ["wait .. what ... no ....", "a." * 40, "DOTMULTI .. x", "u.s.a. and st. louis", "e.g. 3.5 .5 5."]
    refs = [["wait . what"], ["a a a"], ["dotmulti x"], ["usa and st louis"], ["eg 3.5"]]
    corpus, per, lines = jar.score_with_stats(hyps, refs)
    stats = M.meteor_statistics(hyps, refs)
    assert not stats.unreproduced.any()
    assert_equal_jar(stats, lines, per, corpus)


def test_long_captions_are_bounded():
    """A 100,000-character caption (the jar runs out of memory on one) and a 5,000-word one: exact
    statistics (the 5,000-word answer was read off the jar), in bounded time."""
    refs = ["a man riding a horse on a beach", "a person on a brown horse near the ocean"]
    long = " ".join(["the horse runs fast on the beach near a man"] * 2200)[:100_000]
    start = time.perf_counter()
    stats = M.meteor_statistics([long, " ".join(["a man riding a horse"] * 1000)], [refs, refs + [
        "a rider and his horse walking along the shore"]], workers=1)  # fmt: skip
    assert time.perf_counter() - start < 60
    assert stats.stats[0, 0] == len(long.split()) and stats.stats[0, 1] == 8
    # meteor-1.5.jar (Java 17): 5000.0 8.0 2000.0 4.0 3.0 3.0 3.0 3.0 ... segment score 0.00373904
    assert stats.stats[1, :8].tolist() == [5000, 8, 2000, 4, 3, 3, 3, 3]
    assert abs(M.meteor_scores(stats)[1] - 0.0037390362799509125) < 1e-12
    assert not stats.unreproduced.any()


@pytest.mark.slow
@requires_java
def test_five_thousand_words_equal_the_jar(jar):
    refs = [["a man riding a horse on a beach", "a person on a brown horse near the ocean"]]
    hyp = [" ".join(["a dog chasing a man on a horse"] * 700)]
    corpus, per, lines = jar.score_with_stats(hyp, refs)
    assert_equal_jar(M.meteor_statistics(hyp, refs), lines, per, corpus)


# --------------------------------------------------------------------- the stemmer and normaliser alone

_HARNESS = textwrap.dedent(
    """
    import java.io.*;
    public class Harness {
      public static void main(String[] a) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        PrintStream out = new PrintStream(new BufferedOutputStream(System.out), false, "UTF-8");
        org.tartarus.snowball.ext.englishStemmer s = new org.tartarus.snowball.ext.englishStemmer();
        String line;
        while ((line = in.readLine()) != null) {
          if (a[0].equals("stem")) { s.setCurrent(line); s.stem(); out.println(s.getCurrent()); }
          else out.println(edu.cmu.meteor.util.Normalizer.normalizeLine(line, 0, true).toLowerCase());
        }
        out.flush();
      }
    }
    """
)


def _harness(tmp_path: Path, mode: str, lines: list[str]) -> list[str]:
    from vlmeval.java import METEOR_JAR, pycocoevalcap_file

    src = tmp_path / "Harness.java"
    src.write_text(_HARNESS)
    jar = str(pycocoevalcap_file(METEOR_JAR))
    proc = subprocess.run(
        ["java", "-cp", jar, str(src), mode], input="\n".join(lines).encode() + b"\n", capture_output=True
    )
    assert proc.returncode == 0, proc.stderr.decode()[-500:]
    return proc.stdout.decode("utf-8").split("\n")[:-1]


@requires_java
def test_stemmer_equals_the_jars_on_wordnet_and_corpus_words(tmp_path):
    index = md.load_index()
    blob, off = index.vocab_blob.tobytes(), index.vocab_off
    words = {blob[off[k] : off[k + 1]].decode("utf-8") for k in range(len(off) - 1)}
    for c in load_cases():
        words.update(c["hyp_tok"].split())
        for r in c["refs_tok"]:
            words.update(r.split())
    words = sorted(w for w in words if "\n" not in w and "\r" not in w)
    jar_stems = _harness(tmp_path, "stem", words)
    assert [w for w, s in zip(words, jar_stems) if md.snowball_stem(w) != s] == []


@requires_java
def test_normaliser_equals_the_jars(tmp_path):
    cases = load_cases()
    lines = [c["prediction"] for c in cases] + [r for c in cases for r in c["references"]]
    lines += ["wait .. what ... no", "U.S.-based 1,000,000 people's 1990's", "‘quoted’ “double” – dash -- x",
              "Mr. Smith vs. No. 5 St. Louis", "rock'n'roll o'clock can't", "a.b.c. d . e.", "DOTMULTI .. x"]  # fmt: skip
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    expected = _harness(tmp_path, "norm", lines)
    ours, ok = M.normalize_many(lines, md.load_index().nonbreaking)
    assert [(line, e, o) for line, e, o, k in zip(lines, expected, ours, ok) if k and e != o] == []
    assert sum(ok) > len(lines) * 0.95


# -------------------------------------------------------------------------------------------- the index


def _fake_sources(folder: Path) -> md.Sources:
    """A jar and a paraphrase table of a few entries in the real formats."""
    jar = folder / "meteor-1.5.jar"
    with zipfile.ZipFile(jar, "w") as z:
        z.writestr("function/english.words", "a\nthe\non\n")
        z.writestr("nonbreaking/english.prefixes", "Mr\nNo #NUMERIC_ONLY#\n")
        z.writestr("synonym/english.synsets", "dog\n1 2\nhound\n2\nrun\n3\n")
        z.writestr("synonym/english.exceptions", "run\nran\n")
    para = folder / "paraphrase-en.gz"
    with gzip.open(para, "wt", encoding="utf-8") as f:
        f.write("0.5\nbig dog\nlarge hound\n0.2\non the\nupon the\n0.1\nbig dog\nhuge dog\n")
    return md.Sources(jar, para, md._sha256_cached(jar), md._sha256_cached(para))


_BUILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from vlmeval.metrics import meteor_data as md
    folder, log = Path(sys.argv[1]), Path(sys.argv[2])
    real = md.build_index
    def slow(src):
        with open(log, "a") as f:
            f.write("build\\n")
        time.sleep(1.0)
        return real(src)
    md.build_index = slow
    while not (folder / "go").exists():
        time.sleep(0.01)
    src = md.Sources(folder / "meteor-1.5.jar", folder / "paraphrase-en.gz", sys.argv[3], sys.argv[4])
    index = md.load_index(src)
    print(index.path, int(index.header["entries"]))
    """
)


def test_index_two_processes_building_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    src = _fake_sources(tmp_path)
    log = tmp_path / "log"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    cmd = [sys.executable, "-c", _BUILD, str(tmp_path), str(log), src.jar_sha256, src.paraphrase_sha256]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(2)]
    time.sleep(0.5)
    (tmp_path / "go").touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1].decode()[-800:] for o in outs]
    paths = {o[0].decode().split()[0] for o in outs}
    assert len(paths) == 1 and all(o[0].decode().split()[1] == "3" for o in outs)
    assert log.read_text().count("build") == 1  # the second process waited for the first one's file
    folder = Path(next(iter(paths))).parent
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []
    # the index answers what the table says
    index = md.load_index(src)
    assert index.header["jar_sha256"] == src.jar_sha256 and len(index.phr_key) == 5  # distinct phrases
    # another table is another index
    with gzip.open(src.paraphrase, "wt", encoding="utf-8") as f:
        f.write("0.5\nbig dog\nlarge hound\n")
    other = md.Sources(src.jar, src.paraphrase, src.jar_sha256, md._sha256_cached(src.paraphrase))
    assert md.index_path(other) != md.index_path(src)
    assert int(md.load_index(other).header["entries"]) == 1


def test_source_hashes_are_remembered(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    first = md._sha256_cached(f)
    record = json.loads((tmp_path / "vlmeval" / "meteor" / "sources.json").read_text())
    assert record[str(f)]["sha256"] == first
    f.write_bytes(b"abcd")  # size changes: hashed again
    assert md._sha256_cached(f) != first


def test_steady_state_load_is_fast():
    md.load_index()
    md._LOADED.clear()
    start = time.perf_counter()
    index = md.load_index()
    assert time.perf_counter() - start < 1.0
    assert int(index.header["entries"]) == 5_274_084


def test_a_pair_beyond_the_budget_is_flagged_and_bounded(monkeypatch):
    """Two long repetitive sentences: beyond WIDE_MATCHES matches the pair is scored on a reduced set of
    candidates and flagged (the jar itself would need one copy of both sentences per path)."""
    hyp = " ".join(["a man riding a horse"] * 60)
    ref = " ".join(["a horse with a man"] * 60)
    exact = M.meteor_statistics([hyp], [[ref]], workers=1)
    assert not exact.unreproduced.any()
    monkeypatch.setattr(M, "WIDE_MATCHES", 1000)
    reduced = M.meteor_statistics([hyp], [[ref]], workers=1)
    assert reduced.unreproduced.tolist() == [True]
    assert reduced.stats[0, :2].tolist() == [300, 300]


def test_a_damaged_index_is_built_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    src = _fake_sources(tmp_path)
    path = md.load_index(src).path
    md._LOADED.clear()
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # truncated
    assert int(md.load_index(src).header["entries"]) == 3
    md._LOADED.clear()
    assert md.load_index(src).path == path


def test_an_unwritable_cache_builds_in_memory(tmp_path, monkeypatch):
    src = _fake_sources(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the cache folder would be
    index = md.load_index(src)
    assert index.path is None and int(index.header["entries"]) == 3 and len(index.phr_key) == 5


@requires_java
def test_unreproduced_segments_can_take_the_jars_lines(jar):
    hyps, refs = ["ΟΔΟΣ σας dog", "a dog"], [["οδος σας dog"], ["a dog"]]
    stats = M.meteor_statistics(hyps, refs)
    flagged = np.flatnonzero(stats.unreproduced).tolist()
    assert flagged == [0]
    _, _, lines = jar.score_with_stats([hyps[k] for k in flagged], [refs[k] for k in flagged])
    merged = stats.with_jar_lines(flagged, lines)
    assert not merged.unreproduced.any() and merged.lines()[0] == lines[0]
    assert M.SIGNATURE["params"] == "0.85,0.2,0.6,0.75" and M.SIGNATURE["weights"] == "1,0.6,0.8,0.6"
