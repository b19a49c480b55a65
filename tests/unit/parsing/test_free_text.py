"""Free text always parses, to the stripped text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from outreach.parsing import parse_answer
from tests.unit.parsing.conftest import question

ANYTHING = question("general", "anything_else")


def test_free_text_is_stripped() -> None:
    answer = parse_answer(ANYTHING, "  need a refill \n", "en")
    assert (answer.value, answer.unit, answer.raw) == ("need a refill", None, "  need a refill \n")


@given(st.text())
def test_free_text_always_parses(text: str) -> None:
    assert parse_answer(ANYTHING, text, "es").value == text.strip()
