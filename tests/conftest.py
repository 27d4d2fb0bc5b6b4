"""Shared fixtures: copies of the small fixture catalogue that a test may break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL = FIXTURES / "catalogues" / "minimal"
BAD_FILES = FIXTURES / "bad_files"
REPO = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _own_validation_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test remembers valid tables in a folder of its own, never in the user's cache."""
    monkeypatch.setenv("PUBLISH_VALIDATION_CACHE", str(tmp_path_factory.mktemp("validated")))


@pytest.fixture
def catalogue_dir(tmp_path: Path) -> Path:
    """A fresh, valid copy of the minimal fixture catalogue (symlinks kept)."""
    target = tmp_path / "catalogue"
    shutil.copytree(MINIMAL, target, symlinks=True)
    return target


def put_bad_file(catalogue: Path, bad_file: str, target: str) -> None:
    """Replace ``target`` (relative to the catalogue) by a file from ``tests/fixtures/bad_files``."""
    shutil.copyfile(BAD_FILES / bad_file, catalogue / target)
