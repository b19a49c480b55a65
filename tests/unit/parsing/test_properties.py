"""Property tests: what parses comes back as itself, and nothing but ParseError escapes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from outreach.errors import ParseError
from outreach.parsing import parse_answer
from outreach.parsing.quantities import LB_PER_KG
from outreach.programs import Question, builtin_programs
from tests.unit.parsing.conftest import question

PAIN = question("general", "pain")
WEIGHT = question("heart_failure", "weight")
DAYS = question("general", "adherence_days")
SUGAR = question("diabetes", "highest_sugar")

EN_WORDS = "zero one two three four five six seven eight nine ten".split()
ES_WORDS = "cero uno dos tres cuatro cinco seis siete ocho nueve diez".split()
ALL_QUESTIONS = [q for p in builtin_programs().values() for q in p.questions]


@given(st.integers(min_value=0, max_value=10), st.sampled_from(["{}", "{}/10", " {} out of 10 "]))
def test_any_pain_score_written_as_digits_parses_back(score: int, form: str) -> None:
    assert parse_answer(PAIN, form.format(score), "en").value == score


@given(st.integers(min_value=0, max_value=30))
def test_any_number_of_days_parses_back(days: int) -> None:
    assert parse_answer(DAYS, f"{days} days", "en").value == days


@given(st.integers(min_value=50, max_value=700), st.sampled_from(["{}", "{} lb", "{}lbs"]))
def test_any_weight_in_range_parses_back(pounds: int, form: str) -> None:
    assert parse_answer(WEIGHT, form.format(pounds), "en").value == pounds


@pytest.mark.parametrize(("score", "word"), [*enumerate(EN_WORDS), *enumerate(ES_WORDS)])
def test_number_words_zero_to_ten(score: int, word: str) -> None:
    language = "en" if word in EN_WORDS else "es"
    assert parse_answer(PAIN, word, language).value == score
    assert parse_answer(PAIN, word.capitalize() + "!", language).value == score


@given(
    st.decimals(min_value="22.7", max_value="317.5", places=1),
    st.sampled_from(["{} kg", "{}kg", "{} kilos"]),
    st.booleans(),
)
@example(kilos=82.5, form="{} kg", comma=True)
def test_kilograms_round_trip_within_a_tenth(kilos: object, form: str, comma: bool) -> None:
    typed = str(kilos).replace(".", ",") if comma else str(kilos)
    pounds = parse_answer(WEIGHT, form.format(typed), "es").value
    assert isinstance(pounds, float)
    assert pounds / LB_PER_KG == pytest.approx(float(str(kilos)), abs=0.1)


@given(st.integers(min_value=-1000, max_value=1000).filter(lambda n: not 0 <= n <= 10))
def test_out_of_range_pain_is_never_accepted(score: int) -> None:
    with pytest.raises(ParseError):
        parse_answer(PAIN, str(score), "en")


@given(st.integers(min_value=-100_000, max_value=100_000).filter(lambda n: not 50 <= n <= 700))
def test_out_of_range_weight_is_never_accepted(pounds: int) -> None:
    with pytest.raises(ParseError):
        parse_answer(WEIGHT, f"{pounds} lb", "en")


@given(st.integers(min_value=0, max_value=1000).filter(lambda t: not 20 <= round(t * 1.8) <= 600))
def test_out_of_range_mmol_is_never_accepted(tenths: int) -> None:
    with pytest.raises(ParseError):
        parse_answer(SUGAR, f"{tenths / 10:.1f} mmol/L", "en")


@given(st.sampled_from(ALL_QUESTIONS), st.text(), st.sampled_from(["en", "es", "fr"]))
@example(question=PAIN, text="1,2,3,4/10 y medio", language="es")
@example(question=WEIGHT, text="-0,5 kg", language="en")
def test_parse_raises_only_parse_error(question: Question, text: str, language: str) -> None:
    try:
        answer = parse_answer(question, text, language)
    except ParseError as exc:
        assert str(exc)
        return
    if question.type in ("scale", "number"):
        assert isinstance(answer.value, float)
        assert question.min is not None and question.max is not None
        assert question.min <= answer.value <= question.max


@given(
    st.sampled_from(ALL_QUESTIONS),
    st.lists(
        st.sampled_from(
            ["7", "/", "10", "kg", "lb", "mmol", "y", "medio", "no", "si", "👍", "-", ",", " ",
             "one", "hundred", "treinta", "not", "good", "several", "days", "de", "un"]
        )
    ),
)  # fmt: skip
def test_parse_raises_only_parse_error_on_word_soup(question: Question, parts: list[str]) -> None:
    with contextlib.suppress(ParseError):
        parse_answer(question, " ".join(parts), "en")
