"""DCAT-AP.de without a portal: ``publish dcat``, the shared mapping, the SHACL shapes, and the
rules ``publish validate`` names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import BNode, Graph, Literal, URIRef
from rdflib import namespace as ns
from rdflib.namespace import RDF, SH

import publish
from dcat_ap_de import graph as dg
from dcat_ap_de import shacl, vocab
from publish.cli import main
from tests.conftest import REPO

BASE = "https://daten.example.de"
FORMATS = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def print_findings(label: str, findings: list[shacl.Finding]) -> None:
    """The warnings (and any violation) go to the test output: `pytest -s` or on failure."""
    print(f"--- SHACL DCAT-AP.de 2.0 on {label}: {len(shacl.violations(findings))} violation(s)")
    for finding in findings:
        print("   ", finding)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_publish_dcat_conforms_in_every_format(fmt: str) -> None:
    code, out, err = run("dcat", "--catalogue", str(REPO), "--base-url", BASE, "--format", fmt)
    assert code == 0, err
    graph = Graph().parse(data=out, format=FORMATS[fmt])
    datasets = set(graph.subjects(RDF.type, dg.DCAT.Dataset))
    shipped = publish.load_catalogue(REPO)
    assert {str(d) for d in datasets} == {f"{BASE}/dataset/{d.name}" for d in shipped.datasets}
    assert "digital-interkommunal-projekte" in {d.name for d in shipped.datasets}
    distributions = set(graph.subjects(RDF.type, dg.DCAT.Distribution))
    assert len(distributions) == sum(len(d.resources) for d in shipped.datasets)
    for distribution in distributions:
        assert str(graph.value(distribution, dg.DCAT.downloadURL)).startswith(f"{BASE}/dataset/")
        assert graph.value(distribution, dg.DCAT.accessURL) == graph.value(distribution, dg.DCAT.downloadURL)
        assert graph.value(distribution, dg.DCT["format"]) == URIRef(vocab.FILE_TYPE_BASE + "CSV")
        assert graph.value(distribution, dg.DCT.license) == URIRef("http://dcat-ap.de/def/licenses/dl-by-de/2.0")
        assert graph.value(distribution, dg.DCATDE.licenseAttributionByText) is not None
    findings = shacl.check(graph)
    print_findings(f"publish dcat --format {fmt}", findings)
    assert shacl.violations(findings) == []


def test_publish_dcat_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "catalogue.jsonld"
    code, _out, err = run("dcat", "--catalogue", str(REPO), "--base-url", BASE, "--format", "jsonld", "-o", str(target))
    assert code == 0, err
    document = json.loads(target.read_text())
    assert document["@context"]["dcatde"] == vocab.DCATDE
    assert any(node.get("@type") == "dcat:Catalog" for node in document["@graph"])


def test_publish_dcat_needs_a_portal_or_base_url() -> None:
    code, _out, err = run("dcat", "--catalogue", str(REPO))
    assert code == 2
    assert "--base-url" in err


def test_german_extras_come_out_as_dcat_ap_de() -> None:
    package = {
        "name": "x",
        "title": "Titel",
        "notes": "Beschreibung",
        "license_id": "http://dcat-ap.de/def/licenses/cc-by/4.0",
        "maintainer": "Fachdienst Geodaten",
        "maintainer_email": "geo@example.de",
        "organization": {"title": "Gemeinde Kalletal"},
        "groups": [{"name": "envi"}],
        "extras": [
            {"key": "politicalGeocodingURI", "value": '["http://dcat-ap.de/def/politicalGeocoding/districtKey/05766"]'},
            {"key": "politicalGeocodingLevelURI", "value": vocab.GEOCODING_LEVEL_BASE + "administrativeDistrict"},
            {"key": "contributorID", "value": '["http://dcat-ap.de/def/contributors/openNRW"]'},
            {"key": "originator_name", "value": "Stadtwerke Lemgo"},
        ],
        "resources": [{"id": "r1", "url": "https://example.de/a.json", "format": "JSON", "hash": "sha256:ABCDEF01"}],
    }
    g = Graph()
    ref = dg.add_dataset(g, URIRef("https://example.de/d/x"), package, lambda r: URIRef("https://example.de/r/1"))
    assert g.value(ref, dg.DCATDE.contributorID) == URIRef("http://dcat-ap.de/def/contributors/openNRW")
    assert g.value(ref, dg.DCAT.theme) == URIRef(vocab.THEME_BASE + "ENVI")
    assert g.value(ref, dg.DCT.spatial) == URIRef("http://dcat-ap.de/def/politicalGeocoding/districtKey/05766")
    maintainer = g.value(ref, dg.DCATDE.maintainer)
    assert str(g.value(maintainer, dg.FOAF.name)) == "Fachdienst Geodaten"
    assert str(g.value(g.value(ref, dg.DCATDE.originator), dg.FOAF.name)) == "Stadtwerke Lemgo"
    # no publisher_* extras: the organization publishes, and is named in the attribution
    assert str(g.value(g.value(ref, dg.DCT.publisher), dg.FOAF.name)) == "Gemeinde Kalletal"
    dist = URIRef("https://example.de/r/1")
    assert str(g.value(dist, dg.DCATDE.licenseAttributionByText)) == "Gemeinde Kalletal"
    assert g.value(dist, dg.DCT["format"]) == URIRef(vocab.FILE_TYPE_BASE + "JSON")
    checksum = g.value(dist, dg.SPDX.checksum)
    assert g.value(checksum, dg.SPDX.checksumValue) == Literal("abcdef01", datatype=ns.XSD.hexBinary)
    assert g.value(checksum, dg.SPDX.algorithm) == dg.SPDX.checksumAlgorithm_sha256
    # the contact point falls back to the maintainer (as in ckanext-dcatde)
    contact = g.value(ref, dg.DCAT.contactPoint)
    assert g.value(contact, dg.VCARD.hasEmail) == URIRef("mailto:geo@example.de")
    assert shacl.violations(shacl.check(g)) == []


@pytest.mark.parametrize(
    ("hash_value", "algorithm", "expected"),
    [
        ("abc123", "http://spdx.org/rdf/terms#checksumAlgorithm_sha256", ("sha256", "abc123")),
        ("sha256:ABC123", None, ("sha256", "abc123")),
        ("sha256:abc123", "sha256", ("sha256", "abc123")),
        ("abc123", "SHA-1", ("sha1", "abc123")),
        ("md5:abc123", None, ("md5", "abc123")),
    ],
)
def test_checksum_value_is_bare_hex(hash_value: str, algorithm: str | None, expected: tuple[str, str]) -> None:
    uri, value = dg.checksum_parts(hash_value, algorithm)
    assert (uri, value) == (f"{vocab.SPDX}checksumAlgorithm_{expected[0]}", expected[1])


def test_shape_lists_match_the_vocabulary() -> None:
    shapes = shacl.shapes()
    lists = []
    for node in shapes.objects(None, SH["in"]):
        lists.append({str(x) for x in shapes.items(node)})
    assert set(vocab.DCATDE_LICENCES) in lists
    assert {vocab.THEME_BASE + t for t in vocab.THEMES} in lists
    assert {vocab.GEOCODING_LEVEL_BASE + level for level in vocab.GEOCODING_LEVELS} in lists
    text = shacl.SHAPES_FILE.read_text()
    sparql_attribution = set(
        re.findall(r"<(http://dcat-ap\.de/def/licenses/[^>]+)>", text.split("Konvention 35: the licence")[1])
    )
    assert sparql_attribution == set(vocab.ATTRIBUTION_LICENCES)


def _minimal_graph() -> tuple[Graph, URIRef, URIRef]:
    package = {
        "name": "x",
        "title": "T",
        "notes": "D",
        "license_id": "http://dcat-ap.de/def/licenses/dl-zero-de/2.0",
        "organization": {"title": "Gemeinde Kalletal"},
        "extras": {"contact_name": "Büro", "contact_email": "buero@example.de", "temporal_start": "2021-01-01"},
        "resources": [{"url": "https://example.de/a.csv", "format": "CSV"}],
    }
    g = Graph()
    ref = dg.add_dataset(g, URIRef("https://example.de/d/x"), package, lambda r: URIRef("https://example.de/r/1"))
    return g, ref, URIRef("https://example.de/r/1")


def _messages(g: Graph) -> list[str]:
    return [f.message for f in shacl.violations(shacl.check(g))]


def test_minimal_graph_conforms() -> None:
    g, _, _ = _minimal_graph()
    assert _messages(g) == []


def test_shapes_catch_broken_dcat_ap_de() -> None:
    g, ref, dist = _minimal_graph()
    # Konvention 32: a licence outside the dcat-ap.de list (the inactive "2_0" form)
    g.set((dist, dg.DCT.license, URIRef("http://dcat-ap.de/def/licenses/dl-zero-de/2_0")))
    # Konvention 31: a format as text
    g.set((dist, dg.DCT["format"], Literal("CSV")))
    # Konvention 01: a contact without email or web address
    contact = g.value(ref, dg.DCAT.contactPoint)
    g.remove((contact, dg.VCARD.hasEmail, None))
    # Konvention 38: a period without start or end
    period = g.value(ref, dg.DCT.temporal)
    g.remove((period, None, None))
    g.add((period, RDF.type, dg.DCT.PeriodOfTime))
    # Konvention 13: two contributor IDs of GovData's list
    for name in ("openNRW", "kalletal"):
        g.add((ref, dg.DCATDE.contributorID, URIRef(vocab.CONTRIBUTOR_BASE + name)))
    # Konvention 36: no publisher
    g.remove((ref, dg.DCT.publisher, None))
    # a checksum with its algorithm prefix left in
    checksum = BNode()
    g.add((dist, dg.SPDX.checksum, checksum))
    g.add((checksum, RDF.type, dg.SPDX.Checksum))
    g.add((checksum, dg.SPDX.algorithm, dg.SPDX.checksumAlgorithm_sha256))
    g.add((checksum, dg.SPDX.checksumValue, Literal("sha256:abc", datatype=ns.XSD.hexBinary)))
    # a date that is not a date
    g.add((ref, dg.DCT.issued, Literal("01.01.2021")))
    messages = "\n".join(_messages(g))
    for rule in ("Konvention 32", "Konvention 31", "Konvention 01", "Konvention 38", "Konvention 13", "Konvention 36"):
        assert f"DCAT-AP.de {rule}:" in messages, rule
    assert "spdx:checksumValue is the bare hex digest" in messages
    assert "dct:issued is at most one xsd:date or xsd:dateTime" in messages


def test_the_check_leaves_the_graph_as_it_was() -> None:
    # checked in place (no copy), which is sound only while no shape adds triples
    g, _, dist = _minimal_graph()
    g.set((dist, dg.DCT["format"], Literal("CSV")))  # a violation, so the check has things to say
    before = set(g)
    assert shacl.violations(shacl.check(g))
    assert set(g) == before
    assert (None, SH.rule, None) not in shacl.shapes()


def test_attribution_licence_needs_by_text() -> None:
    g, _, dist = _minimal_graph()
    g.set((dist, dg.DCT.license, URIRef("http://dcat-ap.de/def/licenses/cc-by/4.0")))
    g.remove((dist, dg.DCATDE.licenseAttributionByText, None))
    assert any(m.startswith("DCAT-AP.de Konvention 35:") for m in _messages(g))


# ---------------------------------------------------------------- publish validate names the rule


def validate_errors(catalogue: Path) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(main, ["validate", "--catalogue", str(catalogue), "--json"])
    return result.exit_code, json.loads(result.stdout)["errors"]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_validate_names_the_licence_rule(catalogue_dir: Path) -> None:
    edit(catalogue_dir / "datasets/catalogue.yaml", "licenses/dl-by-de/2.0", "licenses/dl-by-de/2_0")
    code, errors = validate_errors(catalogue_dir)
    assert code == 1
    assert any(e["field"] == "license" and e["message"].startswith("DCAT-AP.de Konvention 32:") for e in errors)


def test_validate_names_the_publisher_rule(catalogue_dir: Path) -> None:
    meta = catalogue_dir / "datasets/catalogue.yaml"
    meta.write_text(re.sub(r"(?m)^publisher:\n(  .*\n)+", "", meta.read_text()))
    code, errors = validate_errors(catalogue_dir)
    assert code == 1
    assert any(e["field"] == "publisher.name" and "DCAT-AP.de Konvention 36:" in e["message"] for e in errors)


def test_validate_names_the_date_rule(catalogue_dir: Path) -> None:
    edit(catalogue_dir / "datasets/projects/datapackage.yaml", 'start: "2021-01-01"', 'start: "01.01.2021"')
    code, errors = validate_errors(catalogue_dir)
    assert code == 1
    (error,) = [e for e in errors if e["file"] == "datasets/projects/datapackage.yaml"]
    assert error["field"] == "temporal.start"
    assert "DCAT-AP.de Spezifikation: dates are xsd:date" in error["message"]


def test_validate_applies_the_shapes_beyond_the_metadata_checks(catalogue_dir: Path) -> None:
    # the URI form passes the metadata check, but a municipality key has 8 digits (Konvention 08)
    edit(catalogue_dir / "datasets/catalogue.yaml", "municipalityKey/05766044", "municipalityKey/0576604")
    code, errors = validate_errors(catalogue_dir)
    assert code == 1
    (error,) = errors
    assert error["file"] == "datasets/catalogue.yaml"
    assert error["field"] == "geocoding.uris"
    assert error["message"].startswith("DCAT-AP.de Konvention 08:")
    assert error["code"] == "dcat-ap-de"


def _content_key_of(catalogue: Path) -> object:
    from publish.catalogue import load_catalogue
    from publish.dcat import catalogue_graph, content_key

    return content_key(catalogue_graph(load_catalogue(catalogue), base_url=BASE))


def test_the_content_key_of_a_graph_is_blind_to_blank_node_names_only(catalogue_dir: Path) -> None:
    from publish.dcat import content_key

    first = _content_key_of(catalogue_dir)
    assert first is not None
    assert _content_key_of(catalogue_dir) == first  # built again: other blank nodes, same key
    edit(catalogue_dir / "datasets/catalogue.yaml", "municipalityKey/05766044", "municipalityKey/0576604")
    assert _content_key_of(catalogue_dir) != first
    ex = ns.Namespace("https://example.org/")
    shared, loop_a, loop_b = BNode(), BNode(), BNode()
    tree = Graph()
    tree.add((ex.a, ex.p, shared))
    tree.add((shared, ex.q, Literal("x")))
    assert content_key(tree) is not None
    tree.add((ex.b, ex.p, shared))  # a blank node below two nodes
    assert content_key(tree) is None
    on_top = Graph()
    on_top.add((BNode(), ex.p, ex.a))
    assert content_key(on_top) is None
    cycle = Graph()
    cycle.add((ex.a, ex.p, ex.b))
    cycle.add((loop_a, ex.p, loop_b))
    cycle.add((loop_b, ex.p, loop_a))
    assert content_key(cycle) is None
    typed, plain = Graph(), Graph()
    typed.add((ex.a, ex.p, Literal("1", datatype=ns.XSD.string)))
    plain.add((ex.a, ex.p, Literal("1")))
    assert content_key(typed) != content_key(plain)


def test_the_installed_rdflib_gets_the_parse_once_speed_up() -> None:
    """The SHACL check parses each SPARQL rule once by wrapping rdflib's ``SPARQLProcessor.query``
    (dcat_ap_de.shacl); an rdflib whose method takes other parameters is checked unwrapped. This
    test fails when an upgrade turns the speed-up off, so that it is noticed."""
    from rdflib.plugins.sparql import processor

    original = processor.SPARQLProcessor.query
    assert shacl._patchable(original)
    with shacl._prepared_queries():
        assert processor.SPARQLProcessor.query is not original
    assert processor.SPARQLProcessor.query is original


def test_an_rdflib_with_another_query_signature_is_left_unwrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    from rdflib.plugins.sparql import processor

    def other(self: object, query: object, **options: object) -> None:
        return None

    monkeypatch.setattr(processor.SPARQLProcessor, "query", other)
    with shacl._prepared_queries():
        assert processor.SPARQLProcessor.query is other
