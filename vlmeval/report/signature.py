"""Signatures: every number says how it was made (sacrebleu style), so two numbers can be compared."""

from __future__ import annotations

from vlmeval import __version__


def signature(head: str, fields: dict[str, object]) -> str:
    """``HEAD|key:value|...|v:VERSION``; ``None`` values are left out."""
    parts = [head, *(f"{k}:{v}" for k, v in fields.items() if v is not None), f"v:{__version__}"]
    return "|".join(parts)


def nrefs(counts: list[int]) -> str:
    """Number of references per sample: one number, or ``var`` (min-max) when it varies."""
    if not counts:
        return "0"
    low, high = min(counts), max(counts)
    return str(low) if low == high else f"var{low}-{high}"


def number(value: float) -> str:
    """A constant as a signature writes it: ``6``, ``1.2``, ``1e-9`` (no exponent padding)."""
    import re

    return re.sub(r"e([-+])0*(\d)", r"e\1\2", f"{value:g}").replace("e+", "e")


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"
