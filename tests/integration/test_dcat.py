"""The portal's DCAT-AP.de after ``publish push``: every endpoint answers, and the SHACL shapes for
DCAT-AP.de 2.0 "Spezifikation + Konventionen" find 0 violations in /catalog.ttl, in every
/dataset/<name>.ttl and in ``publish dcat --portal`` (warnings are printed: ``pytest -s``)."""

from __future__ import annotations

from pathlib import Path

import requests
from click.testing import CliRunner
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF

from dcat_ap_de import shacl, vocab
from dcat_ap_de.graph import DCAT, DCATDE, DCT, SPDX
from publish.cli import main
from tests.integration.publishing import names

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
PARSERS = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld"}


def fetch(url: str, fmt: str = "ttl") -> Graph:
    response = requests.get(url, timeout=60)
    assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
    # The bytes, as a harvester reads them: Turtle and JSON-LD are UTF-8 by definition, RDF/XML says
    # its encoding itself (requests would guess ISO-8859-1 for a text/* type without a charset).
    return Graph().parse(data=response.content, format=PARSERS[fmt])


def whole_catalog(ckan_url: str) -> Graph:
    """/catalog.ttl with every page (ckanext-dcat pages with hydra:next)."""
    graph = Graph()
    url: str | None = f"{ckan_url}/catalog.ttl"
    while url:
        page = fetch(url)
        graph += page
        following = next(page.objects(None, HYDRA.nextPage), None) or next(page.objects(None, HYDRA.next), None)
        url = str(following) if following else None
    return graph


def assert_conforms(label: str, graph: Graph) -> None:
    findings = shacl.check(graph)
    print(
        f"--- SHACL DCAT-AP.de 2.0 on {label}: {len(shacl.violations(findings))} violation(s), "
        f"{len(findings) - len(shacl.violations(findings))} warning(s)"
    )
    for finding in findings:
        print("   ", finding)
    assert shacl.violations(findings) == [], "\n".join(str(f) for f in shacl.violations(findings))


def test_portal_serves_valid_dcat_ap_de_after_push(
    publisher: object, catalogue: Path, ckan: object, ckan_url: str, tmp_path: Path
) -> None:
    code, report = publisher.json("push", "--yes")  # type: ignore[attr-defined]
    assert code == 0, report
    pushed = {name: ckan.action.package_show(id=name) for name in names(catalogue).values()}  # type: ignore[attr-defined]

    catalog = whole_catalog(ckan_url)
    assert_conforms("/catalog.ttl", catalog)
    (catalog_ref,) = catalog.subjects(RDF.type, DCAT.Catalog)
    listed = set(catalog.objects(catalog_ref, DCAT.dataset))
    for name, package in pushed.items():
        ref = URIRef(f"{ckan_url}/dataset/{package['id']}")
        assert ref in listed, f"{name} is not in /catalog.ttl"
        distributions = set(catalog.objects(ref, DCAT.distribution))
        assert len(distributions) == len(package["resources"]) > 0
        downloads = {str(catalog.value(d, DCAT.downloadURL)) for d in distributions}
        assert downloads == {r["url"] for r in package["resources"]}
        for distribution in distributions:
            assert catalog.value(distribution, DCT["format"]) == URIRef(vocab.FILE_TYPE_BASE + "CSV")
            value = catalog.value(catalog.value(distribution, SPDX.checksum), SPDX.checksumValue)
            assert value is not None and ":" not in str(value)
        assert set(catalog.objects(ref, DCATDE.politicalGeocodingURI)) == {
            URIRef(vocab.GEOCODING_BASE + "municipalityKey/05766044"),
            URIRef(vocab.GEOCODING_BASE + "municipalityKey/05766036"),
        }

    for name, package in pushed.items():
        one = fetch(f"{ckan_url}/dataset/{name}.ttl")
        assert_conforms(f"/dataset/{name}.ttl", one)
        assert (URIRef(f"{ckan_url}/dataset/{package['id']}"), RDF.type, DCAT.Dataset) in one
        for fmt in ("rdf", "jsonld"):
            other = fetch(f"{ckan_url}/dataset/{name}.{fmt}", fmt)
            assert len(other) == len(one), f"{name}.{fmt} says something else than {name}.ttl"
    for fmt in ("rdf", "jsonld"):
        assert len(fetch(f"{ckan_url}/catalog.{fmt}", fmt)) > 0

    # publish dcat --portal: the same datasets, distributions and download URLs, from the local files
    result = CliRunner().invoke(
        main, ["dcat", "--catalogue", str(catalogue), "--portal", ckan_url], env={"CKAN_API_TOKEN": ""}
    )
    assert result.exit_code == 0, result.output
    local = Graph().parse(data=result.stdout, format="turtle")
    assert_conforms("publish dcat --portal", local)
    for package in pushed.values():
        ref = URIRef(f"{ckan_url}/dataset/{package['id']}")
        assert set(local.objects(ref, DCAT.distribution)) == set(catalog.objects(ref, DCAT.distribution))
        for distribution in local.objects(ref, DCAT.distribution):
            assert local.value(distribution, DCAT.downloadURL) == catalog.value(distribution, DCAT.downloadURL)
            assert local.value(distribution, DCT.license) == catalog.value(distribution, DCT.license)
        assert local.value(ref, DCT.title) == catalog.value(ref, DCT.title)
