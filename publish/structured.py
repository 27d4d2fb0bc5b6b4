"""The one place where the catalogue's YAML and JSON files are parsed, with bounded work.

Descriptors, ``catalogue.yaml`` and Table Schemas are small hand-written files. A hostile or
broken one must not cost unbounded time or memory, nor end in a traceback:

- YAML aliases (``*name``) are refused: an "alias bomb" of a few hundred bytes would otherwise
  expand to gigabytes. The catalogue's own files never need them.
- Nesting is capped at :data:`MAX_DEPTH` levels (lists and mappings), in YAML and JSON alike,
  so no parser or later check recurses without bound.
- Files larger than :data:`MAX_BYTES` (1 MiB; the catalogue's are a few kB) are not parsed at all.

Every refusal is a :class:`StructuredError` with a message that starts "broken YAML" or
"broken JSON" and, where known, the line and column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, MappingEndEvent, MappingStartEvent, SequenceEndEvent, SequenceStartEvent

MAX_DEPTH = 50
MAX_BYTES = 1024 * 1024


class StructuredError(ValueError):
    """A file that cannot be read as the YAML or JSON it claims to be."""

    def __init__(
        self, message: str, line: int | None = None, column: int | None = None, code: str = "descriptor-error"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.code = code

    def __str__(self) -> str:
        where = f" (line {self.line}, column {self.column})" if self.line is not None else ""
        return f"{self.message}{where}"


# libyaml's parser and loader where PyYAML has them (about ten times faster), else pure Python.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """Parse one YAML document safely (no aliases, bounded depth); raise :class:`StructuredError`.

    With libyaml the document is composed (aliases stay references to the node they name, so
    composing costs no more than the text is long), its node tree walked without recursion, and
    only a tree with no node reached twice (an alias) and no deeper than :data:`MAX_DEPTH` is
    built (safe tags only). Any other document, and every one without libyaml, is read event by
    event for the refusal and where it is (:func:`_refuse_yaml`).
    """
    if not _composes_in_c():  # pure Python composes by recursion
        return _refuse_yaml(text)
    try:
        loader = _LOADER(text)  # libyaml's safe loader
        try:
            node = loader.get_single_node()
            if node is not None and _plain_tree(node):
                return loader.construct_document(node)
        finally:
            loader.dispose()
        if node is None:
            return None
    except (yaml.YAMLError, RecursionError):
        pass
    return _refuse_yaml(text)


def _composes_in_c() -> bool:
    return bool(_LOADER is getattr(yaml, "CSafeLoader", object()))


def _plain_tree(root: Any) -> bool:
    """Whether no node is reached twice (no alias) and collections nest at most MAX_DEPTH deep."""
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            return False
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        else:
            continue
        if depth + 1 > MAX_DEPTH:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def _refuse_yaml(text: str) -> Any:
    """The YAML read event by event (the parser keeps its own stack, so 50,000 nested lists cost
    no recursion): the first alias or level too deep is refused where it is; a document that
    passes is built as it is."""
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, AliasEvent):
                raise _refused(f"aliases (*{event.anchor}) are not allowed; write the value out", event)
            if isinstance(event, SequenceStartEvent | MappingStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _refused(f"nested deeper than {MAX_DEPTH} levels", event)
            elif isinstance(event, SequenceEndEvent | MappingEndEvent):
                depth -= 1
        return yaml.load(text, Loader=_LOADER)  # a safe loader: CSafeLoader or SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "nesting depth" in reason:  # libyaml's own limit (1,000 levels) met while scanning ahead
            reason = f"nested deeper than {MAX_DEPTH} levels"
        if mark is None:
            raise StructuredError(f"broken YAML: {reason}") from None
        raise StructuredError(f"broken YAML: {reason}", mark.line + 1, mark.column + 1) from None
    except RecursionError:  # not expected below MAX_DEPTH; never a traceback all the same
        raise StructuredError(f"broken YAML: nested deeper than {MAX_DEPTH} levels") from None


def _refused(reason: str, event: Any) -> StructuredError:
    mark = event.start_mark
    return StructuredError(f"broken YAML: {reason}", mark.line + 1, mark.column + 1)


def parse_json(text: str) -> Any:
    """Parse JSON with bounded depth; raise :class:`StructuredError`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StructuredError(f"broken JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise StructuredError(f"broken JSON: nested deeper than {MAX_DEPTH} levels") from None
    if _depth(data) > MAX_DEPTH:
        raise StructuredError(f"broken JSON: nested deeper than {MAX_DEPTH} levels")
    return data


def parse_structured(text: str, suffix: str) -> Any:
    """Parse ``text`` as JSON when ``suffix`` is ``.json``, else as YAML."""
    return parse_json(text) if suffix.lower() == ".json" else parse_yaml(text)


def read_structured_file(path: Path) -> Any:
    """Read and parse a YAML or JSON file (UTF-8, at most :data:`MAX_BYTES`).

    Raises :class:`StructuredError` for a file too large, not UTF-8, or not parseable, and
    :class:`OSError` when it cannot be read.
    """
    size = path.stat().st_size
    kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
    if size > MAX_BYTES:
        raise StructuredError(
            f"broken {kind}: the file is {size:,} bytes; a descriptor or schema is at most {MAX_BYTES:,} bytes"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StructuredError(
            f"not valid UTF-8 ({exc.reason}); save the file as UTF-8", code="encoding-error"
        ) from None
    return parse_structured(text, path.suffix)


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON (iterative: no recursion on hostile input)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item)
    return deepest
