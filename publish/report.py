"""Validation problems and the report that collects them (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Report:
    """The outcome of validating a catalogue: problems plus what was checked."""

    problems: list[Problem] = field(default_factory=list)
    datasets: int = 0
    resources: int = 0
    rows: int = 0

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
            "checked": {"datasets": self.datasets, "resources": self.resources, "rows": self.rows},
        }


def _sort_key(problem: Problem) -> tuple:
    return (problem.file, problem.row or 0, problem.field or "", problem.code)
