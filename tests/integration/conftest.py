"""Fixtures for tests against the local CKAN portal (``portal/portal.sh start``).

Where the portal is found:
- ``CKAN_URL``, ``CKAN_API_TOKEN`` (an editor of organization ``digital-interkommunal``) and
  optionally ``CKAN_SYSADMIN_TOKEN`` from the environment, as ``portal/portal.sh env --sysadmin``
  prints them;
- otherwise from the portal's state folder (``$PORTAL_STATE``, default ``<repo>/.portal``):
  ``env.sh`` and ``sysadmin.env``.

If the portal cannot be reached, the tests are skipped, except when ``CI=true``: then they fail,
since CI is expected to have started the portal.

Every test under ``tests/integration`` gets the ``portal`` marker (``pytest -m "not portal"``
leaves them out).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent
ORGANIZATION = "digital-interkommunal"
USER_AGENT = "kalletal-lemgo-publish-integration-tests"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "portal: needs the local CKAN portal (portal/portal.sh start)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.portal)


class Secret(str):
    """A token that pytest's failure reports cannot print (its repr is masked)."""

    def __repr__(self) -> str:
        return "'<secret>'"


def _state_dir() -> Path:
    state = Path(os.environ.get("PORTAL_STATE", ".portal"))
    return state if state.is_absolute() else REPO / state


def _exports(path: Path) -> dict[str, str]:
    """``export NAME=VALUE`` lines of a file written by portal.sh."""
    if not path.is_file():
        return {}
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*export\s+([A-Z_]+)=(.*)", line)
        if match:
            found[match.group(1)] = match.group(2).strip().strip("'\"")
    return found


def _setting(name: str) -> str | None:
    if os.environ.get(name):
        return os.environ[name]
    state = _state_dir()
    return {**_exports(state / "env.sh"), **_exports(state / "sysadmin.env")}.get(name)


def _unavailable(reason: str) -> None:
    message = f"local CKAN portal not available: {reason} (start it with: portal/portal.sh start)"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def ckan_url() -> str:
    """Base URL of the running portal, after checking that status_show answers."""
    url = _setting("CKAN_URL")
    if not url:
        _unavailable("CKAN_URL is not set and no env.sh in the portal state folder")
    url = url.rstrip("/")
    try:
        response = requests.get(f"{url}/api/3/action/status_show", timeout=10)
    except requests.RequestException as exc:
        _unavailable(f"{url} does not answer ({exc.__class__.__name__})")
    if response.status_code != 200:
        _unavailable(f"{url}/api/3/action/status_show answered HTTP {response.status_code}")
    return url


@pytest.fixture(scope="session")
def ckan_api_token(ckan_url: str) -> str:
    """API token of the editor of organization digital-interkommunal."""
    token = _setting("CKAN_API_TOKEN")
    if not token:
        _unavailable("CKAN_API_TOKEN is not set")
    return Secret(token)


@pytest.fixture(scope="session")
def ckan_sysadmin_token(ckan_url: str) -> str | None:
    """Sysadmin API token, or None where it is not given."""
    token = _setting("CKAN_SYSADMIN_TOKEN")
    return Secret(token) if token else None


@pytest.fixture(scope="session")
def ckan(ckan_url: str, ckan_api_token: str):
    """ckanapi.RemoteCKAN acting as the editor."""
    import ckanapi

    with ckanapi.RemoteCKAN(ckan_url, apikey=ckan_api_token, user_agent=USER_AGENT) as remote:
        yield remote


@pytest.fixture(scope="session")
def ckan_sysadmin(ckan_url: str, ckan_sysadmin_token: str | None):
    """ckanapi.RemoteCKAN acting as the sysadmin, or None where no sysadmin token is given."""
    if not ckan_sysadmin_token:
        yield None
        return
    import ckanapi

    with ckanapi.RemoteCKAN(ckan_url, apikey=ckan_sysadmin_token, user_agent=USER_AGENT) as remote:
        yield remote


@pytest.fixture(scope="session")
def ckan_editor_name(ckan: object) -> str:
    """User name behind CKAN_API_TOKEN (the organization editor)."""
    return ckan.action.user_show()["name"]  # type: ignore[attr-defined]


def purge_organization(sysadmin: object, name: str) -> None:
    """Remove an organization and every dataset in it, deleted ones included (sysadmin only)."""
    action = sysadmin.action  # type: ignore[attr-defined]
    found = action.package_search(
        fq=f'organization:"{name}"', include_private=True, include_drafts=True, include_deleted=True, rows=1000
    )
    for package in found["results"]:
        action.dataset_purge(id=package["id"])
    action.organization_purge(id=name)


@pytest.fixture
def organization(ckan_sysadmin: object, ckan_editor_name: str):
    """A fresh organization for one test, with the editor as member; purged afterwards."""
    import uuid

    if ckan_sysadmin is None:
        _unavailable("CKAN_SYSADMIN_TOKEN is needed to create a test organization")
    name = f"test-{uuid.uuid4().hex[:10]}"
    action = ckan_sysadmin.action  # type: ignore[attr-defined]
    action.organization_create(name=name, title=f"Test organization {name}")
    action.organization_member_create(id=name, username=ckan_editor_name, role="editor")
    yield name
    purge_organization(ckan_sysadmin, name)


@pytest.fixture
def catalogue(tmp_path: Path, organization: str) -> Path:
    """The shipped catalogue, moved into the test's own organization."""
    from tests.integration.publishing import make_catalogue

    return make_catalogue(tmp_path, organization)


@pytest.fixture
def publisher(catalogue: Path, ckan_url: str, ckan_api_token: str, tmp_path: Path):
    """Runs the publish CLI on that catalogue as the editor."""
    from tests.integration.publishing import Publisher

    return Publisher(catalogue, ckan_url, ckan_api_token, tmp_path / "locks")
