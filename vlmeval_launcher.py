"""The ``vlmeval`` command's entry point. It lives outside the package on purpose: VLMEvalKit installs an
import package that is also called ``vlmeval`` (its setup.py has ``name='vlmeval'``), so in an environment
with both, ``import vlmeval`` may run VLMEvalKit's ``__init__`` or find a folder holding both packages'
files. This checks, before importing anything of it, that the importable ``vlmeval`` is this project's,
and says so in one sentence when it is not."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

OURS = ("cli.py", "run.py", "tasks")  # files only this project's package has
FOREIGN = ("smp", "dataset", "vlm", "api")  # VLMEvalKit's subpackages
ADVICE = (
    "VLMEvalKit installs an import package of the same name, so the two cannot share an environment: "
    "install vlmeval in a virtual environment of its own (python -m venv .venv && .venv/bin/pip install vlmeval)"
)


def problem() -> str | None:
    """What is wrong with the importable ``vlmeval``, or None."""
    spec = importlib.util.find_spec("vlmeval")
    if spec is None or not spec.submodule_search_locations:
        return f"no package named 'vlmeval' can be imported here ({sys.executable})"
    folders = [Path(p) for p in spec.submodule_search_locations]
    if not any(all((folder / name).exists() for name in OURS) for folder in folders):
        return f"the package imported as 'vlmeval' ({folders[0]}) is not this vlmeval; {ADVICE}"
    foreign = [str(folder / name) for folder in folders for name in FOREIGN if (folder / name).is_dir()]
    if foreign:
        return f"the 'vlmeval' package at {folders[0]} also holds VLMEvalKit's modules ({', '.join(foreign)}); {ADVICE}"
    return None


def main() -> None:
    import gc

    # a run builds millions of small objects and keeps them: collecting every 700 allocations (the default)
    # costs about 5% of a run and frees nothing
    gc.set_threshold(100_000, 50, 50)
    found = problem()
    if found is not None:
        sys.stderr.write(f"error: {found}\n")
        raise SystemExit(2)
    from vlmeval.cli import main as run

    try:
        run()
    except SystemExit as exc:
        leave(exc.code)
    leave(0)


def leave(code) -> None:
    """Exit with ``code`` without tearing the heap down: freeing a run's millions of objects one by one takes
    0.05-0.1 s and writes nothing. Output is flushed and the exit handlers run first (temporary files, W&B,
    Ray). Only where ``main()`` is the program itself (the ``vlmeval`` script, ``python -m vlmeval``) and
    nothing else runs: called from other code (a wrapper, a test harness, ``python -m cProfile``, coverage,
    a debugger: they go on, or write their results, after it returns), with another thread alive, or where
    flushing fails, it raises ``SystemExit(code)`` as before and Python's own exit does it all."""
    import atexit
    import os
    import threading

    plain = code is None or isinstance(code, int)
    if not plain or threading.active_count() > 1 or not _outermost(sys._getframe(1)):
        raise SystemExit(code)
    if sys.getprofile() is not None or sys.gettrace() is not None:
        raise SystemExit(code)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a closed or full stdout: Python's exit says it as before
        raise SystemExit(code) from None
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()  # what an exit handler printed
        except (OSError, ValueError):
            pass
    os._exit(code or 0)


def _outermost(frame) -> bool:
    """Whether ``frame`` (``main()``'s) was called by the program itself and nothing else: below it only
    ``vlmeval/__main__.py`` started by runpy (``python -m vlmeval``), or the console script as the script
    Python was started with."""
    import os

    frame = frame.f_back
    while frame is not None:
        spec = frame.f_globals.get("__spec__")
        name = frame.f_globals.get("__name__")
        if name == "runpy" or getattr(spec, "name", None) == "vlmeval.__main__":
            frame = frame.f_back
            continue
        script = frame.f_back is None and name == "__main__" and spec is None and bool(sys.argv[0])
        return script and os.path.realpath(frame.f_code.co_filename) == os.path.realpath(sys.argv[0])
    return True


if __name__ == "__main__":
    main()
