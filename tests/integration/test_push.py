"""`publish diff` and `publish push` against the real local CKAN.

Each test publishes the shipped catalogue into an organization of its own (dataset names get the
organization as suffix), so tests never see each other's datasets.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import ckanapi
import pytest
import requests
import yaml
from click.testing import CliRunner

from publish.cli import main
from publish.lock import RunLock
from publish.mapping import portal_schema, reader_names
from tests.integration.fault_proxy import FaultProxy
from tests.integration.publishing import DATASETS, TABLES, Publisher, loads, names, writes


def show_all(ckan: ckanapi.RemoteCKAN, catalogue: Path) -> dict[str, dict[str, Any]]:
    return {key: ckan.action.package_show(id=name) for key, name in names(catalogue).items()}


def test_first_publish_reads_back_field_by_field(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, organization: str, ckan_api_token: str
) -> None:
    code, plan = publisher.json("diff")
    assert code == 0
    assert {a["outcome"] for a in plan["actions"]} == {"planned"}
    assert [a["action"] for a in writes(plan)].count("create") == len(DATASETS) + len(TABLES)
    # Each new dataset is made public by its last action, after its files.
    releases = [(a["dataset"], a["detail"]) for a in writes(plan) if a["action"] == "update"]
    assert [d for d, _ in releases] == list(names(catalogue).values())  # in catalogue order
    assert all("made public" in detail for _, detail in releases)
    assert [a["resource"] for a in loads(plan)] == TABLES

    code, report = publisher.json("push", "--yes")
    assert code == 0 and report["ok"] is True, report
    creates = [(a["action"], a["outcome"]) for a in writes(report) if a["action"] == "create"]
    assert creates == [("create", "done")] * (len(DATASETS) + len(TABLES))
    assert {a["outcome"] for a in writes(report)} == {"done"}
    assert {a["outcome"] for a in loads(report)} == {"done"}
    assert report["bytes_uploaded"] == sum(p.stat().st_size for p in (catalogue / "datasets").glob("*/*.csv"))

    packages = show_all(ckan, catalogue)
    assert {p["private"] for p in packages.values()} == {False}
    projects = packages["projects"]
    descriptor = yaml.safe_load((catalogue / "datasets/projects/datapackage.yaml").read_text())
    assert projects["title"] == descriptor["title"]
    assert projects["notes"] == descriptor["description"]
    assert projects["license_id"] == "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
    assert projects["url"] == descriptor["homepage"]
    assert projects["organization"]["name"] == organization
    assert sorted(t["name"] for t in projects["tags"]) == sorted(descriptor["keywords"])
    extras = {e["key"]: e["value"] for e in projects["extras"]}
    assert extras["managed_by"] == "kalletal-lemgo-publish"
    assert extras["identifier"] == descriptor["identifier"]
    assert json.loads(extras["politicalGeocodingURI"])[0].endswith("/municipalityKey/05766044")
    assert extras["temporal_start"] == "2021-01-01"

    for key, package in packages.items():
        local = yaml.safe_load((catalogue / "datasets" / key / "datapackage.yaml").read_text())
        assert [r["datapackage_resource"] for r in package["resources"]] == [r["name"] for r in local["resources"]]
        keys, titles = [r["name"] for r in local["resources"]], [r["title"] for r in local["resources"]]
        for resource, spec in zip(package["resources"], local["resources"], strict=True):
            path = catalogue / "datasets" / key / spec["path"]
            data = path.read_bytes()
            assert resource["hash"] == hashlib.md5(data).hexdigest()
            assert resource["hash_algorithm"] == "http://spdx.org/rdf/terms#checksumAlgorithm_md5"
            assert resource["sha256"] == hashlib.sha256(data).hexdigest()
            assert int(resource["size"]) == len(data)
            assert resource["url_type"] == "upload"
            local_schema = json.loads((catalogue / "datasets" / key / spec["schema"]).read_text())
            assert json.loads(resource["schema"]) == portal_schema(
                local_schema, names(catalogue), dict(zip(keys, reader_names(titles), strict=True))
            )
            download = requests.get(resource["url"], headers={"Authorization": ckan_api_token}, timeout=30)
            assert download.status_code == 200
            assert download.content == data


def test_rerun_writes_nothing(publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN) -> None:
    assert publisher.json("push", "--yes")[0] == 0
    before = {k: p["metadata_modified"] for k, p in show_all(ckan, catalogue).items()}
    time.sleep(1.1)  # metadata_modified has sub-second precision; make any write visible
    code, report = publisher.json("push", "--yes")
    assert code == 0 and report["ok"]
    assert {a["action"] for a in report["actions"]} == {"unchanged"}
    assert report["bytes_uploaded"] == 0
    assert report["requests"] <= 3
    after = {k: p["metadata_modified"] for k, p in show_all(ckan, catalogue).items()}
    assert after == before
    code, out, _ = publisher.run("diff")
    assert code == 0 and "31 unchanged" in out and "Nothing was written" in out


def test_one_changed_cell_is_one_upload_to_the_same_resource(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN
) -> None:
    assert publisher.json("push", "--yes")[0] == 0
    before = show_all(ckan, catalogue)
    phases = catalogue / "datasets/phases/phases.csv"
    phases.write_text(
        phases.read_text().replace("Fortschreibung der Strategie", "Fortschreibung der Smart City-Strategie")
    )
    code, report = publisher.json("push", "--yes")
    assert code == 0
    (write,) = writes(report)
    assert (write["dataset"], write["resource"], write["action"], write["outcome"]) == (
        names(catalogue)["phases"],
        "phases",
        "upload",
        "done",
    )
    (load,) = loads(report)
    assert (load["resource"], load["outcome"], load["rows"]) == ("phases", "done", 1)  # the one changed row
    assert report["bytes_uploaded"] == phases.stat().st_size
    after = show_all(ckan, catalogue)
    assert [r["id"] for r in after["phases"]["resources"]] == [r["id"] for r in before["phases"]["resources"]]
    assert after["projects"]["metadata_modified"] == before["projects"]["metadata_modified"]
    assert after["partners"]["metadata_modified"] == before["partners"]["metadata_modified"]
    resource = after["phases"]["resources"][0]
    assert requests.get(resource["url"], timeout=30).content == phases.read_bytes()


def test_metadata_only_change_is_one_package_write(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN
) -> None:
    assert publisher.json("push", "--yes")[0] == 0
    descriptor = catalogue / "datasets/partners/datapackage.yaml"
    descriptor.write_text(descriptor.read_text().replace("title: Partner von", "title: Beteiligte Partner von"))
    code, report = publisher.json("push", "--yes")
    assert code == 0
    (write,) = writes(report)
    assert (write["resource"], write["action"], write["detail"]) == (None, "update", "fields: title")
    assert report["bytes_uploaded"] == 0
    assert ckan.action.package_show(id=names(catalogue)["partners"])["title"].startswith("Beteiligte Partner")


def test_an_edit_on_the_portal_during_the_run_is_not_overwritten(
    catalogue: Path, publisher: Publisher, ckan: ckanapi.RemoteCKAN, ckan_url: str, ckan_api_token: str
) -> None:
    from publish import Portal, load_catalogue
    from publish.push import execute, plan_for

    assert publisher.json("push", "--yes")[0] == 0
    descriptor = catalogue / "datasets/partners/datapackage.yaml"
    descriptor.write_text(descriptor.read_text().replace("title: Partner von", "title: Beteiligte Partner von"))
    portal = Portal(ckan_url, ckan_api_token)
    plan, _ = plan_for(load_catalogue(catalogue), portal)
    (update,) = plan.writes
    assert update.changes == ("title",)

    # Between the plan and its execution, someone adds an extra to the dataset by hand.
    name = names(catalogue)["partners"]
    package = ckan.action.package_show(id=name)
    by_hand = {"key": "hinweis_von_hand", "value": "bleibt"}
    ckan.action.package_patch(id=package["id"], extras=[*package["extras"], by_hand])

    result = execute(plan, portal)
    assert result.ok
    (outcome,) = [o for o in result.outcomes if o.action.writes]
    assert outcome.outcome == "done" and "recomputed" in outcome.detail
    after = ckan.action.package_show(id=name)
    assert after["title"].startswith("Beteiligte Partner")
    assert by_hand in [{"key": e["key"], "value": e["value"]} for e in after["extras"]]
    code, report = publisher.json("push", "--yes")
    assert code == 0 and writes(report) == []


def test_orphans_are_reported_and_pruned_only_on_request(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, organization: str, tmp_path: Path
) -> None:
    assert publisher.json("push", "--yes")[0] == 0
    by_hand = ckan.action.package_create(name=f"von-hand-{organization}", title="Von Hand", owner_org=organization)
    all_names = names(catalogue)
    # Drop the funding dataset and the municipalities' population table (kept aside to bring back):
    # no key and no row of the sources table points to them.
    kept = tmp_path / "kept"
    kept.mkdir()
    shutil.move(catalogue / "datasets/funding", kept / "funding")
    descriptor = catalogue / "datasets/municipalities/datapackage.yaml"
    original = descriptor.read_text()
    data = yaml.safe_load(original)
    data["resources"] = [r for r in data["resources"] if r["name"] != "population"]
    descriptor.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))

    code, report = publisher.json("push", "--yes")
    assert code == 0
    orphans = {(a["dataset"], a["resource"]) for a in report["actions"] if a["action"] == "orphan"}
    assert orphans == {(all_names["funding"], None), (all_names["municipalities"], "population")}
    assert writes(report) == []
    assert ckan.action.package_show(id=all_names["funding"])["state"] == "active"

    # A limit on deletions stops the whole run before it writes.
    code, report = publisher.json("push", "--yes", "--prune", "--max-deletes", "1")
    assert code == 2 and report["ok"] is False
    assert "deletes 2 datasets/resources" in report["error"] and all_names["funding"] in report["error"]
    assert ckan.action.package_show(id=all_names["funding"])["state"] == "active"

    code, report = publisher.json("push", "--yes", "--prune", "--max-deletes", "2")
    assert code == 0
    deleted = {(a["dataset"], a["resource"]) for a in writes(report)}
    assert deleted == orphans
    assert all(a["action"] == "delete" and a["outcome"] == "done" for a in writes(report))
    assert ckan.action.package_show(id=all_names["funding"])["state"] == "deleted"
    municipalities = ckan.action.package_show(id=all_names["municipalities"])
    assert [r["datapackage_resource"] for r in municipalities["resources"]] == ["municipalities"]
    assert ckan.action.package_show(id=by_hand["id"])["state"] == "active"  # never touched

    # Brought back, a pruned dataset is published again under its old name (the trash does not block it).
    shutil.move(kept / "funding", catalogue / "datasets/funding")
    descriptor.write_text(original)
    code, report = publisher.json("push", "--yes")
    assert code == 0, report
    assert {(a["dataset"], a["resource"]) for a in writes(report) if a["action"] == "create"} == {
        (all_names["funding"], None),
        (all_names["funding"], "funding"),
        (all_names["municipalities"], "population"),
    }
    assert ckan.action.package_show(id=all_names["funding"])["state"] == "active"
    code, report = publisher.json("push", "--yes")
    assert code == 0 and writes(report) == []


def test_invalid_catalogue_writes_nothing(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, organization: str
) -> None:
    projects = catalogue / "datasets/projects/projects.csv"
    projects.write_text(projects.read_text(encoding="utf-8").replace(",umgesetzt,", ",fertig,", 1), encoding="utf-8")
    code, report = publisher.json("push", "--yes")
    assert code == 1
    assert report["valid"] is False and report["ok"] is False
    assert any(e["field"] == "status" for e in report["errors"])
    found = ckan.action.package_search(fq=f'organization:"{organization}"', include_private=True)
    assert found["count"] == 0


def test_unknown_licence_on_the_portal_is_refused_before_writing(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, organization: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import publish.metadata_checks as checks

    # A licence our list knows but this portal's licence register does not.
    unknown = "http://dcat-ap.de/def/licenses/geonutz/20130319"
    monkeypatch.setitem(checks.LICENCES, unknown, "Nutzungsbestimmungen (test)")
    meta = catalogue / "datasets/catalogue.yaml"
    meta.write_text(meta.read_text().replace("http://dcat-ap.de/def/licenses/dl-by-de/2.0", unknown))
    code, report = publisher.json("push", "--yes")
    assert code == 1
    assert report["errors"][0]["code"] == "licence-unknown-to-portal"
    assert ckan.action.package_search(fq=f'organization:"{organization}"', include_private=True)["count"] == 0


def test_missing_organization_and_missing_rights(
    publisher: Publisher, catalogue: Path, ckan_sysadmin: ckanapi.RemoteCKAN, ckan_editor_name: str
) -> None:
    meta = catalogue / "datasets/catalogue.yaml"
    text = meta.read_text()
    meta.write_text(text.replace("name: test-", "name: nowhere-", 1))
    code, _out, err = publisher.run("push", "--yes")
    assert code == 3
    assert "organization 'nowhere-" in err and f"'{ckan_editor_name}'" in err

    meta.write_text(text)
    code, _out, err = publisher.run("push", "--yes", env={"CKAN_API_TOKEN": ""})
    assert code == 2 and "CKAN_API_TOKEN is not set" in err and "Nothing was written" in err

    other = f"other-{uuid.uuid4().hex[:10]}"
    ckan_sysadmin.action.organization_create(name=other)
    try:
        meta.write_text(text.replace("name: test-", f"name: {other}\n  # was: test-", 1))
        code, _out, err = publisher.run("push", "--yes")
        assert code == 3
        assert f"user '{ckan_editor_name}'" in err and f"organization '{other}'" in err
        assert "Nothing was written" in err
    finally:
        ckan_sysadmin.action.organization_purge(id=other)


def test_the_token_never_appears_in_any_output(
    publisher: Publisher, ckan_url: str, ckan_api_token: str, tmp_path: Path
) -> None:
    outputs = []
    # A bad token (403 from CKAN), a dead portal, a faulty proxy that always fails, and a good run.
    bad = "X" + ckan_api_token[1:]
    outputs += publisher.run("push", "--yes", env={"CKAN_API_TOKEN": bad})[1:]
    outputs += publisher.run("push", "--yes", "--json", env={"CKAN_API_TOKEN": bad})[1:]
    outputs += publisher.run("push", "--yes", "--timeout", "1", env={"CKAN_URL": "http://127.0.0.1:9"})[1:]
    proxy = FaultProxy(ckan_url, lambda n, m, p: "502" if n > 3 else None)
    try:
        url = proxy.start()
        code, out, err = publisher.run("push", "--yes", env={"CKAN_URL": url})
        assert code == 3
        outputs += [out, err]
    finally:
        proxy.stop()
    outputs += publisher.run("push", "--yes", "--json")[1:]
    outputs += [p.read_text() for p in (tmp_path / "locks").glob("*")]
    assert len(outputs) >= 10
    for text in outputs:
        assert ckan_api_token not in text
        assert bad not in text


def test_a_second_push_while_one_runs_exits_4(
    publisher: Publisher, organization: str, ckan: ckanapi.RemoteCKAN, ckan_url: str, tmp_path: Path
) -> None:
    """The lock is the organization's on that portal, whatever the URL's spelling: a run through
    http://localhost:PORT waits for one holding it through http://127.0.0.1:PORT."""
    org_id = ckan.action.organization_show(id=organization)["id"]
    other_spelling = ckan_url.replace("127.0.0.1", "localhost")
    assert other_spelling != ckan_url
    with RunLock(ckan_url, organization, tmp_path / "locks", organization_id=org_id):
        result = subprocess.run(
            [sys.executable, "-m", "publish", "push", "--yes", "--catalogue", str(publisher.catalogue)],
            env={**os.environ, **publisher.env, "CKAN_URL": other_spelling},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 4, result.stdout + result.stderr
    assert f'pid": {os.getpid()}' in result.stderr and organization in result.stderr
    # Once released, the next run goes ahead.
    assert publisher.json("push", "--yes")[0] == 0


FAULTS = ["502", "reset", "502-after", "hang", "429", "reset-after"]


def test_push_through_a_faulty_proxy_converges(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, ckan_url: str
) -> None:
    # Every second request fails, cycling through each kind of fault.
    proxy = FaultProxy(ckan_url, lambda n, m, p: FAULTS[(n // 2) % len(FAULTS)] if n % 2 == 0 else None)
    try:
        url = proxy.start()
        codes = []
        for _ in range(3):  # a failed run is safe to rerun; it must converge
            code, report = publisher.json("push", "--yes", "--timeout", "2", env={"CKAN_URL": url})
            codes.append(code)
            if code == 0:
                break
            assert code == 3, report
    finally:
        proxy.stop()
    assert codes[-1] == 0, codes
    assert set(FAULTS) <= set(proxy.faults())
    # Straight to the portal: nothing left to do, and no duplicates anywhere.
    code, report = publisher.json("diff")
    assert {a["action"] for a in report["actions"]} == {"unchanged"}, report
    for key, package in show_all(ckan, catalogue).items():
        local = yaml.safe_load((catalogue / "datasets" / key / "datapackage.yaml").read_text())
        assert [r["datapackage_resource"] for r in package["resources"]] == [r["name"] for r in local["resources"]]
    found = ckan.action.package_search(fq=f'organization:"{catalogue_org(catalogue)}"', include_private=True)
    assert found["count"] == len(DATASETS)


def test_a_first_publish_that_fails_half_way_leaves_nothing_public(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, ckan_url: str, organization: str
) -> None:
    # Every file upload of the first run fails (a new dataset's files go in a package_revise);
    # the datasets themselves are created.
    proxy = FaultProxy(ckan_url, lambda n, method, path: "502" if path.endswith("/package_revise") else None)
    try:
        code, report = publisher.json("push", "--yes", "--timeout", "5", env={"CKAN_URL": proxy.start()})
    finally:
        proxy.stop()
    assert code == 3
    releases = [a for a in report["actions"] if a["action"] == "update" and a["resource"] is None]
    assert len(releases) == len(DATASETS) and {a["outcome"] for a in releases} == {"skipped"}
    for name in names(catalogue).values():
        assert ckan.action.package_show(id=name)["private"] is True
    anonymous = ckanapi.RemoteCKAN(ckan_url)
    assert anonymous.action.package_search(fq=f'organization:"{organization}"')["count"] == 0

    # The rerun uploads the files first, then makes each dataset public.
    code, report = publisher.json("push", "--yes")
    assert code == 0, report
    done = [(a["resource"], a["action"]) for a in report["actions"] if a["dataset"] == names(catalogue)["phases"]]
    assert done == [(None, "unchanged"), ("phases", "create"), ("phases", "datastore"), (None, "update")]
    assert anonymous.action.package_search(fq=f'organization:"{organization}"')["count"] == len(DATASETS)
    code, report = publisher.json("push", "--yes")
    assert code == 0 and writes(report) == [] and report["requests"] <= 3


def test_tls_is_verified_and_a_private_ca_can_be_added(
    publisher: Publisher, catalogue: Path, ckan_url: str, tmp_path: Path
) -> None:
    # The real portal behind a TLS front whose certificate no public CA signed.
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    proxy = FaultProxy(ckan_url, lambda n, method, path: None, tls=context)
    try:
        url = proxy.start()
        assert url.startswith("https://")
        code, report = publisher.json("diff", env={"CKAN_URL": url})
        assert code == 3 and "--ca-bundle" in report["error"], report
        assert proxy.count == 0  # refused during the handshake: no request reached the portal
        code, report = publisher.json("diff", "--ca-bundle", str(cert), env={"CKAN_URL": url})
        assert code == 0, report
        assert report["requests"] == 3 and {a["outcome"] for a in report["actions"]} == {"planned"}
    finally:
        proxy.stop()


def catalogue_org(catalogue: Path) -> str:
    return yaml.safe_load((catalogue / "datasets/catalogue.yaml").read_text())["organization"]["name"]


def test_on_a_terminal_push_shows_the_plan_and_asks(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, organization: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("publish.cli._stdin_is_terminal", lambda: True)
    runner = CliRunner()
    declined = runner.invoke(main, ["push", "--catalogue", str(catalogue)], env=publisher.env, input="n\n")
    assert declined.exit_code == 2
    plan = f"Plan: {len(DATASETS) + len(TABLES)} create, {len(DATASETS)} update"
    assert "create" in declined.stdout and plan in declined.stdout
    assert "Write these changes to" in declined.output
    assert ckan.action.package_search(fq=f'organization:"{organization}"', include_private=True)["count"] == 0
    accepted = runner.invoke(main, ["push", "--catalogue", str(catalogue)], env=publisher.env, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert ckan.action.package_search(fq=f'organization:"{organization}"', include_private=True)["count"] == len(
        DATASETS
    )


def test_a_dataset_made_by_hand_with_our_name_stops_the_push(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, organization: str
) -> None:
    taken = names(catalogue)["phases"]
    ckan.action.package_create(name=taken, title="Von Hand", owner_org=organization)
    code, _out, err = publisher.run("push", "--yes")
    assert code == 2
    assert taken in err and "did not create" in err
    found = ckan.action.package_search(fq=f'organization:"{organization}"', include_private=True)
    assert [p["name"] for p in found["results"]] == [taken]  # nothing else was written
