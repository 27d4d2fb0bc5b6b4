"""Map the catalogue (Data Packages) to the CKAN package dicts we want on the portal.

Pure: reads only the catalogue's files (for digests), no network. The result is the *desired
state* that :mod:`publish.plan` compares with a snapshot of the portal.

DCAT-AP.de metadata goes into the extras that ckanext-dcat / ckanext-dcatde read (see
``shared`` notes and the README's mapping table). Lists are stored as JSON list strings.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalogue import Catalogue, Dataset
from .vocabularies import THEME_BASE

MANAGED_BY_FIELD = "managed_by"
MANAGED_BY = "kalletal-lemgo-publish"
IDENTITY_FIELD = "datapackage_resource"  # the resource extra naming its catalogue resource: its identity across pushes
# A resource's digests (README, "Digests"): ``hash`` is the bare md5 hex digest with its SPDX
# algorithm URI in ``hash_algorithm``, because Frictionless and the Data Package spec read an
# unprefixed hash as md5 and ckanext-dcat writes ``hash`` verbatim as an xsd:hexBinary
# spdx:checksumValue; the sha256 this tool compares and verifies by goes in its own field.
SPDX_ALGORITHM = "http://spdx.org/rdf/terms#checksumAlgorithm_"
HASH_ALGORITHM = SPDX_ALGORITHM + "md5"
SHA256_FIELD = "sha256"
# Every extra this tool writes; extras with other keys (added by hand) are left alone.
MANAGED_EXTRAS = (
    MANAGED_BY_FIELD,
    "identifier",
    "temporal_start",
    "temporal_end",
    "frequency",
    "language",
    "access_rights",
    "theme",
    "politicalGeocodingURI",
    "politicalGeocodingLevelURI",
    "geocodingText",
    "publisher_name",
    "publisher_url",
    "publisher_type",
    "contact_name",
    "contact_email",
    "contact_url",
    "contact_street",
    "contact_zip",
    "contact_city",
)
PACKAGE_FIELDS = ("title", "notes", "license_id", "url", "private", "tags", "extras")
RESOURCE_FIELDS = (
    "name",
    "description",
    "format",
    "mimetype",
    "license",
    "hash",
    "hash_algorithm",
    SHA256_FIELD,
    "size",
    "schema",
    IDENTITY_FIELD,
)


@dataclass(frozen=True)
class FileDigest:
    """Content fingerprint of a local file."""

    sha256: str
    size: int
    md5: str = ""


@dataclass(frozen=True)
class DesiredResource:
    """A resource as it should be on the portal, with the local file to upload."""

    identity: str  # the catalogue resource name, kept in IDENTITY_FIELD on the portal
    path: Path
    digest: FileDigest
    fields: dict[str, Any]
    schema: dict[str, Any] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class DesiredPackage:
    """A dataset as it should be on the portal."""

    name: str
    folder_name: str
    fields: dict[str, Any]
    resources: list[DesiredResource] = field(default_factory=list)


def file_digest(path: Path, chunk_size: int = 1 << 20) -> FileDigest:
    """sha256, md5 and size of a file, read once in chunks (constant memory)."""
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            sha256.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return FileDigest(sha256=sha256.hexdigest(), size=size, md5=md5.hexdigest())


def run_digest(catalogue: Catalogue, path: Path) -> FileDigest:
    """:func:`file_digest`, computed once per file and catalogue (validation and plan share it).

    Recomputed when the file's size, modification or change time differ from when it was hashed.
    """
    stat = path.stat()
    seen = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    known = catalogue.digests.get(path)
    if known is not None and known[0] == seen and isinstance(known[1], FileDigest):
        return known[1]
    digest = file_digest(path)
    catalogue.digests[path] = (seen, digest)
    return digest


def desired_state(catalogue: Catalogue) -> list[DesiredPackage]:
    """The portal packages the (valid) catalogue asks for, in catalogue order."""
    dataset_names = {dataset.folder_name: str(dataset.descriptor.get("name")) for dataset in catalogue.datasets}
    return [desired_package(catalogue, dataset, dataset_names) for dataset in catalogue.datasets]


def portal_schema(
    schema: dict[str, Any], dataset_names: dict[str, str], resource_names: dict[str, str] | None = None
) -> dict[str, Any]:
    """The Table Schema as the portal gets it: its keys name datasets and resources as the portal does.

    In the catalogue, ``catalogueForeignKeys[].reference.package`` is a dataset folder
    (``phases``), which means nothing outside this repository; on the portal it becomes the
    dataset's CKAN name (``digital-interkommunal-phasen``), which is also the folder ``publish
    pull`` writes it to, so pulled datasets can check those keys among themselves.

    With ``resource_names`` (catalogue resource name → the name a CKAN reader gives it, see
    :func:`reader_names`), keys inside the dataset (``foreignKeys[].reference.resource``) name
    the resource as Frictionless's CKAN reader names it (``projects`` → ``projekte``), so they
    resolve when the dataset is opened from the portal. ``publish pull`` maps them back.
    """
    result = dict(schema)
    keys = schema.get("catalogueForeignKeys")
    if keys:
        renamed = []
        for key in keys:
            reference = dict(key.get("reference") or {})
            package = reference.get("package")
            if isinstance(package, str) and package in dataset_names:
                reference["package"] = dataset_names[package]
            renamed.append({**key, "reference": reference})
        result["catalogueForeignKeys"] = renamed
    if resource_names and schema.get("foreignKeys"):
        result["foreignKeys"] = rename_foreign_key_targets(schema["foreignKeys"], resource_names)
    return result


def rename_foreign_key_targets(foreign_keys: list[Any], names: dict[str, str]) -> list[Any]:
    """``foreignKeys`` with each ``reference.resource`` found in ``names`` renamed (``""``, the table itself, stays)."""
    renamed = []
    for foreign_key in foreign_keys:
        reference = foreign_key.get("reference") if isinstance(foreign_key, dict) else None
        target = reference.get("resource") if isinstance(reference, dict) else None
        if isinstance(reference, dict) and isinstance(target, str) and target and target in names:
            foreign_key = {**foreign_key, "reference": {**reference, "resource": names[target]}}
        renamed.append(foreign_key)
    return renamed


def reader_names(titles: list[str | None]) -> list[str]:
    """The resource names a Frictionless CKAN reader gives resources with these CKAN ``name`` values.

    frictionless-py's CKAN reader (``frictionless[ckan]``) maps a CKAN resource with
    frictionless-ckan-mapper, which transliterates and lower-cases its ``name`` and turns every
    run of characters other than letters, digits, ``_`` and ``.`` into ``-`` (an empty result is
    ``unnamed-resource-N``; equal results get ``-1``, ``-2``, ...), and then slugifies it
    (``Projektpartner`` → ``projektpartner``, ``Übersicht 2024`` → ``ubersicht-2024``). The same
    steps here; a unit test holds them to the reader's own code.
    """
    from slugify.slugify import slugify  # what frictionless.helpers.slugify calls (python-slugify)
    from text_unidecode import unidecode  # python-slugify's transliteration (the mapper's gives the same)

    names = []
    unnamed = 0
    for title in titles:
        name = re.sub(r"(?:\||[^\w.|])+", "-", unidecode(title).strip().lower()) if title else ""
        if not name:
            unnamed += 1
            name = f"unnamed-resource-{unnamed}"
        names.append(name)
    counts = Counter(names)
    seen: Counter[str] = Counter()
    numbered = []
    for name in names:
        if counts[name] > 1:
            seen[name] += 1
            name = f"{name}-{seen[name]}"
        numbered.append(name)
    return [str(slugify(name)) for name in numbered]


def desired_package(
    catalogue: Catalogue,
    dataset: Dataset,
    dataset_names: dict[str, str],
    fingerprint: Callable[[Path], FileDigest] | None = None,
) -> DesiredPackage:
    """One dataset as the portal should hold it; ``dataset_names`` maps folders to CKAN names.

    ``fingerprint`` digests each file (a metadata-only check passes one that reads nothing); by
    default :func:`run_digest`, which reuses the digest validation computed.
    """
    meta = catalogue.meta
    d = dataset.descriptor
    licence = package_licence(catalogue, dataset)
    fields = {
        "name": d["name"],
        "title": d["title"],
        "notes": d["description"].strip(),
        "owner_org": meta["organization"]["name"],
        "license_id": licence,
        "url": d.get("homepage", ""),
        "private": False,
        "tags": sorted({str(k) for k in d.get("keywords", [])}),
        "extras": package_extras(catalogue, dataset),
    }
    resources = []
    titles: list[str | None] = [spec.title or spec.name for spec in dataset.resources]
    resource_names = dict(zip((spec.name for spec in dataset.resources), reader_names(titles), strict=True))
    for spec, title in zip(dataset.resources, titles, strict=True):
        path = catalogue.resolve(dataset, spec.path)
        schema = catalogue.schema(dataset, spec)  # parsed once, JSON or YAML, by the catalogue
        digest = fingerprint(path) if fingerprint is not None else run_digest(catalogue, path)
        resources.append(
            DesiredResource(
                identity=spec.name,
                path=path,
                digest=digest,
                fields={
                    "name": title,
                    "description": (spec.description or "").strip(),
                    "format": "CSV",
                    "mimetype": "text/csv",
                    "license": licence,
                    "hash": digest.md5,
                    "hash_algorithm": HASH_ALGORITHM,
                    SHA256_FIELD: digest.sha256,
                    "size": digest.size,
                    "schema": json.dumps(portal_schema(schema, dataset_names, resource_names), ensure_ascii=False),
                    IDENTITY_FIELD: spec.name,
                },
                schema=schema,
            )
        )
    return DesiredPackage(name=d["name"], folder_name=dataset.folder_name, fields=fields, resources=resources)


def package_licence(catalogue: Catalogue, dataset: Dataset) -> str:
    """The dataset's licence URI: its own first licence, else the catalogue default."""
    licences = dataset.descriptor.get("licenses") or []
    if licences and isinstance(licences[0], dict) and licences[0].get("path"):
        return str(licences[0]["path"])
    return str(catalogue.meta["license"])


def package_extras(catalogue: Catalogue, dataset: Dataset) -> dict[str, str]:
    """DCAT-AP.de extras (all strings; lists as JSON) for one dataset."""
    meta = catalogue.meta
    d = dataset.descriptor
    temporal = d.get("temporal") or {}
    publisher = meta.get("publisher") or {}
    contact = meta.get("contact") or {}
    geo = meta.get("geocoding") or {}
    extras = {
        MANAGED_BY_FIELD: MANAGED_BY,
        "identifier": d.get("identifier"),
        "temporal_start": temporal.get("start"),
        "temporal_end": temporal.get("end"),
        "frequency": d.get("frequency"),
        "language": _json_list(meta.get("language")),
        "access_rights": meta.get("access_rights"),
        "theme": _json_list([THEME_BASE + t for t in d.get("themes", [])]),
        "politicalGeocodingURI": _json_list(geo.get("uris")),
        "politicalGeocodingLevelURI": geo.get("level"),
        "geocodingText": _json_list([geo["description"]] if geo.get("description") else None),
        "publisher_name": publisher.get("name"),
        "publisher_url": publisher.get("url"),
        "publisher_type": publisher.get("type"),
        "contact_name": contact.get("name"),
        "contact_email": contact.get("email"),
        "contact_url": contact.get("url"),
        "contact_street": contact.get("street"),
        "contact_zip": contact.get("zip"),
        "contact_city": contact.get("city"),
    }
    return {k: str(v) for k, v in extras.items() if v not in (None, "", [])}


def _json_list(values: Any) -> str | None:
    if not values:
        return None
    return json.dumps([str(v) for v in values], ensure_ascii=False)
