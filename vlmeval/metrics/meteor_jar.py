"""METEOR 1.5 as COCO reports it: the ``meteor-1.5.jar`` pycocoevalcap ships, with its English paraphrase
table, run as ``-l en -norm -stdio`` (Denkowski & Lavie 2014).

This is the Java metric, not nltk's ``meteor_score`` (a different metric with different numbers).
Per image, a ``SCORE ||| ref ||| ... ||| hyp`` line gives the segment statistics; the corpus score comes from
the jar's ``EVAL`` line over all statistics. It is *not* the mean of the segment scores.

Same protocol as pycocoevalcap's ``Meteor``, except that the statistics lines are streamed through the pipe
instead of one round trip per image (no number changes). As in pycocoevalcap, ``|||`` is removed from the hypothesis and double spaces collapsed once; additionally
``\\n``/``\\r`` become spaces in every text, since they would break the line protocol.

Scale 0-1. Reference: pycocoevalcap 1.2 ``Meteor()``; equal per image and corpus to 1e-6.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence

import numpy as np

from vlmeval.errors import VlmevalError
from vlmeval.java import JVM_LOCALE, METEOR_JAR, last_line, pycocoevalcap_file, require_java

LANGUAGE = "en"  # -l en: English matchers, parameters and paraphrase table
NORMALIZE = True  # -norm: the jar tokenizes and lower-cases again

_EOL = str.maketrans({"\n": " ", "\r": " "})


def _score_line(hyp: str, refs: Sequence[str]) -> str:
    hyp = hyp.translate(_EOL).replace("|||", "").replace("  ", " ")
    return " ||| ".join(("SCORE", " ||| ".join(r.translate(_EOL) for r in refs), hyp))


class MeteorJar:
    """One METEOR JVM. Loading the paraphrase table takes ~6 s, so the caption task starts it first and
    lets it load while the other metrics run."""

    def __init__(self) -> None:
        java = require_java("METEOR")
        jar = str(pycocoevalcap_file(METEOR_JAR))
        # a second JVM per core was measured slower on 2 cores: each one parses the paraphrase table again
        cmd = [java, "-Xmx2G", "-XX:+UseSerialGC", "-Dfile.encoding=UTF-8", *JVM_LOCALE, "-jar", jar]
        self._stderr = tempfile.TemporaryFile()  # the jar's own account, should it fail
        self.proc = subprocess.Popen(
            [*cmd, "-", "-", "-stdio", "-l", LANGUAGE, *(["-norm"] if NORMALIZE else [])],
            cwd=os.path.dirname(jar),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )

    def _failure(self) -> str:
        """The jar's last stderr line (an OutOfMemoryError, an exception), once it has stopped."""
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._stderr.seek(0)
        return last_line(self._stderr.read())

    def __enter__(self) -> MeteorJar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _feed(self, lines: list[str], errors: list[BaseException]) -> None:
        try:
            assert self.proc.stdin is not None
            for line in lines:
                self.proc.stdin.write(line.encode("utf-8") + b"\n")
            self.proc.stdin.flush()
        except BaseException as exc:  # reported by the reading side
            errors.append(exc)

    def _ask(self, lines: list[str], answers: int, advance: Callable[[int], None] | None = None) -> list[str]:
        """Send lines and read ``answers`` lines back; a thread writes so that neither pipe can fill up."""
        errors: list[BaseException] = []
        writer = threading.Thread(target=self._feed, args=(lines, errors), daemon=True)
        writer.start()
        out = []
        assert self.proc.stdout is not None
        for _ in range(answers):
            raw = self.proc.stdout.readline()
            if not raw:
                raise VlmevalError(f"the METEOR jar stopped answering: {self._failure()}")
            out.append(raw.decode("utf-8").strip())
            if advance is not None:
                advance(1)
        writer.join()
        if errors:
            raise VlmevalError(f"could not talk to the METEOR jar: {errors[0]}")
        return out

    def score(
        self, hyps: Sequence[str], refs: Sequence[Sequence[str]], advance: Callable[[int], None] | None = None
    ) -> tuple[float, np.ndarray]:
        """Corpus METEOR (the jar's EVAL line) and per-image scores, for tokenized captions."""
        corpus, per_image, self.last_stats = self.score_with_stats(hyps, refs, advance)
        return corpus, per_image

    def score_with_stats(
        self, hyps: Sequence[str], refs: Sequence[Sequence[str]], advance: Callable[[int], None] | None = None
    ) -> tuple[float, np.ndarray, list[str]]:
        """Also the per-image statistics lines, from which the jar's EVAL recomputes any corpus score."""
        if len(hyps) != len(refs):
            raise ValueError("one list of references per hypothesis")
        if not hyps:
            return 0.0, np.zeros(0), []
        stats = self._ask([_score_line(h, rs) for h, rs in zip(hyps, refs)], len(hyps), advance)
        corpus, per_image = self.evaluate(stats)
        return corpus, per_image, stats

    def evaluate(self, stats: Sequence[str]) -> tuple[float, np.ndarray]:
        """The jar's EVAL over statistics lines: (corpus score, segment scores)."""
        answer = self._ask(["EVAL ||| " + " ||| ".join(stats)], len(stats) + 1)
        try:
            return float(answer[-1]), np.array([float(x) for x in answer[:-1]], dtype=np.float64)
        except ValueError:
            raise VlmevalError(
                f"unexpected output from the METEOR jar: {answer[-1][:80]!r} ({self._failure()})"
            ) from None

    def close(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        self._stderr.close()


def meteor(
    hyps: Sequence[str], refs: Sequence[Sequence[str]], advance: Callable[[int], None] | None = None
) -> tuple[float, np.ndarray]:
    with MeteorJar() as jar:
        return jar.score(hyps, refs, advance)
