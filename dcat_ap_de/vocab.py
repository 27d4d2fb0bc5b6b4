"""DCAT-AP.de 2.0 vocabulary: namespaces, controlled lists and URI forms.

Pure data (standard library only), shared by ``publish`` and the portal's CKAN plugin.
Sources: the DCAT-AP.de 2.0 specification and Konventionenhandbuch (dcat-ap.de/def/dcatde/2.0),
the dcat-ap.de licence list as GovData's CKAN registers it, the EU Publications Office
authority tables (file types, data themes, access rights, frequencies, languages).
"""

from __future__ import annotations

import re

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
DCATDE = "http://dcat-ap.de/def/dcatde/"
DCATAP = "http://data.europa.eu/r5r/"
FOAF = "http://xmlns.com/foaf/0.1/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
SPDX = "http://spdx.org/rdf/terms#"
ADMS = "http://www.w3.org/ns/adms#"
LOCN = "http://www.w3.org/ns/locn#"

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
THEME_BASE = EU_AUTHORITY + "data-theme/"
FILE_TYPE_BASE = EU_AUTHORITY + "file-type/"
LANGUAGE_BASE = EU_AUTHORITY + "language/"
ACCESS_RIGHT_BASE = EU_AUTHORITY + "access-right/"
FREQUENCY_BASE = EU_AUTHORITY + "frequency/"
PUBLISHER_TYPE_BASE = "http://purl.org/adms/publishertype/"
IANA_MEDIA_TYPE_BASE = "http://www.iana.org/assignments/media-types/"
LICENCE_BASE = "http://dcat-ap.de/def/licenses/"
CONTRIBUTOR_BASE = "http://dcat-ap.de/def/contributors/"
GEOCODING_BASE = "http://dcat-ap.de/def/politicalGeocoding/"
GEOCODING_LEVEL_BASE = GEOCODING_BASE + "Level/"

# The active entries of the dcat-ap.de licence list (Konvention 32: dct:license of every
# distribution is one of these). Older "2_0"-style URIs are inactive and not accepted.
DCATDE_LICENCES: tuple[str, ...] = tuple(
    LICENCE_BASE + code
    for code in (
        "apache",
        "bsd",
        "cc-by",
        "cc-by-de/3.0",
        "cc-by-nc",
        "cc-by-nc-de/3.0",
        "cc-by-nc/4.0",
        "cc-by-nd",
        "cc-by-nd/3.0",
        "cc-by-nd/4.0",
        "cc-by-sa",
        "cc-by-sa-de/3.0",
        "cc-by-sa/4.0",
        "cc-by/4.0",
        "cc-zero",
        "ccpdm/1.0",
        "dl-by-de/1.0",
        "dl-by-de/2.0",
        "dl-by-nc-de/1.0",
        "dl-zero-de/2.0",
        "geoNutz/20131001",
        "geonutz/20130319",
        "gfdl",
        "gpl/3.0",
        "mozilla",
        "odbl",
        "odby",
        "odcpddl",
        "officialWork",
        "other-closed",
        "other-commercial",
        "other-freeware",
        "other-open",
        "other-opensource",
    )
)

# Licences whose terms require naming the provider (Konvention 35: the text goes into
# dcatde:licenseAttributionByText).
ATTRIBUTION_LICENCES: frozenset[str] = frozenset(
    LICENCE_BASE + code
    for code in (
        "cc-by",
        "cc-by-de/3.0",
        "cc-by-nc",
        "cc-by-nc-de/3.0",
        "cc-by-nc/4.0",
        "cc-by-nd",
        "cc-by-nd/3.0",
        "cc-by-nd/4.0",
        "cc-by-sa",
        "cc-by-sa-de/3.0",
        "cc-by-sa/4.0",
        "cc-by/4.0",
        "dl-by-de/1.0",
        "dl-by-de/2.0",
        "dl-by-nc-de/1.0",
        "odbl",
        "odby",
    )
)

# EU data themes (dcat:theme); ckanext-dcatde's CKAN groups are the lowercase codes.
THEMES: dict[str, str] = {
    "AGRI": "Landwirtschaft, Fischerei, Forstwirtschaft und Nahrungsmittel",
    "ECON": "Wirtschaft und Finanzen",
    "EDUC": "Bildung, Kultur und Sport",
    "ENER": "Energie",
    "ENVI": "Umwelt",
    "HEAL": "Gesundheit",
    "INTR": "Internationale Themen",
    "JUST": "Justiz, Rechtssystem und öffentliche Sicherheit",
    "SOCI": "Bevölkerung und Gesellschaft",
    "GOVE": "Regierung und öffentlicher Sektor",
    "REGI": "Regionen und Städte",
    "TECH": "Wissenschaft und Technologie",
    "TRAN": "Verkehr",
}

ACCESS_RIGHTS = ("PUBLIC", "RESTRICTED", "NON_PUBLIC")

# CKAN format names (as users type them) -> EU file-type codes (Konvention 31: dct:format).
FILE_TYPES: dict[str, str] = {
    "csv": "CSV",
    "json": "JSON",
    "geojson": "GEOJSON",
    "xml": "XML",
    "xlsx": "XLSX",
    "xls": "XLS",
    "ods": "ODS",
    "pdf": "PDF",
    "zip": "ZIP",
    "txt": "TXT",
    "html": "HTML",
    "rdf": "RDF_XML",
    "rdf/xml": "RDF_XML",
    "ttl": "RDF_TURTLE",
    "turtle": "RDF_TURTLE",
    "jsonld": "JSON_LD",
    "json-ld": "JSON_LD",
    "parquet": "PARQUET",
    "shp": "SHP",
    "wms": "WMS_SRVC",
    "wfs": "WFS_SRVC",
}

# Political geocoding: one URI base per level, with the number of digits of its key.
GEOCODING_KEYS: dict[str, int] = {
    "stateKey": 2,  # Land
    "governmentDistrictKey": 3,  # Regierungsbezirk
    "districtKey": 5,  # Kreis
    "municipalityKey": 8,  # Amtlicher Gemeindeschlüssel
    "municipalAssociationKey": 9,  # Gemeindeverband
    "regionalKey": 12,  # Regionalschlüssel
}
GEOCODING_LEVELS = ("international", "european", "federal", "state", "administrativeDistrict", "municipality")

GEOCODING_URI = re.compile(
    "^"
    + re.escape(GEOCODING_BASE)
    + "(?:"
    + "|".join(f"{key}/[0-9]{{{digits}}}" for key, digits in GEOCODING_KEYS.items())
    + ")$"
)
EU_CODE_URI = r"[A-Z0-9_]+$"


def file_type_uri(value: str | None) -> str | None:
    """The EU file-type URI for a CKAN format ("CSV", "csv", or the URI itself); None if unknown."""
    if not value:
        return None
    text = str(value).strip()
    if text.startswith(FILE_TYPE_BASE):
        return text
    code = FILE_TYPES.get(text.lower())
    return FILE_TYPE_BASE + code if code else None


def media_type_uri(value: str | None) -> str | None:
    """The IANA URI for a media type ("text/csv"); None if it does not look like one."""
    if not value:
        return None
    text = str(value).strip()
    if text.startswith(IANA_MEDIA_TYPE_BASE) or text.startswith("https://www.iana.org/assignments/media-types/"):
        return text
    return IANA_MEDIA_TYPE_BASE + text if re.fullmatch(r"[a-z]+/[A-Za-z0-9.+-]+", text) else None
