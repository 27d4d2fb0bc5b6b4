"""Problems stay short, and human output never carries raw control characters."""

from __future__ import annotations

from publish.report import MAX_MESSAGE, SHORT, Problem, for_terminal, shorten


def test_shorten_keeps_short_values() -> None:
    assert shorten("fertig") == "fertig"


def test_shorten_cuts_with_ellipsis_and_length() -> None:
    text = shorten("x" * 50_000_000)
    assert text == "x" * SHORT + "… (50,000,000 characters)"


def test_a_problem_never_holds_a_huge_value_or_message() -> None:
    problem = Problem("f.csv", "type-error", "m" * 100_000, value="v" * 100_000, field="f" * 1000)
    assert len(problem.message) < MAX_MESSAGE + 40
    assert problem.value is not None and len(problem.value) < SHORT + 40
    assert problem.field is not None and len(problem.field) < SHORT + 40


def test_terminal_sequences_are_escaped() -> None:
    hostile = "a\x1b]0;pwned\x07b\x1b[2Jc\x9bd\x00e\x7ff"
    assert for_terminal(hostile) == "a\\x1b]0;pwned\\x07b\\x1b[2Jc\\x9bd\\x00e\\x7ff"


def test_newlines_are_escaped_in_one_line_output_and_tabs_kept() -> None:
    assert for_terminal("a\nb\tc\rd") == "a\\nb\tc\\x0dd"


def test_newlines_can_be_kept_for_multiline_output() -> None:
    assert for_terminal("a\nb\x1b", keep_newlines=True) == "a\nb\\x1b"


def test_plain_text_with_umlauts_is_untouched() -> None:
    text = "Größe: 'Lemgo' → ✓"
    assert for_terminal(text) == text
