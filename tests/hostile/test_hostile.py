"""Every hostile case (tests/hostile/cases_*.py and the generic families over tasks.SPECS), held to the
contract by harness.assert_case. The cases that fail today (xfails.FAILING, grouped by class) run as
xfail(strict=True) with their class as the reason: a fix that makes one pass turns it red until its name is
deleted from FAILING."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from tests.hostile import (
    cases_caption,
    cases_grounding,
    cases_other,
    cases_qa,
    cases_reports,
    cases_retrieval,
    cases_shard,
)
from tests.hostile.families import generic_cases
from tests.hostile.harness import IS_ROOT, Case, run_case
from tests.hostile.tasks import SPECS
from tests.hostile.xfails import FAILING, XFAIL

CASES: list[Case] = [
    *generic_cases(SPECS),
    *cases_caption.CASES,
    *cases_qa.CASES,
    *cases_grounding.CASES,
    *cases_retrieval.CASES,
    *cases_reports.CASES,
    *cases_other.CASES,
    *cases_shard.CASES,
]

_names = Counter(c.name for c in CASES)
assert not [n for n, k in _names.items() if k > 1], [n for n, k in _names.items() if k > 1]
assert all(c.tag is None or c.tag in XFAIL for c in CASES), {c.tag for c in CASES} - set(XFAIL)
FAILING_CLASS = {name: cls for cls, names in FAILING.items() for name in names}
assert set(FAILING) <= set(XFAIL), set(FAILING) - set(XFAIL)
assert set(FAILING_CLASS) <= set(_names), f"FAILING names no case: {sorted(set(FAILING_CLASS) - set(_names))}"


def _param(case: Case):
    cls = FAILING_CLASS.get(case.name)
    marks = [pytest.mark.xfail(strict=True, reason=f"[{cls}] {XFAIL[cls]}")] if cls else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.fixture
def workdir(tmp_path, request):
    case = request.node.callspec.params["case"]
    if case.via == "nobody" and IS_ROOT:
        # user nobody cannot enter root's pytest folders (0700): a world-searchable folder of its own
        folder = Path(tempfile.mkdtemp(prefix="vlmeval-hostile-"))
        folder.chmod(0o777)
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case: Case, workdir: Path):
    if case.via == "pty" and not hasattr(__import__("os"), "openpty"):
        pytest.skip("no pseudo-terminals here")
    if case.via == "nobody" and IS_ROOT and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): no way to drop to user nobody")
    run_case(case, workdir)
