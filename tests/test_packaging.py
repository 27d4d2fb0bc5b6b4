"""The shipped catalogue stands on its own for Frictionless, and the built wheel works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DESCRIPTORS = sorted((REPO / "datasets").glob("*/datapackage.yaml"))


def test_there_are_nine_datasets() -> None:
    assert [d.parent.name for d in DESCRIPTORS] == [
        "fields_of_action",
        "funding",
        "goals",
        "milestones",
        "municipalities",
        "partners",
        "phases",
        "projects",
        "sources",
    ]


@pytest.mark.slow  # a Frictionless process per descriptor (about a second each)
@pytest.mark.parametrize("descriptor", DESCRIPTORS, ids=lambda d: d.parent.name)
def test_frictionless_validate_accepts_each_descriptor_on_its_own(descriptor: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "frictionless", "validate", "--json", str(descriptor.relative_to(REPO))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["valid"] is True, result.stdout[-2000:]
    assert all(task["valid"] for task in report["tasks"])


@pytest.mark.slow
def test_built_wheel_installs_a_working_publish_command(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "w"),
            str(REPO),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "w").glob("*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    # Run the installed package (not the source tree) from a folder outside the repository.
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import publish, sys; from publish.cli import main; print(publish.__file__); main()",
            "validate",
            "--catalogue",
            str(REPO),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0].startswith(str(target))
    assert "catalogue valid" in result.stdout


def test_the_command_line_does_not_import_pandas() -> None:
    # pandas costs ~55 MiB and a second of start-up; only loading data into DataFrames needs it
    code = "import sys, publish.cli, publish; assert 'pandas' not in sys.modules, 'pandas imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


COMMAND_MODULES = ["publish.cli", "publish.cli_pull", "publish.cli_common", "publish.pull"]

# Each module imported first, as a fresh interpreter would: every publish module forgotten
# before the next (the libraries they use stay loaded; an import cycle is among publish's own).
_EACH_FIRST = """
import importlib, sys
for module in sys.argv[1:]:
    for name in [n for n in sys.modules if n == "publish" or n.startswith("publish.")]:
        del sys.modules[name]
    try:
        importlib.import_module(module)
    except Exception as exc:
        print(f"{module}: {type(exc).__name__}: {exc}")
"""


def test_each_command_module_imports_on_its_own() -> None:
    # an import cycle shows only when its module comes first
    done = subprocess.run(
        [sys.executable, "-c", _EACH_FIRST, *COMMAND_MODULES], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout == "", done.stdout


def test_a_module_that_cannot_import_first_is_named(tmp_path: Path) -> None:
    # the probe above can fail: a cycle that breaks when one module comes first is reported
    (tmp_path / "cyc_a.py").write_text("from cyc_b import B\nA = 1\n")
    (tmp_path / "cyc_b.py").write_text("from cyc_a import A\nB = 2\n")
    done = subprocess.run(
        [sys.executable, "-c", _EACH_FIRST, "cyc_a"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.stdout.startswith("cyc_a: ImportError")
