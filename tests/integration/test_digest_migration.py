"""The first push after the digest change, against the real local CKAN.

Until now every resource carried its sha256 in ``hash`` (named by the SPDX sha256 URI), and keys
inside a dataset named resources by their catalogue names. A portal published that way must be
brought to the new form by field updates only: no upload, one ``resource_patch`` per resource,
no DataStore reload; the run after that writes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from publish.mapping import portal_schema
from tests.integration.publishing import TABLES, Publisher, loads, make_catalogue, names, writes

OLD_ALGORITHM = "http://spdx.org/rdf/terms#checksumAlgorithm_sha256"


@pytest.fixture
def publisher(tmp_path: Path, organization: str, ckan_url: str, ckan_api_token: str) -> Publisher:
    catalogue = make_catalogue(tmp_path, organization)
    publisher = Publisher(catalogue, ckan_url, ckan_api_token, tmp_path / "locks")
    code, report = publisher.json("push", "--yes")
    assert code == 0 and report["ok"], report
    return publisher


def put_back_the_old_form(ckan: Any, catalogue: Path) -> int:
    """Rewrite every resource as the previous version stored it; returns how many resources."""
    dataset_names = names(catalogue)
    count = 0
    for key, name in dataset_names.items():
        for resource in ckan.action.package_show(id=name)["resources"]:
            spec = next(
                r
                for r in yaml.safe_load((catalogue / "datasets" / key / "datapackage.yaml").read_text())["resources"]
                if r["name"] == resource["datapackage_resource"]
            )
            schema = json.loads((catalogue / "datasets" / key / spec["schema"]).read_text(encoding="utf-8"))
            old = {k: v for k, v in resource.items() if k != "sha256"}
            old.update(
                hash=resource["sha256"],
                hash_algorithm=OLD_ALGORITHM,
                schema=json.dumps(portal_schema(schema, dataset_names), ensure_ascii=False),
            )
            ckan.action.resource_update(**old)
            stored = ckan.action.resource_show(id=resource["id"])
            assert "sha256" not in stored and stored["hash"] == resource["sha256"]
            assert stored["url"] == resource["url"] and stored["datastore_active"]
            count += 1
    return count


def test_first_push_after_the_change_updates_fields_only_then_nothing(publisher: Publisher, ckan: Any) -> None:
    resources = put_back_the_old_form(ckan, publisher.catalogue)
    assert resources == len(TABLES)  # every table of the shipped catalogue

    code, diff = publisher.json("diff")
    assert code == 0
    updates = [a for a in diff["actions"] if a["action"] == "update"]
    assert all(a["resource"] for a in updates)  # no dataset-level write
    assert [a for a in updates if "sha256" not in a["detail"]] == []

    code, report = publisher.json("push", "--yes")
    assert code == 0 and report["ok"], report
    assert report["bytes_uploaded"] == 0
    assert [a for a in report["actions"] if a["action"] in ("upload", "create", "delete")] == []
    assert loads(report) == []  # the DataStore tables hold the same files: not reloaded
    done = [(a["dataset"], a["resource"]) for a in writes(report)]
    assert len(done) == resources == len(set(done))  # exactly one update per resource
    assert all(resource is not None for _, resource in done)
    partners_table = next(a for a in writes(report) if a["resource"] == "project_partners")
    assert "schema" in partners_table["detail"]  # its key to "projects" now names "projekte"

    for name in names(publisher.catalogue).values():
        for resource in ckan.action.package_show(id=name)["resources"]:
            assert len(resource["hash"]) == 32 and len(resource["sha256"]) == 64
            assert resource["hash_algorithm"] == "http://spdx.org/rdf/terms#checksumAlgorithm_md5"

    code, again = publisher.json("push", "--yes")
    assert code == 0
    assert writes(again) == [] and loads(again) == []
    assert again["requests"] == 3 and again["bytes_uploaded"] == 0
