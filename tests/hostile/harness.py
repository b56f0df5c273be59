"""The hostile-input harness: a case is data, and every case is held to the whole contract.

A ``Case`` names the argv, the files to create in a fresh working directory, the environment, the exit code
the contract gives, a regex the stderr must match and what must become of the report. ``run_case`` builds
the files, runs vlmeval and asserts, for every case:

- the exit code (README "Exit codes and streams");
- no traceback and no "internal error" anywhere in the output;
- exit 2: exactly one line on stderr, matching ``err``;
- the report's state: ``written`` (a vlmeval JSON report), ``absent``, or ``unchanged`` (it existed before);
- every file that existed before the run is byte-for-byte unchanged (sha256; symlinks by target; FIFOs and
  folders by kind), and no file appeared except the declared outputs (so a rejected run left no
  half-written file and no temporary).

How a case runs (``via``): ``cli`` in-process through typer's CliRunner (fast, the default); ``process`` a
real ``python -m vlmeval``; ``closed`` a real process whose stdout is a pipe already closed by its reader
(``| head`` that has exited); ``pty`` a real process on a pseudo-terminal (what a user's terminal receives);
``head`` a real process whose stdout reader takes 100 bytes and leaves; ``nobody`` a real process run as user
nobody, for permission cases when the suite runs as root (in-process when it does not).

Adding a case: append a ``Case`` to the table of its command (``cases_<command>.py``); a new command gets a
``TaskSpec`` in ``tasks.py`` and so inherits every generic family (file system, encodings, formats, field
types, output paths, option values, model text) from ``families.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import select
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
PYTHON = sys.executable
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# --------------------------------------------------------------------------------------------------------
# File specifications: what a case puts in its working directory (created in insertion order).


@dataclass(frozen=True)
class Fixture:
    """A copy of a bundled fixture (relative to fixtures/)."""

    path: str


@dataclass(frozen=True)
class Lazy:
    """Content computed on first use (cached): bytes or str from ``make()``."""

    make: Callable[[], bytes | str]


@dataclass(frozen=True)
class Fifo:
    """A named pipe nobody writes to: a reader that opens it blocks forever."""


@dataclass(frozen=True)
class Folder:
    """An empty directory."""

    mode: int | None = None


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class HardLink:
    target: str


@dataclass(frozen=True)
class Mode:
    """A file with the given permission bits (e.g. 0o000: unreadable to everyone but root)."""

    content: bytes | str
    mode: int


Spec = bytes | str | Fixture | Lazy | Fifo | Folder | Symlink | HardLink | Mode


def _content(spec: bytes | str | Lazy) -> bytes:
    if isinstance(spec, Lazy):
        spec = _evaluate(spec)
    return spec.encode("utf-8") if isinstance(spec, str) else spec


_LAZY: dict[int, bytes] = {}


def _evaluate(spec: Lazy) -> bytes:
    key = id(spec.make)
    if key not in _LAZY:
        value = spec.make()
        _LAZY[key] = value.encode("utf-8") if isinstance(value, str) else value
    return _LAZY[key]


def build(directory: Path, files: Mapping[str, Spec]) -> None:
    for name, spec in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, Fixture):
            shutil.copyfile(FIXTURES / spec.path, path)
        elif isinstance(spec, Fifo):
            os.mkfifo(path)
        elif isinstance(spec, Folder):
            path.mkdir(exist_ok=True)
            if spec.mode is not None:
                path.chmod(spec.mode)
        elif isinstance(spec, Symlink):
            os.symlink(spec.target, path)
        elif isinstance(spec, HardLink):
            os.link(directory / spec.target, path)
        elif isinstance(spec, Mode):
            path.write_bytes(_content(spec.content))
            path.chmod(spec.mode)
        else:
            path.write_bytes(_content(spec))


def snapshot(directory: Path) -> dict[str, tuple]:
    """Every entry under ``directory``, not following links: kind and content hash (or link target)."""
    state: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(directory, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            rel = str(path.relative_to(directory))
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                state[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                state[rel] = ("dir", stat.S_IMODE(info.st_mode))
            elif stat.S_ISREG(info.st_mode):
                try:
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                except PermissionError:
                    digest = f"unreadable:{info.st_size}:{info.st_mtime_ns}"
                state[rel] = ("file", digest, info.st_ino)
            else:
                state[rel] = ("special", stat.S_IFMT(info.st_mode))
    return state


# --------------------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    files: Mapping[str, Spec] = field(default_factory=dict)
    code: int | tuple[int, ...] = 2
    err: str | None = None  # regex searched in stderr
    out: str | None = "r.json"  # the report whose state is checked
    # "written" | "absent" | "unchanged" | "unchecked" (declare it in outputs); None: from the exit code
    report: str | None = None
    outputs: tuple[str, ...] = ()  # more paths the command may create when it succeeds
    env: Mapping[str, str] = field(default_factory=dict)
    stdout: str | None = None  # regex searched in stdout
    stdout_not: str | None = None  # regex that must not occur in stdout
    via: str = "cli"  # "cli" | "process" | "closed" | "head" | "pty" | "nobody"
    # the issue class the case probes where the fix lies outside the input layer (a key of xfails.XFAIL);
    # whether it fails today is xfails.FAILING's business, not the case's
    tag: str | None = None
    check: Callable[[Path, Outcome], None] | None = None  # more assertions after the run
    timeout: float = 60.0
    slow_ok: bool = False  # allowed more than a second in-process (kept few: the suite has a budget)


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    crashed: str | None = None  # an exception that escaped in-process: a traceback a user would see


@cache
def _app():
    from vlmeval.cli import app

    return app


def _run_in_process(case: Case, cwd: Path) -> Outcome:
    from typer.testing import CliRunner

    env = {"COLUMNS": "200", "VLMEVAL_DEBUG": None, **case.env}
    runner = CliRunner()
    old = os.getcwd()
    os.chdir(cwd)
    start = time.perf_counter()
    try:
        result = runner.invoke(_app(), list(case.argv), env=env, catch_exceptions=True)
    finally:
        os.chdir(old)
    seconds = time.perf_counter() - start
    crashed = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        crashed = "".join(traceback.format_exception(result.exception))
    return Outcome(result.exit_code, result.stdout, result.stderr, seconds, crashed)


def _process_env(case: Case) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VLMEVAL_", "PYTEST_", "WANDB_"))}
    env.update({"COLUMNS": "200", "PYTHONPATH": str(ROOT)})
    for key, value in case.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _run_process(case: Case, cwd: Path) -> Outcome:
    argv = [PYTHON, "-m", "vlmeval", *case.argv]
    env = _process_env(case)
    start = time.perf_counter()
    if case.via == "nobody":
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    if case.via in ("process", "nobody"):
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=case.timeout)
        out, err, code = done.stdout, done.stderr, done.returncode
    elif case.via == "closed":
        # the reader of the pipe is gone before vlmeval writes: what `| head` leaves once head has exited
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            done = subprocess.run(
                argv, cwd=cwd, env=env, stdout=write_end, stderr=subprocess.PIPE, timeout=case.timeout
            )
        finally:
            os.close(write_end)
        out, err, code = b"", done.stderr, done.returncode
    elif case.via == "head":
        # `| head -c 100`: the reader takes a little, then goes away while vlmeval is still writing
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = proc.stdout.read(100)
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=case.timeout)
    elif case.via == "pty":
        out, err, code = _run_on_terminal(argv, cwd, env, case.timeout)
    else:
        raise ValueError(f"unknown via {case.via!r}")
    seconds = time.perf_counter() - start
    code = 128 - code if code < 0 else code  # killed by a signal: as a shell reports it (SIGPIPE: 141)
    if code > 128 and code - 128 == 13:
        code = 141
    return Outcome(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), seconds)


def _run_on_terminal(argv, cwd, env, timeout) -> tuple[bytes, bytes, int]:
    """stdout and stderr on one pseudo-terminal, as in a user's shell (Rich sees a terminal)."""
    env = {**env, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    master, slave = pty.openpty()
    try:
        os.set_inheritable(slave, True)
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave)
    finally:
        os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                proc.kill()
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    code = proc.wait(timeout=timeout)
    return b"".join(chunks), b"", code


def run(case: Case, cwd: Path) -> Outcome:
    from dataclasses import replace

    argv = tuple(a.replace("{cwd}", str(cwd)) for a in case.argv)
    case = replace(case, argv=argv)
    if case.via == "nobody" and not IS_ROOT:
        case = replace(case, via="cli")  # an unprivileged user already meets the permission bits
    return _run_in_process(case, cwd) if case.via == "cli" else _run_process(case, cwd)


# --------------------------------------------------------------------------------------------------------
# Checks


def one_line(text: str) -> bool:
    return len([line for line in text.strip().splitlines() if line.strip()]) == 1


def _expected_state(case: Case, code: int) -> str:
    if case.report is not None:
        return case.report
    if case.out is None:
        return "none"
    if code in (0, 1):
        return "written"
    return "unchanged" if case.out in case.files else "absent"


def assert_case(case: Case, cwd: Path, before: dict, after: dict, outcome: Outcome) -> None:
    everything = outcome.stdout + outcome.stderr
    where = (
        f"\n--- argv: {' '.join(case.argv)}\n--- exit {outcome.code}\n--- stderr:\n{outcome.stderr[-3000:]}"
    )
    where += f"\n--- stdout:\n{outcome.stdout[-1500:]}"
    assert outcome.crashed is None, f"an exception escaped:\n{outcome.crashed}{where}"
    assert "Traceback (most recent call last)" not in everything, f"a traceback{where}"
    assert "internal error" not in outcome.stderr, f"an internal error (exit 3 class){where}"
    codes = (case.code,) if isinstance(case.code, int) else case.code
    assert outcome.code in codes, f"exit {outcome.code}, the contract says {case.code}{where}"
    if outcome.code == 2 and case.via != "pty":
        assert one_line(outcome.stderr), f"exit 2 must say one line on stderr{where}"
    if case.err is not None:
        # on a terminal both streams share it, styled: match the text without its SGR codes
        text = re.sub(r"\x1b\[[0-9;]*m", "", everything) if case.via == "pty" else outcome.stderr
        assert re.search(case.err, text), f"stderr does not match {case.err!r}{where}"
    if case.stdout is not None:
        assert re.search(case.stdout, outcome.stdout), f"stdout does not match {case.stdout!r}{where}"
    if case.stdout_not is not None:
        found = re.search(case.stdout_not, outcome.stdout)
        assert not found, f"stdout has {found.group(0)!r} (must not match {case.stdout_not!r}){where}"

    state = _expected_state(case, outcome.code)
    declared = set(case.outputs)
    if state == "written":
        declared.add(case.out)
        path = cwd / case.out
        assert path.is_file() and not path.is_symlink(), f"no report at {case.out}{where}"
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            assert isinstance(data, dict) and str(data.get("schema", "")).startswith("vlmeval."), where
    elif state == "absent":
        assert not os.path.lexists(cwd / case.out), f"{case.out} was written on exit {outcome.code}{where}"
    elif state == "unchanged":
        assert case.out in before and after.get(case.out) == before[case.out], f"{case.out} changed{where}"

    written_ok = outcome.code in (0, 1)

    def allowed(name: str) -> bool:  # an output ending in "/" allows everything under it (wandb/)
        return written_ok and any(
            name == d or (d.endswith("/") and (name + "/").startswith(d)) for d in declared
        )

    for name, entry in before.items():
        if allowed(name):
            continue
        assert after.get(name) == entry, f"input {name} was modified ({entry} -> {after.get(name)}){where}"
    appeared = {name for name in set(after) - set(before) if not allowed(name)}
    assert not appeared, f"files appeared that no one asked for: {sorted(appeared)}{where}"
    if case.check is not None:
        case.check(cwd, outcome)


IN_PROCESS_LIMIT = 8.0  # seconds; a case that waits this long in-process is hanging (on a FIFO, say)


def run_case(case: Case, cwd: Path) -> Outcome:
    import threading

    build(cwd, case.files)
    before = snapshot(cwd)
    done = threading.Event()

    def watchdog():  # free a reader blocked on one of the case's FIFOs, so that a hang fails, not stalls
        if not done.wait(3.0):
            while not done.wait(0.2):
                _unblock_fifos(cwd)

    guard = threading.Thread(target=watchdog, daemon=True)
    guard.start()
    try:
        outcome = run(case, cwd)
    finally:
        done.set()
        guard.join()
    after = snapshot(cwd)
    assert_case(case, cwd, before, after, outcome)
    if case.via == "cli" and not case.slow_ok:
        assert outcome.seconds < IN_PROCESS_LIMIT, f"took {outcome.seconds:.1f} s: a hang?"
    return outcome


def _unblock_fifos(cwd: Path) -> None:
    """A reader stuck on one of the case's FIFOs (a hang under test) would block the suite: open each FIFO
    for writing without blocking, which releases such a reader with end of file."""
    for folder, _, files in os.walk(cwd):
        for name in files:
            path = os.path.join(folder, name)
            if stat.S_ISFIFO(os.lstat(path).st_mode):
                try:
                    os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass


def load_json(cwd: Path, name: str = "r.json") -> Any:
    return json.loads((cwd / name).read_text(encoding="utf-8"))
