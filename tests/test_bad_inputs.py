"""`publish validate` on a corpus of bad and hostile inputs (tests/bad_inputs.py).

Each case: the documented exit code, no traceback, the offending file named (in the human output
and in the JSON report), the output bounded, no raw terminal control characters, and JSON that
parses. `diff`, `push` and `pull` run the same corpus in tests/integration/test_bad_inputs.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from publish.cli import main
from tests.bad_inputs import CASES, MAX_OUTPUT, Case
from tests.conftest import MINIMAL


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


def assert_well_reported(case: Case, code: int, output: str) -> None:
    """What every bad input must get, from every command."""
    assert code == case.exit_code, output[:2000]
    assert "Traceback" not in output
    assert case.names in output, output[:2000]
    assert len(output.encode()) < MAX_OUTPUT, f"{len(output.encode())} bytes of output"
    assert "\x1b" not in output and "\x07" not in output


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_reports_the_bad_input(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    shutil.copytree(MINIMAL, root, symlinks=True)
    case.build(root)
    runner = CliRunner()
    human = runner.invoke(main, ["validate", "--catalogue", str(root)])
    assert_well_reported(case, human.exit_code, human.output)
    machine = runner.invoke(main, ["validate", "--json", "--catalogue", str(root)])
    assert machine.exit_code == case.exit_code
    report = json.loads(machine.stdout)
    assert report["valid"] is False
    assert any(e["file"].startswith(case.names) or case.names in e["message"] for e in report["errors"]), report
    assert len(machine.stdout.encode()) < MAX_OUTPUT
