"""The source-coverage check: every filled cell is backed by its row's source_url or a sources row."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import publish
from publish.cli import main
from publish.report import Problem
from tests.conftest import MINIMAL, REPO

THINGS = "datasets/things/things.csv"
LINKS = "datasets/things/links.csv"
SOURCES = "datasets/sources/sources.csv"
URL = "https://example.org/seite"

DESCRIPTOR = """\
name: {name}
identifier: test/{name}
title: {title}
description: Ein Datensatz für Tests der Quellenprüfung.
keywords: [Test]
homepage: https://example.org/
themes: [GOVE]
temporal:
  start: "2021-01-01"
resources:
{resources}"""
RESOURCE = """\
  - name: {name}
    title: {name}
    path: {name}.csv
    schema: schemas/{name}.schema.json
"""


def field(name: str, **extra: object) -> dict[str, object]:
    return {"name": name, "type": "string", "title": name.capitalize(), "description": f"Spalte {name}.", **extra}


def write_dataset(root: Path, key: str, tables: dict[str, tuple[dict[str, object], str]]) -> None:
    folder = root / "datasets" / key
    folder.mkdir(parents=True)
    (folder / "schemas").symlink_to("../../schemas")
    resources = "".join(RESOURCE.format(name=name) for name in tables)
    (folder / "datapackage.yaml").write_text(DESCRIPTOR.format(name=f"test-{key}", title=key, resources=resources))
    for name, (schema, rows) in tables.items():
        (root / "schemas" / f"{name}.schema.json").write_text(json.dumps(schema), encoding="utf-8")
        (folder / f"{name}.csv").write_text(rows, encoding="utf-8")


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    """Two tables whose source_url may be empty, and the sources table the catalogue ships."""
    root = tmp_path / "catalogue"
    (root / "schemas").mkdir(parents=True)
    (root / "datasets").mkdir()
    shutil.copyfile(MINIMAL / "datasets/catalogue.yaml", root / "datasets/catalogue.yaml")
    things = {
        "fields": [field("id"), field("name"), field("note"), field("source_url")],
        "primaryKey": ["id"],
        "missingValues": [""],
    }
    links = {
        "fields": [field("thing_id"), field("other"), field("role")],
        "primaryKey": ["thing_id", "other"],
        "missingValues": [""],
    }
    rows = f"id,name,note,source_url\na,Alpha,,{URL}\nb,Beta,,\n"
    write_dataset(root, "things", {"things": (things, rows), "links": (links, "thing_id,other,role\n")})
    sources_schema = json.loads((REPO / "schemas/sources.schema.json").read_text(encoding="utf-8"))
    header = "dataset,resource,row_id,field,url,source_date,note\n"
    write_dataset(root, "sources", {"sources": (sources_schema, header)})
    return root


def add_sources(root: Path, *rows: str) -> None:
    with (root / SOURCES).open("a", encoding="utf-8") as handle:
        handle.write("".join(f"{row}\n" for row in rows))


def problems(root: Path) -> list[Problem]:
    return publish.validate(publish.load_catalogue(root)).problems


def located(found: list[Problem]) -> list[tuple[str, int | None, str | None, str]]:
    return [(p.file, p.row, p.field, p.code) for p in found]


def test_the_shipped_catalogue_has_a_source_for_every_cell() -> None:
    report = publish.validate(publish.load_catalogue(REPO))
    assert [p for p in report.problems if p.code.startswith("source-")] == []
    assert report.valid


def test_a_filled_cell_without_any_source_is_reported(catalogue: Path) -> None:
    assert located(problems(catalogue)) == [
        (THINGS, 3, "id", "source-missing"),
        (THINGS, 3, "name", "source-missing"),
    ]


def test_the_message_says_how_to_add_the_missing_source(catalogue: Path) -> None:
    name = next(p for p in problems(catalogue) if p.field == "name")
    assert name.value == "Beta"
    assert "things,things,b,name,<url>" in name.message and SOURCES in name.message


def test_a_sources_row_covers_exactly_its_cell(catalogue: Path) -> None:
    add_sources(catalogue, f"things,things,b,name,{URL},,")
    assert located(problems(catalogue)) == [(THINGS, 3, "id", "source-missing")]
    add_sources(catalogue, f"things,things,b,id,{URL},2024-07-18,")
    assert problems(catalogue) == []


def test_the_row_source_url_covers_its_whole_row(catalogue: Path) -> None:
    rows = (catalogue / THINGS).read_text(encoding="utf-8").replace("b,Beta,,", f"b,Beta,Notiz,{URL}")
    (catalogue / THINGS).write_text(rows, encoding="utf-8")
    assert problems(catalogue) == []


def test_a_table_without_source_url_needs_a_sources_row_per_cell(catalogue: Path) -> None:
    (catalogue / THINGS).write_text(f"id,name,note,source_url\na,Alpha,,{URL}\n", encoding="utf-8")
    (catalogue / LINKS).write_text("thing_id,other,role\na,x,Partner\n", encoding="utf-8")
    assert located(problems(catalogue)) == [
        (LINKS, 2, "thing_id", "source-missing"),
        (LINKS, 2, "other", "source-missing"),
        (LINKS, 2, "role", "source-missing"),
    ]
    # A composite key is written with its values joined by '/'.
    add_sources(catalogue, *(f"things,links,a/x,{column},{URL},," for column in ("thing_id", "other", "role")))
    assert problems(catalogue) == []


@pytest.mark.parametrize(
    ("row", "field", "value"),
    [
        ("nirgends,things,a,name", "dataset", "nirgends"),
        ("things,dinge,a,name", "resource", "dinge"),
        ("things,things,zz,name", "row_id", "zz"),
        ("things,things,a,farbe", "field", "farbe"),
    ],
)
def test_a_sources_row_that_points_at_nothing_is_reported(catalogue: Path, row: str, field: str, value: str) -> None:
    add_sources(catalogue, f"things,things,b,name,{URL},,", f"things,things,b,id,{URL},,", f"{row},{URL},,")
    (problem,) = problems(catalogue)
    assert (problem.file, problem.row, problem.field, problem.code, problem.value) == (
        SOURCES,
        4,
        field,
        "source-unknown",
        value,
    )


def test_a_table_with_problems_of_its_own_is_not_checked_twice(catalogue: Path) -> None:
    (catalogue / THINGS).write_text("id,name,note,source_url\nb,Beta,,\nb,Gamma,,\n", encoding="utf-8")
    assert {p.code for p in problems(catalogue)} == {"primary-key"}


def test_the_cli_reports_it_like_any_other_problem(catalogue: Path) -> None:
    result = CliRunner().invoke(main, ["validate", "--catalogue", str(catalogue)])
    assert result.exit_code == 1
    assert THINGS in result.output
    assert any("row 3, field 'name'" in line and "[source-missing]" in line for line in result.output.splitlines())
    result = CliRunner().invoke(main, ["validate", "--catalogue", str(catalogue), "--json"])
    errors = json.loads(result.output)["errors"]
    assert {"file": THINGS, "row": 3, "field": "name", "code": "source-missing", "value": "Beta"} in [
        {k: e[k] for k in ("file", "row", "field", "code", "value")} for e in errors
    ]


def test_a_sources_row_may_name_a_row_that_has_its_own_source(catalogue: Path) -> None:
    # Row 'a' has a source_url: its id is still found, so the sources row points at something.
    add_sources(
        catalogue, f"things,things,b,name,{URL},,", f"things,things,b,id,{URL},,", f"things,things,a,name,{URL},,"
    )
    assert problems(catalogue) == []


@pytest.mark.parametrize(
    "text",
    [
        "id,name,source_url\na,Alpha,\nb,Beta,https://example.org/\n",
        "id,name,source_url\n\na,Alpha\n\nb,Beta,https://example.org/,extra,more\n\n",  # short, long, blank lines
        "id,name,id,source_url\na,Alpha,c,\nb,Beta\nd,Delta,e,https://example.org/\n",  # a repeated column name
        "id,source_url,name,source_url\na,https://example.org/,Alpha,\nb,,Beta,https://example.org/\nc,x\n",
        'id,name,source_url\n"a\nb","Al,pha", \nc,,"https://example.org/"\n',  # quoted cells, a blank source
        "",
        "id,name,source_url\n",
    ],
)
@pytest.mark.parametrize("key", [["id"], [], ["name", "id"]])
def test_the_streaming_row_scan_reads_rows_as_dictreader_does(tmp_path: Path, text: str, key: list[str]) -> None:
    import csv
    from types import SimpleNamespace

    from publish.source_coverage import KEY_SEPARATOR, ROW_SOURCE, _scan

    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8", newline="")
    table = SimpleNamespace(path=path, schema={"primaryKey": key} if key else {})
    with path.open(encoding="utf-8", newline="") as handle:
        expected = []
        for number, row in enumerate(csv.DictReader(handle), start=2):
            cells = {k: v or "" for k, v in row.items() if k is not None}
            row_id = KEY_SEPARATOR.join(cells.get(k, "") for k in key) if key else str(number)
            expected.append((number, row_id, cells))
    assert [(n, i, c) for n, i, c, _ in _scan(table, None)] == expected  # type: ignore[arg-type]
    fast = list(_scan(table, ROW_SOURCE))  # type: ignore[arg-type]
    assert [(n, i) for n, i, _, _ in fast] == [(n, i) for n, i, _ in expected]
    for (_, _, cells, vouched), (_, _, want) in zip(fast, expected, strict=True):
        assert vouched == bool(want.get(ROW_SOURCE, "").strip())
        assert cells == ({} if vouched else want)


def test_cells_without_a_source_beyond_max_errors_are_counted_not_kept(
    catalogue: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from publish import validation

    returned: list[int] = []
    check = validation.check_source_coverage

    def counted(*args: Any) -> list[Problem]:
        found = check(*args)
        returned.append(len(found))
        return found

    monkeypatch.setattr(validation, "check_source_coverage", counted)
    # A cache of its own: the DCAT shapes are checked once, not in each of the five runs; a table
    # with problems is never remembered, so every run checks the sources again (counted below).
    monkeypatch.setenv("PUBLISH_VALIDATION_CACHE", str(tmp_path / "validated"))
    rows = "".join(f"r{i},Name {i},Notiz {i},\n" for i in range(200))
    (catalogue / THINGS).write_text(f"id,name,note,source_url\n{rows}", encoding="utf-8")
    everything = publish.validate(publish.load_catalogue(catalogue), max_errors=0)
    assert len(everything.problems) == 600 and everything.total is None
    assert {p.code for p in everything.problems} == {"source-missing"}
    for limit in (1, 4, 599):
        cut = publish.validate(publish.load_catalogue(catalogue), max_errors=limit)
        assert (cut.truncated, cut.total) == (True, 600)
        assert located(cut.problems) == located(everything.problems)[:limit]
    # Memory: the check itself keeps the problems up to the row of the limit-th (3 cells a row).
    assert returned == [600, 3, 6, 600]
    kept = publish.validate(publish.load_catalogue(catalogue), max_errors=600)
    assert not kept.truncated and located(kept.problems) == located(everything.problems)
