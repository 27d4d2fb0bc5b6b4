"""DCAT-AP.de 2.0 for the catalogue of digital.interkommunal Kalletal.Lemgo, in one place.

- :mod:`dcat_ap_de.vocab`: namespaces and controlled vocabularies (standard library only);
- :mod:`dcat_ap_de.graph`: a CKAN package dict as DCAT-AP.de RDF (rdflib) - the portal's CKAN
  profile (``portal/ckanext-dcatde_lite``) and ``publish dcat`` both build their output with it;
- :mod:`dcat_ap_de.shacl`: SHACL shapes for DCAT-AP.de 2.0 "Spezifikation + Konventionen"
  (``shapes/dcat-ap-de-2.0.ttl``) and a pyshacl check against them.
"""
