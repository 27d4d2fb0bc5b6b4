"""Benchmark: load a large typed table (default 1,000,000 rows) into CKAN's DataStore with `publish push`.

Usage (the portal running, see `make portal`):
    .venv/bin/python benchmarks/datastore_load.py [--rows 1000000] [--keep]

It uses scratch.py (this folder is on sys.path when run as a script): a throwaway organization
made with the sysadmin token, pushes as the editor, and everything purged at the end (DataStore
tables first). The table has an integer primary key and typed columns
(number, date, boolean, enum string, free text) and a source_url (every row names its source).
Three pushes, each its own child process with its own peak RSS (os.wait4) and wall time:
  1. first push: validation + upload + first DataStore load (bulk insert into a fresh table);
  2. in-place update: 1% of rows changed, 0.5% deleted, 0.5% added, then push: the table is read
     back and compared, the rows that differ are upserted by key, vanished keys deleted;
  3. unchanged rerun (requests, time).
The DataStore phase of a push is timed from the moment the portal shows the new file (the
resource's `hash`, polled with package_show) to the end of the push. CPU seconds are given for the
push process and for the portal's CKAN (gunicorn), PostgreSQL and Solr process trees, from /proc.
After each push the table's total must equal the CSV's row count and a few rows are compared with
the CSV. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import resource
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import ckanapi
from scratch import REPO, describe, run_push, scratch, validate_only, write_dataset

KATEGORIEN = ["Strom", "Wasser", "Wärme", "Abfall", "Verkehr", "Sonstiges"]
WOERTER = [
    *("Lemgo", "Kalletal", "Straßenbeleuchtung", "Brücke", "Sanierung", "Messwert", "Sensor", "Hochwasser"),
    *("Radweg", "Bürgerbüro", "Schule", "Grünfläche", "Ladepunkt", "Baustelle", "Prüfung", "Wartung"),
    *("Ortsteil", "Hohenhausen", "Mühle", "Gemeinde", "Zählerstand", "Störung", "„Notiz“", "erledigt"),
    *("offen", "geprüft", "Förderung", "Anlage", "Netz", "Pegel"),
]
CHANGED, DELETED = (100, 7), (200, 3)  # id % 100 == 7: changed (1%); id % 200 == 3: deleted (0.5%)
FIELDS = ["id", "betrag", "datum", "aktiv", "kategorie", "bemerkung", "source_url"]
SOURCE = "https://digital-interkommunal.de/"  # every row names a source (validation requires one)
SCHEMA = {
    "title": "Benchmark-Tabelle",
    "description": "Synthetische, typisierte Zeilen für einen DataStore-Benchmark.",
    "fields": [
        {
            "name": "id",
            "type": "integer",
            "title": "Nummer",
            "description": "Laufende Nummer (Primärschlüssel).",
            "constraints": {"required": True, "unique": True},
        },
        {"name": "betrag", "type": "number", "title": "Betrag", "description": "Betrag in Euro; leer, wenn unbekannt."},
        {"name": "datum", "type": "date", "title": "Datum", "description": "Buchungsdatum (JJJJ-MM-TT)."},
        {
            "name": "aktiv",
            "type": "boolean",
            "title": "Aktiv",
            "description": "true, wenn der Eintrag aktiv ist.",
            "trueValues": ["true"],
            "falseValues": ["false"],
        },
        {
            "name": "kategorie",
            "type": "string",
            "title": "Kategorie",
            "description": "Sparte des Eintrags.",
            "constraints": {"required": True, "enum": KATEGORIEN},
        },
        {"name": "bemerkung", "type": "string", "title": "Bemerkung", "description": "Freitext; leer, wenn keiner."},
        {
            "name": "source_url",
            "type": "string",
            "format": "uri",
            "title": "Quelle",
            "description": "Die Seite, die die Zeile belegt (hier: synthetisch).",
        },
    ],
    "primaryKey": ["id"],
    "missingValues": [""],
}


def row(i: int, version: int = 0) -> list[str]:
    """Row ``i`` of the table, deterministic; ``version`` 1 gives the changed row."""
    h = (i * 2654435761 + version * 40503) % 2**32
    betrag = "" if h % 50 == 0 else f"{(h % 10_000_000) / 100:.2f}"
    datum = (datetime.date(2015, 1, 1) + datetime.timedelta(days=h % 3650)).isoformat()
    words = [WOERTER[(h >> s) % len(WOERTER)] for s in range(0, 3 * (2 + h % 6), 3)]
    text = "" if h % 37 == 0 else " ".join(words[:2]) + ", " + " ".join(words[2:])
    if version:
        text += " (geändert)"
    kategorie = KATEGORIEN[(h >> 7) % len(KATEGORIEN)]
    return [str(i), betrag, datum, "true" if h % 3 else "false", kategorie, text, SOURCE]


def write_table(path: Path, rows: int, updated: bool) -> int:
    """Write the CSV (the original, or the updated one); return its row count."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        block = []
        for i in range(1, rows + 1):
            if updated and i % DELETED[0] == DELETED[1]:
                continue
            block.append(row(i, 1 if updated and i % CHANGED[0] == CHANGED[1] else 0))
            if len(block) == 10_000:
                writer.writerows(block)
                count += len(block)
                block = []
        if updated:
            block += [row(i) for i in range(rows + 1, rows + 1 + rows // DELETED[0])]
        writer.writerows(block)
        count += len(block)
    return count


def write_catalogue(root: Path, organization: str, rows: int) -> Path:
    descriptor = {
        "name": f"benchmark-datastore-{organization}",
        "identifier": "benchmark/datastore",
        "title": "Benchmark: große Tabelle im DataStore",
        "description": "Synthetische, typisierte Daten für einen DataStore-Benchmark.",
        "keywords": ["Benchmark"],
        "homepage": "https://digital-interkommunal.de/",
        "themes": ["TECH"],
        "temporal": {"start": "2015-01-01"},
        "resources": [
            {
                "name": "table",
                "title": "Tabelle",
                "path": "table.csv",
                "schema": "schemas/table.schema.json",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
            }
        ],
    }
    path = write_dataset(root, organization, "table", SCHEMA, descriptor) / "table.csv"
    write_table(path, rows, updated=False)
    return path


def tree_cpu(root_pid: int) -> float:
    """CPU seconds of a process and all its descendants, including reaped ones (cutime/cstime)."""
    parents: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        parents.setdefault(int(fields[1]), []).append(int(entry))
        times[int(entry)] = sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo += parents.get(pid, [])
    return total


def server_cpu() -> dict[str, float]:
    result = {}
    for name, label in (("ckan", "CKAN"), ("postgres", "PostgreSQL"), ("solr", "Solr")):
        pid_file = REPO / ".portal/pids" / f"{name}.pid"
        if pid_file.is_file():
            result[label] = tree_cpu(int(pid_file.read_text().strip()))
    return result


def own_children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # a reaped child's CPU is added here
    return usage.ru_utime + usage.ru_stime


def find_resource(sysadmin: ckanapi.RemoteCKAN, dataset: str) -> dict | None:
    try:
        package = sysadmin.action.package_show(id=dataset)
    except ckanapi.NotFound:
        return None
    return next((r for r in package["resources"] if r.get("datapackage_resource", r.get("name")) == "table"), None)


class UploadWatch(threading.Thread):
    """Polls package_show until the resource's hash changes: the upload is done, the DataStore phase begins."""

    def __init__(self, sysadmin: ckanapi.RemoteCKAN, dataset: str) -> None:
        super().__init__(daemon=True)
        self.sysadmin, self.dataset = sysadmin, dataset
        current = find_resource(sysadmin, dataset)
        self.before = current.get("hash") if current else None
        self.seen_at: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            current = find_resource(self.sysadmin, self.dataset)
            if current and current.get("hash") != self.before:
                self.seen_at = time.monotonic()
                return


def timed_push(root: Path, env: dict[str, str], sysadmin: ckanapi.RemoteCKAN, dataset: str) -> dict:
    """One `publish push --yes --json` child, with its DataStore phase and CPU split measured."""
    watch = UploadWatch(sysadmin, dataset)
    cpu_before, server_before = own_children_cpu(), server_cpu()
    started = time.monotonic()
    watch.start()
    code, report, seconds, peak = run_push(root, env, datastore=True)
    ended = time.monotonic()
    watch.stop.set()
    watch.join()
    server_after = server_cpu()
    if code != 0:
        sys.exit(f"push failed (exit {code}): {json.dumps(report)[:3000]}")
    rows = sum(a.get("rows") or 0 for a in report["actions"] if a["action"] == "datastore")
    return {
        "report": report,
        "seconds": seconds,
        "peak": peak,
        "rows": rows,
        "load_s": ended - watch.seen_at if watch.seen_at else None,
        "before_load_s": watch.seen_at - started if watch.seen_at else None,
        "cpu": {"push": own_children_cpu() - cpu_before}
        | {k: server_after[k] - server_before.get(k, 0.0) for k in server_after},
    }


def print_push(title: str, m: dict, table_rows: int | None = None) -> None:
    """``table_rows``: for an in-place update, the rows the tool read back and compared."""
    report = m["report"]
    print(
        f"{title}: {m['seconds']:.1f} s whole push, {report['requests']} requests, "
        f"{report['bytes_uploaded'] / 2**20:.1f} MiB uploaded, peak RSS {m['peak']:.0f} MiB"
    )
    print(f"  actions: {describe(report)}")
    if m["load_s"] and table_rows:
        print(
            f"  DataStore phase: {m['load_s']:.1f} s: {table_rows} rows read back and compared "
            f"({table_rows / m['load_s']:,.0f} rows/s), {m['rows']} rows written "
            f"(after {m['before_load_s']:.1f} s of validation + upload)"
        )
    elif m["load_s"]:
        print(
            f"  DataStore phase: {m['load_s']:.1f} s, {m['rows']} rows written "
            f"({m['rows'] / m['load_s']:,.0f} rows written/s; after {m['before_load_s']:.1f} s of validation + upload)"
        )
    print("  CPU s: " + ", ".join(f"{k} {v:.1f}" for k, v in m["cpu"].items()))


def csv_rows(path: Path, ids: set[int]) -> dict[int, dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {int(r["id"]): r for r in csv.DictReader(handle) if int(r["id"]) in ids}


def as_csv_text(name: str, value: object) -> str:
    """A DataStore value written the way the CSV writes it, to compare the two."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if name == "betrag":
        return f"{Decimal(str(value)):.2f}"
    if name == "datum":
        return str(value)[:10]  # the DataStore returns dates as 2019-03-04T00:00:00
    return str(value)


def verify(sysadmin: ckanapi.RemoteCKAN, dataset: str, path: Path, expected_rows: int, ids: list[int]) -> str:
    """The table's total equals the CSV's rows; the sampled rows equal the CSV (absent ids absent)."""
    resource_id = find_resource(sysadmin, dataset)["id"]
    total = sysadmin.action.datastore_search(resource_id=resource_id, limit=0)["total"]
    expected = csv_rows(path, set(ids))
    found = sysadmin.action.datastore_search(resource_id=resource_id, filters={"id": ids}, limit=len(ids))
    got = {r["id"]: {k: as_csv_text(k, r[k]) for k in FIELDS} for r in found["records"]}
    problems = [] if total == expected_rows else [f"total {total} != CSV rows {expected_rows}"]
    problems += [
        f"id {i}: DataStore {got.get(i)} != CSV {expected.get(i)}" for i in ids if got.get(i) != expected.get(i)
    ]
    if problems:
        sys.exit("VERIFY FAILED: " + "; ".join(problems))
    return f"verified: total {total} = CSV rows; {len(expected)} rows equal the CSV, {len(ids) - len(expected)} absent"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the organization and the temp folder")
    parser.add_argument("--first-only", action="store_true", help="only the first load (no update, no rerun)")
    parser.add_argument(
        "--summary", type=Path, help="also write the figures as JSON to this file (benchmarks/goals.py)"
    )
    args = parser.parse_args()
    n = args.rows
    with scratch("publish-bench-ds-", keep=args.keep) as s:
        sysadmin, dataset = s.sysadmin, f"benchmark-datastore-{s.organization}"
        started = time.monotonic()
        path = write_catalogue(s.root, s.organization, n)
        size = path.stat().st_size
        seconds = time.monotonic() - started
        print(f"table: {n} rows, 6 typed columns and a source, {size / 2**20:.0f} MiB, written in {seconds:.1f} s")

        # Without the cache of tables found valid, so the first push validates the file again.
        uncached = {**s.env, "PUBLISH_VALIDATION_CACHE": "off"}
        _, seconds, peak = validate_only(s.root, uncached)
        print(f"validate only: {seconds:.1f} s, peak RSS {peak:.0f} MiB")

        sample = [1, 2, 3, 7, 107, n // 2 + 1, n - 1, n, n + 1, n + n // DELETED[0]]
        first = timed_push(s.root, uncached, sysadmin, dataset)
        print_push("1. first push (bulk insert into a fresh table)", first)
        checked = verify(sysadmin, dataset, path, n, sample)
        print("  " + checked)
        if args.summary:
            figures = {"rows": first["rows"], "load_s": first["load_s"], "push_s": first["seconds"]}
            figures |= {"requests": first["report"]["requests"], "verified": checked}
            args.summary.write_text(json.dumps({"datastore_load": figures}))
        if args.first_only:
            return

        started = time.monotonic()
        expected = write_table(path, n, updated=True)
        changed, deleted = n // CHANGED[0], n // DELETED[0]
        print(
            f"update: {changed} rows changed, {deleted} deleted, {deleted} added -> {expected} rows "
            f"(written in {time.monotonic() - started:.1f} s)"
        )
        update = timed_push(s.root, s.env, sysadmin, dataset)
        print_push(
            "2. in-place update (read the table back, upsert the rows that differ, delete vanished keys)",
            update,
            table_rows=n,
        )
        print("  " + verify(sysadmin, dataset, path, expected, sample))

        rerun = timed_push(s.root, s.env, sysadmin, dataset)
        report = rerun["report"]
        print(
            f"3. unchanged rerun: {rerun['seconds']:.1f} s, {report['requests']} requests, "
            f"{report['bytes_uploaded']} bytes uploaded, actions {sorted({a['action'] for a in report['actions']})}, "
            f"peak RSS {rerun['peak']:.0f} MiB"
        )
        print(f"peak RSS of any push process: {max(first['peak'], update['peak'], rerun['peak']):.0f} MiB")


if __name__ == "__main__":
    main()
