"""The local CKAN portal works end to end: PostgreSQL, Solr, file storage, DataStore, licences.

Uses ckanapi directly (not the publisher), as the editor of organization digital-interkommunal.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import ckanapi
import pytest
import requests

ORGANIZATION = "digital-interkommunal"
DL_BY_DE = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
# Synthetic values (not facts about real places); the umlaut checks UTF-8 end to end.
CSV_BYTES = "id,ortsteil,einwohner,anteil\n1,Testort Ä,100,0.25\n2,Testort B,200,0.5\n3,Testort C,300,0.125\n".encode()
RECORDS = [
    {"id": 1, "ortsteil": "Testort Ä", "einwohner": 100, "anteil": 0.25},
    {"id": 2, "ortsteil": "Testort B", "einwohner": 200, "anteil": 0.5},
    {"id": 3, "ortsteil": "Testort C", "einwohner": 300, "anteil": 0.125},
]


def test_status_licences_and_editor_role(ckan: ckanapi.RemoteCKAN) -> None:
    status = ckan.action.status_show()
    assert "datastore" in status["extensions"]
    assert status["ckan_version"]

    licences = {lic["id"]: lic for lic in ckan.action.license_list()}
    assert DL_BY_DE in licences
    assert licences[DL_BY_DE]["title"] == "Datenlizenz Deutschland Namensnennung 2.0"

    orgs = ckan.action.organization_list_for_user(permission="create_dataset")
    capacity = {org["name"]: org.get("capacity") for org in orgs}
    assert capacity.get(ORGANIZATION) == "editor"


def test_dataset_upload_search_download_datastore(
    ckan: ckanapi.RemoteCKAN,
    ckan_sysadmin: ckanapi.RemoteCKAN | None,
    ckan_api_token: str,
    tmp_path: Path,
) -> None:
    name = f"portal-stack-{uuid.uuid4().hex[:12]}"
    csv_path = tmp_path / "ortsteile.csv"
    csv_path.write_bytes(CSV_BYTES)

    package = ckan.action.package_create(
        name=name,
        title=f"Portal stack test {name}",
        owner_org=ORGANIZATION,
        license_id=DL_BY_DE,
        notes="Created by tests/integration/test_portal_stack.py; deleted again at its end.",
    )
    try:
        assert package["license_id"] == DL_BY_DE

        # File storage: multipart upload, then download via the resource URL.
        with csv_path.open("rb") as upload:
            resource = ckan.action.resource_create(
                package_id=package["id"], name="Ortsteile", format="CSV", upload=upload
            )
        assert resource["url_type"] == "upload"
        assert resource["url"].endswith("/ortsteile.csv")
        download = requests.get(resource["url"], headers={"Authorization": ckan_api_token}, timeout=30)
        assert download.status_code == 200
        assert download.content == CSV_BYTES

        # Solr: CKAN commits synchronously, so the dataset is found at once.
        found = ckan.action.package_search(q=f"name:{name}", include_private=True)
        assert found["count"] == 1
        assert found["results"][0]["id"] == package["id"]
        assert found["results"][0]["num_resources"] == 1

        # DataStore: a table on the uploaded resource (force=True), read back.
        ckan.action.datastore_create(
            resource_id=resource["id"],
            force=True,
            primary_key=["id"],
            fields=[
                {"id": "id", "type": "int"},
                {"id": "ortsteil", "type": "text"},
                {"id": "einwohner", "type": "int"},
                {"id": "anteil", "type": "numeric"},
            ],
            records=RECORDS,
        )
        table = ckan.action.datastore_search(resource_id=resource["id"], sort="id")
        assert table["total"] == len(RECORDS)
        rows = [{key: row[key] for key in ("id", "ortsteil", "einwohner")} for row in table["records"]]
        assert rows == [{key: rec[key] for key in ("id", "ortsteil", "einwohner")} for rec in RECORDS]
        assert [float(row["anteil"]) for row in table["records"]] == [rec["anteil"] for rec in RECORDS]
    finally:
        ckan.action.package_delete(id=package["id"])

    assert ckan.action.package_search(q=f"name:{name}")["count"] == 0
    if ckan_sysadmin is not None:  # purge needs a sysadmin; without one the deleted dataset stays
        ckan_sysadmin.action.dataset_purge(id=package["id"])
        with pytest.raises(ckanapi.NotFound):
            ckan_sysadmin.action.package_show(id=package["id"])
