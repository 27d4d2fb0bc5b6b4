"""Pure parts of the DataStore loading: type mapping, dictionary, digests, records."""

from __future__ import annotations

import json
from pathlib import Path

from publish.datastore_schema import TYPES, datastore_fields, read_records, shape_of, table_digest
from tests.conftest import REPO

TABLE_SCHEMA_TYPES = {
    "string",
    "number",
    "integer",
    "boolean",
    "object",
    "array",
    "list",
    "date",
    "time",
    "datetime",
    "year",
    "yearmonth",
    "duration",
    "geopoint",
    "geojson",
    "any",
}


def projects_schema() -> dict:
    return json.loads((REPO / "schemas/projects.schema.json").read_text())


def test_every_table_schema_type_has_a_datastore_type() -> None:
    assert set(TYPES) == TABLE_SCHEMA_TYPES
    assert (TYPES["integer"], TYPES["number"], TYPES["boolean"], TYPES["date"], TYPES["datetime"]) == (
        "int8",
        "numeric",
        "bool",
        "date",
        "timestamp",
    )


def test_fields_carry_types_and_the_german_dictionary() -> None:
    fields = {f["id"]: f for f in datastore_fields(projects_schema())}
    assert fields["start_year"]["type"] == "int4"
    assert fields["quick_win"]["type"] == "bool"
    assert fields["source_date"]["type"] == "date"
    assert fields["status"] == {
        "id": "status",
        "type": "text",
        "info": {"label": "Status", "notes": "Umsetzungsstand laut Quelle; leer, wenn unbekannt."},
    }


def test_table_digest_follows_file_and_schema() -> None:
    schema = projects_schema()
    base = table_digest("a" * 64, schema)
    assert table_digest("a" * 64, schema) == base
    assert table_digest("b" * 64, schema) != base
    relabelled = json.loads(json.dumps(schema))
    relabelled["fields"][0]["title"] = "ID"
    assert table_digest("a" * 64, relabelled) != base
    assert shape_of(table_digest("a" * 64, relabelled)) == shape_of(base)  # same columns and types
    retyped = json.loads(json.dumps(schema))
    retyped["fields"][7]["type"] = "integer"
    assert shape_of(table_digest("a" * 64, retyped)) != shape_of(base)
    assert shape_of(None) is None


def test_records_are_typed_and_chunked(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "id,name,field_of_action,municipality,phase,status,quick_win,start_year,description,source_url,source_date\n"
        "a,A,Umwelt,,x,,true,2024,,https://example.org,2024-07-18\n"
        "b,B,,,,,false,,,https://example.org,\n"
        "c,C,,,,,,,,https://example.org,\n",
        encoding="utf-8",
    )
    chunks = list(read_records(path, projects_schema(), chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 1]
    first, second = chunks[0]
    assert first["start_year"] == 2024 and first["quick_win"] is True and first["source_date"] == "2024-07-18"
    assert first["municipality"] is None and first["name"] == "A"
    assert second["quick_win"] is False and second["start_year"] is None
    assert chunks[1][0]["quick_win"] is None
