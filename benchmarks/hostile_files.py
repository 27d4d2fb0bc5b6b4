"""Benchmark: peak memory and time of `publish validate` on hostile or broken files.

Usage:
    .venv/bin/python benchmarks/hostile_files.py [--only NAME]

Each case is a copy of the small fixture catalogue (tests/fixtures/catalogues/minimal) in a
temporary folder with one file replaced by a pathological one. `publish validate --json` runs in
its own child process; its peak RSS (os.wait4), wall time, output size and the problems it
reports are printed. Nothing is asserted: the figures back the memory bound stated in the
README ("Bad and hostile files"). No portal is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MINIMAL = REPO / "tests/fixtures/catalogues/minimal"
PUBLISH = Path(sys.executable).parent / "publish"
PROJECTS = "datasets/projects/projects.csv"
DESCRIPTOR = "datasets/projects/datapackage.yaml"
MB = 1_000_000


def header(root: Path) -> str:
    return (root / PROJECTS).read_text().splitlines()[0]


def good_row(root: Path) -> str:
    return (root / PROJECTS).read_text().splitlines()[1]


def single_line(root: Path) -> None:
    """A 50 MB file of one line (no line break at all)."""
    (root / PROJECTS).write_bytes(b"x" * 50 * MB)


def single_line_cells(root: Path) -> None:
    """A 50 MB file of one line of short comma-separated cells (a header of ~8 million columns)."""
    (root / PROJECTS).write_bytes(b"ab," * (50 * MB // 3))


def extra_cells(root: Path) -> None:
    """A row with 10,000 extra cells."""
    (root / PROJECTS).write_text(f"{header(root)}\n{good_row(root)}{',x' * 10_000}\n")


def extra_columns(root: Path) -> None:
    """A header with 10,000 extra columns, and a row to match it."""
    extra = "".join(f",extra{i}" for i in range(10_000))
    (root / PROJECTS).write_text(f"{header(root)}{extra}\n{good_row(root)}{',x' * 10_000}\n")


def huge_cells_with_errors(root: Path) -> None:
    """500 rows (the problems kept per dataset), each with a 128,000-byte cell that is not a valid year.

    The worst case for memory: every problem Frictionless reports keeps its row's cells.
    """
    first, cells = header(root), good_row(root).split(",")
    with (root / PROJECTS).open("w") as out:
        out.write(first + "\n")
        for i in range(500):
            cells[0] = f"p-{i}"
            cells[1] = f"Projekt {i}"
            cells[7] = "9" * 128_000
            out.write(",".join(cells) + "\n")


def renamed_header_many_errors(root: Path) -> None:
    """300,000 rows under a header that differs from the schema (so Frictionless validates the
    table itself), each with a year that is not one: 300,000 problems, of which --max-errors are kept."""
    first, cells = header(root).replace("id,name,", "id,title,", 1), good_row(root).split(",")
    with (root / PROJECTS).open("w") as out:
        out.write(first + "\n")
        for i in range(300_000):
            cells[0], cells[1], cells[7] = f"p-{i}", f"Projekt {i}", "kein Jahr"
            out.write(",".join(cells) + "\n")


def alias_bomb(root: Path) -> None:
    """A 10-level YAML alias bomb (a few hundred bytes) as the descriptor."""
    lines = ["a: &a ['x','x','x','x','x','x','x','x','x']"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(9)]
    (root / DESCRIPTOR).write_text("\n".join(lines) + "\n")


def deep_nesting(root: Path) -> None:
    """50,000 nested lists in the descriptor."""
    (root / DESCRIPTOR).write_text("resources: " + "[" * 50_000 + "]" * 50_000 + "\n")


CASES: dict[str, Callable[[Path], None]] = {
    "valid (baseline)": lambda root: None,
    "50 MB single line": single_line,
    "50 MB single line of cells": single_line_cells,
    "10,000 extra cells in a row": extra_cells,
    "10,000 extra header columns": extra_columns,
    "500 rows with a bad 128 kB cell": huge_cells_with_errors,
    "300,000 errors, Frictionless": renamed_header_many_errors,
    "YAML alias bomb": alias_bomb,
    "50,000 nested lists": deep_nesting,
}


def measure(name: str, build: Callable[[Path], None]) -> None:
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        root = Path(tmp) / "catalogue"
        shutil.copytree(MINIMAL, root, symlinks=True)
        build(root)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        out_file = Path(tmp) / "out.json"
        started = time.monotonic()
        with out_file.open("wb") as out:
            child = subprocess.Popen(
                [str(PUBLISH), "validate", "--json", "--catalogue", str(root)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        code = os.waitstatus_to_exitcode(status)
        output = out_file.read_bytes()
        try:
            report = json.loads(output)
            errors = report["errors"]
            summary = f"{len(errors)} problem(s): " + ", ".join(sorted({e["code"] for e in errors}))
            summary += f" (of {report['total']:,})" if report.get("truncated") else ""
        except (ValueError, KeyError):
            summary = "NOT JSON: " + output[:200].decode("utf-8", "replace")
        print(
            f"{name:30} input {size / MB:7.1f} MB  exit {code}  peak RSS {usage.ru_maxrss / 1024:7.1f} MiB  "
            f"{seconds:6.1f} s  output {len(output):7,} B  {summary}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=list(CASES), help="run one case")
    args = parser.parse_args()
    print(f"publish validate --json on pathological files ({sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    for name, build in CASES.items():
        if args.only in (None, name):
            measure(name, build)


if __name__ == "__main__":
    main()
