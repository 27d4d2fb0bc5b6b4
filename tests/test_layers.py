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


HTTP = ("requests", "ckanapi", "urllib3")


def _http_loaded_by(*steps: list[str]) -> list[list[str]]:
    """In a fresh interpreter (nothing a test imported before), the HTTP libraries loaded after
    importing each list of modules in turn."""
    lines = "; ".join(
        f"import {', '.join(modules)}; print(','.join(m for m in {HTTP!r} if m in sys.modules))" for modules in steps
    )
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys; {lines}"], capture_output=True, text=True, check=True, timeout=60
    )
    return [[m for m in line.split(",") if m] for line in loaded.stdout.splitlines()]


def test_the_core_imports_no_http() -> None:
    # Importing more modules never loads fewer: when the whole core together loads no HTTP
    # library, none of its modules does; only then is each tried alone, to name it. The shell
    # module imported next shows the probe sees an HTTP import where there is one.
    core, shell = _http_loaded_by(CORE, ["publish.portal"])
    if core:
        culprits = {module: _http_loaded_by([module])[0] for module in CORE}
        pytest.fail(f"the core imports HTTP: { ({m: found for m, found in culprits.items() if found}) }")
    assert shell == ["requests", "ckanapi", "urllib3"]


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
