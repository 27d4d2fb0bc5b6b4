"""What the ``publish`` commands share: exit codes, common options, the portal connection and
the error exit. Both ``cli`` and ``cli_pull`` import it, so neither imports the other's helpers.
"""

from __future__ import annotations

import json
import os
import sys
from typing import NoReturn

import click

from .portal import Portal
from .report import for_terminal

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
ca_bundle_option = click.option(
    "--ca-bundle",
    type=click.Path(dir_okay=False),
    envvar="CKAN_CA_BUNDLE",
    help="CA certificates (PEM) to trust besides the usual ones, for a portal with a private CA. Env: CKAN_CA_BUNDLE.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object for machines.")


def connect(portal_url: str | None, ca_bundle: str | None, allow_http: bool, timeout: float) -> Portal:
    """The portal client for a command; the token comes from CKAN_API_TOKEN only."""
    return Portal(
        portal_url or "",
        os.environ.get("CKAN_API_TOKEN") or None,
        timeout=timeout,
        ca_bundle=ca_bundle,
        allow_http=allow_http,
    )


def fail(message: str, code: int, as_json: bool) -> NoReturn:
    """Say what went wrong (also as JSON with --json) and exit with ``code``."""
    if as_json:
        click.echo(json.dumps({"ok": False, "error": message}, ensure_ascii=False))
    click.secho(f"Error: {for_terminal(message)}", fg="red", err=True)
    sys.exit(code)
