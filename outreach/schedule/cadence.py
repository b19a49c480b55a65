"""Cadences: the calendar rule and local wall-clock time on which an enrolment's check-ins fall."""

from __future__ import annotations

import calendar
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, time, timedelta

from outreach.schedule.localtime import parse_hhmm
from outreach.schedule.weekday import parse_weekday, weekday_name, weekday_word

_EPOCH = date(1970, 1, 1)  # the phase of an every-N-days cadence that is given no anchor
_ORDINALS = {
    **{"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1},
    **{"1st": 1, "2nd": 2, "3rd": 3, "4th": 4},
}
_ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_ORDINALS_ES = {1: "primer", 2: "segundo", 3: "tercer", 4: "cuarto", -1: "último"}
_MAX_EVERY_DAYS = 365
_DAY_FORMS = "1–31, 'first tue', 'last fri', 'weekly mon' or 'every 14 days'"


def _base_language(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()


def _check_at(at: time) -> None:
    if at.tzinfo is not None:
        raise ValueError("a cadence time is local wall-clock time: pass a naive time")


@dataclass(frozen=True, slots=True, kw_only=True)
class Cadence(ABC):
    """A calendar rule plus the local wall-clock time its occurrences are due at.

    Occurrence *days* are local calendar days; :mod:`outreach.schedule.occurrence` turns them
    into UTC instants. ``anchor`` arguments only matter to :class:`EveryNDays`.
    """

    at: time

    @abstractmethod
    def first_day_from(self, day: date, anchor: date | None = None) -> date:
        """The first occurrence day on or after ``day``."""

    @abstractmethod
    def last_day_until(self, day: date, anchor: date | None = None) -> date:
        """The last occurrence day on or before ``day``."""

    @abstractmethod
    def period_key(self, day: date) -> str:
        """The stable key of the period the occurrence on ``day`` belongs to."""

    @abstractmethod
    def day_words(self) -> str:
        """The canonical ``checkin_day`` words, which :func:`parse_cadence` reads back."""

    @abstractmethod
    def rule_text(self, language: str) -> str:
        """The calendar rule in words ("day 5 of each month"), ``language`` being en or es."""

    def is_occurrence_day(self, day: date, anchor: date | None = None) -> bool:
        """Whether an occurrence is due on ``day``."""
        return self.first_day_from(day, anchor) == day

    def describe(self, language: str = "en") -> str:
        """The cadence for people: "day 5 of each month at 10:00" (en, es; else English)."""
        clock = self.at.strftime("%H:%M")
        if _base_language(language) == "es":
            return f"{self.rule_text('es')} {'a la' if self.at.hour == 1 else 'a las'} {clock}"
        return f"{self.rule_text('en')} at {clock}"

    def to_words(self) -> tuple[str, str]:
        """``(checkin_day, checkin_time)`` words that :func:`parse_cadence` reads back."""
        return self.day_words(), self.at.strftime("%H:%M")


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthlyCadence(Cadence):
    """One occurrence per calendar month; the period key is ``YYYY-MM``."""

    @abstractmethod
    def day_in_month(self, year: int, month: int) -> date:
        """The occurrence day of that month."""

    def first_day_from(self, day: date, anchor: date | None = None) -> date:
        candidate = self.day_in_month(day.year, day.month)
        return candidate if candidate >= day else self.day_in_month(*_shift_month(day, 1))

    def last_day_until(self, day: date, anchor: date | None = None) -> date:
        candidate = self.day_in_month(day.year, day.month)
        return candidate if candidate <= day else self.day_in_month(*_shift_month(day, -1))

    def period_key(self, day: date) -> str:
        return f"{day.year:04d}-{day.month:02d}"


def _shift_month(day: date, months: int) -> tuple[int, int]:
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    return year, month_index + 1


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthlyDay(MonthlyCadence):
    """Day ``day`` (1–31) of each month; 29–31 fall on the last day of shorter months."""

    day: int

    def __post_init__(self) -> None:
        _check_at(self.at)
        if not 1 <= self.day <= 31:
            raise ValueError(f"checkin_day: day of month must be 1–31, got {self.day}")

    def day_in_month(self, year: int, month: int) -> date:
        return date(year, month, min(self.day, _last_day(year, month)))

    def day_words(self) -> str:
        return str(self.day)

    def rule_text(self, language: str) -> str:
        if _base_language(language) == "es":
            short = " (el último día en los meses más cortos)" if self.day > 28 else ""
            return f"el día {self.day} de cada mes{short}"
        short = " (the last day in shorter months)" if self.day > 28 else ""
        return f"day {self.day} of each month{short}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthlyWeekday(MonthlyCadence):
    """The first to fourth (``ordinal`` 1–4) or last (``ordinal`` -1) ``weekday`` of each month."""

    ordinal: int
    weekday: int

    def __post_init__(self) -> None:
        _check_at(self.at)
        if self.ordinal not in _ORDINAL_WORDS:
            raise ValueError(f"checkin_day: ordinal must be 1–4 or -1 (last), got {self.ordinal}")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"checkin_day: weekday must be 0 (Monday) to 6, got {self.weekday}")

    def day_in_month(self, year: int, month: int) -> date:
        if self.ordinal < 0:
            last = date(year, month, _last_day(year, month))
            return last - timedelta(days=(last.weekday() - self.weekday) % 7)
        first = date(year, month, 1)
        offset = (self.weekday - first.weekday()) % 7 + 7 * (self.ordinal - 1)
        return first + timedelta(days=offset)

    def day_words(self) -> str:
        return f"{_ORDINAL_WORDS[self.ordinal]} {weekday_word(self.weekday)}"

    def rule_text(self, language: str) -> str:
        if _base_language(language) == "es":
            name = weekday_name(self.weekday, "es")
            return f"el {_ORDINALS_ES[self.ordinal]} {name} de cada mes"
        return f"{_ORDINAL_WORDS[self.ordinal]} {weekday_name(self.weekday, 'en')} of each month"


@dataclass(frozen=True, slots=True, kw_only=True)
class Weekly(Cadence):
    """Every ``weekday``; the period key is the ISO week (``2026-W49``)."""

    weekday: int

    def __post_init__(self) -> None:
        _check_at(self.at)
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"checkin_day: weekday must be 0 (Monday) to 6, got {self.weekday}")

    def first_day_from(self, day: date, anchor: date | None = None) -> date:
        return day + timedelta(days=(self.weekday - day.weekday()) % 7)

    def last_day_until(self, day: date, anchor: date | None = None) -> date:
        return day - timedelta(days=(day.weekday() - self.weekday) % 7)

    def period_key(self, day: date) -> str:
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"

    def day_words(self) -> str:
        return f"weekly {weekday_word(self.weekday)}"

    def rule_text(self, language: str) -> str:
        if _base_language(language) == "es":
            return f"cada {weekday_name(self.weekday, 'es')}"
        return f"every {weekday_name(self.weekday, 'en')}"


@dataclass(frozen=True, slots=True, kw_only=True)
class EveryNDays(Cadence):
    """Every ``days`` days, in phase with the anchor day; the period key is ``dYYYY-MM-DD``."""

    days: int

    def __post_init__(self) -> None:
        _check_at(self.at)
        if not 1 <= self.days <= _MAX_EVERY_DAYS:
            raise ValueError(f"checkin_day: every N days needs N from 1 to 365, got {self.days}")

    def first_day_from(self, day: date, anchor: date | None = None) -> date:
        phase = (anchor or _EPOCH).toordinal()
        return day + timedelta(days=(phase - day.toordinal()) % self.days)

    def last_day_until(self, day: date, anchor: date | None = None) -> date:
        phase = (anchor or _EPOCH).toordinal()
        return day - timedelta(days=(day.toordinal() - phase) % self.days)

    def is_occurrence_day(self, day: date, anchor: date | None = None) -> bool:
        # Without an anchor any day can be in phase: the caller's own occurrence sets it.
        return anchor is None or self.first_day_from(day, anchor) == day

    def period_key(self, day: date) -> str:
        return f"d{day.isoformat()}"

    def day_words(self) -> str:
        return "every day" if self.days == 1 else f"every {self.days} days"

    def rule_text(self, language: str) -> str:
        if _base_language(language) == "es":
            return "todos los días" if self.days == 1 else f"cada {self.days} días"
        return "every day" if self.days == 1 else f"every {self.days} days"


def parse_cadence(day: str, time: str) -> Cadence:
    """A cadence from the CSV words ``checkin_day`` and ``checkin_time``.

    ``day``: ``1``–``31`` (29–31 mean the last day in shorter months), ``first|second|third|
    fourth|last <weekday>``, ``weekly <weekday>`` / ``every <weekday>``, ``every N days``,
    ``every N weeks`` or ``every day`` / ``daily``. ``time``: ``HH:MM`` on the 24-hour clock.
    Raises ``ValueError`` whose message names the column and the words at fault.
    """
    return _parse_rule(day, parse_hhmm(time, "checkin_time"))


def _parse_rule(text: str, at: time) -> Cadence:
    words = text.strip().lower().split()
    if len(words) == 1 and _is_number(words[0]):
        return MonthlyDay(at=at, day=_bounded(words[0], 1, 31, "day of month", text))
    if len(words) == 2 and words[0] in _ORDINALS:
        return MonthlyWeekday(at=at, ordinal=_ORDINALS[words[0]], weekday=_weekday(words[1], text))
    if words in (["daily"], ["every", "day"]):
        return EveryNDays(at=at, days=1)
    if len(words) == 3 and words[0] == "every" and words[2] in ("days", "weeks"):
        unit = 7 if words[2] == "weeks" else 1
        count = _bounded(words[1], 1, _MAX_EVERY_DAYS // unit, f"number of {words[2]}", text)
        return EveryNDays(at=at, days=count * unit)
    if len(words) == 2 and words[0] in ("weekly", "every"):
        return Weekly(at=at, weekday=_weekday(words[1], text))
    raise ValueError(f"checkin_day {text!r} is not a cadence: use {_DAY_FORMS}")


def _bounded(word: str, low: int, high: int, what: str, text: str) -> int:
    if not _is_number(word) or not low <= int(word) <= high:
        raise ValueError(f"checkin_day {text!r}: {what} must be {low}–{high}, got {word!r}")
    return int(word)


def _is_number(word: str) -> bool:
    return word.isascii() and word.isdigit()


def _weekday(word: str, text: str) -> int:
    try:
        return parse_weekday(word)
    except ValueError as exc:
        raise ValueError(f"checkin_day {text!r}: {exc}") from None
