"""`publish push --jobs N` and the requests a new DataStore table costs, on the real local CKAN."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import ckanapi

from tests.integration.fault_proxy import FaultProxy, no_faults
from tests.integration.publishing import DATASETS, TABLES, Publisher, loads, names


def test_a_parallel_first_publish_then_an_unchanged_rerun_in_3_requests(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN
) -> None:
    code, planned = publisher.json("diff")
    assert code == 0
    code, report = publisher.json("push", "--yes", "--jobs", "4")
    assert code == 0 and report["ok"], [a for a in report["actions"] if a["outcome"] != "done"]
    # The report lists the actions in plan order (what diff showed), not in the order they finished.
    order = [(a["dataset"], a["resource"], a["action"]) for a in report["actions"]]
    assert order == [(a["dataset"], a["resource"], a["action"]) for a in planned["actions"]]
    assert {a["outcome"] for a in report["actions"]} == {"done"}
    assert sorted(a["resource"] for a in loads(report)) == sorted(TABLES)
    for name in names(catalogue).values():
        package = ckan.action.package_show(id=name)
        assert package["private"] is False
        for resource in package["resources"]:
            assert resource["datastore_active"] is True
            views = ckan.action.resource_view_list(id=resource["id"])
            assert [v["view_type"] for v in views].count("datatables_view") == 1
    code, rerun = publisher.json("push", "--yes", "--jobs", "4")
    assert code == 0 and rerun["ok"]
    assert {a["action"] for a in rerun["actions"]} == {"unchanged"}
    assert rerun["requests"] == 3 and rerun["bytes_uploaded"] == 0


def test_a_new_table_costs_at_most_3_requests(publisher: Publisher, ckan_url: str, ckan: ckanapi.RemoteCKAN) -> None:
    """Per table one datastore_create (with its rows); per dataset one package_revise with all its
    files, one call for the table previews, and one package_revise with the tables' digests and
    the release. No datastore_info probe, no call per table for files, views or digests."""
    proxy = FaultProxy(ckan_url, no_faults)
    try:
        url = proxy.start()
        code, report = publisher.json("push", "--yes", env={"CKAN_URL": url})
    finally:
        proxy.stop()
    assert code == 0, report
    calls = Counter(path.split("?")[0].rsplit("/", 1)[-1] for _, _, path, _ in proxy.log)
    tables, datasets = len(TABLES), len(DATASETS)
    assert calls["datastore_info"] == calls["datastore_upsert"] == 0  # small tables: one create each
    assert calls["resource_patch"] == calls["package_patch"] == calls["resource_create_default_resource_views"] == 0
    assert calls["resource_create"] == 0 and calls["datastore_create"] == tables
    assert calls["package_create_default_resource_views"] == calls["package_create"] == datasets
    assert calls["package_revise"] == 2 * datasets
    files = calls["package_revise"] - datasets  # the other package_revise is each dataset's release
    per_table = files + calls["datastore_create"] + calls["package_create_default_resource_views"]
    assert per_table <= 3 * tables, calls
    assert sum(calls.values()) == report["requests"] == 3 + 2 * datasets + per_table, calls
    # Recorded: every table's digest is on its resource, and the next plan finds nothing to do.
    for name in names(publisher.catalogue).values():
        package = ckan.action.package_show(id=name)
        assert package["private"] is False
        assert all(r["datastore_digest"] and r["datastore_active"] for r in package["resources"])
    code, again = publisher.json("diff")
    assert {a["action"] for a in again["actions"]} == {"unchanged"}


def test_a_first_publish_without_datastore_costs_2_requests_per_dataset(
    publisher: Publisher, catalogue: Path, ckan_url: str, ckan: ckanapi.RemoteCKAN
) -> None:
    """package_create (private), then one package_revise that adds all the dataset's resources with
    their files and makes it public in the same CKAN transaction; CKAN stores them as it stores a
    resource_create upload (size, mimetype, url_type), in catalogue order."""
    proxy = FaultProxy(ckan_url, no_faults)
    try:
        code, report = publisher.json("push", "--yes", "--no-datastore", env={"CKAN_URL": proxy.start()})
    finally:
        proxy.stop()
    assert code == 0, report
    calls = Counter(path.split("?")[0].rsplit("/", 1)[-1] for _, _, path, _ in proxy.log)
    datasets = len(DATASETS)
    assert calls == Counter(
        organization_list_for_user=1, license_list=1, package_search=1, package_create=datasets, package_revise=datasets
    )
    for key, name in names(catalogue).items():
        package = ckan.action.package_show(id=name)
        assert package["private"] is False
        files = sorted((catalogue / "datasets" / key).glob("*.csv"))
        assert len(package["resources"]) == len(files)
        for resource in package["resources"]:
            assert resource["url_type"] == "upload" and resource["mimetype"] == "text/csv"
            assert (
                int(resource["size"])
                == (catalogue / "datasets" / key / resource["url"].rsplit("/", 1)[-1]).stat().st_size
            )
    code, rerun = publisher.json("push", "--yes", "--no-datastore")
    assert code == 0 and rerun["requests"] == 3 and {a["action"] for a in rerun["actions"]} == {"unchanged"}
