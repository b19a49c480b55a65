"""What an answer should look like, told to the patient: re-ask hints and choice menus."""

from __future__ import annotations

from typing import Final

from outreach.parsing.choices import option_numbers
from outreach.programs.model import Question

_HINTS: Final[dict[str, dict[str, str]]] = {
    "yesno": {"en": "Please answer YES or NO.", "es": "Por favor responda SÍ o NO."},
    "text": {
        "en": "Please reply with a short message.",
        "es": "Por favor responda con un mensaje corto.",
    },
    "number": {
        "en": "Please answer with a number from {min} to {max}.",
        "es": "Por favor responda con un número del {min} al {max}.",
    },
    "lb": {
        "en": "Please answer with your weight in pounds, a number from {min} to {max} "
        "(for kilograms add kg, like 82.5 kg).",
        "es": "Por favor responda con su peso en libras, un número del {min} al {max} "
        "(para kilos agregue kg, como 82,5 kg).",
    },
    "mg_dl": {
        "en": "Please answer with a number in mg/dL from {min} to {max} "
        "(for mmol/L add mmol, like 5.5 mmol).",
        "es": "Por favor responda con un número en mg/dL del {min} al {max} "
        "(para mmol/L agregue mmol, como 5,5 mmol).",
    },
    "days": {
        "en": "Please answer with a number of days from {min} to {max}.",
        "es": "Por favor responda con un número de días del {min} al {max}.",
    },
    "choice": {
        "en": "Please answer with one of these numbers: {menu}.",
        "es": "Por favor responda con uno de estos números: {menu}.",
    },
}


def expected_format(question: Question, language: str) -> str:
    """The sentence that re-asks for an answer in the right form, in ``language`` (en fallback).

    "Please answer with a number from 0 to 10." / "Por favor responda con un número del 0 al 10."
    """
    lang = language if language in ("en", "es") else "en"
    if question.type == "choice":
        return _HINTS["choice"][lang].format(menu=choice_menu(question, lang))
    if question.type in ("yesno", "text"):
        return _HINTS[question.type][lang]
    key = question.unit if question.unit in ("lb", "mg_dl", "days") else "number"
    low, high = _number(question.min, lang), _number(question.max, lang)
    return _HINTS[str(key)][lang].format(min=low, max=high)


def choice_menu(question: Question, language: str) -> str:
    """The options as "1 Excellent, 2 Very good, …", numbered by :func:`option_numbers`."""
    numbers = option_numbers(question)
    return ", ".join(
        f"{n} {o.label.get(language)}" for n, o in zip(numbers, question.options, strict=True)
    )


def question_prompt(question: Question, language: str) -> str:
    """The question as sent: its text, and for a choice the menu in brackets."""
    text = question.text.get(language)
    if question.type != "choice":
        return text
    return f"{text} ({choice_menu(question, language)})"


def _number(value: float | None, language: str) -> str:
    if value is None:
        return "?"
    text = str(int(value)) if float(value).is_integer() else f"{value:g}"
    return text.replace(".", ",") if language == "es" else text
