"""What a demo patient types in answer to a question: their usual answer, or this month's own."""

from __future__ import annotations

from bot.demo.data import DemoPatient
from outreach.programs.model import Question

# Answers that are neither the first option nor a type's default, per question and language.
_USUAL_BY_QUESTION: dict[str, dict[str, str]] = {
    "general_health": {"en": "good", "es": "bien"},
    "pain": {"en": "2", "es": "dos"},
    "lowest_sugar": {"en": "95", "es": "95"},
    "highest_sugar": {"en": "160", "es": "160"},
}
_USUAL_BY_TYPE: dict[str, dict[str, str]] = {
    "yesno": {"en": "no", "es": "no"},
    "text": {"en": "No, thanks", "es": "No, gracias"},
}


def answer_text(question: Question, patient: DemoPatient, *, last_month: bool = False) -> str:
    """The text the patient replies with, as a person would type it."""
    own = patient.last_answers if last_month else patient.answers
    if question.id in own:
        return own[question.id]
    return usual_answer(question, patient)


def usual_answer(question: Question, patient: DemoPatient) -> str:
    """A steady patient's answer: nothing new, nothing worse than last time."""
    language = patient.language
    if question.id in _USUAL_BY_QUESTION:
        return _USUAL_BY_QUESTION[question.id][language]
    if question.type in _USUAL_BY_TYPE:
        return _USUAL_BY_TYPE[question.type][language]
    if question.type == "choice":
        # The lowest value is the best one in every built-in choice (PHQ "not at all").
        best = min(question.options, key=lambda option: option.value)
        return best.label.get(language)
    if question.unit == "lb" and patient.baseline_weight is not None:
        return f"{patient.baseline_weight:g}"
    low = question.min if question.min is not None else 0.0
    return f"{low:g}"
