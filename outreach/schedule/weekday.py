"""Weekday names: parsing the words operators type and naming days in each language."""

from __future__ import annotations

_CANONICAL = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ALIASES: dict[str, int] = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip
_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}


def parse_weekday(word: str) -> int:
    """The weekday number (Monday = 0) for a name or abbreviation such as ``tue`` or ``Friday``."""
    number = _ALIASES.get(word.strip().lower().rstrip("."))
    if number is None:
        raise ValueError(f"unknown weekday {word!r} (use mon, tue, wed, thu, fri, sat or sun)")
    return number


def weekday_word(number: int) -> str:
    """The short canonical word for a weekday number (``tue``); :func:`parse_weekday` reads it."""
    return _CANONICAL[number]


def weekday_name(number: int, language: str) -> str:
    """The full weekday name in ``language`` (English for languages without a table)."""
    return _NAMES.get(language, _NAMES["en"])[number]
