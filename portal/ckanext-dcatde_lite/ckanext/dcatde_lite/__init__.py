"""DCAT-AP.de 2.0 for ckanext-dcat: the portal's RDF profile ``dcatap_de_lite``."""
