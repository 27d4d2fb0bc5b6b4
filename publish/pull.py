"""Download published datasets as verified Frictionless Data Package folders: ``publish pull``.

The shell around :mod:`publish.unmapping`: it reads packages from the portal, streams each file
to a temporary name beside its target, checks sha256 and size against what the portal states,
and only then renames it into place. Files are then validated against their Table Schema with the
same checks (and wording) as ``publish validate``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from .catalogue import Dataset, ResourceSpec
from .errors import ConfigurationError, DigestMismatchError, PublishError
from .mapping import FileDigest, file_digest
from .portal import Portal, PortalError, PortalRefusedError, TransientPortalError, connect
from .report import Report
from .unmapping import DESCRIPTOR_FILE, TEMP_PREFIX, ExpectedDigest, RemotePackage, RemoteResource, unmap_package
from .validation import Table, validate_tables

CHUNK = 1 << 20
DOWNLOAD_ATTEMPTS = 3  # per file and run: an interrupted or damaged download is fetched again
DOWNLOADED, PRESENT, FAILED, SKIPPED = "downloaded", "present", "failed", "skipped"

FileProgress = Callable[["FileResult"], None]


@dataclass
class FileResult:
    """What happened to one resource file."""

    dataset: str
    resource: str
    file: str | None
    outcome: str  # downloaded | present | failed | skipped
    bytes: int = 0
    sha256: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "file": self.file,
            "outcome": self.outcome,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "detail": self.detail,
        }


@dataclass
class PackageResult:
    """One dataset pulled into its folder (or the error that stopped it)."""

    name: str
    folder: str | None = None
    managed: bool = False
    notes: list[str] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(f.outcome != FAILED for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.name,
            "folder": self.folder,
            "managed": self.managed,
            "ok": self.ok,
            "error": self.error,
            "notes": self.notes,
            "files": [f.to_dict() for f in self.files],
        }


@dataclass
class PullResult:
    """What a pull did: per dataset and file, the validation report, requests and bytes."""

    portal: str
    target: Path
    packages: list[PackageResult] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    requests: int = 0
    bytes_downloaded: int = 0
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """False when any dataset or file failed (portal error, digest mismatch)."""
        return all(p.ok for p in self.packages)

    @property
    def exit_code(self) -> int:
        """3 portal error or digest mismatch, 1 pulled data invalid against its schema, else 0."""
        if not self.ok:
            return 3
        return 0 if self.report.valid else 1

    @property
    def files(self) -> list[FileResult]:
        return [f for p in self.packages for f in p.files]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "valid": self.report.valid,
            "portal": self.portal,
            "to": str(self.target),
            "requests": self.requests,
            "bytes_downloaded": self.bytes_downloaded,
            "duration_s": round(self.duration_s, 3),
            "datasets": [p.to_dict() for p in self.packages],
            "errors": self.report.to_dict()["errors"],
            "truncated": self.report.truncated,
            "total": self.report.to_dict()["total"],
            "checked": {"datasets": self.report.datasets, "resources": self.report.resources, "rows": self.report.rows},
        }


def pull(
    datasets: Iterable[str] | None = None,
    *,
    portal: Portal | str | None = None,
    to: str | os.PathLike[str] = "pulled",
    organization: str | None = None,
    progress: FileProgress | None = None,
    max_errors: int | None = None,
) -> PullResult:
    """Download datasets from the portal into ``to/<dataset>/`` as verified Data Package folders.

    ``datasets`` are CKAN dataset names (or ids); ``None`` pulls every dataset of
    ``organization`` visible to the token (public ones when anonymous). Each folder gets a
    ``datapackage.json`` mapped back from CKAN plus the resource files, each checked against the
    portal's sha256 and size before it is kept. A rerun skips files already present and correct.
    Failures are recorded per dataset and file (``result.ok``), invalid data in ``result.report``,
    which keeps the first ``max_errors`` problems (as in ``validate``: None the default, 0 all)
    and counts every one (``report.total``).
    """
    started = time.monotonic()
    portal = connect(portal)
    portal.check_token_accepted()  # a set token the portal does not know: exit 2, not a silent anonymous pull
    target = Path(to)
    result = PullResult(portal=portal.url, target=target)
    downloaded = _Counter()
    pulled: list[tuple[PackageResult, list[Table]]] = []
    for name, package, error in _packages(portal, datasets, organization):
        if package is None:
            result.packages.append(PackageResult(name=name, error=error))
            continue
        remote = unmap_package(package, portal.url)
        outcome = _pull_package(portal, remote, target, downloaded, progress)
        result.packages.append(outcome)
        if outcome.folder is not None:
            pulled.append((outcome, _tables_of(remote, target / remote.folder, result.report)))
    _validate_pulled(pulled, result.report, max_errors)
    result.report.datasets = len(result.packages)
    result.requests = portal.requests_made
    result.bytes_downloaded = downloaded.bytes
    result.duration_s = time.monotonic() - started
    return result


def _packages(
    portal: Portal, datasets: Iterable[str] | None, organization: str | None
) -> Iterable[tuple[str, dict[str, Any] | None, str | None]]:
    """(name, package dict, None) or (name, None, why not), for the names given or the organization."""
    if datasets is None:
        if not organization:
            raise ConfigurationError("pulling all datasets needs an organization (--organization NAME)")
        portal.organization(organization)  # a clear error when it is missing
        for listed in portal.packages_of(organization):
            yield listed["name"], listed, None
        return
    for name in datasets:
        package: dict[str, Any] | None
        try:
            package = portal.find_package(name)
        except PortalRefusedError as exc:
            if exc.kind != "not-authorized":
                raise
            package = None  # CKAN answers 403 for a private dataset: the same advice as not found
        yield name, package, None if package else _not_found(portal, name)


def _not_found(portal: Portal, name: str) -> str:
    hint = (
        f" (or user '{portal.whoami()}' may not see it)"
        if portal.ckan.apikey
        else "; if it is private, set CKAN_API_TOKEN"
    )
    return f"dataset '{name}' not found on {portal.url}{hint}"


class _Counter:
    bytes = 0


def _pull_package(
    portal: Portal, remote: RemotePackage, target: Path, downloaded: _Counter, progress: FileProgress | None
) -> PackageResult:
    outcome = PackageResult(name=remote.name, managed=remote.managed, notes=remote.notes)
    folder = target / remote.folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        outcome.error = f"cannot create {folder}: {exc.strerror}"
        return outcome
    outcome.folder = str(folder)
    for resource in remote.resources:
        result = _pull_file(portal, remote.name, resource, folder, target)
        downloaded.bytes += result.bytes if result.outcome == DOWNLOADED else 0
        outcome.files.append(result)
        if progress is not None:
            progress(result)
    _write_json(folder / DESCRIPTOR_FILE, remote.descriptor)
    return outcome


def _pull_file(portal: Portal, dataset: str, resource: RemoteResource, folder: Path, target: Path) -> FileResult:
    path = folder / resource.filename
    shown = str(path.relative_to(target))
    result = FileResult(dataset=dataset, resource=resource.name, file=shown, outcome=SKIPPED)
    if resource.url is None:
        result.file, result.detail = None, "; ".join(resource.notes) or "no file to download"
        return result
    if path.is_file() and resource.expected.has_hash:
        local = file_digest(path)
        if matches(local, path, resource.expected):
            result.outcome, result.sha256, result.bytes = PRESENT, local.sha256, local.size
            result.detail = "already present, digest verified"
            return result
        path.unlink()  # known not to be what the portal publishes: never left behind
    try:
        digest = download_verified(portal, resource.url, path, resource.expected, shown)
    except PublishError as exc:
        result.outcome, result.detail = FAILED, portal.redact(str(exc))
        return result
    result.outcome, result.sha256, result.bytes = DOWNLOADED, digest.sha256, digest.size
    result.detail = _verified_by(resource.expected)
    return result


def _verified_by(expected: ExpectedDigest) -> str:
    if expected.sha256:
        return "sha256 and size verified" if expected.size is not None else "sha256 verified"
    if expected.md5:
        return "md5 verified (the portal gives no sha256)"
    if expected.size is not None:
        return "size verified (the portal gives no hash)"
    return "NOT verified: the portal gives neither hash nor size"


def matches(local: FileDigest, path: Path, expected: ExpectedDigest) -> bool:
    """Whether a local file is what the portal states (every digest the portal gives must agree)."""
    if expected.size is not None and local.size != expected.size:
        return False
    if expected.sha256 and local.sha256 != expected.sha256:
        return False
    if expected.md5 and (local.md5 or _md5(path)) != expected.md5:
        return False
    return expected.has_hash or expected.size is not None


def download_verified(
    portal: Portal, url: str, path: Path, expected: ExpectedDigest, shown: str | None = None
) -> FileDigest:
    """Stream ``url`` to a temporary file beside ``path``, verify it, then rename it to ``path``.

    Raises :class:`DigestMismatchError` when sha256, md5 or size differ from ``expected`` and
    :class:`PortalError` when the download fails; in both cases nothing is left at ``path``.
    """
    shown = shown or path.name
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        temporary = _temporary_beside(path)
        try:
            with temporary.open("wb") as handle:
                sha256, md5, size = _stream(portal, url, handle, expected, shown)
            problem = _mismatch(sha256, md5, size, expected)
            if problem:
                raise DigestMismatchError(
                    f"{shown}: the download does not match the portal's digest ({problem}); not kept"
                )
            os.replace(temporary, path)  # atomic on one file system: a reader sees the old file or the new
            return FileDigest(sha256=sha256, size=size, md5=md5)
        except (TransientPortalError, DigestMismatchError) as exc:
            # Interrupted, or bytes damaged on the way: fetch it again, a bounded number of times.
            temporary.unlink(missing_ok=True)
            if attempt == DOWNLOAD_ATTEMPTS:
                raise type(exc)(f"{exc} (after {attempt} attempts)") from None
            portal.session.sleep(portal.session.policy.delay(attempt))
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    raise AssertionError("unreachable")


def _stream(portal: Portal, url: str, handle: Any, expected: ExpectedDigest, shown: str) -> tuple[str, str, int]:
    sha256, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    try:
        with portal.download(url) as reply:
            if reply.status_code != 200:
                raise _http_error(reply.status_code, shown, url)
            for chunk in reply.iter_content(CHUNK):
                size += len(chunk)
                # A file larger than stated is wrong however it ends: stop reading it.
                if expected.size is not None and size > expected.size:
                    raise DigestMismatchError(
                        f"{shown}: the download is larger than the portal's size ({expected.size} bytes); not kept"
                    )
                sha256.update(chunk)
                md5.update(chunk)
                handle.write(chunk)
    except requests.RequestException as exc:
        raise TransientPortalError(f"{shown}: download interrupted ({type(exc).__name__}); rerun to retry") from None
    return sha256.hexdigest(), md5.hexdigest(), size


def _mismatch(sha256: str, md5: str, size: int, expected: ExpectedDigest) -> str | None:
    if expected.size is not None and size != expected.size:
        return f"size {size} bytes, portal says {expected.size}"
    if expected.sha256 and sha256 != expected.sha256:
        return f"sha256 {sha256[:12]}…, portal says {expected.sha256[:12]}…"
    if expected.md5 and md5 != expected.md5:
        return f"md5 {md5[:12]}…, portal says {expected.md5[:12]}…"
    return None


def _http_error(status: int, shown: str, url: str) -> PortalError:
    where = urlsplit(url).path
    if status in (502, 503, 504, 429):
        return TransientPortalError(f"{shown}: the portal answered HTTP {status} for {where}; rerun to retry")
    kind = "not-found" if status == 404 else "not-authorized" if status in (401, 403) else "unexpected"
    return PortalRefusedError(f"{shown}: download refused, HTTP {status} for {where}", kind)


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically, so an interrupted pull never leaves half a descriptor."""
    temporary = _temporary_beside(path)
    try:
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _temporary_beside(path: Path) -> Path:
    """A new empty file in the target's folder (same file system, so the final rename is atomic)."""
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
    os.close(descriptor)
    return Path(name)


def _tables_of(remote: RemotePackage, folder: Path, report: Report) -> list[Table]:
    """The downloaded tables that have a schema, ready for validation."""
    dataset = Dataset(folder_name=remote.name, folder=folder, descriptor_file=folder / DESCRIPTOR_FILE)
    dataset.descriptor = remote.descriptor
    tables = []
    for resource in remote.resources:
        report.resources += 1
        path = folder / resource.filename
        if resource.schema is None or not resource.tabular or not path.is_file():
            continue
        spec = ResourceSpec(name=resource.name, path=resource.filename, schema=None, descriptor={})
        shown = str(Path(folder.name) / resource.filename)
        tables.append(Table(dataset=dataset, spec=spec, path=path, schema=resource.schema, shown=shown))
    return tables


def _validate_pulled(
    pulled: list[tuple[PackageResult, list[Table]]], report: Report, max_errors: int | None = None
) -> None:
    """Validate the pulled datasets together; problems are worded as in ``validate``.

    Keys to other datasets (``catalogueForeignKeys``, which name datasets by their CKAN name)
    are checked when the other dataset was pulled in the same run; otherwise a note says so.
    """
    present = {(t.dataset.folder_name, t.spec.name) for _, tables in pulled for t in tables}
    for outcome, tables in pulled:
        wanted = {
            (ref.get("package"), ref.get("resource"))
            for table in tables
            for key in table.schema.get("catalogueForeignKeys") or []
            if isinstance(key, dict) and isinstance(ref := key.get("reference"), dict)
        }
        missing = sorted({str(package) for package, resource in wanted if (package, resource) not in present})
        if missing:
            outcome.notes.append(
                "keys to " + ", ".join(f"'{m}'" for m in missing) + " not checked: pull that dataset too (or --all)"
            )
    found = validate_tables([tables for _, tables in pulled], max_errors=max_errors)
    if found.truncated and found.total is not None:
        report.total = len(report.problems) + found.total
    report.problems += found.problems
    report.rows += found.rows
