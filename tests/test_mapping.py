"""Data Package → CKAN package dicts (pure)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import publish
from publish.mapping import MANAGED_BY, MANAGED_EXTRAS, RESOURCE_KEY, DesiredPackage, desired_state, file_digest
from tests.conftest import REPO


def test_file_digest_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n" * 100_000)
    digest = file_digest(path, chunk_size=4096)
    assert digest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
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
    assert [r.key for r in projects.resources] == ["projects", "project_partners"]


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
    assert resource.fields["hash"] == hashlib.sha256(data).hexdigest()
    assert resource.fields["size"] == len(data)
    assert resource.fields[RESOURCE_KEY] == "projects"
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
