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
from collections.abc import Iterable, Mapping
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
    catalogue: Catalogue, tables: Mapping[tuple[str, str], Table], files_with_problems: Iterable[str]
) -> list[Problem]:
    """Problems for filled cells without a source and for sources rows that point at nothing.

    ``tables`` are the readable tables by (dataset, resource); tables whose file is among
    ``files_with_problems`` are not checked (and when the sources table is one, nothing is).
    """
    skip = set(files_with_problems)
    sources = tables.get(SOURCES)
    if sources is not None and sources.shown in skip:
        return []
    usable = {key: t for key, t in tables.items() if t.shown not in skip and key != SOURCES}
    rows = {key: list(_rows(t)) for key, t in usable.items()}
    declared = {(d.folder_name, spec.name) for d in catalogue.datasets for spec in d.resources}
    problems: list[Problem] = []
    covered: set[Cell] = set()
    if sources is not None:
        problems += _check_sources(sources, usable, rows, declared, covered)
    for key, table in usable.items():
        problems += _uncovered(key, table, rows[key], covered, sources)
    return problems


def _rows(table: Table) -> Iterable[tuple[int, str, dict[str, str]]]:
    """(row number as validation counts it, row id, cells) for each data row of a table."""
    key = _as_list(table.schema.get("primaryKey"))
    with Path(table.path).open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            cells = {k: v or "" for k, v in row.items() if k is not None}
            row_id = KEY_SEPARATOR.join(cells.get(k, "") for k in key) if key else str(number)
            yield number, row_id, cells


def _check_sources(
    sources: Table,
    usable: Mapping[tuple[str, str], Table],
    rows: Mapping[tuple[str, str], list[tuple[int, str, dict[str, str]]]],
    declared: set[tuple[str, str]],
    covered: set[Cell],
) -> list[Problem]:
    """Collect the cells the sources table covers; a problem for each row that points at nothing."""
    problems = []
    ids = {key: {row_id for _, row_id, _ in found} for key, found in rows.items()}
    for number, _, row in _rows(sources):
        dataset, resource, row_id, field = (row.get(c, "") for c in SOURCES_COLUMNS)
        table = usable.get((dataset, resource))
        if dataset not in {d for d, _ in declared}:
            what = f"the catalogue has no dataset '{dataset}'"
            problems.append(_unknown(sources, number, "dataset", dataset, what))
        elif (dataset, resource) not in declared:
            what = f"dataset '{dataset}' has no table '{resource}'"
            problems.append(_unknown(sources, number, "resource", resource, what))
        elif table is None:
            continue  # the table has problems of its own; its rows cannot be matched yet
        elif row_id not in ids[(dataset, resource)]:
            what = f"table '{resource}' of dataset '{dataset}' has no row with key '{row_id}'"
            problems.append(_unknown(sources, number, "row_id", row_id, what))
        elif field not in {f.get("name") for f in table.schema.get("fields", [])}:
            what = f"table '{resource}' of dataset '{dataset}' has no column '{field}'"
            problems.append(_unknown(sources, number, "field", field, what))
        else:
            covered.add((dataset, resource, row_id, field))
    return problems


def _uncovered(
    key: tuple[str, str],
    table: Table,
    rows: list[tuple[int, str, dict[str, str]]],
    covered: set[Cell],
    sources: Table | None,
) -> list[Problem]:
    missing = set(table.schema.get("missingValues", [""]))
    where = sources.shown if sources is not None else "datasets/sources/sources.csv"
    problems = []
    for number, row_id, cells in rows:
        if cells.get(ROW_SOURCE, "").strip():
            continue
        for field, value in cells.items():
            if value in missing or not value.strip() or (*key, row_id, field) in covered:
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
    return problems


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
