"""The vectorised engine reports exactly what Frictionless reports: both run over the same files.

Two levels are compared: the raw error lists (type, row, field, cell, note and message, in
order) of the two engines on generated tables with every error kind, and the problems a steward
sees (file, row, field, code, message, value) for every fixture catalogue and every bad file that
is a table.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from frictionless import Package, Resource, Schema, formats

from publish import fast_validation, validation
from publish.catalogue import load_catalogue
from tests.conftest import BAD_FILES, MINIMAL, put_bad_file

# ---------------------------------------------------------------------------- generated tables


def _field(name: str, kind: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **extra}


MAIN_SCHEMA: dict[str, Any] = {
    "fields": [
        _field("id", "integer", constraints={"required": True, "minimum": 1, "maximum": 10_000}),
        _field("code", constraints={"required": True, "unique": True, "pattern": "[a-z]{2}-[0-9]+"}),
        _field("url", format="uri"),
        _field("mail", format="email"),
        _field("uid", format="uuid"),
        _field("size", "number", constraints={"minimum": 0, "maximum": 100.5}),
        _field("flag", "boolean", trueValues=["ja"], falseValues=["nein"]),
        _field("day", "date"),
        _field("stamp", "datetime"),
        _field("clock", "time"),
        _field("year", "year"),
        _field("month", "yearmonth"),
        _field("colour", constraints={"enum": ["rot", "grün", "blau"]}),
        _field("label", constraints={"minLength": 2, "maxLength": 5}),
        _field("level", "integer", constraints={"enum": [1, 2, 3]}),
        _field("ref", "integer"),
        _field("parent", "integer"),
        _field("german", "number", decimalChar=",", groupChar="."),
    ],
    "primaryKey": ["id"],
    "missingValues": ["", "NA"],
    "foreignKeys": [
        {"fields": ["ref"], "reference": {"resource": "lookup", "fields": ["key"]}},
        {"fields": ["parent"], "reference": {"resource": "", "fields": ["id"]}},
    ],
}
LOOKUP_SCHEMA: dict[str, Any] = {"fields": [_field("key", "integer"), _field("name")], "primaryKey": ["key"]}
GOOD = {
    "id": "1",
    "code": "ab-1",
    "url": "https://example.org/a?b=c",
    "mail": "someone@example.org",
    "uid": "12345678-1234-5678-1234-567812345678",
    "size": "3.25",
    "flag": "ja",
    "day": "2024-07-18",
    "stamp": "2024-07-18T10:20:30",
    "clock": "10:20:30",
    "year": "2024",
    "month": "2024-07",
    "colour": "grün",
    "label": "abc",
    "level": "2",
    "ref": "7",
    "parent": "1",
    "german": "1.234,5",
}
# One bad (or odd but valid) value per row, by field: every error kind and the edges of each check.
VARIANTS: list[dict[str, str]] = [
    {},
    {"id": "0"},
    {"id": "10001"},
    {"id": "x"},
    {"id": "01"},
    {"id": " 3"},
    {"id": "+4"},
    {"id": "-0"},
    {"id": ""},
    {"id": "NA"},
    {"code": "AB-1"},
    {"code": "ab-"},
    {"code": ""},
    {"url": "not a uri"},
    {"url": "mailto:x@example.org"},
    {"url": "1:x"},
    {"mail": "no-at-sign"},
    {"uid": "1234"},
    {"size": "100.51"},
    {"size": "100.5"},
    {"size": "100.49"},
    {"size": "-0.1"},
    {"size": "1e2"},
    {"size": "abc"},
    {"size": " 2"},
    {"flag": "true"},
    {"flag": "nein"},
    {"day": "2024-02-30"},
    {"day": "18.07.2024"},
    {"day": "2024-7-1"},
    {"stamp": "2024-07-18 10:20"},
    {"clock": "25:00:00"},
    {"year": "24"},
    {"month": "2024-13"},
    {"colour": "gelb"},
    {"colour": "Rot"},
    {"label": "a"},
    {"label": "abcdef"},
    {"label": "äöü"},
    {"level": "4"},
    {"level": "02"},
    {"ref": "99"},
    {"ref": "x"},
    {"parent": "9999"},
    {"german": "1,5.3"},
    {"german": "2,5"},
    dict.fromkeys(GOOD, ""),
    dict.fromkeys(GOOD, "NA"),
]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _main_rows() -> list[list[str]]:
    rows = []
    names = [f["name"] for f in MAIN_SCHEMA["fields"]]
    for number, variant in enumerate(VARIANTS, start=1):
        row = {**GOOD, "id": str(number), "code": f"ab-{number}", **variant}
        rows.append([row[n] for n in names])
    rows.append(rows[2])  # a repeated row: primary key and unique code
    return rows


_FRICTIONLESS_SAID: dict[str, list[tuple]] = {}


def _frictionless_errors(path: Path, schema: dict[str, Any], lookups: dict[str, tuple[Path, dict]]) -> list[tuple]:
    """Frictionless' errors; asked once per content (files, names, schemas), as both key modes give it the same."""
    inputs = [(name, p.name, p.read_bytes().hex(), s) for name, (p, s) in {"main": (path, schema), **lookups}.items()]
    key = json.dumps(inputs, sort_keys=True)
    if key not in _FRICTIONLESS_SAID:
        resources = [_resource("main", path, schema)]
        resources += [_resource(name, p, s) for name, (p, s) in lookups.items()]
        report = Package(resources=resources).get_resource("main").validate(limit_errors=0)
        _FRICTIONLESS_SAID[key] = [_raw(e) for e in report.tasks[0].errors]
    return copy.deepcopy(_FRICTIONLESS_SAID[key])


def _resource(name: str, path: Path, schema: dict[str, Any]) -> Resource:
    return Resource(
        name=name,
        path=path.name,
        basepath=str(path.parent),
        schema=Schema.from_descriptor(copy.deepcopy(schema)),
        format="csv",
        encoding="utf-8",
        control=formats.CsvControl(delimiter=","),
    )


def _fast_errors(path: Path, schema: dict[str, Any], lookups: dict[str, tuple[Path, dict]]) -> list[tuple]:
    source = fast_validation.Source("main", path, schema)
    package = {"main": source, **{n: fast_validation.Source(n, p, s) for n, (p, s) in lookups.items()}}
    return [_raw(e) for e in fast_validation.validate(source, package)]


def _raw(error: Any) -> tuple:
    return (
        error.type,
        getattr(error, "row_number", None),
        getattr(error, "field_name", None),
        getattr(error, "cell", None),
        error.note,
        error.message,
        list(getattr(error, "field_cells", []) or []),
    )


@pytest.fixture(params=["in memory", "spilled"])
def key_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Keys remembered in memory (small tables) or found by hashes spilled to disk (large ones)."""
    if request.param == "spilled":
        monkeypatch.setattr(fast_validation, "SPILL_BYTES", 0)
    return str(request.param)


def test_every_error_kind_is_reported_as_frictionless_reports_it(tmp_path: Path, key_mode: str) -> None:
    lookup = _write(tmp_path / "lookup.csv", ["key", "name"], [["7", "sieben"], ["8", "acht"]])
    names = [f["name"] for f in MAIN_SCHEMA["fields"]]
    main = _write(tmp_path / "main.csv", names, _main_rows())
    lookups = {"lookup": (lookup, LOOKUP_SCHEMA)}
    expected = _frictionless_errors(main, MAIN_SCHEMA, lookups)
    found = _fast_errors(main, MAIN_SCHEMA, lookups)
    assert found == expected
    kinds = {e[0] for e in expected}
    assert kinds == {"type-error", "constraint-error", "unique-error", "primary-key", "foreign-key", "blank-row"}
    assert len(expected) > 30


@pytest.mark.parametrize(
    ("schema", "rows"),
    [
        # unique on an integer compares values: 1 and 01 repeat
        ({"fields": [_field("n", "integer", constraints={"unique": True})]}, [["1"], ["01"], ["2"], [""], [""]]),
        # a composite primary key with empty parts
        (
            {"fields": [_field("a"), _field("b", "integer")], "primaryKey": ["a", "b"]},
            [["x", "1"], ["x", ""], ["x", "1"], ["", ""], ["", "01"], ["", "1"], ["x", "y"]],
        ),
        # a string pattern Python and RE2 read alike, and one they might not
        (
            {"fields": [_field("p", constraints={"pattern": r"\d{3}"}), _field("q", constraints={"pattern": "a|b+"})]},
            [["123", "a"], ["12a", "bb"], ["١٢٣", "ab"], ["123\n", "a|b"]],
        ),
        # a repeat RE2 refuses: Python decides every cell
        ({"fields": [_field("r", constraints={"pattern": "a{1001}"})]}, [["a" * 1001], ["a"]]),
        # booleans with the default values, keys on them
        ({"fields": [_field("b", "boolean", constraints={"unique": True})]}, [["true"], ["1"], ["no"], ["False"]]),
        # integer limits and a bare-number option
        (
            {"fields": [_field("i", "integer", bareNumber=False, constraints={"maximum": 5})]},
            [["EUR 5"], ["6 EUR"], ["x"]],
        ),
        # a missing value that looks like a valid integer
        ({"fields": [_field("i", "integer", constraints={"required": True})], "missingValues": ["0"]}, [["0"], ["1"]]),
        # dates in the default format: days that do not exist, year 0000, short forms, spaces, a
        # missing value that looks like a date, and repeats compared on the parsed value
        (
            {"fields": [_field("d", "date", constraints={"unique": True})], "missingValues": ["", "1999-01-01"]},
            [
                ["2021-02-28"],
                ["2021-02-29"],
                ["2020-02-29"],
                ["0000-01-01"],
                ["0999-12-31"],
                ["2021-1-05"],
                ["2021-04-31"],
                [" 2021-01-01"],
                ["2021-01-01 "],
                ["1999-01-01"],
                ["2021-02-28"],
                ["9999-12-31"],
                ["2021-13-01"],
                ["20210101"],
                ["2021-00-10"],
                ["2021-01-00"],
                ["2021-1-5"],
            ],
        ),
        # a date with a limit takes the exact path
        (
            {"fields": [_field("d", "date", constraints={"minimum": "2021-01-01"})]},
            [["2020-12-31"], ["2021-01-01"], ["2021-02-30"]],
        ),
        # quoted cells: commas and quotes inside (a line break inside one: see the fallback below)
        ({"fields": [_field("s", constraints={"maxLength": 4}), _field("t")]}, [["a,b", 'x"y'], ["c d", "z,"]]),
    ],
)
def test_edge_cases_match(tmp_path: Path, schema: dict[str, Any], rows: list[list[str]], key_mode: str) -> None:
    main = _write(tmp_path / "main.csv", [f["name"] for f in schema["fields"]], rows)
    assert _fast_errors(main, schema, {}) == _frictionless_errors(main, schema, {})


def test_plain_dates_are_decided_on_the_fast_path() -> None:
    """Dates in the default format need no call of Frictionless' reader when the day exists."""
    import pyarrow as pa

    fld = Schema.from_descriptor({"fields": [_field("d", "date")]}).fields[0]
    column = fast_validation._Column(fld, 1, key=False)
    cells = ["2020-02-29", "2021-02-29", "0001-01-01", "0000-01-01", "2021-1-05", "", "2021-12-31"]
    mask = column.fast_mask(pa.array(cells, pa.string()))
    assert mask.tolist() == [True, False, True, False, False, False, True]


def test_an_exotic_table_falls_back_and_says_why(tmp_path: Path) -> None:
    schema = {"fields": [_field("n", "number", constraints={"unique": True})]}
    main = _write(tmp_path / "main.csv", ["n"], [["1.0"], ["1.00"]])
    with pytest.raises(fast_validation.Unsupported, match="key field 'n' is of type number"):
        list(fast_validation.validate(fast_validation.Source("main", main, schema), {}))
    renamed = _write(tmp_path / "renamed.csv", ["m"], [["1"]])
    with pytest.raises(fast_validation.Unsupported, match="header differs"):
        list(fast_validation.validate(fast_validation.Source("main", renamed, {"fields": [_field("n")]}), {}))


@pytest.mark.parametrize("text", ['a,b\n5" x,"multi\nline"\n1,2\n', 'a,b\n"x, ""y""","1\n2"\n', 'a,b\n"c\nd",z\n'])
def test_a_quote_inside_a_cell_falls_back(tmp_path: Path, text: str) -> None:
    main = tmp_path / "main.csv"
    main.write_text(text)
    with pytest.raises(fast_validation.Unsupported, match="a quote inside an unquoted cell and line breaks"):
        list(fast_validation.validate(fast_validation.Source("main", main, {"fields": [_field("a"), _field("b")]}), {}))


@pytest.mark.parametrize("text", ["a,b\n1,2\n\n3,4\n", "a\n1\n\n2\n", "a,b\r\n1,2\r\n\r\n,\r\n", "a,b\n1,2"])
def test_empty_lines_and_line_ends_match(tmp_path: Path, text: str) -> None:
    main = tmp_path / "main.csv"
    main.write_bytes(text.encode())
    fields = [_field("a", "integer", constraints={"required": True}), _field("b")]
    schema = {"fields": fields[: text.index("\n") // 2 + 1]}
    assert _fast_errors(main, schema, {}) == _frictionless_errors(main, schema, {})


def test_a_large_file_in_many_blocks_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_mode: str) -> None:
    # Blocks of 1 KiB: ~20 of them from 1000 rows (a bigger file would only make Frictionless slower).
    monkeypatch.setattr(fast_validation, "BLOCK_BYTES", 1024)
    schema = {
        "fields": [_field("id", "integer"), _field("day", "date"), _field("n", "number", constraints={"maximum": 50})],
        "primaryKey": ["id"],
    }
    rows = [[str(i % 300) if i % 7 else "", f"2024-01-{i % 31 + 1:02d}", str(i % 60)] for i in range(1000)]
    main = _write(tmp_path / "main.csv", ["id", "day", "n"], rows)
    with main.open("rb") as handle:
        assert len(list(fast_validation._pieces(handle, fast_validation.BLOCK_BYTES))) > 15
    expected = _frictionless_errors(main, schema, {})
    assert _fast_errors(main, schema, {}) == expected
    assert len(expected) > 650


def test_foreign_keys_to_a_large_table_are_looked_up_on_disk_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_mode: str
) -> None:
    """A composite and a self-referencing foreign key, keys partly empty, in many blocks: the keys
    of a table over SPILL_BYTES ("spilled") are looked up in a file on disk, with the same errors."""
    monkeypatch.setattr(fast_validation, "BLOCK_BYTES", 1024)  # ~10 blocks of each table
    opened: list[object] = []
    original = fast_validation._DiskKeys.__init__

    def counted(self: object) -> None:
        opened.append(self)
        original(self)  # type: ignore[arg-type]

    monkeypatch.setattr(fast_validation._DiskKeys, "__init__", counted)
    lookup_schema = {"fields": [_field("a"), _field("b", "integer")], "primaryKey": ["a", "b"]}
    lookup_rows = [[f"k{i % 40}", str(i)] for i in range(500)] + [["", "7"], ["null", "3"]]
    lookup = _write(tmp_path / "lookup.csv", ["a", "b"], lookup_rows)
    schema = {
        "fields": [_field("id", "integer"), _field("x"), _field("y", "integer"), _field("up", "integer")],
        "primaryKey": ["id"],
        "foreignKeys": [
            {"fields": ["x", "y"], "reference": {"resource": "lookup", "fields": ["a", "b"]}},
            {"fields": ["up"], "reference": {"resource": "", "fields": ["id"]}},
        ],
    }
    odd = [["k1", "41"], ["k1", "42"], ["", "7"], ["", "8"], ["k3", ""], ["", ""], ["null", "3"], ["k5", "0045"]]
    rows = []
    for i in range(1, 850):
        x, y = odd[i % len(odd)] if i % 3 == 0 else [f"k{i % 40}", str(i % 560)]
        rows.append([str(i), x, y, "" if i % 5 == 0 else str(i % 900)])
    main = _write(tmp_path / "main.csv", ["id", "x", "y", "up"], rows)
    lookups = {"lookup": (lookup, lookup_schema)}
    expected = _frictionless_errors(main, schema, lookups)
    assert _fast_errors(main, schema, lookups) == expected
    assert len(opened) == (2 if key_mode == "spilled" else 0)
    codes = [e[0] for e in expected]
    assert codes.count("foreign-key") > 100 and set(codes) == {"foreign-key"}


# ---------------------------------------------------------------------------- fixture catalogues


def _problems(catalogue_dir: Path, engine: str) -> tuple[list[tuple], list[str]]:
    catalogue = load_catalogue(catalogue_dir)
    found: list = []
    tables: dict[tuple[str, str], validation.Table] = {}
    for dataset in catalogue.datasets:
        for spec in dataset.resources:
            table = validation._readable_table(catalogue, dataset, spec, found)
            if table is not None:
                tables[(dataset.folder_name, spec.name)] = table
    said: list[str] = []
    shown: list[tuple] = []
    for dataset in catalogue.datasets:
        own = [t for (folder, _), t in tables.items() if folder == dataset.folder_name]
        if not own:
            continue
        key = _reference_key(own, tables) if engine == "frictionless" else None
        if key is None or key not in _REFERENCE_SAID:
            problems = validation._validate_tables(own, tables, status=said.append, engine=engine)[0]
            found = [(p.file, p.row, p.field, p.code, p.message, p.value) for p in problems]
            if key is None:
                shown += found
                continue
            _REFERENCE_SAID[key] = found
        shown += copy.deepcopy(_REFERENCE_SAID[key])
    return shown, said


_REFERENCE_SAID: dict[str, list[tuple]] = {}


def _reference_key(own: list[validation.Table], tables: dict[tuple[str, str], validation.Table]) -> str:
    """What Frictionless' report on one dataset's tables depends on: their files (shown name and
    bytes) and schemas, and those of every table their catalogue keys read. The fixture cases
    break one table each, so the reference report of each other dataset is asked once."""
    read = {(t.dataset.folder_name, t.spec.name): t for t in own}
    for table in own:
        for key in table.schema.get("catalogueForeignKeys", []):
            ref = key.get("reference", {})
            target = tables.get((ref.get("package"), ref.get("resource")))
            if target is not None:
                read[(target.dataset.folder_name, target.spec.name)] = target
    inputs = [
        [folder, name, t.shown, t.path.read_bytes().hex(), t.schema, [x.spec.name for x in own]]
        for (folder, name), t in sorted(read.items())
    ]
    return json.dumps(inputs, sort_keys=True, default=str)


TABLE_FILES = {
    "phases_without_beta.csv": "datasets/phases/phases.csv",
    "project_partners_unknown_partner.csv": "datasets/projects/project_partners.csv",
    "project_partners_unknown_project.csv": "datasets/projects/project_partners.csv",
}
BAD_TABLES = sorted(p.name for p in BAD_FILES.glob("*.csv"))


@pytest.mark.parametrize("bad_file", [None, *BAD_TABLES])
def test_fixture_reports_are_equal(catalogue_dir: Path, bad_file: str | None) -> None:
    if bad_file is not None:
        put_bad_file(catalogue_dir, bad_file, TABLE_FILES.get(bad_file, "datasets/projects/projects.csv"))
    expected, _ = _problems(catalogue_dir, "frictionless")
    found, said = _problems(catalogue_dir, "auto")
    assert found == expected
    if bad_file == "projects_header_renamed_column.csv":  # Frictionless names the label; said so
        assert sorted(said) == [
            "note: datasets/projects/project_partners.csv: validated by Frictionless itself (slower): "
            "the table its foreign key reads (projects): its header differs from the schema's field names",
            "note: datasets/projects/projects.csv: validated by Frictionless itself (slower): "
            "its header differs from the schema's field names",
        ]
    else:
        assert said == []  # the fast engine decided every table itself


def test_the_shipped_catalogue_reports_are_equal() -> None:
    repo = MINIMAL.parents[3]
    expected, _ = _problems(repo, "frictionless")
    found, said = _problems(repo, "auto")
    assert found == expected == []
    assert said == []


def test_schema_fixtures_are_json() -> None:
    # The generated schemas above are valid Table Schemas (a typo would make the test vacuous).
    for schema in (MAIN_SCHEMA, LOOKUP_SCHEMA):
        Schema.from_descriptor(json.loads(json.dumps(schema)))


def test_the_cli_says_which_table_frictionless_validated_and_why(catalogue_dir: Path) -> None:
    from click.testing import CliRunner

    from publish.cli import main

    put_bad_file(catalogue_dir, "projects_header_renamed_column.csv", "datasets/projects/projects.csv")
    result = CliRunner().invoke(main, ["validate", "--catalogue", str(catalogue_dir)])
    assert result.exit_code == 1
    assert (
        "note: datasets/projects/projects.csv: validated by Frictionless itself (slower): "
        "its header differs from the schema's field names"
    ) in result.output
