"""Reports on the bundled fixtures equal the golden reports in tests/golden (written by the code before the
task layer was rebuilt): a refactor changes no number, no field and no order. A deliberate change rewrites
the golden file (``python -m tests.golden.make_golden CASE``) and is recorded in CHANGELOG.md."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.golden.cases import CASES, GOLDEN, JAVA, differences
from tests.golden.make_golden import run_case


@pytest.mark.parametrize("name", list(CASES))
def test_report_equals_golden(name, tmp_path):
    if name in JAVA and shutil.which("java") is None:
        pytest.skip("needs Java (METEOR through the jar)")
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    actual = run_case(name, tmp_path)
    # floats to 1e-12: the same code on another CPU may sum in another order; everything else exactly
    assert differences(expected, actual, rel=1e-12) == []
