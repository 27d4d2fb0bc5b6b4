"""The ``publish`` command: a thin skin over the Python API.

Exit codes, one meaning each: 0 done, 1 data invalid (nothing written), 2 usage or configuration
error, 3 portal error, 4 another run holds the lock.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .cli_common import (
    catalogue_option,
    connect,
    connection_options,
    fail,
    install_traceback_redaction,
    json_option,
    max_errors_option,
    no_cache_option,
)
from .cli_dcat import dcat as dcat_command
from .cli_pull import pull as pull_command
from .errors import EXIT_INVALID, EXIT_OK, EXIT_PORTAL, InvalidCatalogueError, PublishError
from .report import for_terminal
from .units import human_bytes

if TYPE_CHECKING:
    from .plan import Action, Plan
    from .push import RunResult
    from .report import Report

# The library is imported inside each command, not here: `publish --help` (and a typo) starts
# without loading Frictionless, ckanapi or pandas.

# push's default --jobs (publish.push.DEFAULT_JOBS, not imported here: --help stays light).
DEFAULT_JOBS = 4


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
    install_traceback_redaction()


@main.command()
@catalogue_option
@json_option
@no_cache_option
@max_errors_option
def validate(catalogue_dir: str, as_json: bool) -> None:
    """Validate the whole catalogue: metadata, every CSV against its schema, and keys across datasets.

    \b
    Examples:
      publish validate
      publish validate --catalogue tests/fixtures/catalogues/valid
      publish validate --json | jq '.errors[] | .file + ":" + (.row|tostring)'
    """
    from .catalogue import load_catalogue
    from .validation import validate as validate_catalogue

    try:
        with _Status(enabled=not as_json) as status:
            report = validate_catalogue(load_catalogue(catalogue_dir), status)
    except PublishError as exc:
        fail(str(exc), exc.exit_code, as_json)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    sys.exit(EXIT_OK if report.valid else EXIT_INVALID)


def portal_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options of diff and push: the connection (shared by every command) plus what to publish."""
    command = click.option(
        "--no-datastore",
        "no_datastore",
        is_flag=True,
        help="Do not load the tables into CKAN's DataStore (loaded, typed, by default).",
    )(command)
    command = connection_options()(command)
    return click.option(
        "--prune",
        is_flag=True,
        help="Delete datasets and resources this tool published that the catalogue no longer has.",
    )(command)


@main.command()
@catalogue_option
@portal_options
@json_option
@no_cache_option
@max_errors_option
def diff(
    catalogue_dir: str,
    portal_url: str | None,
    prune: bool,
    ca_bundle: str | None,
    allow_http: bool,
    no_datastore: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Show what `publish push` would change on the portal. Writes nothing.

    Validates the catalogue first (exit 1 if invalid), reads the organization's datasets from the
    portal, and prints the plan: per dataset and resource create, update (which fields), upload
    (content changed), datastore (load the table), unchanged, orphan (or delete with --prune).

    \b
    Examples:
      CKAN_URL=https://opendata.example.de publish diff
      publish diff --portal http://127.0.0.1:5000 --json | jq '.actions[] | select(.action != "unchanged")'
    """
    from .push import diff as diff_catalogue

    try:
        portal = connect(portal_url, ca_bundle, allow_http, timeout)
        with _Status(enabled=not as_json) as status:
            result = diff_catalogue(catalogue_dir, portal, prune=prune, datastore=not no_datastore, status=status)
    except InvalidCatalogueError as exc:
        _print_invalid(exc, as_json)
    except PublishError as exc:
        fail(str(exc), exc.exit_code, as_json)
    _print_result(result, as_json, title="Plan")
    sys.exit(EXIT_OK)


@main.command()
@catalogue_option
@portal_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask before writing (a run without a terminal never asks).")
@click.option(
    "--max-deletes",
    type=click.IntRange(0),
    metavar="N",
    help="With --prune: if the plan deletes more than N datasets and resources, write nothing (exit 2).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 16),
    default=DEFAULT_JOBS,
    show_default=True,
    metavar="N",
    help="Write up to N datasets at once (each dataset's steps stay in order; 1: one after the other). "
    "The default was the fastest measured against a local CKAN with 2 workers.",
)
@json_option
@no_cache_option
@max_errors_option
def push(
    catalogue_dir: str,
    portal_url: str | None,
    prune: bool,
    ca_bundle: str | None,
    allow_http: bool,
    no_datastore: bool,
    timeout: float,
    yes: bool,
    max_deletes: int | None,
    jobs: int,
    as_json: bool,
) -> None:
    """Publish the catalogue: validate, plan, and execute exactly that plan.

    Nothing is written when the catalogue is invalid (exit 1). An unchanged rerun writes nothing;
    a changed file is uploaded again to the same resource, and its DataStore table is brought up
    to date (typed by the Table Schema; --no-datastore skips this). A new dataset stays private
    until its files are in. A dataset edited on the portal during the run is re-read, not
    overwritten with stale values. If some actions fail: exit 3; a rerun completes them. On a
    terminal the plan is shown and confirmed unless --yes. One run at a time per portal and
    organization (exit 4 otherwise).

    \b
    Examples:
      export CKAN_URL=http://127.0.0.1:5000 CKAN_API_TOKEN=...   # the token only ever from the env
      publish push                       # shows the plan, asks, publishes
      publish push --yes --json > run.json || echo "exit $?"   # for cron, systemd timers, CI
      publish push --prune --yes         # also delete what the catalogue no longer has
      publish push --prune --max-deletes 1 --yes --json   # unattended pruning, at most one deletion
    """
    from .push import push as push_catalogue

    interactive = _stdin_is_terminal() and not yes and not as_json
    status = _Status(enabled=not as_json)

    def confirm(plan: Plan) -> bool:
        status.clear()
        return _confirm(plan)

    try:
        portal = connect(portal_url, ca_bundle, allow_http, timeout)
        with status:
            result = push_catalogue(
                catalogue_dir,
                portal,
                prune=prune,
                datastore=not no_datastore,
                confirm=confirm if interactive else None,
                progress=None if as_json else _UploadProgress(status),
                max_deletes=max_deletes,
                status=status,
                jobs=jobs,
            )
    except InvalidCatalogueError as exc:
        _print_invalid(exc, as_json)
    except PublishError as exc:
        fail(str(exc), exc.exit_code, as_json)
    _print_result(result, as_json, title="Push")
    sys.exit(EXIT_OK if result.ok else EXIT_PORTAL)


def _stdin_is_terminal() -> bool:
    """A person can answer a question (cron, CI and pipes cannot)."""
    return sys.stdin.isatty()


def _confirm(plan: Plan) -> bool:
    from .plan import State

    _print_actions([(a, str(State.PLANNED), a.detail) for a in plan.actions], with_outcome=False)
    click.echo(f"Plan: {plan.summary()}")
    return click.confirm(f"Write these changes to {plan.portal}?", default=False, err=True)


class _Status:
    """What a run is doing before its output, as one live line on a terminal's stderr.

    Silent without a terminal (cron, CI, pipes) and with --json; the line is erased when the
    run has something to say, so it never mixes with the report. A message starting "note: "
    (e.g. a table validated by Frictionless instead of the fast engine, and why) stays, on a
    line of its own, with or without a terminal (not with --json).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.live = enabled and sys.stderr.isatty()
        self.shown = False

    def __call__(self, message: str) -> None:
        if message.startswith("note: ") and self.enabled:  # worth keeping: one line of its own
            self.clear()
            click.echo(for_terminal(message), err=True)
            return
        if self.live:
            click.echo(f"\r\033[K{message} …", nl=False, err=True)
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            click.echo("\r\033[K", nl=False, err=True)
            self.shown = False

    def __enter__(self) -> _Status:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()


class _UploadProgress:
    """Upload progress on stderr: a live line on a terminal, one line per file otherwise."""

    def __init__(self, status: _Status | None = None) -> None:
        self.tty = sys.stderr.isatty()
        self.done: set[int] = set()
        self.status = status  # its line gives way to the progress lines
        self.lock = threading.Lock()  # push --jobs: called from several threads; one line at a time

    def __call__(self, action: Action, sent: int, total: int) -> None:
        with self.lock:
            self._show(action, sent, total)

    def _show(self, action: Action, sent: int, total: int) -> None:
        if self.status is not None:
            self.status.clear()
        label = f"{action.dataset}/{action.resource}"
        if action.datastore:  # rows loaded so far; the total is not known in advance
            if self.tty:
                click.echo(f"\r\033[K  loading table {label}: {sent} rows", nl=False, err=True)
            return
        if self.tty:
            end = "\n" if sent >= total else ""
            click.echo(f"\r\033[K  uploading {label}: {human_bytes(sent)} / {human_bytes(total)}", nl=False, err=True)
            if end:
                click.echo("", err=True)
        elif sent >= total and id(action) not in self.done:
            self.done.add(id(action))
            click.echo(f"  uploaded {label}: {human_bytes(total)}", err=True)


def _print_result(result: RunResult, as_json: bool, title: str) -> None:
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    push_run = title == "Push"
    _print_actions([(o.action, str(o.outcome), o.detail) for o in result.outcomes], with_outcome=push_run)
    plan = result.plan
    summary = plan.summary(with_bytes=not push_run) if plan else ""
    stats = f"{result.requests} requests, {human_bytes(result.bytes_uploaded)} uploaded, {result.duration_s:.1f} s"
    if push_run:
        failed = len(result.failed)
        colour = "green" if result.ok else "red"
        state = (
            f"{failed} action(s) FAILED - rerun to retry, it is safe"
            if failed
            else "incomplete (see the notes) - rerun, it is safe"
            if not result.ok
            else "done"
        )
        click.secho(f"Push {state}: {summary}; {stats}", fg=colour)
        for outcome in result.failed:
            click.secho(
                for_terminal(f"  failed: {outcome.action.dataset}/{outcome.action.resource or '-'}: {outcome.detail}"),
                fg="red",
                err=True,
            )
        for url in result.dataset_urls():
            click.echo(f"  {url}")
        for note in result.notes:
            click.secho(f"  note: {note}", fg="yellow")
    else:
        click.echo(f"Plan: {summary}; {result.requests} requests. Nothing was written.")


def _print_actions(rows: list[tuple[Action, str, str]], with_outcome: bool) -> None:
    if not rows:
        click.echo("(the catalogue has no datasets)")
        return
    headers = ["DATASET", "RESOURCE", "ACTION"] + (["OUTCOME"] if with_outcome else []) + ["DETAIL"]
    table = [
        [a.dataset, a.resource or "-", str(a.kind)] + ([outcome] if with_outcome else []) + [detail]
        for a, outcome, detail in rows
    ]
    widths = [max(len(str(r[i])) for r in [headers, *table]) for i in range(len(headers) - 1)]
    for row in [headers, *table]:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        line = "  ".join([*cells, str(row[-1])]).rstrip()
        click.secho(for_terminal(line), bold=row is headers)


def _print_invalid(exc: InvalidCatalogueError, as_json: bool) -> NoReturn:
    if as_json:
        click.echo(json.dumps({"ok": False, **exc.report.to_dict()}, ensure_ascii=False, indent=2))
    else:
        _print_report(exc.report)
    sys.exit(EXIT_INVALID)


def _print_report(report: Report) -> None:
    checked = f"{report.datasets} datasets, {report.resources} resources, {report.rows} rows checked"
    if report.valid:
        click.secho(f"✓ catalogue valid: {checked}", fg="green")
        return
    for file, problems in report.by_file().items():
        click.secho(for_terminal(file), bold=True)
        for p in problems:
            where = []
            if p.row is not None:
                where.append(f"{'row' if file.endswith('.csv') else 'line'} {p.row}")
            if p.field:
                where.append(f"field '{p.field}'")
            prefix = ", ".join(where)
            # Cells and names come from files: their control characters are shown, never obeyed.
            click.echo(for_terminal(f"  {prefix + ': ' if prefix else ''}{p.message}  [{p.code}]"))
    files = len(report.by_file())
    if report.truncated:
        click.secho(
            f"{len(report.problems):,} of {report.total:,} problems shown; --max-errors 0 shows all", fg="yellow"
        )
    found = report.total if report.truncated and report.total is not None else len(report.problems)
    files_shown = "" if report.truncated else f" in {files} file{'s' if files != 1 else ''}"
    click.secho(
        f"✗ {found:,} problem{'s' if found != 1 else ''}{files_shown} ({checked}); "
        "nothing can be published until they are fixed",
        fg="red",
    )


main.add_command(pull_command)
main.add_command(dcat_command)
