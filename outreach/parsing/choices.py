"""Choice replies: the option's number, or its label or alias words in any program language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from outreach.parsing.normalization import squeeze, words
from outreach.parsing.numerals import read_number
from outreach.parsing.yesno import sounds_unsure
from outreach.programs.model import ChoiceOption, Question

_NEGATORS: Final = frozenset(
    squeeze(w) for w in ("not", "no", "never", "isnt", "wasnt", "arent", "dont", "nunca", "ni")
)
_NEGATION_WINDOW: Final = 3


@dataclass(frozen=True, slots=True)
class _Hit:
    value: float
    start: int
    end: int
    negated: bool


def read_choice(question: Question, text: str, language: str) -> float | None:
    """The value of the option the reply picks, or None when it picks none or several.

    A number selects an option by :func:`option_numbers` (its value: 1–5 general health, 0–3
    PHQ items).
    Label and alias words of every language count, the longest phrase wins ("very good" over
    "good"), and a phrase right after a negation ("not good") is not read as that option.
    An unsure reply ("no sé", "no idea") picks nothing, unless it is itself an alias.
    """
    toks = [squeeze(w) for w in words(text)]
    for option in question.options:
        if any(toks == phrase for phrase in _phrases(option)):
            return option.value
    if sounds_unsure(text):
        return None
    by_label = _read_label(question.options, toks)
    by_number = _read_value(question, text, language)
    if by_label is None or by_number is None:
        return by_label if by_number is None else by_number
    return by_label if by_label == by_number else None


def option_numbers(question: Question) -> list[int]:
    """The number a patient types for each option: its value when the values are distinct whole
    numbers (1–5 general health, 0–3 PHQ items), else its position from 1."""
    values = [option.value for option in question.options]
    if all(float(v).is_integer() for v in values) and len(set(values)) == len(values):
        return [int(v) for v in values]
    return list(range(1, len(values) + 1))


def _read_value(question: Question, text: str, language: str) -> float | None:
    number = read_number(text, language, articles=False)
    for typed, option in zip(option_numbers(question), question.options, strict=True):
        if typed == number:
            return option.value
    return None


def _read_label(options: list[ChoiceOption], toks: list[str]) -> float | None:
    hits = [hit for option in options for hit in _hits(option, toks)]
    kept = [h for h in hits if not any(_inside(h, other) for other in hits if other is not h)]
    if not kept or any(h.negated for h in kept):
        return None
    values = {h.value for h in kept}
    return values.pop() if len(values) == 1 else None


def _hits(option: ChoiceOption, toks: list[str]) -> list[_Hit]:
    hits = []
    for phrase in _phrases(option):
        size = len(phrase)
        for start in range(len(toks) - size + 1):
            if toks[start : start + size] == phrase:
                before = toks[max(0, start - _NEGATION_WINDOW) : start]
                negated = phrase[0] not in _NEGATORS and any(w in _NEGATORS for w in before)
                hits.append(_Hit(option.value, start, start + size, negated))
    return hits


def _inside(hit: _Hit, other: _Hit) -> bool:
    """True when ``hit`` lies within the longer ``other`` ("good" in "very good")."""
    longer = other.end - other.start > hit.end - hit.start
    return longer and other.start <= hit.start and hit.end <= other.end


def _phrases(option: ChoiceOption) -> list[list[str]]:
    texts = [t for t in (option.label.en, option.label.es) if t]
    texts += [alias for aliases in option.aliases.values() for alias in aliases]
    phrases = [[squeeze(w) for w in words(t)] for t in texts]
    return [p for p in phrases if p]
