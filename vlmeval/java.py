"""Finding Java and the official jars that pycocoevalcap ships (we run them from its install; never copy them)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from vlmeval.errors import MissingDependency

INSTALL_JAVA = (
    "install Java 17 or newer (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless; "
    "macOS: brew install openjdk@17) or put it on PATH"
)


def find_java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def require_java(purpose: str) -> str:
    java = find_java()
    if java is None:
        raise MissingDependency(f"{purpose} needs Java, which was not found on PATH: {INSTALL_JAVA}.")
    return java


@functools.lru_cache(maxsize=4)
def java_version(java: str | None = None) -> str | None:
    java = java or find_java()
    if java is None:
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "([^"]+)"', out)
    return match.group(1) if match else out.strip().splitlines()[0] if out.strip() else None


def pycocoevalcap_file(relative: str) -> Path:
    """A file inside the installed pycocoevalcap package (its jars and data)."""
    import importlib.util

    spec = importlib.util.find_spec("pycocoevalcap")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency(
            "the official COCO jars come with pycocoevalcap, which is not installed: pip install pycocoevalcap==1.2"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise MissingDependency(
            f"pycocoevalcap is installed but {relative} is missing: reinstall pycocoevalcap==1.2"
        )
    return path


# Every JVM vlmeval starts runs in the US English locale: under LANG=de_DE the METEOR jar parses its own
# EVAL line with a decimal comma and fails.
JVM_LOCALE = ("-Duser.language=en", "-Duser.country=US")


def last_line(stderr: bytes) -> str:
    """The JVM's own account of a failure: the last line it wrote to stderr that is not a stack frame
    (``java.lang.OutOfMemoryError: Java heap space``, an exception and its message)."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    told = [line for line in lines if not line.startswith(("at ", "... "))]
    return (told or lines or ["no output on stderr"])[-1][:300]


PTB_JAR = "tokenizer/stanford-corenlp-3.4.1.jar"
METEOR_JAR = "meteor/meteor-1.5.jar"
