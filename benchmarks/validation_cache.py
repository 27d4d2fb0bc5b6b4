"""Benchmark: `publish validate` with an empty cache (cold) and an unchanged rerun (warm).

Usage:
    .venv/bin/python benchmarks/validation_cache.py [--rows 100000] [--repeat 3]

Two catalogues, each validated in this process (after one untimed run that imports everything)
with a fresh cache folder: first cold (every table read by Frictionless; valid ones remembered),
then warm (every table only hashed). Printed: the median wall time of each, the rows checked,
and for the generated table the time to hash its file alone (sha256 + md5), the floor of a warm
run. Also the whole `publish validate` command (a child process, imports included), cold and warm.

- the shipped catalogue (this repository's ``datasets/``),
- a copy of the small fixture catalogue whose partners table has ``--rows`` generated rows.

Nothing is asserted: the figures back the README's "Benchmarks" section. No portal is needed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MINIMAL = REPO / "tests/fixtures/catalogues/minimal"
PUBLISH = Path(sys.executable).parent / "publish"
PARTNERS = "datasets/partners/partners.csv"
ROLES = ["Projektträger", "Fördermittelgeber", "Förderabwicklung", "Wissenschaftlicher Partner", "Umsetzungspartner"]


def generated_catalogue(folder: Path, rows: int) -> Path:
    """The fixture catalogue with ``rows`` more partners (every one valid, sourced, referable)."""
    root = folder / "generated"
    shutil.copytree(MINIMAL, root, symlinks=True)
    with (root / PARTNERS).open("a", encoding="utf-8", newline="") as out:
        for i in range(rows):
            out.write(
                f"partner-{i},Partner {i},{ROLES[i % len(ROLES)]},Erzeugte Zeile {i},https://example.org/partner/{i}\n"
            )
    return root


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def in_process(root: Path, cache: Path, repeat: int) -> tuple[float, float, int]:
    """Median seconds of a cold and of a warm validation, and the rows checked."""
    from publish.catalogue import load_catalogue
    from publish.validation import validate

    colds, warms, rows = [], [], 0
    for attempt in range(repeat):
        folder = cache / f"in-process-{attempt}"
        os.environ["PUBLISH_VALIDATION_CACHE"] = str(folder)
        reports = []
        for times in (colds, warms):
            start = time.perf_counter()
            reports.append(validate(load_catalogue(root)))
            times.append(time.perf_counter() - start)
        if not all(r.valid for r in reports) or reports[0].rows != reports[1].rows:
            raise SystemExit(f"{root}: the catalogue should be valid, with the same rows cold and warm")
        rows = reports[0].rows
    return statistics.median(colds), statistics.median(warms), rows


def command(root: Path, cache: Path) -> tuple[float, float]:
    """Wall seconds of `publish validate` as a command, cold and warm (imports included)."""
    env = {**os.environ, "PUBLISH_VALIDATION_CACHE": str(cache / "command")}

    def once() -> None:
        subprocess.run([str(PUBLISH), "validate", "--catalogue", str(root)], env=env, check=True, capture_output=True)

    return timed(once), timed(once)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the generated table")
    parser.add_argument("--repeat", type=int, default=3, help="cold/warm pairs per catalogue (median)")
    args = parser.parse_args()
    from publish.catalogue import load_catalogue
    from publish.mapping import file_digest
    from publish.validation import validate

    with tempfile.TemporaryDirectory(prefix="validation-cache-") as temporary:
        folder = Path(temporary)
        generated = generated_catalogue(folder, args.rows)
        os.environ["PUBLISH_VALIDATION_CACHE"] = "off"
        validate(load_catalogue(MINIMAL))  # imports and first-use costs, not timed
        size = (generated / PARTNERS).stat().st_size
        print(f"{'catalogue':<42} {'rows':>8} {'cold s':>8} {'warm s':>8} {'speed-up':>9}")
        for name, root in (("shipped catalogue (datasets/)", REPO), (f"generated: {args.rows:,} rows", generated)):
            cold, warm, rows = in_process(root, folder / name.split()[0], args.repeat)
            print(f"{name:<42} {rows:>8,} {cold:>8.3f} {warm:>8.3f} {cold / warm:>8.1f}×")
        hashing = statistics.median(timed(lambda: file_digest(generated / PARTNERS)) for _ in range(args.repeat))
        print(f"hashing the generated file alone ({size / 1e6:.1f} MB, sha256 + md5): {hashing:.3f} s")
        for name, root in (("shipped catalogue", REPO), ("generated", generated)):
            cold, warm = command(root, folder / f"cmd-{name.split()[0]}")
            print(f"`publish validate` command, {name}: cold {cold:.2f} s, warm {warm:.2f} s (imports included)")


if __name__ == "__main__":
    main()
