"""Byte-level checks of a CSV file that must pass before Frictionless reads it.

Frictionless guesses encodings and forgives broken quoting in ways that hide the real problem
(a Latin-1 file reads "fine", an unclosed quote shows up as a missing cell). These checks stream
the file once and name the line where it goes wrong.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
from collections.abc import Iterator
from pathlib import Path

from .report import Problem

UTF8_BOM = codecs.BOM_UTF8


def check_csv_file(path: Path, shown: str) -> list[Problem]:
    """Return problems that make ``path`` unreadable as UTF-8 CSV (empty list when readable)."""
    if not path.exists():
        return [Problem(shown, "file-missing", "file not found")]
    if not path.is_file():
        return [Problem(shown, "file-missing", "not a regular file")]
    if path.stat().st_size == 0:
        return [Problem(shown, "empty-file", "the file is empty; it needs at least the header row", row=1)]
    with path.open("rb") as handle:
        if handle.read(len(UTF8_BOM)) == UTF8_BOM:
            return [
                Problem(
                    shown,
                    "byte-order-mark",
                    "the file starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without BOM",
                    row=1,
                )
            ]
    problems: list[Problem] = []
    separator = _wrong_separator(path, shown)
    if separator is not None:  # still say whether the encoding is wrong too, but parse no further
        for _ in _decoded_lines(path, shown, problems):
            pass
        return [separator, *problems]
    lines = _decoded_lines(path, shown, problems)
    reader = csv.reader(lines, strict=True)
    record_start = 1
    try:
        for _ in reader:
            record_start = reader.line_num + 1
    except csv.Error as exc:
        if problems:  # an encoding problem stopped the line stream; that is the real cause
            return problems
        if "end of data" in str(exc) or "EOF" in str(exc):
            message = (
                f"unbalanced quotes: a quoted cell opened on line {record_start} is never closed "
                '(a missing or extra " character)'
            )
        else:
            message = f'malformed quoting on line {reader.line_num}: {exc} (double a quote inside a quoted cell: "")'
            record_start = reader.line_num
        return [Problem(shown, "quote-error", message, row=record_start)]
    return problems


def _wrong_separator(path: Path, shown: str) -> Problem | None:
    """A problem when the header row is separated by semicolons or tabs instead of commas.

    Spreadsheets in German settings save "CSV" with semicolons; Frictionless would then see one
    long column and report every column and row as wrong. One clear message is better.
    """
    with path.open("rb") as handle:
        header = handle.readline().decode("utf-8", errors="replace")
    if "," in header:
        return None
    for separator, name in ((";", "semicolons"), ("\t", "tabs")):
        if separator in header:
            return Problem(
                shown,
                "wrong-separator",
                f"the columns are separated by {name}, not commas (spreadsheets in German settings save CSV "
                "with ';'); save the file with ',' as field separator (LibreOffice: Text CSV, "
                "Feldtrenner ',') and UTF-8",
                row=1,
            )
    return None


def _decoded_lines(path: Path, shown: str, problems: list[Problem]) -> Iterator[str]:
    """Yield the file's lines decoded as UTF-8; stop with a problem at the first bad byte."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                byte = raw[exc.start : exc.start + 1]
                hint = ""
                with contextlib.suppress(UnicodeDecodeError):
                    hint = f" ('{raw[: exc.end + 8].decode('cp1252').strip()}' in Windows-1252/Latin-1)"
                problems.append(
                    Problem(
                        shown,
                        "encoding-error",
                        f"not valid UTF-8 at line {number}, byte {exc.start + 1} (0x{byte.hex().upper()}){hint}; "
                        "the file looks Latin-1/Windows-1252 encoded: save it as UTF-8",
                        row=number,
                    )
                )
                return
