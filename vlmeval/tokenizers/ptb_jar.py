"""The official COCO caption tokenization: Stanford CoreNLP 3.4.1 ``PTBTokenizer -preserveLines -lowerCase``
(the jar pycocoevalcap ships), then pycocoevalcap's 17-entry punctuation filter.

One JVM per call tokenizes every document (predictions and references, each as a file of its own, as
pycocoevalcap does), from a temporary directory of our own. Known pycocoevalcap bug fixed here: CoreNLP treats ``\\r``, ``\\x0b``, ``\\x0c``, U+2028 and
U+2029 as line ends under ``-preserveLines``, so a caption containing one is split in two and every later
caption lands on the wrong image. We turn those characters (and ``\\n``, as pycocoevalcap does) into spaces
first; the signature says so (``eol:space``).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from vlmeval.errors import VlmevalError
from vlmeval.java import PTB_JAR, pycocoevalcap_file, require_java

# pycocoevalcap/tokenizer/ptbtokenizer.py: tokens dropped after tokenizing (matched case-sensitively, after
# lower-casing, so "-lrb-" and friends survive as words)
PUNCTUATIONS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"]
)
LINE_BREAKS = str.maketrans({c: " " for c in "\n\r\x0b\x0c\u2028\u2029"})


def filter_punctuation(line: str) -> str:
    return " ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS)


def tokenize_ptb_jar(documents: Sequence[Sequence[str]]) -> list[list[str]]:
    """Each document (a list of captions) tokenized as one file, as pycocoevalcap tokenizes its references
    and its predictions: the scanner's look-ahead crosses line ends (``"... K."`` before a line starting
    ``"A "`` loses its period) and the last line of a file sees the end of input. One JVM does all
    documents (``-ioFileList``), each in a file of its own.

    Markup whose quoted attribute runs into later captions (``<a href='x`` / ``y'> a dog``) is one token
    for the jar, line ends included; the jar prints it as it is, so the output keeps one line per caption
    (``<a\\xa0href='x`` / ``y'> a dog``), as in pycocoevalcap. Output with any other number of lines than
    captions is refused.

    Returns, per document, one tokenized, lower-cased, punctuation-filtered string per caption.
    """
    documents = [list(doc) for doc in documents]
    if not any(documents):
        return [[] for _ in documents]
    java = require_java("The official PTB tokenizer (--tokenizer ptb-jar)")
    jar = pycocoevalcap_file(PTB_JAR)
    with tempfile.TemporaryDirectory(prefix="vlmeval-ptb-") as tmp:
        folder = Path(tmp)
        pairs = []
        for k, doc in enumerate(documents):
            src, dst = folder / f"in{k}.txt", folder / f"out{k}.txt"
            src.write_text("\n".join(t.translate(LINE_BREAKS) for t in doc), encoding="utf-8")
            pairs.append(f"{src} {dst}")
        listing = folder / "files.txt"
        listing.write_text("\n".join(pairs) + "\n", encoding="utf-8")
        cmd = [java, "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines", "-lowerCase"]
        proc = subprocess.run([*cmd, "-ioFileList", str(listing)], capture_output=True)
        if proc.returncode != 0:
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise VlmevalError(f"the PTB tokenizer jar failed (exit {proc.returncode}): {tail[0]}")
        results = []
        for k, doc in enumerate(documents):
            # split on "\n" only, as pycocoevalcap splits the jar's output (no universal newlines)
            lines = (folder / f"out{k}.txt").read_bytes().decode("utf-8").split("\n") if doc else []
            if len(lines) != len(doc):
                raise VlmevalError(
                    f"the PTB tokenizer returned {len(lines)} lines for {len(doc)} captions; refusing to misalign them"
                )
            results.append([filter_punctuation(line) for line in lines])
    return results
