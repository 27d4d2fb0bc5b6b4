"""Real runs of the commands for the README's examples (run by cog: `make readme`).

`make readme` rewrites the README's generated blocks from what the commands print now;
tests/test_readme.py fails when the README differs from that (`cog --check`), so the examples
cannot drift from the code.

The portal examples (push, diff, pull) are real runs too, against the local CKAN, when
``README_PORTAL=1`` is set with ``CKAN_URL``, ``CKAN_API_TOKEN`` and ``CKAN_SYSADMIN_TOKEN``
(``make readme`` starts the portal and sets them). They first remove every dataset of the
catalogue's organization from that portal, so the first push starts from an empty organization,
as a new portal does. Without ``README_PORTAL=1`` those blocks are kept as they are, so the
check of the other examples needs no portal; tests/integration/test_readme_examples.py runs
them against the portal and compares, durations aside.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from publish.cli import main

REPO = Path(__file__).resolve().parent.parent
MINIMAL = REPO / "tests" / "fixtures" / "catalogues" / "minimal"
DOCUMENTED_PORTAL = "http://127.0.0.1:5000"  # the quick start's portal; shown whatever port ran
ORGANIZATION = "digital-interkommunal"


def run(args: list[str], shown: str | None = None) -> str:
    """``$ publish ARGS`` and what it printed (stdout and stderr), as a person sees it."""
    env = {"CKAN_URL": "", "CKAN_API_TOKEN": "", "COLUMNS": "100"}
    result = CliRunner().invoke(main, args, env=env, terminal_width=100, prog_name="publish")
    return f"$ publish {shown or ' '.join(args)}\n{result.output.rstrip()}"


def block(text: str, language: str = "") -> None:
    import cog  # provided by cog while it runs

    cog.outl(f"```{language}\n{text}\n```")


@contextmanager
def broken_catalogue() -> Iterator[Path]:
    """The small fixture catalogue with three mistakes a steward makes."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "cat"
        shutil.copytree(MINIMAL, root, symlinks=True)
        partners = root / "datasets/partners/datapackage.yaml"
        partners.write_text(partners.read_text(encoding="utf-8").replace("themes: [GOVE, REGI]", "themes: []"))
        links = root / "datasets/projects/project_partners.csv"
        links.write_text(links.read_text(encoding="utf-8").replace("institut-b", "unbekannt", 1))
        projects = root / "datasets/projects/projects.csv"
        projects.write_text(projects.read_text(encoding="utf-8").replace(",umgesetzt,", ",fertig,", 1))
        yield root


def validate_valid() -> None:
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        block(run(["validate"]))
    finally:
        os.chdir(cwd)


def validate_invalid(as_json: bool = False) -> None:
    with broken_catalogue() as root:
        args = ["validate", "--catalogue", str(root)] + (["--json"] if as_json else [])
        shown = "validate --catalogue /tmp/cat" + (" --json" if as_json else "")
        text = run(args, shown)
    block(text.replace(str(root), "/tmp/cat"), "json" if as_json else "")


def help_of(command: str | None = None) -> None:
    args = ([command] if command else []) + ["--help"]
    block(run(args))


# --- the portal examples -------------------------------------------------------------------------


def portal_requested() -> bool:
    return os.environ.get("README_PORTAL") == "1"


def keep_previous() -> None:
    import cog

    cog.out(cog.previous)


def _portal_run(args: list[str], cwd: Path, stdout_only: bool = False) -> str:
    url = os.environ["CKAN_URL"]
    env = {
        "CKAN_URL": url,
        "CKAN_API_TOKEN": os.environ["CKAN_API_TOKEN"],
        "PUBLISH_LOCK_DIR": str(cwd / "locks"),
        "PUBLISH_VALIDATION_CACHE": "off",
        "COLUMNS": "100",
    }
    here = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, args, env=env, terminal_width=100, prog_name="publish")
    finally:
        os.chdir(here)
    if result.exit_code not in (0, 1):
        raise RuntimeError(f"publish {' '.join(args)} exited {result.exit_code}: {result.output}")
    text = (result.stdout if stdout_only else result.output).rstrip()
    return f"$ publish {' '.join(args)}\n{text}".replace(url.rstrip("/"), DOCUMENTED_PORTAL)


def empty_organization(url: str, sysadmin_token: str, name: str = ORGANIZATION) -> None:
    """Purge every dataset of the organization (deleted ones included); the organization stays."""
    import ckanapi

    with ckanapi.RemoteCKAN(url, apikey=sysadmin_token) as ckan:
        found = ckan.action.package_search(
            fq=f'organization:"{name}"', include_private=True, include_drafts=True, include_deleted=True, rows=1000
        )
        for package in found["results"]:
            ckan.action.dataset_purge(id=package["id"])


def _frictionless_validate(cwd: Path, descriptor: str) -> str:
    """Frictionless' own CLI on a pulled package; the line says what it answered."""
    import subprocess
    import sys

    tool = Path(sys.executable).with_name("frictionless")
    done = subprocess.run([str(tool), "validate", descriptor], cwd=cwd, capture_output=True, text=True, timeout=300)
    verdict = "VALID" if done.returncode == 0 else f"INVALID (exit {done.returncode})"
    return f"$ frictionless validate {descriptor}    # {verdict}"


def _edit_for_the_diff(root: Path) -> None:
    """Two edits a steward makes: a dataset title and one cell of a table."""
    partners = root / "datasets/partners/datapackage.yaml"
    text = partners.read_text(encoding="utf-8")
    title = re.search(r"^title: (.+)$", text, re.M)
    assert title, "partners has a title"
    partners.write_text(text.replace(title.group(0), f"{title.group(0)} (Stand 2026)", 1), encoding="utf-8")
    phases = root / "datasets/phases/phases.csv"
    lines = phases.read_text(encoding="utf-8").split("\n")
    lines[1] = lines[1].replace("Netzwerkaufbau", "Aufbau eines Netzwerks", 1)
    phases.write_text("\n".join(lines), encoding="utf-8")


@functools.cache
def portal_runs() -> dict[str, str]:
    """Publish the shipped catalogue into its emptied organization, rerun, edit, diff, pull."""
    empty_organization(os.environ["CKAN_URL"], os.environ["CKAN_SYSADMIN_TOKEN"])
    runs: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = work / "catalogue"
        shutil.copytree(REPO / "datasets", root / "datasets", symlinks=True)
        shutil.copytree(REPO / "schemas", root / "schemas")
        runs["push"] = _portal_run(["push", "--yes"], root, stdout_only=True)
        runs["rerun"] = _portal_run(["push", "--yes"], root, stdout_only=True)
        runs["pull"] = _portal_run(["pull", "--all", "--organization", ORGANIZATION], work)
        runs["pull_again"] = _portal_run(["pull", "--all", "--organization", ORGANIZATION], work)
        runs["frictionless"] = _frictionless_validate(work, "pulled/digital-interkommunal-projekte/datapackage.json")
        _edit_for_the_diff(root)
        runs["diff"] = _portal_run(["diff"], root)
    return runs


def _shortened(text: str, head: int, tail: int) -> str:
    lines = text.split("\n")
    if len(lines) <= head + tail + 1:
        return text
    return "\n".join([*lines[:head], "...", *lines[len(lines) - tail :]])


def _only(text: str, datasets: tuple[str, ...]) -> str:
    """The plan's header, the rows of these datasets ("..." where others were left out), the rest."""
    kept: list[str] = []
    for number, line in enumerate(text.split("\n")):
        first = line.split(" ", 1)[0]
        if number < 2 or not first.startswith("digital-interkommunal") or first in datasets:
            kept.append(line)
        elif kept[-1] != "...":
            kept.append("...")
    return "\n".join(kept)


def _until_summary(text: str, head: int, after: int) -> str:
    """The first ``head`` lines, "...", the summary line and ``after`` lines after it."""
    lines = text.split("\n")
    summary = next(i for i, line in enumerate(lines) if line.startswith("Push done"))
    more = ["  ..."] if summary + after + 1 < len(lines) else []
    return "\n".join([*lines[:head], "...", *lines[summary : summary + after + 1], *more])


def portal_example(name: str) -> None:
    """One portal example block: a real run with ``README_PORTAL=1``, else the block as it is."""
    if not portal_requested():
        keep_previous()
        return
    text = portal_runs()[name]
    if name == "diff":
        text = _only(text, ("digital-interkommunal-partner", "digital-interkommunal-phasen"))
    elif name == "push":  # the table's first dataset, then the summary and the first URLs
        text = _until_summary(text, 6, 3)
    elif name == "rerun":
        text = _until_summary(text, 5, 0)
    block(text)


def pull_examples() -> None:
    """The pull, the rerun of it and Frictionless' own check of one pulled package, in one block."""
    if not portal_requested():
        keep_previous()
        return
    runs = portal_runs()
    first = _shortened(runs["pull"], 2, 3)
    again = runs["pull_again"].split("\n")
    block(
        f"$ export CKAN_URL={DOCUMENTED_PORTAL}\n{first}\n"
        f"{again[0]}      # again: nothing to download\n{again[-1]}\n{runs['frictionless']}"
    )


def masked(text: str) -> str:
    """The README without what differs between two real runs: durations and new resource ids."""
    text = re.sub(r"\b\d+(\.\d+)? s\b", "<t> s", text)
    return re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<id>", text)
