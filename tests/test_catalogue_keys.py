"""The keys of the shipped catalogue hold, and breaking one is reported where it breaks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import publish
from tests.conftest import REPO


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A copy of the shipped catalogue that a test may break."""
    root = tmp_path / "catalogue"
    shutil.copytree(REPO / "datasets", root / "datasets", symlinks=True)
    shutil.copytree(REPO / "schemas", root / "schemas")
    return root


def replace_in(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def errors(root: Path) -> list[tuple[str, int | None, str | None, str, str | None]]:
    report = publish.validate(publish.load_catalogue(root))
    return [(p.file, p.row, p.field, p.code, p.value) for p in report.problems]


def test_the_shipped_catalogue_keeps_all_its_keys() -> None:
    report = publish.validate(publish.load_catalogue(REPO))
    assert report.valid, report.problems
    assert (report.datasets, report.resources) == (9, 11)


def test_a_sub_project_must_name_an_existing_parent(shipped: Path) -> None:
    replace_in(shipped, "datasets/projects/projects.csv", ",umweltmonitoring,Umwelt,", ",umwelt-monitoring,Umwelt,")
    (found,) = errors(shipped)
    assert found[1:] == (5, "parent_id", "foreign-key", "umwelt-monitoring")


def test_a_field_of_action_must_be_in_the_fields_of_action_dataset(shipped: Path) -> None:
    # The value is still allowed by the enum; only the key to the other dataset can catch it.
    replace_in(shipped, "datasets/fields_of_action/fields_of_action.csv", "\nLebensmittel,", "\nErnährung,")
    report = publish.validate(publish.load_catalogue(shipped))
    (problem,) = report.problems
    assert (problem.file, problem.field, problem.code, problem.value) == (
        "datasets/projects/projects.csv",
        "field_of_action",
        "foreign-key",
        "Lebensmittel",
    )
    assert "dataset 'fields_of_action'" in problem.message


@pytest.mark.parametrize(
    ("file", "old", "new", "field", "value", "dataset"),
    [
        (
            "datasets/municipalities/population.csv",
            ",kalletal,13401,",
            ",kaletal,13401,",
            "municipality_id",
            "kaletal",
            None,
        ),
        ("datasets/funding/funding.csv", ",true,bmi,", ",true,bmdi,", "funder_id", "bmdi", "partners"),
        (
            "datasets/milestones/milestones.csv",
            ",digitalpfad-stadtwald,",
            ",digitalpfad-wald,",
            "project_id",
            "digitalpfad-wald",
            "projects",
        ),
        (
            "datasets/projects/project_partners.csv",
            "sensoren-streuobstwiese,treesense",
            "sensoren-streuobstwiese,tree-sense",
            "partner_id",
            "tree-sense",
            "partners",
        ),
    ],
)
def test_keys_of_the_new_tables_are_checked(
    shipped: Path, file: str, old: str, new: str, field: str, value: str, dataset: str | None
) -> None:
    replace_in(shipped, file, old, new)
    report = publish.validate(publish.load_catalogue(shipped))
    (problem,) = report.problems
    assert (problem.file, problem.field, problem.code, problem.value) == (file, field, "foreign-key", value)
    if dataset:
        assert f"dataset '{dataset}'" in problem.message


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("datasets/goals/goals.csv", "sozialen-raum-vernetzen,", "digitalen-raum-erlebbar-machen,"),
        ("datasets/milestones/milestones.csv", "strategie-beschluss-kalletal,", "strategie-beschluss-lemgo,"),
        ("datasets/funding/funding.csv", "owl-journal-eigenanteil,", "owl-journal-bund,"),
        ("datasets/municipalities/municipalities.csv", "kalletal,Gemeinde Kalletal", "lemgo,Gemeinde Kalletal"),
    ],
)
def test_ids_of_the_new_tables_are_unique(shipped: Path, file: str, old: str, new: str) -> None:
    replace_in(shipped, file, old, new)
    codes = {code for where, _, _, code, _ in errors(shipped) if where == file}
    assert codes & {"primary-key", "unique-error"}
