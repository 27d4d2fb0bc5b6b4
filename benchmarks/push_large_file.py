"""Benchmark: push a catalogue with one large CSV (default 1 GiB) to the local CKAN and report
the peak memory (max RSS) of the `publish push` process, its duration and throughput.

Usage (the portal running, see `make portal`):
    .venv/bin/python benchmarks/push_large_file.py [--size-mb 1024] [--no-datastore] [--keep]

It creates a throwaway organization with the sysadmin token (CKAN_SYSADMIN_TOKEN, or the
portal's sysadmin.env; see scratch.py), runs `publish validate` alone (to show what validation costs by itself),
pushes as the editor (CKAN_API_TOKEN), reruns once (nothing to do), and drops the DataStore
tables, datasets and organization at the end. Each child's own peak RSS is reported.
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from scratch import describe, run_push, scratch, validate_only, write_dataset

SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer", "title": "Nummer", "description": "Laufende Nummer."},
        {"name": "text", "type": "string", "title": "Text", "description": "Synthetischer Text."},
    ]
}


def write_catalogue(root: Path, organization: str, size_mb: int) -> Path:
    descriptor = {
        "name": f"benchmark-big-{organization}",
        "identifier": "benchmark/big",
        "title": "Benchmark: große Datei",
        "description": "Synthetische Daten für einen Speicher-Benchmark.",
        "keywords": ["Benchmark"],
        "homepage": "https://digital-interkommunal.de/",
        "themes": ["TECH"],
        "temporal": {"start": "2021-01-01"},
        "resources": [
            {
                "name": "big",
                "title": "Groß",
                "path": "big.csv",
                "schema": "schemas/big.schema.json",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
            }
        ],
    }
    path = write_dataset(root, organization, "big", SCHEMA, descriptor) / "big.csv"
    target = size_mb * 1024 * 1024
    filler = "x" * 180
    with path.open("w", encoding="utf-8") as handle:
        handle.write("id,text\n")
        written, n = 8, 0
        block = []
        while written < target:
            n += 1
            line = f"{n},{filler}\n"
            block.append(line)
            written += len(line)
            if len(block) == 10_000:
                handle.write("".join(block))
                block = []
        handle.write("".join(block))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument(
        "--no-datastore", action="store_true", help="push with --no-datastore (upload only, no DataStore load)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the organization and the temp folder")
    args = parser.parse_args()
    with scratch("publish-bench-", keep=args.keep) as s:
        started = time.monotonic()
        csv_path = write_catalogue(s.root, s.organization, args.size_mb)
        size = csv_path.stat().st_size
        print(f"file: {size / 2**20:.0f} MiB ({size} bytes), written in {time.monotonic() - started:.1f} s")

        report, seconds, peak = validate_only(s.root, s.env)
        rows = report["checked"]["rows"]
        print(
            f"validate only: {seconds:.1f} s, {rows} rows, {size / 2**20 / seconds:.1f} MiB/s, peak RSS {peak:.0f} MiB"
        )

        code, report, seconds, peak = run_push(s.root, s.env, datastore=not args.no_datastore)
        if code != 0:
            sys.exit(f"push failed (exit {code}): {json.dumps(report)[:2000]}")
        steps = "validation + digest + upload" + ("" if args.no_datastore else " + DataStore load")
        print(
            f"first push: {seconds:.1f} s ({steps}), {report['requests']} requests, "
            f"{report['bytes_uploaded'] / 2**20:.0f} MiB uploaded, "
            f"{report['bytes_uploaded'] / 2**20 / seconds:.1f} MiB/s overall, peak RSS {peak:.0f} MiB"
        )
        print(f"  actions: {describe(report)}")
        first_peak = peak

        code, report, seconds, peak = run_push(s.root, s.env, datastore=not args.no_datastore)
        if code != 0:
            sys.exit(f"rerun failed (exit {code}): {json.dumps(report)[:2000]}")
        print(
            f"rerun: {seconds:.1f} s, {report['requests']} requests, {report['bytes_uploaded']} bytes uploaded, "
            f"actions {sorted({a['action'] for a in report['actions']})}, peak RSS {peak:.0f} MiB"
        )
        print(f"peak RSS of any push process: {max(first_peak, peak):.0f} MiB")


if __name__ == "__main__":
    main()
