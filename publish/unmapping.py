"""Map a CKAN package dict back to a Frictionless Data Package descriptor: the inverse of mapping.py.

Pure: no network, no clock. Works on packages of any CKAN, not only ours: whatever is missing
(no ``schema``, no ``hash``, no DCAT-AP.de extras) is left out of the descriptor and explained in
a note. Every file name that comes from the portal is made safe here, once, so that nothing a
portal says can make a pull write outside its target folder.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from .mapping import (
    IDENTITY_FIELD,
    MANAGED_BY,
    MANAGED_BY_FIELD,
    MANAGED_EXTRAS,
    SHA256_FIELD,
    reader_names,
    rename_foreign_key_targets,
)
from .structured import StructuredError, parse_json
from .vocabularies import THEME_BASE

DESCRIPTOR_FILE = "datapackage.json"
# Names a resource file may never take: the descriptor, and the prefix of our temporary files.
RESERVED_NAMES = {DESCRIPTOR_FILE, "datapackage.yaml", "datapackage.yml"}
TEMP_PREFIX = ".publish-part-"
MAX_NAME = 100
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MD5 = re.compile(r"^[0-9a-f]{32}$")
UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
NOT_NAME_CHARS = re.compile(r"[^a-z0-9_-]+")
WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
# Formats whose files Frictionless reads as tables.
TABULAR_FORMATS = {"csv", "tsv"}


@dataclass(frozen=True)
class ExpectedDigest:
    """What the portal says a file is: sha256 (or md5 on other portals) and size, each if known."""

    sha256: str | None = None
    md5: str | None = None
    size: int | None = None

    @property
    def has_hash(self) -> bool:
        return bool(self.sha256 or self.md5)


@dataclass(frozen=True)
class RemoteResource:
    """One portal resource, ready to download: where from, under which safe name, checked how."""

    name: str
    filename: str
    url: str | None
    ckan_id: str
    expected: ExpectedDigest
    schema: dict[str, Any] | None
    tabular: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemotePackage:
    """A portal package as a Data Package descriptor plus its resources."""

    name: str
    folder: str
    descriptor: dict[str, Any]
    resources: list[RemoteResource] = field(default_factory=list)
    managed: bool = False

    @property
    def notes(self) -> list[str]:
        return [f"{r.name}: {note}" for r in self.resources for note in r.notes]


def unmap_package(package: dict[str, Any], portal_url: str | None = None) -> RemotePackage:
    """The Data Package descriptor (and download plan) of one CKAN package dict."""
    extras = package_extras(package)
    descriptor: dict[str, Any] = {"name": safe_name(str(package.get("name") or package.get("id") or ""), "dataset")}
    _put(descriptor, "identifier", extras.get("identifier"))
    _put(descriptor, "title", package.get("title"))
    _put(descriptor, "description", package.get("notes"))
    _put(descriptor, "homepage", package.get("url"))
    _put(descriptor, "keywords", sorted(tag_names(package)))
    _put(descriptor, "licenses", licences(package))
    _put(descriptor, "themes", [_theme_code(uri) for uri in json_list(extras.get("theme"))])
    temporal = {k: extras[f"temporal_{k}"] for k in ("start", "end") if extras.get(f"temporal_{k}")}
    _put(descriptor, "temporal", temporal)
    _put(descriptor, "frequency", extras.get("frequency"))
    _put(descriptor, "language", json_list(extras.get("language")))
    _put(descriptor, "access_rights", extras.get("access_rights"))
    _put(descriptor, "geocoding", _geocoding(extras))
    _put(descriptor, "publisher", _prefixed(extras, "publisher_", ("name", "url", "type")))
    _put(descriptor, "contact", _prefixed(extras, "contact_", ("name", "email", "url", "street", "zip", "city")))
    if portal_url and package.get("name"):
        descriptor["sources"] = [{"title": "CKAN", "path": f"{portal_url.rstrip('/')}/dataset/{package['name']}"}]
    resources = unmap_resources(package.get("resources") or [])
    descriptor["resources"] = [_resource_descriptor(r, raw) for r, raw in resources]
    return RemotePackage(
        name=str(package.get("name") or package.get("id") or ""),
        folder=safe_filename(str(package.get("name") or ""), fallback=str(package.get("id") or "dataset")),
        descriptor=descriptor,
        resources=[r for r, _ in resources],
        managed=extras.get(MANAGED_BY_FIELD) == MANAGED_BY,
    )


def unmap_resources(raw_resources: list[dict[str, Any]]) -> list[tuple[RemoteResource, dict[str, Any]]]:
    """Each CKAN resource as a RemoteResource, with names and file names unique in the package."""
    names: set[str] = set()
    files: set[str] = set(RESERVED_NAMES)
    result = []
    for index, raw in enumerate(raw_resources):
        key = raw.get(IDENTITY_FIELD) or raw.get("name") or raw.get("id") or ""
        name = _unique(safe_name(str(key), f"resource-{index + 1}"), names)
        url = str(raw.get("url") or "").strip() or None
        fmt = resource_format(raw, url)
        filename = _unique(safe_filename(url_basename(url), fallback=name, extension=fmt), files)
        schema, schema_note = resource_schema(raw.get("schema"))
        expected = expected_digest(raw)
        notes = [n for n in (schema_note if fmt in TABULAR_FORMATS else None, _digest_note(expected)) if n]
        if url is None:
            notes.append("the portal gives no URL for this resource: there is no file to download")
        elif urlsplit(url).scheme not in ("http", "https"):
            notes.append(f"the URL {url!r} is not http(s): not downloaded")
            url = None
        resource = RemoteResource(
            name=name,
            filename=filename,
            url=url,
            ckan_id=str(raw.get("id") or ""),
            expected=expected,
            schema=schema,
            tabular=fmt in TABULAR_FORMATS,
            notes=tuple(notes),
        )
        result.append((resource, raw))
    return _keys_by_pulled_names(result)


def _keys_by_pulled_names(
    resources: list[tuple[RemoteResource, dict[str, Any]]],
) -> list[tuple[RemoteResource, dict[str, Any]]]:
    """Keys inside the package name resources as a CKAN reader does (``projekte``); the pulled
    Data Package names them as pull does (``projects``, the catalogue's own names)."""
    readers = reader_names([str(raw["name"]) if raw.get("name") else None for _, raw in resources])
    pulled = {reader: resource.name for reader, (resource, _) in zip(readers, resources, strict=True)}
    renamed = []
    for resource, raw in resources:
        keys = (resource.schema or {}).get("foreignKeys")
        if isinstance(keys, list) and keys:
            resource = replace(
                resource, schema={**(resource.schema or {}), "foreignKeys": rename_foreign_key_targets(keys, pulled)}
            )
        renamed.append((resource, raw))
    return renamed


def _resource_descriptor(resource: RemoteResource, raw: dict[str, Any]) -> dict[str, Any]:
    descriptor: dict[str, Any] = {"name": resource.name}
    _put(descriptor, "title", raw.get("name"))
    _put(descriptor, "description", raw.get("description"))
    descriptor["path"] = resource.filename
    fmt = resource_format(raw, resource.url)
    _put(descriptor, "format", fmt)
    _put(descriptor, "mediatype", raw.get("mimetype") or ("text/csv" if fmt == "csv" else None))
    if resource.tabular:
        descriptor["encoding"] = "utf-8"
    # Frictionless checks these on validate: a pulled folder stays verifiable on its own.
    if resource.expected.sha256:
        descriptor["hash"] = f"sha256:{resource.expected.sha256}"
    elif resource.expected.md5:
        descriptor["hash"] = f"md5:{resource.expected.md5}"
    if resource.expected.size is not None:
        descriptor["bytes"] = resource.expected.size
    if resource.schema is not None:
        descriptor["schema"] = resource.schema
    return descriptor


def package_extras(package: dict[str, Any]) -> dict[str, str]:
    """Extras as a dict; portals with ckanext-scheming keep them as top-level fields instead."""
    extras: dict[str, str] = {}
    raw = package.get("extras")
    if isinstance(raw, dict):
        extras.update({str(k): str(v) for k, v in raw.items() if v is not None})
    elif isinstance(raw, list):
        extras.update({str(e["key"]): str(e.get("value")) for e in raw if isinstance(e, dict) and "key" in e})
    for key in MANAGED_EXTRAS:
        value = package.get(key)
        if key not in extras and isinstance(value, str | list):
            extras[key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return extras


def tag_names(package: dict[str, Any]) -> set[str]:
    """Tag names; CKAN gives dicts, our desired state plain strings."""
    tags = package.get("tags") or []
    return {str(t.get("name") if isinstance(t, dict) else t) for t in tags if t}


def licences(package: dict[str, Any]) -> list[dict[str, str]]:
    """``licenses`` of the descriptor from CKAN's licence fields (empty when none is given)."""
    licence_id = str(package.get("license_id") or "").strip()
    if not licence_id or licence_id == "notspecified":
        return []
    is_uri = licence_id.startswith(("http://", "https://"))
    path = licence_id if is_uri else str(package.get("license_url") or "")
    name = "-".join(urlsplit(licence_id).path.split("/")[-2:]) if is_uri else licence_id
    entry = {"name": safe_name(name.lower(), "licence"), "path": path, "title": str(package.get("license_title") or "")}
    return [{k: v for k, v in entry.items() if v}]


def resource_schema(value: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The Table Schema from a resource's ``schema`` field, and a note when there is none."""
    if value in (None, "", {}):
        return None, "no Table Schema on the portal: left out; Frictionless infers the types"
    if isinstance(value, str):
        if value.strip().startswith(("http://", "https://")):
            return None, f"the schema is a link ({value.strip()}), not fetched: left out"
        try:
            value = parse_json(value)
        except StructuredError as exc:
            return None, f"the portal's schema is not valid JSON ({exc}): left out"
    if not isinstance(value, dict) or not isinstance(value.get("fields"), list):
        return None, "the portal's schema is not a Table Schema (no list of fields): left out"
    return value, None


def expected_digest(resource: dict[str, Any]) -> ExpectedDigest:
    """The digests the portal states: ``sha256`` (this tool's own field), ``hash`` and ``size``.

    ``hash`` is read as its prefix (``sha256:…``) or ``hash_algorithm`` say, and without either by
    its length (md5 or sha256): this tool stores md5 there now and stored sha256 there before,
    and other portals store either.
    """
    own = str(resource.get(SHA256_FIELD) or "").strip().lower()
    sha256 = own if SHA256.match(own) else None
    raw = str(resource.get("hash") or "").strip().lower()
    prefix, _, value = raw.rpartition(":")
    algorithm = (prefix or str(resource.get("hash_algorithm") or "")).lower()
    if sha256 is None and SHA256.match(value) and ("sha256" in algorithm or not algorithm):
        sha256 = value
    md5 = value if MD5.match(value) and ("md5" in algorithm or not algorithm) else None
    raw_size = resource.get("size")
    try:
        size = int(raw_size) if raw_size not in (None, "") else None
    except (TypeError, ValueError):
        size = None
    return ExpectedDigest(sha256=sha256, md5=md5, size=size if size is None or size >= 0 else None)


def _digest_note(expected: ExpectedDigest) -> str | None:
    if expected.has_hash:
        return None
    if expected.size is not None:
        return "no sha256 on the portal: the download is checked by its size only"
    return "no sha256 and no size on the portal: the download cannot be verified"


def resource_format(raw: dict[str, Any], url: str | None) -> str:
    """Lower-case format (``csv``), from the resource's ``format`` or else its URL's extension."""
    fmt = str(raw.get("format") or "").strip().lower().lstrip(".")
    if not fmt and url:
        _, dot, ext = url_basename(url).rpartition(".")
        fmt = ext.lower() if dot else ""
    return re.sub(r"[^a-z0-9]+", "", fmt)[:10]


def url_basename(url: str | None) -> str:
    """Last segment of a URL's path, percent-decoded; may still be hostile (``..\\x``)."""
    if not url:
        return ""
    path = unquote(urlsplit(url).path)
    return re.split(r"[/\\]", path)[-1]


def safe_filename(raw: str, fallback: str, extension: str = "") -> str:
    """A file name that cannot leave its folder or hide: one segment, no ``..``, no leading dot.

    ``../../x`` → ``x``, ``/etc/passwd`` → ``passwd``, ``C:\\x`` → ``x``; an empty or reserved
    result falls back to ``fallback`` (plus ``.extension``).
    """
    name = re.split(r"[/\\]", _ascii(raw))[-1]
    name = name.split(":")[-1]  # drive letters and NTFS alternate streams
    name = UNSAFE_CHARS.sub("_", name).strip("._-")
    stem, dot, ext = name.rpartition(".")
    if len(name) > MAX_NAME:
        name = (stem[: MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) < 10 else name[:MAX_NAME]
    if not name or name.split(".")[0].lower() in WINDOWS_DEVICES or name.lower() in RESERVED_NAMES:
        base = safe_name(fallback, "resource")
        name = f"{base}.{extension}" if extension else base
    elif extension and "." not in name:
        name = f"{name}.{extension}"
    return name


def safe_name(raw: str, fallback: str) -> str:
    """A Frictionless/CKAN-style name: lower-case letters, digits, ``-`` and ``_``."""
    name = NOT_NAME_CHARS.sub("-", _ascii(raw).lower())
    return name.strip("-_")[:MAX_NAME] or fallback


def _ascii(text: str) -> str:
    """Umlauts and accents to their base letters (``ü`` → ``u``); other non-ASCII dropped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def json_list(value: str | None) -> list[str]:
    """Our extras hold lists as JSON strings; other portals may hold a plain string."""
    if not value:
        return []
    try:
        parsed = parse_json(value)
    except StructuredError:
        return [value]
    if isinstance(parsed, list):
        return [str(v) for v in parsed]
    return [str(parsed)]


def _theme_code(uri: str) -> str:
    return uri[len(THEME_BASE) :] if uri.startswith(THEME_BASE) else uri


def _geocoding(extras: dict[str, str]) -> dict[str, Any]:
    geo: dict[str, Any] = {}
    _put(geo, "level", extras.get("politicalGeocodingLevelURI"))
    _put(geo, "uris", json_list(extras.get("politicalGeocodingURI")))
    _put(geo, "description", "; ".join(json_list(extras.get("geocodingText"))))
    return geo


def _prefixed(extras: dict[str, str], prefix: str, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: extras[prefix + k] for k in keys if extras.get(prefix + k)}


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2`` / ``stem-2.ext`` when taken (case-insensitively: not every disk cares)."""
    candidate, number = name, 1
    stem, dot, ext = name.rpartition(".")
    while candidate.lower() in {t.lower() for t in taken}:
        number += 1
        candidate = f"{stem}-{number}.{ext}" if dot and stem else f"{name}-{number}"
    taken.add(candidate)
    return candidate


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set a key only when there is a value: a missing field stays missing, never empty."""
    if value not in (None, "", [], {}):
        target[key] = value.strip() if isinstance(value, str) else value
