"""Checks of the catalogue's metadata: ``catalogue.yaml`` and each dataset descriptor.

Each check returns problems; none reads data files. Required keys follow DCAT-AP.de as far as
the catalogue can say it (see the README's metadata section).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

from .catalogue import Catalogue, Dataset, UnsafePathError
from .report import Problem
from .vocabularies import (
    ACCESS_RIGHT_BASE,
    CKAN_NAME,
    FREQUENCY_BASE,
    GEOCODING_BASE,
    GEOCODING_LEVEL_BASE,
    GEOCODING_LEVELS,
    LANGUAGE_BASE,
    LICENCES,
    PUBLISHER_TYPE_BASE,
    THEMES,
)

HTTP_URL = re.compile(r"^https?://[^\s/]+\S*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Frictionless resource names: lowercase letters, digits and -._/
RESOURCE_NAME = re.compile(r"^[a-z0-9._/-]+$")


def check_catalogue_meta(catalogue: Catalogue) -> list[Problem]:
    """Check ``datasets/catalogue.yaml``: organization, publisher, contact, licence, geocoding."""
    meta = catalogue.meta
    file = catalogue.relative(catalogue.meta_file)
    if not meta:
        return []  # missing or unreadable: reported while reading
    problems: list[Problem] = []

    def need(cond: bool, key: str, message: str, value: Any = None) -> None:
        if not cond:
            problems.append(Problem(file, "metadata-error", message, field=key, value=_shown(value)))

    org = _mapping(meta.get("organization"))
    need(_is_text(meta.get("title")), "title", "a title of the catalogue is required")
    need(
        bool(CKAN_NAME.match(str(org.get("name", "")))),
        "organization.name",
        "required; a CKAN organization name: 2-100 characters of a-z, 0-9, '-' and '_'",
        org.get("name"),
    )
    need(_is_text(org.get("title")), "organization.title", "the organization's title is required")

    publisher = _mapping(meta.get("publisher"))
    need(
        _is_text(publisher.get("name")),
        "publisher.name",
        "DCAT-AP.de Konvention 36: the publisher's name is required (who grants the rights of use)",
    )
    if "url" in publisher:
        need(_is_url(publisher["url"]), "publisher.url", "must be an http(s) URL", publisher["url"])
    if "type" in publisher:
        need(
            str(publisher["type"]).startswith(PUBLISHER_TYPE_BASE),
            "publisher.type",
            f"must be a URI starting with {PUBLISHER_TYPE_BASE}",
            publisher["type"],
        )

    contact = _mapping(meta.get("contact"))
    need(_is_text(contact.get("name")), "contact.name", "the contact's name is required")
    need(
        _is_url(contact.get("url")) or bool(EMAIL.match(str(contact.get("email", "")))),
        "contact",
        "DCAT-AP.de Konvention 01: the contact needs an email or an http(s) url",
    )

    need(meta.get("license") in LICENCES, "license", _licence_hint(), meta.get("license"))

    languages = meta.get("language")
    need(
        isinstance(languages, list) and bool(languages) and all(str(x).startswith(LANGUAGE_BASE) for x in languages),
        "language",
        f"a list of EU language URIs ({LANGUAGE_BASE}DEU)",
        languages,
    )
    need(
        str(meta.get("access_rights", "")).startswith(ACCESS_RIGHT_BASE),
        "access_rights",
        f"an EU access-right URI ({ACCESS_RIGHT_BASE}PUBLIC)",
        meta.get("access_rights"),
    )

    geo = _mapping(meta.get("geocoding"))
    uris = geo.get("uris")
    need(
        isinstance(uris, list) and bool(uris) and all(str(u).startswith(GEOCODING_BASE) for u in uris),
        "geocoding.uris",
        f"DCAT-AP.de Konvention 08: a list of political geocoding URIs starting with {GEOCODING_BASE}",
        uris,
    )
    level = str(geo.get("level", ""))
    need(
        level.startswith(GEOCODING_LEVEL_BASE) and level[len(GEOCODING_LEVEL_BASE) :] in GEOCODING_LEVELS,
        "geocoding.level",
        f"one of {GEOCODING_LEVEL_BASE}{{{','.join(GEOCODING_LEVELS)}}}",
        geo.get("level"),
    )
    return problems


def check_dataset_descriptor(catalogue: Catalogue, dataset: Dataset) -> list[Problem]:
    """Check one dataset descriptor's metadata and the paths of its resources."""
    if dataset.descriptor_file is None or not dataset.descriptor:
        return []  # reported while reading
    file = catalogue.relative(dataset.descriptor_file)
    d = dataset.descriptor
    problems: list[Problem] = []

    def need(cond: bool, key: str, message: str, value: Any = None, code: str = "metadata-error") -> None:
        if not cond:
            problems.append(Problem(file, code, message, field=key, value=_shown(value)))

    need(
        isinstance(d.get("name"), str) and bool(CKAN_NAME.match(d["name"])),
        "name",
        "required; valid as a CKAN dataset name: 2-100 characters of a-z, 0-9, '-' and '_'",
        d.get("name"),
    )
    need(_is_text(d.get("identifier")), "identifier", "a stable identifier (dct:identifier) is required")
    need(_is_text(d.get("title")), "title", "a title is required")
    need(_is_text(d.get("description")), "description", "a description is required")
    keywords = d.get("keywords")
    need(
        isinstance(keywords, list) and bool(keywords) and all(_is_text(k) for k in keywords),
        "keywords",
        "a non-empty list of keywords is required",
        keywords,
    )
    need(
        _is_url(d.get("homepage")), "homepage", "the landing page (homepage) must be an http(s) URL", d.get("homepage")
    )
    themes = d.get("themes")
    need(
        isinstance(themes, list) and bool(themes) and all(t in THEMES for t in themes),
        "themes",
        f"DCAT-AP.de Konvention 30: a non-empty list of EU data themes; allowed: {', '.join(THEMES)}",
        themes,
    )
    if "frequency" in d:
        need(
            str(d["frequency"]).startswith(FREQUENCY_BASE),
            "frequency",
            f"an EU frequency URI ({FREQUENCY_BASE}IRREG)",
            d["frequency"],
        )
    problems += _check_temporal(file, d.get("temporal"))
    for index, licence in enumerate(d.get("licenses") or []):
        path = licence.get("path") if isinstance(licence, dict) else None
        need(path in LICENCES, f"licenses[{index}].path", _licence_hint(), path)
    if "licenses" not in d:
        need(
            catalogue.meta.get("license") in LICENCES,
            "licenses",
            "no licence here and no valid default licence in catalogue.yaml",
        )

    specs = dataset.resources
    need(
        bool(specs) and len(specs) == len(d.get("resources") or []),
        "resources",
        "a non-empty list of resources (each a mapping) is required",
    )
    for count_name, count in Counter(s.name for s in specs).items():
        need(count == 1, "resources", f"resource name '{count_name}' is used {count} times", count_name)
    for spec in specs:
        key = f"resources[{spec.name or '?'}]"
        need(
            bool(RESOURCE_NAME.match(spec.name)),
            f"{key}.name",
            "resource names use lowercase a-z, 0-9 and -._/",
            spec.name,
        )
        need(_is_text(spec.title), f"{key}.title", "a resource title is required")
        need(
            str(spec.descriptor.get("format", "csv")).lower() == "csv",
            f"{key}.format",
            "only CSV resources are supported",
            spec.descriptor.get("format"),
        )
        encoding = str(spec.descriptor.get("encoding", "utf-8")).lower().replace("_", "-")
        need(
            encoding in ("utf-8", "utf8"), f"{key}.encoding", "CSV files must be UTF-8", spec.descriptor.get("encoding")
        )
        for attr in ("path", "schema"):
            ref = getattr(spec, attr)
            if not ref:
                need(
                    False,
                    f"{key}.{attr}",
                    f"a {attr} (a file relative to the descriptor) is required",
                    spec.descriptor.get(attr),
                    code="path-error",
                )
                continue
            try:
                target = catalogue.resolve(dataset, ref)
            except UnsafePathError as exc:
                need(False, f"{key}.{attr}", str(exc), ref, code="unsafe-path")
                continue
            if not target.is_file():
                need(False, f"{key}.{attr}", f"file not found: {catalogue.relative(target)}", ref, code="file-missing")
    return problems


def check_unique_names(catalogue: Catalogue) -> list[Problem]:
    """Dataset names and identifiers must be unique across the catalogue."""
    problems = []
    for attr in ("name", "identifier"):
        seen: dict[str, Dataset] = {}
        for dataset in catalogue.datasets:
            value = dataset.descriptor.get(attr)
            if not isinstance(value, str):
                continue
            if value in seen and dataset.descriptor_file is not None:
                problems.append(
                    Problem(
                        catalogue.relative(dataset.descriptor_file),
                        "metadata-error",
                        f"{attr} '{value}' is also used by dataset '{seen[value].folder_name}'; it must be unique",
                        field=attr,
                        value=value,
                    )
                )
            seen.setdefault(value, dataset)
    return problems


def _check_temporal(file: str, temporal: Any) -> list[Problem]:
    if not isinstance(temporal, dict) or "start" not in temporal:
        return [
            Problem(
                file,
                "metadata-error",
                "DCAT-AP.de Konvention 38: temporal coverage needs a start or an end; "
                "here at least a start date (YYYY-MM-DD)",
                field="temporal.start",
            )
        ]
    problems = []
    dates = {}
    for key in ("start", "end"):
        if key in temporal and temporal[key] not in (None, ""):
            value = _as_date(temporal[key])
            if value is None:
                problems.append(
                    Problem(
                        file,
                        "metadata-error",
                        "must be a date YYYY-MM-DD (DCAT-AP.de Spezifikation: dates are xsd:date)",
                        field=f"temporal.{key}",
                        value=_shown(temporal[key]),
                    )
                )
            dates[key] = value
    start, end = dates.get("start"), dates.get("end")
    if start is not None and end is not None and end < start:
        problems.append(
            Problem(
                file,
                "metadata-error",
                "temporal end lies before its start",
                field="temporal.end",
                value=_shown(temporal["end"]),
            )
        )
    return problems


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)) else None
    except ValueError:
        return None


def _licence_hint() -> str:
    return "DCAT-AP.de Konvention 32: a licence URI of the dcat-ap.de list; allowed: " + ", ".join(LICENCES)


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and bool(HTTP_URL.match(value))


def _shown(value: Any) -> str | None:
    return None if value is None else str(value)
