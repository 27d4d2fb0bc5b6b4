"""The README's generated examples are what the commands print now (`make readme` rewrites them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_the_readme_examples_match_the_commands() -> None:
    check = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", "--diff", "-I", ".", "README.md"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, f"README.md is out of date: run `make readme`\n{check.stdout}{check.stderr}"


@pytest.mark.slow
def test_the_check_sees_a_difference(tmp_path: Path) -> None:
    """The control: an edited generated line is caught."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "✓ catalogue valid:" in text
    edited = tmp_path / "README.md"
    edited.write_text(text.replace("✓ catalogue valid:", "✓ catalogue VALID:", 1), encoding="utf-8")
    check = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", "-I", str(REPO), str(edited)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode != 0 and "catalogue VALID" not in (REPO / "README.md").read_text(encoding="utf-8")
