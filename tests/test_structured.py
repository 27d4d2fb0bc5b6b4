"""The one reader of YAML and JSON: no aliases, bounded depth and size, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from publish.structured import MAX_BYTES, MAX_DEPTH, StructuredError, parse_json, parse_yaml, read_structured_file

ALIAS_BOMB = "a: &a ['x','x','x','x','x','x','x','x','x']\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(9)
)


def test_plain_yaml_still_reads() -> None:
    assert parse_yaml("name: x\nlist: [1, 2]\nnested: {a: {b: c}}\n") == {
        "name": "x",
        "list": [1, 2],
        "nested": {"a": {"b": "c"}},
    }


def test_an_alias_bomb_is_refused_at_the_first_alias() -> None:
    with pytest.raises(StructuredError) as caught:
        parse_yaml(ALIAS_BOMB)
    assert str(caught.value).startswith("broken YAML: aliases (*a) are not allowed")
    assert caught.value.line == 2


def test_an_anchor_without_alias_is_harmless() -> None:
    assert parse_yaml("a: &x 1\n") == {"a": 1}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: &x 1\nb: *x\n", 2),  # a scalar named twice
        ("&x [1, *x]\n", 1),  # a list holding itself
        ("a: *nowhere\n", 1),  # an alias of no anchor
        ("a: 1\n---\nb: &x [*x]\n", 3),  # in a second document
    ],
    ids=["scalar", "itself", "undefined", "second document"],
)
def test_every_alias_is_refused_where_it_is(text: str, line: int) -> None:
    with pytest.raises(StructuredError) as caught:
        parse_yaml(text)
    assert str(caught.value).startswith("broken YAML: aliases (*")
    assert caught.value.line == line


def test_empty_and_scalar_documents_read_as_before() -> None:
    assert parse_yaml("") is None
    assert parse_yaml("# only a comment\n") is None
    assert parse_yaml("just text") == "just text"
    with pytest.raises(StructuredError, match="broken YAML: but found another document"):
        parse_yaml("a: 1\n---\nb: 2\n")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 50_000])
def test_deep_yaml_nesting_is_refused(depth: int) -> None:
    with pytest.raises(StructuredError) as caught:
        parse_yaml("[" * depth + "]" * depth)
    assert f"nested deeper than {MAX_DEPTH} levels" in str(caught.value)


def test_deep_block_mappings_are_refused() -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "v\n"
    with pytest.raises(StructuredError, match="nested deeper"):
        parse_yaml(text)


def test_nesting_up_to_the_limit_is_accepted() -> None:
    assert parse_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 50_000])
def test_deep_json_nesting_is_refused(depth: int) -> None:
    with pytest.raises(StructuredError) as caught:
        parse_json("[" * depth + "]" * depth)
    assert str(caught.value) == f"broken JSON: nested deeper than {MAX_DEPTH} levels"


def test_broken_json_names_line_and_column() -> None:
    with pytest.raises(StructuredError) as caught:
        parse_json('{\n  "a": 1,\n}')
    assert (caught.value.line, caught.value.column) == (3, 1)


def test_a_file_too_large_is_not_parsed(tmp_path: Path) -> None:
    path = tmp_path / "datapackage.yaml"
    path.write_bytes(b"# " + b"x" * MAX_BYTES + b"\n")
    with pytest.raises(StructuredError, match="a descriptor or schema is at most"):
        read_structured_file(path)


def test_a_file_not_utf8_is_an_encoding_problem(tmp_path: Path) -> None:
    path = tmp_path / "datapackage.yaml"
    path.write_bytes("name: Gr\xfc\xdfe\n".encode("latin-1"))
    with pytest.raises(StructuredError) as caught:
        read_structured_file(path)
    assert caught.value.code == "encoding-error"


@pytest.mark.parametrize("text", [ALIAS_BOMB, "[" * 50_000 + "]" * 50_000], ids=["alias bomb", "deep"])
def test_the_pure_python_loader_refuses_the_same(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """Where PyYAML has no libyaml, the pure-Python loader gets the same checks."""
    import yaml

    import publish.structured

    monkeypatch.setattr(publish.structured, "_LOADER", yaml.SafeLoader)
    with pytest.raises(StructuredError, match=r"broken YAML: (aliases|nested deeper)"):
        parse_yaml(text)
    assert parse_yaml("a: [1, {b: 2}]\n") == {"a": [1, {"b": 2}]}
