"""The portal as a visitor sees it, in headless Chromium (Debian package ``chromium``): German
labels on the organization and dataset pages, and the DataStore table preview rendered with the
pushed rows. A screenshot of the dataset's table preview is kept in ``test-artifacts/``
(``TEST_ARTIFACTS`` to put it elsewhere)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.publishing import names

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or REPO / "test-artifacts")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        message = "headless Chromium not found (Debian package chromium; portal/portal.sh start installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def browse(url: str, profile: Path, *extra: str) -> str:
    """The page's DOM after its scripts ran (virtual time lets the table preview load its rows)."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        *extra,
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_portal_pages_are_german_and_the_table_preview_renders(
    publisher: object, catalogue: Path, organization: str, ckan: object, ckan_url: str, tmp_path: Path
) -> None:
    code, report = publisher.json("push", "--yes")  # type: ignore[attr-defined]
    assert code == 0, report
    name = names(catalogue)["projects"]
    package = ckan.action.package_show(id=name)  # type: ignore[attr-defined]
    profile = tmp_path / "chromium"

    # the organization of the project: German navigation, its description from the project's page
    page = browse(f"{ckan_url}/organization/digital-interkommunal", profile, "--dump-dom")
    assert 'lang="de"' in page
    for label in ("Datensätze", "Organisationen", "Suche"):
        assert label in page, label
    assert "Gemeinsames Smart City-Projekt der Alten Hansestadt Lemgo und der Gemeinde Kalletal" in page

    # the test's organization lists the pushed datasets
    page = browse(f"{ckan_url}/organization/{organization}", profile, "--dump-dom")
    assert package["title"] in page
    assert "Datensätze" in page

    # a dataset page: German labels, the licence by its German title
    page = browse(f"{ckan_url}/dataset/{name}", profile, "--dump-dom")
    for label in ("Daten und Ressourcen", "Zusätzliche Informationen", "Lizenz", "Datenlizenz Deutschland"):
        assert label in page, label

    # the DataStore table preview (datatables_view) shows the rows of projects.csv
    resource = next(r for r in package["resources"] if r["datastore_active"] and r["name"] == "Projekte")
    views = ckan.action.resource_view_list(id=resource["id"])  # type: ignore[attr-defined]
    (view,) = [v for v in views if v["view_type"] == "datatables_view"]
    rows = list(csv.DictReader((catalogue / "datasets/projects/projects.csv").open(encoding="utf-8")))
    page = browse(f"{ckan_url}/dataset/{name}/resource/{resource['id']}/view/{view['id']}", profile, "--dump-dom")
    for row in rows[:3]:
        assert f"<td>{row['id']}</td>" in page, row["id"]
    assert f"von {len(rows)} Einträgen" in page  # DataTables' German row count

    # the screenshot of the resource page with its preview, kept as an artefact
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "portal-resource-preview.png"
    shot.unlink(missing_ok=True)
    url = f"{ckan_url}/dataset/{name}/resource/{resource['id']}"
    browse(url, profile, "--window-size=1280,1500", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")
