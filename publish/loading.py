"""Typed pandas DataFrames from published data: ``publish.load`` and ``publish.load_package``.

Data comes from the portal (files verified against its sha256 and cached on disk by digest, so a
second load downloads nothing) or from a folder written by ``publish pull``. Column dtypes follow
the Table Schema:

=========================  =====================================================================
Table Schema               pandas dtype
=========================  =====================================================================
integer, year              ``Int64`` (nullable)
number                     ``Float64`` (nullable; ``decimalChar`` / ``groupChar`` honoured)
boolean                    ``boolean`` (nullable; ``trueValues`` / ``falseValues`` honoured)
date                       ``datetime64[ns]``, normalised to midnight
datetime                   ``datetime64[ns]``; ``datetime64[ns, UTC]`` when values carry a zone
yearmonth                  ``period[M]`` (a month is a period, not an instant)
string with ``enum``       ``CategoricalDtype(categories=enum)``, in the schema's order
string and everything else ``string`` (the text as in the file)
=========================  =====================================================================

Empty cells (the schema's ``missingValues``, default ``""``) become missing values (``<NA>``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .catalogue import UnsafePathError, resolve_inside
from .errors import DataNotFoundError
from .mapping import IDENTITY_FIELD, MANAGED_BY, MANAGED_BY_FIELD, file_digest
from .portal import Portal, connect
from .pull import download_verified, matches
from .structured import StructuredError, read_structured_file
from .unmapping import ExpectedDigest, RemotePackage, RemoteResource, unmap_package

CACHE_APP = "kalletal-lemgo-publish"
DESCRIPTOR_NAMES = ("datapackage.json", "datapackage.yaml", "datapackage.yml")
DEFAULT_TRUE = ["true", "True", "TRUE", "1"]
DEFAULT_FALSE = ["false", "False", "FALSE", "0"]


def load(
    name: str,
    *,
    resource: str | None = None,
    portal: Portal | str | None = None,
    path: str | os.PathLike[str] | None = None,
    organization: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """One table as a typed DataFrame.

    ``name`` is a Data Package resource name (``"projects"``) or a dataset name
    (``"digital-interkommunal-phasen"``; with more than one table, pick one with ``resource=``).
    From ``path`` (a folder written by ``publish pull``, or one dataset folder in it) when given,
    else from the portal (``portal=`` URL or :class:`Portal`, default ``CKAN_URL``; the token
    from ``CKAN_API_TOKEN``). ``organization`` narrows the search when several datasets on the
    portal have a resource of that name. Raises :class:`DataNotFoundError` when nothing (or more
    than one thing) matches.
    """
    source = _source(portal, path, cache_dir)
    package, resources = source.find(name, organization)
    wanted = resource or (name if any(r.name == name for r in resources) else None)
    tables = [r for r in resources if r.tabular]
    if wanted is not None:
        tables = [r for r in tables if r.name == wanted]
    if len(tables) != 1:
        names = ", ".join(r.name for r in resources if r.tabular) or "none"
        what = f"no table '{wanted}'" if wanted else "more than one table"
        raise DataNotFoundError(f"dataset '{package.name}' has {what}; its tables: {names}; pass resource=")
    return source.frame(package, tables[0])


def load_package(
    name: str,
    *,
    portal: Portal | str | None = None,
    path: str | os.PathLike[str] | None = None,
    organization: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every table of a dataset as typed DataFrames, keyed by Data Package resource name.

    ``name`` is the dataset name, or the name of one of its resources; the other arguments are
    as for :func:`load`.
    """
    source = _source(portal, path, cache_dir)
    package, resources = source.find(name, organization)
    return {r.name: source.frame(package, r) for r in resources if r.tabular}


def cache_directory(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where downloads are kept by sha256: ``PUBLISH_CACHE_DIR``, else ``$XDG_CACHE_HOME`` (or
    ``~/.cache``) ``/kalletal-lemgo-publish/files``."""
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("PUBLISH_CACHE_DIR"):
        return Path(os.environ["PUBLISH_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / CACHE_APP / "files"


def _source(portal: Portal | str | None, path: str | os.PathLike[str] | None, cache_dir: Any) -> _Source:
    if path is not None:
        return _FolderSource(Path(path))
    client = connect(portal)
    client.check_token_accepted()
    return _PortalSource(client, cache_directory(cache_dir))


class _Source:
    """Where tables come from: find a dataset by name, give a resource's DataFrame."""

    def find(self, name: str, organization: str | None) -> tuple[RemotePackage, list[RemoteResource]]:
        raise NotImplementedError

    def frame(self, package: RemotePackage, resource: RemoteResource) -> pd.DataFrame:
        raise NotImplementedError


class _PortalSource(_Source):
    def __init__(self, portal: Portal, cache: Path) -> None:
        self.portal = portal
        self.cache = cache

    def find(self, name: str, organization: str | None) -> tuple[RemotePackage, list[RemoteResource]]:
        package = self.portal.find_package(name)
        if package is not None and _in_organization(package, organization):
            remote = unmap_package(package, self.portal.url)
            return remote, remote.resources
        found = [unmap_package(p, self.portal.url) for p in self._packages_with_resource(name, organization)]
        found = [p for p in found if any(r.name == name for r in p.resources)]
        return _one(found, name, self.portal.url, organization)

    def _packages_with_resource(self, identity: str, organization: str | None) -> list[dict[str, Any]]:
        """Datasets with a resource whose ``datapackage_resource`` (the identity field) is ``identity``.

        Solr has that field only where ``ckan.extra_resource_fields`` lists it (not by default,
        not on our portal); otherwise every dataset this tool published is searched.
        """
        org = f' AND organization:"{organization}"' if organization else ""
        exact = self._search(f'res_extras_{IDENTITY_FIELD}:"{identity}"{org}')
        return exact or self._search(f'extras_{MANAGED_BY_FIELD}:"{MANAGED_BY}"{org}')

    def _search(self, fq: str) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        while True:
            page = self.portal.action(
                "package_search", {"fq": fq, "include_private": True, "rows": 1000, "start": len(results)}
            )
            results += page["results"]
            if not page["results"] or len(results) >= page["count"]:
                return results

    def frame(self, package: RemotePackage, resource: RemoteResource) -> pd.DataFrame:
        file = self._cached_file(resource)
        return _with_attrs(read_table(file, resource.schema), package, resource, file)

    def _cached_file(self, resource: RemoteResource) -> Path:
        """The verified file, from the cache when its sha256 is known and present there."""
        if resource.url is None:
            raise DataNotFoundError(f"resource '{resource.name}' has no file: {'; '.join(resource.notes)}")
        self.cache.mkdir(parents=True, exist_ok=True)
        expected = resource.expected
        if expected.sha256:
            cached = self.cache / expected.sha256
            if cached.is_file() and matches(file_digest(cached), cached, expected):
                return cached
            download_verified(self.portal, resource.url, cached, expected, resource.filename)
            return cached
        # Without a sha256 from the portal a cached copy cannot be matched: download, keep by digest.
        incoming = self.cache / f"incoming-{resource.ckan_id or resource.name}"
        digest = download_verified(self.portal, resource.url, incoming, expected, resource.filename)
        cached = self.cache / digest.sha256
        os.replace(incoming, cached)
        return cached


class _FolderSource(_Source):
    """A folder written by ``publish pull`` (dataset folders with ``datapackage.json``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find(self, name: str, organization: str | None) -> tuple[RemotePackage, list[RemoteResource]]:
        descriptors = [self.root / n for n in DESCRIPTOR_NAMES if (self.root / n).is_file()]
        descriptors += sorted(p for n in DESCRIPTOR_NAMES for p in self.root.glob(f"*/{n}"))
        if not descriptors:
            raise DataNotFoundError(f"no datapackage.json in {self.root} or its folders; run `publish pull` first")
        packages = [self._package(p) for p in descriptors]
        by_name = [p for p in packages if p.name == name]
        if by_name:
            return by_name[0], by_name[0].resources
        return _one([p for p in packages if any(r.name == name for r in p.resources)], name, str(self.root), None)

    def _package(self, descriptor_file: Path) -> RemotePackage:
        try:
            descriptor = read_structured_file(descriptor_file)
        except StructuredError as exc:
            raise DataNotFoundError(f"{descriptor_file}: {exc}") from None
        if not isinstance(descriptor, dict):
            raise DataNotFoundError(f"{descriptor_file}: not a Data Package descriptor (a mapping of keys)")
        folder = descriptor_file.parent
        resources = []
        for item in descriptor.get("resources", []):
            schema = item.get("schema")
            if isinstance(schema, str):  # a schema file beside the data
                schema_file = self._inside(folder, schema)
                try:
                    schema = read_structured_file(schema_file)
                except (StructuredError, OSError) as exc:
                    raise DataNotFoundError(f"{schema_file}: {exc}") from None
            resources.append(
                RemoteResource(
                    name=str(item.get("name")),
                    filename=str(item.get("path")),
                    url=None,
                    ckan_id="",
                    expected=ExpectedDigest(),
                    schema=schema if isinstance(schema, dict) else None,
                    tabular=str(item.get("format", "csv")).lower() in ("csv", "tsv"),
                )
            )
        return RemotePackage(
            name=str(descriptor.get("name")), folder=str(folder), descriptor=descriptor, resources=resources
        )

    def _inside(self, folder: Path, ref: str) -> Path:
        try:
            return resolve_inside(self.root, folder, ref)
        except UnsafePathError as exc:
            raise DataNotFoundError(f"{folder}: {exc}") from None

    def frame(self, package: RemotePackage, resource: RemoteResource) -> pd.DataFrame:
        file = self._inside(Path(package.folder), resource.filename)
        if not file.is_file():
            raise DataNotFoundError(f"{file} is missing; run `publish pull` again")
        return _with_attrs(read_table(file, resource.schema), package, resource, file)


def _in_organization(package: dict[str, Any], organization: str | None) -> bool:
    return organization is None or (package.get("organization") or {}).get("name") == organization


def _one(
    found: list[RemotePackage], name: str, where: str, organization: str | None
) -> tuple[RemotePackage, list[RemoteResource]]:
    if not found:
        scope = f" in organization '{organization}'" if organization else ""
        raise DataNotFoundError(f"no dataset and no resource named '{name}' on {where}{scope}")
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DataNotFoundError(
            f"resource '{name}' is in {len(found)} datasets on {where} ({names}); "
            "pass the dataset name, or organization="
        )
    return found[0], found[0].resources


def _with_attrs(frame: pd.DataFrame, package: RemotePackage, resource: RemoteResource, file: Path) -> pd.DataFrame:
    frame.attrs.update({"dataset": package.name, "resource": resource.name, "file": str(file)})
    return frame


def read_table(file: str | os.PathLike[str], schema: dict[str, Any] | None) -> pd.DataFrame:
    """A CSV file as a DataFrame typed by its Table Schema (without a schema, pandas infers types)."""
    if schema is None:
        return pd.read_csv(file, encoding="utf-8", dtype_backend="numpy_nullable")
    missing = [str(v) for v in schema.get("missingValues", [""])]
    # Everything is read as text first, so each column is converted exactly as its field says.
    frame = pd.read_csv(file, encoding="utf-8", dtype=str, keep_default_na=False, na_values=missing)
    for field in schema.get("fields", []):
        if field.get("name") in frame.columns:
            frame[field["name"]] = convert_column(frame[field["name"]], field)
    return frame


def schema_dtypes(schema: dict[str, Any]) -> dict[str, Any]:
    """The pandas dtype each field of a Table Schema becomes (see the module's table)."""
    return {f["name"]: convert_column(pd.Series([], dtype="string"), f).dtype for f in schema.get("fields", [])}


def convert_column(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    """One column of text converted to the dtype its Table Schema field implies."""
    kind = field.get("type", "string")
    converter = _CONVERTERS.get(kind, _to_string)
    try:
        return converter(values, field)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"column '{field.get('name')}' is not a valid {kind}: {exc}") from None


def _to_string(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    enum = (field.get("constraints") or {}).get("enum")
    if enum and field.get("type", "string") == "string":
        return values.astype(pd.CategoricalDtype(categories=[str(v) for v in enum]))
    return values.astype("string")


def _to_integer(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    return values.astype("string").str.strip().astype("Int64")


def _to_number(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    text = values.astype("string")
    if field.get("groupChar"):
        text = text.str.replace(field["groupChar"], "", regex=False)
    if field.get("decimalChar", ".") != ".":
        text = text.str.replace(field["decimalChar"], ".", regex=False)
    # float() reads what Table Schema allows besides digits: NaN, INF, -INF, exponents.
    return text.map(float, na_action="ignore").astype("Float64")


def _to_boolean(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    mapping = {str(v): True for v in field.get("trueValues", DEFAULT_TRUE)}
    mapping |= {str(v): False for v in field.get("falseValues", DEFAULT_FALSE)}
    unknown = set(values.dropna()) - set(mapping)
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]!r} is neither a true nor a false value")
    return values.map(mapping, na_action="ignore").astype("boolean")


def _to_date(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    fmt = field.get("format", "default")
    pattern = "%Y-%m-%d" if fmt == "default" else "mixed" if fmt == "any" else fmt
    return pd.to_datetime(values, format=pattern).astype("datetime64[ns]").dt.normalize()


def _to_datetime(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    fmt = field.get("format", "default")
    pattern = "ISO8601" if fmt == "default" else "mixed" if fmt == "any" else fmt
    zoned = values.dropna().str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).any()
    parsed = pd.to_datetime(values, format=pattern, utc=bool(zoned))
    return parsed.astype("datetime64[ns, UTC]" if zoned else "datetime64[ns]")


def _to_yearmonth(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    return pd.to_datetime(values, format="%Y-%m").dt.to_period("M")


_CONVERTERS: dict[str, Callable[[pd.Series, dict[str, Any]], pd.Series]] = {
    "string": _to_string,
    "integer": _to_integer,
    "year": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
    "date": _to_date,
    "datetime": _to_datetime,
    "yearmonth": _to_yearmonth,
}
