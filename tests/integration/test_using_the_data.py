"""What we publish opens cleanly in the tools developers already use, against the real local CKAN.

- frictionless-py's own CKAN reader (``frictionless[ckan]``): every dataset of the shipped
  catalogue, every resource's rows typed as in the catalogue's schema and equal to the local
  CSV, and ``Package.validate()`` valid (digests, sizes, types, keys between tables);
- ckanapi's own CLI (``ckanapi dump datasets``) reads the organization's datasets;
- the README's "Using the data" snippets run as they stand (doctests), with the portal's URL and
  the test's dataset names put in.

Each test publishes the shipped catalogue into an organization of its own; nothing is mocked.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from publish.mapping import reader_names
from tests.conftest import REPO
from tests.integration.publishing import DATASETS, Publisher, make_catalogue, names

SHIPPED_ORGANIZATION = "digital-interkommunal"
DOCUMENTED_PORTAL = "http://127.0.0.1:5000"


@pytest.fixture
def published(tmp_path: Path, organization: str, ckan_url: str, ckan_api_token: str) -> Path:
    """The shipped catalogue, pushed into the test's organization."""
    catalogue = make_catalogue(tmp_path, organization)
    code, report = Publisher(catalogue, ckan_url, ckan_api_token, tmp_path / "locks").json("push", "--yes")
    assert code == 0 and report["ok"], report
    return catalogue


def descriptor_of(catalogue: Path, key: str) -> dict[str, Any]:
    return yaml.safe_load((catalogue / "datasets" / key / "datapackage.yaml").read_text(encoding="utf-8"))


def test_frictionless_ckan_reader_reads_and_validates_every_dataset(published: Path, ckan_url: str) -> None:
    from frictionless import Package, Resource, Schema, portals

    rows_read = 0
    for key, name in names(published).items():
        local = descriptor_of(published, key)
        package = Package(control=portals.CkanControl(baseurl=ckan_url, dataset=name))
        # The reader names resources after their titles on the portal ("Projekte" → "projekte").
        assert package.resource_names == reader_names([r.get("title") for r in local["resources"]])
        for remote, spec in zip(package.resources, local["resources"], strict=True):
            assert remote.custom.get("datapackage_resource") == spec["name"]
            schema = json.loads((published / "datasets" / key / spec["schema"]).read_text(encoding="utf-8"))
            # Typed as in the catalogue's schema ...
            assert [(f.name, f.type) for f in remote.schema.fields] == [
                (f["name"], f["type"]) for f in schema["fields"]
            ]
            assert remote.schema.primary_key == schema.get("primaryKey", [])
            # ... and the same rows, value for value, as the catalogue's CSV read with its own schema.
            csv = published / "datasets" / key / spec["path"]
            types_only = {k: v for k, v in schema.items() if k != "foreignKeys"}  # keys: checked by validate()
            expected = Resource(path=str(csv), schema=Schema.from_descriptor(types_only)).read_rows()
            got = remote.read_rows()
            assert got, f"{name}/{remote.name}: no rows"
            assert [r.to_dict() for r in got] == [r.to_dict() for r in expected]
            rows_read += len(got)
            # Every key inside the dataset names a resource the reader knows.
            for fk in remote.schema.foreign_keys:
                assert fk["reference"]["resource"] in ("", *package.resource_names)
        report = package.validate()
        assert report.valid, (name, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"]))
        # validate() did check the files: each resource's md5 and size against the download.
        for task in report.tasks:
            assert task.stats["md5"] and task.stats["bytes"]
        assert [t.stats["md5"] for t in report.tasks] == [r.hash for r in package.resources]
    # every row of the catalogue's CSV files (header lines not counted)
    local_rows = sum(len(p.read_text(encoding="utf-8").splitlines()) - 1 for p in published.glob("datasets/*/*.csv"))
    assert rows_read == local_rows > 100


def test_frictionless_validate_fails_when_a_digest_is_wrong(
    published: Path, ckan_url: str, ckan: Any, organization: str
) -> None:
    # The check above is not vacuous: a wrong md5 on the portal is found by the same reader.
    from frictionless import Package, portals

    name = names(published)["phases"]
    resource = ckan.action.package_show(id=name)["resources"][0]
    ckan.action.resource_patch(id=resource["id"], hash="0" * 32)
    report = Package(control=portals.CkanControl(baseurl=ckan_url, dataset=name)).validate()
    assert not report.valid
    assert "hash-count" in {e.type for task in report.tasks for e in task.errors}


def ckanapi_cli() -> str:
    """The ckanapi command of this environment (installed with ckanapi, a dependency)."""
    beside = Path(sys.executable).with_name("ckanapi")
    found = str(beside) if beside.is_file() else shutil.which("ckanapi")
    assert found, "the ckanapi command is not installed"
    return found


def test_ckanapi_dump_reads_the_organizations_datasets(
    published: Path, organization: str, ckan_url: str, tmp_path: Path
) -> None:
    cli = ckanapi_cli()
    # As in an activated environment: `dump` starts its workers as `ckanapi` from PATH.
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(cli).parent), os.environ.get("PATH", "")])}
    env.pop("CKAN_API_TOKEN", None)  # public datasets: read as anyone would
    search = subprocess.run(
        [cli, "action", "package_search", f"fq=organization:{organization}", "rows:1000", "-r", ckan_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert search.returncode == 0, search.stderr
    found = sorted(p["name"] for p in json.loads(search.stdout)["results"])
    assert found == sorted(names(published).values())

    output = tmp_path / "datasets.jsonl"
    dump = subprocess.run(
        [cli, "dump", "datasets", *found, "--datastore-fields", "-r", ckan_url, "-O", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert dump.returncode == 0, dump.stderr
    assert "error" not in dump.stderr.lower(), dump.stderr
    dumped = {record["name"]: record for record in map(json.loads, output.read_text(encoding="utf-8").splitlines())}
    assert sorted(dumped) == found
    for key, name in names(published).items():
        record = dumped[name]
        assert record["organization"]["name"] == organization
        local = descriptor_of(published, key)
        assert [r["datapackage_resource"] for r in record["resources"]] == [r["name"] for r in local["resources"]]
        for resource, spec in zip(record["resources"], local["resources"], strict=True):
            schema = json.loads((published / "datasets" / key / spec["schema"]).read_text(encoding="utf-8"))
            # The DataStore's data dictionary came along, one column per schema field.
            assert [f["id"] for f in resource["datastore_fields"] if f["id"] != "_id"] == [
                f["name"] for f in schema["fields"]
            ]


# --- The README's "Using the data" snippets ---------------------------------------------------


def readme_snippets() -> list[str]:
    """The ```python blocks of the README's "Using the data" section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Using the data\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_has_three_snippets_each_with_examples() -> None:
    snippets = readme_snippets()
    assert len(snippets) == 3
    assert all(">>> " in s for s in snippets)


@pytest.mark.parametrize("number", [0, 1, 2])
def test_readme_using_the_data_snippet_runs_as_documented(
    number: int,
    published: Path,
    organization: str,
    ckan_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PUBLISH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CKAN_API_TOKEN", raising=False)  # the snippets need no account
    snippet = readme_snippets()[number]
    # The README shows the shipped catalogue on the local portal; the test's copy has its own names.
    shipped = {key: descriptor_of(REPO, key)["name"] for key in DATASETS}
    for key, name in names(published).items():
        snippet = snippet.replace(f'"{shipped[key]}"', f'"{name}"')
    snippet = snippet.replace(f'"{SHIPPED_ORGANIZATION}"', f'"{organization}"')
    snippet = snippet.replace(DOCUMENTED_PORTAL, ckan_url)
    test = doctest.DocTestParser().get_doctest(snippet, {}, f"README snippet {number + 1}", "README.md", 0)
    assert test.examples
    output: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test, out=output.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(output)
    assert result.attempted == len(test.examples)
