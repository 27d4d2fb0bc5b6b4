"""Validate a whole catalogue: metadata, files, tables (Frictionless), and cross-dataset keys.

The result is a :class:`Report`; nothing may be published unless ``report.valid``.

Cross-dataset foreign keys live in a schema's ``catalogueForeignKeys`` (same shape as
``foreignKeys`` plus ``reference.package``, the dataset folder name). Frictionless only checks
keys inside one package, so each dataset is validated as a package that also *borrows* the tables
its keys point to; errors of borrowed tables are not reported twice.
"""

from __future__ import annotations

import copy
import heapq
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import validation_cache
from .catalogue import Catalogue, Dataset, ResourceSpec, UnsafePathError, load_catalogue
from .csv_checks import check_csv_file
from .metadata_checks import check_catalogue_meta, check_dataset_descriptor, check_unique_names
from .report import DEFAULT_MAX_ERRORS, MAX_ERRORS, Problem, Report, shorten
from .source_coverage import check_source_coverage
from .units import human_bytes

if TYPE_CHECKING:
    from frictionless import Resource

# Frictionless (and rdflib, for the DCAT-AP.de check) are imported only where a check runs: a run
# whose every answer the validation cache holds starts in a fraction of a second.

BORROWED = "--"  # separator in the names of borrowed resources: "<dataset>--<resource>"
HEADER_ERRORS = {"incorrect-label", "missing-label", "extra-label", "duplicate-label", "blank-label", "blank-header"}
EXPECTED_FORMAT = {
    "integer": "a whole number, e.g. 42",
    "number": "a number with '.' as decimal separator, e.g. 3.14",
    "date": "a date YYYY-MM-DD, e.g. 2024-07-18",
    "datetime": "a date and time YYYY-MM-DDThh:mm:ss",
    "time": "a time hh:mm:ss",
    "year": "a year YYYY, e.g. 2024",
    "yearmonth": "a year and month YYYY-MM, e.g. 2022-12",
    "geopoint": "a point 'lon, lat'",
    "object": "a JSON object",
    "array": "a JSON array",
    "duration": "an ISO 8601 duration, e.g. P1Y2M",
}


@dataclass
class Table:
    """A resource whose file and schema are readable, ready for Frictionless."""

    dataset: Dataset
    spec: ResourceSpec
    path: Path
    schema: dict[str, Any]
    shown: str


def validate(
    catalogue: Catalogue | str | Path = ".",
    status: Callable[[str], None] | None = None,
    max_errors: int | None = None,
) -> Report:
    """Validate a catalogue (or the catalogue folder at a path) and return the report.

    ``status(message)`` is told which dataset is being checked (reading large files takes time),
    and which table Frictionless validates itself instead of the fast engine, and why.
    Every row of every table is checked; the report keeps the first ``max_errors`` problems
    (default :data:`MAX_ERRORS`, else :data:`DEFAULT_MAX_ERRORS`; 0 keeps all) and counts the rest
    (``report.total``), so memory stays bounded however many cells are wrong.
    """
    if not isinstance(catalogue, Catalogue):
        catalogue = load_catalogue(catalogue)
    if max_errors is None:
        chosen = MAX_ERRORS.get()
        max_errors = DEFAULT_MAX_ERRORS if chosen is None else chosen
    budget = _Budget(max_errors)
    report = Report(problems=list(catalogue.problems), datasets=len(catalogue.datasets))
    report.problems += check_catalogue_meta(catalogue)
    report.problems += check_unique_names(catalogue)
    tables: dict[tuple[str, str], Table] = {}
    for dataset in catalogue.datasets:
        report.problems += check_dataset_descriptor(catalogue, dataset)
        for spec in dataset.resources:
            report.resources += 1
            table = _readable_table(catalogue, dataset, spec, report.problems)
            if table is not None:
                tables[(dataset.folder_name, spec.name)] = table
    report.problems += _check_catalogue_keys(catalogue, tables)
    report.problems += _check_dcat(catalogue, report.problems)
    remembered = validation_cache.for_run(catalogue, tables)  # tables found valid as they are now
    budget.mark = len(report.problems)  # where the table problems go when none is cut
    for dataset in catalogue.datasets:
        own, known_rows = remembered.pending(
            [t for (folder_name, _), t in tables.items() if folder_name == dataset.folder_name]
        )
        report.rows += known_rows
        if own:
            if status is not None:
                size = sum(t.path.stat().st_size for t in own)
                status(f"validating {dataset.folder_name}: {len(own)} table(s), {human_bytes(size)}")
            counts: dict[str, int] = {}
            problems, rows = _validate_tables(own, tables, counts, status, budget)
            # A table with a problem beyond the cap is not valid either.
            remembered.record(own, [*problems, *(Problem(f, "counted", "") for f in budget.files)], counts)
            report.problems += problems
            report.rows += rows
    # Every filled cell must name the page that states it (row source_url or the sources table).
    skip = {p.file for p in report.problems} | budget.files  # table problems may wait in the budget
    omitted: dict[str, int] = {}  # cells without a source beyond the cap, counted by file
    report.problems += validation_cache.unless_clean(
        catalogue,
        "sources",
        [t.path for t in tables.values()],
        validation_cache.coverage_ingredients(catalogue, tables, skip),
        lambda: check_source_coverage(catalogue, tables, skip, budget.limit, omitted),
    )
    budget.found += sum(omitted.values())
    budget.files |= set(omitted)
    return budget.cut(report)


@dataclass
class _Budget:
    """Keeps the first ``limit`` problems in report order (0: all); the others are only counted.

    A heap of at most ``limit`` problems: memory is bounded however many are found.
    """

    limit: int
    found: int = 0
    heap: list[_Last] = field(default_factory=list)  # the kept ones; the root is the last in order
    files: set[str] = field(default_factory=set)  # files with a problem, kept or not
    mark: int = 0  # where the kept problems go in the report's list when none is cut (as found)

    def take(self, problems: Iterable[Problem]) -> list[Problem]:
        """Count ``problems``; return those kept when there is no limit (else they wait in the heap)."""
        kept = []
        for problem in problems:
            self.files.add(problem.file)
            self.found += 1
            if not self.limit:
                kept.append(problem)
            elif len(self.heap) < self.limit:
                heapq.heappush(self.heap, _Last(problem, self.found))
            else:
                heapq.heappushpop(self.heap, _Last(problem, self.found))
        return kept

    def merge(self, other: _Budget) -> None:
        self.files |= other.files
        for entry in other.heap:
            entry.seq += self.found
            if len(self.heap) < self.limit:
                heapq.heappush(self.heap, entry)
            else:
                heapq.heappushpop(self.heap, entry)
        self.found += other.found

    def cut(self, report: Report) -> Report:
        """The report with its own problems and the kept table problems, at most ``limit``, and the total.

        When nothing is cut, the problems stay in the order they were found.
        """
        if not self.limit:
            return report
        total = len(report.problems) + self.found
        if total > self.limit:
            kept = [entry.problem for entry in self.heap]
            report.problems = sorted([*report.problems, *kept], key=_report_order)[: self.limit]
            report.total = total
        else:
            kept = [entry.problem for entry in sorted(self.heap, key=lambda entry: entry.seq)]
            report.problems[self.mark : self.mark] = kept
        return report


class _Last:
    """A problem in a heap whose root is the problem last in report order."""

    def __init__(self, problem: Problem, seq: int) -> None:
        self.problem = problem
        self.key = _report_order(problem)
        self.seq = seq  # found as the seq-th problem

    def __lt__(self, other: _Last) -> bool:
        return self.key > other.key


def _report_order(problem: Problem) -> tuple[str, int, str, str]:
    return (problem.file, problem.row or 0, problem.field or "", problem.code)


def _check_dcat(catalogue: Catalogue, found: list[Problem]) -> list[Problem]:
    """The DCAT-AP.de rules (the SHACL shapes the portal's output is checked with), on the metadata.

    A key that already has a problem is not reported twice. Where the catalogue is too broken to
    map (a missing schema file, say), those problems are already reported.
    """

    def check() -> list[Problem]:
        from .dcat import check

        # Also remembered in this process by the graph itself, unless the cache is off.
        return check(catalogue, remember=validation_cache.cache_dir() is not None)

    try:
        # Remembered when clean, by the metadata it reads (catalogue.yaml, each descriptor and
        # schema) and the mapping and shapes code; otherwise the graph is built and checked.
        problems = validation_cache.unless_clean(
            catalogue, "dcat", _metadata_files(catalogue), validation_cache.dcat_code(), check
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, UnsafePathError):
        return []
    seen = {(p.file, (p.field or "").split(".")[0].split("[")[0]) for p in found}
    return [p for p in problems if (p.file, (p.field or "").split(".")[0]) not in seen]


def _metadata_files(catalogue: Catalogue) -> list[Path]:
    """The files the DCAT-AP.de mapping reads: catalogue.yaml, descriptors and schemas."""
    files = [catalogue.meta_file]
    for dataset in catalogue.datasets:
        files += [dataset.descriptor_file] if dataset.descriptor_file else []
        for spec in dataset.resources:
            try:
                files.append(catalogue.resolve(dataset, spec.schema or ""))
            except UnsafePathError:
                continue
    return [f for f in files if f is not None and f.is_file()]


def validate_tables(packages: list[list[Table]], max_errors: int | None = None) -> Report:
    """Validate Data Packages outside any catalogue (e.g. pulled ones), each given as its tables.

    The same byte-level and Frictionless checks as :func:`validate`, with problems worded the
    same way; each file is read once by the byte-level checks. Foreign keys are checked inside
    each package, and ``catalogueForeignKeys`` against the tables of the other packages given
    (keyed by their dataset's key) where the referenced table is among them. Returns a report
    with the problems, rows read and ``total``; as in :func:`validate`, it keeps the first
    ``max_errors`` problems (default :data:`MAX_ERRORS`, else :data:`DEFAULT_MAX_ERRORS`; 0 keeps
    all) and counts the rest.
    """
    if max_errors is None:
        chosen = MAX_ERRORS.get()
        max_errors = DEFAULT_MAX_ERRORS if chosen is None else chosen
    budget = _Budget(max_errors)
    problems: list[Problem] = []
    readable: dict[tuple[str, str], Table] = {}
    for table in (t for tables in packages for t in tables):
        found = schema_problems(table.schema, table.shown)
        found += check_csv_file(table.path, table.shown, None if found else _field_names(table.schema))
        problems += found
        if not found:
            readable[(table.dataset.folder_name, table.spec.name)] = table
    rows = 0
    budget.mark = len(problems)
    for tables in packages:
        own = [t for t in tables if readable.get((t.dataset.folder_name, t.spec.name)) is t]
        if own:
            found, read = _validate_tables(own, readable, budget=budget)
            problems += found
            rows += read
    return budget.cut(Report(problems=problems, rows=rows))


def schema_problems(schema: dict[str, Any], shown: str) -> list[Problem]:
    """A problem when ``schema`` is not a valid Table Schema (empty list when it is)."""
    from frictionless import FrictionlessException, Schema

    try:
        Schema.from_descriptor(copy.deepcopy(schema))
    except FrictionlessException as exc:
        details = "; ".join(e.message for e in getattr(exc, "reasons", []) or [exc.error])
        return [Problem(shown, "schema-error", f"not a valid Table Schema: {details}")]
    return []


def _readable_table(
    catalogue: Catalogue, dataset: Dataset, spec: ResourceSpec, problems: list[Problem]
) -> Table | None:
    """Load the schema and check the raw file; None when either is unusable (problems added)."""
    try:
        path = catalogue.resolve(dataset, spec.path)
        schema_path = catalogue.resolve(dataset, spec.schema or "")
    except UnsafePathError:
        return None  # reported by the descriptor check
    if not schema_path.is_file():
        return None  # reported by the descriptor check
    shown = catalogue.relative(path)
    schema = _load_schema(catalogue, schema_path, problems)
    names = _field_names(schema) if schema is not None else None
    file_problems = validation_cache.unless_clean(
        catalogue, "csv", [path], names, lambda: check_csv_file(path, shown, names)
    )
    problems += file_problems
    if schema is None or file_problems:
        return None
    return Table(dataset=dataset, spec=spec, path=path, schema=schema, shown=shown)


def _field_names(schema: dict[str, Any]) -> list[str]:
    return [str(f.get("name")) for f in schema.get("fields", []) if isinstance(f, dict)]


def _load_schema(catalogue: Catalogue, path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    shown = catalogue.relative(path)
    descriptor = catalogue.parsed(path, problems)
    if descriptor is None:
        return None
    if not isinstance(descriptor, dict):
        problems.append(Problem(shown, "schema-error", "a Table Schema must be a JSON object"))
        return None
    # Frictionless' own verdict on the schema, remembered by the schema's content when clean.
    invalid = validation_cache.unless_clean(
        catalogue, "schema", [], descriptor, lambda: schema_problems(descriptor, shown)
    )
    if invalid:
        problems += invalid
        return None
    found = False
    for index, fld in enumerate(descriptor.get("fields", [])):
        for key in ("title", "description"):
            if not str(fld.get(key, "")).strip():
                found = True
                problems.append(
                    Problem(
                        shown,
                        "schema-error",
                        f"field '{fld.get('name')}' needs a {key} (German); it becomes the portal's data dictionary",
                        field=f"fields[{index}].{key}",
                    )
                )
    return None if found else descriptor


def _check_catalogue_keys(catalogue: Catalogue, tables: dict[tuple[str, str], Table]) -> list[Problem]:
    """Each ``catalogueForeignKeys`` entry must point at an existing dataset, resource and fields."""
    problems = []
    for table in tables.values():
        schema_file = catalogue.relative(catalogue.resolve(table.dataset, table.spec.schema or ""))
        for index, key in enumerate(table.schema.get("catalogueForeignKeys", [])):
            ref = key.get("reference", {}) if isinstance(key, dict) else {}
            where = f"catalogueForeignKeys[{index}]"
            target_ds = catalogue.dataset(str(ref.get("package")))
            if target_ds is None:
                problems.append(
                    Problem(
                        schema_file,
                        "schema-error",
                        f"refers to dataset '{ref.get('package')}', which is not in the catalogue",
                        field=where,
                    )
                )
                continue
            if not any(s.name == ref.get("resource") for s in target_ds.resources):
                problems.append(
                    Problem(
                        schema_file,
                        "schema-error",
                        f"refers to resource '{ref.get('resource')}',"
                        f" which dataset '{target_ds.folder_name}' does not have",
                        field=where,
                    )
                )
                continue
            target = tables.get((target_ds.folder_name, str(ref.get("resource"))))
            names = {f.get("name") for f in target.schema.get("fields", [])} if target else set()
            missing = [f for f in _as_list(ref.get("fields")) if target and f not in names]
            own_names = {f.get("name") for f in table.schema.get("fields", [])}
            missing += [f for f in _as_list(key.get("fields")) if f not in own_names]
            if missing:
                problems.append(
                    Problem(schema_file, "schema-error", f"key fields not found: {', '.join(missing)}", field=where)
                )
    return problems


def _validate_tables(
    own: list[Table],
    tables: dict[tuple[str, str], Table],
    counts: dict[str, int] | None = None,
    status: Callable[[str], None] | None = None,
    budget: _Budget | None = None,
    engine: str = "auto",
) -> tuple[list[Problem], int]:
    """Validate one dataset's tables as a package; return problems and rows read.

    Each table is checked by the vectorised engine (:mod:`publish.fast_validation`, the same
    errors as Frictionless, much faster) unless it cannot promise Frictionless' exact list for
    that table: then Frictionless itself validates it, and ``status`` is told which table and why.
    ``engine`` "frictionless" uses Frictionless for every table (the reference; tests, benchmarks).
    ``counts`` (when given) receives the rows read of each own table, by its shown file.
    ``budget`` (when given) keeps the first problems and counts the rest, as they are found.
    """
    budget = budget if budget is not None else _Budget(0)
    own_names = {t.spec.name for t in own}
    schemas: dict[str, dict[str, Any]] = {}
    borrowed: dict[str, Table] = {}
    for table in own:
        schema = copy.deepcopy(table.schema)
        # Keys to a table of the same dataset that could not be read are left out (already reported).
        schema["foreignKeys"] = [
            k for k in schema.get("foreignKeys", []) if k.get("reference", {}).get("resource", "") in own_names | {""}
        ]
        for key in schema.pop("catalogueForeignKeys", []):
            ref = key["reference"]
            target = tables.get((ref.get("package"), ref.get("resource")))
            if target is None:
                continue
            name = f"{target.dataset.folder_name}{BORROWED}{target.spec.name}"
            borrowed[name] = target
            schema["foreignKeys"].append(
                {"fields": key["fields"], "reference": {"resource": name, "fields": ref["fields"]}}
            )
        schemas[table.spec.name] = schema
    problems: list[Problem] = []
    rows = 0
    slow: list[Table] = []
    if engine == "frictionless":
        slow = list(own)
    else:
        from . import fast_validation

        package = {t.spec.name: fast_validation.Source(t.spec.name, t.path, schemas[t.spec.name]) for t in own}
        for name, target in borrowed.items():
            package[name] = fast_validation.Source(name, target.path, _without_keys(target.schema))
        for table in own:
            result = fast_validation.Result()
            found: list[Problem] = []
            trial = _Budget(budget.limit)  # merged into ``budget`` once the table is done
            try:
                errors = fast_validation.validate(package[table.spec.name], package, result)
                found = trial.take(_problems_of(errors, table, borrowed, result.rows))
            except fast_validation.Unsupported as exc:
                slow.append(table)
                if status is not None:
                    status(f"note: {table.shown}: validated by Frictionless itself (slower): {exc}")
                continue
            problems += found
            budget.merge(trial)
            read = result.rows.get(table.spec.name, 0)
            rows += read
            if counts is not None:
                counts[table.shown] = read
    if not slow:
        return problems, rows
    from frictionless import Package

    resources = [_frictionless_resource(t.spec.name, t, schemas[t.spec.name]) for t in own]
    resources += [
        _frictionless_resource(name, target, _without_keys(target.schema)) for name, target in borrowed.items()
    ]
    frictionless_package = Package(resources=resources)
    for table in slow:
        resource = frictionless_package.get_resource(table.spec.name)
        row_counts = _RowCounts(frictionless_package)
        if engine == "frictionless":  # the reference: Frictionless' own report, all errors at once
            reported: Iterable[Any] = resource.validate(limit_errors=0).tasks[0].errors
        else:  # one error at a time: the budget keeps --max-errors of them, however many there are
            reported = _frictionless_errors(resource)
        # Every row is read (no error limit). A foreign key error into an empty table says so:
        # the rows of the table it points into are counted when such an error comes up.
        problems += budget.take(_problems_of(reported, table, borrowed, row_counts))
        read = int(resource.stats.rows or 0)  # what Frictionless' report counts as its rows
        rows += read
        if counts is not None:
            counts[table.shown] = read
    return problems, rows


def _frictionless_errors(resource: Any) -> Iterator[Any]:
    """Frictionless' errors for one table, as ``resource.validate(limit_errors=0)`` lists them
    (same errors, same order; tests compare the two), but yielded as they are found instead of
    kept in a list until the table is done.

    The same steps as Frictionless' own validation, with its public parts: the descriptor
    checked, the resource opened, each check's start, every row through every check (a row the
    reader cannot make is its error), then each check's end.
    """
    from frictionless import Checklist, FrictionlessException

    checklist = Checklist()
    checks = checklist.connect(resource)
    try:
        resource.to_descriptor(validate=True)
    except FrictionlessException as exception:
        yield from exception.to_errors()
        return
    if resource.closed:
        try:
            resource.open()
        except FrictionlessException as exception:
            resource.close()
            yield from exception.to_errors()
            return
    with resource:
        for index, check in enumerate(checks):
            for error in check.validate_start():
                if error.type == "check-error":
                    del checks[index]  # a check that cannot run is left out, exactly as Frictionless does
                if checklist.match(error):
                    yield error
        while True:
            try:
                row = next(resource.row_stream)
            except FrictionlessException as exception:
                yield exception.error
                continue
            except StopIteration:
                break
            for check in checks:
                for error in check.validate_row(row):
                    if checklist.match(error):
                        yield error
        for check in checks:
            for error in check.validate_end():
                if checklist.match(error):
                    yield error


class _RowCounts(Mapping[str, int]):
    """Rows of the package's tables, each counted (by reading its file) when first asked for."""

    def __init__(self, package: Any) -> None:
        self.package = package
        self.counted: dict[str, int] = {}

    def __getitem__(self, name: str) -> int:
        if name not in self.counted:
            if not self.package.has_resource(name):
                raise KeyError(name)
            resource = self.package.get_resource(name)
            path = Path(resource.basepath or ".") / str(resource.path)
            self.counted[name] = sum(1 for _ in _data_records(path))
        return self.counted[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.counted)

    def __len__(self) -> int:
        return len(self.counted)


def _data_records(path: Path) -> Iterator[list[str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        yield from reader


def _problems_of(
    errors: Iterable[Any], table: Table, borrowed: dict[str, Table], row_counts: Mapping[str, int]
) -> Iterator[Problem]:
    """Frictionless' errors (or the fast engine's, the same) as problems, in their order, one at a time.

    A blank row is one problem; its empty key would be reported again as a repeated key.
    """
    blank = None
    for error in errors:
        row = getattr(error, "row_number", None)
        if error.type == "blank-row":
            blank = row
        elif row is not None and row == blank:
            continue
        yield _problem_from(error, table, borrowed, row_counts)


def _without_keys(schema: dict[str, Any]) -> dict[str, Any]:
    found = copy.deepcopy(schema)
    found.pop("foreignKeys", None)
    found.pop("catalogueForeignKeys", None)
    return found


def _frictionless_resource(name: str, table: Table, schema: dict[str, Any]) -> Resource:
    from frictionless import Resource, Schema, formats

    return Resource(
        name=name,
        path=table.path.name,
        basepath=str(table.path.parent),
        schema=Schema.from_descriptor(schema),
        format="csv",
        encoding="utf-8",
        control=formats.CsvControl(delimiter=","),
    )


def _problem_from(
    error: Any, table: Table, borrowed: dict[str, Table], row_counts: Mapping[str, int] | None = None
) -> Problem:
    """Turn a Frictionless error into a problem a data steward can act on.

    Every value quoted in a message is cut short (:func:`shorten`).
    """
    code = error.type
    row = getattr(error, "row_number", None)
    field = getattr(error, "field_name", None)
    cell = getattr(error, "cell", None)
    shown = shorten(cell) if cell is not None else None
    fields = {f["name"]: f for f in table.schema.get("fields", [])}
    spec = fields.get(field or "", {})
    message = error.message
    if code == "type-error":
        expected = EXPECTED_FORMAT.get(spec.get("type", ""), spec.get("type", ""))
        if spec.get("type") == "boolean":
            expected = "one of " + ", ".join(spec.get("trueValues", ["true"]) + spec.get("falseValues", ["false"]))
        message = f"'{shown}' is not a valid {spec.get('type')}; expected {expected}"
    elif code == "constraint-error":
        message = _explain_constraint(error.note, shown, spec)
    elif code == "unique-error":
        message = (
            f"'{shown}' appears more than once in column '{field}'; each value must be unique "
            f"({shorten(error.note, 200)})"
        )
    elif code == "primary-key":
        key = ", ".join(_as_list(table.schema.get("primaryKey")))
        message = f"primary key ({key}) repeats: {shorten(error.note, 200)}"
    elif code == "foreign-key":
        field = ", ".join(error.field_names)
        cell = ", ".join(str(c) for c in error.field_cells)
        ref = error.reference_name or table.spec.name
        target = borrowed.get(ref)
        where = (
            f"dataset '{target.dataset.folder_name}', resource '{target.spec.name}'" if target else f"resource '{ref}'"
        )
        message = (
            f"'{shorten(cell)}' in {field} is not found in {where} (column "
            f"{', '.join(error.reference_field_names)}); add it there or correct this value"
        )
        if row_counts is not None and row_counts.get(ref, 1) == 0:
            file = target.shown if target else _sibling_file(table, ref)
            message = (
                f"'{shorten(cell)}' in {field} cannot be found: the referenced file {file} ({where}) has no rows, "
                "only a header; add its rows or correct this value"
            )
    elif code == "blank-row":
        message = "this row is empty (nothing, or only separators, as spreadsheets leave them): delete it"
    elif code == "missing-cell":
        message = (
            f"this row has fewer cells than the header: no value for column '{field}' (column {error.field_number})"
        )
    elif code == "extra-cell":
        message = f"this row has more cells than the header: extra value '{shown}' in column {error.field_number}"
    elif code in HEADER_ERRORS:
        row = 1
        cell = getattr(error, "label", None)
        position = getattr(error, "field_number", None)
        shown = shorten(cell) if cell is not None else None
        if code == "incorrect-label":
            detail = f"column {position} is '{shown}' but the schema expects '{field}'"
        elif code == "missing-label":
            detail = f"column '{field}' (position {position}) is missing"
        elif code == "extra-label":
            detail = f"column {position} '{shown}' is not in the schema"
        else:
            detail = shorten(error.message, 300)
        message = f"header does not match the schema: {detail}; expected columns: {', '.join(fields)}"
    return Problem(table.shown, code, message, row=row, field=field or None, value=None if cell is None else str(cell))


def _sibling_file(table: Table, resource: str) -> str:
    """The file shown for resource ``resource`` of the same dataset as ``table``."""
    spec = next((s for s in table.dataset.resources if s.name == resource), None)
    if spec is None:
        return f"of resource '{resource}'"
    return str(Path(table.shown).parent / spec.path)


def _explain_constraint(note: str, cell: Any, spec: dict[str, Any]) -> str:
    match = re.search(r'constraint "(\w+)"', note or "")
    name = match.group(1) if match else ""
    limits = spec.get("constraints", {})
    if name == "required":
        return "a value is required here, but the cell is empty"
    if name == "enum":
        return f"'{cell}' is not allowed; allowed values: {', '.join(map(str, limits.get('enum', [])))}"
    if name == "pattern":
        return f"'{cell}' does not match the required pattern {limits.get('pattern')}"
    if name in limits:
        return f"'{cell}' breaks the constraint {name} = {limits[name]}"
    return f"'{cell}' breaks a constraint: {note}"


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
