"""The core decides without the network: importing it loads no HTTP library (DESIGN.md)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

CORE = [
    "publish.catalogue",
    "publish.validation",
    "publish.mapping",
    "publish.plan",
    "publish.datastore_schema",
    "publish.report",
    "publish.errors",
    "publish.dcat",
]


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_no_http(module: str) -> None:
    # A fresh interpreter: what this module pulls in, and nothing a test imported before.
    probe = f"import sys, {module}; print(sorted(m for m in ('requests', 'ckanapi', 'urllib3') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.strip() == "[]", f"{module} imports {loaded.stdout.strip()}"


def test_the_command_line_help_loads_neither_frictionless_nor_ckanapi() -> None:
    probe = (
        "import sys; from click.testing import CliRunner; from publish.cli import main; "
        "CliRunner().invoke(main, ['--help']); "
        "print(sorted(m for m in ('frictionless', 'ckanapi', 'pandas') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_the_pull_command_names_outcomes_as_the_library_does() -> None:
    from publish import cli_pull

    pull = importlib.import_module("publish.pull")
    assert (cli_pull.DOWNLOADED, cli_pull.PRESENT, cli_pull.FAILED) == (pull.DOWNLOADED, pull.PRESENT, pull.FAILED)


def test_publish_push_and_pull_stay_the_functions_after_their_modules_load() -> None:
    probe = (
        "import publish, publish.cli, publish.push, publish.pull; from publish.push import execute; "
        "import importlib; importlib.import_module('publish.pull'); "
        "print(callable(publish.push) and publish.push.__name__, callable(publish.pull) and publish.pull.__name__)"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.split() == ["push", "pull"]
