"""The consoles the CLI prints through: results to stdout, diagnostics to stderr.

User and model text goes out as data (``table.visible``: control characters escaped; ``Text``, never Rich
markup). A closed stdout (``| head``) ends the printing only: what follows (W&B, gates, the exit code) still
runs; Rich's own handling would exit 1, the gate-failed code.
"""

from __future__ import annotations

import os
import re
import sys

# C0 and C1 controls, DEL, and the bidi overrides that can reorder what a terminal shows; \n and \t stay
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def one_line(text: object) -> str:
    """``visible``, with line ends written out too: an error or a note is one line on stderr, whatever a file
    name or a value in it holds."""
    return visible(text).replace("\n", "\\n")


def visible(text: object) -> str:
    """Text with its control characters written out (``\\x1b``, ``\\u202e``), safe to show on a terminal."""
    value = str(text)
    if not _CONTROL.search(value):
        return value
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], value)




def stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout():
    """A console on stdout whose closed pipe raises BrokenPipeError, for ``printing`` to end quietly."""
    from rich.console import Console

    class _Stdout(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    return _Stdout(highlight=False)


def stdout_closed() -> bool:
    """Whether stdout was sent to /dev/null after its reader went away (by ``printing`` or by Rich)."""
    try:
        here, null = os.fstat(sys.stdout.fileno()), os.stat(os.devnull)
    except (OSError, ValueError):
        return True
    return (here.st_dev, here.st_ino) == (null.st_dev, null.st_ino)


class printing:
    """``with printing(): ...`` writes to stdout; a closed pipe ends the block, and stdout then goes to
    /dev/null so that nothing later fails on it."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if kind is not None and issubclass(kind, OSError):
            # what is still buffered goes nowhere, also at exit; a full disk is one sentence (exit 2), a
            # closed reader no error at all
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            if issubclass(kind, BrokenPipeError):
                return True
            from vlmeval.errors import VlmevalError

            raise VlmevalError(f"cannot write the results to stdout: {exc.strerror or exc}") from None
        return False


def print_json(data: object) -> None:
    """A result as indented JSON on stdout (NaN and infinity as null, as in the files)."""
    import json

    from vlmeval.report.report import _clean

    emit(json.dumps(_clean(data), ensure_ascii=False, indent=1) + "\n")


def show(parts: list, wide: bool = False) -> None:
    """Rich renderables on stdout, in order; ``Text`` items soft-wrap (a long line stays whole in a pipe).
    ``wide``: in a pipe or file, as wide as the widest table needs (whole rows beat 80-column folding)."""
    emit(render(parts, wide))


def render(parts: list, wide: bool = False) -> str:
    """What ``show`` writes to stdout, as text (drawn for stdout: its width, whether it is a terminal)."""
    import io

    from rich.console import Console
    from rich.measure import Measurement
    from rich.text import Text

    real = stdout()  # its width, whether it is a terminal, its colours (the environment's too)
    width = real.width
    if wide and not real.is_terminal:
        unbounded = real.options.update_width(10_000)
        width = max([width, *(Measurement.get(real, unbounded, p).maximum for p in parts)])
    drawn = io.StringIO()
    out = Console(file=drawn, width=width, force_terminal=real.is_terminal, color_system=real.color_system,
                  no_color=real.no_color, legacy_windows=real.legacy_windows, highlight=False)  # fmt: skip
    for part in parts:
        out.print(part, soft_wrap=isinstance(part, Text))
    return drawn.getvalue()


def emit(text: str) -> None:
    """Text on stdout (``render``'s, or JSON), through ``printing``."""
    with printing():
        sys.stdout.write(text)
        sys.stdout.flush()


def show_comparison(result, fmt: str, quiet: bool, names: tuple = (), html_path: object = None) -> bool:
    """A comparison (a pair, runs, a blind run): its warnings, its tables or JSON, where its page went, and
    the --max-drop gates that failed; whether they all passed."""
    from vlmeval.report.compare import failed_gates_note

    warn(result.warnings, quiet)
    if fmt == "json":
        print_json(result.to_dict())
    else:
        from vlmeval.report.table import comparison_parts

        show(comparison_parts(result, list(names)), wide=True)
    if html_path is not None and not quiet:
        note(f"HTML report written to {html_path}")
    failed = failed_gates_note(result.gates)
    if failed and not quiet:
        note(failed)
    return failed is None


def error(message: str) -> None:
    from rich.text import Text

    line = Text("error: ", style="red")
    line.append(one_line(message))
    stderr().print(line, soft_wrap=True)


def warn(messages: list[str], quiet: bool) -> None:
    if quiet or not messages:
        return
    from rich.text import Text

    console = stderr()
    for message in messages:
        line = Text("warning: ", style="yellow")
        line.append(visible(message))
        console.print(line, soft_wrap=True)


def note(message: str) -> None:
    """One plain line on stderr (where the report went, a W&B run, a failed gate)."""
    sys.stderr.write(one_line(message) + "\n")


class _Diagnostics:
    """stderr, where a closed or full stream loses the diagnostics, never the run: a write that fails sends
    the rest to /dev/null (Rich would exit 1, the gate-failed code, on a broken stderr pipe)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            self._drop()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            self._drop()

    def _drop(self) -> None:
        null = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        try:
            os.dup2(null.fileno(), 2)
        except OSError:
            pass
        self._stream = null

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def diagnostics_never_fail() -> None:
    """stderr as ``_Diagnostics``; a closed fd 2 (``2>&-``: sys.stderr is None) as /dev/null."""
    stream = sys.stderr
    if stream is None:
        stream = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if not isinstance(stream, _Diagnostics):
        sys.stderr = _Diagnostics(stream)


def utf8_or_escaped() -> None:
    """A terminal or pipe that cannot encode a character shows it escaped rather than failing on it."""
    for stream in (sys.stdout, sys.stderr):
        if (getattr(stream, "encoding", "") or "").lower().replace("-", "") != "utf8":
            try:
                stream.reconfigure(errors="backslashreplace")
            except (AttributeError, ValueError):
                pass
