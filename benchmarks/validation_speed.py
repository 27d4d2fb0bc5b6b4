"""Validation speed: the vectorised engine against Frictionless, on generated tables.

For 10k, 100k and 1M rows × 11 columns (integer primary key, a code with a pattern and unique,
a URI, a date, an integer with a minimum, a number with a maximum, an enum, a boolean, a year,
free text with a length limit, an e-mail address), each valid and with 1 % of the rows holding one
bad cell, it validates the file with each engine in a fresh subprocess (same interpreter, same
process type), compares the two error lists (type, row, field, cell, note, message) and prints
rows/s, the speed ratio, peak memory (the child's VmHWM) and whether the lists are equal.

    python benchmarks/validation_speed.py                 # 10k, 100k, 1M
    python benchmarks/validation_speed.py --rows 10000    # one size
    python benchmarks/validation_speed.py --large         # also: a ~1 GiB keyed file, ours only

Files go to a temporary folder (``--keep DIR`` keeps them). Figures are for the machine it runs on.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True}},
        {"name": "code", "type": "string", "constraints": {"unique": True, "pattern": "[A-Z]{2}-[0-9]{7}"}},
        {"name": "url", "type": "string", "format": "uri"},
        {"name": "day", "type": "date"},
        {"name": "count", "type": "integer", "constraints": {"minimum": 0}},
        {"name": "amount", "type": "number", "constraints": {"maximum": 100000}},
        {"name": "category", "type": "string", "constraints": {"enum": ["alpha", "beta", "gamma", "delta"]}},
        {"name": "flag", "type": "boolean"},
        {"name": "year", "type": "year"},
        {"name": "note", "type": "string", "constraints": {"maxLength": 40}},
        {"name": "mail", "type": "string", "format": "email"},
    ],
    "primaryKey": ["id"],
}
BAD = ["x", "XX-1", "not a uri", "2024-02-30", "-5", "1e9", "omega", "maybe", "20x4", "n" * 41, "no-at-sign"]


def generate(path: Path, rows: int, invalid: bool) -> None:
    """A CSV of ``rows`` rows; with ``invalid`` 1 % of the rows get one bad cell (a different column each)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    block = 1_000_000
    with pacsv.CSVWriter(path, pa.schema([(f["name"], pa.string()) for f in SCHEMA["fields"]])) as writer:
        for start in range(0, rows, block):
            n = min(block, rows - start)
            ids = np.arange(start + 1, start + n + 1)
            rng = np.random.default_rng(start)
            text = pa.array(ids).cast(pa.string())
            columns = {
                "id": text,
                "code": pc.binary_join_element_wise("AB-", pc.utf8_lpad(text, 7, "0"), ""),
                "url": pc.binary_join_element_wise("https://example.org/item/", text, ""),
                "day": pa.array(np.datetime64("2015-01-01") + rng.integers(0, 3650, n)).cast(pa.string()),
                "count": pa.array(rng.integers(0, 1000, n)).cast(pa.string()),
                "amount": pa.array(np.round(rng.random(n) * 1000, 2)).cast(pa.string()),
                "category": pa.array(np.array(["alpha", "beta", "gamma", "delta"])[rng.integers(0, 4, n)]),
                "flag": pa.array(np.array(["true", "false"])[rng.integers(0, 2, n)]),
                "year": pa.array(rng.integers(1990, 2030, n)).cast(pa.string()),
                "note": pa.array(np.array(["kurz", "ein etwas längerer Text", ""])[rng.integers(0, 3, n)]),
                "mail": pa.array(np.array(["info@example.org", "a.b@example.de", "x@lemgo.de"])[rng.integers(0, 3, n)]),
            }
            if invalid:
                bad_rows = np.flatnonzero(rng.random(n) < 0.01)
                for k, name in enumerate(columns):
                    chosen = bad_rows[bad_rows % len(columns) == k]
                    values = columns[name].to_numpy(zero_copy_only=False).astype(object)
                    values[chosen] = BAD[k]
                    columns[name] = pa.array(values, pa.string())
            writer.write_table(pa.table(columns))


def run_engine(engine: str, path: Path, out: Path) -> None:
    """In the child: validate ``path`` with ``engine``, write errors and figures to ``out``."""
    from frictionless import Resource, Schema, formats

    from publish import fast_validation

    started = time.perf_counter()  # imports done: both engines import Frictionless
    if engine == "ours":
        source = fast_validation.Source("table", path, SCHEMA)
        result = fast_validation.Result()
        errors = [_raw(e) for e in fast_validation.validate(source, {"table": source}, result)]
        rows = result.rows.get("table", 0)
    else:
        table = Resource(
            name="table",
            path=path.name,
            basepath=str(path.parent),
            schema=Schema.from_descriptor(json.loads(json.dumps(SCHEMA))),
            format="csv",
            encoding="utf-8",
            control=formats.CsvControl(delimiter=","),
        )
        report = table.validate(limit_errors=0)
        errors = [_raw(e) for e in report.tasks[0].errors]
        rows = int(report.tasks[0].stats.get("rows") or 0)
    seconds = time.perf_counter() - started
    out.write_text(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": _peak_mb(), "errors": errors}))


def _peak_mb() -> float:
    """This process's peak resident memory in MiB: VmHWM (ru_maxrss would count the parent's, from before exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _raw(error: Any) -> list[Any]:
    return [error.type, getattr(error, "row_number", None), getattr(error, "field_name", None),
            getattr(error, "cell", None), error.note, error.message]  # fmt: skip


def measure(engine: str, path: Path, folder: Path) -> dict[str, Any]:
    out = folder / f"{path.stem}.{engine}.json"
    subprocess.run([sys.executable, __file__, "--child", engine, str(path), str(out)], check=True)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="rows per file (repeatable); default 10k, 100k, 1M")
    parser.add_argument("--large", action="store_true", help="also a ~1 GiB file with a primary key (ours only)")
    parser.add_argument("--keep", type=Path, help="keep the generated files in this folder")
    parser.add_argument(
        "--summary", type=Path, help="also write the figures as JSON to this file (benchmarks/goals.py)"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_engine(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="validation-speed-"))
    folder.mkdir(parents=True, exist_ok=True)
    sizes = args.rows or [10_000, 100_000, 1_000_000]
    header = f"{'rows':>10} {'file':>8} {'MB':>6} {'errors':>7} {'Frictionless s':>15} {'ours s':>7} "
    header += f"{'rows/s ours':>12} {'ratio':>6} {'MB peak F/ours':>15}  lists"
    print(header)
    measured: list[dict[str, Any]] = []
    for rows in sizes:
        for invalid in (False, True):
            path = folder / f"t{rows}_{'invalid' if invalid else 'valid'}.csv"
            generate(path, rows, invalid)
            theirs = measure("frictionless", path, folder)
            ours = measure("ours", path, folder)
            equal = "equal" if theirs["errors"] == ours["errors"] and theirs["rows"] == ours["rows"] else "DIFFERENT"
            print(
                f"{rows:>10,} {'1% bad' if invalid else 'valid':>8} {path.stat().st_size / 1e6:>6.0f} "
                f"{len(ours['errors']):>7,} {theirs['seconds']:>15.2f} {ours['seconds']:>7.2f} "
                f"{ours['rows'] / ours['seconds']:>12,.0f} {theirs['seconds'] / ours['seconds']:>5.1f}× "
                f"{theirs['peak_mb']:>7.0f}/{ours['peak_mb']:<7.0f}  {equal}",
                flush=True,
            )
            measured.append(
                {
                    "rows": rows,
                    "invalid": invalid,
                    "errors": len(ours["errors"]),
                    "frictionless_s": theirs["seconds"],
                    "ours_s": ours["seconds"],
                    "equal": equal == "equal",
                    "frictionless_peak_mib": theirs["peak_mb"],
                    "ours_peak_mib": ours["peak_mb"],
                }
            )
            if not args.keep:
                path.unlink()
    if args.summary:
        args.summary.write_text(json.dumps({"validation": measured}))
    if args.large:
        rows = 8_000_000  # 1.07 GB (1 GiB) with these 11 columns
        path = folder / "large_keyed.csv"
        generate(path, rows, False)
        ours = measure("ours", path, folder)
        print(
            f"\n1 GiB keyed file: {rows:,} rows, {path.stat().st_size / 2**30:.2f} GiB, primary key + unique code: "
            f"ours {ours['seconds']:.1f} s ({ours['rows'] / ours['seconds']:,.0f} rows/s), "
            f"peak {ours['peak_mb']:.0f} MB, {len(ours['errors'])} errors",
            flush=True,
        )
        if not args.keep:
            path.unlink()


if __name__ == "__main__":
    main()
