"""Reading a reply as the answer to a question: ``parse_answer`` and its result."""

from __future__ import annotations

from dataclasses import dataclass

from outreach.errors import ParseError
from outreach.parsing.choices import read_choice
from outreach.parsing.formats import expected_format
from outreach.parsing.numerals import read_number, tokens
from outreach.parsing.quantities import to_stored, units_in
from outreach.parsing.yesno import read_yes_no
from outreach.programs.model import AnswerValue, Question


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """An answer as stored: ``value`` in the question's unit (``unit``), and the text as typed."""

    value: AnswerValue
    unit: str | None
    raw: str


def parse_answer(question: Question, text: str, language: str) -> ParsedAnswer:
    """Read ``text`` as the answer to ``question``.

    Numbers are converted to the question's unit (kg → lb, mmol/L → mg/dL) and must lie within
    its range. Free text always parses (to the stripped text). Raises ``ParseError`` whose
    message is the patient-facing re-ask hint (:func:`expected_format`) for anything
    unreadable, ambiguous ("no idea", "6 or 7") or out of range.
    """
    value = _read(question, text, language)
    if value is None:
        raise ParseError(expected_format(question, language))
    unit = question.unit if question.type in ("scale", "number") else None
    return ParsedAnswer(value=value, unit=unit, raw=text)


def _read(question: Question, text: str, language: str) -> AnswerValue | None:
    if question.type == "text":
        return text.strip()
    if question.type == "yesno":
        return read_yes_no(text)
    if question.type == "choice":
        return read_choice(question, text, language)
    return _read_quantity(question, text, language)


def _read_quantity(question: Question, text: str, language: str) -> float | None:
    number = read_number(text, language, denominator=question.max, zero_words=True)
    if number is None:
        return None
    try:
        value = to_stored(number, units_in(tokens(text)), question.unit)
    except ParseError:
        return None
    low = question.min if question.min is not None else float("-inf")
    high = question.max if question.max is not None else float("inf")
    return value if low <= value <= high else None
