"""DCAT-AP.de 2.0 RDF for CKAN package dicts: the one mapping both the portal and ``publish dcat`` use.

Input is a dataset as CKAN's ``package_show`` returns it (core fields, ``extras`` as a list of
``{"key", "value"}`` or a dict, ``organization``, ``resources``). The extras keep the names
GovData's ckanext-dcatde reads (``contact_*``, ``publisher_*``, ``politicalGeocodingURI``,
``politicalGeocodingLevelURI``, ``geocodingText``, ``contributorID``, ``maintainer_*``,
``originator_*``, ``theme``, ``temporal_start``/``temporal_end``, ``language``, ...), with list
values as JSON list strings. Only rdflib is needed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, XSD

from . import vocab

DCAT = Namespace(vocab.DCAT)
DCT = Namespace(vocab.DCT)
DCATDE = Namespace(vocab.DCATDE)
DCATAP = Namespace(vocab.DCATAP)
FOAF = Namespace(vocab.FOAF)
VCARD = Namespace(vocab.VCARD)
SPDX = Namespace(vocab.SPDX)
ADMS = Namespace(vocab.ADMS)

PREFIXES = {
    "dcat": DCAT,
    "dct": DCT,
    "dcatde": DCATDE,
    "dcatap": DCATAP,
    "foaf": FOAF,
    "vcard": VCARD,
    "spdx": SPDX,
    "adms": ADMS,
}

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")
URI = re.compile(r"^(https?|mailto|tel|urn):\S+$")
HASH_PREFIX = re.compile(r"^(?P<algo>[a-z0-9-]+):(?P<hex>[0-9A-Fa-f]+)$")
SPDX_ALGORITHMS = {"sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256", "md5": "md5"}
SPDX_ALGORITHMS.update({"sha512": "sha512", "sha-512": "sha512", "sha384": "sha384", "sha-384": "sha384"})


def bind_prefixes(graph: Graph) -> Graph:
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


def extras_of(package: Mapping[str, Any]) -> dict[str, str]:
    """A package's extras as a dict, whether CKAN gave a list of key/value pairs or a dict."""
    extras = package.get("extras") or {}
    if isinstance(extras, Mapping):
        return {str(k): v for k, v in extras.items() if v not in (None, "")}
    return {str(e["key"]): e["value"] for e in extras if isinstance(e, Mapping) and e.get("value") not in (None, "")}


def list_value(value: Any) -> list[str]:
    """A list-valued extra: a JSON list string, a single value or a comma-separated string."""
    if value in (None, ""):
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v not in (None, "")]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v) for v in parsed if v not in (None, "")]
    if "," in text and not text.startswith("http"):
        return [part.strip() for part in text.split(",") if part.strip()]
    return [text]


def date_literal(value: Any) -> Literal:
    """xsd:date or xsd:dateTime where the text is one; anything else stays a plain literal (and fails SHACL)."""
    text = str(value).strip()
    if DATE.match(text):
        return Literal(text, datatype=XSD.date)
    if DATETIME.match(text):
        return Literal(text, datatype=XSD.dateTime)
    return Literal(text)


def uri_or_literal(value: str) -> URIRef | Literal:
    return URIRef(value) if URI.match(value) else Literal(value)


def add_catalog(
    graph: Graph,
    ref: URIRef,
    *,
    title: str,
    description: str,
    homepage: str | None = None,
    publisher: Mapping[str, Any] | None = None,
    languages: Iterable[str] = (),
    modified: str | None = None,
    licence: str | None = None,
) -> URIRef:
    """The dcat:Catalog node (its datasets are linked by the caller)."""
    bind_prefixes(graph)
    graph.add((ref, RDF.type, DCAT.Catalog))
    graph.add((ref, DCT.title, Literal(title)))
    graph.add((ref, DCT.description, Literal(description or title)))
    if homepage:
        graph.add((ref, FOAF.homepage, URIRef(homepage)))
    for language in languages:
        graph.add((ref, DCT.language, uri_or_literal(language)))
    if modified:
        graph.add((ref, DCT.modified, date_literal(modified)))
    if licence:
        graph.add((ref, DCT.license, uri_or_literal(licence)))
    if publisher and publisher.get("name"):
        _add_agent(graph, ref, DCT.publisher, publisher)
    return ref


def add_dataset(
    graph: Graph,
    ref: URIRef,
    package: Mapping[str, Any],
    resource_ref: Callable[[Mapping[str, Any]], URIRef],
) -> URIRef:
    """One CKAN package as a dcat:Dataset with its distributions (``resource_ref`` names each)."""
    bind_prefixes(graph)
    extras = extras_of(package)
    g = graph
    g.add((ref, RDF.type, DCAT.Dataset))
    _text(g, ref, DCT.title, package.get("title") or package.get("name"))
    _text(g, ref, DCT.description, package.get("notes"))
    for tag in package.get("tags") or []:
        name = tag.get("display_name") or tag.get("name") if isinstance(tag, Mapping) else tag
        _text(g, ref, DCAT.keyword, name)
    if package.get("url"):
        g.add((ref, DCAT.landingPage, uri_or_literal(str(package["url"]))))
    _text(g, ref, DCT.identifier, extras.get("identifier") or extras.get("guid") or package.get("id"))
    if package.get("version"):
        _text(g, ref, URIRef("http://www.w3.org/2002/07/owl#versionInfo"), package["version"])
    for key, predicate, fallback in (
        ("issued", DCT.issued, "metadata_created"),
        ("modified", DCT.modified, "metadata_modified"),
    ):
        value = extras.get(key) or package.get(fallback)
        if value:
            g.add((ref, predicate, date_literal(value)))

    for key, predicate in (
        ("language", DCT.language),
        ("theme", DCAT.theme),
        ("politicalGeocodingURI", DCATDE.politicalGeocodingURI),
        ("contributorID", DCATDE.contributorID),
        ("conforms_to", DCT.conformsTo),
        ("documentation", FOAF.page),
        ("references", DCT.references),
    ):
        for value in list_value(extras.get(key)):
            g.add((ref, predicate, uri_or_literal(value)))
    for group in package.get("groups") or []:  # ckanext-dcatde: groups named by theme code
        code = str(group.get("name", "")).upper() if isinstance(group, Mapping) else ""
        if code in vocab.THEMES:
            g.add((ref, DCAT.theme, URIRef(vocab.THEME_BASE + code)))
    # Konvention 11: the political geocoding URIs are mirrored in dct:spatial.
    for value in list_value(extras.get("politicalGeocodingURI")):
        g.add((ref, DCT.spatial, uri_or_literal(value)))
    if extras.get("spatial_uri"):
        g.add((ref, DCT.spatial, uri_or_literal(extras["spatial_uri"])))
    for value in list_value(extras.get("geocodingText")):
        _text(g, ref, DCATDE.geocodingDescription, value)
    for key, predicate in (
        ("politicalGeocodingLevelURI", DCATDE.politicalGeocodingLevelURI),
        ("access_rights", DCT.accessRights),
        ("frequency", DCT.accrualPeriodicity),
        ("availability", DCATAP.availability),
    ):
        if extras.get(key):
            g.add((ref, predicate, uri_or_literal(str(extras[key]))))

    if extras.get("temporal_start") or extras.get("temporal_end"):
        period = BNode()
        g.add((ref, DCT.temporal, period))
        g.add((period, RDF.type, DCT.PeriodOfTime))
        if extras.get("temporal_start"):
            g.add((period, DCAT.startDate, date_literal(extras["temporal_start"])))
        if extras.get("temporal_end"):
            g.add((period, DCAT.endDate, date_literal(extras["temporal_end"])))

    publisher = publisher_of(package, extras)
    if publisher.get("name"):
        _add_agent(g, ref, DCT.publisher, publisher)
    for role in ("maintainer", "originator"):
        agent = _role_agent(package, extras, role)
        if agent.get("name"):
            _add_agent(g, ref, DCATDE[role], agent)
    _add_contact(g, ref, package, extras)

    dataset_licence = _licence_uri(package)
    for resource in package.get("resources") or []:
        distribution = resource_ref(resource)
        g.add((ref, DCAT.distribution, distribution))
        _add_distribution(g, distribution, resource, dataset_licence, publisher.get("name"))
    return ref


def publisher_of(package: Mapping[str, Any], extras: Mapping[str, Any]) -> dict[str, Any]:
    """``publisher_*`` extras, else the CKAN organization (as ckanext-dcat falls back)."""
    if extras.get("publisher_name"):
        return {k: extras.get(f"publisher_{k}") for k in ("uri", "name", "email", "url", "type")}
    org = package.get("organization") or {}
    if isinstance(org, Mapping) and org.get("title"):
        return {"name": org["title"], "type": extras.get("publisher_type")}
    return {}


def attribution_text(licence: str | None, resource: Mapping[str, Any], publisher_name: str | None) -> str | None:
    """Konvention 35: the by-text of a licence that requires attribution (the resource's own, else the publisher)."""
    own = resource.get("licenseAttributionByText")
    if own:
        return str(own)
    if licence in vocab.ATTRIBUTION_LICENCES and publisher_name:
        return str(publisher_name)
    return None


def checksum_parts(hash_value: str, algorithm: str | None) -> tuple[str, str]:
    """(SPDX algorithm URI, bare hex value) of a CKAN resource hash: ``<hex>`` or ``sha256:<hex>``."""
    text = str(hash_value).strip()
    prefixed = HASH_PREFIX.match(text)
    name = None
    if prefixed:
        name = SPDX_ALGORITHMS.get(prefixed.group("algo").lower())
        text = prefixed.group("hex")
    algo = str(algorithm or "").strip()
    if algo.startswith(vocab.SPDX + "checksumAlgorithm_"):
        return algo, text.lower()
    name = SPDX_ALGORITHMS.get(algo.lower(), name) or "sha256"
    return f"{vocab.SPDX}checksumAlgorithm_{name}", text.lower()


def _licence_uri(package: Mapping[str, Any]) -> str | None:
    licence = str(package.get("license_id") or "")
    if licence.startswith(vocab.LICENCE_BASE):
        return licence
    return package.get("license_url") or (licence or None)


def _add_distribution(
    g: Graph, ref: URIRef, resource: Mapping[str, Any], dataset_licence: str | None, publisher: str | None
) -> None:
    g.add((ref, RDF.type, DCAT.Distribution))
    _text(g, ref, DCT.title, resource.get("name"))
    _text(g, ref, DCT.description, resource.get("description"))
    url = resource.get("url")
    access = resource.get("access_url") or url
    download = resource.get("download_url") or url
    # Konvention 39: a file offered for download goes into both accessURL and downloadURL.
    if access:
        g.add((ref, DCAT.accessURL, URIRef(str(access))))
    if download:
        g.add((ref, DCAT.downloadURL, URIRef(str(download))))
    file_type = vocab.file_type_uri(resource.get("format"))
    if file_type:
        g.add((ref, DCT["format"], URIRef(file_type)))
    elif resource.get("format"):
        g.add((ref, DCT["format"], Literal(str(resource["format"]))))
    media_type = vocab.media_type_uri(resource.get("mimetype"))
    if media_type:
        g.add((ref, DCAT.mediaType, URIRef(media_type)))
    licence = resource.get("license") or dataset_licence
    if licence:
        g.add((ref, DCT.license, uri_or_literal(str(licence))))
    by_text = attribution_text(licence, resource, publisher)
    if by_text:
        g.add((ref, DCATDE.licenseAttributionByText, Literal(by_text)))
    if resource.get("size") not in (None, ""):
        g.add((ref, DCAT.byteSize, Literal(str(int(resource["size"])), datatype=XSD.decimal)))
    for key, predicate, fallbacks in (
        ("issued", DCT.issued, ("created",)),
        ("modified", DCT.modified, ("last_modified", "metadata_modified")),
    ):
        value = resource.get(key) or next((resource[f] for f in fallbacks if resource.get(f)), None)
        if value:
            g.add((ref, predicate, date_literal(value)))
    if resource.get("hash"):
        algorithm, value = checksum_parts(resource["hash"], resource.get("hash_algorithm"))
        checksum = BNode()
        g.add((ref, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, URIRef(algorithm)))
        g.add((checksum, SPDX.checksumValue, Literal(value, datatype=XSD.hexBinary)))
    if resource.get("status"):
        g.add((ref, ADMS.status, uri_or_literal(str(resource["status"]))))


def _role_agent(package: Mapping[str, Any], extras: Mapping[str, Any], role: str) -> dict[str, Any]:
    """dcatde:maintainer (core ``maintainer`` fields, extras for the rest) and dcatde:originator (extras)."""
    source = {
        **extras,
        **({k: v for k, v in package.items() if k.startswith(role) and v} if role == "maintainer" else {}),
    }
    return {
        "name": source.get(role) or source.get(f"{role}_name"),
        "email": source.get(f"{role}_email"),
        "url": source.get(f"{role}_url"),
        "type": source.get(f"{role}_type"),
    }


def _add_agent(g: Graph, subject: URIRef, predicate: URIRef, agent: Mapping[str, Any]) -> None:
    node: URIRef | BNode = URIRef(agent["uri"]) if agent.get("uri") else BNode()
    g.add((subject, predicate, node))
    g.add((node, RDF.type, FOAF.Agent))
    g.add((node, RDF.type, FOAF.Organization))
    g.add((node, FOAF.name, Literal(str(agent["name"]))))
    if agent.get("email"):
        g.add((node, FOAF.mbox, URIRef(_mailto(agent["email"]))))
    if agent.get("url"):
        g.add((node, FOAF.homepage, URIRef(str(agent["url"]))))
    if agent.get("type"):
        g.add((node, DCT.type, uri_or_literal(str(agent["type"]))))


def _add_contact(g: Graph, ref: URIRef, package: Mapping[str, Any], extras: Mapping[str, Any]) -> None:
    """dcat:contactPoint from ``contact_*`` extras, falling back to maintainer, then author (as ckanext-dcatde)."""

    def pick(key: str) -> str | None:
        for source in (f"contact_{key}", f"maintainer_{key}", f"author_{key}"):
            if extras.get(source) or package.get(source):
                return str(extras.get(source) or package.get(source))
        return None

    name = extras.get("contact_name") or package.get("maintainer") or package.get("author")
    email, url, tel = pick("email"), pick("url"), pick("tel")
    if not (name or email or url):
        return
    node = URIRef(extras["contact_uri"]) if extras.get("contact_uri") else BNode()
    g.add((ref, DCAT.contactPoint, node))
    g.add((node, RDF.type, VCARD.Organization))
    g.add((node, RDF.type, VCARD.Kind))
    if name:
        g.add((node, VCARD.fn, Literal(str(name))))
    if email:
        g.add((node, VCARD.hasEmail, URIRef(_mailto(email))))
    if url:
        g.add((node, VCARD.hasURL, URIRef(url)))
    if tel:
        g.add((node, VCARD.hasTelephone, URIRef("tel:" + re.sub(r"[^0-9+]", "", tel))))
    parts = [(VCARD["street-address"], pick("street")), (VCARD["postal-code"], pick("zip"))]
    parts += [(VCARD.locality, pick("city")), (VCARD["country-name"], pick("country"))]
    if any(value for _, value in parts):
        address = BNode()
        g.add((node, VCARD.hasAddress, address))
        g.add((address, RDF.type, VCARD.Address))
        for predicate, value in parts:
            if value:
                g.add((address, predicate, Literal(value)))


def _mailto(email: Any) -> str:
    text = str(email).strip()
    return text if text.startswith("mailto:") else "mailto:" + text


def _text(g: Graph, subject: URIRef, predicate: URIRef, value: Any) -> None:
    if value not in (None, "") and str(value).strip():
        g.add((subject, predicate, Literal(str(value).strip())))
