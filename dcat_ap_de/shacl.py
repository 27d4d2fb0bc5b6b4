"""Check RDF against the project's SHACL shapes for DCAT-AP.de 2.0 "Spezifikation + Konventionen".

``check(graph)`` returns the findings (violations and warnings), each with the rule it breaks in
its message ("DCAT-AP.de Konvention 38: ..."). pyshacl is imported only when a check runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH

SHAPES_FILE = Path(__file__).resolve().parent / "shapes" / "dcat-ap-de-2.0.ttl"


@dataclass(frozen=True)
class Finding:
    """One SHACL result: ``severity`` is "Violation", "Warning" or "Info"."""

    severity: str
    message: str
    focus: str
    path: str | None = None
    value: str | None = None
    node: Any = field(default=None, compare=False, repr=False)  # the focus node itself
    path_node: Any = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        where = f" [{self.path}]" if self.path else ""
        shown = f" (value: {self.value})" if self.value else ""
        return f"{self.severity}: {self.focus}{where}: {self.message}{shown}"


_PREPARED: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], Any] = {}


@contextmanager
def _prepared_queries() -> Iterator[None]:
    """Each SPARQL query text parsed once, not once per focus node.

    pyshacl runs a shape's ``sh:select`` once for every node it targets, as text; rdflib parses
    the text each time (about 50 ms here: 14 s of a 16 s check for 50 datasets). Inside this
    block rdflib's SPARQL processor keeps the parsed and translated query, as
    ``rdflib.plugins.sparql.prepareQuery`` does for queries meant to run many times, keyed by the
    text, base and namespaces; the results are the same.
    """
    from rdflib.plugins.sparql import processor

    original = processor.SPARQLProcessor.query
    if not _patchable(original):  # another rdflib: check unpatched (slower, same results)
        yield
        return

    def query(
        self: Any,
        query_text: Any,
        initBindings: Any = None,
        initNs: Any = None,
        base: str | None = None,
        DEBUG: bool = False,
    ) -> Any:
        if isinstance(query_text, str):
            key = (query_text, base, tuple(sorted((str(k), str(v)) for k, v in (initNs or {}).items())))
            if key not in _PREPARED:
                _PREPARED[key] = processor.translateQuery(processor.parseQuery(query_text), base, initNs)
            query_text = _PREPARED[key]
        return original(self, query_text, initBindings, initNs, base, DEBUG)

    processor.SPARQLProcessor.query = query  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        processor.SPARQLProcessor.query = original  # type: ignore[method-assign]


# The parameters of rdflib's ``SPARQLProcessor.query`` that the wrapper above passes on, in order.
_QUERY_PARAMETERS = ["self", "strOrQuery", "initBindings", "initNs", "base", "DEBUG"]


def _patchable(method: Any) -> bool:
    """Whether ``method`` takes exactly the parameters the wrapper passes (rdflib 6 and 7 do)."""
    import inspect

    try:
        return list(inspect.signature(method).parameters) == _QUERY_PARAMETERS
    except (TypeError, ValueError):
        return False


@cache
def shapes() -> Graph:
    return Graph().parse(SHAPES_FILE, format="turtle")


@cache
def _has_rules() -> bool:
    """Whether the shapes hold SHACL rules (advanced mode would add their triples to the data)."""
    return (None, SH.rule, None) in shapes()


def check(data: Graph) -> list[Finding]:
    """Validate ``data`` (left unchanged); all findings, violations first."""
    from pyshacl import validate

    with _prepared_queries():
        _conforms, report, _text = validate(
            data,
            shacl_graph=shapes(),
            inference="none",
            advanced=True,
            allow_warnings=True,
            inplace=not _has_rules(),  # nothing would change ``data``: no copy of it is needed
        )
    findings = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        severity = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        messages = [str(m) for m in report.objects(result, SH.resultMessage)]
        path = report.value(result, SH.resultPath)
        value = report.value(result, SH.value)
        findings.append(
            Finding(
                severity=severity,
                message="; ".join(sorted(messages)) or "(no message)",
                focus=_short(data, report.value(result, SH.focusNode)),
                path=_short(data, path) if isinstance(path, URIRef) else None,
                value=_short(data, value) if value is not None else None,
                node=report.value(result, SH.focusNode),
                path_node=path,
            )
        )
    order = {"Violation": 0, "Warning": 1, "Info": 2}
    return sorted(set(findings), key=lambda f: (order.get(f.severity, 3), f.focus, f.message))


def violations(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "Violation"]


def _short(graph: Graph, node: object) -> str:
    if isinstance(node, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(node)
        except Exception:
            return str(node)
    if isinstance(node, Literal):
        return str(node)
    return "[blank node]" if node is not None else ""
