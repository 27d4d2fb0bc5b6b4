"""Sizes for people."""

from __future__ import annotations


def human_bytes(size: int) -> str:
    """``1843`` → ``'1.8 kB'`` (decimal units, as file managers show them)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"
