"""How a question reads in a message: its text plus the answer options people can type."""

from __future__ import annotations

from outreach.programs.model import Question

_YES_NO = {"en": "(yes/no)", "es": "(sí/no)"}
_REPLY_WITH = {"en": "Reply with a number:", "es": "Responda con un número:"}


def render_question(question: Question, language: str) -> str:
    """The question as the patient sees it."""
    body = question.text.get(language)
    if question.type == "yesno":
        return f"{body} {_YES_NO.get(language, _YES_NO['en'])}"
    if question.type == "choice":
        options = ", ".join(
            f"{number} {option.label.get(language)}"
            for number, option in zip(option_numbers(question), question.options, strict=True)
        )
        return f"{body} {_REPLY_WITH.get(language, _REPLY_WITH['en'])} {options}"
    return body


def option_numbers(question: Question) -> list[int]:
    """The number a patient types for each option: its value when all values are distinct
    whole numbers (PHQ items are 0-3), else its position from 1."""
    values = [option.value for option in question.options]
    if all(float(v).is_integer() for v in values) and len(set(values)) == len(values):
        return [int(v) for v in values]
    return list(range(1, len(values) + 1))
