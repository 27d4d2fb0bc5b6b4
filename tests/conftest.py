"""Shared fixtures: copies of the small fixture catalogue that a test may break."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL = FIXTURES / "catalogues" / "minimal"
BAD_FILES = FIXTURES / "bad_files"
REPO = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def _session_validation_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, shared by its workers (entries are written atomically)
    folder = base / "validated"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def _own_validation_cache(_session_validation_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test run remembers valid tables in a folder of its own, never in the user's cache.

    One folder for the whole run (shared by the workers of `make unit`), as a steward's runs share
    one: a table is validated once per content (its file, schema, referenced tables and the tool's
    code), so the many tests that break one file of a copied catalogue re-validate only that file. The cache's own tests
    (tests/test_validation_cache.py) use fresh folders and prove it never lets a problem pass.
    """
    monkeypatch.setenv("PUBLISH_VALIDATION_CACHE", str(_session_validation_cache))


@pytest.fixture
def catalogue_dir(tmp_path: Path) -> Path:
    """A fresh, valid copy of the minimal fixture catalogue (symlinks kept)."""
    target = tmp_path / "catalogue"
    shutil.copytree(MINIMAL, target, symlinks=True)
    return target


def put_bad_file(catalogue: Path, bad_file: str, target: str) -> None:
    """Replace ``target`` (relative to the catalogue) by a file from ``tests/fixtures/bad_files``."""
    shutil.copyfile(BAD_FILES / bad_file, catalogue / target)
