"""``publish dcat``: the catalogue as DCAT-AP.de 2.0 (Turtle, RDF/XML or JSON-LD), from the local files.

A thin skin over :mod:`publish.dcat`. Exit codes: 0 written, 1 catalogue invalid, 2 usage or
configuration error (no base URL, a dataset not yet on the portal), 3 portal error.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli_common import catalogue_option, connect, connection_options, fail
from .errors import EXIT_INVALID, EXIT_OK, PublishError

FORMATS = ("ttl", "rdf", "jsonld")  # publish.dcat.FORMATS; named here so --help loads no rdflib


@click.command()
@catalogue_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="ttl",
    show_default=True,
    help="ttl (Turtle), rdf (RDF/XML) or jsonld (JSON-LD).",
)
@connection_options(
    "Point datasets and distributions at this CKAN portal's URIs and download URLs (read-only; "
    "every dataset must have been pushed). CKAN_API_TOKEN is used when set.",
    from_env=False,
)
@click.option(
    "--base-url",
    metavar="URL",
    help="Without a portal: URIs under this URL, files at <URL>/dataset/<name>/<file>.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@click.option("--no-validate", is_flag=True, help="Skip validating the catalogue first.")
def dcat(
    catalogue_dir: str,
    fmt: str,
    portal_url: str | None,
    base_url: str | None,
    output: Path | None,
    no_validate: bool,
    ca_bundle: str | None,
    allow_http: bool,
    timeout: float,
) -> None:
    """Write the catalogue as DCAT-AP.de 2.0 RDF: the same mapping as the portal's /catalog.ttl.

    \b
    Examples:
      publish dcat --base-url https://daten.example.de > catalogue.ttl
      publish dcat --portal "$CKAN_URL" --format jsonld -o catalogue.jsonld
    """
    from .catalogue import load_catalogue
    from .dcat import catalogue_graph, serialize
    from .validation import validate as validate_catalogue

    try:
        catalogue = load_catalogue(catalogue_dir)
        if not no_validate:
            report = validate_catalogue(catalogue)
            if not report.valid:
                for problem in report.problems:
                    where = f"{problem.file}" + (f" [{problem.field}]" if problem.field else "")
                    click.echo(f"{where}: {problem.message}", err=True)
                click.secho(f"The catalogue is invalid ({len(report.problems)} problem(s)); nothing written.", err=True)
                raise SystemExit(EXIT_INVALID)
        portal = connect(portal_url, ca_bundle, allow_http, timeout) if portal_url else None
        text = serialize(catalogue_graph(catalogue, base_url=base_url, portal=portal), fmt)
    except PublishError as exc:
        fail(str(exc), exc.exit_code, False)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output} ({fmt})", err=True)
    else:
        click.echo(text, nl=False)
    raise SystemExit(EXIT_OK)
