"""``publish pull``: download published datasets as verified Data Package folders.

A thin skin over :func:`publish.pull.pull`. Exit codes: 0 done, 1 pulled data invalid against its
schema, 2 usage or configuration error, 3 portal error or digest mismatch (rerunning is safe).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_common import connect, connection_options, fail, json_option, max_errors_option
from .errors import EXIT_USAGE, PublishError
from .report import for_terminal
from .units import human_bytes

if TYPE_CHECKING:
    from .pull import FileResult, PullResult

# Outcomes of a file, as publish.pull names them (repeated here so --help imports no library).
DOWNLOADED, PRESENT, FAILED = "downloaded", "present", "failed"


@click.command()
@click.argument("datasets", nargs=-1, metavar="DATASET...")
@click.option("--all", "all_datasets", is_flag=True, help="Pull every dataset of the organization.")
@click.option(
    "--to",
    "target",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("pulled"),
    show_default=True,
    help="Folder to write into: one Data Package folder per dataset.",
)
@click.option(
    "--organization",
    metavar="NAME",
    help="Organization for --all. Default: organization.name of datasets/catalogue.yaml in the current folder.",
)
@connection_options("CKAN portal base URL. Env: CKAN_URL. CKAN_API_TOKEN is used when set (private datasets).")
@json_option
@max_errors_option
def pull(
    datasets: tuple[str, ...],
    all_datasets: bool,
    target: Path,
    organization: str | None,
    portal_url: str | None,
    ca_bundle: str | None,
    allow_http: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Download datasets as Frictionless Data Package folders, each file verified.

    Every file is streamed to a temporary name, checked against the portal's sha256 and size, and
    only then moved into place; a mismatch is an error (exit 3) and leaves no file behind. A rerun
    skips files already present with the right digest. Files are then validated against their
    Table Schema (exit 1 when invalid); keys to other datasets are checked among the datasets
    pulled together. Works anonymously on public datasets.

    \b
    Examples:
      publish pull --all --portal https://opendata.example.de --organization digital-interkommunal
      publish pull digital-interkommunal-projekte --to data/
      publish pull --all --json | jq '.datasets[].files[] | select(.outcome == "failed")'
    """
    if bool(datasets) == all_datasets:
        fail("name the datasets to pull, or pass --all (not both)", EXIT_USAGE, as_json)
    if all_datasets and not organization:
        organization = _catalogue_organization()
        if not organization:
            fail(
                "--all needs --organization NAME (or run inside a catalogue with datasets/catalogue.yaml)",
                EXIT_USAGE,
                as_json,
            )
    from .pull import pull as pull_datasets

    try:
        portal = connect(portal_url, ca_bundle, allow_http, timeout)
        result = pull_datasets(
            None if all_datasets else datasets,
            portal=portal,
            to=target,
            organization=organization,
            progress=None if as_json else _print_progress,
        )
    except PublishError as exc:
        fail(str(exc), exc.exit_code, as_json)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_result(result)
    sys.exit(result.exit_code)


def _catalogue_organization() -> str | None:
    """organization.name of the catalogue in the current folder (read by the catalogue), if any."""
    from .catalogue import load_catalogue

    try:
        organization = load_catalogue(".").meta.get("organization")
    except PublishError:
        return None
    name = organization.get("name") if isinstance(organization, dict) else None
    return str(name) if name else None


def _print_progress(file: FileResult) -> None:
    label = file.file or f"{file.dataset}/{file.resource}"
    if file.outcome == DOWNLOADED:
        click.echo(for_terminal(f"  downloaded {label}: {human_bytes(file.bytes)}, {file.detail}"), err=True)
    elif file.outcome == PRESENT:
        click.echo(for_terminal(f"  present    {label}: {file.detail}"), err=True)
    elif file.outcome == FAILED:
        click.secho(for_terminal(f"  FAILED     {label}: {file.detail}"), fg="red", err=True)
    else:
        click.echo(for_terminal(f"  skipped    {label}: {file.detail}"), err=True)


def _print_result(result: PullResult) -> None:
    for package in result.packages:
        if package.error:
            click.secho(for_terminal(f"✗ {package.name}: {package.error}"), fg="red")
            continue
        click.echo(for_terminal(f"{package.name} → {package.folder}/"))
        for note in package.notes:
            click.secho(for_terminal(f"  note: {note}"), fg="yellow")
    for file, problems in result.report.by_file().items():
        click.secho(for_terminal(file), bold=True)
        for p in problems:
            parts = [f"row {p.row}" if p.row else "", f"field '{p.field}'" if p.field else ""]
            where = ", ".join(x for x in parts if x)
            click.echo(for_terminal(f"  {where + ': ' if where else ''}{p.message}  [{p.code}]"))
    counts = {o: sum(1 for f in result.files if f.outcome == o) for o in (DOWNLOADED, PRESENT, FAILED)}
    stats = (
        f"{len(result.packages)} datasets, {counts[DOWNLOADED]} downloaded, {counts[PRESENT]} already present"
        f"{f', {counts[FAILED]} FAILED' if counts[FAILED] else ''}; {result.report.rows} rows checked; "
        f"{result.requests} requests, {human_bytes(result.bytes_downloaded)}, {result.duration_s:.1f} s"
    )
    if not result.ok:
        click.secho(f"✗ pull incomplete (see above): {stats}; rerunning is safe", fg="red")
    elif not result.report.valid:
        report = result.report
        if report.truncated:
            click.secho(
                f"{len(report.problems):,} of {report.total:,} problems shown; --max-errors 0 shows all", fg="yellow"
            )
        found = report.total if report.truncated and report.total is not None else len(report.problems)
        click.secho(f"✗ pulled, but {found:,} problem(s) against the schema: {stats}", fg="red")
    else:
        click.secho(f"✓ pulled into {result.target}/: {stats}", fg="green")
