"""What a DataStore table of a resource is, decided without the portal (pure, no HTTP).

The Table Schema → DataStore type mapping and field list (with the data dictionary), the primary
key, the digests that tell whether a table is current, how a table loads (the plan's choice), and
the conversion of CSV chunks into records. :mod:`publish.datastore` loads tables on the portal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MAPPING_VERSION = "1"  # bump when the loading rules change, so every table is loaded again
CHUNK_ROWS = 10_000
FIRST_LOAD, REBUILD, IN_PLACE = "first-load", "rebuild", "in-place"  # how a table loads (the plan decides)
DIGEST_KEY = "datastore_digest"  # resource field: which data + schema the table holds

# Table Schema type → DataStore (PostgreSQL) type.
TYPES: dict[str, str] = {
    "string": "text",
    "integer": "int8",
    "number": "numeric",
    "boolean": "bool",
    "date": "date",
    "datetime": "timestamp",
    "time": "time",
    "year": "int4",
    "yearmonth": "text",
    "duration": "text",
    "geopoint": "text",
    "geojson": "json",
    "object": "json",
    "array": "json",
    "list": "text",
    "any": "text",
}


def datastore_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """DataStore field definitions: mapped type, and the schema's title/description as dictionary."""
    return [
        {
            "id": field["name"],
            "type": TYPES.get(field.get("type", "string"), "text"),
            "info": {"label": field.get("title", ""), "notes": field.get("description", "")},
        }
        for field in schema.get("fields", [])
    ]


def primary_key(schema: dict[str, Any]) -> list[str]:
    key = schema.get("primaryKey") or []
    return [key] if isinstance(key, str) else list(key)


def shape_digest(schema: dict[str, Any]) -> str:
    """Fingerprint of the table's shape: field names, types and the primary key."""
    shape = [(f["id"], f["type"]) for f in datastore_fields(schema)], primary_key(schema)
    return hashlib.sha256(json.dumps([MAPPING_VERSION, shape]).encode()).hexdigest()


def table_digest(file_sha256: str, schema: dict[str, Any]) -> str:
    """Fingerprint of what the table must hold: the file's content plus the whole schema.

    Stored on the resource after a load (``datastore_digest``), so a plan can tell from the
    portal's package data alone that the table is current.
    """
    payload = json.dumps([MAPPING_VERSION, file_sha256, schema], sort_keys=True, ensure_ascii=False)
    return shape_digest(schema)[:16] + ":" + hashlib.sha256(payload.encode()).hexdigest()


def shape_of(digest: str | None) -> str | None:
    """The shape part of a :func:`table_digest`."""
    return digest.split(":", 1)[0] if digest and ":" in digest else None


def read_records(path: Path, schema: dict[str, Any], chunk_rows: int = CHUNK_ROWS) -> Iterator[list[dict[str, Any]]]:
    """The CSV's rows as DataStore records, in chunks (memory stays flat for any file size).

    Cells are read as text and converted where PostgreSQL would not cast the text itself:
    missing values → null, integers, booleans (the schema's true/false values), JSON.
    """
    import pandas as pd  # here, not at the top: commands that load no table start faster and smaller

    fields = {f["name"]: f for f in schema.get("fields", [])}
    missing = set(schema.get("missingValues", [""]))
    reader = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], chunksize=chunk_rows, encoding="utf-8")
    for frame in reader:
        columns = {name: [_convert(v, fields.get(name, {}), missing) for v in frame[name]] for name in frame.columns}
        names = list(columns)
        yield [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _convert(value: str, field: dict[str, Any], missing: set[str]) -> Any:
    if value in missing:
        return None
    kind = field.get("type", "string")
    if kind in ("integer", "year"):
        return int(value)
    if kind == "boolean":
        return value in field.get("trueValues", ["true", "True", "TRUE", "1"])
    if kind in ("object", "array", "geojson"):
        return json.loads(value)
    return value
