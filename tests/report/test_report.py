"""The report's environment: package versions as importlib.metadata gives them, without its import."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

import pytest

from vlmeval.report.report import package_version


@pytest.mark.parametrize("name", ["pycocoevalcap", "numpy", "rapidfuzz", "scipy", "openpyxl", "faster-coco-eval",
                                  "faster_coco_eval", "Typer", "regex", "vlmeval", "no-such-package-here"])  # fmt: skip
def test_package_versions_are_importlib_metadatas(name):
    try:
        expected = version(name)
    except PackageNotFoundError:
        expected = None
    assert package_version(name) == expected


def test_an_egg_info_folder_is_read_by_importlib_metadata(tmp_path, monkeypatch):
    egg = tmp_path / "oldstyle-3.1.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: oldstyle\nVersion: 3.1.4\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert package_version("oldstyle") == "3.1.4"  # PKG-INFO's, not the folder name's
