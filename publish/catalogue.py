"""Read a catalogue folder (``datasets/`` + ``schemas/``) into plain objects.

Reading never raises on bad *data*: an unreadable descriptor becomes a :class:`Problem` so that
``validate`` can report every problem at once. Only a missing catalogue is a
:class:`ConfigurationError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .report import Problem
from .structured import StructuredError, read_structured_file

DATASETS_DIR = "datasets"
CATALOGUE_FILE = "catalogue.yaml"
DESCRIPTOR_NAMES = ("datapackage.json", "datapackage.yaml", "datapackage.yml")


class UnsafePathError(ValueError):
    """A path in a descriptor that would leave the catalogue."""


@dataclass(frozen=True)
class ResourceSpec:
    """One resource as its descriptor declares it."""

    name: str
    path: str
    schema: str | None
    descriptor: dict[str, Any]

    @property
    def title(self) -> str | None:
        return self.descriptor.get("title")

    @property
    def description(self) -> str | None:
        return self.descriptor.get("description")


@dataclass
class Dataset:
    """One dataset folder: a Data Package descriptor and its resources."""

    folder_name: str  # the dataset's folder under datasets/: its name in the catalogue
    folder: Path
    descriptor_file: Path | None
    descriptor: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        value = self.descriptor.get("name")
        return value if isinstance(value, str) else None

    @property
    def resources(self) -> list[ResourceSpec]:
        specs = []
        raw = self.descriptor.get("resources")
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict):
                path, schema = item.get("path"), item.get("schema")
                specs.append(
                    ResourceSpec(
                        name=str(item.get("name", "")),
                        path=path if isinstance(path, str) else "",
                        schema=schema if isinstance(schema, str) else None,
                        descriptor=item,
                    )
                )
        return specs


@dataclass
class Catalogue:
    """The whole catalogue: shared metadata, datasets, and problems met while reading."""

    root: Path
    meta: dict[str, Any]
    datasets: list[Dataset]
    problems: list[Problem] = field(default_factory=list)
    _parsed: dict[Path, tuple[Any, list[Problem]]] = field(default_factory=dict, repr=False, compare=False)
    # Files' digests computed in this run (publish.mapping.run_digest), so each file is hashed once.
    digests: dict[Path, Any] = field(default_factory=dict, repr=False, compare=False)
    # Descriptor paths resolved in this run (symlinks followed once; refusals are not remembered).
    _resolved: dict[tuple[Path, str], Path] = field(default_factory=dict, repr=False, compare=False)
    _resolved_root: Path | None = field(default=None, repr=False, compare=False)  # root with symlinks followed

    def parsed(self, path: Path, problems: list[Problem] | None = None) -> Any:
        """The JSON or YAML file at ``path``, parsed once per catalogue by the one reader
        (:func:`read_structured`); None if it is broken, with the problem added to ``problems``."""
        if path not in self._parsed:
            found: list[Problem] = []
            self._parsed[path] = (read_structured(self, path, found), found)
        value, found = self._parsed[path]
        if problems is not None:
            problems += found
        return value

    def schema(self, dataset: Dataset, spec: ResourceSpec) -> dict[str, Any]:
        """The resource's Table Schema as parsed (JSON or YAML); ``{}`` if it cannot be read."""
        value = self.parsed(self.resolve(dataset, spec.schema or ""))
        return value if isinstance(value, dict) else {}

    @property
    def meta_file(self) -> Path:
        return self.root / DATASETS_DIR / CATALOGUE_FILE

    def relative(self, path: Path) -> str:
        """A path as shown to people: relative to the catalogue root when inside it."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def dataset(self, folder_name: str) -> Dataset | None:
        return next((d for d in self.datasets if d.folder_name == folder_name), None)

    def resolve(self, dataset: Dataset, ref: str) -> Path:
        """Resolve a descriptor path of ``dataset``, refusing anything that leaves the catalogue."""
        key = (dataset.folder, ref)
        if key not in self._resolved:
            if self._resolved_root is None:
                self._resolved_root = self.root.resolve()
            self._resolved[key] = resolve_inside(self.root, dataset.folder, ref, self._resolved_root)
        return self._resolved[key]


def resolve_inside(root: Path, base: Path, ref: str, resolved_root: Path | None = None) -> Path:
    """Resolve ``ref`` relative to ``base``; raise :class:`UnsafePathError` if it escapes ``root``.

    Refused: URLs, absolute paths, ``~``, ``..`` segments, and symlinks whose target lies
    outside ``root``. ``resolved_root`` is ``root.resolve()`` where the caller has it already.
    """
    if not ref:
        raise UnsafePathError("the path is empty")
    if "://" in ref:
        raise UnsafePathError(f"'{ref}' is a URL; only files inside the catalogue can be published")
    if os.path.isabs(ref) or ref.startswith("~"):
        raise UnsafePathError(f"'{ref}' is absolute; use a path relative to the descriptor")
    if ".." in Path(ref).parts:
        raise UnsafePathError(f"'{ref}' contains '..'; paths must stay inside the dataset folder")
    resolved = (base / ref).resolve()
    if not resolved.is_relative_to(resolved_root or root.resolve()):
        raise UnsafePathError(f"'{ref}' leads outside the catalogue (to {resolved}), through a symlink")
    return resolved


def load_catalogue(root: str | os.PathLike[str] = ".") -> Catalogue:
    """Read the catalogue at ``root`` (the folder holding ``datasets/`` and ``schemas/``)."""
    root_path = Path(root).absolute()
    datasets_dir = root_path / DATASETS_DIR
    if not datasets_dir.is_dir():
        raise ConfigurationError(
            f"no catalogue at {root_path}: expected a folder '{DATASETS_DIR}/' with one folder per "
            "dataset. Run inside the catalogue or pass --catalogue DIR (or set PUBLISH_CATALOGUE)."
        )
    problems: list[Problem] = []
    catalogue = Catalogue(root=root_path, meta={}, datasets=[], problems=problems)
    meta = read_structured(catalogue, catalogue.meta_file, problems)
    catalogue.meta = meta if isinstance(meta, dict) else {}
    if meta is not None and not isinstance(meta, dict):
        problems.append(
            Problem(catalogue.relative(catalogue.meta_file), "descriptor-error", "must be a mapping of keys")
        )
    for folder in sorted(p for p in datasets_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        catalogue.datasets.append(_read_dataset(catalogue, folder, problems))
    return catalogue


def _read_dataset(catalogue: Catalogue, folder: Path, problems: list[Problem]) -> Dataset:
    found = [folder / name for name in DESCRIPTOR_NAMES if (folder / name).is_file()]
    shown = catalogue.relative(folder)
    if not found:
        problems.append(
            Problem(shown + "/", "descriptor-missing", "no datapackage.json or datapackage.yaml in this dataset folder")
        )
        return Dataset(folder_name=folder.name, folder=folder, descriptor_file=None)
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        problems.append(Problem(shown + "/", "descriptor-ambiguous", f"more than one descriptor ({names}); keep one"))
    descriptor = read_structured(catalogue, found[0], problems)
    if descriptor is not None and not isinstance(descriptor, dict):
        problems.append(Problem(catalogue.relative(found[0]), "descriptor-error", "must be a mapping of keys"))
        descriptor = None
    return Dataset(folder_name=folder.name, folder=folder, descriptor_file=found[0], descriptor=descriptor or {})


def read_structured(catalogue: Catalogue, path: Path, problems: list[Problem]) -> Any:
    """Parse a JSON or YAML file; a parse error or an empty document becomes a problem.

    Returns None when the file is missing, broken or empty (a problem names it).
    """
    shown = catalogue.relative(path)
    if not path.is_file():
        problems.append(Problem(shown, "file-missing", "file not found"))
        return None
    try:
        data = read_structured_file(path)
    except StructuredError as exc:
        # The line is the problem's row (shown as "line N"); the column stays in the message.
        column = f" (column {exc.column})" if exc.line is not None and exc.column is not None else ""
        problems.append(Problem(shown, exc.code, exc.message + column, row=exc.line))
        return None
    except OSError as exc:
        problems.append(Problem(shown, "file-missing", f"cannot be read: {exc.strerror or exc}"))
        return None
    if data is None or data == {} or data == []:
        problems.append(
            Problem(
                shown,
                "descriptor-empty",
                "the file is empty (nothing, only comments, or an empty mapping); it must hold the "
                "metadata this file is for",
            )
        )
        return None
    return data
