"""Validation problems and the report that collects them (plain data, no I/O)."""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field

SHORT = 80  # characters of a value echoed in a message
MAX_MESSAGE = 2000  # characters of a message, whatever it quotes
# C0 and C1 control characters and DEL; a terminal would act on them (ESC sequences, BEL, ...).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CONTROL_ALL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")

DEFAULT_MAX_ERRORS = 1000  # problems a validation report keeps (--max-errors); all are counted; 0 keeps all
MAX_ERRORS: ContextVar[int | None] = ContextVar("publish_max_errors", default=None)  # set by --max-errors


def shorten(value: object, limit: int = SHORT) -> str:
    """``value`` as text, cut after ``limit`` characters with an ellipsis and its length."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def for_terminal(text: str, keep_newlines: bool = False) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``), so no terminal acts on them.

    Tabs are kept; newlines too with ``keep_newlines`` (multi-line output), otherwise escaped
    (one problem, one line).
    """
    pattern = CONTROL if keep_newlines else CONTROL_ALL

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        return "\\n" if char == "\n" else f"\\x{ord(char):02x}"

    return pattern.sub(escape, text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the catalogue, located as precisely as we can.

    ``file`` is relative to the catalogue root; ``row`` is the line number in a CSV file
    (the header is row 1) or ``None``; ``field`` names a table column or a descriptor key.
    """

    file: str
    code: str
    message: str
    row: int | None = None
    field: str | None = None
    value: str | None = None

    def __post_init__(self) -> None:
        # Whatever a message quotes, it stays short; an echoed value is cut after SHORT characters.
        if len(self.message) > MAX_MESSAGE:
            object.__setattr__(self, "message", shorten(self.message, MAX_MESSAGE))
        if self.value is not None and len(self.value) > SHORT:
            object.__setattr__(self, "value", shorten(self.value))
        if self.field is not None and len(self.field) > SHORT:
            object.__setattr__(self, "field", shorten(self.field))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Report:
    """The outcome of validating a catalogue: problems plus what was checked."""

    problems: list[Problem] = field(default_factory=list)
    datasets: int = 0
    resources: int = 0
    rows: int = 0
    total: int | None = None  # problems found, when more than ``problems`` keeps (--max-errors)

    @property
    def truncated(self) -> bool:
        return self.total is not None and self.total > len(self.problems)

    @property
    def valid(self) -> bool:
        return not self.problems

    def by_file(self) -> dict[str, list[Problem]]:
        """Problems grouped by file, files in sorted order, problems by row."""
        grouped: dict[str, list[Problem]] = {}
        for problem in sorted(self.problems, key=_sort_key):
            grouped.setdefault(problem.file, []).append(problem)
        return grouped

    def to_dict(self) -> dict:
        return {
            "valid": self.valid,
            "errors": [p.to_dict() for p in sorted(self.problems, key=_sort_key)],
            "truncated": self.truncated,
            "total": self.total if self.truncated else len(self.problems),
            "checked": {"datasets": self.datasets, "resources": self.resources, "rows": self.rows},
        }


def _sort_key(problem: Problem) -> tuple:
    return (problem.file, problem.row or 0, problem.field or "", problem.code)
