"""Yes/no answers: words, texting forms and emoji in English and Spanish; unsure is re-asked."""

from __future__ import annotations

import re

import pytest

from outreach.errors import ParseError
from outreach.parsing import parse_answer
from tests.unit.parsing.conftest import question

FELL = question("general", "fell")

YES = [
    "y", "Y", "yes", "Yes.", "YES!!", "yeah", "yep", "yup", "yesss", "sure", "well yes",
    "sí", "si", "Sí, claro", "claro", "sip", "👍", "👍🏽", "✅", "yes 👍", "ok 👍", "I did",
    "a little", "sometimes", "once", "twice", "2 times", "una vez", "a veces",
]  # fmt: skip
NO = [
    "no", "No.", "NO!!!", "nope", "n", "nah", "nooo", "👎", "❌", "not really", "never",
    "I have not", "I didn't", "nunca", "no, se me quitó", "ya no", "para nada", "0 times",
    "no, but my knee hurts",
]  # fmt: skip
UNSURE = [
    "no idea", "I don't know", "idk", "not sure", "maybe", "no sé", "tal vez", "yes and no",
    "👍👎", "yes ❌", "ok", "hello", "I am fine", "3", "", "   ", "🙂",
]  # fmt: skip


@pytest.mark.parametrize("text", YES)
def test_yes(text: str) -> None:
    assert parse_answer(FELL, text, "en").value is True


@pytest.mark.parametrize("text", NO)
def test_no(text: str) -> None:
    assert parse_answer(FELL, text, "en").value is False


@pytest.mark.parametrize("text", UNSURE)
def test_unsure_or_unrelated_is_reasked(text: str) -> None:
    with pytest.raises(ParseError, match=re.escape("Please answer YES or NO.")):
        parse_answer(FELL, text, "en")


def test_spanish_reask() -> None:
    with pytest.raises(ParseError, match=re.escape("Por favor responda SÍ o NO.")):
        parse_answer(FELL, "quién sabe", "es")


def test_yes_no_answers_have_no_unit() -> None:
    assert parse_answer(FELL, "yes", "en").unit is None
