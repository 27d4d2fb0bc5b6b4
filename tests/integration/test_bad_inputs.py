"""The corpus of bad and hostile inputs (tests/bad_inputs.py) through `diff`, `push` and `pull`.

`diff` and `push` run against the real local portal, on a catalogue whose valid version is
already published into an organization of this module's own. Each bad case must exit 1 with the
offending file named, no traceback, bounded output, and leave the portal exactly as it was:
the organization's datasets and resources (ids, hashes, ``metadata_modified``) and the portal's
dataset count are compared before and after. Validation is the gate, so none of them writes.

`pull` gets the bad files from the portal: each case's changed CSV files are uploaded (by the
test, with their sha256) to the published resources, pulled, and must be reported as invalid
(exit 1) naming the file; the original files are put back afterwards.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.mapping import HASH_ALGORITHM
from tests.bad_inputs import CASES, CSV_CASES, MAX_OUTPUT, Case
from tests.conftest import MINIMAL
from tests.integration.conftest import purge_organization
from tests.test_bad_inputs import assert_well_reported

DATASET_NAMES = ("digital-interkommunal-partner", "digital-interkommunal-phasen", "digital-interkommunal-projekte")
# CSV cases whose files can stand on a portal (a folder, a missing file or a symlink cannot).
PULL_CASES = [c for c in CSV_CASES if c.id not in {"csv-is-a-folder", "csv-missing", "csv-symlink-outside"}]


def make_minimal(target: Path, organization: str) -> Path:
    """The small fixture catalogue, moved into ``organization`` with dataset names unique to it."""
    shutil.copytree(MINIMAL, target, symlinks=True)
    meta = target / "datasets/catalogue.yaml"
    meta.write_text(meta.read_text().replace("name: digital-interkommunal\n", f"name: {organization}\n"))
    for descriptor in target.glob("datasets/*/datapackage.*"):
        text = descriptor.read_text()
        for name in DATASET_NAMES:
            text = text.replace(f"{name}\n", f"{name}-{organization}\n")
            text = text.replace(f'"{name}"', f'"{name}-{organization}"')
        descriptor.write_text(text)
    return target


class Corpus:
    """The published catalogue of this module and how to run the CLI against its portal."""

    def __init__(self, root: Path, organization: str, env: dict[str, str], sysadmin: Any) -> None:
        self.root = root
        self.organization = organization
        self.env = env
        self.sysadmin = sysadmin

    def run(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args), env=self.env)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{args[0]} raised {result.exception!r}") from result.exception
        return result.exit_code, result.output

    def snapshot(self) -> tuple[int, list[tuple]]:
        """Every dataset of the organization with its resources, and the portal's dataset count."""
        action = self.sysadmin.action
        found = action.package_search(
            fq=f'organization:"{self.organization}"', include_private=True, include_drafts=True, rows=1000
        )
        datasets = sorted(
            (
                p["name"],
                p["metadata_modified"],
                p["private"],
                tuple(
                    sorted((r["id"], r.get("hash"), r.get("size"), r.get("metadata_modified")) for r in p["resources"])
                ),
            )
            for p in found["results"]
        )
        everything = action.package_search(q="*:*", include_private=True, include_drafts=True, rows=0)["count"]
        return everything, datasets

    def case_catalogue(self, case: Case, tmp_path: Path) -> Path:
        root = tmp_path / "catalogue"
        shutil.copytree(self.root, root, symlinks=True)
        case.build(root)
        return root


@pytest.fixture(scope="module")
def corpus(
    tmp_path_factory: pytest.TempPathFactory,
    ckan_url: str,
    ckan_api_token: str,
    ckan_sysadmin: Any,
    ckan_editor_name: str,
) -> Iterator[Corpus]:
    if ckan_sysadmin is None:
        pytest.fail("CKAN_SYSADMIN_TOKEN is needed to create the corpus's organization", pytrace=False)
    name = f"test-bad-{uuid.uuid4().hex[:8]}"
    ckan_sysadmin.action.organization_create(name=name, title=f"Bad inputs {name}")
    ckan_sysadmin.action.organization_member_create(id=name, username=ckan_editor_name, role="editor")
    base = tmp_path_factory.mktemp("bad-inputs")
    env = {"CKAN_URL": ckan_url, "CKAN_API_TOKEN": ckan_api_token, "PUBLISH_LOCK_DIR": str(base / "locks")}
    corpus = Corpus(make_minimal(base / "catalogue", name), name, env, ckan_sysadmin)
    try:
        code, output = corpus.run("push", "--yes", "--catalogue", str(corpus.root))
        assert code == 0, output
        yield corpus
    finally:
        purge_organization(ckan_sysadmin, name)


@pytest.mark.parametrize("command", ["diff", "push"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_catalogue_is_refused_before_the_portal_is_written(
    corpus: Corpus, case: Case, command: str, tmp_path: Path
) -> None:
    root = corpus.case_catalogue(case, tmp_path)
    before = corpus.snapshot()
    args = [command, "--catalogue", str(root)] + (["--yes"] if command == "push" else [])
    code, output = corpus.run(*args)
    assert_well_reported(case, code, output)
    assert corpus.snapshot() == before, "the portal changed"


def _resources_by_file(root: Path, organization: str) -> dict[str, tuple[str, str]]:
    """Catalogue-relative CSV path → (CKAN dataset name, resource name), from the descriptors."""
    from publish.catalogue import load_catalogue

    catalogue = load_catalogue(root)
    found = {}
    for dataset in catalogue.datasets:
        for spec in dataset.resources:
            found[catalogue.relative(dataset.folder / spec.path)] = (str(dataset.name), spec.name)
    return found


def _upload(sysadmin: Any, dataset: str, resource: str, path: Path) -> None:
    package = sysadmin.action.package_show(id=dataset)
    (target,) = [r for r in package["resources"] if r.get("datapackage_resource") == resource]
    content = path.read_bytes()
    with path.open("rb") as handle:
        # The digests as publish push records them: md5 in `hash`, sha256 in its own field.
        sysadmin.action.resource_patch(
            id=target["id"],
            upload=handle,
            hash=hashlib.md5(content, usedforsecurity=False).hexdigest(),
            hash_algorithm=HASH_ALGORITHM,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
        )


def problems_part(output: str) -> str:
    """The validation problems of a pull's human output: each file line and its problem lines."""
    lines = output.splitlines()
    kept = []
    for index, line in enumerate(lines):
        is_problem = line.startswith("  ") and line.rstrip().endswith("]")
        starts_block = index + 1 < len(lines) and lines[index + 1].startswith("  ") and lines[index + 1].endswith("]")
        if is_problem or (not line.startswith(" ") and starts_block):
            kept.append(line)
    return "\n".join(kept)


@pytest.mark.parametrize("case", PULL_CASES, ids=[c.id for c in PULL_CASES])
def test_pull_reports_a_bad_file_on_the_portal(corpus: Corpus, case: Case, tmp_path: Path) -> None:
    root = corpus.case_catalogue(case, tmp_path)
    files = _resources_by_file(corpus.root, corpus.organization)
    changed = [rel for rel in files if (root / rel).read_bytes() != (corpus.root / rel).read_bytes()]
    assert changed, "the case changes no CSV file"
    try:
        for rel in changed:
            _upload(corpus.sysadmin, *files[rel], root / rel)
        code, output = corpus.run("pull", "--all", "--organization", corpus.organization, "--to", str(tmp_path / "p"))
        assert code == 1, output[:2000]
        assert "Traceback" not in output
        assert Path(case.names).name in problems_part(output), output[:2000]
        assert len(output.encode()) < MAX_OUTPUT
        assert "\x1b" not in output and "\x07" not in output
    finally:
        for rel in changed:
            _upload(corpus.sysadmin, *files[rel], corpus.root / rel)


def test_the_snapshot_sees_a_write(corpus: Corpus, tmp_path: Path) -> None:
    """The control for the tests above: a valid change that is pushed does change the snapshot."""
    root = tmp_path / "catalogue"
    shutil.copytree(corpus.root, root, symlinks=True)
    descriptor = root / "datasets/partners/datapackage.yaml"
    descriptor.write_text(descriptor.read_text().replace("\ntitle: ", "\ntitle: Geändert - ", 1))
    before = corpus.snapshot()
    try:
        code, output = corpus.run("push", "--yes", "--catalogue", str(root))
        assert code == 0, output
        assert corpus.snapshot() != before
    finally:
        assert corpus.run("push", "--yes", "--catalogue", str(corpus.root))[0] == 0
