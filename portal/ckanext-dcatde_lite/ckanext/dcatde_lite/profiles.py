"""The ``dcatap_de_lite`` RDF profile: DCAT-AP.de 2.0 output for ckanext-dcat's endpoints.

ckanext-dcat brings the endpoints (``/catalog.{ttl,rdf,jsonld}``, ``/dataset/<name>.{...}``),
paging and serialisation, and this profile inherits its DCAT-AP 2 parsing (for harvesting). What
a dataset looks like in RDF comes from :mod:`dcat_ap_de.graph`, the module ``publish dcat`` uses
too, so the portal and the local preview follow one mapping. It reads the extras under the names
GovData's ckanext-dcatde reads, so a portal running ckanext-dcatde shows the same facts.

Catalog settings (ckan.ini): ``ckan.site_title``, ``ckan.site_description``,
``ckanext.dcatde_lite.publisher_name``, ``..._publisher_url``, ``..._publisher_type``,
``ckanext.dcatde_lite.language`` (an EU language code, default DEU).
"""

from __future__ import annotations

from typing import Any

from ckan.plugins import toolkit
from rdflib import URIRef

from ckanext.dcat.profiles import EuropeanDCATAP2Profile
from ckanext.dcat.utils import catalog_uri, resource_uri
from dcat_ap_de import graph as dcatde_graph
from dcat_ap_de import vocab


class DCATAPdeLiteProfile(EuropeanDCATAP2Profile):
    """Writes datasets and the catalog with :mod:`dcat_ap_de.graph`; parses as DCAT-AP 2."""

    def graph_from_dataset(self, dataset_dict: dict[str, Any], dataset_ref: URIRef) -> None:
        dcatde_graph.add_dataset(self.g, dataset_ref, dataset_dict, lambda r: URIRef(resource_uri(r)))

    def graph_from_catalog(self, catalog_dict: dict[str, Any] | None, catalog_ref: URIRef) -> None:
        config = toolkit.config
        title = (catalog_dict or {}).get("title") or config.get("ckan.site_title") or "CKAN"
        publisher = {
            "name": config.get("ckanext.dcatde_lite.publisher_name") or title,
            "url": config.get("ckanext.dcatde_lite.publisher_url"),
            "type": config.get("ckanext.dcatde_lite.publisher_type"),
        }
        language = config.get("ckanext.dcatde_lite.language") or "DEU"
        dcatde_graph.add_catalog(
            self.g,
            catalog_ref,
            title=title,
            description=(catalog_dict or {}).get("description") or config.get("ckan.site_description") or title,
            homepage=catalog_uri(),
            publisher=publisher,
            languages=[vocab.LANGUAGE_BASE + language],
            modified=self._last_catalog_modification(),
        )
