"""What vlmeval keeps between runs, in ``$XDG_CACHE_HOME/vlmeval`` (default ``~/.cache/vlmeval``): METEOR's
index (``vlmeval.metrics.meteor_data``) and the Java-free tokenizer's compiled scanner (here). Nothing in it
is data of a run; deleting the folder costs the next run the time to rebuild it.

Every file is written atomically (a temporary file beside it, then renamed), so a reader, or another process
building the same file at once, never sees half of one.

The scanner: ``regex`` parses and compiles a pattern in Python, and the tokenizer's 81 rules as one
POSIX alternation take it 0.15-0.2 s on every start. ``compiled_regex`` keeps what that compilation hands
``regex``'s C engine (the program: lists of ints, the group names) in a file named by the sha256 of the
pattern, its flags, and the ``regex`` and Python versions, and later runs give the engine that program
directly: the same pattern object, in about a millisecond. Where anything about that differs (another
``regex`` that passes its engine something else, a file that does not check out), it compiles as usual."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vlmeval"


def write_atomic(path: Path, write: Callable[[Any], object]) -> None:
    """``write(handle)`` into a temporary file beside ``path``, synced, then renamed over it: a reader (or
    another process building the same file) never sees half of it."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# the arguments ``regex`` passes ``_regex.compile`` after the pattern (regex 2023.x-2026.x): flags, code,
# group_index, index_group, named_lists, named_list_indexes, req_offset, req_chars, req_flags, group_count
_ENGINE_ARGS = 11


def compiled_regex(pattern: str, flags: int):
    """``regex.compile(pattern, flags)``; after the first run, from the cached program (see above)."""
    import regex

    path = cache_root() / "regex" / f"{_regex_key(regex, pattern, flags)}.bin"
    main = sys.modules.get(getattr(regex.compile, "__module__", ""))  # regex._main (regex.regex before 2024)
    engine = getattr(main, "_regex", None)
    if engine is None:
        return regex.compile(pattern, flags)
    try:
        args = _read_program(path)
        if args is not None:
            return engine.compile(pattern, *args)
    except Exception:  # noqa: BLE001 - a program this engine does not take: compile it as usual
        pass
    captured: list[tuple] = []

    class _Recorder:
        """The engine, recording what ``regex`` compiles into it."""

        def __getattr__(self, name: str):
            return getattr(engine, name)

        @staticmethod
        def compile(*args):
            captured.append(args)
            return engine.compile(*args)

    main._regex = _Recorder()
    try:
        compiled = regex.compile(pattern, flags, cache_pattern=False)  # compiled now, not from regex's memory
    finally:
        main._regex = engine
    if len(captured) == 1 and len(captured[0]) == _ENGINE_ARGS and captured[0][0] == pattern:
        with contextlib.suppress(OSError, ValueError, TypeError):
            _write_program(path, captured[0][1:])
    return compiled


def _regex_key(regex, pattern: str, flags: int) -> str:
    text = "\0".join([getattr(regex, "__version__", "?"), sys.version, str(flags), pattern])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _write_program(path: Path, args: tuple) -> None:
    import marshal

    payload = marshal.dumps((int(args[0]), *args[1:]))  # the flags are an IntFlag: kept as their int
    write_atomic(path, lambda f: f.write(hashlib.sha256(payload).digest() + payload))


def _read_program(path: Path) -> tuple | None:
    """The cached engine arguments, or None (no file, or one whose checksum does not match)."""
    import marshal

    try:
        data = path.read_bytes()
    except OSError:
        return None
    digest, payload = data[:32], data[32:]
    if hashlib.sha256(payload).digest() != digest:
        return None
    args = marshal.loads(payload)
    return args if isinstance(args, tuple) and len(args) == _ENGINE_ARGS - 1 else None
