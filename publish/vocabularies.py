"""Controlled vocabularies of DCAT-AP.de that the catalogue metadata must use."""

from __future__ import annotations

import re

from dcat_ap_de.vocab import THEMES as THEMES  # the one list of EU data themes

# DCAT-AP.de licence URIs (the form without a trailing slash) and their German titles.
LICENCES: dict[str, str] = {
    "http://dcat-ap.de/def/licenses/dl-by-de/2.0": "Datenlizenz Deutschland Namensnennung 2.0",
    "http://dcat-ap.de/def/licenses/dl-zero-de/2.0": "Datenlizenz Deutschland Zero 2.0",
    "http://dcat-ap.de/def/licenses/cc-by/4.0": "Creative Commons Namensnennung 4.0 International",
    "http://dcat-ap.de/def/licenses/cc-by-sa/4.0": (
        "Creative Commons Namensnennung - Weitergabe unter gleichen Bedingungen 4.0 International"
    ),
    "http://dcat-ap.de/def/licenses/cc-zero": "Creative Commons Zero 1.0 Universell (CC0 1.0)",
}

THEME_BASE = "http://publications.europa.eu/resource/authority/data-theme/"

GEOCODING_BASE = "http://dcat-ap.de/def/politicalGeocoding/"
GEOCODING_LEVEL_BASE = GEOCODING_BASE + "Level/"
GEOCODING_LEVELS = ("international", "european", "federal", "state", "administrativeDistrict", "municipality")
LANGUAGE_BASE = "http://publications.europa.eu/resource/authority/language/"
ACCESS_RIGHT_BASE = "http://publications.europa.eu/resource/authority/access-right/"
FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"
PUBLISHER_TYPE_BASE = "http://purl.org/adms/publishertype/"

# CKAN's rule for dataset and organization names.
CKAN_NAME = re.compile(r"^[a-z0-9_-]{2,100}$")
