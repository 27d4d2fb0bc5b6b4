"""The ``publish`` command: a thin skin over the Python API.

Exit codes, one meaning each: 0 done, 1 data invalid (nothing written), 2 usage or configuration
error, 3 portal error, 4 another run holds the lock.
"""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click

from .catalogue import load_catalogue
from .errors import PublishError
from .report import Report
from .validation import validate as validate_catalogue

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_PORTAL, EXIT_LOCKED = 0, 1, 2, 3, 4

catalogue_option = click.option(
    "--catalogue",
    "catalogue_dir",
    type=click.Path(file_okay=False, path_type=str),
    default=".",
    show_default=True,
    envvar="PUBLISH_CATALOGUE",
    help="Catalogue folder (holds datasets/ and schemas/). Env: PUBLISH_CATALOGUE.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object for machines.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="kalletal-lemgo-publish", prog_name="publish")
def main() -> None:
    """Validate the open-data catalogue of digital.interkommunal Kalletal.Lemgo and publish it to CKAN.

    \b
    Exit codes:
      0  done (also: nothing to do)
      1  catalogue data invalid - nothing was written
      2  usage or configuration error
      3  portal error - some actions failed; rerunning is safe
      4  another run holds the lock
    """


@main.command()
@catalogue_option
@json_option
def validate(catalogue_dir: str, as_json: bool) -> None:
    """Validate the whole catalogue: metadata, every CSV against its schema, and keys across datasets.

    \b
    Examples:
      publish validate
      publish validate --catalogue tests/fixtures/catalogues/valid
      publish validate --json | jq '.errors[] | .file + ":" + (.row|tostring)'
    """
    try:
        report = validate_catalogue(load_catalogue(catalogue_dir))
    except PublishError as exc:
        _fail(str(exc), exc.exit_code, as_json)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    sys.exit(EXIT_OK if report.valid else EXIT_INVALID)


def _print_report(report: Report) -> None:
    checked = f"{report.datasets} datasets, {report.resources} resources, {report.rows} rows checked"
    if report.valid:
        click.secho(f"✓ catalogue valid: {checked}", fg="green")
        return
    for file, problems in report.by_file().items():
        click.secho(file, bold=True)
        for p in problems:
            where = []
            if p.row is not None:
                where.append(f"{'row' if file.endswith('.csv') else 'line'} {p.row}")
            if p.field:
                where.append(f"field '{p.field}'")
            prefix = ", ".join(where)
            click.echo(f"  {prefix + ': ' if prefix else ''}{p.message}  [{p.code}]")
    files = len(report.by_file())
    click.secho(
        f"✗ {len(report.problems)} problem{'s' if len(report.problems) != 1 else ''} in {files} "
        f"file{'s' if files != 1 else ''} ({checked}); nothing can be published until they are fixed",
        fg="red",
    )


def _fail(message: str, code: int, as_json: bool) -> NoReturn:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": message}, ensure_ascii=False))
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)
