"""`publish validate` and `publish.validate` on the fixture catalogue and on broken variants of it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import publish
from publish.cli import main
from tests.conftest import REPO, put_bad_file

PROJECTS = "datasets/projects/projects.csv"
LINKS = "datasets/projects/project_partners.csv"


def run_validate(catalogue: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", "--catalogue", str(catalogue), *extra])
    return result.exit_code, result.output


def json_errors(catalogue: Path) -> list[dict]:
    code, output = run_validate(catalogue, "--json")
    report = json.loads(output)
    assert report["valid"] is (code == 0)
    return report["errors"]


def test_shipped_catalogue_is_valid() -> None:
    code, output = run_validate(REPO)
    assert code == 0, output
    assert "catalogue valid: 9 datasets, 11 resources" in output


def test_fixture_catalogue_is_valid_through_the_api(catalogue_dir: Path) -> None:
    report = publish.validate(publish.load_catalogue(catalogue_dir))
    assert report.valid, report.problems
    assert (report.datasets, report.resources, report.rows) == (3, 4, 7)


def test_a_semicolon_file_is_one_clear_problem(catalogue_dir: Path) -> None:
    put_bad_file(catalogue_dir, "projects_semicolons_from_a_spreadsheet.csv", PROJECTS)
    report = publish.validate(publish.load_catalogue(catalogue_dir))
    problems = [p for p in report.problems if p.file == PROJECTS]
    assert [(p.code, p.row) for p in problems] == [("wrong-separator", 1)]
    assert "semicolons" in problems[0].message


def test_a_blank_row_is_not_also_a_repeated_key(catalogue_dir: Path) -> None:
    put_bad_file(catalogue_dir, "projects_blank_row_from_a_spreadsheet.csv", PROJECTS)
    report = publish.validate(publish.load_catalogue(catalogue_dir))
    assert [(p.code, p.row) for p in report.problems] == [("blank-row", 4)]


def test_validation_says_which_dataset_it_is_reading(catalogue_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISH_VALIDATION_CACHE", "off")  # only tables actually read are announced
    messages: list[str] = []
    publish.validate(publish.load_catalogue(catalogue_dir), status=messages.append)
    assert [m.split(":")[0] for m in messages] == ["validating partners", "validating phases", "validating projects"]
    assert "2 table(s)" in messages[2]


# Each bad file, the CSV it replaces, and the (row, field, code) the report must name.
BAD_TABLES = [
    ("projects_unbalanced_quotes.csv", PROJECTS, 2, None, "quote-error"),
    ("projects_ragged_rows.csv", PROJECTS, 2, None, "extra-cell"),
    ("projects_ragged_rows.csv", PROJECTS, 3, None, "missing-cell"),
    ("projects_latin1_umlauts.csv", PROJECTS, 2, None, "encoding-error"),
    ("projects_byte_order_mark.csv", PROJECTS, 1, None, "byte-order-mark"),
    ("projects_semicolons_from_a_spreadsheet.csv", PROJECTS, 1, None, "wrong-separator"),
    ("projects_blank_row_from_a_spreadsheet.csv", PROJECTS, 4, None, "blank-row"),
    ("projects_empty.csv", PROJECTS, 1, None, "empty-file"),
    ("projects_wrong_types.csv", PROJECTS, 2, "start_year", "type-error"),
    ("projects_wrong_types.csv", PROJECTS, 2, "quick_win", "type-error"),
    ("projects_wrong_types.csv", PROJECTS, 2, "source_date", "type-error"),
    ("projects_required_name_empty.csv", PROJECTS, 2, "name", "constraint-error"),
    ("projects_duplicate_name.csv", PROJECTS, 3, "name", "unique-error"),
    ("projects_duplicate_primary_key.csv", PROJECTS, 3, None, "primary-key"),
    ("projects_status_not_in_enum.csv", PROJECTS, 2, "status", "constraint-error"),
    ("projects_id_breaks_pattern.csv", PROJECTS, 2, "id", "constraint-error"),
    ("projects_header_renamed_column.csv", PROJECTS, 1, "name", "incorrect-label"),
    ("project_partners_unknown_project.csv", LINKS, 3, "project_id", "foreign-key"),
    ("project_partners_unknown_partner.csv", LINKS, 3, "partner_id", "foreign-key"),
]


@pytest.mark.parametrize(("bad_file", "target", "row", "field", "code"), BAD_TABLES)
def test_bad_table_is_reported_with_file_row_and_field(
    catalogue_dir: Path, bad_file: str, target: str, row: int, field: str | None, code: str
) -> None:
    put_bad_file(catalogue_dir, bad_file, target)
    exit_code, output = run_validate(catalogue_dir)
    assert exit_code == 1
    assert "Traceback" not in output
    assert target in output
    line = f"row {row}, field '{field}'" if field else f"row {row}"
    assert any(line in out and f"[{code}]" in out for out in output.splitlines()), output
    errors = json_errors(catalogue_dir)
    assert {"file": target, "row": row, "field": field, "code": code} in [
        {k: e[k] for k in ("file", "row", "field", "code")} for e in errors
    ]


def test_enum_error_lists_the_allowed_values(catalogue_dir: Path) -> None:
    put_bad_file(catalogue_dir, "projects_status_not_in_enum.csv", PROJECTS)
    (error,) = json_errors(catalogue_dir)
    assert error["value"] == "fertig"
    assert "allowed values: geplant, in Umsetzung, umgesetzt" in error["message"]


def test_encoding_error_names_the_line_and_says_what_to_do(catalogue_dir: Path) -> None:
    put_bad_file(catalogue_dir, "projects_latin1_umlauts.csv", PROJECTS)
    (error,) = json_errors(catalogue_dir)
    assert "0xFC" in error["message"] and "save it as UTF-8" in error["message"]


def test_foreign_key_across_datasets_names_the_other_dataset(catalogue_dir: Path) -> None:
    put_bad_file(catalogue_dir, "phases_without_beta.csv", "datasets/phases/phases.csv")
    put_bad_file(catalogue_dir, "projects_phase_not_in_phases.csv", PROJECTS)
    (error,) = json_errors(catalogue_dir)
    assert (error["file"], error["row"], error["field"], error["value"], error["code"]) == (
        PROJECTS,
        2,
        "phase",
        "beta",
        "foreign-key",
    )
    assert "dataset 'phases'" in error["message"]


def test_missing_csv_file(catalogue_dir: Path) -> None:
    (catalogue_dir / LINKS).unlink()
    code, output = run_validate(catalogue_dir)
    assert code == 1
    assert "datasets/projects/datapackage.yaml" in output
    assert "file not found: datasets/projects/project_partners.csv" in output


@pytest.mark.parametrize(
    ("bad_file", "target", "line"),
    [
        ("datapackage_broken.json", "datasets/phases/datapackage.json", 4),
        ("datapackage_broken.yaml", "datasets/projects/datapackage.yaml", 3),
    ],
)
def test_broken_descriptor(catalogue_dir: Path, bad_file: str, target: str, line: int) -> None:
    put_bad_file(catalogue_dir, bad_file, target)
    code, output = run_validate(catalogue_dir)
    assert code == 1
    assert f"{target}\n  line {line}: broken" in output


@pytest.mark.parametrize(
    "path",
    ["../../../../etc/hostname", "/etc/hostname", "~/x.csv", "https://example.org/projects.csv"],
)
def test_resource_path_that_escapes_the_catalogue_is_refused(catalogue_dir: Path, path: str) -> None:
    descriptor = catalogue_dir / "datasets/projects/datapackage.yaml"
    descriptor.write_text(descriptor.read_text().replace("path: projects.csv", f"path: {path}"))
    errors = json_errors(catalogue_dir)
    assert any(
        e["file"] == "datasets/projects/datapackage.yaml"
        and e["field"] == "resources[projects].path"
        and e["code"] == "unsafe-path"
        for e in errors
    ), errors


def test_symlink_pointing_outside_is_refused(catalogue_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_bytes((catalogue_dir / PROJECTS).read_bytes())
    (catalogue_dir / PROJECTS).unlink()
    os.symlink(outside, catalogue_dir / PROJECTS)
    errors = json_errors(catalogue_dir)
    (error,) = [e for e in errors if e["code"] == "unsafe-path"]
    assert "outside the catalogue" in error["message"]


def test_schema_symlink_inside_the_catalogue_is_accepted(catalogue_dir: Path) -> None:
    assert (catalogue_dir / "datasets/projects/schemas").is_symlink()
    assert run_validate(catalogue_dir)[0] == 0


@pytest.mark.parametrize(
    ("key", "bad_value", "field"),
    [
        ("name: digital-interkommunal-projekte", "name: Projekte Liste", "name"),
        ("name: digital-interkommunal-projekte", "name: p", "name"),
        ("themes: [GOVE, REGI, TECH]", "themes: [GOVE, SMART]", "themes"),
        ("homepage: https://digital-interkommunal.de/", "homepage: digital-interkommunal.de", "homepage"),
        ('  start: "2021-01-01"', '  start: "01.01.2021"', "temporal.start"),
    ],
)
def test_descriptor_metadata_errors(catalogue_dir: Path, key: str, bad_value: str, field: str) -> None:
    descriptor = catalogue_dir / "datasets/projects/datapackage.yaml"
    text = descriptor.read_text()
    assert key in text
    descriptor.write_text(text.replace(key, bad_value))
    errors = json_errors(catalogue_dir)
    assert [e["field"] for e in errors if e["file"] == "datasets/projects/datapackage.yaml"] == [field]


def test_unknown_licence_is_refused(catalogue_dir: Path) -> None:
    meta = catalogue_dir / "datasets/catalogue.yaml"
    meta.write_text(meta.read_text().replace("dl-by-de/2.0", "my-own-licence"))
    errors = json_errors(catalogue_dir)
    assert any(e["field"] == "license" and "allowed: http://dcat-ap.de/def/licenses/" in e["message"] for e in errors)


def test_missing_required_metadata(catalogue_dir: Path) -> None:
    descriptor = catalogue_dir / "datasets/projects/datapackage.yaml"
    lines = [ln for ln in descriptor.read_text().splitlines() if not ln.startswith(("title:", "keywords:"))]
    descriptor.write_text("\n".join(lines) + "\n")
    fields = {e["field"] for e in json_errors(catalogue_dir)}
    assert {"title", "keywords"} <= fields


def test_duplicate_dataset_names(catalogue_dir: Path) -> None:
    descriptor = catalogue_dir / "datasets/partners/datapackage.yaml"
    descriptor.write_text(
        descriptor.read_text().replace("digital-interkommunal-partner\n", "digital-interkommunal-projekte\n")
    )
    errors = json_errors(catalogue_dir)
    assert any(e["field"] == "name" and "also used by dataset" in e["message"] for e in errors)


def test_schema_field_without_title(catalogue_dir: Path) -> None:
    schema = catalogue_dir / "schemas/phases.schema.json"
    data = json.loads(schema.read_text())
    del data["fields"][2]["title"]
    schema.write_text(json.dumps(data))
    errors = json_errors(catalogue_dir)
    assert any(e["file"] == "schemas/phases.schema.json" and e["field"] == "fields[2].title" for e in errors)


def test_catalogue_key_to_unknown_dataset(catalogue_dir: Path) -> None:
    schema = catalogue_dir / "schemas/projects.schema.json"
    schema.write_text(schema.read_text().replace('"package": "phases"', '"package": "etappen"'))
    errors = json_errors(catalogue_dir)
    assert any("dataset 'etappen'" in e["message"] for e in errors)


def test_no_catalogue_is_a_usage_error(tmp_path: Path) -> None:
    code, output = run_validate(tmp_path / "nowhere")
    assert code == 2
    assert "no catalogue at" in output and "--catalogue" in output


def test_json_report_shape(catalogue_dir: Path) -> None:
    put_bad_file(catalogue_dir, "projects_status_not_in_enum.csv", PROJECTS)
    code, output = run_validate(catalogue_dir, "--json")
    report = json.loads(output)
    assert code == 1 and report["valid"] is False
    assert set(report["errors"][0]) >= {"file", "row", "field", "code", "message"}


def test_control_characters_in_cells_are_escaped_for_people_and_exact_in_json(catalogue_dir: Path) -> None:
    projects = catalogue_dir / PROJECTS
    lines = projects.read_text().splitlines()
    cells = lines[1].split(",")
    cells[5] = "\x1b]0;pwned\x07fertig\x1b[2J"  # status: not in the enum
    lines[1] = ",".join(cells)
    projects.write_text("\n".join(lines) + "\n")
    code, output = run_validate(catalogue_dir)
    assert code == 1
    assert "\x1b" not in output and "\x07" not in output
    assert "'\\x1b]0;pwned\\x07fertig\\x1b[2J' is not allowed" in output
    (error,) = json_errors(catalogue_dir)
    assert error["value"] == "\x1b]0;pwned\x07fertig\x1b[2J"


def test_a_huge_cell_is_echoed_short(catalogue_dir: Path) -> None:
    projects = catalogue_dir / PROJECTS
    lines = projects.read_text().splitlines()
    cells = lines[1].split(",")
    cells[7] = "9" * 100_000  # start_year: not a year
    lines[1] = ",".join(cells)
    projects.write_text("\n".join(lines) + "\n")
    code, output = run_validate(catalogue_dir)
    assert code == 1 and "(100,000 characters)" in output
    assert len(output) < 2_000
    (error,) = json_errors(catalogue_dir)
    assert len(error["value"]) < 120 and len(error["message"]) < 300


@pytest.mark.parametrize(
    ("emptied", "referring", "says"),
    [
        ("datasets/phases/phases.csv", PROJECTS, "datasets/phases/phases.csv (dataset 'phases'"),
        (PROJECTS, LINKS, "datasets/projects/projects.csv (resource 'projects')"),
    ],
)
def test_a_key_into_a_table_with_only_a_header_names_that_file(
    catalogue_dir: Path, emptied: str, referring: str, says: str
) -> None:
    target = catalogue_dir / emptied
    target.write_text(target.read_text().splitlines()[0] + "\n")
    errors = [e for e in json_errors(catalogue_dir) if e["code"] == "foreign-key" and e["file"] == referring]
    assert errors
    assert all(f"the referenced file {says}" in e["message"] and "has no rows" in e["message"] for e in errors)


def _many_bad_years(catalogue_dir: Path, count: int) -> None:
    projects = catalogue_dir / PROJECTS
    header, first = projects.read_text().splitlines()[:2]
    cells = first.split(",")
    rows = []
    for i in range(count):
        cells[0], cells[1], cells[7] = f"p-{i}", f"Projekt {i}", "kein Jahr"
        rows.append(",".join(cells))
    projects.write_text("\n".join([header, *rows]) + "\n")


def test_validation_keeps_max_errors_problems_counts_all_and_says_so(catalogue_dir: Path) -> None:
    _many_bad_years(catalogue_dir, 1_250)
    full = publish.validate(publish.load_catalogue(catalogue_dir), max_errors=0)
    assert not full.truncated and len(full.problems) > 1_250
    report = publish.validate(publish.load_catalogue(catalogue_dir), max_errors=1_000)
    assert len(report.problems) == 1_000
    assert report.total == len(full.problems) and report.truncated
    assert report.rows == full.rows > 1_250  # every row checked
    assert report.problems == sorted(full.problems, key=lambda p: (p.file, p.row or 0, p.field or "", p.code))[:1_000]
    total = f"{len(full.problems):,}"

    code, output = run_validate(catalogue_dir, "--max-errors", "10")
    assert code == 1
    assert f"10 of {total} problems shown; --max-errors 0 shows all" in output
    assert f"✗ {total} problems" in output
    code, output = run_validate(catalogue_dir, "--max-errors", "10", "--json")
    data = json.loads(output)
    assert (data["truncated"], data["total"], len(data["errors"])) == (True, len(full.problems), 10)
    code, output = run_validate(catalogue_dir, "--max-errors", "0", "--json")
    data = json.loads(output)
    assert (data["truncated"], data["total"], len(data["errors"])) == (False, len(full.problems), len(full.problems))


def test_a_table_with_problems_beyond_the_cap_is_never_remembered_as_valid(
    catalogue_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many_bad_years(catalogue_dir, 30)
    put_bad_file(catalogue_dir, "project_partners_unknown_partner.csv", LINKS)
    first = publish.validate(publish.load_catalogue(catalogue_dir), max_errors=1)
    assert first.truncated and len({p.file for p in first.problems}) == 1
    again = publish.validate(publish.load_catalogue(catalogue_dir), max_errors=0)
    monkeypatch.setenv("PUBLISH_VALIDATION_CACHE", "off")
    fresh = publish.validate(publish.load_catalogue(catalogue_dir), max_errors=0)
    assert again.problems == fresh.problems
    assert {PROJECTS, LINKS} <= {p.file for p in fresh.problems}


# ------------------------------------------- tables Frictionless validates itself: errors as found

FALLBACK_SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True}},
        {"name": "amount", "type": "number", "constraints": {"minimum": 0}},
        {"name": "kind", "type": "string", "constraints": {"enum": ["a", "b"]}},
        {"name": "day", "type": "date"},
    ],
    "primaryKey": ["id"],
    "foreignKeys": [{"fields": ["kind"], "reference": {"resource": "kinds", "fields": ["kind"]}}],
}
FALLBACK_CASES = {
    "clean": "id,amount,kind,day\n1,2.5,a,2024-01-31\n2,0,b,2024-02-29\n",
    "renamed header, bad cells": "id,betrag,kind,day\n1,-1,c,2024-02-30\nx,1,a,2024-01-01\n3,1,b,2024-01-01\n",
    "blank, short and long rows": "id,amount,kind,day\n1,1,a,2024-01-01\n,,,\n2,1\n3,1,a,2024-01-01,extra\n",
    "repeated key, unknown kind": "id,amount,kind,day\n1,1,a,2024-01-01\n1,2,b,2024-01-02\n2,3,z,2024-01-03\n",
    "header only": "id,amount,kind,day\n",
    "missing column": "id,amount,kind\n1,1,a\n2,2,b\n",
}


def _fallback_package(folder: Path, text: str) -> Any:
    from frictionless import Package, Resource, Schema, formats

    (folder / "main.csv").write_text(text, encoding="utf-8")
    (folder / "kinds.csv").write_text("kind\na\nb\nz\n", encoding="utf-8")
    control = formats.CsvControl(delimiter=",")
    where = {"basepath": str(folder), "format": "csv", "encoding": "utf-8", "control": control}
    schema = Schema.from_descriptor(json.loads(json.dumps(FALLBACK_SCHEMA)))
    main = Resource(name="main", path="main.csv", schema=schema, **where)
    kinds = Resource(
        name="kinds", path="kinds.csv", schema=Schema.from_descriptor({"fields": [{"name": "kind"}]}), **where
    )
    return Package(resources=[main, kinds])


def _raw(error: Any) -> tuple:
    return (error.type, getattr(error, "row_number", None), getattr(error, "field_name", None),
            getattr(error, "cell", None), error.note, error.message)  # fmt: skip


@pytest.mark.parametrize("case", list(FALLBACK_CASES))
def test_errors_as_found_are_frictionless_report(tmp_path: Path, case: str) -> None:
    from publish.validation import _frictionless_errors

    expected = _fallback_package(tmp_path, FALLBACK_CASES[case]).get_resource("main").validate(limit_errors=0)
    resource = _fallback_package(tmp_path, FALLBACK_CASES[case]).get_resource("main")
    found = [_raw(e) for e in _frictionless_errors(resource)]
    assert found == [_raw(e) for e in expected.tasks[0].errors]
    assert resource.stats.rows == expected.tasks[0].stats.get("rows", 0)
    assert bool(found) == (case not in {"clean", "header only"})


def test_errors_as_found_come_before_the_table_is_read(tmp_path: Path) -> None:
    from publish.validation import _frictionless_errors

    rows = "".join(f"{i},-1,a,2024-01-01\n" for i in range(1, 501))
    resource = _fallback_package(tmp_path, "id,betrag,kind,day\n" + rows).get_resource("main")
    errors = _frictionless_errors(resource)
    first = [_raw(next(errors)) for _ in range(3)]
    assert [e[0] for e in first] == ["incorrect-label", "constraint-error", "constraint-error"]
    assert not resource.closed and resource.row_stream is not None  # the rest is still unread
    assert sum(1 for _ in errors) == 500 - 2
    assert resource.closed


def test_a_table_frictionless_validates_keeps_only_max_errors(
    catalogue_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many_bad_years(catalogue_dir, 60)
    projects = catalogue_dir / PROJECTS
    projects.write_text(projects.read_text().replace("id,name,", "id,title,", 1))  # Frictionless validates it
    full = publish.validate(publish.load_catalogue(catalogue_dir), max_errors=0)
    assert len(full.problems) > 60 and full.rows > 60
    from frictionless import Resource

    def whole_list(*_: Any, **__: Any) -> None:
        raise AssertionError("the table's errors were collected in one list")

    monkeypatch.setattr(Resource, "validate", whole_list)
    report = publish.validate(publish.load_catalogue(catalogue_dir), max_errors=10)
    assert (len(report.problems), report.total, report.truncated) == (10, len(full.problems), True)
    assert report.rows == full.rows
