"""Data Package → CKAN package dicts (pure)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import publish
from publish.mapping import (
    IDENTITY_FIELD,
    MANAGED_BY,
    MANAGED_EXTRAS,
    DesiredPackage,
    desired_state,
    file_digest,
    portal_schema,
    reader_names,
)
from tests.conftest import REPO


def test_file_digest_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n" * 100_000)
    digest = file_digest(path, chunk_size=4096)
    assert digest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest.md5 == hashlib.md5(path.read_bytes()).hexdigest()
    assert digest.size == 400_000


def shipped(name: str) -> DesiredPackage:
    """The desired state of one dataset of the shipped catalogue, by its CKAN name."""
    return next(p for p in desired_state(publish.load_catalogue(REPO)) if p.name == name)


def test_shipped_catalogue_maps_to_nine_packages() -> None:
    packages = desired_state(publish.load_catalogue(REPO))
    assert [p.name for p in packages] == [
        "digital-interkommunal-handlungsfelder",
        "digital-interkommunal-foerderung",
        "digital-interkommunal-ziele",
        "digital-interkommunal-meilensteine",
        "digital-interkommunal-kommunen",
        "digital-interkommunal-partner",
        "digital-interkommunal-phasen",
        "digital-interkommunal-projekte",
        "digital-interkommunal-quellen",
    ]
    projects = shipped("digital-interkommunal-projekte")
    assert projects.fields["owner_org"] == "digital-interkommunal"
    assert projects.fields["license_id"] == "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
    assert projects.fields["url"] == "https://digital-interkommunal.de/"
    assert "Kalletal" in projects.fields["tags"]
    assert [r.identity for r in projects.resources] == ["projects", "project_partners"]


def test_dcat_extras() -> None:
    phases, projects = shipped("digital-interkommunal-phasen"), shipped("digital-interkommunal-projekte")
    extras = projects.fields["extras"]
    assert set(extras) <= set(MANAGED_EXTRAS)
    assert extras["managed_by"] == MANAGED_BY
    assert json.loads(extras["politicalGeocodingURI"]) == [
        "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/05766044",
        "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/05766036",
    ]
    assert extras["politicalGeocodingLevelURI"].endswith("/Level/municipality")
    assert json.loads(extras["theme"])[0] == "http://publications.europa.eu/resource/authority/data-theme/GOVE"
    assert json.loads(extras["language"]) == ["http://publications.europa.eu/resource/authority/language/DEU"]
    assert (extras["temporal_start"], extras["temporal_end"]) == ("2021-01-01", "2027-11-30")
    assert "temporal_end" not in phases.fields["extras"]  # open-ended: unknown stays empty
    assert extras["publisher_type"] == "http://purl.org/adms/publishertype/LocalAuthority"
    assert all(isinstance(v, str) for v in extras.values())


def test_resource_fields_carry_digest_and_schema() -> None:
    projects = shipped("digital-interkommunal-projekte")
    resource = projects.resources[0]
    data = (REPO / "datasets/projects/projects.csv").read_bytes()
    # hash: bare md5 (what Frictionless reads an unprefixed hash as; hexBinary for ckanext-dcat),
    # named by its SPDX algorithm URI; the sha256 this tool compares by in a field of its own.
    assert resource.fields["hash"] == hashlib.md5(data).hexdigest()
    assert resource.fields["hash_algorithm"] == "http://spdx.org/rdf/terms#checksumAlgorithm_md5"
    assert resource.fields["sha256"] == hashlib.sha256(data).hexdigest()
    assert resource.fields["size"] == len(data)
    assert resource.fields[IDENTITY_FIELD] == "projects"
    assert resource.fields["name"] == "Projekte"
    schema = json.loads(resource.fields["schema"])
    local = json.loads((REPO / "schemas/projects.schema.json").read_text())
    # The same schema, but a key to another dataset names it by its CKAN name, not its folder.
    assert [k["reference"]["package"] for k in local["catalogueForeignKeys"]] == ["phases", "fields_of_action"]
    assert [k["reference"]["package"] for k in schema["catalogueForeignKeys"]] == [
        "digital-interkommunal-phasen",
        "digital-interkommunal-handlungsfelder",
    ]
    assert [k["fields"] for k in schema["catalogueForeignKeys"]] == [k["fields"] for k in local["catalogueForeignKeys"]]
    assert {k: v for k, v in schema.items() if k != "catalogueForeignKeys"} == {
        k: v for k, v in local.items() if k != "catalogueForeignKeys"
    }
    assert resource.schema == local  # the DataStore and validation keep using the catalogue's own


def test_keys_inside_a_dataset_name_resources_as_the_ckan_reader_does() -> None:
    (projects,) = [p for p in desired_state(publish.load_catalogue(REPO)) if p.name == "digital-interkommunal-projekte"]
    (partners_table,) = [r for r in projects.resources if r.identity == "project_partners"]
    local = json.loads((REPO / "schemas/project_partners.schema.json").read_text())
    assert [k["reference"]["resource"] for k in local["foreignKeys"]] == ["projects"]
    stored = json.loads(partners_table.fields["schema"])
    # On the portal the table "projects" is the resource named "Projekte": the reader calls it "projekte".
    assert [k["reference"]["resource"] for k in stored["foreignKeys"]] == ["projekte"]
    assert [k["fields"] for k in stored["foreignKeys"]] == [k["fields"] for k in local["foreignKeys"]]
    assert partners_table.schema == local


@pytest.mark.parametrize(
    "titles",
    [
        ["Projekte", "Projektpartner"],
        ["project_partners", "Übersicht 2024", "Straße & Wege", "Bürger's Meinung", "a.b|c", "  x  "],
        ["Zähler (€)", "Œuvre – Teil 1", "-x-", "1.2.csv"],
        ["Phasen", "Phasen", "", None, "phasen"],
    ],
)
def test_reader_names_are_the_names_frictionless_ckan_reader_gives(titles: list[str | None]) -> None:
    # The reader's own two steps: frictionless-ckan-mapper, then the adapter's slugify.
    from frictionless import helpers
    from frictionless_ckan_mapper import ckan_to_frictionless

    package = {"license_id": "cc-by", "resources": [{"name": t} if t is not None else {} for t in titles]}
    expected = [helpers.slugify(r["name"]) for r in ckan_to_frictionless.dataset(package)["resources"]]
    assert reader_names(titles) == expected


def test_portal_schema_leaves_self_references_and_unknown_resources_alone() -> None:
    schema = {
        "fields": [{"name": "id"}, {"name": "parent"}, {"name": "other"}],
        "foreignKeys": [
            {"fields": ["parent"], "reference": {"resource": "", "fields": ["id"]}},
            {"fields": ["other"], "reference": {"resource": "elsewhere", "fields": ["id"]}},
            {"fields": ["other"], "reference": {"resource": "projects", "fields": ["id"]}},
        ],
    }
    renamed = portal_schema(schema, {}, {"projects": "projekte"})
    assert [k["reference"]["resource"] for k in renamed["foreignKeys"]] == ["", "elsewhere", "projekte"]
    assert schema["foreignKeys"][2]["reference"]["resource"] == "projects"  # the input is not changed


def test_dataset_licence_overrides_the_default(catalogue_dir: Path) -> None:
    descriptor = catalogue_dir / "datasets/partners/datapackage.yaml"
    descriptor.write_text(
        descriptor.read_text()
        + "licenses:\n  - name: cc-by-4.0\n    path: http://dcat-ap.de/def/licenses/cc-by/4.0\n    title: CC BY 4.0\n"
    )
    catalogue = publish.load_catalogue(catalogue_dir)
    assert publish.validate(catalogue).valid
    partners = desired_state(catalogue)[0]
    assert partners.fields["license_id"] == "http://dcat-ap.de/def/licenses/cc-by/4.0"
    assert partners.resources[0].fields["license"] == "http://dcat-ap.de/def/licenses/cc-by/4.0"


def test_a_yaml_table_schema_maps_as_it_validates(catalogue_dir: Path) -> None:
    """Regression: a YAML schema passed validate, then mapping read it again with json.loads and crashed."""
    import yaml

    schema = json.loads((catalogue_dir / "schemas/phases.schema.json").read_text(encoding="utf-8"))
    (catalogue_dir / "schemas/phases.schema.json").unlink()
    (catalogue_dir / "schemas/phases.schema.yaml").write_text(yaml.safe_dump(schema, allow_unicode=True))
    descriptor = catalogue_dir / "datasets/phases/datapackage.json"
    descriptor.write_text(descriptor.read_text().replace("phases.schema.json", "phases.schema.yaml"))
    catalogue = publish.load_catalogue(catalogue_dir)
    assert publish.validate(catalogue).valid
    (phases,) = [p for p in desired_state(catalogue) if p.name.endswith("phasen")]
    assert phases.resources[0].schema == schema
    assert json.loads(phases.resources[0].fields["schema"])["fields"] == schema["fields"]


def test_each_schema_file_is_read_once_per_catalogue(catalogue_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """validate and the mapping share the catalogue's parsed schemas: no second reader."""
    reads: list[str] = []
    read_text, read_bytes = Path.read_text, Path.read_bytes

    def counting_text(self: Path, *args: Any, **kwargs: Any) -> str:
        reads.append(self.name)
        return read_text(self, *args, **kwargs)

    def counting_bytes(self: Path) -> bytes:
        reads.append(self.name)
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_text", counting_text)
    monkeypatch.setattr(Path, "read_bytes", counting_bytes)
    catalogue = publish.load_catalogue(catalogue_dir)
    publish.validate(catalogue)
    desired_state(catalogue)
    schemas = [name for name in reads if name.endswith(".schema.json")]
    assert schemas and len(schemas) == len(set(schemas)), schemas
