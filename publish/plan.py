"""Compare the desired state with a snapshot of the portal and decide what to do: the Plan.

Pure: same desired state and snapshot, same plan. ``publish diff`` prints the plan;
``publish push`` executes exactly it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .datastore_schema import DIGEST_KEY, FIRST_LOAD, IN_PLACE, REBUILD, primary_key, shape_of, table_digest
from .errors import PlanConflictError
from .mapping import (
    IDENTITY_FIELD,
    MANAGED_BY,
    MANAGED_BY_FIELD,
    MANAGED_EXTRAS,
    PACKAGE_FIELDS,
    RESOURCE_FIELDS,
    DesiredPackage,
    DesiredResource,
)
from .units import human_bytes
from .unmapping import expected_digest


class Kind(StrEnum):
    """What an action does. Its ``payload`` (the data sent to CKAN) per kind:

    ========== =========== ==================================================================
    kind       level       payload
    ========== =========== ==================================================================
    create     dataset     ``package_create`` fields (``private`` true until the release)
    create     resource    the resource's fields; ``local`` is the file to upload (a dataset's
                           new resources are added together by a conditional
                           ``package_revise``)
    update     dataset     ``package_revise`` update, with ``version`` to match (``desired``
                           recomputes it after a conflict); a ``release`` is a
                           ``package_patch`` of ``private`` false
    update     resource    ``resource_patch`` fields (``id`` included)
    upload     resource    ``resource_patch`` fields with the file (``local``) streamed
    datastore  resource    ``digest`` the table will hold, ``mode`` (first-load, rebuild, in-place)
    delete     either      none: ``package_id`` / ``resource_id`` say what goes
    unchanged  either      none
    orphan     dataset     none (reported only; ``--prune`` makes it a delete)
    ========== =========== ==================================================================
    """

    CREATE = "create"
    UPDATE = "update"
    UPLOAD = "upload"
    DATASTORE = "datastore"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    ORPHAN = "orphan"

    @property
    def writes(self) -> bool:
        return self not in (Kind.UNCHANGED, Kind.ORPHAN)


class State(StrEnum):
    """Where an action stands: planned (diff), then done, failed or skipped (push)."""

    PLANNED = "planned"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


# The kinds under their short names, for the modules that build and carry out plans.
CREATE, UPDATE, UPLOAD, DATASTORE, DELETE, UNCHANGED, ORPHAN = tuple(Kind)


@dataclass(frozen=True)
class Action:
    """One step of the plan, for a package (``resource`` is None) or one of its resources."""

    dataset: str
    resource: str | None
    kind: Kind
    detail: str = ""
    changes: tuple[str, ...] = ()
    bytes: int = 0
    package_id: str | None = None
    resource_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    local: DesiredResource | None = field(default=None, compare=False, repr=False)
    desired: DesiredPackage | None = field(default=None, compare=False, repr=False)  # package updates
    version: str | None = field(default=None, compare=False)  # the package's metadata_modified it was planned on
    release: bool = False  # the last step of a dataset: make it public once its files are in
    datastore: bool = False  # the action is about the resource's DataStore table
    duplicate: bool = False  # a delete of a second copy of one of our resources (not a prune)

    @property
    def writes(self) -> bool:
        return self.kind.writes

    def to_dict(self, outcome: State = State.PLANNED) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "resource": self.resource,
            "action": str(self.kind),
            "outcome": str(outcome),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Plan:
    """Everything push would do, in order: per dataset the package first, then its resources."""

    portal: str
    organization: str
    actions: tuple[Action, ...]

    @property
    def writes(self) -> list[Action]:
        return [a for a in self.actions if a.writes]

    @property
    def bytes_to_upload(self) -> int:
        return sum(a.bytes for a in self.actions)

    def counts(self) -> dict[str, int]:
        return dict(Counter(str(a.kind) for a in self.actions))

    def summary(self, with_bytes: bool = True) -> str:
        counts = self.counts()
        order = (CREATE, UPDATE, UPLOAD, DATASTORE, DELETE, UNCHANGED, ORPHAN)
        parts = [f"{counts.get(k, 0)} {k}" for k in order if counts.get(k)]
        size = f", {human_bytes(self.bytes_to_upload)} to upload" if self.bytes_to_upload and with_bytes else ""
        return (", ".join(parts) or "nothing to do") + size


def make_plan(
    desired: list[DesiredPackage],
    current: list[dict[str, Any]],
    *,
    portal: str,
    organization: str,
    prune: bool = False,
    datastore: bool = True,
) -> Plan:
    """Build the plan from the desired packages and the organization's current packages.

    With ``datastore`` each resource also gets a DataStore action (load, or unchanged).
    """
    by_name = {p["name"]: p for p in current}
    actions: list[Action] = []
    conflicts = []
    for package in desired:
        existing = by_name.get(package.name)
        if existing is not None and not is_managed(existing):
            conflicts.append(package.name)
            continue
        actions += _package_actions(package, existing, prune, datastore)
    if conflicts:
        raise PlanConflictError(
            "the organization already has dataset(s) "
            + ", ".join(conflicts)
            + " that this tool did not create (no extra managed_by="
            + MANAGED_BY
            + "); rename the dataset in the catalogue or remove the portal's copy"
        )
    wanted = {p.name for p in desired}
    for existing in current:
        if existing["name"] not in wanted and is_managed(existing):
            kind = DELETE if prune else ORPHAN
            actions.append(
                Action(
                    dataset=existing["name"],
                    resource=None,
                    kind=kind,
                    detail="no longer in the catalogue" + ("" if prune else "; --prune deletes it"),
                    package_id=existing["id"],
                )
            )
    return Plan(portal=portal, organization=organization, actions=tuple(actions))


def is_managed(package: dict[str, Any]) -> bool:
    """True if this tool created the package (its marker extra is set)."""
    return extras_dict(package).get(MANAGED_BY_FIELD) == MANAGED_BY


def extras_dict(package: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package.get("extras") or [] if isinstance(e, dict) and "key" in e}


def _package_actions(
    package: DesiredPackage, existing: dict[str, Any] | None, prune: bool, datastore: bool
) -> list[Action]:
    if existing is None:
        # Created private, made public by its last action: a run that fails half-way leaves no
        # public dataset without its files.
        payload = _package_payload({**package.fields, "private": True}, {})
        actions = [
            Action(
                dataset=package.name,
                resource=None,
                kind=CREATE,
                detail=f"new dataset with {len(package.resources)} resource(s)"
                + ("" if package.fields["private"] else ", private until its files are in"),
                payload=payload,
            )
        ]
        for resource in package.resources:
            actions.append(_create_resource(package, resource, None))
            if datastore:
                actions.append(_datastore_action(package, resource, None, None))
        if not package.fields["private"]:
            actions.append(_release(package, None))
        return actions

    update = package_update(package, existing)
    if update is not None:
        actions = [update]
    else:
        actions = [Action(dataset=package.name, resource=None, kind=UNCHANGED, package_id=existing["id"])]

    by_identity: dict[str, list[dict[str, Any]]] = {}
    extra_remote: list[dict[str, Any]] = []  # made by hand (no identity of ours)
    for res in existing.get("resources") or []:
        identity = res.get(IDENTITY_FIELD)
        if identity:
            by_identity.setdefault(identity, []).append(res)
        else:
            extra_remote.append(res)
    wanted = {r.identity: r for r in package.resources}
    remote: dict[str, dict[str, Any]] = {}
    duplicates: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (copy, the one kept)
    for identity, copies in by_identity.items():
        keep = _keeper(copies, wanted.get(identity))
        remote[identity] = keep
        duplicates += [(c, keep) for c in copies if c is not keep]
    for copy, keep in duplicates:
        # Two resources with one identity: a create whose answer was lost landed after all.
        # Both are ours and the same file; the copy goes whatever --prune says.
        actions.append(
            Action(
                dataset=package.name,
                resource=copy.get(IDENTITY_FIELD),
                kind=DELETE,
                detail=f"duplicate of resource {keep['id']} (a create that landed late); removed",
                package_id=existing["id"],
                resource_id=copy["id"],
                duplicate=True,
            )
        )
    for resource in package.resources:
        current = remote.pop(resource.identity, None)
        actions.append(_resource_action(package, resource, current, existing["id"]))
        if datastore:
            actions.append(_datastore_action(package, resource, current, existing["id"]))
    if _awaits_release(package, existing):
        actions.append(_release(package, existing["id"]))
    for res in [*remote.values(), *extra_remote]:
        label = res.get(IDENTITY_FIELD) or res.get("name") or res["id"]
        actions.append(
            Action(
                dataset=package.name,
                resource=label,
                kind=DELETE if prune else ORPHAN,
                detail="not in the descriptor" + ("" if prune else "; --prune deletes it"),
                package_id=existing["id"],
                resource_id=res["id"],
            )
        )
    return actions


def _keeper(copies: list[dict[str, Any]], desired: DesiredResource | None) -> dict[str, Any]:
    """Of resources sharing one key, the one to keep: holding the right file, then a loaded
    table, then the oldest (CKAN lists resources in the order they were made)."""

    def rank(res: dict[str, Any]) -> tuple[int, int]:
        right_file = desired is not None and expected_digest(res).sha256 == desired.digest.sha256
        return (0 if right_file else 1, 0 if _truthy(res.get("datastore_active")) else 1)

    return min(copies, key=rank)  # min is stable: ties keep the earliest


def _create_resource(package: DesiredPackage, resource: DesiredResource, package_id: str | None) -> Action:
    return Action(
        dataset=package.name,
        resource=resource.identity,
        kind=CREATE,
        detail=f"upload {human_bytes(resource.digest.size)}, sha256 {resource.digest.sha256[:12]}",
        bytes=resource.digest.size,
        package_id=package_id,
        payload=dict(resource.fields),
        local=resource,
    )


def _datastore_action(
    package: DesiredPackage, resource: DesiredResource, current: dict[str, Any] | None, package_id: str | None
) -> Action:
    """Load the table unless the portal says it already holds exactly this file and schema."""
    wanted = table_digest(resource.digest.sha256, resource.schema)
    held = current.get(DIGEST_KEY) if current else None
    common: dict[str, Any] = {
        "dataset": package.name,
        "resource": resource.identity,
        "package_id": package_id,
        "resource_id": current["id"] if current else None,
        "datastore": True,
    }
    active = current is not None and _truthy(current.get("datastore_active"))
    if held == wanted and active:
        return Action(**common, kind=UNCHANGED, detail="DataStore table up to date")
    # The plan decides how the table loads; the loader carries out exactly this mode.
    if not active:
        mode, how = FIRST_LOAD, "first load" if held is None else "first load (the portal has no table for it)"
    elif held is None:
        mode, how = REBUILD, "rebuild (the portal's table is not known to hold this file)"
    elif not primary_key(resource.schema):
        mode, how = REBUILD, "rebuild (no primary key)"
    elif shape_of(held) != shape_of(wanted):
        mode, how = REBUILD, "rebuild (fields or types changed)"
    else:
        mode, how = IN_PLACE, "in place (upsert by primary key)"
    return Action(
        **common,
        kind=DATASTORE,
        detail=f"load the table into the DataStore: {how}",
        payload={"digest": wanted, "mode": mode},
        local=resource,
    )


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _resource_action(
    package: DesiredPackage, resource: DesiredResource, current: dict[str, Any] | None, package_id: str
) -> Action:
    if current is None:
        return _create_resource(package, resource, package_id)
    return _resource_change(package.name, resource, current, package_id)


def adoption_change(action: Action, current: dict[str, Any]) -> Action:
    """A resource that ``action`` was to create, found on the portal (a late copy of an earlier
    run's create): what brings it to the catalogue — unchanged, an update of fields, or an upload."""
    assert action.kind is CREATE and action.local is not None
    return _resource_change(action.dataset, action.local, current, current.get("package_id") or action.package_id or "")


def _resource_change(dataset: str, resource: DesiredResource, current: dict[str, Any], package_id: str) -> Action:
    # The portal's sha256: its own field, or (as this tool stored it before) ``hash`` itself. A
    # file whose digest is only stored the old way is unchanged: its fields are updated, no upload.
    remote = expected_digest(current)
    content_changed = (
        remote.sha256 != resource.digest.sha256
        or _as_int(current.get("size")) != resource.digest.size
        or current.get("url_type") != "upload"
    )
    changes = [f for f in RESOURCE_FIELDS if _normal(current.get(f)) != _normal(resource.fields[f])]
    common: dict[str, Any] = {
        "dataset": dataset,
        "resource": resource.identity,
        "package_id": package_id,
        "resource_id": current["id"],
    }
    if content_changed:
        old = (remote.sha256 or "none")[:12]
        return Action(
            **common,
            kind=UPLOAD,
            detail=f"content changed (sha256 {old} → {resource.digest.sha256[:12]}), "
            f"upload {human_bytes(resource.digest.size)}",
            changes=tuple(changes),
            bytes=resource.digest.size,
            payload={"id": current["id"], **resource.fields},
            local=resource,
        )
    if changes:
        return Action(
            **common,
            kind=UPDATE,
            detail="fields: " + ", ".join(changes),
            changes=tuple(changes),
            payload={"id": current["id"], **{f: resource.fields[f] for f in changes}},
        )
    return Action(**common, kind=UNCHANGED)


def package_update(package: DesiredPackage, existing: dict[str, Any]) -> Action | None:
    """The update that brings ``existing`` (a package as CKAN shows it) to ``package``, or None.

    The action remembers the ``metadata_modified`` it was computed from (``version``), so the
    write can be refused if the package changed on the portal in between, and recomputed.
    """
    changes = [f for f in PACKAGE_FIELDS if _current_package_value(existing, f) != _desired_package_value(package, f)]
    if _awaits_release(package, existing):
        changes = [f for f in changes if f != "private"]  # the release action does that, after the files
    if not changes:
        return None
    return Action(
        dataset=package.name,
        resource=None,
        kind=UPDATE,
        detail="fields: " + ", ".join(changes),
        changes=tuple(changes),
        package_id=existing["id"],
        version=existing.get("metadata_modified"),
        payload={"id": existing["id"], **_package_payload({f: package.fields[f] for f in changes}, existing)},
        desired=package,
    )


def _awaits_release(package: DesiredPackage, existing: dict[str, Any]) -> bool:
    """Meant to be public but still private (its first run did not complete)."""
    return not package.fields["private"] and bool(existing.get("private"))


def _release(package: DesiredPackage, package_id: str | None) -> Action:
    return Action(
        dataset=package.name,
        resource=None,
        kind=UPDATE,
        detail="fields: private (made public now that its files are in)",
        changes=("private",),
        package_id=package_id,
        payload={"private": False},
        release=True,
    )


def _package_payload(fields: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    """CKAN's shape: tags as dicts, extras as a list that keeps extras added by hand."""
    payload = {k: v for k, v in fields.items() if k not in ("tags", "extras")}
    if "tags" in fields:
        payload["tags"] = [{"name": t} for t in fields["tags"]]
    if "extras" in fields:
        kept = [{"key": k, "value": v} for k, v in extras_dict(existing).items() if k not in MANAGED_EXTRAS]
        payload["extras"] = kept + [{"key": k, "value": v} for k, v in sorted(fields["extras"].items())]
    return payload


def _desired_package_value(package: DesiredPackage, name: str) -> Any:
    value = package.fields[name]
    return value if name in ("tags", "extras", "private") else _normal(value)


def _current_package_value(existing: dict[str, Any], name: str) -> Any:
    if name == "tags":
        return sorted(t["name"] for t in existing.get("tags") or [])
    if name == "extras":
        return {k: v for k, v in extras_dict(existing).items() if k in MANAGED_EXTRAS}
    if name == "private":
        return bool(existing.get("private"))
    return _normal(existing.get(name))


def _normal(value: Any) -> Any:
    """Compare CKAN's values with ours: None and '' alike, numbers as ints, JSON as parsed."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict | list):
        return value
    return value


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
