"""Every JVM vlmeval starts runs in the US English locale: under a German locale the METEOR jar read its own
EVAL line with a decimal comma and failed (reported as a memory problem). The test generates nothing: it
needs the de_DE.UTF-8 locale (`make test` generates it where it can: Debian's locales package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import CAPTION_JSONL, requires_java
from vlmeval.java import last_line


def _has_locale(name: str) -> bool:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return False
    return name.lower().replace("-", "") in out.lower().replace("-", "")


@requires_java
@pytest.mark.skipif(not _has_locale("de_DE.utf8"), reason="the de_DE.UTF-8 locale is not generated (locale-gen)")
def test_jars_run_under_a_german_locale(tmp_path):
    reports = {}
    for name, env in (("C", {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}), ("de", {"LC_ALL": "de_DE.UTF-8", "LANG": "de_DE.UTF-8"})):
        out = tmp_path / f"{name}.json"
        args = [sys.executable, "-m", "vlmeval", "caption", str(CAPTION_JSONL), "--metrics", "METEOR,Bleu_4",
                "--tokenizer", "ptb-jar", "--bootstrap", "5", "--out", str(out), "--quiet"]  # fmt: skip
        proc = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **env}, timeout=600)
        assert proc.returncode == 0, proc.stderr
        reports[name] = json.loads(out.read_text())
    assert reports["de"]["metrics"] == reports["C"]["metrics"]
    assert reports["de"]["ci"] == reports["C"]["ci"]


def test_a_jar_failure_is_told_in_the_jars_words():
    trace = b"""Exception in thread "main" java.lang.OutOfMemoryError: Java heap space
\tat edu.cmu.meteor.aligner.Aligner.align(Unknown Source)
\tat Meteor.main(Unknown Source)
"""
    assert last_line(trace) == 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space'
    assert last_line(b"") == "no output on stderr"
