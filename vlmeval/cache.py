"""What vlmeval keeps between runs, in ``$XDG_CACHE_HOME/vlmeval`` (default ``~/.cache/vlmeval``): METEOR's
index (``vlmeval.metrics.meteor_data``), the prepared references of recent runs
(``vlmeval.scoring.reference_cache``) and the Java-free tokenizer's compiled scanner (here). Nothing in it
is data of a run; deleting the folder costs the next run the time to rebuild it.

Every file is written atomically (a temporary file beside it, then renamed), so a reader, or another process
building the same file at once, never sees half of one.

The scanner: ``regex`` parses and compiles a pattern in Python, and the tokenizer's 81 rules as one
POSIX alternation take it 0.1-0.2 s on every start. ``compiled_regex`` keeps the compiled pattern as
``regex`` pickles it (its C engine's compile and the program, no Python parsing) in a file named by the
sha256 of the pattern, its flags, the default version, and the ``regex``, opcode set and Python versions;
later runs unpickle it in about a millisecond. A file that does not check out (its checksum, its pattern,
not a regular file) or an unwritable folder only means compiling as usual."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, empty or relative: the XDG spec says to ignore it
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vlmeval"


def write_atomic(path: Path, write: Callable[[Any], object], sync: bool = True) -> None:
    """``write(handle)`` into a temporary file beside ``path``, synced, then renamed over it: a reader (or
    another process building the same file) never sees half of it. ``sync=False``: not synced first (a
    crash may then leave a damaged file, which a file with its own checksum can afford)."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_cached(path: Path, limit: int) -> bytes | None:
    """The bytes of a cache file, or None: no file, not a regular file, or over ``limit`` bytes."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO put there does not block
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        data = f.read(limit + 1)
    return data if len(data) <= limit else None


_LIMIT = 64 << 20  # bytes: no compiled pattern of ours is near it (the scanner's is about 60 KiB)


def compiled_regex(pattern: str, flags: int):
    """``regex.compile(pattern, flags)``; after the first run, from the cache (see above)."""
    import regex

    path = cache_root() / "regex" / f"{_regex_key(regex, pattern, flags)}.pickle"
    with contextlib.suppress(Exception):  # noqa: BLE001 - anything amiss with the file: compile as usual
        cached = _read_pattern(path)
        if cached is not None and cached.pattern == pattern:
            return cached
    compiled = regex.compile(pattern, flags)
    with contextlib.suppress(Exception):  # noqa: BLE001 - an unwritable cache: compiled again next time
        import pickle

        payload = pickle.dumps(compiled, protocol=4)  # regex's own pickling: its engine and the program
        write_atomic(path, lambda f: f.write(hashlib.sha256(payload).digest() + payload))
    return compiled


def _regex_key(regex, pattern: str, flags: int) -> str:
    """What the program depends on: the pattern, its flags, the process's default version (V0/V1), and the
    engine's version, opcode set and Python's."""
    engine = sys.modules.get("regex._regex")
    parts = [getattr(regex, "__version__", "?"), str(getattr(engine, "MAGIC", "?")),
             str(getattr(engine, "CODE_SIZE", "?")), str(int(getattr(regex, "DEFAULT_VERSION", 0))), sys.version,
             str(int(flags)), pattern]  # fmt: skip
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _read_pattern(path: Path):
    """The cached pattern, or None: no file, not a regular file, too large, or a checksum that does not
    match. Unpickling may call nothing but the ``regex`` engine's compile."""
    import pickle

    data = read_cached(path, _LIMIT)
    if data is None:
        return None
    digest, payload = data[:32], data[32:]
    if hashlib.sha256(payload).digest() != digest:
        return None

    class _EngineOnly(pickle.Unpickler):
        def find_class(self, module: str, name: str):
            if (module, name) == ("regex._regex", "compile"):
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"{module}.{name} is not the regex engine")

    import io

    return _EngineOnly(io.BytesIO(payload)).load()
