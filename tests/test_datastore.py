"""Our own rule in the DataStore loader: when a new table's ``datastore_create`` fails with HTTP 500,
it is sent once more only if the table surely does not exist (CKAN makes a table in one transaction).

A scripted stand-in for the two actions involved; what CKAN itself does on a new portal (the
race on its first DataStore write) is tested against the real portal in
``tests/integration/test_datastore.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from publish.datastore import FIRST_LOAD, REBUILD, load_table
from publish.errors import PortalError, PortalRefusedError, TransientPortalError

SCHEMA = {"fields": [{"name": "id", "type": "integer"}, {"name": "name", "type": "string"}], "primaryKey": ["id"]}


class ScriptedPortal:
    """Answers ``datastore_create`` with the scripted errors first, then success; ``datastore_info``
    says whether the table exists; ``datastore_delete`` succeeds."""

    def __init__(self, create_errors: list[Exception], table_exists: bool) -> None:
        self.create_errors = create_errors
        self.table_exists = table_exists
        self.calls: list[str] = []
        self.rows = 0

    def action(self, name: str, data: dict[str, Any] | None = None, *, retry: str = "always") -> Any:
        self.calls.append(name)
        if name == "datastore_create":
            if self.create_errors:
                raise self.create_errors.pop(0)
            self.rows += len((data or {}).get("records", []))
            return {}
        if name == "datastore_info":
            if not self.table_exists:
                raise PortalRefusedError("datastore_info: not found", "not-found")
            return {}
        if name in {"datastore_delete", "datastore_upsert"}:
            self.rows += len((data or {}).get("records", []))
            return {}
        raise AssertionError(f"unexpected action {name}")


def server_error() -> PortalError:
    return PortalError('datastore_create: the portal answered with an error (HTTP 500, CKAN says "...")', status=500)


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    path.write_text("id,name\n1,a\n2,b\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("mode", [FIRST_LOAD, REBUILD])
def test_a_500_that_left_no_table_is_sent_once_more(csv: Path, mode: str) -> None:
    portal = ScriptedPortal([server_error()], table_exists=False)
    assert load_table(portal, "r1", csv, SCHEMA, mode=mode) == 2  # type: ignore[arg-type]
    assert portal.calls[-3:] == ["datastore_create", "datastore_info", "datastore_create"]
    assert portal.rows == 2


def test_a_500_after_which_the_table_exists_is_not_repeated(csv: Path) -> None:
    portal = ScriptedPortal([server_error()], table_exists=True)
    with pytest.raises(PortalError) as info:
        load_table(portal, "r1", csv, SCHEMA, mode=FIRST_LOAD)  # type: ignore[arg-type]
    assert info.value.status == 500
    assert portal.calls == ["datastore_create", "datastore_info"]


def test_a_second_500_is_reported_not_retried_again(csv: Path) -> None:
    portal = ScriptedPortal([server_error(), server_error()], table_exists=False)
    with pytest.raises(PortalError):
        load_table(portal, "r1", csv, SCHEMA, mode=FIRST_LOAD)  # type: ignore[arg-type]
    assert portal.calls == ["datastore_create", "datastore_info", "datastore_create"]


@pytest.mark.parametrize(
    "error",
    [
        TransientPortalError("datastore_create: timed out", status=None),
        PortalError("datastore_create: the portal answered with an error (HTTP 501)", status=501),
        PortalRefusedError("datastore_create: not authorized", "not-authorized"),
    ],
    ids=["timeout", "501", "refused"],
)
def test_other_failures_are_not_probed_or_repeated_here(csv: Path, error: Exception) -> None:
    portal = ScriptedPortal([error], table_exists=False)
    with pytest.raises(type(error)):
        load_table(portal, "r1", csv, SCHEMA, mode=FIRST_LOAD)  # type: ignore[arg-type]
    assert portal.calls == ["datastore_create"]
