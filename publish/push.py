"""Plan against the live portal and execute exactly that plan: ``diff`` and ``push``.

The shell around the pure core: it decides *when* (lock, snapshot, confirmation, order), while
:mod:`publish.plan` decided *what*.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalogue import Catalogue, load_catalogue
from .datastore import DIGEST_KEY, FIRST_LOAD, delete_quietly, load_table
from .errors import (
    ConfigurationError,
    DeclinedError,
    InvalidCatalogueError,
    PublishError,
    TooManyDeletesError,
)
from .lock import RunLock
from .mapping import IDENTITY_FIELD, desired_state
from .plan import Action, Kind, Plan, State, adoption_change, is_managed, make_plan, package_update
from .portal import (
    ALWAYS,
    UNPROCESSED,
    Portal,
    PortalError,
    PortalRefusedError,
    TransientPortalError,
    form_value,
)
from .report import Problem, Report
from .validation import validate

UploadProgress = Callable[[Action, int, int], None]
Status = Callable[[str], None]  # what a run is doing before it writes, for people
CREATE_ATTEMPTS = 3
# Datasets written at once by default: measured on a 2-core machine against a local CKAN (README,
# Publishing); more mostly queue on the portal's workers.
DEFAULT_JOBS = 4
# A new dataset's files go to the portal together, in one ``package_revise`` per batch of at most
# this many bytes (a larger file in a request of its own): CKAN then validates, saves and
# re-indexes the dataset once per batch instead of once per file (README, Publishing).
BATCH_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    """What became of one action of the plan."""

    action: Action
    outcome: State
    detail: str
    rows: int | None = None  # rows written to the DataStore

    def to_dict(self) -> dict[str, Any]:
        result = {**self.action.to_dict(self.outcome), "detail": self.detail}
        if self.action.datastore:
            result["rows"] = self.rows if self.rows is not None else 0
        return result


@dataclass
class RunResult:
    """What a diff or push did, for a table or the ``--json`` report."""

    portal: str
    outcomes: list[Outcome] = field(default_factory=list)
    requests: int = 0
    bytes_uploaded: int = 0
    duration_s: float = 0.0
    plan: Plan | None = None
    notes: list[str] = field(default_factory=list)  # what the run fixed or could not check on the side

    unverified: bool = False  # a check for late duplicates could not be made: not done yet

    @property
    def ok(self) -> bool:
        return all(o.outcome is not State.FAILED for o in self.outcomes) and not self.unverified

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome is State.FAILED]

    def dataset_urls(self) -> list[str]:
        """Portal pages of the catalogue's datasets (not of orphans or deleted ones)."""
        names = {o.action.dataset: None for o in self.outcomes if o.action.resource is None}  # in order, once
        gone = {o.action.dataset for o in self.outcomes if o.action.kind in (Kind.DELETE, Kind.ORPHAN)}
        return [f"{self.portal}/dataset/{name}" for name in names if name not in gone]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "portal": self.portal,
            "requests": self.requests,
            "bytes_uploaded": self.bytes_uploaded,
            "duration_s": round(self.duration_s, 3),
            "actions": [o.to_dict() for o in self.outcomes],
            "notes": self.notes,
        }


def checked_catalogue(catalogue: Catalogue | str | Path, status: Status | None = None) -> Catalogue:
    """Load (if needed) and validate; raise InvalidCatalogueError when anything is wrong."""
    if not isinstance(catalogue, Catalogue):
        catalogue = load_catalogue(catalogue)
    report = validate(catalogue, status)
    if not report.valid:
        raise InvalidCatalogueError(report)
    return catalogue


def plan_for(
    catalogue: Catalogue,
    portal: Portal,
    *,
    prune: bool = False,
    datastore: bool = True,
    status: Status | None = None,
    organization: dict[str, Any] | None = None,
) -> tuple[Plan, dict[str, Any]]:
    """Snapshot the portal (3 requests for a small organization) and plan. Writes nothing.

    ``organization`` is the organization as already read from the portal (push reads it first,
    to take the lock on its identity).
    """
    if status is not None:
        status("computing the files' sha256")
    desired = desired_state(catalogue)
    org_name = catalogue.meta["organization"]["name"]
    if organization is None:
        organization = read_organization(catalogue, portal, status)
    known = portal.license_ids()
    unknown = sorted({p.fields["license_id"] for p in desired} - known)
    if unknown:
        raise InvalidCatalogueError(
            Report(
                problems=[
                    Problem(
                        "datasets/catalogue.yaml",
                        "licence-unknown-to-portal",
                        f"the portal {portal.url} does not know the licence {lic}; it offers: "
                        + ", ".join(sorted(known)),
                        field="license",
                        value=lic,
                    )
                    for lic in unknown
                ]
            )
        )
    current = portal.packages_of(org_name)
    plan = make_plan(desired, current, portal=portal.url, organization=org_name, prune=prune, datastore=datastore)
    return plan, organization


def read_organization(catalogue: Catalogue, portal: Portal, status: Status | None = None) -> dict[str, Any]:
    """The catalogue's organization as the portal holds it (and, with a token, proof it is accepted)."""
    org_name = catalogue.meta["organization"]["name"]
    if status is not None:
        status(f"reading organization '{org_name}' from {portal.url}")
    return portal.organization(org_name)


def diff(
    catalogue: Catalogue | str | Path,
    portal: Portal,
    *,
    prune: bool = False,
    datastore: bool = True,
    status: Status | None = None,
) -> RunResult:
    """What push would do, as a result whose outcomes are all ``planned``.

    ``status(message)`` hears what the run is doing before it has a plan (validating, reading).
    """
    started = time.monotonic()
    catalogue = checked_catalogue(catalogue, status)
    plan, _ = plan_for(catalogue, portal, prune=prune, datastore=datastore, status=status)
    return RunResult(
        portal=portal.url,
        outcomes=[Outcome(a, State.PLANNED, a.detail) for a in plan.actions],
        requests=portal.requests_made,
        duration_s=time.monotonic() - started,
        plan=plan,
    )


def push(
    catalogue: Catalogue | str | Path,
    portal: Portal,
    *,
    prune: bool = False,
    datastore: bool = True,
    confirm: Callable[[Plan], bool] | None = None,
    progress: UploadProgress | None = None,
    lock_dir: Path | None = None,
    max_deletes: int | None = None,
    status: Status | None = None,
    jobs: int = DEFAULT_JOBS,
) -> RunResult:
    """Validate, lock, plan, (confirm), and execute exactly the plan.

    ``max_deletes``: with ``prune``, refuse the whole run (nothing written) if the plan would
    delete more datasets and resources than this — a guard for unattended jobs against a
    catalogue checkout that lost folders by accident.

    ``progress(action, done, total)`` is called while files upload (bytes) and while tables
    load into the DataStore (rows written; total unknown: 0), from the worker threads when
    ``jobs`` > 1. ``status(message)`` hears what the run does before that (validating, reading the
    portal). ``jobs``: how many datasets are written at once (see :func:`execute`).
    """
    started = time.monotonic()
    catalogue = checked_catalogue(catalogue, status)
    org_name = catalogue.meta["organization"]["name"]
    organization = read_organization(catalogue, portal, status)
    # The lock is keyed on the organization's id on that portal, not on the URL's spelling:
    # http://127.0.0.1:5000 and http://localhost:5000 are one portal, one lock.
    with RunLock(portal.url, org_name, lock_dir, organization_id=organization["id"]):
        plan, organization = plan_for(
            catalogue, portal, prune=prune, datastore=datastore, status=status, organization=organization
        )
        deletes = [a for a in plan.actions if a.kind is Kind.DELETE and not a.duplicate]
        if max_deletes is not None and len(deletes) > max_deletes:
            listed = ", ".join(f"{a.dataset}/{a.resource}" if a.resource else a.dataset for a in deletes)
            raise TooManyDeletesError(
                f"the plan deletes {len(deletes)} datasets/resources ({listed}), more than --max-deletes "
                f"{max_deletes} allows; nothing was written. Check the catalogue, or raise the limit."
            )
        if plan.writes:
            if confirm is not None and not confirm(plan):
                raise DeclinedError("not confirmed; nothing was written")
            if not portal.has_token:
                raise ConfigurationError(
                    f"CKAN_API_TOKEN is not set: writing to {portal.url} needs the API token of an editor of "
                    f"organization '{org_name}' (made on the portal, on that user's page under API Tokens). "
                    "Nothing was written."
                )
            if organization.get("capacity") not in ("editor", "admin") and not portal.can_edit(organization["id"]):
                raise PortalRefusedError(
                    f"user '{portal.whoami()}' (from CKAN_API_TOKEN) may not create or edit datasets in "
                    f"organization '{org_name}' on {portal.url}; an organization admin must make this user "
                    "an editor. Nothing was written.",
                    "not-authorized",
                )
        result = execute(plan, portal, progress, jobs=jobs)
    result.duration_s = time.monotonic() - started
    return result


def execute(plan: Plan, portal: Portal, progress: UploadProgress | None = None, *, jobs: int = 1) -> RunResult:
    """Carry out the plan's actions; a failure is recorded and the run goes on.

    Up to ``jobs`` datasets are worked on at once (threads sharing the portal's connection pool);
    each dataset's own actions run strictly in plan order, and the outcomes are reported in plan
    order whatever the order of completion. Skip rules, per dataset: after a dataset's create
    fails, its other actions are skipped; after a file's create or upload fails, its table is not
    loaded; a new dataset is released (made public) only if none of its actions failed or was
    skipped. On an interrupt (Ctrl-C) no further action starts; the ones under way end, and a
    rerun completes the rest.
    """
    result = RunResult(portal=plan.portal, plan=plan)
    run = _Run(portal, progress)
    groups: dict[str, list[Action]] = {}  # per dataset, in plan order
    for action in plan.actions:
        groups.setdefault(action.dataset, []).append(action)
    done: dict[str, list[Outcome]] = {}
    if jobs <= 1 or len(groups) <= 1:
        for name, actions in groups.items():
            done[name] = _apply_dataset(actions, run)
    else:
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="publish-dataset")
        try:
            futures = {name: pool.submit(_stopping_all, actions, run) for name, actions in groups.items()}
            wait(futures.values(), return_when=FIRST_EXCEPTION)  # a failure is an outcome; an exception stops all
            for name, future in futures.items():
                done[name] = future.result()
        except BaseException as exc:
            run.stop.set()  # Ctrl-C (or a bug): no further action starts
            pool.shutdown(wait=False, cancel_futures=True)
            if isinstance(exc, _Stopped) and run.errors:
                # A dataset that only stopped because another failed: raise what went wrong there.
                raise run.errors[0] from None
            raise
        pool.shutdown()
    # Plan order, not completion order: each dataset's outcomes, in the order its actions were planned.
    pending = {name: iter(outcomes) for name, outcomes in done.items()}
    result.outcomes = [next(pending[action.dataset]) for action in plan.actions]
    _restore_order(portal, plan, result)
    result.requests = portal.requests_made
    result.bytes_uploaded = portal.bytes_uploaded
    return result


class _Stopped(KeyboardInterrupt):
    """Raised in a worker that meets the stop signal: another thread was interrupted or failed."""


def _stopping_all(actions: list[Action], run: _Run) -> list[Outcome]:
    """One dataset in a worker thread; an exception (not a failed step: an interrupt or a bug)
    stops the others before they start another step or dataset, and is the one ``execute`` raises."""
    try:
        return _apply_dataset(actions, run)
    except _Stopped:
        raise
    except BaseException as exc:
        with run.lock:
            run.errors.append(exc)
        run.stop.set()
        raise


def _apply_dataset(actions: list[Action], run: _Run) -> list[Outcome]:
    """One dataset's actions, in order, with the skip and release rules; its outcomes in that order."""
    portal = run.portal
    outcomes: list[Outcome] = []
    failed: set[str | None] = set()  # None (the dataset) or a resource whose file is missing
    incomplete = False  # any action failed or was skipped
    views: list[str] = []  # resources whose first table load succeeded: they get their table preview
    digests: dict[str, str] = {}  # resource id → the digest of the table now loaded into it
    last_table = max((i for i, a in enumerate(actions) if a.kind is Kind.DATASTORE), default=-1)
    # A new dataset's release comes after its tables: the digests go with it, in the same request.
    released_after = any(a.release for a in actions[last_table + 1 :])
    new_dataset = bool(actions) and actions[0].kind is Kind.CREATE and actions[0].resource is None
    batched: dict[int, Outcome] | None = None  # a new dataset's file creates (and release), done together
    for index, action in enumerate(actions):
        if run.stop.is_set():
            raise _Stopped  # the run was interrupted, or another dataset's thread failed: start nothing more
        if batched is None and None not in failed and _is_resource_create(action):
            batched = _create_resources(run, actions, new=new_dataset)
        if None in failed or (action.datastore and action.resource in failed):
            outcomes.append(Outcome(action, State.SKIPPED, "an earlier step for it failed"))
            incomplete = True
        elif batched is not None and index in batched:
            outcomes.append(batched[index])
            if batched[index].outcome is State.FAILED:
                incomplete = True
                failed.add(action.resource)
        elif action.release and incomplete:
            # Public only once its files AND tables are in: any failed step keeps it private.
            why = "a file or table is missing after a failure; private until a run completes it"
            if digests:  # the tables that did load are recorded all the same
                try:
                    _record_digests(run, action, digests)
                except PublishError as exc:
                    why += f"; the loaded tables were not recorded ({portal.redact(str(exc))})"
                digests = {}
            outcomes.append(Outcome(action, State.SKIPPED, why))
        elif action.release and digests:
            try:
                _record_digests(run, action, digests, release=action.payload)
                outcomes.append(Outcome(action, State.DONE, action.detail))
            except PublishError as exc:
                outcomes.append(Outcome(action, State.FAILED, portal.redact(str(exc))))
            digests = {}
        elif not action.writes:
            outcomes.append(Outcome(action, State.DONE, action.detail))
        else:
            try:
                if action.kind is Kind.DATASTORE:
                    rows = _load_datastore(action, run)
                    resource_id = action.resource_id or run.created[(action.dataset, action.resource)]
                    digests[resource_id] = action.payload["digest"]
                    if action.payload["mode"] == FIRST_LOAD:
                        views.append(resource_id)
                    outcomes.append(Outcome(action, State.DONE, f"{rows} rows; {action.detail}", rows=rows))
                else:
                    step = _STEPS[(action.kind, action.resource is not None)]
                    outcomes.append(Outcome(action, State.DONE, step(run, action)))
            except PublishError as exc:
                outcomes.append(Outcome(action, State.FAILED, portal.redact(str(exc))))
                incomplete = True
                if action.kind in (Kind.CREATE, Kind.UPLOAD) and not action.datastore:
                    failed.add(action.resource)
        if index == last_table and (views or (digests and not released_after)):
            try:
                _record_tables(run, action, {} if released_after else digests, views)
                if not released_after:
                    digests = {}
            except PublishError as exc:
                digests = {}
                # Counted against the dataset's last table step: the dataset stays private, and
                # the next run loads the tables whose digest was not recorded again.
                last = outcomes[-1]
                why = f"tables loaded, but not recorded on the portal: {portal.redact(str(exc))}"
                outcomes[-1] = Outcome(action, State.FAILED, f"{last.detail}; {why}", rows=last.rows)
                incomplete = True
    return outcomes


def _is_resource_create(action: Action) -> bool:
    return action.kind is Kind.CREATE and action.resource is not None


def _create_resources(run: _Run, actions: list[Action], *, new: bool) -> dict[int, Outcome]:
    """Create a dataset's new resources, files included, a batch at a time: the outcomes by index.

    Each batch is one ``package_revise`` that adds its resources and uploads their files, on the
    condition that the dataset is still as this run last saw it (see :func:`_add_resources`): so
    no create is ever carried out twice, not even one that an earlier, killed run left in flight.
    For a dataset that exists, it is read first (one request): its version for that condition,
    and any of the resources that such a late request added in the meantime, which are adopted.

    For a ``new`` dataset without DataStore tables to load, its release goes with the last batch,
    when every earlier one succeeded: CKAN saves it in the same transaction as the files, so the
    dataset turns public only with all of them in (its outcome is then in the result too;
    otherwise the release step decides as usual).
    """
    creates = [i for i, a in enumerate(actions) if _is_resource_create(a)]
    release = next((i for i, a in enumerate(actions) if a.release), None) if new else None
    if any(a.kind is Kind.DATASTORE for a in actions):
        release = None  # released after its tables are loaded, with their digests
    outcomes: dict[int, Outcome] = {}
    if not new:
        try:
            to_make = _adopt_landed(run, actions, creates)
        except PublishError as exc:
            why = run.portal.redact(str(exc))
            return {i: Outcome(actions[i], State.FAILED, why) for i in creates}
        for i in creates:
            if i not in to_make:
                outcomes[i] = _created(run, actions[i], run.created[(actions[i].dataset, actions[i].resource)])
        creates = to_make
    batches: list[list[int]] = []
    size = 0
    for i in creates:
        action_bytes = actions[i].bytes
        if not batches or size + action_bytes > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(i)
        size += action_bytes
    for n, batch in enumerate(batches):
        if run.stop.is_set():
            raise _Stopped
        with_release = release is not None and n == len(batches) - 1
        with_release = with_release and all(o.outcome is State.DONE for o in outcomes.values())
        group = [actions[i] for i in batch]
        try:
            ids = _add_resources(run, group, actions[release].payload if with_release and release is not None else None)
        except PublishError as exc:
            why = run.portal.redact(str(exc))
            outcomes.update({i: Outcome(actions[i], State.FAILED, why) for i in batch})
            continue
        for i, resource_id in zip(batch, ids, strict=True):
            outcomes[i] = _created(run, actions[i], resource_id)
        if with_release and release is not None:
            outcomes[release] = Outcome(actions[release], State.DONE, actions[release].detail)
    _fix_adopted(run, actions, outcomes)
    return outcomes


def _created(run: _Run, action: Action, resource_id: str) -> Outcome:
    if (action.dataset, action.resource) in run.adopted:
        return Outcome(
            action, State.DONE, f"adopted resource {resource_id}, put there by a late request: {action.detail}"
        )
    return Outcome(action, State.DONE, f"created resource {resource_id}: {action.detail}")


def _adopt_landed(run: _Run, actions: list[Action], creates: list[int]) -> list[int]:
    """Read an existing dataset before adding resources to it: note its version, adopt the
    resources to create that are there already (a late request of an earlier run that was killed
    put them there after this run's plan was made), and return the creates still to make."""
    first = actions[creates[0]]
    package = _read_dataset(run.portal, run.package_id(first), first.dataset)
    to_make = _adopt(run, [actions[i] for i in creates], package, foreign=True)
    return [i for i in creates if actions[i] in to_make]


def _read_dataset(portal: Portal, package_id: str | None, dataset: str) -> dict[str, Any]:
    """The dataset as the portal shows it now; one that is gone stops the step that needed it."""
    package = portal.find_package(package_id) if package_id else None
    if package is None:
        raise PortalRefusedError(f"dataset '{dataset}' vanished from the portal during the run", "not-found")
    return package


def _adopt(run: _Run, group: list[Action], package: dict[str, Any], *, foreign: bool) -> list[Action]:
    """Of GROUP's resources, adopt the ones ``package`` holds already (by key); the rest, to create.

    An adopted resource must hold this run's file (its sha256): one with another file came from a
    request of a run that saw another catalogue, and the next run's plan replaces its file — this
    create stops. Its fields are brought to the catalogue's after the dataset's creates (see
    :func:`_fix_adopted`). ``foreign``: known not to be from this run's own request.
    """
    dataset = group[0].dataset
    run.versions[dataset] = package.get("metadata_modified")
    wanted = {a.local.identity: a for a in group if a.local is not None}
    for resource in package.get("resources") or []:
        action = wanted.pop(resource.get(IDENTITY_FIELD), None)
        if action is None:
            continue
        change = adoption_change(action, resource)
        if change.kind is Kind.UPLOAD:
            raise PortalError(
                f"resource {action.resource} of dataset '{dataset}' appeared on the portal during the run with "
                "another file (a late request of an earlier run?). Run push again: its next plan replaces the file."
            )
        run.created[(dataset, action.resource)] = resource["id"]
        if foreign:
            run.adopted.add((dataset, action.resource))
        if change.kind is Kind.UPDATE:
            run.fixes.setdefault(dataset, []).append(change)
    return [a for a in group if (dataset, a.resource) not in run.created]


def _fix_adopted(run: _Run, actions: list[Action], outcomes: dict[int, Outcome]) -> None:
    """Bring the fields of the dataset's adopted resources to the catalogue's (``resource_patch``);
    a failure counts against that resource's create."""
    for change in run.fixes.pop(actions[0].dataset, []):
        try:
            _update_resource(run, change)
        except PublishError as exc:
            for i, outcome in list(outcomes.items()):
                if outcome.action.resource == change.resource and outcome.outcome is State.DONE:
                    why = f"its fields were not updated: {run.portal.redact(str(exc))}"
                    outcomes[i] = Outcome(outcome.action, State.FAILED, f"{outcome.detail}; {why}")


def _add_resources(run: _Run, group: list[Action], release: dict[str, Any] | None) -> list[str]:
    """Add GROUP's resources to their dataset with their files in one ``package_revise``
    (``update__resources__extend`` with the fields, ``update__resources__-N__upload`` the files,
    streamed from disk), and with ``release`` the release; the new resources' ids, in order.

    At most once: the request matches the dataset's ``metadata_modified`` as this run last saw
    it, so of two copies of the request (one whose answer was lost, landing late, and a retry; or
    one from a killed run and this run's) CKAN accepts only the first. After an unclear failure
    or a conflict, the dataset is read: the resources that are there are adopted (they landed),
    the others are sent again, matching the dataset as it is now.
    """
    portal = run.portal
    dataset = group[0].dataset
    package_id = run.package_id(group[0])
    pending = list(group)
    last: PublishError | None = None
    unclear = False  # an attempt whose answer was lost: what is there now may be ours
    for _ in range(CREATE_ATTEMPTS):
        fields: dict[str, Any] = {
            "match__id": package_id,
            "match__metadata_modified": run.versions[dataset],
            # The fields as a resource_create form would carry them, so CKAN stores the same values.
            "update__resources__extend": [
                {k: form_value(v) for k, v in a.payload.items() if v is not None} for a in pending
            ],
        }
        fields.update({f"update__{name}": value for name, value in (release or {}).items()})
        files = [
            (f"update__resources__{n - len(pending)}__upload", a.local.path, run.on_progress(a))
            for n, a in enumerate(pending)
            if a.local is not None
        ]
        try:
            package = portal.upload_files("package_revise", fields, files, retry=UNPROCESSED)["package"]
        except TransientPortalError as exc:
            last = exc  # unclear whether it landed: look
            unclear = True
        except PortalRefusedError as exc:
            if exc.kind != "conflict":
                raise
            last = exc  # the dataset changed since: our own request that landed late, or another's
        else:
            if _adopt(run, pending, package, foreign=False):
                raise PortalError(f"dataset '{dataset}': CKAN answered without the resources it was sent")
            break
        package = _read_dataset(portal, package_id, dataset)
        # After a refusal only (nothing of ours applied), what is there came from elsewhere.
        pending = _adopt(run, pending, package, foreign=not unclear)
        if not pending:
            break  # it landed
    else:
        assert last is not None
        raise last
    return [run.created[(dataset, a.resource)] for a in group]


def _record_tables(run: _Run, action: Action, digests: dict[str, str], views: list[str]) -> None:
    """After a dataset's tables are loaded: the table previews for the new ones, then which file and
    schema each table now holds (``datastore_digest``), for the whole dataset in one request each.

    The previews: CKAN decides from the package dict sent which resources have a DataStore table,
    so only the newly loaded ones are listed (idempotent: existing views are kept). The digests
    go last: a table is only ever marked current once everything about it is done (for a new
    dataset they go with its release: see :func:`_record_digests`).
    """
    package_id = run.package_id(action)
    if views:
        package = {
            "id": package_id,
            "name": action.dataset,
            "resources": [{"id": rid, "package_id": package_id, "datastore_active": True} for rid in views],
        }
        run.portal.action(
            "package_create_default_resource_views",
            {"package": package, "create_datastore_views": True},
            retry=ALWAYS,
        )
    if digests:
        _record_digests(run, action, digests)


def _record_digests(run: _Run, action: Action, digests: dict[str, str], release: dict[str, Any] | None = None) -> None:
    """Set ``datastore_digest`` on each of the dataset's loaded tables in one ``package_revise``
    (flattened keys address the resources by id); with ``release``, the dataset's release
    (``private`` false) goes in the same request."""
    update = {f"update__resources__{rid}__{DIGEST_KEY}": digest for rid, digest in digests.items()}
    update.update({f"update__{name}": value for name, value in (release or {}).items()})
    data = {"match": {"id": run.package_id(action)}, **update, "include": ["-*"]}
    run.portal.action("package_revise", data, retry=ALWAYS)


def _restore_order(portal: Portal, plan: Plan, result: RunResult) -> None:
    """Where the plan deleted a duplicate: put the dataset's resources back in catalogue order.

    Of two copies of a resource (left by an older version of this tool, whose creates were not
    conditional, or made by hand), the one kept — the one with the right file and table — may be
    the later one. So for each dataset with a duplicate deleted by this run, CKAN's
    ``package_resource_reorder`` restores the catalogue's order (resources made by hand stay,
    after ours): one read, and one write only where the order is wrong.
    """
    affected = {(a.dataset, a.package_id) for a in plan.actions if a.duplicate and a.package_id}
    for dataset, package_id in sorted(affected):
        wanted = list(
            dict.fromkeys(
                a.resource for a in plan.actions if a.dataset == dataset and a.resource and a.kind is not Kind.DELETE
            )
        )
        try:
            resources = (portal.find_package(package_id) or {}).get("resources") or []
            ours = {r.get(IDENTITY_FIELD): r["id"] for r in resources if r.get(IDENTITY_FIELD) in wanted}
            now = [r.get(IDENTITY_FIELD) for r in resources if r.get(IDENTITY_FIELD) in wanted]
            if now == [w for w in wanted if w in ours]:
                continue
            order = [ours[w] for w in wanted if w in ours] + [
                r["id"] for r in resources if r["id"] not in ours.values()
            ]
            portal.action("package_resource_reorder", {"id": package_id, "order": order})
        except PublishError as exc:
            result.notes.append(
                f"could not restore the order of {dataset}'s resources ({portal.redact(str(exc))}); rerun"
            )
            result.unverified = True
            continue
        result.notes.append(f"{dataset}: resources put back in catalogue order (after a duplicate was removed)")


def _load_datastore(action: Action, run: _Run) -> int:
    """Load the table the way the plan chose (the dataset's tables are recorded after the last one)."""
    assert action.local is not None
    portal, progress = run.portal, run.progress
    resource_id = action.resource_id or run.created[(action.dataset, action.resource)]
    rows = load_table(
        portal,
        resource_id,
        action.local.path,
        action.local.schema,
        mode=action.payload["mode"],
        progress=(lambda n: progress(action, n, 0)) if progress else None,
    )
    return rows


@dataclass
class _Run:
    """What the steps of one push share: the portal, ids of what this run created (or adopted),
    and each dataset's version as this run last saw it (the condition of its resource creates)."""

    portal: Portal
    progress: UploadProgress | None
    created: dict[tuple[str, str | None], str] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)  # set on an interrupt: start nothing more
    errors: list[BaseException] = field(default_factory=list)  # what stopped the run, first first
    lock: threading.Lock = field(default_factory=threading.Lock)
    versions: dict[str, Any] = field(default_factory=dict)  # dataset → its metadata_modified as this run last saw it
    adopted: set[tuple[str, str | None]] = field(default_factory=set)  # resources a late request of another put there
    fixes: dict[str, list[Action]] = field(default_factory=dict)  # dataset → updates of its adopted resources

    def package_id(self, action: Action) -> str:
        return action.package_id or self.created[(action.dataset, None)]

    def on_progress(self, action: Action) -> Callable[[int, int], None] | None:
        progress = self.progress
        return (lambda sent, total: progress(action, sent, total)) if progress is not None else None


def _create_package(run: _Run, action: Action) -> str:
    portal = run.portal
    package = _create_once(
        portal,
        lambda: portal.action("package_create", action.payload, retry=UNPROCESSED),
        lambda: _managed_or_none(portal.find_package(action.dataset)),
    )
    run.created[(action.dataset, None)] = package["id"]
    run.versions[action.dataset] = package.get("metadata_modified")
    return f"created {portal.url}/dataset/{package['name']}"


def _update_package(run: _Run, action: Action) -> str:
    if action.release:
        run.portal.action("package_patch", {"id": run.package_id(action), **action.payload}, retry=ALWAYS)
        return action.detail
    return _revise_package(run.portal, action)


def _delete_package(run: _Run, action: Action) -> str:
    delete_quietly(run.portal, "package_delete", {"id": action.package_id})
    return "deleted (moved to the portal's trash)"


def _upload_resource(run: _Run, action: Action) -> str:
    assert action.local is not None
    run.portal.upload(
        "resource_patch", action.payload, action.local.path, retry=ALWAYS, progress=run.on_progress(action)
    )
    return action.detail


def _update_resource(run: _Run, action: Action) -> str:
    run.portal.action("resource_patch", action.payload, retry=ALWAYS)
    return action.detail


def _delete_resource(run: _Run, action: Action) -> str:
    delete_quietly(run.portal, "resource_delete", {"id": action.resource_id})
    return f"deleted: {action.detail}" if action.duplicate else "deleted"


# How each kind of write is carried out, for a dataset (False) or one of its resources (True).
# DataStore loads have their own step (they count rows): see _load_datastore.
_STEPS: dict[tuple[Kind, bool], Callable[[_Run, Action], str]] = {
    (Kind.CREATE, False): _create_package,
    (Kind.UPDATE, False): _update_package,
    (Kind.DELETE, False): _delete_package,
    (Kind.UPLOAD, True): _upload_resource,
    (Kind.UPDATE, True): _update_resource,
    (Kind.DELETE, True): _delete_resource,
}


def _revise_package(portal: Portal, action: Action) -> str:
    """Update a package only if it is still the version the plan was made from.

    ``package_revise`` with ``match`` on ``metadata_modified``: if someone edited the dataset on
    the portal after this run read it (or an earlier attempt of ours landed without an answer),
    CKAN refuses, and the update is computed again from the package as it is now. So an edit
    made by hand in between (an extra, a field this tool does not manage) is never overwritten
    with what the run read before it.
    """
    assert action.desired is not None and action.package_id is not None
    current: Action | None = action
    recomputed = False
    for _ in range(CREATE_ATTEMPTS):
        assert current is not None
        update = {k: v for k, v in current.payload.items() if k != "id"}
        try:
            portal.action(
                "package_revise",
                {"match": {"id": action.package_id, "metadata_modified": current.version}, "update": update},
                retry=UNPROCESSED,
            )
            return current.detail + (" (recomputed: the dataset had changed on the portal)" if recomputed else "")
        except TransientPortalError:
            pass  # unclear whether it landed: look at the package as it is now
        except PortalRefusedError as exc:
            if exc.kind != "conflict":
                raise
        fresh = _read_dataset(portal, action.package_id, action.dataset)
        recomputed = recomputed or fresh.get("metadata_modified") != current.version
        current = package_update(action.desired, fresh)
        if current is None:
            return action.detail + " (the portal already holds these values)"
    raise PortalError(
        f"dataset '{action.dataset}' kept changing on the portal while this run updated it; "
        "nothing of this run overwrote those changes. Run push again."
    )


def _create_once(
    portal: Portal,
    create: Callable[[], dict[str, Any]],
    find: Callable[[], dict[str, Any] | None],
) -> dict[str, Any]:
    """Create a dataset at most once: after an unclear failure, wait and look before trying again.

    A create whose answer was lost (timeout, reset, 502 after processing) may still land later,
    e.g. when the portal is slower than the client's timeout. So before creating again, look for
    it a few times over a grace period as long as the read timeout (at most 30 s). CKAN keeps
    dataset names unique, so a late original and a second attempt cannot both land: a refusal
    after an unclear attempt (the name "already in use") means the first attempt landed: adopt it.
    """
    last: TransientPortalError | None = None
    for _ in range(CREATE_ATTEMPTS):
        try:
            return create()
        except TransientPortalError as exc:
            last = exc
            found = _poll(portal, find)
            if found is not None:
                return found
        except PortalRefusedError:
            if last is not None:
                found = find()
                if found is not None:
                    return found
            raise
    assert last is not None
    raise last


def _poll(portal: Portal, find: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    """``find()`` now and then at growing intervals over the grace period; None if never found."""
    grace = min(float(portal.timeout[1]), 30.0)
    waited, delay = 0.0, 0.5
    while True:
        found = find()
        if found is not None or waited >= grace:
            return found
        step = min(delay, grace - waited)
        portal.session.sleep(step)
        waited += step
        delay *= 2


def _managed_or_none(package: dict[str, Any] | None) -> dict[str, Any] | None:
    return package if package is not None and is_managed(package) and package.get("state") == "active" else None
