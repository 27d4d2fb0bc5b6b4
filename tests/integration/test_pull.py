"""`publish pull` and `publish.load` against the real local CKAN.

Each test publishes the shipped catalogue into an organization of its own (as test_push.py does)
and pulls it back: nothing here is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ckanapi
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import publish
from publish.cli_pull import pull
from publish.mapping import file_digest, portal_schema
from publish.portal import Portal
from publish.pull import DigestMismatchError
from tests.integration.conftest import _state_dir
from tests.integration.publishing import DATASETS, Publisher, make_catalogue, names


class Puller:
    """Runs ``publish pull`` in-process, with or without the editor's token."""

    def __init__(self, url: str, token: str | None) -> None:
        self.env = {"CKAN_URL": url, "CKAN_API_TOKEN": token or ""}

    def json(self, *args: str, token: bool = True) -> tuple[int, dict[str, Any]]:
        env = self.env if token else {**self.env, "CKAN_API_TOKEN": ""}
        result = CliRunner().invoke(pull, [*args, "--json"], env=env)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        try:
            return result.exit_code, json.loads(result.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"not JSON (exit {result.exit_code}): {result.stdout}\n{result.stderr}") from None


@pytest.fixture
def published(tmp_path: Path, organization: str, ckan_url: str, ckan_api_token: str) -> Path:
    """The shipped catalogue, pushed into the test's organization."""
    catalogue = make_catalogue(tmp_path, organization)
    code, report = Publisher(catalogue, ckan_url, ckan_api_token, tmp_path / "locks").json("push", "--yes")
    assert code == 0 and report["ok"], report
    return catalogue


@pytest.fixture
def puller(ckan_url: str, ckan_api_token: str) -> Puller:
    return Puller(ckan_url, ckan_api_token)


def descriptor_of(catalogue: Path, key: str) -> dict[str, Any]:
    return yaml.safe_load((catalogue / "datasets" / key / "datapackage.yaml").read_text(encoding="utf-8"))


def no_leftovers(folder: Path) -> list[str]:
    """Temporary download files anywhere below ``folder`` (there must be none)."""
    return [str(p) for p in folder.rglob(".publish-part-*")]


def test_pull_all_gives_valid_identical_data_packages(
    published: Path, puller: Puller, organization: str, tmp_path: Path
) -> None:
    to = tmp_path / "pulled"
    code, report = puller.json("--all", "--organization", organization, "--to", str(to), token=False)
    assert code == 0, report
    assert report["ok"] and report["valid"] and report["errors"] == []
    # every row of the published catalogue, as validate counts it
    assert report["checked"]["rows"] == publish.validate(publish.load_catalogue(published)).rows > 100
    pulled_names = names(published)
    assert sorted(d["dataset"] for d in report["datasets"]) == sorted(pulled_names.values())
    for key in DATASETS:
        folder = to / pulled_names[key]
        local = descriptor_of(published, key)
        result = subprocess.run(
            [sys.executable, "-m", "frictionless", "validate", "--json", str(folder / "datapackage.json")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0 and json.loads(result.stdout)["valid"] is True, result.stdout[-2000:]
        pulled = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        assert pulled["title"] == local["title"]
        assert pulled["description"] == local["description"]
        assert pulled["keywords"] == sorted(local["keywords"])
        assert pulled["licenses"][0]["path"] == "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
        assert pulled["themes"] == local["themes"]
        assert pulled["temporal"] == local["temporal"]
        for resource, spec in zip(pulled["resources"], local["resources"], strict=True):
            assert resource["name"] == spec["name"]
            assert (folder / resource["path"]).read_bytes() == (
                published / "datasets" / key / spec["path"]
            ).read_bytes()
            schema = json.loads((published / "datasets" / key / spec["schema"]).read_text(encoding="utf-8"))
            assert resource["schema"] == portal_schema(schema, names(published))
    # A rerun finds every file present with the right digest and downloads nothing.
    code, again = puller.json("--all", "--organization", organization, "--to", str(to))
    assert code == 0
    assert {f["outcome"] for d in again["datasets"] for f in d["files"]} == {"present"}
    assert again["bytes_downloaded"] == 0
    assert no_leftovers(to) == []


def test_pull_checks_keys_between_the_datasets_it_pulled(
    published: Path, puller: Puller, organization: str, ckan: ckanapi.RemoteCKAN, tmp_path: Path
) -> None:
    pulled_names = names(published)
    # Alone, projects cannot check its keys to phases and partners, and says so.
    code, report = puller.json(pulled_names["projects"], "--to", str(tmp_path / "alone"))
    assert code == 0, report
    (alone,) = report["datasets"]
    (note,) = [n for n in alone["notes"] if "not checked" in n]
    assert pulled_names["phases"] in note and pulled_names["partners"] in note

    # Someone replaces the phases table on the portal (digest and all) by one without
    # 'strategiephase', which a project still refers to: pulled together, that is found.
    lines = (published / "datasets/phases/phases.csv").read_bytes().splitlines(keepends=True)
    shorter = tmp_path / "phases.csv"
    shorter.write_bytes(b"".join(line for line in lines if not line.startswith(b"strategiephase,")))
    resource = ckan.action.package_show(id=pulled_names["phases"])["resources"][0]
    with shorter.open("rb") as upload:
        ckan.action.resource_patch(
            id=resource["id"],
            upload=upload,
            hash=file_digest(shorter).md5,
            sha256=file_digest(shorter).sha256,
            size=shorter.stat().st_size,
        )
    code, report = puller.json("--all", "--organization", organization, "--to", str(tmp_path / "all"))
    assert code == 1, report
    assert all("not checked" not in n for d in report["datasets"] for n in d["notes"])
    (error,) = report["errors"]
    assert (error["code"], error["field"], error["value"]) == ("foreign-key", "phase", "strategiephase")
    assert error["file"] == f"{pulled_names['projects']}/projects.csv"
    assert pulled_names["phases"] in error["message"]


def test_load_gives_schema_dtypes_and_caches_by_digest(
    published: Path, organization: str, ckan_url: str, tmp_path: Path
) -> None:
    portal = Portal(ckan_url)  # anonymous: the data is public
    downloads: list[str] = []
    portal.session.hooks["response"].append(
        lambda r, *a, **k: downloads.append(r.url) if "/download/" in r.url else None
    )
    cache = tmp_path / "cache"
    projects = publish.load("projects", portal=portal, organization=organization, cache_dir=cache)
    expected = {
        "id": pd.StringDtype(),
        "name": pd.StringDtype(),
        "parent_id": pd.StringDtype(),
        "field_of_action": pd.CategoricalDtype(
            [
                "Gesundheit",
                "Daten-Infrastruktur-Innovation",
                "Lebensmittel",
                "Campus-Quartier-Wohnen",
                "Umwelt",
                "Mobilität",
            ]
        ),
        "municipality": pd.CategoricalDtype(["Lemgo", "Kalletal", "Lemgo und Kalletal"]),
        "phase": pd.CategoricalDtype(["strategiephase", "umsetzungsphase", "fortfuehrung"]),
        "status": pd.CategoricalDtype(["geplant", "in Umsetzung", "umgesetzt"]),
        "quick_win": pd.BooleanDtype(),
        "start_year": pd.Int64Dtype(),
        "description": pd.StringDtype(),
        "source_url": pd.StringDtype(),
        "source_date": "datetime64[ns]",
    }
    assert list(projects.columns) == list(expected)
    for field, dtype in expected.items():
        assert projects[field].dtype == dtype, field
    local = pd.read_csv(published / "datasets/projects/projects.csv", dtype=str, keep_default_na=False)
    assert projects["id"].tolist() == local["id"].tolist()
    assert len(downloads) == 1

    phases = publish.load(names(published)["phases"], portal=portal, cache_dir=cache)
    assert phases["position"].dtype == pd.Int64Dtype() and phases["start"].dtype == pd.PeriodDtype("M")
    assert len(downloads) == 2

    # Second loads: the files come from the cache (by sha256), not from the portal.
    again = publish.load("projects", portal=portal, organization=organization, cache_dir=cache)
    package = publish.load_package(names(published)["projects"], portal=portal, cache_dir=cache)
    assert len(downloads) == 3  # only project_partners was new
    pd.testing.assert_frame_equal(again, projects)
    assert list(package) == ["projects", "project_partners"]
    loaded = ("phases/phases.csv", "projects/projects.csv", "projects/project_partners.csv")
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        file_digest(published / "datasets" / f).sha256 for f in loaded
    )


def test_load_from_a_pulled_folder_equals_load_from_the_portal(
    published: Path, puller: Puller, organization: str, ckan_url: str, tmp_path: Path
) -> None:
    to = tmp_path / "pulled"
    assert puller.json("--all", "--organization", organization, "--to", str(to))[0] == 0
    portal = Portal(ckan_url)
    for key in ("projects", "phases", "partners", "project_partners"):
        from_folder = publish.load(key, path=to)
        from_portal = publish.load(key, portal=portal, organization=organization, cache_dir=tmp_path / "cache")
        pd.testing.assert_frame_equal(from_folder.reset_index(drop=True), from_portal, check_like=False)


def storage_file(resource_id: str) -> Path:
    """Where the local portal keeps an uploaded file (CKAN's default file storage layout)."""
    path = _state_dir() / "storage" / "resources" / resource_id[:3] / resource_id[3:6] / resource_id[6:]
    if not path.is_file():
        pytest.skip(f"the portal's file storage is not on this machine ({path})")
    return path


def test_a_file_changed_behind_the_tools_back_is_detected_and_not_kept(
    published: Path, puller: Puller, ckan: ckanapi.RemoteCKAN, tmp_path: Path
) -> None:
    phases_name = names(published)["phases"]
    resource = ckan.action.package_show(id=phases_name)["resources"][0]
    stored = storage_file(resource["id"])
    original = stored.read_bytes()
    # Same size, different content: only the sha256 can tell.
    stored.write_bytes(original.replace(b"Strategiephase", b"Strategiefase!"))
    assert len(stored.read_bytes()) == len(original)
    to = tmp_path / "pulled"
    code, report = puller.json(phases_name, "--to", str(to))
    assert code == 3
    (failed,) = report["datasets"][0]["files"]
    assert failed["outcome"] == "failed"
    assert "phases.csv" in failed["detail"] and "sha256" in failed["detail"]
    assert not (to / phases_name / "phases.csv").exists()
    assert no_leftovers(to) == []
    with pytest.raises(DigestMismatchError, match=r"phases\.csv"):
        publish.load(phases_name, portal=Portal(puller.env["CKAN_URL"]), cache_dir=tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []

    # Longer than the portal says: stopped by size, and a stale local copy is not kept either.
    stored.write_bytes(original + b"extra,row\n")
    (to / phases_name / "phases.csv").write_bytes(b"stale")
    code, report = puller.json(phases_name, "--to", str(to))
    assert code == 3 and "size" in report["datasets"][0]["files"][0]["detail"]
    assert not (to / phases_name / "phases.csv").exists()

    stored.write_bytes(original)  # put right again: the next pull is whole
    code, report = puller.json(phases_name, "--to", str(to))
    assert code == 0 and (to / phases_name / "phases.csv").read_bytes() == original


def test_hostile_resource_names_stay_inside_the_target(
    ckan: ckanapi.RemoteCKAN, organization: str, puller: Puller, ckan_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "werte.csv"
    source.write_bytes(b"a,b\n1,x\n")
    package = ckan.action.package_create(name=f"feindlich-{organization}", owner_org=organization)
    with source.open("rb") as handle:
        upload = ckan.action.resource_create(package_id=package["id"], name="werte", upload=handle)
    prefix = upload["url"].rsplit("/download/", 1)[0] + "/download/"
    # The portal serves the file under any name after /download/: these URLs all work.
    hostile = [
        ("../../x", prefix + "..%5C..%5Cescape.csv"),
        ("/etc/passwd", prefix + "%5Cetc%5Cpasswd"),
        ("C:\\windows\\x", prefix + "C:%5Cwindows%5Cx.csv"),
        ("datapackage", prefix + "datapackage.json"),
    ]
    for name, url in hostile:
        ckan.action.resource_create(
            package_id=package["id"], name=name, datapackage_resource=name, url=url, format="CSV"
        )
    to = tmp_path / "inner" / "pulled"
    code, report = puller.json(package["name"], "--to", str(to))
    assert code == 0, report
    files = [f["file"] for f in report["datasets"][0]["files"]]
    assert len(files) == 5 and all(f.count("/") == 1 for f in files)
    written = {p.resolve() for p in tmp_path.rglob("*") if p.is_file()} - {source.resolve()}
    assert written and all(p.is_relative_to(to.resolve()) for p in written)
    assert not any(p.name in ("escape.csv", "passwd", "x.csv") and "pulled" not in str(p) for p in tmp_path.rglob("*"))
    descriptor = json.loads((to / package["name"] / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["name"] == package["name"]  # the descriptor was not overwritten by a resource
    for resource in descriptor["resources"]:
        assert "/" not in resource["path"] and not resource["path"].startswith(".")
        assert (to / package["name"] / resource["path"]).read_bytes() == source.read_bytes()


def test_a_package_made_by_hand_still_pulls_with_a_clear_note(
    ckan: ckanapi.RemoteCKAN, organization: str, puller: Puller, tmp_path: Path
) -> None:
    source = tmp_path / "baeume.csv"
    source.write_bytes(b"art,anzahl\nLinde,12\nEiche,7\n")
    package = ckan.action.package_create(
        name=f"von-hand-{organization}", owner_org=organization, title="Bäume", private=True, license_id="cc-by"
    )
    with source.open("rb") as handle:
        upload = ckan.action.resource_create(package_id=package["id"], name="Bäume 2024", upload=handle)
    ckan.action.resource_create(package_id=package["id"], name="Verweis", url=upload["url"], format="CSV")
    assert not upload.get("hash") and not upload.get("schema")

    # Private: anonymous gets a clear "not found" naming the token, the editor's token gets it.
    code, report = puller.json(package["name"], "--to", str(tmp_path / "anon"), token=False)
    assert code == 3 and "CKAN_API_TOKEN" in report["datasets"][0]["error"]
    to = tmp_path / "pulled"
    code, report = puller.json(package["name"], "--to", str(to))
    assert code == 0, report
    (pulled,) = report["datasets"]
    assert pulled["managed"] is False
    assert any("no Table Schema on the portal" in n for n in pulled["notes"])
    assert any("no sha256" in n for n in pulled["notes"])
    folder = to / package["name"]
    assert sorted(p.name for p in folder.iterdir()) == ["baeume-2.csv", "baeume.csv", "datapackage.json"]
    assert (folder / "baeume.csv").read_bytes() == source.read_bytes()
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in descriptor["resources"]] == ["baume-2024", "verweis"]
    assert all("schema" not in r for r in descriptor["resources"])
    assert descriptor["licenses"][0]["name"] == "cc-by"
    result = subprocess.run(
        [sys.executable, "-m", "frictionless", "validate", "--json", str(folder / "datapackage.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    # And it loads, types inferred by pandas.
    frame = publish.load("baume-2024", path=to)
    assert frame["anzahl"].tolist() == [12, 7]


def test_usage_errors_exit_2(puller: Puller, tmp_path: Path) -> None:
    assert puller.json("--to", str(tmp_path))[0] == 2
    assert puller.json("x", "--all", "--organization", "o")[0] == 2
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)  # no datasets/catalogue.yaml here: --all needs --organization
        code, report = puller.json("--all")
    finally:
        os.chdir(cwd)
    assert code == 2 and "--organization" in report["error"]


def test_pull_keeps_max_errors_problems_and_counts_them_all(
    published: Path, puller: Puller, ckan: ckanapi.RemoteCKAN, tmp_path: Path
) -> None:
    # The phases table on the portal gets every row twice: key errors in each repeated row.
    name = names(published)["phases"]
    original = (published / "datasets/phases/phases.csv").read_bytes()
    _header, *rows = original.splitlines(keepends=True)
    doubled = tmp_path / "phases.csv"
    doubled.write_bytes(original + b"".join(rows))
    resource = ckan.action.package_show(id=name)["resources"][0]
    with doubled.open("rb") as upload:
        digest = file_digest(doubled)
        ckan.action.resource_patch(
            id=resource["id"], upload=upload, hash=digest.md5, sha256=digest.sha256, size=doubled.stat().st_size
        )
    code, report = puller.json(name, "--to", str(tmp_path / "all"), "--max-errors", "0")
    assert code == 1, report
    everything = report["errors"]
    total = len(everything)
    assert total > 2 and "primary-key" in {e["code"] for e in everything}
    assert {e["row"] for e in everything} == set(range(len(rows) + 2, 2 * len(rows) + 2))
    assert (report["truncated"], report["total"]) == (False, total)
    code, report = puller.json(name, "--to", str(tmp_path / "all"), "--max-errors", "2")
    assert code == 1, report
    assert report["errors"] == everything[:2]
    assert (report["truncated"], report["total"]) == (True, total)
    result = CliRunner().invoke(pull, [name, "--to", str(tmp_path / "all"), "--max-errors", "2"], env=puller.env)
    assert result.exit_code == 1
    assert f"2 of {total} problems shown; --max-errors 0 shows all" in result.output
    assert f"✗ pulled, but {total} problem(s)" in result.output
