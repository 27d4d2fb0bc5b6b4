"""A small in-memory stand-in for the handful of CKAN actions the executor calls.

It tests OUR rules (what ``execute`` does after a failure, when it releases a dataset, how it
creates at most once) fast and deterministically. It proves nothing about CKAN itself: every
behaviour of the real portal is tested against the real local CKAN in ``tests/integration``.

Faults: ``fail[action] = [mode, ...]`` consumes one mode per call of that action:
- ``"refuse"``  CKAN refuses (PortalRefusedError, nothing applied);
- ``"lost"``    nothing applied, the answer is lost (TransientPortalError);
- ``"unclear"`` applied, then the answer is lost (TransientPortalError);
- ``"late-N"``  nothing now, the answer is lost, and the call lands just before the N-th
  next call (a request held up longer than the client's timeout);
- ``None``      behave normally.

``refuse(name, data)`` (optional) refuses the calls it returns True for, whatever the order of
calls (the executor may run datasets in threads: ``execute(..., jobs=N)``). ``delay`` seconds
pass outside the double's lock before each call is applied, so that threads overlap;
``most_at_once`` is the largest number of calls seen in flight together, ``trace`` the calls
as (action, data) in the order they were applied.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from publish.portal import PortalRefusedError, TransientPortalError, form_value


def _json_or_string(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


class _Session:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def redact(self, text: str) -> str:
        return text


class PortalDouble:
    url = "http://portal.test"
    timeout = (10.0, 4.0)
    has_token = True

    def __init__(self) -> None:
        self.packages: dict[str, dict[str, Any]] = {}
        self.fail: dict[str, list[str | None]] = {}
        self.calls: list[str] = []
        self.session = _Session()
        self._ids = itertools.count(1)
        self._late: list[tuple[int, str, dict[str, Any]]] = []  # (lands at call number, action, data)
        self.datastore = False  # True: accept datastore_create/upsert and the views call (no rows kept)
        self.refuse: Callable[[str, dict[str, Any]], bool] | None = None
        self.delay = 0.0
        self.most_at_once = 0
        self.trace: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._in_flight = 0

    # -- what the executor uses of Portal
    @property
    def requests_made(self) -> int:
        return len(self.calls)

    bytes_uploaded = 0

    def redact(self, text: str) -> str:
        return text

    def action(self, name: str, data: dict[str, Any] | None = None, *, retry: str = "always") -> Any:
        return self._call(name, dict(data or {}))

    def upload(self, name: str, fields: dict[str, Any], path: Path, **_: Any) -> dict[str, Any]:
        return self._call(name, {**fields, "size": path.stat().st_size})

    def upload_files(self, name: str, fields: dict[str, Any], files: list[tuple[str, Path, Any]], **_: Any) -> Any:
        """The files' sizes stand for them; fields are decoded as CKAN's form parser does (JSON if it parses)."""
        data = {k: _json_or_string(form_value(v)) for k, v in fields.items()}
        data.update({name_: {"size": path.stat().st_size} for name_, path, _ in files})
        return self._call(name, data)

    def organization(self, name: str) -> dict[str, Any]:
        self.calls.append("organization_list_for_user")
        return {"id": "org-1", "name": name, "capacity": "editor"}

    def license_ids(self) -> set[str]:
        self.calls.append("license_list")
        return {"http://dcat-ap.de/def/licenses/dl-by-de/2.0", "http://dcat-ap.de/def/licenses/dl-zero-de/2.0"}

    def packages_of(self, organization: str) -> list[dict[str, Any]]:
        self.calls.append("package_search")
        return [copy.deepcopy(p) for p in self.packages.values() if p["state"] == "active"]

    def find_package(self, name_or_id: str) -> dict[str, Any] | None:
        try:
            return self._call("package_show", {"id": name_or_id})
        except PortalRefusedError:
            return None

    # -- the double's own machinery
    def _call(self, name: str, data: dict[str, Any]) -> Any:
        with self._lock:
            self._in_flight += 1
            self.most_at_once = max(self.most_at_once, self._in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            with self._lock:
                self.trace.append((name, copy.deepcopy(data)))
                if self.refuse is not None and self.refuse(name, data):
                    self.calls.append(name)
                    raise PortalRefusedError(f"{name}: refused (double)", "validation")
                return self._call_once(name, data)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _call_once(self, name: str, data: dict[str, Any]) -> Any:
        self.calls.append(name)
        for due, late_name, late_data in [x for x in self._late if x[0] <= len(self.calls)]:
            self._late.remove((due, late_name, late_data))
            with contextlib.suppress(PortalRefusedError):  # nobody hears the answer of so late a request
                self._apply(late_name, late_data)
        modes = self.fail.get(name)
        mode = modes.pop(0) if modes else None
        if mode == "refuse":
            raise PortalRefusedError(f"{name}: refused (double)", "validation")
        if mode == "lost":
            raise TransientPortalError(f"{name}: answer lost (double)")
        if mode is not None and mode.startswith("late-"):
            self._late.append((len(self.calls) + int(mode[5:]), name, copy.deepcopy(data)))
            raise TransientPortalError(f"{name}: timed out (double); it lands later")
        result = self._apply(name, data)
        if mode == "unclear":
            raise TransientPortalError(f"{name}: applied, answer lost (double)")
        return result

    def _package(self, ref: str) -> dict[str, Any]:
        for package in self.packages.values():
            if ref in (package["id"], package["name"]) and package["state"] == "active":
                return package
        raise PortalRefusedError(f"package {ref} not found (double)", "not-found")

    def _resource(self, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
        for package in self.packages.values():
            for resource in package["resources"]:
                if resource["id"] == ref:
                    return package, resource
        raise PortalRefusedError(f"resource {ref} not found (double)", "not-found")

    def _touch(self, package: dict[str, Any]) -> None:
        """Every change of a dataset or of its resources gives it a new ``metadata_modified``, as in CKAN."""
        package["metadata_modified"] = f"v{next(self._ids)}"

    def _apply(self, name: str, data: dict[str, Any]) -> Any:
        if name == "package_create":
            if data["name"] in self.packages and self.packages[data["name"]]["state"] == "active":
                raise PortalRefusedError("package_create: That URL is already in use. (double)", "validation")
            package = {**data, "id": f"pkg-{next(self._ids)}", "state": "active", "resources": []}
            package["metadata_modified"] = "v1"
            self.packages[data["name"]] = package
            return copy.deepcopy(package)
        if name == "package_show":
            return copy.deepcopy(self._package(data["id"]))
        if name in ("package_patch", "package_revise"):
            if name == "package_revise":
                flat = {k[len("match__") :]: v for k, v in data.items() if k.startswith("match__")}
                match = data.get("match") or flat
                package = self._package(match["id"])
                version = match.get("metadata_modified", package["metadata_modified"])
                if package["metadata_modified"] != version:
                    raise PortalRefusedError("package_revise: the dataset changed (double)", "conflict")
                changes = dict(data.get("update", {}))
                added = [  # update__resources__extend, then files for them: update__resources__-N__upload
                    {**r, "id": f"res-{next(self._ids)}", "url_type": "upload"}
                    for r in data.get("update__resources__extend", [])
                ]
                package["resources"].extend(added)
                for key, value in data.items():  # flattened: update__resources__<id>__<field>
                    if key == "update__resources__extend":
                        continue
                    if key.startswith("update__resources__-") and key.endswith("__upload"):
                        index = int(key[len("update__resources__") : -len("__upload")])
                        package["resources"][index].update(value)
                    elif key.startswith("update__resources__"):
                        rid, name_ = key[len("update__resources__") :].split("__", 1)
                        (resource,) = [r for r in package["resources"] if r["id"].startswith(rid)]
                        resource[name_] = value
                    elif key.startswith("update__"):
                        changes[key[len("update__") :]] = value
            else:
                package = self._package(data["id"])
                changes = {k: v for k, v in data.items() if k != "id"}
            package.update(changes)
            self._touch(package)
            return {"package": copy.deepcopy(package)} if name == "package_revise" else copy.deepcopy(package)
        if name == "resource_patch":
            package, resource = self._resource(data["id"])
            resource.update(data)
            self._touch(package)
            return copy.deepcopy(resource)
        if name == "resource_delete":
            package, resource = self._resource(data["id"])
            package["resources"].remove(resource)
            self._touch(package)
            return None
        if name == "package_resource_reorder":
            package = self._package(data["id"])
            ids = list(data["order"])
            package["resources"].sort(key=lambda r: ids.index(r["id"]) if r["id"] in ids else len(ids))
            self._touch(package)
            return {"id": package["id"], "order": ids}
        if name == "package_delete":
            self._package(data["id"])["state"] = "deleted"
            return None
        if self.datastore and name in ("datastore_create", "datastore_upsert"):
            package, resource = self._resource(data["resource_id"])
            if not resource.get("datastore_active"):
                resource["datastore_active"] = True
                self._touch(package)  # CKAN marks the resource with a package update
            return {"resource_id": data["resource_id"]}
        if self.datastore and name == "package_create_default_resource_views":
            return [{"resource_id": r["id"], "view_type": "datatables_view"} for r in data["package"]["resources"]]
        if name.startswith("datastore_") or name == "package_create_default_resource_views":
            raise PortalRefusedError(f"{name}: not offered by the double", "unexpected")
        raise AssertionError(f"the double does not know {name}")
