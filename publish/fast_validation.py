"""A vectorised Table Schema check with Frictionless' exact error list, in bounded memory.

Frictionless reads a CSV row by row and runs a Python function per cell; at 1M rows × 11
columns that is ~40 s (25k rows/s). This engine reads the file in blocks with pyarrow's
streaming CSV reader and decides whole columns at once, and still reports exactly what
Frictionless reports (row number, field, error type, note, message, in Frictionless' order),
because every verdict that is not trivially "valid" is made by Frictionless' own cell reader:

- **Fast path (vectorised).** For each column a conservative test in pyarrow compute says which
  cells are certainly valid and already in their canonical form: a plain string that is not a
  missing value; a URI with a scheme; an integer without sign tricks or leading zeros; a plain
  decimal number; a date in the default format (``YYYY-MM-DD``, a day that exists, no
  constraints); each with ``enum`` / ``minLength`` / ``maxLength`` / ``pattern`` (when the
  regular expression means the same in RE2 and Python) / ``minimum`` / ``maximum`` checked on
  the column. A cell that passes needs no further look.
- **Exact path.** Every other cell (missing values, bad values, other dates, booleans, e-mail
  addresses, any format or option the fast path does not know) goes, once per distinct value in
  the block, through the cell reader Frictionless itself builds from the field. Its notes are the
  errors; its parsed value is the value keys are compared on. So an exotic type or constraint is
  decided exactly, only more slowly — never skipped.
- **Keys.** ``unique``, ``primaryKey`` and ``foreignKeys`` compare parsed values, as Frictionless
  does: by their text (``str`` of the parsed value), which is exact for the key types allowed
  here (string, integer, year, date, boolean).

The whole table falls back to Frictionless (:class:`Unsupported`, with the reason; the caller
says so) when the engine cannot promise the same list: pyarrow is not installed, the header is
not exactly the schema's field names, pyarrow cannot parse the file the way Python's csv module
does (e.g. an empty line in a table of several columns), a key uses a type whose values do not
compare by their text (number, datetime, ...), a foreign key joins fields of different types,
the schema uses ``fieldsMatch``, or a piece of the file may hold both a quote inside an unquoted
cell and a line break inside a quoted cell (then counting quotes cannot find where records end;
the test is conservative: most files with line breaks inside quoted cells fall back).

Why pyarrow: measured on the generated 1M-row × 11-column CSV of
``benchmarks/validation_speed.py`` (134 MB; 2 cores shared with other jobs), reading every column
as strings takes 1.0 s with ``pyarrow.csv.read_csv`` and 7.1 s with pandas'
``read_csv(dtype=str, chunksize=100_000)`` (a Python string object per cell); pyarrow's compute
kernels (RE2 regular expressions, ``is_in``, ``utf8_length``, casts) then check a column without
Python objects, and ``dictionary_encode`` finds the distinct values that need the exact path.

Memory: the file is cut into pieces of about :data:`BLOCK_BYTES` at record ends and each piece
parsed on its own (pyarrow's streaming reader would read the whole file ahead); the cache of exact
verdicts per column (:data:`CACHE_LIMIT` distinct values). Keys: in a table up to
:data:`SPILL_BYTES`, every unique field and the primary key remember each value seen (about
100 bytes per value); in a larger one a first pass writes an 8-byte hash per row to
:data:`BUCKETS` files on disk, sorts each on its own to find the hashes that repeat, and the
checking pass remembers only the values with such a hash (collisions re-checked exactly): memory
is one piece, 1/16 of the hashes, and the repeated values. A foreign key keeps the set of the
referenced table's key values; from a referenced table larger than :data:`SPILL_BYTES` it writes
them to a temporary SQLite file and looks up each piece's keys there (exact; 16 MiB of cache).
Measured: 268 MB peak for a 1 GiB file with a primary key and a unique field (about 200 MB of
it the libraries loaded).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK_BYTES = 4 << 20  # bytes of CSV parsed at a time (8 MiB: same speed, ~60 MB more peak memory)
SPILL_BYTES = 64 << 20  # a larger table finds repeated keys by hashes spilled to disk (bounded memory)
BUCKETS = 16  # files the hashes of one key are spread over (by their top four bits)
_STRAY_QUOTE = re.compile(rb'[,\n][^",\n]+"')  # a cell that starts without a quote and has one
PRIMARY = "\x00primary key"  # the primary key among the keys whose repeats are looked for
CACHE_LIMIT = 100_000  # exact verdicts remembered per column (distinct values)
KEY_TYPES = {"string", "integer", "year", "date", "boolean"}  # key values compare exactly by their text
_INT = r"^(0|-?[1-9][0-9]{0,17})$"  # int() reads these, and str(int(x)) == x
_NUMBER = r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$"  # Decimal() reads these
_URI = r"^[A-Za-z][A-Za-z0-9+.\-]*:[!-~]*$"  # rfc3986 finds a scheme in these (a subset)
# strptime("%Y-%m-%d") reads these when the day exists (year 0001-9999), and str(date) gives them back.
_DATE = (
    r"^(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"  # not year 0000
    r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
)
# Regular-expression syntax whose meaning is the same in RE2 (pyarrow) and Python's re, or where
# RE2 accepts a subset of what Python accepts (\d, \w, \s are ASCII-only in RE2).
_SAFE_PATTERN = re.compile(
    r"(?:[^\\\[\](){}?*+|^$.]|\\[.\-\\/\[\](){}?*+|^$dws]|[.?*+|^$\]]|\((?!\?)|\)|\{\d+(,\d*)?\}|\[(?!\^))*"
)
TEMPLATES = {
    "type-error": 'Type error in the cell "{cell}" in row "{row}" and field "{field}" at position "{number}": {note}',
    "constraint-error": (
        'The cell "{cell}" in row at position "{row}" and field "{field}" at position "{number}" '
        "does not conform to a constraint: {note}"
    ),
    "unique-error": (
        'Row at position "{row}" has unique constraint violation in field "{field}" at position "{number}": {note}'
    ),
    "primary-key": 'Row at position "{row}" violates the primary key: {note}',
    "foreign-key": 'Row at position "{row}" violates the foreign key: {note}',
    "blank-row": 'Row at position "{row}" is completely blank',
}


class Unsupported(Exception):
    """This table must be validated by Frictionless itself; the message says why."""


@dataclass
class FastError:
    """One error, with the attributes of the Frictionless error it stands for."""

    type: str
    row_number: int
    note: str = ""
    field_name: str | None = None
    field_number: int | None = None
    cell: str | None = None
    field_names: list[str] = field(default_factory=list)
    field_cells: list[str] = field(default_factory=list)
    reference_name: str = ""
    reference_field_names: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return TEMPLATES[self.type].format(
            cell=self.cell, row=self.row_number, field=self.field_name, number=self.field_number, note=self.note
        )


@dataclass
class Source:
    """A table of the package: its name there, its file and its Table Schema (a descriptor)."""

    name: str
    path: Path
    schema: dict[str, Any]


@dataclass
class Result:
    """Rows read, per table name (the validated one and every table a foreign key read)."""

    rows: dict[str, int] = field(default_factory=dict)


def available() -> bool:
    try:
        import pyarrow
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def validate(source: Source, package: dict[str, Source], result: Result | None = None) -> Iterator[FastError]:
    """The errors of ``source``, in Frictionless' order (by row), as its ``Resource.validate`` finds them.

    ``source.schema`` carries its ``foreignKeys``; their ``reference.resource`` names a table of
    ``package`` (or is empty / the table's own name for a self-reference). Raises
    :class:`Unsupported` — possibly after some errors were yielded: then discard them.
    """
    if not available():
        raise Unsupported("pyarrow is not installed")
    result = result if result is not None else Result()
    table = _Table(source)
    groups: list[_ForeignKey] = []
    try:
        for key in table.foreign_keys():
            groups.append(_ForeignKey(key, source, package, result))
        yield from table.check(groups, result)
    finally:
        for group in groups:
            group.close()


class _Column:
    """How one field is checked: the fast test and Frictionless' cell reader for the rest."""

    def __init__(self, fld: Any, number: int, key: bool) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self.field = fld
        self.name: str = fld.name
        self.number = number
        self.reader = fld.create_cell_reader()
        missing = (
            fld.missing_values if fld.has_defined("missing_values") or not fld.schema else fld.schema.missing_values
        )
        self.missing = pa.array([str(v) for v in missing], pa.string())
        self.cache: dict[str, tuple[list[tuple[str, str]], bool, str | None]] = {}
        self.key = key
        self.pc = pc
        self.tests = self._fast_tests()

    def _fast_tests(self) -> list[Any] | None:
        """Column tests that together prove a cell valid and canonical; None: no fast path."""
        pc = self.pc
        fld = self.field
        limits = dict(fld.constraints or {})
        limits.pop("required", None)  # a present, non-missing value satisfies it
        limits.pop("unique", None)  # checked across rows
        kind, fmt = fld.type, fld.format
        tests: list[Any] = []
        if kind == "string" and fmt in ("default", "uri"):
            if fmt == "uri":
                tests.append(lambda a: pc.match_substring_regex(a, _URI))
            if "enum" in limits:
                allowed = self._pa([str(v) for v in limits.pop("enum")])
                tests.append(lambda a: pc.is_in(a, value_set=allowed))
            for name, compare in (("minLength", pc.greater_equal), ("maxLength", pc.less_equal)):
                if name in limits:
                    bound = limits.pop(name)
                    if not isinstance(bound, int):
                        return None
                    tests.append(lambda a, c=compare, b=bound: c(pc.utf8_length(a), b))
            if "pattern" in limits:
                pattern = str(limits.pop("pattern"))
                if not _SAFE_PATTERN.fullmatch(pattern) or "[^" in pattern:
                    return None
                anchored = f"^(?:{pattern})$"
                try:  # RE2 refuses some patterns Python reads (e.g. a repeat over 1,000)
                    pc.match_substring_regex(self._pa([""]), anchored)
                except Exception:
                    return None
                tests.append(lambda a, p=anchored: pc.match_substring_regex(a, p))
        elif kind == "integer" and not fld.has_defined("bare_number"):
            tests.append(lambda a: pc.match_substring_regex(a, _INT))
            if not self._numeric_limits(limits, tests, "int64"):
                return None
        elif kind == "date" and fmt == "default":
            tests.append(lambda a: pc.match_substring_regex(a, _DATE))
            tests.append(_day_exists)
        elif kind == "number" and not self.key and not fld.float_number:
            if set(fld.list_defined()) & {"bare_number", "group_char", "decimal_char"}:
                return None
            tests.append(lambda a: pc.match_substring_regex(a, _NUMBER))
            if not self._numeric_limits(limits, tests, "float64"):
                return None
        else:
            return None
        if limits:  # a constraint the fast path does not know
            return None
        return tests

    def _numeric_limits(self, limits: dict[str, Any], tests: list[Any], kind: str) -> bool:
        """Add vectorised minimum/maximum tests; False when a limit cannot be decided that way."""
        pc = self.pc
        value_reader = self.field.create_value_reader()
        compares = {
            "minimum": pc.greater_equal,
            "maximum": pc.less_equal,
            "exclusiveMinimum": pc.greater,
            "exclusiveMaximum": pc.less,
        }
        for name, compare in compares.items():
            if name not in limits:
                continue
            bound = value_reader(limits.pop(name))
            if bound is None:
                return False
            if kind == "int64":
                if not -(2**62) < int(bound) < 2**62:
                    return False
                tests.append(lambda a, c=compare, b=int(bound): c(pc.cast(a, "int64"), b))
            else:
                # Floats decide all but values within a hair of the bound; those take the exact path.
                b = float(bound)
                margin = 1e-9 * max(1.0, abs(b))
                shifted = b + margin if name in ("minimum", "exclusiveMinimum") else b - margin
                tests.append(lambda a, c=compare, s=shifted: c(pc.cast(a, "float64"), s))
        return True

    @staticmethod
    def _pa(values: list[str]) -> Any:
        import pyarrow as pa

        return pa.array(values, pa.string())

    def fast_mask(self, array: Any) -> Any:
        """A numpy bool array: True where the cell is certainly valid and canonical."""
        import numpy as np

        pc = self.pc
        if self.tests is None or len(array) == 0:
            return np.zeros(len(array), dtype=bool)
        mask = pc.invert(pc.is_in(array, value_set=self.missing))
        for test in self.tests:
            # A test runs on the cells still in question only where a cast could fail on the rest.
            passed = pc.fill_null(test(pc.if_else(mask, array, None)), False)
            mask = pc.and_(mask, passed)
        return mask.to_numpy(zero_copy_only=False)

    def verdict(self, cell: str) -> tuple[list[tuple[str, str]], bool, str | None]:
        """Frictionless' verdict on a cell: errors (code, note), blank or not, the key text."""
        found = self.cache.get(cell)
        if found is not None:
            return found
        target, notes = self.reader(cell)
        notes = dict(notes or {})
        type_note = notes.pop("type", None)
        errors = [("type-error", type_note)] if type_note else []
        errors += [("constraint-error", note) for note in notes.values()]
        found = (errors, target is None and not type_note, None if target is None else str(target))
        if len(self.cache) >= CACHE_LIMIT:
            self.cache.clear()
        self.cache[cell] = found
        return found


def _day_exists(array: Any) -> Any:
    """For cells of the form YYYY-MM-DD: whether that day exists (no 2021-02-29). pyarrow's
    strptime rolls a day past the month's end over into the next month, so a cell counts only
    when formatting its parsed value gives the cell back."""
    import pyarrow.compute as pc

    # Days 01 to 28 exist in every month; only the rest are parsed and formatted back.
    late = pc.fill_null(pc.greater_equal(pc.utf8_slice_codeunits(array, 8, 10), "29"), False)
    if not pc.any(late).as_py():
        return pc.is_valid(array)
    parsed = pc.strptime(pc.if_else(late, array, None), format="%Y-%m-%d", unit="s", error_is_null=True)
    exists = pc.fill_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), array), False)
    return pc.if_else(late, exists, pc.is_valid(array))


_PREPARED: dict[tuple[str, tuple[str, ...] | None], tuple[Any, list[_Column]]] = {}  # see _Table


class _Table:
    """A CSV file read block by block with its schema's columns."""

    def __init__(self, source: Source, only: list[str] | None = None) -> None:
        self.source = source
        self.primary_key = _as_list(source.schema.get("primaryKey"))
        # Tables with the same schema share its columns (their readers, tests and verdicts):
        # a catalogue's tables often share a schema, and building them is per-field work.
        memo = (json.dumps(source.schema, sort_keys=True, default=repr), None if only is None else tuple(only))
        known = _PREPARED.get(memo)
        if known is None:
            known = self._prepare(only)
            if len(_PREPARED) >= 64:
                _PREPARED.clear()
            _PREPARED[memo] = known
        self.schema, self.columns = known
        self.names = [f.name for f in self.schema.fields]

    def _prepare(self, only: list[str] | None) -> tuple[Any, list[_Column]]:
        from frictionless import Schema

        source = self.source
        if "fieldsMatch" in source.schema:
            raise Unsupported("the schema sets fieldsMatch")
        schema = Schema.from_descriptor(_without_keys(source.schema))
        key_fields = set(self.primary_key) | {f.name for f in schema.fields if f.constraints.get("unique")}
        for key in source.schema.get("foreignKeys", []) or []:
            key_fields |= set(_as_list(key.get("fields")))
        if only is not None:
            key_fields = set(only)
        types = {f.name: f.type for f in schema.fields}
        for name in sorted(key_fields):
            if name in types and types[name] not in KEY_TYPES:
                raise Unsupported(
                    f"key field '{name}' is of type {types[name]}, compared by value only by Frictionless"
                )
        columns = [
            _Column(f, number, f.name in key_fields)
            for number, f in enumerate(schema.fields, start=1)
            if only is None or f.name in only
        ]
        return schema, columns

    def foreign_keys(self) -> list[dict[str, Any]]:
        keys = []
        for key in self.source.schema.get("foreignKeys", []) or []:
            own = _as_list(key.get("fields"))
            if not set(own) <= set(self.names):
                continue  # Frictionless leaves such a key out too
            keys.append(key)
        return keys

    def blocks(self) -> Iterator[Any]:
        """Record batches of the file, all columns as strings; checks the header first."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        wanted = {c.name for c in self.columns}
        if self._header() != self.names:
            raise Unsupported("its header differs from the schema's field names")
        # The file is cut into pieces at record ends and each piece parsed on its own: pyarrow's
        # streaming reader reads the whole file ahead (memory as large as the file).
        options = {
            "parse_options": pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            "convert_options": pacsv.ConvertOptions(
                column_types=dict.fromkeys(self.names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=[n for n in self.names if n in wanted],
            ),
        }
        with self.source.path.open("rb") as handle:
            for number, piece in enumerate(_pieces(handle, BLOCK_BYTES)):
                read = pacsv.ReadOptions(column_names=self.names, skip_rows=1 if number == 0 else 0)
                try:
                    table = pacsv.read_csv(pa.py_buffer(piece), read_options=read, **options)
                except (pa.ArrowInvalid, KeyError) as exc:
                    raise Unsupported(f"pyarrow cannot read it as Frictionless does ({_short(exc)})") from exc
                if table.num_rows:
                    yield from table.combine_chunks().to_batches()

    def _header(self) -> list[str]:
        import csv

        with open(self.source.path, encoding="utf-8", newline="") as handle:
            return next(csv.reader(handle), [])

    def key_texts(self, batch: Any, column: _Column) -> tuple[list[Any], list[tuple[int, list[tuple[str, str]], str]]]:
        """Each row's key text (None for an empty or bad cell), and the cells with errors."""
        import numpy as np

        array = batch.column(column.name)
        fast = column.fast_mask(array)
        texts: list[Any] = array.to_pylist() if column.key else []
        errors: list[tuple[int, list[tuple[str, str]], str]] = []
        rest = np.flatnonzero(~fast)
        blank = np.zeros(len(array), dtype=bool)
        if len(rest):
            encoded = array.take(rest).dictionary_encode()
            distinct = encoded.dictionary.to_pylist()
            codes = encoded.indices.to_numpy(zero_copy_only=False)
            verdicts = [column.verdict(cell) for cell in distinct]
            bad = np.array([bool(v[0]) for v in verdicts], dtype=bool)
            empty = np.array([v[1] for v in verdicts], dtype=bool)
            blank[rest[empty[codes]]] = True
            for offset, code in zip(rest[bad[codes]].tolist(), codes[bad[codes]].tolist(), strict=True):
                errors.append((offset, verdicts[code][0], distinct[code]))
            if column.key:
                text = [v[2] for v in verdicts]
                changed = [k for k, v in enumerate(distinct) if text[k] != v]
                if changed:
                    where = np.isin(codes, changed)
                    for offset, code in zip(rest[where].tolist(), codes[where].tolist(), strict=True):
                        texts[offset] = text[code]
        self._blank = blank
        return texts, errors

    def _repeated_keys(self, unique: list[str], primary: list[str]) -> dict[str, Any]:
        """The 8-byte hashes of the key values that occur more than once, by unique field (and :data:`PRIMARY`).

        One pass over the key columns; each block's hashes go to :data:`BUCKETS` files by their top
        bits, then each file is sorted on its own: memory is one block plus 1/BUCKETS of the hashes.
        """
        names = sorted(set(unique) | set(primary))
        reader = _Table(self.source, only=names)
        columns = {c.name: c for c in reader.columns}
        keys = {name: [name] for name in unique}
        if primary:
            keys[PRIMARY] = primary
        with tempfile.TemporaryDirectory(prefix="publish-keys-") as folder:
            spills = {name: _Spill(Path(folder) / str(index)) for index, name in enumerate(keys)}
            for batch in reader.blocks():
                texts = {name: reader.key_texts(batch, columns[name])[0] for name in names}
                for name, fields in keys.items():
                    parts = [texts[f] for f in fields]
                    hashes = _hashes(parts)
                    present = ~_all_empty(parts)
                    spills[name].add(hashes[present])
            return {name: spill.repeated() for name, spill in spills.items()}

    def check(self, groups: list[_ForeignKey], result: Result) -> Iterator[FastError]:
        import numpy as np

        seen_unique: dict[str, dict[str, int]] = {c.name: {} for c in self.columns if c.field.constraints.get("unique")}
        seen_primary: dict[Any, int] = {}
        has_primary = bool(self.primary_key) and set(self.primary_key) <= set(self.names)
        # A large table's keys: first find the values that repeat (hashes spilled to disk), then
        # remember only those exactly. A small one keeps every key value (faster).
        repeated: dict[str, Any] | None = None
        if (seen_unique or has_primary) and self.source.path.stat().st_size > SPILL_BYTES:
            repeated = self._repeated_keys(list(seen_unique), self.primary_key if has_primary else [])
        start = 2
        rows = 0
        for batch in self.blocks():
            n = batch.num_rows
            found: list[tuple[tuple[int, ...], FastError]] = []
            blank_count = np.zeros(n, dtype=np.int32)
            texts: dict[str, list[Any]] = {}
            for column in self.columns:
                column_texts, errors = self.key_texts(batch, column)
                blank_count += self._blank
                if column.key:
                    texts[column.name] = column_texts
                for offset, notes, cell in errors:
                    for order, (code, note) in enumerate(notes):
                        error = FastError(
                            code,
                            start + offset,
                            note=note,
                            field_name=column.name,
                            field_number=column.number,
                            cell=cell,
                        )
                        found.append(((offset, 0, column.number, order), error))
            blank_rows = set(np.flatnonzero(blank_count == len(self.columns)).tolist())
            if blank_rows:
                found = [item for item in found if item[0][0] not in blank_rows]
                found += [((o, 0, 0, 0), FastError("blank-row", start + o)) for o in blank_rows]
            for column in self.columns:
                if column.name not in seen_unique:
                    continue
                values = texts[column.name]
                memory = seen_unique[column.name]
                if repeated is None:
                    repeats = _repeats(memory, values, start, None)
                else:
                    repeats = _repeats_among(memory, values, [values], repeated[column.name], start, None)
                for offset, value, match in repeats:
                    if match:
                        error = FastError(
                            "unique-error",
                            start + offset,
                            note=f"the same as in the row at position {match}",
                            field_name=column.name,
                            field_number=column.number,
                            cell=value,
                        )
                        found.append(((offset, 1, column.number, 0), error))
            if has_primary:
                parts = [texts[name] for name in self.primary_key]
                keys = parts[0] if len(parts) == 1 else list(zip(*parts, strict=True))
                empty = None if len(parts) == 1 else (None,) * len(parts)
                if repeated is None:
                    repeats = _repeats(seen_primary, keys, start, empty, keyless=True)
                else:
                    repeats = _repeats_among(seen_primary, keys, parts, repeated[PRIMARY], start, empty, keyless=True)
                for offset, _, match in repeats:
                    if match is None:
                        note = 'cells composing the primary keys are all "None"'
                    else:
                        note = f"the same as in the row at position {match}"
                    found.append(((offset, 2, 0, 0), FastError("primary-key", start + offset, note=note)))
            for index, group in enumerate(groups):
                for offset, error in group.check(texts, start):
                    found.append(((offset, 3, index, 0), error))
            found.sort(key=lambda item: item[0])
            for _, error in found:
                yield error
            start += n
            rows += n
        result.rows[self.source.name] = rows


class _ForeignKey:
    """One foreign key: the referenced table's key values, read once."""

    def __init__(self, key: dict[str, Any], source: Source, package: dict[str, Source], result: Result) -> None:
        self.fields = _as_list(key.get("fields"))
        reference = key.get("reference", {})
        self.reference_name = str(reference.get("resource", ""))
        self.reference_fields = _as_list(reference.get("fields"))
        target = source if self.reference_name in ("", source.name) else package.get(self.reference_name)
        if target is None:
            raise Unsupported(f"foreign key to resource '{self.reference_name}', which is not in the package")
        own_types = {f.get("name"): f.get("type", "string") for f in source.schema.get("fields", [])}
        target_types = {f.get("name"): f.get("type", "string") for f in target.schema.get("fields", [])}
        for mine, theirs in zip(self.fields, self.reference_fields, strict=False):
            if theirs not in target_types:
                raise Unsupported(f"foreign key to field '{theirs}', which '{target.name}' does not have")
            if own_types.get(mine) != target_types[theirs]:
                raise Unsupported(f"foreign key joins fields of different types ({mine}, {theirs})")
        if len(self.fields) != len(self.reference_fields):
            raise Unsupported("foreign key with different numbers of fields on its two sides")
        self.lookup: set[tuple[Any, ...]] = set()
        # A large referenced table's keys go to a file on disk (exact, bounded memory).
        self.disk = _DiskKeys() if target.path.stat().st_size > SPILL_BYTES else None
        rows = 0
        try:
            referenced = _Table(Source(target.name, target.path, _without_keys(target.schema)), self.reference_fields)
            order = [next(c for c in referenced.columns if c.name == name) for name in self.reference_fields]
            for batch in referenced.blocks():
                parts = [referenced.key_texts(batch, column)[0] for column in order]
                present = [cells for cells in zip(*parts, strict=True) if any(c is not None for c in cells)]
                if self.disk is None:
                    self.lookup.update(present)
                else:
                    self.disk.add(present)
                rows += batch.num_rows
        except BaseException as exc:
            self.close()
            if target is source or not isinstance(exc, Unsupported):
                raise
            raise Unsupported(f"the table its foreign key reads ({target.name}): {exc}") from exc
        if target is not source:
            result.rows[target.name] = rows

    def close(self) -> None:
        if self.disk is not None:
            self.disk.close()
            self.disk = None

    def check(self, texts: dict[str, list[Any]], start: int) -> Iterator[tuple[int, FastError]]:
        parts = [texts[name] for name in self.fields]
        lookup = self.lookup
        if self.disk is not None:  # this block's keys that the referenced table has
            lookup = self.disk.having(
                {cells for cells in zip(*parts, strict=True) if any(c is not None for c in cells)}
            )
        for offset, cells in enumerate(zip(*parts, strict=True)):
            if all(c is None for c in cells) or cells in lookup:
                continue
            note = 'for "{}": values "{}" not found in the lookup table "{}" as "{}"'.format(
                ", ".join(self.fields),
                ", ".join(str(c) for c in cells),
                self.reference_name,
                ", ".join(self.reference_fields),
            )
            yield (
                offset,
                FastError(
                    "foreign-key",
                    start + offset,
                    note=note,
                    field_names=list(self.fields),
                    field_cells=["" if c is None else c for c in cells],
                    reference_name=self.reference_name,
                    reference_field_names=list(self.reference_fields),
                ),
            )


class _DiskKeys:
    """Key tuples (texts or None) in a temporary SQLite file: exact membership in bounded memory.

    A tuple is stored as its JSON text, which tells None from the text "null" and keeps order.
    """

    def __init__(self) -> None:
        import sqlite3

        self.folder = tempfile.TemporaryDirectory(prefix="publish-keys-")
        self.db = sqlite3.connect(Path(self.folder.name) / "keys.sqlite")
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -16384", "temp_store = FILE"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("CREATE TABLE k (v TEXT PRIMARY KEY) WITHOUT ROWID")
        self.db.execute("CREATE TEMP TABLE q (v TEXT)")

    @staticmethod
    def _text(cells: tuple[Any, ...]) -> str:
        import json

        return json.dumps(cells, ensure_ascii=False)

    def add(self, keys: list[tuple[Any, ...]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO k VALUES (?)", ((self._text(k),) for k in keys))

    def having(self, keys: set[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
        """Those of ``keys`` that were added."""
        texts = {self._text(k): k for k in keys}
        self.db.execute("DELETE FROM q")
        self.db.executemany("INSERT INTO q VALUES (?)", ((t,) for t in texts))
        found = self.db.execute("SELECT v FROM k WHERE v IN (SELECT v FROM q)")
        return {texts[text] for (text,) in found}

    def close(self) -> None:
        self.db.close()
        self.folder.cleanup()


def _pieces(handle: Any, size: int) -> Iterator[bytes]:
    """The file in pieces of about ``size`` bytes, each ending at the end of a record.

    A line break ends a record when the quotes before it are balanced (a quoted cell may hold a
    line break; a doubled quote inside it counts twice). Each piece starts at a record start.
    """
    rest = b""
    while True:
        data = handle.read(size)
        if not data:
            if rest:
                yield rest
            return
        buffer = rest + data
        if b'"' in buffer and _STRAY_QUOTE.search(b"\n" + buffer) and _quoted_line_break(buffer):
            # A quote inside an unquoted cell (Python's csv keeps it as text) would make the
            # quote count lie about where records end; it matters only with line breaks in quotes.
            raise Unsupported("it may have a quote inside an unquoted cell and line breaks inside quoted cells")
        cut = _record_end(buffer)
        if cut < 0:
            rest = buffer
            continue
        yield buffer[:cut]
        rest = buffer[cut:]


def _quoted_line_break(buffer: bytes) -> bool:
    """Whether a line break lies between an odd and an even quote (inside a quoted cell, by count)."""
    return any(b"\n" in part for part in buffer.split(b'"')[1::2])


def _record_end(buffer: bytes) -> int:
    """The index after the last line break of ``buffer`` that ends a record, or -1."""
    position = len(buffer)
    while True:
        position = buffer.rfind(b"\n", 0, position)
        if position < 0:
            return -1
        if buffer.count(b'"', 0, position) % 2 == 0:
            return position + 1


def _repeats(
    memory: dict[Any, int], values: list[Any], start: int, empty: Any, keyless: bool = False
) -> Iterator[tuple[int, Any, int | None]]:
    """Each value seen before, as Frictionless finds it row by row: (offset, value, its previous row).

    An ``empty`` value (None, or the all-None tuple of a composite key) is never remembered; with
    ``keyless`` it is yielded with None (a primary key must have a value), else skipped (``unique``).
    ``memory`` maps each value to the last row it was in. Set operations in C find the few values
    to look at one by one; the rest is remembered at once.
    """
    fresh = set(values)
    if len(fresh) == len(values) and empty not in fresh and memory.keys().isdisjoint(fresh):
        memory.update(zip(values, range(start, start + len(values)), strict=True))
        return
    special = memory.keys() & fresh
    special |= {value for value, count in Counter(values).items() if count > 1}
    special.add(empty)
    before = {value: memory.get(value) for value in special}
    memory.update(zip(values, range(start, start + len(values)), strict=True))
    memory.pop(empty, None)
    look = (offset for offset, value in enumerate(values) if value in special)
    yield from _in_row_order(look, values, before, start, empty, keyless)


def _in_row_order(
    offsets: Iterable[int], values: list[Any], last: dict[Any, Any], start: int, empty: Any, keyless: bool
) -> Iterator[tuple[int, Any, int | None]]:
    """The rows to look at, in order: an ``empty`` value is yielded with None (``keyless``) or
    skipped; any other is yielded with the row ``last`` had for it (if any), then becomes that row."""
    for offset in offsets:
        value = values[offset]
        if value == empty:
            if keyless:
                yield offset, value, None
            continue
        match = last.get(value)
        last[value] = start + offset
        if match:
            yield offset, value, match


class _Spill:
    """Hashes appended to bucket files on disk; which of them occur more than once."""

    def __init__(self, stem: Path) -> None:
        self.files = [stem.with_name(f"{stem.name}.{b}") for b in range(BUCKETS)]

    def add(self, hashes: Any) -> None:
        bucket = hashes >> 60  # BUCKETS == 16: the top four bits
        for number, path in enumerate(self.files):
            chosen = hashes[bucket == number]
            if len(chosen):
                with path.open("ab") as handle:
                    chosen.tofile(handle)

    def repeated(self) -> Any:
        import numpy as np

        found = [np.empty(0, dtype=np.uint64)]
        for path in self.files:
            if path.exists():
                values, counts = np.unique(np.fromfile(path, dtype=np.uint64), return_counts=True)
                found.append(values[counts > 1])
                path.unlink()
        return np.sort(np.concatenate(found))


def _hashes(parts: list[list[Any]]) -> Any:
    """An 8-byte hash of each row's key (one list of texts per key field).

    Python's own ``hash``: the same within the process, which is all the two passes need.
    """
    import numpy as np

    keys = parts[0] if len(parts) == 1 else zip(*parts, strict=True)
    return np.fromiter(map(hash, keys), dtype=np.int64, count=len(parts[0])).view(np.uint64)


def _all_empty(parts: list[list[Any]]) -> Any:
    import numpy as np

    empty = np.ones(len(parts[0]), dtype=bool)
    for part in parts:
        empty &= np.fromiter((value is None for value in part), dtype=bool, count=len(part))
    return empty


def _repeats_among(
    memory: dict[Any, int],
    values: list[Any],
    parts: list[list[Any]],
    repeated: Any,
    start: int,
    empty: Any,
    keyless: bool = False,
) -> Iterator[tuple[int, Any, int | None]]:
    """As :func:`_repeats`, looking only at rows whose key hash is among the ``repeated`` ones.

    ``memory`` then holds only values whose hash repeats (a hash shared by different values is
    told apart here, exactly). Empty keys are found as in :func:`_repeats`.
    """
    import numpy as np

    look = np.isin(_hashes(parts), repeated)
    if keyless:
        look |= _all_empty(parts)
    yield from _in_row_order(np.flatnonzero(look).tolist(), values, memory, start, empty, keyless)


def _without_keys(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("foreignKeys", "catalogueForeignKeys")}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
