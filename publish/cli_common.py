"""What the ``publish`` commands share: exit codes, common options, the portal connection and
the error exit. Both ``cli`` and ``cli_pull`` import it, so neither imports the other's helpers.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .report import DEFAULT_MAX_ERRORS, MAX_ERRORS, for_terminal

if TYPE_CHECKING:
    from .portal import Portal


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
allow_http_option = click.option(
    "--allow-http", is_flag=True, help="Allow plain http:// to a non-loopback portal (not advised)."
)
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(1, 3600),
    default=60.0,
    show_default=True,
    help="Seconds to wait for each answer of the portal.",
)


def connection_options(
    portal_help: str = "CKAN portal base URL. Env: CKAN_URL. The API token is read from CKAN_API_TOKEN only.",
    from_env: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--portal, --ca-bundle, --allow-http and --timeout: declared once for every command that
    reaches a portal (``from_env``: --portal defaults to CKAN_URL)."""
    portal_option = click.option(
        "--portal", "portal_url", envvar="CKAN_URL" if from_env else None, metavar="URL", help=portal_help
    )

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in (timeout_option, allow_http_option, ca_bundle_option, portal_option):
            command = option(command)
        return command

    return decorate


def _bypass_validation_cache(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    """With --no-cache, the command runs without the cache of tables found valid."""
    if value:
        from .validation_cache import bypassed

        ctx.with_resource(bypassed())
    return value


no_cache_option = click.option(
    "--no-cache",
    is_flag=True,
    expose_value=False,
    callback=_bypass_validation_cache,
    help="Validate every table again: do not use or fill the cache of tables found valid "
    "(env PUBLISH_VALIDATION_CACHE: its folder, or 'off').",
)


def _limit_problems(ctx: click.Context, _param: click.Parameter, value: int | None) -> int | None:
    """--max-errors: how many problems a validation report keeps (all are counted)."""
    if value is not None:

        @contextlib.contextmanager
        def chosen() -> Iterator[None]:
            token = MAX_ERRORS.set(value)
            try:
                yield
            finally:
                MAX_ERRORS.reset(token)

        ctx.with_resource(chosen())
    return value


max_errors_option = click.option(
    "--max-errors",
    type=click.IntRange(min=0),
    default=None,
    expose_value=False,
    callback=_limit_problems,
    metavar="N",
    help=f"Show at most N problems (default {DEFAULT_MAX_ERRORS:,}; 0 shows all). Every row is still checked "
    "and all problems are counted.",
)


def connect(portal_url: str | None, ca_bundle: str | None, allow_http: bool, timeout: float) -> Portal:
    """The portal client for a command; the token comes from CKAN_API_TOKEN only."""
    from .portal import connect as connect_portal

    return connect_portal(portal_url, ca_bundle=ca_bundle, allow_http=allow_http, timeout=timeout)


def redact_secrets(text: str) -> str:
    """``text`` without the API token or the userinfo of CKAN_URL (for any output, tracebacks too)."""
    token = os.environ.get("CKAN_API_TOKEN") or ""
    for secret in {token, token.strip()}:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    url = os.environ.get("CKAN_URL") or ""
    authority = url.partition("://")[2].split("/")[0]
    if "@" in authority:
        text = text.replace(authority.rsplit("@", 1)[0], "***")
    return text


def install_traceback_redaction() -> None:
    """Let no traceback of a bug print a secret: the last line of defence, after check_token."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        sys.stderr.write(redact_secrets("".join(traceback.format_exception(kind, value, tb))))

    sys.excepthook = hook


def fail(message: str, code: int, as_json: bool) -> NoReturn:
    """Say what went wrong (also as JSON with --json) and exit with ``code``."""
    message = redact_secrets(message)
    if as_json:
        click.echo(json.dumps({"ok": False, "error": message}, ensure_ascii=False))
    click.secho(f"Error: {for_terminal(message)}", fg="red", err=True)
    sys.exit(code)
