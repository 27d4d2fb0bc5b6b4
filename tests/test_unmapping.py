"""CKAN package dict → Data Package descriptor (pure): the inverse of mapping.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import publish
from publish.mapping import DesiredPackage, desired_state, package_licence, portal_schema
from publish.unmapping import expected_digest, safe_filename, safe_name, unmap_package
from tests.conftest import REPO

PORTAL = "https://opendata.example.de"


def as_ckan_package(desired: DesiredPackage) -> dict[str, Any]:
    """The desired package shaped as package_show returns it (tags and extras as lists, URLs)."""
    fields = desired.fields
    package = {k: v for k, v in fields.items() if k not in ("tags", "extras")}
    package["id"] = f"id-{desired.name}"
    package["tags"] = [{"name": t, "display_name": t} for t in fields["tags"]]
    package["extras"] = [{"key": k, "value": v} for k, v in fields["extras"].items()]
    package["license_title"] = "Datenlizenz Deutschland Namensnennung 2.0"
    package["resources"] = [
        {
            **r.fields,
            "id": f"r{i}",
            "url_type": "upload",
            "url": f"{PORTAL}/dataset/{package['id']}/resource/r{i}/download/{r.filename}",
        }
        for i, r in enumerate(desired.resources)
    ]
    return package


def expected_descriptor(catalogue: publish.Catalogue, dataset: publish.Dataset) -> dict[str, Any]:
    """What the pulled descriptor must say: the catalogue's own metadata, schemas inlined."""
    d = dataset.descriptor
    meta = catalogue.meta
    resources = []
    for spec in dataset.resources:
        data = catalogue.resolve(dataset, spec.path).read_bytes()
        schema = json.loads(catalogue.resolve(dataset, spec.schema or "").read_text(encoding="utf-8"))
        # Keys to other datasets name them as the portal does (the folders `pull` writes them to).
        schema = portal_schema(schema, {d.folder_name: d.descriptor["name"] for d in catalogue.datasets})
        resources.append(
            {
                **{k: v for k, v in spec.descriptor.items() if k != "schema"},
                "schema": schema,
                "hash": "sha256:" + __import__("hashlib").sha256(data).hexdigest(),
                "bytes": len(data),
            }
        )
    return {
        **{k: v for k, v in d.items() if k != "resources"},
        "keywords": sorted(d["keywords"]),
        "licenses": [
            {
                "name": "dl-by-de-2-0",
                "path": package_licence(catalogue, dataset),
                "title": "Datenlizenz Deutschland Namensnennung 2.0",
            }
        ],
        "language": meta["language"],
        "access_rights": meta["access_rights"],
        "geocoding": meta["geocoding"],
        "publisher": meta["publisher"],
        "contact": meta["contact"],
        "sources": [{"title": "CKAN", "path": f"{PORTAL}/dataset/{d['name']}"}],
        "resources": resources,
    }


def test_shipped_catalogue_round_trips_through_ckan() -> None:
    catalogue = publish.load_catalogue(REPO)
    for dataset, desired in zip(catalogue.datasets, desired_state(catalogue), strict=True):
        remote = unmap_package(as_ckan_package(desired), PORTAL)
        assert remote.descriptor == expected_descriptor(catalogue, dataset)
        assert remote.managed is True
        assert remote.notes == []
        assert remote.folder == desired.name
        for resource, local in zip(remote.resources, desired.resources, strict=True):
            assert (resource.name, resource.filename) == (local.identity, local.filename)
            assert (resource.expected.sha256, resource.expected.size) == (local.digest.sha256, local.digest.size)
            assert resource.url and resource.url.endswith("/" + local.filename)


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../x", "x.csv"),
        ("/etc/passwd", "passwd.csv"),
        ("C:\\x", "x.csv"),
        ("..\\..\\escape.csv", "escape.csv"),
        ("", "fallback.csv"),
        ("..", "fallback.csv"),
        (".hidden", "hidden.csv"),
        ("datapackage.json", "fallback.csv"),
        ("CON.csv", "fallback.csv"),
        ("Übersicht 2024.csv", "Ubersicht_2024.csv"),
        ("projects.csv", "projects.csv"),
    ],
)
def test_hostile_file_names_become_safe(raw: str, safe: str, tmp_path: Path) -> None:
    name = safe_filename(raw, fallback="fallback", extension="csv")
    assert name == safe
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()
    assert not name.startswith(".") and "/" not in name and "\\" not in name


def test_hostile_resource_names_and_urls_stay_one_segment() -> None:
    package = {
        "name": "fremd",
        "resources": [
            {"id": "a", "name": "../../x", "url": "https://elsewhere.example/dl/..%2F..%2Fx.csv", "format": "CSV"},
            {"id": "b", "datapackage_resource": "/etc/passwd", "url": "https://elsewhere.example/a/b/", "format": ""},
            {"id": "c", "name": "x", "url": "https://elsewhere.example/datapackage.json", "format": "JSON"},
            {"id": "d", "name": "X", "url": "https://elsewhere.example/x.csv", "format": "csv"},
        ],
    }
    remote = unmap_package(package)
    names = [r.name for r in remote.resources]
    files = [r.filename for r in remote.resources]
    assert names == ["x", "etc-passwd", "x-2", "x-3"]
    assert files == ["x.csv", "etc-passwd", "x-2.json", "x-2.csv"]
    assert [r["path"] for r in remote.descriptor["resources"]] == files


def test_foreign_package_without_our_fields_unmaps_with_notes() -> None:
    package = {
        "name": "baumkataster",
        "title": "Baumkataster",
        "license_id": "cc-by",
        "license_title": "Creative Commons Attribution",
        "license_url": "http://www.opendefinition.org/licenses/cc-by",
        "tags": [{"name": "Bäume"}],
        "resources": [
            {"id": "1", "name": "Bäume 2024", "url": "https://x.example/baeume.csv", "format": "CSV", "size": 10},
            {"id": "2", "name": "Karte", "url": "https://x.example/karte", "format": "HTML"},
            {"id": "3", "name": "Leer", "url": "", "format": "CSV", "schema": "{broken"},
        ],
    }
    remote = unmap_package(package)
    d = remote.descriptor
    assert d["licenses"] == [
        {
            "name": "cc-by",
            "path": "http://www.opendefinition.org/licenses/cc-by",
            "title": "Creative Commons Attribution",
        }
    ]
    assert d["keywords"] == ["Bäume"]
    assert not {"themes", "temporal", "publisher", "contact", "identifier"} & set(d)
    assert remote.managed is False
    trees, card, empty = remote.resources
    assert (trees.name, trees.filename, trees.tabular, trees.schema) == ("baume-2024", "baeume.csv", True, None)
    assert "schema" not in d["resources"][0]
    assert any("no Table Schema" in n for n in trees.notes)
    assert any("size only" in n for n in trees.notes)
    assert card.tabular is False and any("cannot be verified" in n for n in card.notes)
    assert empty.url is None and any("no file to download" in n for n in empty.notes)
    assert any("not valid JSON" in n for n in empty.notes)


def test_scheming_style_top_level_extras_are_read() -> None:
    package = {"name": "x", "temporal_start": "2020-01-01", "theme": ["http://example.org/own-theme"]}
    d = unmap_package(package).descriptor
    assert d["temporal"] == {"start": "2020-01-01"}
    assert d["themes"] == ["http://example.org/own-theme"]


@pytest.mark.parametrize(
    ("resource", "sha256", "md5", "size"),
    [
        ({"hash": "sha256:" + "AB" * 32, "size": "12"}, "ab" * 32, None, 12),
        # As this tool stores it: md5 in hash (named by its SPDX URI), sha256 in a field of its own.
        (
            {
                "sha256": "AB" * 32,
                "hash": "cd" * 16,
                "hash_algorithm": "http://spdx.org/rdf/terms#checksumAlgorithm_md5",
            },
            "ab" * 32,
            "cd" * 16,
            None,
        ),
        ({"hash": "cd" * 16}, None, "cd" * 16, None),
        ({"hash": "ab" * 32}, "ab" * 32, None, None),
        ({"sha256": "not a digest", "hash": "md5:" + "cd" * 16}, None, "cd" * 16, None),
        ({"hash": "ab" * 16, "hash_algorithm": "md5"}, None, "ab" * 16, None),
        (
            {"hash": "ab" * 32, "hash_algorithm": "http://spdx.org/rdf/terms#checksumAlgorithm_sha256"},
            "ab" * 32,
            None,
            None,
        ),
        ({"hash": "ab" * 32, "hash_algorithm": "sha512"}, None, None, None),
        ({"hash": "not a digest", "size": "n/a"}, None, None, None),
        ({"size": -1}, None, None, None),
    ],
)
def test_expected_digest_trusts_only_what_it_can_check(
    resource: dict[str, Any], sha256: str | None, md5: str | None, size: int | None
) -> None:
    digest = expected_digest(resource)
    assert (digest.sha256, digest.md5, digest.size) == (sha256, md5, size)


def test_safe_name_is_a_valid_resource_name() -> None:
    assert safe_name("Projekte & Partner (2024)", "r") == "projekte-partner-2024"
    assert safe_name("../..", "r") == "r"


def test_keys_inside_a_dataset_come_back_with_the_pulled_names() -> None:
    catalogue = publish.load_catalogue(REPO)
    (projects,) = [p for p in desired_state(catalogue) if p.name == "digital-interkommunal-projekte"]
    assert [r.identity for r in projects.resources] == ["projects", "project_partners"]
    package = as_ckan_package(projects)
    stored = json.loads(package["resources"][1]["schema"])
    assert stored["foreignKeys"][0]["reference"]["resource"] == "projekte"  # as the CKAN reader names "Projekte"
    (_, partners_table) = unmap_package(package, PORTAL).descriptor["resources"]
    assert partners_table["name"] == "project_partners"
    assert partners_table["schema"]["foreignKeys"][0]["reference"]["resource"] == "projects"


def test_keys_of_other_portals_resolve_to_the_pulled_names() -> None:
    # A portal without datapackage_resource: pulled names come from the CKAN names, keys follow them.
    schema = {
        "fields": [{"name": "id"}, {"name": "area"}],
        "foreignKeys": [{"fields": ["area"], "reference": {"resource": "stadt-teile", "fields": ["id"]}}],
    }
    package = {
        "name": "baume",
        "resources": [
            {"id": "a", "name": "stadt_teile", "url": f"{PORTAL}/a.csv", "format": "CSV"},
            {"id": "b", "name": "Bäume", "url": f"{PORTAL}/b.csv", "format": "CSV", "schema": json.dumps(schema)},
        ],
    }
    (areas, trees) = unmap_package(package).descriptor["resources"]
    assert trees["schema"]["foreignKeys"][0]["reference"]["resource"] == areas["name"] == "stadt_teile"


def test_a_schema_nested_50000_deep_is_left_out_with_a_note() -> None:
    from publish.unmapping import resource_schema

    schema, note = resource_schema("[" * 50_000 + "]" * 50_000)
    assert schema is None
    assert note is not None and "nested deeper than" in note
