"""The cache of tables found valid: an unchanged rerun skips Frictionless, a changed input never passes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from publish import dcat, mapping, validation, validation_cache
from publish.catalogue import load_catalogue
from publish.cli import main
from publish.mapping import desired_state
from publish.report import Report
from publish.validation import validate
from tests.conftest import MINIMAL

SCHEMAS = Path("schemas")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "validated"
    monkeypatch.setenv(validation_cache.ENV, str(folder))
    return folder


@pytest.fixture(scope="module")
def remembered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache filled by one cold, valid run of the minimal catalogue (in a folder of its own).

    Its entries are keyed by content, not by folder (test_the_entries_serve_another_copy_of_the_same_content),
    so a test that needs a warm cache starts from a copy instead of validating cold again.
    """
    folder = tmp_path_factory.mktemp("remembered")
    catalogue = folder / "catalogue"
    shutil.copytree(MINIMAL, catalogue, symlinks=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(validation_cache.ENV, str(folder / "validated"))
        assert run(catalogue).valid
    return folder / "validated"


@pytest.fixture
def warm(cache: Path, remembered: Path) -> None:
    """The test's cache as a valid run of an unchanged copy of the minimal catalogue left it."""
    shutil.copytree(remembered, cache)


@pytest.fixture
def validated(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The names of the tables each Frictionless package validation is given, call by call."""
    calls: list[list[str]] = []
    real = validation._validate_tables

    def spy(own: list[validation.Table], *args: Any) -> Any:
        calls.append(sorted(t.spec.name for t in own))
        return real(own, *args)

    monkeypatch.setattr(validation, "_validate_tables", spy)
    return calls


def run(catalogue_dir: Path) -> Report:
    return validate(load_catalogue(catalogue_dir))


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def edit_schema(catalogue_dir: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = catalogue_dir / SCHEMAS / f"{name}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")


def field_of(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def entries(cache: Path, kind: str = "table") -> list[Path]:
    """The cache's entries of one kind (tables, or the byte-level "csv" and "sources" checks)."""
    return [path for path in cache.glob("*.json") if json.loads(path.read_text())["kind"] == kind]


def codes(report: Report, file_end: str) -> set[str]:
    return {p.code for p in report.problems if p.file.endswith(file_end)}


def test_unchanged_rerun_skips_frictionless_with_the_same_report(
    catalogue_dir: Path, cache: Path, validated: list[list[str]]
) -> None:
    cold = run(catalogue_dir)
    assert cold.valid, cold.problems
    assert sorted(name for call in validated for name in call) == ["partners", "phases", "project_partners", "projects"]
    assert len(entries(cache)) == 4  # one entry per valid table
    validated.clear()
    warm = run(catalogue_dir)
    assert warm.valid
    assert validated == []  # nothing read by Frictionless again
    assert (warm.rows, warm.resources, warm.datasets) == (cold.rows, cold.resources, cold.datasets)
    assert cold.rows > 0


def test_the_entries_serve_another_copy_of_the_same_content(
    catalogue_dir: Path, cache: Path, remembered: Path, validated: list[list[str]]
) -> None:
    """What the warm-cache tests start from: entries written for one folder hold for another."""
    assert catalogue_dir.parent != remembered.parent
    shutil.copytree(remembered, cache)
    found = sorted(p.name for p in cache.glob("*.json"))
    report = run(catalogue_dir)
    assert report.valid
    assert validated == []  # every table remembered
    assert sorted(p.name for p in cache.glob("*.json")) == found  # nothing new to write
    assert report.rows > 0


@pytest.mark.usefixtures("warm")
def test_one_changed_byte_of_a_csv_is_found_with_a_warm_cache(catalogue_dir: Path, cache: Path) -> None:
    assert run(catalogue_dir).valid
    phases = catalogue_dir / "datasets/phases/phases.csv"
    size = phases.stat().st_size
    replace_once(phases, "alpha,1,", "alpha,x,")  # same size: only the content tells
    assert phases.stat().st_size == size
    report = run(catalogue_dir)
    assert not report.valid
    problem = next(p for p in report.problems if p.file.endswith("phases.csv"))
    assert (problem.code, problem.row, problem.field) == ("type-error", 2, "position")


@pytest.mark.usefixtures("warm")
def test_a_tighter_max_length_is_found_with_a_warm_cache(catalogue_dir: Path, cache: Path) -> None:
    assert run(catalogue_dir).valid
    edit_schema(catalogue_dir, "projects", lambda s: field_of(s, "name")["constraints"].update(maxLength=5))
    report = run(catalogue_dir)
    assert "constraint-error" in codes(report, "projects.csv")
    assert any("maxLength" in p.message for p in report.problems)


@pytest.mark.usefixtures("warm")
def test_a_removed_enum_value_is_found_with_a_warm_cache(catalogue_dir: Path, cache: Path) -> None:
    assert run(catalogue_dir).valid

    def drop_umwelt(schema: dict[str, Any]) -> None:
        field_of(schema, "field_of_action")["constraints"]["enum"].remove("Umwelt")

    edit_schema(catalogue_dir, "projects", drop_umwelt)
    report = run(catalogue_dir)
    found = [p for p in report.problems if p.file.endswith("projects.csv")]
    assert [(p.code, p.row, p.field, p.value) for p in found] == [("constraint-error", 2, "field_of_action", "Umwelt")]


@pytest.mark.usefixtures("warm")
def test_a_changed_key_of_a_table_in_the_same_dataset_is_found(catalogue_dir: Path, cache: Path) -> None:
    """project_partners.project_id refers to projects.id (foreignKeys inside the dataset)."""
    assert run(catalogue_dir).valid
    projects = catalogue_dir / "datasets/projects/projects.csv"
    replace_once(projects, "projekt-eins,", "projekt-eint,")  # projects itself stays valid
    report = run(catalogue_dir)
    found = [p for p in report.problems if p.file.endswith("project_partners.csv")]
    assert [(p.code, p.row, p.value) for p in found] == [("foreign-key", 2, "projekt-eins")]


@pytest.mark.usefixtures("warm")
def test_a_changed_key_of_a_table_in_another_dataset_is_found(catalogue_dir: Path, cache: Path) -> None:
    """project_partners.partner_id refers to the partners dataset (catalogueForeignKeys)."""
    assert run(catalogue_dir).valid
    replace_once(catalogue_dir / "datasets/partners/partners.csv", "institut-b,", "institut-c,")
    report = run(catalogue_dir)
    found = [p for p in report.problems if p.file.endswith("project_partners.csv")]
    assert [(p.code, p.row, p.value) for p in found] == [("foreign-key", 2, "institut-b")]
    assert "dataset 'partners'" in found[0].message


@pytest.mark.usefixtures("warm")
def test_a_changed_type_of_a_referenced_key_is_part_of_the_key(catalogue_dir: Path, cache: Path) -> None:
    """The referenced table's schema counts too: its values are compared as it types them."""
    assert run(catalogue_dir).valid
    edit_schema(catalogue_dir, "phases", lambda s: field_of(s, "id")["constraints"].update(maxLength=4))
    report = run(catalogue_dir)
    assert "constraint-error" in codes(report, "phases.csv")  # 'alpha' is too long now


@pytest.mark.usefixtures("warm")
def test_only_the_tables_that_depend_on_a_change_are_validated_again(
    catalogue_dir: Path, cache: Path, validated: list[list[str]]
) -> None:
    assert run(catalogue_dir).valid
    validated.clear()
    replace_once(catalogue_dir / "datasets/phases/phases.csv", "Erste Testphase", "Erste Probephase")
    report = run(catalogue_dir)
    assert report.valid, report.problems
    # phases changed; projects refers to it; partners and project_partners are remembered.
    assert validated == [["phases"], ["projects"]]


@pytest.mark.usefixtures("warm")
def test_a_table_with_a_key_to_a_remembered_sibling_is_validated_with_it(
    catalogue_dir: Path, cache: Path, validated: list[list[str]]
) -> None:
    assert run(catalogue_dir).valid
    validated.clear()
    replace_once(catalogue_dir / "datasets/projects/project_partners.csv", "Begleitung", "Beratung")
    assert run(catalogue_dir).valid
    assert validated == [["project_partners", "projects"]]  # its key to projects is checked, too


def test_problems_are_never_cached(catalogue_dir: Path, cache: Path, validated: list[list[str]]) -> None:
    phases = catalogue_dir / "datasets/phases/phases.csv"
    replace_once(phases, "alpha,1,", "alpha,x,")
    assert not run(catalogue_dir).valid
    assert len(entries(cache)) == 3  # the three valid tables only
    validated.clear()
    again = run(catalogue_dir)
    assert "type-error" in codes(again, "phases.csv")
    assert validated == [["phases"]]
    replace_once(phases, "alpha,x,", "alpha,1,")
    assert run(catalogue_dir).valid
    # phases now, and projects again: its key to phases is part of its entry's key
    assert len(entries(cache)) == 5


@pytest.mark.usefixtures("warm")
def test_a_corrupt_cache_is_ignored(catalogue_dir: Path, cache: Path, validated: list[list[str]]) -> None:
    assert run(catalogue_dir).valid
    found = sorted(cache.glob("*.json"))
    # tables, their byte-level checks, source coverage, the schemas' verdicts, the DCAT check
    assert len(found) == 4 + 4 + 1 + 4 + 1
    for index, entry in enumerate(found):
        broken = [
            "{not json",
            "\udcff",
            json.dumps({"format": validation_cache.FORMAT, "key": "another", "kind": "table", "rows": 1}),
            json.dumps({"format": validation_cache.FORMAT, "key": entry.stem, "kind": "table", "rows": "many"}),
            json.dumps([entry.stem]),
        ][index % 5]
        entry.write_bytes(broken.encode("utf-8", "surrogateescape"))
    validated.clear()
    report = run(catalogue_dir)
    assert report.valid
    assert sorted(name for call in validated for name in call) == ["partners", "phases", "project_partners", "projects"]
    validated.clear()
    assert run(catalogue_dir).valid
    assert validated == []  # rewritten by the run that validated


def test_an_unwritable_cache_is_no_error(
    catalogue_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validated: list[list[str]]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(validation_cache.ENV, str(blocker / "validated"))
    assert run(catalogue_dir).valid
    validated.clear()
    assert run(catalogue_dir).valid
    assert len(validated) == 3  # nothing remembered, everything validated again
    assert blocker.read_text() == "not a folder"


def test_a_file_edited_while_it_is_validated_is_not_remembered(
    catalogue_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashed while invalid, fixed before Frictionless reads it: the invalid bytes are not remembered."""
    phases = catalogue_dir / "datasets/phases/phases.csv"
    replace_once(phases, "alpha,1,", "alpha,x,")
    real = validation._validate_tables

    def fix_before_reading(own: list[validation.Table], *args: Any) -> Any:
        if any(t.spec.name == "phases" for t in own):
            replace_once(phases, "alpha,x,", "alpha,1,")
        return real(own, *args)

    monkeypatch.setattr(validation, "_validate_tables", fix_before_reading)
    assert run(catalogue_dir).valid  # what Frictionless read was valid
    monkeypatch.setattr(validation, "_validate_tables", real)
    replace_once(phases, "alpha,1,", "alpha,x,")  # the bytes that were hashed, back again
    assert "type-error" in codes(run(catalogue_dir), "phases.csv")


def test_a_referenced_table_edited_during_validation_is_not_remembered(
    catalogue_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key holds the referenced table's digest: it too must be what Frictionless read."""
    partners = catalogue_dir / "datasets/partners/partners.csv"
    replace_once(partners, "institut-b,", "institut-c,")  # project_partners' key to it breaks
    real = validation._validate_tables

    def fix_before_reading(own: list[validation.Table], *args: Any) -> Any:
        if any(t.spec.name == "project_partners" for t in own):
            replace_once(partners, "institut-c,", "institut-b,")
        return real(own, *args)

    monkeypatch.setattr(validation, "_validate_tables", fix_before_reading)
    assert run(catalogue_dir).valid  # against what Frictionless read, the key resolves
    monkeypatch.setattr(validation, "_validate_tables", real)
    replace_once(partners, "institut-b,", "institut-c,")  # the bytes that were hashed, back again
    found = [p for p in run(catalogue_dir).problems if p.file.endswith("project_partners.csv")]
    assert [(p.code, p.value) for p in found] == [("foreign-key", "institut-b")]


@pytest.mark.usefixtures("warm")
def test_another_tool_version_does_not_trust_the_entries(
    catalogue_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, validated: list[list[str]]
) -> None:
    assert run(catalogue_dir).valid
    monkeypatch.setattr(validation_cache, "_code", lambda: "another version")
    validated.clear()
    assert run(catalogue_dir).valid
    assert len(validated) == 3


def test_off_and_bypass_neither_read_nor_write(
    catalogue_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, validated: list[list[str]]
) -> None:
    with validation_cache.bypassed():
        assert run(catalogue_dir).valid
    assert not cache.exists()
    assert run(catalogue_dir).valid  # fills it
    validated.clear()
    with validation_cache.bypassed():
        assert run(catalogue_dir).valid
    assert len(validated) == 3
    monkeypatch.setenv(validation_cache.ENV, "off")
    assert validation_cache.cache_dir() is None
    validated.clear()
    assert run(catalogue_dir).valid
    assert len(validated) == 3


def test_default_folder_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(validation_cache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert validation_cache.cache_dir() == tmp_path / "kalletal-lemgo-publish" / "validated"


def test_no_cache_option_of_validate(catalogue_dir: Path, cache: Path, validated: list[list[str]]) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["validate", "--catalogue", str(catalogue_dir), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert not cache.exists()
    assert runner.invoke(main, ["validate", "--catalogue", str(catalogue_dir)]).exit_code == 0
    assert len(entries(cache)) == 4
    validated.clear()
    assert runner.invoke(main, ["validate", "--catalogue", str(catalogue_dir), "--no-cache"]).exit_code == 0
    assert len(validated) == 3
    validated.clear()
    assert runner.invoke(main, ["validate", "--catalogue", str(catalogue_dir)]).exit_code == 0
    assert validated == []  # the bypass ended with the command


@pytest.mark.parametrize("command", ["diff", "push"])
def test_diff_and_push_offer_no_cache(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert "--no-cache" in result.output


def test_each_file_is_hashed_once_per_run(catalogue_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[Path] = []
    real = mapping.file_digest

    def counting(path: Path, *args: Any) -> mapping.FileDigest:
        hashed.append(path)
        return real(path, *args)

    monkeypatch.setattr(mapping, "file_digest", counting)
    catalogue = load_catalogue(catalogue_dir)
    assert validate(catalogue).valid
    desired = desired_state(catalogue)
    assert len(hashed) == len(set(hashed))  # the metadata files the DCAT check reads, once too
    assert len([p for p in hashed if p.suffix == ".csv"]) == 4
    phases = next(r for p in desired for r in p.resources if r.identity == "phases")
    assert phases.digest == real(phases.path)


@pytest.mark.usefixtures("warm")
def test_a_byte_that_is_not_utf8_is_found_with_a_warm_cache(catalogue_dir: Path, cache: Path) -> None:
    """The byte-level checks are remembered too (per file and field names), and redone on a change."""
    assert run(catalogue_dir).valid
    assert len(entries(cache, "csv")) == 4
    partners = catalogue_dir / "datasets/partners/partners.csv"
    data = partners.read_bytes()
    partners.write_bytes(data.replace("ä".encode(), b"\xe4x", 1))  # Latin-1, same size
    report = run(catalogue_dir)
    found = [p for p in report.problems if p.file.endswith("partners.csv")]
    assert found, report.problems
    assert all("UTF-8" in p.message for p in found)


def test_source_coverage_is_remembered_and_redone_on_any_change(
    catalogue_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = validation.check_source_coverage

    def spy(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(validation, "check_source_coverage", spy)
    assert run(catalogue_dir).valid
    assert run(catalogue_dir).valid
    assert len(calls) == 1
    replace_once(catalogue_dir / "datasets/phases/phases.csv", "Erste Testphase", "Erste Probephase")
    assert run(catalogue_dir).valid
    assert len(calls) == 2


def test_the_shacl_check_is_remembered_by_the_metadata_it_reads(
    catalogue_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dcat_ap_de import shacl

    checked: list[int] = []
    real = shacl.check

    def spy(graph: Any) -> Any:
        checked.append(len(graph))
        return real(graph)

    monkeypatch.setattr(shacl, "check", spy)
    monkeypatch.setattr(dcat, "_REMEMBERED", {})  # nothing remembered in this process either
    assert run(catalogue_dir).valid
    assert run(catalogue_dir).valid
    assert len(checked) == 1
    replace_once(catalogue_dir / "datasets/phases/datapackage.json", "Phasen von", "Die Phasen von")
    assert run(catalogue_dir).valid
    assert len(checked) == 2  # another descriptor: checked again


def test_the_shacl_check_of_a_graph_is_remembered_in_the_process_unless_the_cache_is_off(
    catalogue_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same graph (another copy, blank nodes named anew) is not checked twice in a process,
    problems included; a changed graph is checked; with the cache off (--no-cache, as
    ``PUBLISH_VALIDATION_CACHE=off``: validation_cache.cache_dir) every run checks."""
    from dcat_ap_de import shacl

    checked: list[int] = []
    real = shacl.check

    def spy(graph: Any) -> Any:
        checked.append(len(graph))
        return real(graph)

    monkeypatch.setattr(shacl, "check", spy)
    monkeypatch.setattr(dcat, "_REMEMBERED", {})
    replace_once(catalogue_dir / "datasets/catalogue.yaml", "municipalityKey/05766044", "municipalityKey/0576604")
    other = tmp_path / "other"
    shutil.copytree(catalogue_dir, other, symlinks=True)
    for n, folder in enumerate((catalogue_dir, other)):
        monkeypatch.setenv(validation_cache.ENV, str(tmp_path / f"cache-{n}"))  # a fresh folder each
        found = [(p.code, p.file, p.field) for p in run(folder).problems]
        assert found == [("dcat-ap-de", "datasets/catalogue.yaml", "geocoding.uris")]
    assert len(checked) == 1
    replace_once(other / "datasets/phases/datapackage.json", "Phasen von", "Die Phasen von")
    assert [p.code for p in run(other).problems] == ["dcat-ap-de"]
    assert len(checked) == 2  # another graph
    with validation_cache.bypassed():  # --no-cache
        assert [p.code for p in run(other).problems] == ["dcat-ap-de"]
    assert len(checked) == 3  # checked again


@pytest.mark.usefixtures("warm")
def test_a_warm_run_imports_neither_frictionless_nor_rdflib(catalogue_dir: Path, cache: Path) -> None:
    """Every answer remembered: the run is hashing and reading metadata (a fresh process)."""
    import subprocess
    import sys

    assert run(catalogue_dir).valid
    probe = (
        "import sys; from publish import validate, load_catalogue; "
        f"r = validate(load_catalogue({str(catalogue_dir)!r})); "
        "print(r.valid, sorted(m for m in ('frictionless', 'rdflib', 'pyshacl', 'pyarrow') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "True []"


@pytest.mark.usefixtures("warm")
def test_a_dcat_rule_only_the_shapes_know_is_found_with_a_warm_cache(catalogue_dir: Path, cache: Path) -> None:
    assert run(catalogue_dir).valid
    # the URI form passes the metadata checks; the shapes want an 8-digit municipality key
    replace_once(catalogue_dir / "datasets/catalogue.yaml", "municipalityKey/05766044", "municipalityKey/0576604")
    found = run(catalogue_dir).problems
    assert [(p.code, p.file) for p in found] == [("dcat-ap-de", "datasets/catalogue.yaml")]


@pytest.mark.usefixtures("warm")
def test_a_schema_made_invalid_is_found_with_a_warm_cache(catalogue_dir: Path, cache: Path) -> None:
    assert run(catalogue_dir).valid
    edit_schema(catalogue_dir, "phases", lambda s: field_of(s, "position").update(type="no-such-type"))
    problems = run(catalogue_dir).problems
    assert any(p.code == "schema-error" and "not a valid Table Schema" in p.message for p in problems), problems
