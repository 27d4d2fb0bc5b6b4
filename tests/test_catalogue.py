"""Reading the catalogue: hostile, broken and empty descriptors become problems naming the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import publish
from publish.catalogue import load_catalogue
from tests.test_structured import ALIAS_BOMB

DESCRIPTOR = "datasets/projects/datapackage.yaml"
EMPTY_TEXTS = {"empty": "", "comments only": "# nothing here yet\n\n# still nothing\n", "empty mapping": "{}\n"}


def problems_of(catalogue: Path) -> list[tuple[str, str]]:
    report = publish.validate(load_catalogue(catalogue))
    return [(p.file, p.code) for p in report.problems]


@pytest.mark.parametrize("text", EMPTY_TEXTS.values(), ids=EMPTY_TEXTS.keys())
def test_an_empty_descriptor_in_a_new_folder_fails(catalogue_dir: Path, text: str) -> None:
    folder = catalogue_dir / "datasets/neu"
    folder.mkdir()
    (folder / "datapackage.yaml").write_text(text)
    report = publish.validate(load_catalogue(catalogue_dir))
    assert not report.valid
    (problem,) = report.problems
    assert (problem.file, problem.code) == ("datasets/neu/datapackage.yaml", "descriptor-empty")
    assert "empty" in problem.message


@pytest.mark.parametrize("text", EMPTY_TEXTS.values(), ids=EMPTY_TEXTS.keys())
def test_an_empty_descriptor_replacing_a_real_one_is_named(catalogue_dir: Path, text: str) -> None:
    (catalogue_dir / DESCRIPTOR).write_text(text)
    assert (DESCRIPTOR, "descriptor-empty") in problems_of(catalogue_dir)


def test_an_empty_json_descriptor_is_named(catalogue_dir: Path) -> None:
    (catalogue_dir / "datasets/phases/datapackage.json").write_text("{}")
    assert ("datasets/phases/datapackage.json", "descriptor-empty") in problems_of(catalogue_dir)


def test_an_empty_catalogue_yaml_is_named(catalogue_dir: Path) -> None:
    (catalogue_dir / "datasets/catalogue.yaml").write_text("# to do\n")
    assert ("datasets/catalogue.yaml", "descriptor-empty") in problems_of(catalogue_dir)


def test_an_empty_schema_is_named(catalogue_dir: Path) -> None:
    (catalogue_dir / "schemas/phases.schema.json").write_text("{}")
    assert ("schemas/phases.schema.json", "descriptor-empty") in problems_of(catalogue_dir)


def test_an_alias_bomb_in_a_descriptor_is_one_broken_yaml_problem(catalogue_dir: Path) -> None:
    (catalogue_dir / DESCRIPTOR).write_text(ALIAS_BOMB)
    catalogue = load_catalogue(catalogue_dir)
    (problem,) = catalogue.problems
    assert problem.file == DESCRIPTOR
    assert problem.message.startswith("broken YAML: aliases")


def test_an_alias_in_catalogue_yaml_is_refused(catalogue_dir: Path) -> None:
    meta = catalogue_dir / "datasets/catalogue.yaml"
    meta.write_text(meta.read_text() + "extra: &e [1]\nmore: *e\n")
    (problem,) = load_catalogue(catalogue_dir).problems
    assert (problem.file, problem.code) == ("datasets/catalogue.yaml", "descriptor-error")


def test_deep_nesting_in_a_yaml_schema_is_refused(catalogue_dir: Path) -> None:
    schema_dir = catalogue_dir / "schemas"
    (schema_dir / "deep.schema.yaml").write_text("fields: " + "[" * 50_000 + "]" * 50_000 + "\n")
    descriptor = catalogue_dir / DESCRIPTOR
    descriptor.write_text(descriptor.read_text().replace("schemas/projects.schema.json", "schemas/deep.schema.yaml"))
    problems = publish.validate(load_catalogue(catalogue_dir)).problems
    assert [(p.file, p.code) for p in problems] == [("schemas/deep.schema.yaml", "descriptor-error")]
    assert "nested deeper than" in problems[0].message


def test_a_dataset_folder_copied_without_descriptor_is_named(catalogue_dir: Path) -> None:
    shutil.copytree(catalogue_dir / "datasets/phases", catalogue_dir / "datasets/copy", symlinks=True)
    (catalogue_dir / "datasets/copy/datapackage.json").unlink()
    assert ("datasets/copy/", "descriptor-missing") in problems_of(catalogue_dir)
