"""Validate once per content: remember which tables were found valid, keyed by everything they depend on.

A table's Frictionless validation (types, constraints, keys) depends only on

- the bytes of its file (sha256 and size),
- its Table Schema (as parsed, JSON or YAML),
- its resource name (keys inside a dataset name resources),
- for each foreign key (``foreignKeys`` to another table of the dataset, ``catalogueForeignKeys``
  to a table of another dataset) the referenced table's file digest and schema, or the fact that
  it is unreadable (then the key is left out of validation),
- the code that validates: this tool's version, Frictionless' and pyarrow's versions, and the source of the
  modules that decide what is valid (so an edited checkout never trusts an older verdict).

The byte-level CSV checks (file digest and the schema's field names) and the source-coverage
check (all readable tables' digests and schemas, the declared tables, the files it skips) are
remembered the same way (:func:`unless_clean`).

The DCAT-AP.de check (the SHACL shapes on the metadata graph) is remembered by the files the
graph is made from (``catalogue.yaml``, descriptors, schemas) and the code that maps and checks
it (:func:`dcat_code`).

The sha256 of all that (canonical JSON) names one small file in the cache folder. It exists only
when a validation of exactly that content found no problem; problems are never cached, so the
cache can only skip work, never hide a problem. A table whose entry exists is not read by
Frictionless again (its file is still hashed, once per run, and the digest is reused for the
plan). Before an entry is written the file is hashed again: a file edited while it was being
validated is not remembered.

The folder is ``$PUBLISH_VALIDATION_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/kalletal-lemgo-publish/validated``;
``PUBLISH_VALIDATION_CACHE=off`` (or ``--no-cache``, :func:`bypassed`) neither reads nor writes it.
A missing, corrupt or unwritable cache is ignored: validation then simply runs.

Pure apart from reading and writing the entries (and hashing the files).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .mapping import run_digest

if TYPE_CHECKING:
    from .catalogue import Catalogue
    from .report import Problem
    from .validation import Table

Finding = TypeVar("Finding")
ENV = "PUBLISH_VALIDATION_CACHE"
OFF = "off"
FORMAT = 1  # of the key and the entries; bump when either changes
# The modules whose code decides whether a table is valid (their source is part of the key).
DECIDING_MODULES = (
    "validation.py",
    "fast_validation.py",
    "csv_checks.py",
    "source_coverage.py",
    "validation_cache.py",
)

_BYPASS: ContextVar[bool] = ContextVar("publish_validation_cache_bypass", default=False)


@contextlib.contextmanager
def bypassed(active: bool = True) -> Iterator[None]:
    """Inside this block the cache is neither read nor written (``--no-cache``)."""
    token = _BYPASS.set(active or _BYPASS.get())
    try:
        yield
    finally:
        _BYPASS.reset(token)


def cache_dir() -> Path | None:
    """The folder of the entries, or None when the cache is switched off."""
    if _BYPASS.get():
        return None
    chosen = os.environ.get(ENV, "").strip()
    if chosen.lower() == OFF:
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kalletal-lemgo-publish" / "validated"


def code_digest() -> str:
    """Versions of this tool, Frictionless and Python, and the source of the deciding modules."""
    digest = hashlib.sha256()
    for package in ("kalletal-lemgo-publish", "frictionless", "pyarrow"):
        digest.update(f"{package}={_version(package)}\n".encode())
    digest.update(f"python={sys.version_info[0]}.{sys.version_info[1]}\n".encode())
    here = Path(__file__).parent
    for name in DECIDING_MODULES:
        try:
            digest.update(name.encode() + b"\n" + (here / name).read_bytes())
        except OSError:
            digest.update(name.encode() + b" unreadable\n")
    return digest.hexdigest()


@functools.cache
def _version(package: str) -> str:
    """An installed package's version, read once per process (each read parses its metadata file)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def canonical_digest(value: Any) -> str:
    """sha256 of ``value`` as canonical JSON (sorted keys; YAML dates and the like as text)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class RunCache:
    """The cache as one validation run uses it: which tables may skip, and remembering the rest."""

    catalogue: Catalogue
    tables: dict[tuple[str, str], Table]
    directory: Path | None
    code: str = ""
    _keys: dict[tuple[str, str], str | None] = field(default_factory=dict)
    _hashed: dict[Path, str] = field(default_factory=dict)  # the sha256 each key was made with
    _inputs: dict[tuple[str, str], list[Path]] = field(default_factory=dict)  # the files of each key

    def pending(self, own: list[Table]) -> tuple[list[Table], int]:
        """The tables of one dataset that must be validated, and the rows of those that need not.

        When a table to validate has a key to a sibling that is remembered valid, the whole
        dataset is validated together (its keys are checked inside one package).
        """
        known = {t.spec.name: rows for t in own if (rows := self._remembered(t)) is not None}
        if not known:
            return own, 0
        todo = [t for t in own if t.spec.name not in known]
        if any(name in known for t in todo for name in _sibling_references(t.schema)):
            return own, 0
        return todo, sum(known.values())

    def record(self, validated: list[Table], problems: Iterable[Problem], rows: dict[str, int]) -> None:
        """Remember each validated table that has no problem (rows by the table's shown file)."""
        if self.directory is None:
            return
        bad = {p.file for p in problems}
        now: dict[Path, str | None] = {}  # each file hashed again, once: is it still what the key says?

        def unchanged(path: Path) -> bool:
            if path not in now:
                now[path] = _sha256(path)
            return now[path] == self._hashed.get(path)

        for table in validated:
            key = self._key(table)
            if key is None or table.shown in bad or table.shown not in rows:
                continue
            inputs = self._inputs[(table.dataset.folder_name, table.spec.name)]
            if not all(unchanged(path) for path in inputs):
                continue  # edited while being validated: what was read may not be what was hashed
            entry = {"format": FORMAT, "key": key, "kind": "table", "rows": rows[table.shown]}
            _write(self.directory / f"{key}.json", entry)

    def _remembered(self, table: Table) -> int | None:
        """The rows of the table when an entry says it was valid as it is now, else None."""
        key = self._key(table) if self.directory is not None else None
        if key is None or self.directory is None:
            return None
        return _read_entry(self.directory, key)

    def _key(self, table: Table) -> str | None:
        """The cache key of a table (None when a file cannot be read: then nothing is cached)."""
        name = (table.dataset.folder_name, table.spec.name)
        if name not in self._keys:
            try:
                self._keys[name] = canonical_digest(self._ingredients(table))
            except OSError:
                self._keys[name] = None
        return self._keys[name]

    def _ingredients(self, table: Table) -> dict[str, Any]:
        if not self.code:
            self.code = _code()
        references = []
        inputs = self._inputs.setdefault((table.dataset.folder_name, table.spec.name), [table.path])
        for dataset, resource in _references(table):
            target = self.tables.get((dataset or table.dataset.folder_name, resource))
            references.append([dataset, resource, self._content(target) if target is not None else None])
            inputs += [target.path] if target is not None else []
        return {
            "format": FORMAT,
            "code": self.code,
            "resource": table.spec.name,
            "content": self._content(table),
            "references": sorted(references, key=json.dumps),
        }

    def _content(self, table: Table) -> list[Any]:
        digest = run_digest(self.catalogue, table.path)
        self._hashed.setdefault(table.path, digest.sha256)
        return [digest.sha256, digest.size, canonical_digest(table.schema)]


def unless_clean(
    catalogue: Catalogue, kind: str, files: list[Path], ingredients: Any, check: Callable[[], list[Problem]]
) -> list[Problem]:
    """``check()``, unless it found no problem before in exactly these files with these ingredients.

    For checks of whole files (the byte-level CSV checks, source coverage): the key is ``kind``,
    the code, the digests of ``files`` and ``ingredients`` (anything else the check reads, as
    JSON). A clean result is remembered (unless a file changed while it was checked); problems
    are returned and never remembered.
    """
    directory = cache_dir()
    if directory is None:
        return check()
    try:
        before = [_fingerprint(catalogue, path) for path in files]
    except OSError:
        return check()
    key = canonical_digest({"format": FORMAT, "kind": kind, "code": _code(), "files": before, "with": ingredients})
    if _read_entry(directory, key) is not None:
        return []
    problems = check()
    if not problems and all(_sha256(path) == digest[0] for path, digest in zip(files, before, strict=True)):
        _write(directory / f"{key}.json", {"format": FORMAT, "key": key, "kind": kind, "rows": 0})
    return problems


def dcat_code() -> dict[str, str]:
    """What decides the DCAT-AP.de check besides the metadata: the mapping, the graph, the
    shapes and their checker, and rdflib's and pyshacl's versions (read once per process)."""
    return dict(_read_dcat_code())


@functools.cache
def _read_dcat_code() -> dict[str, str]:
    here = Path(__file__).parent
    shapes = here.parent / "dcat_ap_de"
    files = [here / n for n in ("dcat.py", "mapping.py", "vocabularies.py", "catalogue.py", "structured.py")]
    files += sorted(shapes.rglob("*.py")) + sorted(shapes.rglob("*.ttl"))
    code = {}
    for path in files:
        try:
            code[str(path.relative_to(here.parent))] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            code[str(path)] = "unreadable"
    return {**code, "rdflib": _version("rdflib"), "pyshacl": _version("pyshacl")}


def coverage_ingredients(catalogue: Catalogue, tables: dict[tuple[str, str], Table], skip: set[str]) -> Any:
    """What the source-coverage check reads besides the tables' files: which tables, where,
    with which schemas, which files it skips, and which tables the descriptors declare."""
    return {
        "tables": sorted([*key, table.shown, canonical_digest(table.schema)] for key, table in tables.items()),
        "skip": sorted(skip),
        "declared": sorted([d.folder_name, spec.name] for d in catalogue.datasets for spec in d.resources),
    }


def for_run(catalogue: Catalogue, tables: dict[tuple[str, str], Table]) -> RunCache:
    """The cache for one validation of ``catalogue`` whose readable tables are ``tables``."""
    return RunCache(catalogue, tables, cache_dir())


def _read_entry(directory: Path, key: str) -> int | None:
    """The rows an entry records, or None when there is no sound entry for ``key``."""
    try:
        entry = json.loads((directory / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != key:
        return None
    rows = entry.get("rows")
    return rows if isinstance(rows, int) and not isinstance(rows, bool) and rows >= 0 else None


def _fingerprint(catalogue: Catalogue, path: Path) -> list[Any]:
    digest = run_digest(catalogue, path)
    return [digest.sha256, digest.size]


_CODE: dict[str, str] = {}


def _code() -> str:
    """:func:`code_digest`, computed once per process."""
    if "digest" not in _CODE:
        _CODE["digest"] = code_digest()
    return _CODE["digest"]


def _references(table: Table) -> list[tuple[str, str]]:
    """(dataset key or "" for the table's own dataset, resource) of each table a key points to."""
    found = [("", name) for name in _sibling_references(table.schema)]
    for key in _dicts(table.schema.get("catalogueForeignKeys")):
        ref = key.get("reference")
        if isinstance(ref, dict):
            found.append((str(ref.get("package")), str(ref.get("resource"))))
    return found


def _sibling_references(schema: dict[str, Any]) -> list[str]:
    """Resources of the same dataset that ``foreignKeys`` point to (not the table itself)."""
    names = []
    for key in _dicts(schema.get("foreignKeys")):
        ref = key.get("reference")
        resource = ref.get("resource", "") if isinstance(ref, dict) else ""
        if resource:
            names.append(str(resource))
    return names


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _sha256(path: Path, chunk_size: int = 1 << 20) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(chunk_size):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _write(path: Path, entry: dict[str, Any]) -> None:
    """Write an entry atomically; any failure is ignored (the cache is only an optimisation)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".entry-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(entry, out)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError:
        return
