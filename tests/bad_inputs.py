"""A corpus of bad and hostile inputs, each built by a small function in a copy of a catalogue.

Used by ``tests/test_bad_inputs.py`` (``publish validate``, no portal) and by
``tests/integration/test_bad_inputs.py`` (``publish diff``, ``push`` and ``pull`` against the local
portal). Builders only read the catalogue's own files (header, first rows), so they work on the
small fixture catalogue and on the shipped one alike.

Each :class:`Case` names the file the output must name and the exit code the README documents
(1: the catalogue's data is invalid, nothing written).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROJECTS = "datasets/projects/projects.csv"
LINKS = "datasets/projects/project_partners.csv"
PHASES = "datasets/phases/phases.csv"
PARTNERS = "datasets/partners/partners.csv"
DESCRIPTOR = "datasets/projects/datapackage.yaml"
PHASES_DESCRIPTOR = "datasets/phases/datapackage.json"
META = "datasets/catalogue.yaml"
SCHEMA = "schemas/projects.schema.json"
MAX_OUTPUT = 20_000  # bytes of output any bad input may produce
HOSTILE = "\x1b]0;pwned\x07\x1b[2J"  # sets the terminal title, clears the screen


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], None]
    names: str  # the file (relative to the catalogue) the output must name
    exit_code: int = 1


# ---- helpers that edit a catalogue copy --------------------------------------------------


def text(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="utf-8")


def lines(root: Path, rel: str) -> list[str]:
    return text(root, rel).splitlines()


def write(rel: str, content: bytes | str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        target = root / rel
        if target.is_symlink() or target.is_file():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    return build


def rows(root: Path, rel: str) -> list[list[str]]:
    with (root / rel).open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(root: Path, rel: str, table: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(table)
    (root / rel).write_text(buffer.getvalue(), encoding="utf-8")


def set_cell(rel: str, column: str, value: str, row: int = 1) -> Callable[[Path], None]:
    """Set ``column`` of data row ``row`` (1 = the first row after the header)."""

    def build(root: Path) -> None:
        table = rows(root, rel)
        table[row][table[0].index(column)] = value
        write_rows(root, rel, table)

    return build


def transform(rel: str, change: Callable[[str], str | bytes]) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        result = change(text(root, rel))
        (root / rel).write_bytes(result if isinstance(result, bytes) else result.encode("utf-8"))

    return build


def header_only(rel: str) -> Callable[[Path], None]:
    return transform(rel, lambda t: t.splitlines()[0] + "\n")


def zipped(rel: str, xlsx: bool = False) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            if xlsx:
                archive.writestr("[Content_Types].xml", "<Types/>")
                archive.writestr("xl/workbook.xml", "<workbook/>")
            else:
                archive.writestr(Path(rel).name, text(root, rel))
        (root / rel).write_bytes(buffer.getvalue())

    return build


def extra_cells(rel: str, count: int) -> Callable[[Path], None]:
    return transform(rel, lambda t: "\n".join([t.splitlines()[0], t.splitlines()[1] + ",x" * count]) + "\n")


def extra_columns(rel: str, count: int) -> Callable[[Path], None]:
    def change(t: str) -> str:
        head, first = t.splitlines()[:2]
        return f"{head}{''.join(f',extra{i}' for i in range(count))}\n{first}{',x' * count}\n"

    return transform(rel, change)


def new_folder(descriptor: str, content: str) -> Callable[[Path], None]:
    return write(f"datasets/neu/{descriptor}", content)


def alias_bomb() -> str:
    lines_ = ["a: &a ['x','x','x','x','x','x','x','x','x']"]
    lines_ += [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(9)]
    return "\n".join(lines_) + "\n"


def deep_yaml(depth: int = 50_000) -> str:
    return "resources: " + "[" * depth + "]" * depth + "\n"


def deep_block_yaml(depth: int = 200) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "v\n"


def deep_json(depth: int = 50_000) -> str:
    return '{"fields": ' + "[" * depth + "]" * depth + "}"


def descriptor_edit(old: str, new: str, rel: str = DESCRIPTOR) -> Callable[[Path], None]:
    def change(t: str) -> str:
        assert old in t, f"{old!r} not in {rel}"
        return t.replace(old, new, 1)

    return transform(rel, change)


def symlink_outside(rel: str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        outside = root.parent / "outside.csv"
        outside.write_bytes((root / rel).read_bytes())
        (root / rel).unlink()
        os.symlink(outside, root / rel)

    return build


def replace_by_folder(rel: str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        (root / rel).unlink()
        (root / rel).mkdir()

    return build


def second_descriptor(root: Path) -> None:
    shutil.copyfile(root / PHASES_DESCRIPTOR, root / "datasets/phases/datapackage.yaml")


def schema_edit(change: Callable[[dict], None], rel: str = SCHEMA) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        data = json.loads(text(root, rel))
        change(data)
        (root / rel).write_text(json.dumps(data), encoding="utf-8")

    return build


def many_ragged_rows(rel: str, count: int) -> Callable[[Path], None]:
    return transform(rel, lambda t: t.splitlines()[0] + "\n" + "a,b\n" * count)


def chain(*builders: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        for step in builders:
            step(root)

    return build


def utf(encoding: str, bom: bytes = b"") -> Callable[[str], bytes]:
    return lambda t: bom + t.encode(encoding)


# ---- the corpus ----------------------------------------------------------------------------

CSV_CASES = [
    Case("csv-zip-archive", zipped(PROJECTS), PROJECTS),
    Case("csv-xlsx-workbook", zipped(PROJECTS, xlsx=True), PROJECTS),
    Case("csv-gzip", transform(PROJECTS, lambda t: gzip.compress(t.encode())), PROJECTS),
    Case("csv-pdf", write(PROJECTS, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"), PROJECTS),
    Case("csv-old-xls", write(PROJECTS, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512), PROJECTS),
    Case("csv-png", write(PROJECTS, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), PROJECTS),
    Case("csv-nul-bytes", transform(PROJECTS, lambda t: t.replace(",", ",\x00", 3)), PROJECTS),
    Case("csv-utf16-le-bom", transform(PROJECTS, utf("utf-16-le", codecs.BOM_UTF16_LE)), PROJECTS),
    Case("csv-utf16-be-bom", transform(PROJECTS, utf("utf-16-be", codecs.BOM_UTF16_BE)), PROJECTS),
    Case("csv-utf16-no-bom", transform(PROJECTS, utf("utf-16-le")), PROJECTS),
    Case("csv-utf32", transform(PROJECTS, utf("utf-32")), PROJECTS),
    Case("csv-utf8-bom", transform(PROJECTS, lambda t: codecs.BOM_UTF8 + t.encode()), PROJECTS),
    Case("csv-latin1", chain(set_cell(PROJECTS, "name", "Grüße"), transform(PROJECTS, utf("latin-1"))), PROJECTS),
    Case("csv-cr-only", transform(PROJECTS, lambda t: t.replace("\n", "\r")), PROJECTS),
    Case("csv-single-line-300kb", write(PROJECTS, "x" * 300_000), PROJECTS),
    Case("csv-line-over-limit", set_cell(PROJECTS, "description", "y" * 200_000), PROJECTS),
    Case("csv-10000-extra-cells", extra_cells(PROJECTS, 10_000), PROJECTS),
    Case("csv-10000-extra-columns", extra_columns(PROJECTS, 10_000), PROJECTS),
    Case("csv-header-missing-column", transform(PROJECTS, lambda t: t.replace(",source_date", "", 1)), PROJECTS),
    Case("csv-300-ragged-rows", many_ragged_rows(PROJECTS, 300), PROJECTS),
    Case("csv-semicolons", transform(PROJECTS, lambda t: t.replace(",", ";")), PROJECTS),
    Case("csv-tabs", transform(PROJECTS, lambda t: t.replace(",", "\t")), PROJECTS),
    Case("csv-unbalanced-quote", transform(PROJECTS, lambda t: t + '"unclosed,cell\n'), PROJECTS),
    Case("csv-malformed-quote", transform(PROJECTS, lambda t: t + 'a,"b"c,d\n'), PROJECTS),
    Case("csv-empty", write(PROJECTS, b""), PROJECTS),
    Case("csv-only-newlines", write(PROJECTS, b"\n\n\n"), PROJECTS),
    Case("csv-is-a-folder", replace_by_folder(PROJECTS), PROJECTS),
    Case("csv-missing", lambda root: (root / LINKS).unlink(), LINKS),
    Case("csv-symlink-outside", symlink_outside(PROJECTS), DESCRIPTOR),
    Case("csv-control-chars-in-cell", set_cell(PROJECTS, "status", HOSTILE), PROJECTS),
    Case("csv-control-chars-in-header", transform(PROJECTS, lambda t: t.replace("name", HOSTILE, 1)), PROJECTS),
    Case("csv-huge-bad-cell", set_cell(PROJECTS, "start_year", "9" * 100_000), PROJECTS),
    Case("csv-wrong-type", set_cell(PROJECTS, "start_year", "zwanzig"), PROJECTS),
    Case("csv-enum", set_cell(PROJECTS, "status", "fertig"), PROJECTS),
    Case("csv-pattern", set_cell(PROJECTS, "id", "Kein Muster!"), PROJECTS),
    Case("csv-required-empty", set_cell(PROJECTS, "name", ""), PROJECTS),
    Case("csv-duplicate-key", transform(PROJECTS, lambda t: t + t.splitlines()[1] + "\n"), PROJECTS),
    Case("csv-blank-row", transform(PROJECTS, lambda t: t + ",,,,,,,,,,\n"), PROJECTS),
    Case("csv-renamed-column", transform(PROJECTS, lambda t: t.replace(",name,", ",titel,", 1)), PROJECTS),
    Case("fk-unknown-partner", set_cell(LINKS, "partner_id", "unbekannt"), LINKS),
    Case("fk-target-header-only-across", header_only(PHASES), PHASES),
    Case("fk-target-header-only-partners", header_only(PARTNERS), PARTNERS),
    Case("fk-target-header-only-inside", header_only(PROJECTS), PROJECTS),
]

DESCRIPTOR_CASES = [
    Case("yaml-alias-bomb", write(DESCRIPTOR, alias_bomb()), DESCRIPTOR),
    Case("yaml-one-alias", descriptor_edit("title:", "x: &t [1]\ny: *t\ntitle:"), DESCRIPTOR),
    Case("yaml-50000-nested-lists", write(DESCRIPTOR, deep_yaml()), DESCRIPTOR),
    Case("yaml-deep-block-mappings", write(DESCRIPTOR, deep_block_yaml()), DESCRIPTOR),
    Case("yaml-empty", write(DESCRIPTOR, ""), DESCRIPTOR),
    Case("yaml-comments-only", write(DESCRIPTOR, "# noch leer\n"), DESCRIPTOR),
    Case("yaml-empty-mapping", write(DESCRIPTOR, "{}\n"), DESCRIPTOR),
    Case("yaml-a-list", write(DESCRIPTOR, "- name: x\n"), DESCRIPTOR),
    Case("yaml-a-string", write(DESCRIPTOR, "just a sentence\n"), DESCRIPTOR),
    Case("yaml-syntax-error", write(DESCRIPTOR, "name: [unclosed\ntitle: x\n"), DESCRIPTOR),
    Case("yaml-latin1", transform(DESCRIPTOR, lambda t: (t + "# Grüße\n").encode("latin-1")), DESCRIPTOR),
    Case("yaml-over-1-mib", transform(DESCRIPTOR, lambda t: t + "#" + "x" * 1_100_000 + "\n"), DESCRIPTOR),
    Case("yaml-control-chars-in-name", descriptor_edit("name: ", 'name: "\\e]0;pwned\\a"\nx: '), DESCRIPTOR),
    Case("yaml-unsafe-path", descriptor_edit("path: projects.csv", "path: ../../etc/passwd"), DESCRIPTOR),
    Case("yaml-url-path", descriptor_edit("path: projects.csv", "path: https://example.org/p.csv"), DESCRIPTOR),
    Case("yaml-python-tag", descriptor_edit("title:", "x: !!python/object/apply:os.system [id]\ntitle:"), DESCRIPTOR),
    Case("new-folder-empty", new_folder("datapackage.yaml", ""), "datasets/neu/datapackage.yaml"),
    Case("new-folder-comments", new_folder("datapackage.yaml", "# to do\n"), "datasets/neu/datapackage.yaml"),
    Case("new-folder-empty-mapping", new_folder("datapackage.yaml", "{}"), "datasets/neu/datapackage.yaml"),
    Case("new-folder-empty-json", new_folder("datapackage.json", "{}"), "datasets/neu/datapackage.json"),
    Case("new-folder-no-descriptor", new_folder("README.txt", "später"), "datasets/neu/"),
    Case("two-descriptors", second_descriptor, "datasets/phases/"),
    Case("json-50000-nested", write(PHASES_DESCRIPTOR, deep_json()), PHASES_DESCRIPTOR),
    Case("json-syntax-error", write(PHASES_DESCRIPTOR, '{"name": "x",}'), PHASES_DESCRIPTOR),
    Case("json-empty-object", write(PHASES_DESCRIPTOR, "{}"), PHASES_DESCRIPTOR),
    Case("json-utf16", transform(PHASES_DESCRIPTOR, utf("utf-16")), PHASES_DESCRIPTOR),
    Case("meta-alias", transform(META, lambda t: t + "extra: &e [1, 2]\nmore: *e\n"), META),
    Case("meta-empty", write(META, ""), META),
    Case("meta-comments-only", write(META, "# nothing\n"), META),
    Case("meta-deep", write(META, deep_yaml()), META),
    Case("meta-alias-bomb", write(META, alias_bomb()), META),
    Case("meta-missing", lambda root: (root / META).unlink(), META),
    Case("schema-empty-object", write(SCHEMA, "{}"), SCHEMA),
    Case("schema-50000-nested", write(SCHEMA, deep_json()), SCHEMA),
    Case("schema-syntax-error", write(SCHEMA, '{"fields": ['), SCHEMA),
    Case("schema-zip", zipped(SCHEMA), SCHEMA),
    Case("schema-field-without-title", schema_edit(lambda d: d["fields"][0].pop("title")), SCHEMA),
    Case("schema-not-a-table-schema", write(SCHEMA, '{"fields": "none"}'), SCHEMA),
]

CASES = CSV_CASES + DESCRIPTOR_CASES
