"""Errors the user can act on. The CLI prints them as one sentence and exits 2; nothing else is caught."""

from __future__ import annotations


class VlmevalError(Exception):
    """Bad usage or bad input: reported as one clear sentence, exit code 2, no traceback."""


class InputError(VlmevalError):
    """Something wrong in an input file, located as ``FILE:LINE: what is wrong``."""

    def __init__(self, message: str, path: object | None = None, line: int | None = None):
        self.path, self.line, self.detail = path, line, message
        where = (
            f"{path}:{line}: "
            if path is not None and line is not None
            else (f"{path}: " if path is not None else "")
        )
        super().__init__(f"{where}{message}")


class MissingDependency(VlmevalError):
    """A metric needs something that is not installed (an extra, Java, a model)."""


def counted(n: int, singular: str, plural: str = "", verb: tuple[str, str] = ("", "")) -> str:
    """``"1 query"``, ``"3 queries"``: a count in a message, its noun (and a ``verb``: ("has", "have"))
    agreeing."""
    noun, said = (singular, verb[0]) if n == 1 else (plural or singular + "s", verb[1])
    return f"{n} {noun} {said}" if said else f"{n} {noun}"
