"""Answer parsing: what patients type, read as numbers, yes/no, choices, quantities or text."""

from outreach.parsing.answers import ParsedAnswer, parse_answer
from outreach.parsing.choices import option_numbers
from outreach.parsing.formats import choice_menu, expected_format, question_prompt

__all__ = [
    "ParsedAnswer",
    "choice_menu",
    "expected_format",
    "option_numbers",
    "parse_answer",
    "question_prompt",
]
