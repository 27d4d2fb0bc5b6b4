"""Byte-level checks of a CSV file that must pass before Frictionless reads it.

Frictionless guesses encodings and forgives broken quoting in ways that hide the real problem
(a Latin-1 file reads "fine", an unclosed quote shows up as a missing cell), and it reports a
row with 10,000 extra cells as 10,000 problems. These checks stream the file once, in bounded
memory, and name what is wrong in one problem each:

- what the file is when it is no CSV at all (a ZIP archive, an Excel workbook, gzip, PDF, ...),
- UTF-16/UTF-32 text, a UTF-8 byte-order mark, bytes that are not UTF-8,
- lines that end in CR only, a header separated by semicolons or tabs,
- a line longer than :data:`MAX_LINE_BYTES` (the bound on memory per row),
- unbalanced or malformed quotes,
- a header whose number of columns differs from the schema's fields, and each row whose number
  of cells differs from the header: one problem per row, however many cells it has (at most
  :data:`MAX_ROW_PROBLEMS` rows named, then a count).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
from collections.abc import Iterator
from pathlib import Path

from .report import Problem, shorten
from .units import human_bytes

UTF8_BOM = codecs.BOM_UTF8
HEAD_BYTES = 64 * 1024  # what is looked at to tell what a file is
# A longer line is refused: it bounds the memory one row (and each problem that keeps its row) can
# take. 131,072 is also the default cell limit of Python's csv module.
MAX_LINE_BYTES = 128 * 1024
MAX_ROW_PROBLEMS = 20  # rows named by their cell count; further ones are counted
SHOWN_NAMES = 5  # column names listed in a header problem

# Leading bytes of files that are no CSV, what they are, and what to do.
MAGIC: list[tuple[bytes, str, str]] = [
    (b"PK\x03\x04", "a ZIP archive", "unpack it and point the descriptor at the CSV file inside"),
    (b"PK\x05\x06", "an empty ZIP archive", "use the CSV file itself"),
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it (gunzip) and use the CSV file"),
    (b"BZh", "a bzip2-compressed file", "decompress it (bunzip2) and use the CSV file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "decompress it (unxz) and use the CSV file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "unpack it and use the CSV file inside"),
    (b"%PDF-", "a PDF document", "export the table as CSV (UTF-8) instead"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old Excel workbook (.xls) or another Office file",
        "save it as 'CSV UTF-8 (comma delimited)'",
    ),
    (b"\x89PNG", "a PNG image", "use the CSV file"),
    (b"\xff\xd8\xff", "a JPEG image", "use the CSV file"),
    (b"{\\rtf", "an RTF document", "save the table as CSV (UTF-8) instead"),
]
WIDE_BOMS = [
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
]


def check_csv_file(path: Path, shown: str, fields: list[str] | None = None) -> list[Problem]:
    """Return problems that make ``path`` unreadable as UTF-8 CSV (empty list when readable).

    ``fields``: the schema's field names, to compare with the header's number of columns.
    Memory stays bounded whatever the file holds: at most :data:`MAX_LINE_BYTES` per row.
    """
    if not path.exists():
        return [Problem(shown, "file-missing", "file not found")]
    if not path.is_file():
        return [Problem(shown, "file-missing", "not a regular file")]
    if path.stat().st_size == 0:
        return [Problem(shown, "empty-file", "the file is empty; it needs at least the header row", row=1)]
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if head.startswith(UTF8_BOM):
        return [
            Problem(
                shown,
                "byte-order-mark",
                "the file starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without BOM",
                row=1,
            )
        ]
    kind = _file_kind(head, shown)
    if kind is not None:
        return [kind]
    if b"\r" in head and b"\n" not in head:
        return [
            Problem(
                shown,
                "line-endings",
                "lines end in CR only (old Mac line endings), so the file reads as one line; save it with "
                "LF or CRLF line endings",
                row=1,
            )
        ]
    problems: list[Problem] = []
    separator = _wrong_separator(head, shown)
    if separator is not None:  # still say whether the encoding is wrong too, but parse no further
        for _ in _decoded_lines(path, shown, problems):
            pass
        return [separator, *problems]
    return _check_structure(path, shown, fields, problems)


def _file_kind(head: bytes, shown: str) -> Problem | None:
    """A problem saying what the file is when its first bytes show it is no UTF-8 text."""
    for bom, encoding in WIDE_BOMS:
        if head.startswith(bom):
            return _wide(shown, encoding, "byte-order mark")
    for magic, what, fix in MAGIC:
        if head.startswith(magic):
            if magic == b"PK\x03\x04":
                if b"[Content_Types].xml" in head or b"xl/" in head:
                    what, fix = "an Excel workbook (.xlsx, a ZIP archive)", "save it as 'CSV UTF-8 (comma delimited)'"
                elif b"opendocument.spreadsheet" in head:
                    what, fix = "an OpenDocument spreadsheet (.ods)", "save it as Text CSV, UTF-8, separator ','"
            return Problem(shown, "not-csv", f"this is not a CSV file: it is {what}; {fix}", row=1)
    if b"\x00" in head:
        sample = head[:4096]
        half = len(sample) // 2
        even = sample[0::2].count(0)
        odd = sample[1::2].count(0)
        if sample[0::4].count(0) + sample[1::4].count(0) + sample[2::4].count(0) > 0.7 * 3 * len(sample) / 4:
            return _wide(shown, "UTF-32", "pattern of NUL bytes")
        if half and (even > 0.7 * half or odd > 0.7 * half):
            return _wide(shown, "UTF-16", "pattern of NUL bytes")
        return Problem(
            shown,
            "not-csv",
            f"this is not a text file: it contains NUL bytes (first at byte {head.index(0) + 1}); "
            "is it a binary file saved under a .csv name?",
            row=1,
        )
    return None


def _wide(shown: str, encoding: str, evidence: str) -> Problem:
    return Problem(
        shown,
        "encoding-error",
        f"the file is {encoding} (its {evidence} shows it), as some spreadsheets save 'Unicode text' — "
        "save it as UTF-8",
        row=1,
    )


def _check_structure(path: Path, shown: str, fields: list[str] | None, problems: list[Problem]) -> list[Problem]:
    """Quoting, the header's width against the schema, and each row's width against the header."""
    reader = csv.reader(_decoded_lines(path, shown, problems), strict=True)
    found: list[Problem] = []
    record_start = 1
    uneven = 0
    try:
        header = next(reader, [])
        found += _header_problems(shown, header, fields)
        # A header of the wrong width is the one problem to fix: rows are not measured against it.
        width = -1 if found else len(header)
        record_start = reader.line_num + 1
        # Rows count records (as Frictionless does): the header is row 1. Blank rows are left to
        # the table checks; the cheap width test comes first, this loop runs for every row.
        for row, record in enumerate(reader, start=2):
            if len(record) != width and width >= 0 and any(record):
                uneven += 1
                if uneven <= MAX_ROW_PROBLEMS:
                    found.append(_row_problem(shown, row, record, header))
            record_start = reader.line_num + 1
    except csv.Error as exc:
        if problems:  # an encoding problem or a long line stopped the line stream; that is the real cause
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
    if problems:
        return problems
    if uneven > MAX_ROW_PROBLEMS:
        found.append(
            Problem(
                shown,
                "row-width",
                f"{uneven - MAX_ROW_PROBLEMS:,} more rows have a different number of cells than the header "
                f"({uneven:,} in all; the first {MAX_ROW_PROBLEMS} are named)",
            )
        )
    return found


def _header_problems(shown: str, header: list[str], fields: list[str] | None) -> list[Problem]:
    if fields is None or len(header) == len(fields):
        return []
    if len(header) > len(fields):
        extra = header[len(fields) :]
        names = ", ".join(f"'{shorten(n)}'" for n in extra[:SHOWN_NAMES])
        more = f" and {len(extra) - SHOWN_NAMES:,} more" if len(extra) > SHOWN_NAMES else ""
        detail = f"column(s) {len(fields) + 1:,}–{len(header):,} ({names}{more}) are not in the schema"
        code = "extra-label"
    else:
        missing = fields[len(header) :]
        names = ", ".join(f"'{n}'" for n in missing[:SHOWN_NAMES])
        more = f" and {len(missing) - SHOWN_NAMES:,} more" if len(missing) > SHOWN_NAMES else ""
        detail = f"missing {names}{more}"
        code = "missing-label"
    expected = shorten(", ".join(fields), 400)
    return [
        Problem(
            shown,
            code,
            f"the header has {len(header):,} columns, the schema {len(fields):,}: {detail}; "
            f"expected columns: {expected}",
            row=1,
        )
    ]


def _row_problem(shown: str, row: int, record: list[str], header: list[str]) -> Problem:
    if len(record) > len(header):
        extra = next((c for c in record[len(header) :] if c), "")
        hint = f"; the first extra value is '{shorten(extra)}'" if extra else ""
        return Problem(
            shown,
            "extra-cell",
            f"the row has {len(record):,} cells, the header {len(header):,}{hint} "
            '(a comma inside a value needs quotes: "a, b")',
            row=row,
        )
    missing = header[len(record) :]
    names = ", ".join(f"'{shorten(n)}'" for n in missing[:SHOWN_NAMES])
    more = f" and {len(missing) - SHOWN_NAMES:,} more" if len(missing) > SHOWN_NAMES else ""
    return Problem(
        shown,
        "missing-cell",
        f"the row has {len(record):,} cells, the header {len(header):,}: no value for {names}{more}",
        row=row,
        field=missing[0] if len(missing) == 1 else None,
    )


def _wrong_separator(head: bytes, shown: str) -> Problem | None:
    """A problem when the header row is separated by semicolons or tabs instead of commas.

    Spreadsheets in German settings save "CSV" with semicolons; Frictionless would then see one
    long column and report every column and row as wrong. One clear message is better.
    """
    header = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
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
    """Yield the file's lines decoded as UTF-8; stop with a problem at the first bad byte.

    No line longer than :data:`MAX_LINE_BYTES` is ever held in memory: such a line stops the
    stream with a problem.
    """
    with path.open("rb") as handle:
        number = 0
        while raw := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                rest = len(raw)
                while chunk := handle.readline(MAX_LINE_BYTES):
                    rest += len(chunk)
                    if chunk.endswith(b"\n"):
                        break
                problems.append(
                    Problem(
                        shown,
                        "line-too-long",
                        f"line {number:,} is {human_bytes(rest)} long; a CSV line may be at most "
                        f"{MAX_LINE_BYTES:,} bytes (is this really a table, with a line break after each row?)",
                        row=number,
                    )
                )
                return
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                byte = raw[exc.start : exc.start + 1]
                hint = ""
                with contextlib.suppress(UnicodeDecodeError):
                    context = raw[max(0, exc.start - 24) : exc.end + 8].decode("cp1252").strip()
                    hint = f" ('{shorten(context)}' in Windows-1252/Latin-1)"
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
