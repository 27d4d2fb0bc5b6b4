"""Helpers for tests that publish the shipped catalogue into a test organization of their own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from publish.cli import main
from tests.conftest import REPO

DATASETS = (
    "fields_of_action",
    "funding",
    "goals",
    "milestones",
    "municipalities",
    "partners",
    "phases",
    "projects",
    "sources",
)
# Every table of the shipped catalogue, in publishing order (datasets by folder, then resources).
TABLES = [
    "fields_of_action",
    "funding",
    "goals",
    "milestones",
    "municipalities",
    "population",
    "partners",
    "phases",
    "projects",
    "project_partners",
    "sources",
]


def make_catalogue(tmp_path: Path, organization: str) -> Path:
    """The shipped catalogue, moved into ``organization`` with dataset names unique to it."""
    root = tmp_path / "catalogue"
    shutil.copytree(REPO / "datasets", root / "datasets", symlinks=True)
    shutil.copytree(REPO / "schemas", root / "schemas")
    meta = root / "datasets/catalogue.yaml"
    meta.write_text(meta.read_text().replace("name: digital-interkommunal\n", f"name: {organization}\n"))
    for key in DATASETS:
        descriptor = root / "datasets" / key / "datapackage.yaml"
        text = descriptor.read_text()
        name = yaml.safe_load(text)["name"]
        descriptor.write_text(text.replace(f"name: {name}\n", f"name: {name}-{organization}\n", 1))
    return root


def names(catalogue: Path) -> dict[str, str]:
    return {k: yaml.safe_load((catalogue / "datasets" / k / "datapackage.yaml").read_text())["name"] for k in DATASETS}


class Publisher:
    """Runs the publish CLI in-process against the portal, as the editor."""

    def __init__(self, catalogue: Path, url: str, token: str, lock_dir: Path) -> None:
        self.catalogue = catalogue
        self.env = {"CKAN_URL": url, "CKAN_API_TOKEN": token, "PUBLISH_LOCK_DIR": str(lock_dir)}

    def run(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, [*args, "--catalogue", str(self.catalogue)], env={**self.env, **(env or {})})
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    def json(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        code, out, err = self.run(*args, "--json", env=env)
        try:
            return code, json.loads(out)
        except json.JSONDecodeError:
            raise AssertionError(f"not JSON (exit {code}): {out}\n{err}") from None


def writes(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Writes to datasets and files (DataStore loads are looked at separately)."""
    return [a for a in report["actions"] if a["action"] in ("create", "update", "upload", "delete")]


def loads(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in report["actions"] if a["action"] == "datastore"]
