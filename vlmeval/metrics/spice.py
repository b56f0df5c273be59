"""SPICE 1.0 (Anderson et al. 2016) as pycocoevalcap 1.2 runs it: ``spice-1.0.jar -subset -silent`` on the
PTB-tokenized captions; the score is the mean over images of the per-image ``All`` F-score.

The jar needs Stanford CoreNLP 3.6.0 (``stanford-corenlp-3.6.0.jar`` and ``-models.jar``), which no package
registry carries: pycocoevalcap downloads them from nlp.stanford.edu on first use. vlmeval never downloads;
it looks in ``$VLMEVAL_CORENLP_DIR`` and in pycocoevalcap's ``spice/lib`` (where pycocoevalcap's own
downloader puts them). SPICE's LMDB cache is not used (it only saves time) and nothing is written into
site-packages. Scale 0-1.

Verification status: the runner follows pycocoevalcap's ``Spice`` exactly, but the CoreNLP models were not
available where this was written, so its numbers have not been compared with pycocoevalcap's here.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vlmeval.errors import MissingDependency, VlmevalError
from vlmeval.java import JVM_LOCALE, find_java, last_line, pycocoevalcap_file, require_java

SUBSET = True  # -subset: the scores of the tuple categories too, as pycocoevalcap runs it
CORENLP_JARS = ("stanford-corenlp-3.6.0.jar", "stanford-corenlp-3.6.0-models.jar")
GET_MODELS = (
    "python -c 'from pycocoevalcap.spice.get_stanford_models import get_stanford_models; get_stanford_models()' "
    "on a machine with network access (or put both jars in a folder named by $VLMEVAL_CORENLP_DIR)"
)


def _corenlp_dir() -> Path | None:
    candidates = [os.environ.get("VLMEVAL_CORENLP_DIR")]
    try:
        candidates.append(str(pycocoevalcap_file("spice/spice-1.0.jar").parent / "lib"))
    except MissingDependency:
        pass
    for folder in filter(None, candidates):
        if all((Path(folder) / jar).is_file() for jar in CORENLP_JARS):
            return Path(folder)
    return None


def spice_available() -> bool:
    return find_java() is not None and _corenlp_dir() is not None


def spice(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> tuple[float, np.ndarray]:
    """Corpus SPICE and per-image scores (NaN where the jar gives none), for tokenized captions."""
    java = require_java("SPICE")
    corenlp = _corenlp_dir()
    if corenlp is None:
        raise MissingDependency(
            f"SPICE needs the Stanford CoreNLP 3.6.0 jars, which are not installed: run {GET_MODELS}."
        )
    jar = pycocoevalcap_file("spice/spice-1.0.jar")
    classpath = os.pathsep.join(
        [str(jar), str(jar.parent / "lib" / "*"), *(str(corenlp / j) for j in CORENLP_JARS)]
    )
    with tempfile.TemporaryDirectory(prefix="vlmeval-spice-") as tmp:
        in_file, out_file = Path(tmp) / "in.json", Path(tmp) / "out.json"
        data = [{"image_id": i, "test": h, "refs": list(rs)} for i, (h, rs) in enumerate(zip(hyps, refs))]
        in_file.write_text(json.dumps(data), encoding="utf-8")
        cmd = [java, "-Xmx8G", *JVM_LOCALE, "-cp", classpath, "edu.anu.spice.SpiceScorer", str(in_file)]
        proc = subprocess.run(
            [*cmd, "-out", str(out_file), *(["-subset"] if SUBSET else []), "-silent"], capture_output=True
        )
        if proc.returncode != 0 or not out_file.exists():
            raise VlmevalError(f"the SPICE jar failed (exit {proc.returncode}): {last_line(proc.stderr)}")
        results = json.loads(out_file.read_text(encoding="utf-8"))
    scores = np.full(len(hyps), np.nan)
    for item in results:
        try:
            scores[int(item["image_id"])] = float(item["scores"]["All"]["f"])
        except (TypeError, ValueError, KeyError):
            pass
    return float(np.mean(scores)), scores
