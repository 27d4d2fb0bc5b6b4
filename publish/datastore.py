"""Load a published CSV into CKAN's DataStore, the way the plan chose (shell: talks to the portal).

What the table should be (types, fields, digests, records) is decided in
:mod:`publish.datastore_schema`; this module carries out a load through :class:`publish.portal.Portal`.

How a table is brought up to date (what readers see meanwhile):
- in place (same fields and types, with a primary key): the table is read back once and compared
  with the CSV row by row (fingerprints kept in a temporary SQLite file, not in memory); only new
  and changed rows are upserted, then rows whose key left the CSV are deleted. Readers always see
  a complete table, for a moment a mix of old and new rows.
- first load or rebuild (no primary key, a changed field list/type): the table is (dropped and)
  created with its first chunk of rows, then filled with bulk inserts. Readers see no table, then
  a growing one, until the load ends.

CKAN writes each chunk row by row, so two chunks are kept in flight (one request keeps about one
core of CKAN + PostgreSQL busy); memory stays flat either way.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from .datastore_schema import (
    CHUNK_ROWS,
    DIGEST_KEY,
    FIRST_LOAD,
    IN_PLACE,
    MAPPING_VERSION,
    REBUILD,
    TYPES,
    datastore_fields,
    primary_key,
    read_records,
    shape_digest,
    shape_of,
    table_digest,
)
from .portal import ALWAYS, UNPROCESSED, Portal, PortalError, PortalRefusedError

ROW_PAGE = 10_000  # rows per read-back page when comparing a table with the CSV
PARALLEL = 2  # chunks in flight: CKAN writes a chunk row by row, so one request keeps about one core busy

RowsProgress = Callable[[int], None]

__all__ = [  # the pure names stay importable from here, for callers of the shell
    "CHUNK_ROWS",
    "DIGEST_KEY",
    "FIRST_LOAD",
    "IN_PLACE",
    "MAPPING_VERSION",
    "REBUILD",
    "TYPES",
    "datastore_fields",
    "delete_quietly",
    "load_table",
    "primary_key",
    "read_records",
    "shape_digest",
    "shape_of",
    "table_digest",
]


def load_table(
    portal: Portal,
    resource_id: str,
    path: Path,
    schema: dict[str, Any],
    *,
    mode: str,
    progress: RowsProgress | None = None,
) -> int:
    """Make the resource's DataStore table equal to the CSV the way the plan chose; return the
    number of rows written.

    ``mode`` (decided by the plan, never again here): FIRST_LOAD — no table yet, create and fill
    it (no probe); REBUILD — drop the table, then create and fill it; IN_PLACE — upsert the rows
    into the existing table by primary key. If the portal no longer fits the plan (a table to
    update in place is gone), the load fails and says why; the next plan sees the portal as it is.
    """
    fields = datastore_fields(schema)
    pk_fields = primary_key(schema)
    if mode == IN_PLACE and not _table_exists(portal, resource_id):
        raise PortalRefusedError(
            "the plan updates this DataStore table in place, but the portal no longer has it (dropped "
            "since the plan was made); nothing loaded. Run push again: the next plan loads it whole.",
            "conflict",
        )
    create = {"resource_id": resource_id, "force": True, "fields": fields, "primary_key": pk_fields, "records": []}
    if mode == IN_PLACE:
        # Creating an existing table with the same fields only refreshes its data dictionary.
        portal.action("datastore_create", create, retry=ALWAYS)
        with tempfile.TemporaryDirectory(prefix="publish-rows-") as tmp:
            return _update_in_place(portal, resource_id, path, schema, pk_fields, Path(tmp) / "rows.db", progress)
    if mode == REBUILD:
        delete_quietly(portal, "datastore_delete", {"resource_id": resource_id, "force": True})
    # A new table gets its first chunk with the create: a table of up to CHUNK_ROWS rows is one
    # request. Repeating it after a lost answer is safe with a key (a repeat that meets its own
    # rows is upserted instead); without a key only a surely unprocessed create is repeated.
    chunks = read_records(path, schema)
    first = next(chunks, [])
    try:
        _create_new_table(portal, {**create, "records": first}, retry=ALWAYS if pk_fields or not first else UNPROCESSED)
    except PortalRefusedError as exc:
        if not (pk_fields and first and exc.kind == "validation"):
            raise
        portal.action(
            "datastore_upsert", {"resource_id": resource_id, "force": True, "records": first, "method": "upsert"}
        )
    if progress and first:
        progress(len(first))
    return len(first) + _send(portal, resource_id, chunks, pk_fields, fresh=True, progress=progress, already=len(first))


def _create_new_table(portal: Portal, create: dict[str, Any], *, retry: str) -> None:
    """``datastore_create`` of a table the portal does not have yet, with its first records.

    CKAN makes a table and its first rows in one database transaction. When the answer is an
    HTTP 500 and the table does not exist afterwards, nothing happened, and the create is sent once
    more. That is what the first loads on a new portal need: CKAN's DataStore creates a PostgreSQL
    type on its first write, and when several creates arrive at once all but one can fail with
    "type already exists" (HTTP 500). A 500 after which the table exists is not repeated: the caller
    reports it, and the next run finds the table as it is.
    """
    try:
        portal.action("datastore_create", create, retry=retry)
    except PortalError as exc:
        if exc.status != 500 or _table_exists(portal, create["resource_id"]):
            raise
        portal.action("datastore_create", create, retry=retry)


def _send(
    portal: Portal,
    resource_id: str,
    chunks: Iterable[list[dict[str, Any]]],
    pk_fields: list[str],
    *,
    fresh: bool,
    progress: RowsProgress | None,
    already: int = 0,
) -> int:
    """Send the chunks, PARALLEL at a time (memory stays flat); return the number of rows sent.

    ``already``: rows written before these chunks, for the progress count."""
    written = 0
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        pending: deque[Future[int]] = deque()
        for records in chunks:
            if len(pending) >= PARALLEL:
                written += pending.popleft().result()
                if progress:
                    progress(already + written)
            pending.append(pool.submit(_write_chunk, portal, resource_id, records, pk_fields, fresh))
        while pending:
            written += pending.popleft().result()
            if progress:
                progress(already + written)
    return written


def _update_in_place(
    portal: Portal,
    resource_id: str,
    path: Path,
    schema: dict[str, Any],
    pk_fields: list[str],
    db_path: Path,
    progress: RowsProgress | None,
) -> int:
    """Upsert only the rows that differ from the table, then delete the rows whose key left the CSV.

    The CSV's row fingerprints go to a SQLite file, not to memory; the table is read once, page by
    page, and compared. A value the comparison cannot match exactly (say a timestamp written with
    a zone) only costs one upsert too many. Returns the number of rows upserted.
    """
    types = {f["id"]: f["type"] for f in datastore_fields(schema)}
    db = sqlite3.connect(db_path)
    try:
        db.execute("CREATE TABLE csv (k TEXT PRIMARY KEY, h TEXT, same INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID")
        for records in read_records(path, schema):
            db.executemany(
                "INSERT OR REPLACE INTO csv (k, h) VALUES (?, ?)",
                ((_primary_key_of(r, pk_fields), _fingerprint(r, types)) for r in records),
            )
        gone: list[dict[str, Any]] = []
        for page in _table_pages(portal, resource_id, list(types)):
            keys = [_primary_key_of(r, pk_fields) for r in page]
            known = dict(
                db.execute("SELECT k, h FROM csv WHERE k IN (SELECT value FROM json_each(?))", (json.dumps(keys),))
            )
            db.executemany(
                "UPDATE csv SET same = 1 WHERE k = ?",
                ((k,) for r, k in zip(page, keys, strict=True) if known.get(k) == _fingerprint(r, types)),
            )
            gone += [{k: r[k] for k in pk_fields} for r, k in zip(page, keys, strict=True) if k not in known]

        def differing() -> Iterator[list[dict[str, Any]]]:
            batch: list[dict[str, Any]] = []
            for records in read_records(path, schema):
                keys = [_primary_key_of(r, pk_fields) for r in records]
                same = {
                    k
                    for (k,) in db.execute(
                        "SELECT k FROM csv WHERE same = 1 AND k IN (SELECT value FROM json_each(?))",
                        (json.dumps(keys),),
                    )
                }
                batch += [r for r, k in zip(records, keys, strict=True) if k not in same]
                while len(batch) >= CHUNK_ROWS:
                    yield batch[:CHUNK_ROWS]
                    batch = batch[CHUNK_ROWS:]
            if batch:
                yield batch

        written = _send(portal, resource_id, differing(), pk_fields, fresh=False, progress=progress)
        _delete_rows(portal, resource_id, pk_fields, gone)
    finally:
        db.close()
    return written


def _table_pages(portal: Portal, resource_id: str, names: list[str]) -> Iterator[list[dict[str, Any]]]:
    offset = 0
    while True:
        page = portal.action(
            "datastore_search",
            {
                "resource_id": resource_id,
                "fields": names,
                "limit": ROW_PAGE,
                "offset": offset,
                "sort": "_id",
                "include_total": False,  # no count(*) over the whole table for every page
            },
        )
        records = page.get("records", [])
        yield records
        offset += len(records)
        if len(records) < ROW_PAGE:
            return


def _canonical(value: Any, kind: str) -> Any:
    """A value as sent (from the CSV) or as read back (from the DataStore), in one comparable form."""
    if value is None:
        return None
    if kind in ("int8", "int4"):
        return int(value)
    if kind == "numeric":
        return str(Decimal(str(value)).normalize())
    if kind == "bool":
        return bool(value)
    if kind == "date":
        return str(value)[:10]  # the DataStore returns 2019-03-04T00:00:00
    if kind == "json":
        return json.dumps(json.loads(value) if isinstance(value, str) else value, sort_keys=True)
    return str(value)


def _fingerprint(record: dict[str, Any], types: dict[str, str]) -> str:
    values = [_canonical(record.get(name), kind) for name, kind in types.items()]
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()


def _write_chunk(
    portal: Portal, resource_id: str, records: list[dict[str, Any]], pk_fields: list[str], fresh: bool
) -> int:
    """Send one chunk: a fast bulk insert into a fresh table, an upsert by key otherwise.

    An upsert is idempotent, so it may be retried after any failure. A bulk insert into a fresh
    table with a key is retried too; if an earlier attempt did arrive, the repeat fails on the
    duplicate key and the chunk is upserted instead. Without a key only surely unprocessed
    inserts are repeated (a duplicate row could not be told apart).
    """
    # calculate_record_count: no background job per chunk (CKAN's default); the count is exact anyway.
    data = {"resource_id": resource_id, "force": True, "records": records, "calculate_record_count": False}
    if not fresh:
        portal.action("datastore_upsert", {**data, "method": "upsert"}, retry=ALWAYS)
        return len(records)
    try:
        portal.action("datastore_upsert", {**data, "method": "insert"}, retry=ALWAYS if pk_fields else UNPROCESSED)
    except PortalRefusedError as exc:
        if not pk_fields or exc.kind != "validation":
            raise
        portal.action("datastore_upsert", {**data, "method": "upsert"}, retry=ALWAYS)
    return len(records)


def _primary_key_of(record: dict[str, Any], pk_fields: list[str]) -> str:
    return json.dumps([str(record[k]) for k in pk_fields])


def delete_quietly(portal: Portal, action: str, data: dict[str, Any]) -> None:
    """Delete; "not found" counts as done (a retried delete may find its work already done)."""
    try:
        portal.action(action, data, retry=ALWAYS)
    except PortalRefusedError as exc:
        if exc.kind != "not-found":
            raise


def _table_exists(portal: Portal, resource_id: str) -> bool:
    try:
        portal.action("datastore_info", {"id": resource_id, "include_meta": False, "include_fields_schema": False})
    except PortalRefusedError as exc:
        if exc.kind == "not-found":
            return False
        raise
    return True


def _delete_rows(portal: Portal, resource_id: str, pk_fields: list[str], gone: list[dict[str, Any]]) -> None:
    """Delete the rows with these keys, 1000 to a request for a single-column key."""
    if len(pk_fields) == 1:
        values = [r[pk_fields[0]] for r in gone]
        for start in range(0, len(values), 1000):
            portal.action(
                "datastore_delete",
                {"resource_id": resource_id, "force": True, "filters": {pk_fields[0]: values[start : start + 1000]}},
            )
    else:
        for row in gone:
            portal.action(
                "datastore_delete",
                {"resource_id": resource_id, "force": True, "filters": {k: row[k] for k in pk_fields}},
            )
