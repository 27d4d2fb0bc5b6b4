"""The reliability suite runs against the local CKAN with the integration tests' fixtures
(a fresh organization per trial, the editor's publisher; in CI an unreachable portal FAILS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import (  # noqa: F401 - fixtures, shared with the integration tests
    catalogue,
    ckan,
    ckan_api_token,
    ckan_editor_name,
    ckan_sysadmin,
    ckan_sysadmin_token,
    ckan_url,
    organization,
    publisher,
)
from tests.reliability.trials import FIGURES

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "portal: needs the local CKAN portal (portal/portal.sh start)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.portal)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    write = terminalreporter.write_line
    write("")
    write("reliability: trial                      seed        runs  faults  converged  duplicates  mismatches")
    for f in FIGURES:
        write(
            f"reliability: {f.name:<26} {f.seed:<11} {f.runs:>4}  {f.faults:>6}  {'yes' if f.converged else 'NO':>9}"
            f"  {f.duplicates:>10}  {f.mismatches:>10}"
        )
    converged = sum(f.converged for f in FIGURES)
    write(
        f"reliability: {len(FIGURES)} trials, {converged} converged, "
        f"{sum(f.duplicates for f in FIGURES)} duplicates, {sum(f.mismatches for f in FIGURES)} mismatches "
        "(replay one: CHAOS_SEED=<seed> pytest tests/reliability -k <trial>)"
    )
