"""Byte-level CSV checks: what a file is, its line endings, and its shape, each one problem."""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile
from pathlib import Path

import pytest

from publish.csv_checks import MAX_LINE_BYTES, MAX_ROW_PROBLEMS, check_csv_file

FIELDS = ["id", "name", "year"]
GOOD = "id,name,year\na,Eins,2021\nb,Zwei,2022\n"


def check(tmp_path: Path, content: bytes, fields: list[str] | None = FIELDS) -> list[tuple[str, int | None, str]]:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    return [(p.code, p.row, p.message) for p in check_csv_file(path, "t.csv", fields)]


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("projects.csv", GOOD)
    return buffer.getvalue()


def test_a_good_file_has_no_problems(tmp_path: Path) -> None:
    assert check(tmp_path, GOOD.encode()) == []


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (zip_bytes(), "it is a ZIP archive"),
        (xlsx_bytes(), "it is an Excel workbook (.xlsx"),
        (gzip.compress(GOOD.encode(), mtime=0), "it is a gzip-compressed file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "it is a PDF document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "an old Excel workbook (.xls)"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "a PNG image"),
        (b"id,name\x00\x01\x02,year\n", "contains NUL bytes"),
    ],
)
def test_a_file_that_is_no_csv_says_what_it_is(tmp_path: Path, content: bytes, says: str) -> None:
    ((code, row, message),) = check(tmp_path, content)
    assert (code, row) == ("not-csv", 1)
    assert says in message


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (codecs.BOM_UTF16_LE + GOOD.encode("utf-16-le"), "UTF-16"),
        (codecs.BOM_UTF16_BE + GOOD.encode("utf-16-be"), "UTF-16"),
        (GOOD.encode("utf-16-le"), "UTF-16"),
        (GOOD.encode("utf-16-be"), "UTF-16"),
        (GOOD.encode("utf-32"), "UTF-32"),
        (GOOD.encode("utf-32-be"), "UTF-32"),
    ],
)
def test_utf16_and_utf32_are_named(tmp_path: Path, content: bytes, encoding: str) -> None:
    ((code, _, message),) = check(tmp_path, content)
    assert code == "encoding-error"
    assert f"the file is {encoding}" in message and "save it as UTF-8" in message
    assert "Latin-1" not in message


def test_cr_only_line_endings_are_named(tmp_path: Path) -> None:
    ((code, _, message),) = check(tmp_path, GOOD.replace("\n", "\r").encode())
    assert code == "line-endings"
    assert "lines end in CR only" in message


def test_crlf_line_endings_are_fine(tmp_path: Path) -> None:
    assert check(tmp_path, GOOD.replace("\n", "\r\n").encode()) == []


def test_a_row_with_10000_extra_cells_is_one_problem(tmp_path: Path) -> None:
    content = GOOD + "c,Drei,2023" + ",x" * 10_000 + "\n"
    ((code, row, message),) = check(tmp_path, content.encode())
    assert (code, row) == ("extra-cell", 4)
    assert "the row has 10,003 cells, the header 3" in message
    assert len(message) < 300


def test_a_short_row_names_its_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(GOOD + "c,Drei\n")
    (problem,) = check_csv_file(path, "t.csv", FIELDS)
    assert (problem.code, problem.row, problem.field) == ("missing-cell", 4, "year")
    assert "the row has 2 cells, the header 3: no value for 'year'" in problem.message


def test_rows_of_the_wrong_width_are_named_up_to_a_limit_then_counted(tmp_path: Path) -> None:
    content = "id,name,year\n" + "a,b,c,d\n" * (MAX_ROW_PROBLEMS + 30)
    problems = check(tmp_path, content.encode())
    assert len(problems) == MAX_ROW_PROBLEMS + 1
    assert problems[-1][0] == "row-width" and problems[-1][2].startswith("30 more rows")


def test_blank_rows_are_left_to_the_table_checks(tmp_path: Path) -> None:
    assert check(tmp_path, (GOOD + ",,\n\n").encode()) == []


def test_a_header_with_10000_extra_columns_is_one_problem(tmp_path: Path) -> None:
    header = ",".join(FIELDS + [f"extra{i}" for i in range(10_000)])
    row = ",".join(["a", "Eins", "2021"] + ["x"] * 10_000)
    ((code, row_number, message),) = check(tmp_path, f"{header}\n{row}\n".encode())
    assert (code, row_number) == ("extra-label", 1)
    assert "the header has 10,003 columns, the schema 3" in message
    assert "'extra0'" in message and "and 9,995 more" in message
    assert len(message) < 500


def test_a_header_missing_columns_is_one_problem(tmp_path: Path) -> None:
    ((code, _, message),) = check(tmp_path, b"id,name\na,b\n")
    assert code == "missing-label" and "missing 'year'" in message


def test_a_line_over_the_limit_is_one_problem_and_never_echoed(tmp_path: Path) -> None:
    content = b"id,name,year\na," + b"y" * (MAX_LINE_BYTES + 10) + b",2021\nb,Zwei,2022\n"
    ((code, row, message),) = check(tmp_path, content)
    assert (code, row) == ("line-too-long", 2)
    assert "yyyy" not in message and len(message) < 300


def test_a_single_line_file_over_the_limit(tmp_path: Path) -> None:
    ((code, row, _),) = check(tmp_path, b"x" * (3 * MAX_LINE_BYTES))
    assert (code, row) == ("line-too-long", 1)


def test_latin1_is_still_named_with_its_line(tmp_path: Path) -> None:
    ((code, row, message),) = check(tmp_path, "id,name,year\na,Grüße,2021\n".encode("latin-1"))
    assert (code, row) == ("encoding-error", 2)
    assert "0xFC" in message


def test_a_long_latin1_line_is_quoted_short(tmp_path: Path) -> None:
    line = "a," + "x" * 5000 + "ü" + "y" * 5000 + ",2021\n"
    ((_, _, message),) = check(tmp_path, ("id,name,year\n" + line).encode("latin-1"))
    assert len(message) < 400


def test_rows_are_not_measured_against_a_header_of_the_wrong_width(tmp_path: Path) -> None:
    wide_header = ",".join(FIELDS + [f"extra{i}" for i in range(100)])
    content = wide_header + "\n" + "a,Eins,2021\n" * 50
    ((code, _, _),) = check(tmp_path, content.encode())
    assert code == "extra-label"


def test_a_header_of_the_wrong_width_still_gets_its_quoting_checked(tmp_path: Path) -> None:
    ((code, _, _),) = check(tmp_path, b'id,name\na,"open\n')
    assert code == "quote-error"
