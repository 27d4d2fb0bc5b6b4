"""The README's push, diff and pull examples are what those commands print on a real portal now.

`make readme` writes them from real runs (scripts/readme_examples.py); this test runs the same
generator against the test portal into a copy and compares it with the README, with durations
and new resource ids masked (they differ between any two runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import readme_examples
from tests.conftest import REPO


@pytest.fixture
def sysadmin_token(ckan_sysadmin_token: str | None) -> str:
    if not ckan_sysadmin_token:
        pytest.fail("CKAN_SYSADMIN_TOKEN is needed: the examples start from an emptied organization")
    return ckan_sysadmin_token


def test_readme_portal_examples_match_a_real_run(
    ckan_url: str, ckan_api_token: str, sysadmin_token: str, tmp_path: Path
) -> None:
    generated = tmp_path / "README.md"
    env = {
        **os.environ,
        "README_PORTAL": "1",
        "CKAN_URL": ckan_url,
        "CKAN_API_TOKEN": ckan_api_token,
        "CKAN_SYSADMIN_TOKEN": sysadmin_token,
    }
    try:
        run = subprocess.run(
            [sys.executable, "-m", "cogapp", "-I", ".", "-o", str(generated), "README.md"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        readme_examples.empty_organization(ckan_url, sysadmin_token)
    assert run.returncode == 0, run.stdout + run.stderr
    now = generated.read_text(encoding="utf-8")
    assert "$ publish diff\n" in now and "$ frictionless validate" in now
    shown = (REPO / "README.md").read_text(encoding="utf-8")
    if readme_examples.masked(now) != readme_examples.masked(shown):
        import difflib

        diff = difflib.unified_diff(
            readme_examples.masked(shown).splitlines(), readme_examples.masked(now).splitlines(), lineterm="", n=1
        )
        pytest.fail("README.md's portal examples are out of date: run `make readme`\n" + "\n".join(diff))


def test_the_mask_hides_only_durations_and_ids() -> None:
    """The control: a changed count of requests or bytes is not masked away."""
    line = "Push done: 31 unchanged; 3 requests, 0 B uploaded, 1.9 s (resource 0b7f5b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b)"
    assert readme_examples.masked(line) == readme_examples.masked(line.replace("1.9 s", "12.3 s"))
    assert readme_examples.masked(line) == readme_examples.masked(line.replace("0b7f5b9e", "ffffffff"))
    assert readme_examples.masked(line) != readme_examples.masked(line.replace("3 requests", "4 requests"))
    assert readme_examples.masked(line) != readme_examples.masked(line.replace("0 B", "1 B"))
