"""The catalogue as DCAT-AP.de 2.0 RDF, from the local files, and its check against the SHACL shapes.

The CKAN package dicts come from :mod:`publish.mapping` (what ``publish push`` writes); the RDF
comes from :mod:`dcat_ap_de.graph`, the module the portal's CKAN profile uses as well. So
``publish dcat`` shows what the portal's ``/catalog.ttl`` will say, without a portal.

Where distributions point:
- with a portal: the dataset and resource URIs and download URLs the portal gives them
  (``<portal>/dataset/<id>``, ``.../resource/<id>``, ``.../download/<file>``), as its own DCAT
  endpoints write them; every dataset must have been pushed;
- else under a base URL: ``<base>/dataset/<name>``, ``<base>/dataset/<name>/resource/<resource>``
  and the file at ``<base>/dataset/<name>/<file name>``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rdflib import BNode, Graph, Literal, URIRef

from dcat_ap_de import graph as dcatde_graph
from dcat_ap_de import shacl

from .catalogue import Catalogue
from .errors import ConfigurationError
from .mapping import IDENTITY_FIELD, DesiredPackage, FileDigest, desired_package, desired_state
from .report import Problem

if TYPE_CHECKING:
    from .portal import Portal

# --format value -> rdflib serializer
FORMATS = {"ttl": "turtle", "rdf": "pretty-xml", "jsonld": "json-ld"}
CHECK_BASE = "https://portal.invalid"  # stands in for the portal in `publish validate`


def catalogue_graph(
    catalogue: Catalogue,
    *,
    base_url: str | None = None,
    portal: Portal | None = None,
    packages: list[DesiredPackage] | None = None,
) -> Graph:
    """The whole catalogue as one DCAT-AP.de graph (dcat:Catalog, its datasets and distributions)."""
    if portal is None and not base_url:
        raise ConfigurationError("give --portal URL or --base-url URL: where the datasets and their files are found")
    base = (portal.url if portal is not None else str(base_url)).rstrip("/")
    meta = catalogue.meta
    g = dcatde_graph.bind_prefixes(Graph())
    catalog_ref = URIRef(base)
    modified = []
    datasets = []
    for package in packages if packages is not None else desired_state(catalogue):
        if portal is not None:
            ref, ckan_package, resource_ref = _on_portal(portal, catalogue, package)
            modified.append(str(ckan_package.get("metadata_modified") or ""))
        else:
            ref, ckan_package, resource_ref = _under_base(base, catalogue, package)
        dcatde_graph.add_dataset(g, ref, ckan_package, resource_ref)
        datasets.append(ref)
    dcatde_graph.add_catalog(
        g,
        catalog_ref,
        title=str(meta.get("title") or ""),
        description=str(meta.get("description") or meta.get("title") or ""),
        homepage=base,
        publisher=meta.get("publisher") or {},
        languages=[str(x) for x in meta.get("language") or []],
        modified=max(modified) if any(modified) else None,
    )
    for ref in datasets:
        g.add((catalog_ref, dcatde_graph.DCAT.dataset, ref))
    return g


def serialize(graph: Graph, fmt: str = "ttl") -> str:
    if fmt not in FORMATS:
        raise ConfigurationError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if fmt == "jsonld":
        context = {prefix: str(ns) for prefix, ns in dcatde_graph.PREFIXES.items()}
        context["xsd"] = "http://www.w3.org/2001/XMLSchema#"
        return graph.serialize(format="json-ld", context=context, auto_compact=True)
    return graph.serialize(format=FORMATS[fmt])


def check(catalogue: Catalogue, *, remember: bool = False) -> list[Problem]:
    """The DCAT-AP.de rules (SHACL shapes) applied to the catalogue's metadata; reads no data file.

    Each violation becomes a problem in the file to fix: ``catalogue.yaml`` for what every
    dataset takes from it (publisher, contact, licence default, geocoding, language), else the
    dataset's descriptor.

    With ``remember`` the problems are kept in this process for the next check of the same graph
    (the same triples, blank nodes aside, and namespaces) with the same files to blame; the
    shapes and the code are those of the process, so the answer would be the same.
    """
    names = {d.folder_name: str(d.descriptor.get("name")) for d in catalogue.datasets}
    packages = [desired_package(catalogue, d, names, fingerprint=_no_digest) for d in catalogue.datasets]
    graph = catalogue_graph(catalogue, base_url=CHECK_BASE, packages=packages)
    files = {
        URIRef(f"{CHECK_BASE}/dataset/{p.name}"): (
            p,
            next(d for d in catalogue.datasets if d.folder_name == p.folder_name),
        )
        for p in packages
    }
    remembered = _remembered_key(catalogue, graph, files) if remember else None
    known = _REMEMBERED.get(remembered) if remembered is not None else None
    if known is not None:
        return list(known)
    problems: dict[tuple[str, str | None, str], Problem] = {}
    for finding in shacl.check(graph):
        if finding.severity != "Violation":
            continue
        dataset_ref = _owning_dataset(graph, finding.node)
        predicate = _top_predicate(graph, finding.node, dataset_ref, finding.path_node)
        if predicate == _P.DCAT.distribution and finding.path_node == _P.DCT.license:
            predicate = _P.DCT.license  # a distribution's licence is the dataset's or the catalogue's
        file = catalogue.relative(catalogue.meta_file)
        key = CATALOGUE_FIELDS.get(predicate) if predicate is not None else None
        if dataset_ref in files and (
            key is None or (key == "license" and files[dataset_ref][1].descriptor.get("licenses"))
        ):
            dataset = files[dataset_ref][1]
            file = catalogue.relative(dataset.descriptor_file) if dataset.descriptor_file else file
            key = DATASET_FIELDS.get(predicate, key) if predicate is not None else None
        problem = Problem(file, "dcat-ap-de", finding.message, field=key, value=finding.value)
        problems.setdefault((problem.file, problem.field, problem.message), problem)
    if remembered is not None:
        with _REMEMBERING:
            if len(_REMEMBERED) >= _REMEMBER_AT_MOST:
                del _REMEMBERED[next(iter(_REMEMBERED))]  # the oldest
            _REMEMBERED[remembered] = list(problems.values())
    return list(problems.values())


# The problems of checked graphs in this process (``check(..., remember=True)``), oldest first.
_REMEMBERED: dict[tuple[Any, ...], list[Problem]] = {}
_REMEMBER_AT_MOST = 32
_REMEMBERING = threading.Lock()


def _remembered_key(catalogue: Catalogue, graph: Graph, files: Mapping[URIRef, Any]) -> tuple[Any, ...] | None:
    """What the problems of :func:`check` depend on besides the code: the graph's content and the
    files a violation is blamed on (None where the graph's content has no key)."""
    content = content_key(graph)
    if content is None:
        return None
    blamed = sorted(
        (
            str(ref),
            catalogue.relative(dataset.descriptor_file) if dataset.descriptor_file else None,
            bool(dataset.descriptor.get("licenses")),
        )
        for ref, (_package, dataset) in files.items()
    )
    return (content, catalogue.relative(catalogue.meta_file), tuple(blamed))


def content_key(graph: Graph) -> tuple[Any, ...] | None:
    """The graph's triples and namespaces, each blank node written out as the triples below it.

    Two graphs with the same key hold the same triples up to the names of their blank nodes. Only
    for graphs whose blank nodes form trees below named nodes (each the object of one triple,
    none on top, no cycle), as the DCAT-AP.de mapping makes them; else None.
    """
    below: dict[BNode, list[tuple[Any, ...]]] = {}
    top: list[tuple[Any, ...]] = []
    uses: Counter[BNode] = Counter()
    for s, p, o in graph:
        if isinstance(o, BNode):
            uses[o] += 1
        if isinstance(s, BNode):
            below.setdefault(s, []).append((p, o))
        else:
            top.append((s, p, o))
    if any(n != 1 for n in uses.values()) or any(node not in uses for node in below):
        return None
    written: set[BNode] = set()

    def term(node: Any) -> tuple[Any, ...]:
        if isinstance(node, BNode):
            if node in written:  # a cycle
                raise ValueError(node)
            written.add(node)
            return ("b", tuple(sorted((str(p), term(o)) for p, o in below.get(node, []))))
        if isinstance(node, Literal):
            return ("l", str(node), str(node.datatype or ""), node.language or "")
        return ("u", str(node))

    try:
        triples = tuple(sorted((term(s), str(p), term(o)) for s, p, o in top))
    except ValueError:
        return None
    if written != set(uses):  # blank nodes only below one another, in a cycle
        return None
    return (triples, tuple(sorted((prefix, str(name)) for prefix, name in graph.namespaces())))


# Which key of catalogue.yaml / a datapackage.yaml a DCAT property comes from.
_P = dcatde_graph
CATALOGUE_FIELDS: dict[URIRef, str] = {
    _P.DCT.publisher: "publisher",
    _P.DCAT.contactPoint: "contact",
    _P.DCT.language: "language",
    _P.DCT.accessRights: "access_rights",
    _P.DCATDE.politicalGeocodingURI: "geocoding.uris",
    _P.DCATDE.politicalGeocodingLevelURI: "geocoding.level",
    _P.DCATDE.geocodingDescription: "geocoding.description",
    _P.DCT.spatial: "geocoding.uris",
    _P.DCT.license: "license",
    _P.DCT.title: "title",
}
DATASET_FIELDS: dict[URIRef, str] = {
    _P.DCT.title: "title",
    _P.DCT.description: "description",
    _P.DCAT.keyword: "keywords",
    _P.DCAT.theme: "themes",
    _P.DCAT.landingPage: "homepage",
    _P.DCT.identifier: "identifier",
    _P.DCT.temporal: "temporal",
    _P.DCT.accrualPeriodicity: "frequency",
    _P.DCT.license: "licenses",
    _P.DCAT.distribution: "resources",
}


def _no_digest(_path: Any) -> FileDigest:
    return FileDigest(sha256="", size=0)


def _owning_dataset(graph: Graph, node: Any) -> URIRef | None:
    """The dcat:Dataset a node belongs to (itself, or the dataset above a blank node or distribution)."""
    seen = set()
    while node is not None and node not in seen:
        seen.add(node)
        if (node, dcatde_graph.RDF.type, dcatde_graph.DCAT.Dataset) in graph:
            return node
        node = next(graph.subjects(None, node), None)
    return None


def _top_predicate(graph: Graph, node: Any, dataset_ref: URIRef | None, path: Any) -> URIRef | None:
    """The dataset's own property that leads to ``node`` (or ``path`` where node is the dataset)."""
    if dataset_ref is None or node == dataset_ref:
        return path if isinstance(path, URIRef) else None
    child = node
    seen = set()
    while child is not None and child not in seen:
        seen.add(child)
        for parent, predicate in graph.subject_predicates(child):
            if parent == dataset_ref:
                return predicate if isinstance(predicate, URIRef) else None
            child = parent
            break
        else:
            return None
    return None


def _under_base(
    base: str, catalogue: Catalogue, package: DesiredPackage
) -> tuple[URIRef, dict[str, Any], Callable[[Mapping[str, Any]], URIRef]]:
    dataset_url = f"{base}/dataset/{package.name}"
    resources = []
    for resource in package.resources:
        fields = dict(resource.fields)
        fields["url"] = f"{dataset_url}/{resource.filename}"
        resources.append(fields)
    ckan_package = {**package.fields, "organization": _organization(catalogue), "resources": resources}

    def resource_ref(resource: Mapping[str, Any]) -> URIRef:
        return URIRef(f"{dataset_url}/resource/{resource[IDENTITY_FIELD]}")

    return URIRef(dataset_url), ckan_package, resource_ref


def _on_portal(
    portal: Portal, catalogue: Catalogue, package: DesiredPackage
) -> tuple[URIRef, dict[str, Any], Callable[[Mapping[str, Any]], URIRef]]:
    remote = portal.find_package(package.name)
    if remote is None:
        raise ConfigurationError(
            f"dataset {package.name} is not on {portal.url} yet: run 'publish push' first, or use --base-url"
        )
    by_key = {str(r.get(IDENTITY_FIELD)): r for r in remote.get("resources") or []}
    resources = []
    for resource in package.resources:
        there = by_key.get(resource.identity)
        if there is None:
            raise ConfigurationError(
                f"resource {resource.identity} of {package.name} is not on {portal.url} yet: run 'publish push' first"
            )
        fields = dict(resource.fields)
        for key in ("id", "package_id", "url", "created", "last_modified", "metadata_modified"):
            if there.get(key):
                fields[key] = there[key]
        resources.append(fields)
    ckan_package = {
        **package.fields,
        "id": remote["id"],
        "metadata_created": remote.get("metadata_created"),
        "metadata_modified": remote.get("metadata_modified"),
        "organization": _organization(catalogue),
        "resources": resources,
    }
    base = portal.url.rstrip("/")

    def resource_ref(resource: Mapping[str, Any]) -> URIRef:
        return URIRef(f"{base}/dataset/{remote['id']}/resource/{resource['id']}")

    return URIRef(f"{base}/dataset/{remote['id']}"), ckan_package, resource_ref


def _organization(catalogue: Catalogue) -> dict[str, Any]:
    org = catalogue.meta.get("organization") or {}
    return {"name": org.get("name"), "title": org.get("title")}
