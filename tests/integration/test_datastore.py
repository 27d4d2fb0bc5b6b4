"""DataStore loading against the real local CKAN: typed tables equal to the CSV files."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import ckanapi
import pytest
import yaml

from publish.datastore import TYPES
from tests.integration.publishing import TABLES, Publisher, loads, names, writes


@pytest.fixture
def anonymous(ckan_url: str):
    with ckanapi.RemoteCKAN(ckan_url) as remote:
        yield remote


def resources(ckan: ckanapi.RemoteCKAN, catalogue: Path) -> dict[str, tuple[dict[str, Any], Path, dict[str, Any]]]:
    """Per Data Package resource name: the portal's resource, the local CSV, the local schema."""
    found = {}
    for key, name in names(catalogue).items():
        package = ckan.action.package_show(id=name)
        descriptor = yaml.safe_load((catalogue / "datasets" / key / "datapackage.yaml").read_text())
        for resource, spec in zip(package["resources"], descriptor["resources"], strict=True):
            folder = catalogue / "datasets" / key
            schema = json.loads((folder / spec["schema"]).read_text())
            found[spec["name"]] = (resource, folder / spec["path"], schema)
    return found


def expected_rows(path: Path, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The CSV as the DataStore should return it: typed per schema, empty cells as null."""
    types = {f["name"]: f["type"] for f in schema["fields"]}
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            typed = {}
            for name, value in row.items():
                if value == "":
                    typed[name] = None
                elif types[name] in ("integer", "year"):
                    typed[name] = int(value)
                elif types[name] == "boolean":
                    typed[name] = value == "true"
                elif types[name] == "number":
                    typed[name] = float(value)
                else:
                    typed[name] = value
            rows.append(typed)
    return rows


def table(anonymous: ckanapi.RemoteCKAN, resource_id: str, **query: Any) -> dict[str, Any]:
    return anonymous.action.datastore_search(**{"resource_id": resource_id, "limit": 1000, "sort": "_id", **query})


def normalised(records: list[dict[str, Any]], schema: dict[str, Any]) -> list[dict[str, Any]]:
    types = {f["name"]: f["type"] for f in schema["fields"]}
    out = []
    for record in records:
        row = {k: v for k, v in record.items() if k != "_id"}
        for name, value in row.items():
            if value is not None and types[name] == "date":
                row[name] = str(value)[:10]  # the DataStore answers dates as timestamps
            if value is not None and types[name] == "number":
                row[name] = float(value)
        out.append(row)
    return out


def assert_table_equals_csv(anonymous: ckanapi.RemoteCKAN, resource: dict, path: Path, schema: dict) -> None:
    result = table(anonymous, resource["id"])
    expected = expected_rows(path, schema)
    assert result["total"] == len(expected)
    assert sorted(normalised(result["records"], schema), key=str) == sorted(expected, key=str)


def test_every_table_is_the_csv_typed_and_documented(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, anonymous: ckanapi.RemoteCKAN
) -> None:
    code, report = publisher.json("push", "--yes")
    assert code == 0, report
    rows = {a["resource"]: a["rows"] for a in loads(report)}
    found = resources(ckan, catalogue)
    assert set(found) == set(TABLES)
    for name, (resource, path, schema) in found.items():
        assert rows[name] == len(expected_rows(path, schema))
        assert_table_equals_csv(anonymous, resource, path, schema)
        views = anonymous.action.resource_view_list(id=resource["id"])
        assert "datatables_view" in [v["view_type"] for v in views]  # stewards see a table preview
        fields = {f["id"]: f for f in table(anonymous, resource["id"], limit=0)["fields"] if f["id"] != "_id"}
        assert list(fields) == [f["name"] for f in schema["fields"]]
        for spec in schema["fields"]:
            assert fields[spec["name"]]["type"] == TYPES[spec["type"]]
            assert fields[spec["name"]]["info"]["label"] == spec["title"]
            assert fields[spec["name"]]["info"]["notes"] == spec["description"]


def test_filter_on_an_enum_field(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, anonymous: ckanapi.RemoteCKAN
) -> None:
    assert publisher.json("push", "--yes")[0] == 0
    resource, path, schema = resources(ckan, catalogue)["projects"]
    wanted = [r["id"] for r in expected_rows(path, schema) if r["field_of_action"] == "Umwelt"]
    assert len(wanted) >= 2
    result = table(anonymous, resource["id"], filters={"field_of_action": "Umwelt"})
    assert sorted(r["id"] for r in result["records"]) == sorted(wanted)
    partners = resources(ckan, catalogue)["partners"][0]
    result = table(anonymous, partners["id"], filters={"role": "Projektträger"})
    assert sorted(r["name"] for r in result["records"]) == ["Alte Hansestadt Lemgo", "Gemeinde Kalletal"]


def test_rerun_writes_nothing_to_the_datastore(publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN) -> None:
    assert publisher.json("push", "--yes")[0] == 0
    code, report = publisher.json("push", "--yes")
    assert code == 0
    assert loads(report) == [] and writes(report) == []
    tables = [a for a in report["actions"] if "DataStore" in a["detail"]]
    assert len(tables) == len(TABLES) and all(a["action"] == "unchanged" and a["rows"] == 0 for a in tables)
    assert report["requests"] <= 3


def test_changed_added_and_removed_rows_end_up_right(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, anonymous: ckanapi.RemoteCKAN
) -> None:
    assert publisher.json("push", "--yes")[0] == 0
    resource_before = resources(ckan, catalogue)["phases"][0]
    path = catalogue / "datasets/phases/phases.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header, first, second, _third = lines
    changed = first.replace("Erarbeitung einer Smart City-Strategie", "Erarbeitung der Strategie (geändert)")
    added = "testphase,4,Testphase,2028-01,,Nur für diesen Test,https://example.org/test"
    path.write_text("\n".join([header, changed, second, added]) + "\n", encoding="utf-8")

    code, report = publisher.json("push", "--yes")
    assert code == 0, report
    (load,) = loads(report)
    # only what differs is written: one changed row and one added row (the removed one is deleted)
    assert load["resource"] == "phases" and load["rows"] == 2 and "in place" in load["detail"]
    resource, _, schema = resources(ckan, catalogue)["phases"]
    assert resource["id"] == resource_before["id"]
    assert_table_equals_csv(anonymous, resource, path, schema)
    ids = [r["id"] for r in table(anonymous, resource["id"])["records"]]
    assert "fortfuehrung" not in ids and "testphase" in ids


def test_a_type_change_in_the_schema_rebuilds_a_correct_table(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, anonymous: ckanapi.RemoteCKAN
) -> None:
    assert publisher.json("push", "--yes")[0] == 0
    schema_path = catalogue / "schemas/phases.schema.json"
    schema = json.loads(schema_path.read_text())
    position = next(f for f in schema["fields"] if f["name"] == "position")
    position["type"] = "number"
    schema_path.write_text(json.dumps(schema, ensure_ascii=False, indent=2))
    path = catalogue / "datasets/phases/phases.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace("umsetzungsphase,2,", "umsetzungsphase,2.5,"), encoding="utf-8"
    )

    code, report = publisher.json("push", "--yes")
    assert code == 0, report
    (load,) = loads(report)
    assert load["rows"] == 3 and "rebuild (fields or types changed)" in load["detail"]
    resource, _, new_schema = resources(ckan, catalogue)["phases"]
    fields = {f["id"]: f["type"] for f in table(anonymous, resource["id"], limit=0)["fields"]}
    assert fields["position"] == "numeric"
    assert_table_equals_csv(anonymous, resource, path, new_schema)
    positions = sorted(float(r["position"]) for r in table(anonymous, resource["id"])["records"])
    assert positions == [1.0, 2.5, 3.0]
    # and the next run is quiet again
    assert loads(publisher.json("push", "--yes")[1]) == []


def test_no_datastore_flag_skips_tables(publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN) -> None:
    code, report = publisher.json("push", "--yes", "--no-datastore")
    assert code == 0 and loads(report) == []
    for resource, _, _ in resources(ckan, catalogue).values():
        assert not resource.get("datastore_active")


def test_a_repeated_bulk_insert_falls_back_to_upsert(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, ckan_url: str, ckan_api_token: str
) -> None:
    """What a retried insert chunk meets when its first attempt did arrive: no error, no duplicate."""
    from publish.datastore import _write_chunk, read_records
    from publish.portal import Portal

    assert publisher.json("push", "--yes")[0] == 0
    resource, path, schema = resources(ckan, catalogue)["phases"]
    (records,) = list(read_records(path, schema))
    portal = Portal(ckan_url, ckan_api_token)
    _write_chunk(portal, resource["id"], records, ["id"], fresh=True)  # every key exists already
    assert ckan.action.datastore_search(resource_id=resource["id"], limit=0)["total"] == len(records)


def test_push_carries_out_the_planned_load_or_fails_it_saying_why(
    publisher: Publisher,
    catalogue: Path,
    ckan: ckanapi.RemoteCKAN,
    anonymous: ckanapi.RemoteCKAN,
    ckan_url: str,
    ckan_api_token: str,
) -> None:
    """The plan is the contract: a table planned "in place" that is dropped before push gets to
    it is not silently rebuilt; that action fails and says why, and the next run loads it whole."""
    from publish import Portal, load_catalogue
    from publish.push import execute, plan_for

    assert publisher.json("push", "--yes")[0] == 0
    path = catalogue / "datasets/phases/phases.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("Bestandsaufnahme", "Bestandsaufnahme (neu)"))
    portal = Portal(ckan_url, ckan_api_token)
    plan, _ = plan_for(load_catalogue(catalogue), portal)
    (load,) = [a for a in plan.actions if a.kind == "datastore"]
    assert load.payload["mode"] == "in-place" and "in place" in load.detail
    ckan.action.datastore_delete(resource_id=load.resource_id, force=True)  # dropped meanwhile

    result = execute(plan, portal)
    (outcome,) = [o for o in result.outcomes if o.action.kind == "datastore"]
    assert outcome.outcome == "failed" and "no longer has it" in outcome.detail
    code, report = publisher.json("diff")
    (planned,) = loads(report)
    assert "first load (the portal has no table for it)" in planned["detail"]
    code, report = publisher.json("push", "--yes")
    assert code == 0, report
    resource, _, schema = resources(ckan, catalogue)["phases"]
    assert_table_equals_csv(anonymous, resource, path, schema)


def odd_creates(fault: str):
    """A proxy schedule: every odd-numbered datastore_create gets ``fault``. With ``--jobs 1`` that
    is each new table's first create; its one repeat (even-numbered) goes through."""
    creates = iter(range(1, 1_000_000))

    def schedule(n: int, method: str, path: str) -> str | None:
        return fault if "datastore_create" in path and next(creates) % 2 else None

    return schedule


def push_through_faults(publisher: Publisher, ckan_url: str, fault: str) -> tuple[int, dict[str, Any], list[str]]:
    """``push --jobs 1`` through a fault proxy whose every odd-numbered datastore_create gets
    ``fault``: the exit code, the JSON report and the faults the proxy injected."""
    from tests.integration.fault_proxy import FaultProxy

    proxy = FaultProxy(ckan_url, odd_creates(fault))
    url = proxy.start()
    try:
        code, report = publisher.json("push", "--yes", "--jobs", "1", env={"CKAN_URL": url})
    finally:
        proxy.stop()
    return code, report, proxy.faults()


def test_a_new_table_whose_create_failed_with_500_and_left_nothing_is_created_once_more(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, anonymous: ckanapi.RemoteCKAN, ckan_url: str
) -> None:
    """What CKAN does on a new portal: its DataStore creates a PostgreSQL type on its first write,
    and of several creates arriving at once all but one fail with HTTP 500 (nothing written). The
    push sees that no table exists, sends that create once more, and completes."""
    code, report, faults = push_through_faults(publisher, ckan_url, "500")
    assert faults == ["500"] * len(TABLES)
    assert code == 0, report
    for resource, path, schema in resources(ckan, catalogue).values():
        assert_table_equals_csv(anonymous, resource, path, schema)


def test_a_500_after_the_table_was_made_is_reported_and_the_rerun_converges(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, anonymous: ckanapi.RemoteCKAN, ckan_url: str
) -> None:
    """A 500 whose create did happen is not repeated blindly: the push says which load failed and
    keeps the dataset private; the next run sees the table and leaves it right, without duplicates."""
    code, report, faults = push_through_faults(publisher, ckan_url, "500-after")
    assert code == 3, report
    assert faults and set(faults) == {"500-after"}
    failed = [a for a in report["actions"] if a["outcome"] == "failed"]
    assert failed and all(a["action"] == "datastore" for a in failed)
    assert all('HTTP 500, CKAN says "Internal Server Error"' in a["detail"] for a in failed), failed
    code, report = publisher.json("push", "--yes")
    assert code == 0, report
    for resource, path, schema in resources(ckan, catalogue).values():
        assert_table_equals_csv(anonymous, resource, path, schema)
