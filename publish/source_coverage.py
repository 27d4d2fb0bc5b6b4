"""Every filled cell of the catalogue must be traceable to a public page that states it.

A cell is covered when its row has a ``source_url`` (the row's own source vouches for the row),
or when the catalogue's sources table names a page for exactly that cell: one row of
``dataset, resource, row_id, field, url`` in ``datasets/sources/sources.csv``. ``row_id`` is the
row's primary key; a composite key is written with its values joined by ``/``.

The check also refuses sources rows that point at nothing (an unknown dataset, table, row or
column), so the sources table cannot drift away from the data it documents. Tables that already
have problems are skipped: their rows cannot be trusted yet, and the steward fixes those first.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .report import Problem

if TYPE_CHECKING:
    from .catalogue import Catalogue
    from .validation import Table

SOURCES = ("sources", "sources")  # (dataset folder, resource) of the sources table
ROW_SOURCE = "source_url"  # the column that vouches for a whole row
KEY_SEPARATOR = "/"
SOURCES_COLUMNS = ("dataset", "resource", "row_id", "field")

Cell = tuple[str, str, str, str]  # dataset, resource, row id, column


def check_source_coverage(
    catalogue: Catalogue,
    tables: Mapping[tuple[str, str], Table],
    files_with_problems: Iterable[str],
    limit: int = 0,
    omitted: dict[str, int] | None = None,
) -> list[Problem]:
    """Problems for filled cells without a source and for sources rows that point at nothing.

    ``tables`` are the readable tables by (dataset, resource); tables whose file is among
    ``files_with_problems`` are not checked (and when the sources table is one, nothing is).
    Each table is read once, row by row: memory is the sources table's rows and the problems,
    not the tables (a 1 GiB table costs no more than a small one). With a ``limit`` (0: none), a
    table's cells without a source are kept only up to the row where the ``limit``-th is found
    (so the first ``limit`` in report order are among them); the others are counted in
    ``omitted`` by file.
    """
    skip = set(files_with_problems)
    sources = tables.get(SOURCES)
    if sources is not None and sources.shown in skip:
        return []
    usable = {key: t for key, t in tables.items() if t.shown not in skip and key != SOURCES}
    declared = {(d.folder_name, spec.name) for d in catalogue.datasets for spec in d.resources}
    entries = [] if sources is None else list(_source_rows(sources))
    covered: set[Cell] = set()
    wanted: dict[tuple[str, str], set[str]] = {}  # row ids the sources table names, per table
    for _, dataset, resource, row_id, field in entries:
        table = usable.get((dataset, resource))
        if table is not None:
            wanted.setdefault((dataset, resource), set()).add(row_id)
            if field in _columns(table):
                covered.add((dataset, resource, row_id, field))  # matches nothing if the row is absent
    found: dict[tuple[str, str], set[str]] = {}
    uncovered: list[Problem] = []
    for key, table in usable.items():
        seen = found[key] = set()
        found_here = _uncovered(key, table, covered, sources, wanted.get(key, set()), seen, limit)
        uncovered += found_here.kept
        if found_here.omitted and omitted is not None:
            omitted[table.shown] = omitted.get(table.shown, 0) + found_here.omitted
    problems = []
    if sources is not None:
        problems += _check_sources(sources, entries, usable, declared, found)
    return problems + uncovered


def _columns(table: Table) -> set[str]:
    return {f.get("name") for f in table.schema.get("fields", [])}


def _rows(table: Table) -> Iterator[tuple[int, str, dict[str, str]]]:
    """(row number as validation counts it, row id, cells) for each data row of a table."""
    for number, row_id, cells, _ in _scan(table, None):
        yield number, row_id, cells


def _scan(table: Table, vouched: str | None) -> Iterator[tuple[int, str, dict[str, str], bool]]:
    """Each data row of a table, read as :class:`csv.DictReader` reads it: (number, row id, cells, vouched).

    With ``vouched`` (a column name), a row whose cell there is filled comes with its id, no
    cells (empty) and True, so the many rows that name their own source cost little.
    """
    key = _as_list(table.schema.get("primaryKey"))
    with Path(table.path).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        last = {name: index for index, name in enumerate(header)}  # DictReader keeps a repeated name's last cell
        where = last.get(vouched, -1) if vouched is not None else -1
        places = [last.get(k, -1) for k in key]
        number = 1
        for row in reader:
            if not row:
                continue  # DictReader skips empty lines without counting them
            number += 1
            if 0 <= where < len(row) and row[where].strip():
                if not key:
                    yield number, str(number), {}, True
                else:
                    values = (row[i] if 0 <= i < len(row) else "" for i in places)
                    yield number, KEY_SEPARATOR.join(values), {}, True
                continue
            cells = dict(zip(header, row, strict=False))
            cells.update({name: "" for name in header[len(row) :]})
            row_id = KEY_SEPARATOR.join(cells.get(k, "") for k in key) if key else str(number)
            yield number, row_id, cells, False


def _source_rows(sources: Table) -> Iterator[tuple[int, str, str, str, str]]:
    """(row number, dataset, resource, row id, field) of each row of the sources table."""
    for number, _, row in _rows(sources):
        dataset, resource, row_id, field = (row.get(c, "") for c in SOURCES_COLUMNS)
        yield number, dataset, resource, row_id, field


def _check_sources(
    sources: Table,
    entries: list[tuple[int, str, str, str, str]],
    usable: Mapping[tuple[str, str], Table],
    declared: set[tuple[str, str]],
    found: Mapping[tuple[str, str], set[str]],
) -> list[Problem]:
    """A problem for each row of the sources table that points at nothing (``found``: the row ids seen)."""
    problems = []
    datasets = {d for d, _ in declared}
    for number, dataset, resource, row_id, field in entries:
        table = usable.get((dataset, resource))
        if dataset not in datasets:
            what = f"the catalogue has no dataset '{dataset}'"
            problems.append(_unknown(sources, number, "dataset", dataset, what))
        elif (dataset, resource) not in declared:
            what = f"dataset '{dataset}' has no table '{resource}'"
            problems.append(_unknown(sources, number, "resource", resource, what))
        elif table is None:
            continue  # the table has problems of its own; its rows cannot be matched yet
        elif row_id not in found[(dataset, resource)]:
            what = f"table '{resource}' of dataset '{dataset}' has no row with key '{row_id}'"
            problems.append(_unknown(sources, number, "row_id", row_id, what))
        elif field not in _columns(table):
            what = f"table '{resource}' of dataset '{dataset}' has no column '{field}'"
            problems.append(_unknown(sources, number, "field", field, what))
    return problems


def _uncovered(
    key: tuple[str, str],
    table: Table,
    covered: set[Cell],
    sources: Table | None,
    wanted: set[str],
    seen: set[str],
    limit: int = 0,
) -> _Found:
    """Problems for the filled cells without a source; adds to ``seen`` the ``wanted`` row ids the table has.

    With a ``limit``, the problems of rows after the one holding the ``limit``-th are only counted.
    """
    missing = set(table.schema.get("missingValues", [""]))
    where = sources.shown if sources is not None else "datasets/sources/sources.csv"
    problems: list[Problem] = []
    result = _Found(problems)
    # A row that names its own source needs no look at its cells.
    for number, row_id, cells, vouched in _scan(table, ROW_SOURCE):
        if row_id in wanted:
            seen.add(row_id)
        if vouched or cells.get(ROW_SOURCE, "").strip():
            continue
        full = bool(limit) and len(problems) >= limit
        for field, value in cells.items():
            if value in missing or not value.strip() or (*key, row_id, field) in covered:
                continue
            if full:
                result.omitted += 1
                continue
            problems.append(
                Problem(
                    table.shown,
                    "source-missing",
                    f"no source for this value: fill {ROW_SOURCE} of the row, or add a row "
                    f"'{key[0]},{key[1]},{row_id},{field},<url>' to {where}",
                    row=number,
                    field=field,
                    value=value,
                )
            )
    return result


@dataclass
class _Found:
    kept: list[Problem]
    omitted: int = 0


def _unknown(sources: Table, number: int, field: str, value: str, what: str) -> Problem:
    return Problem(
        sources.shown,
        "source-unknown",
        f"this source points at nothing: {what}; correct it or delete the row",
        row=number,
        field=field,
        value=value,
    )


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
