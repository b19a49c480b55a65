"""Parsing cadences from CSV words, describing them, and writing them back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, time

import pytest
from hypothesis import given

from outreach.schedule import (
    Cadence,
    EveryNDays,
    MonthlyDay,
    MonthlyWeekday,
    Weekly,
    parse_cadence,
)
from tests.unit.schedule.strategies import cadences

TEN = time(10)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("5", MonthlyDay(at=TEN, day=5)),
        (" 28 ", MonthlyDay(at=TEN, day=28)),
        ("31", MonthlyDay(at=TEN, day=31)),
        ("first tue", MonthlyWeekday(at=TEN, ordinal=1, weekday=1)),
        ("First Tuesday", MonthlyWeekday(at=TEN, ordinal=1, weekday=1)),
        ("2nd wed", MonthlyWeekday(at=TEN, ordinal=2, weekday=2)),
        ("third thurs", MonthlyWeekday(at=TEN, ordinal=3, weekday=3)),
        ("fourth sat", MonthlyWeekday(at=TEN, ordinal=4, weekday=5)),
        ("last Friday", MonthlyWeekday(at=TEN, ordinal=-1, weekday=4)),
        ("LAST  sun", MonthlyWeekday(at=TEN, ordinal=-1, weekday=6)),
        ("weekly mon", Weekly(at=TEN, weekday=0)),
        ("every Wednesday", Weekly(at=TEN, weekday=2)),
        ("every 14 days", EveryNDays(at=TEN, days=14)),
        ("every 1 days", EveryNDays(at=TEN, days=1)),
        ("every day", EveryNDays(at=TEN, days=1)),
        ("daily", EveryNDays(at=TEN, days=1)),
        ("every 2 weeks", EveryNDays(at=TEN, days=14)),
    ],
)
def test_parse_day_words(day: str, expected: Cadence) -> None:
    assert parse_cadence(day, "10:00") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10:00", TEN), ("9:05", time(9, 5)), ("00:00", time(0)), ("23:59", time(23, 59))],
)
def test_parse_time_words(text: str, expected: time) -> None:
    assert parse_cadence("5", text).at == expected


@pytest.mark.parametrize(
    ("day", "clock", "message"),
    [
        ("0", "10:00", r"checkin_day '0': day of month must be 1–31, got '0'"),
        ("32", "10:00", r"checkin_day '32': day of month must be 1–31"),
        ("fifth mon", "10:00", r"checkin_day 'fifth mon' is not a cadence: use 1–31"),
        ("first tusday", "10:00", r"unknown weekday 'tusday'"),
        ("every funday", "10:00", r"checkin_day 'every funday': unknown weekday 'funday'"),
        ("every 0 days", "10:00", r"number of days must be 1–365, got '0'"),
        ("every 366 days", "10:00", r"number of days must be 1–365"),
        ("every x days", "10:00", r"number of days must be 1–365, got 'x'"),
        ("", "10:00", r"checkin_day '' is not a cadence"),
        ("5 6", "10:00", r"checkin_day '5 6' is not a cadence"),
        (
            "5",
            "24:00",
            r"checkin_time must be HH:MM on the 24-hour clock \(e\.g\. 10:00\), "
            r"got '24:00'",
        ),
        ("5", "10:60", r"checkin_time .* got '10:60'"),
        ("5", "10", r"checkin_time .* got '10'"),
        ("5", "10am", r"checkin_time .* got '10am'"),
        ("5", "", r"checkin_time .* got ''"),
        ("²", "10:00", r"checkin_day '²' is not a cadence"),
    ],
)
def test_bad_words_name_the_column_and_the_words(day: str, clock: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cadence(day, clock)


@pytest.mark.parametrize(
    ("day", "english", "spanish"),
    [
        ("5", "day 5 of each month at 10:00", "el día 5 de cada mes a las 10:00"),
        (
            "31",
            "day 31 of each month (the last day in shorter months) at 10:00",
            "el día 31 de cada mes (el último día en los meses más cortos) a las 10:00",
        ),
        (
            "first tue",
            "first Tuesday of each month at 10:00",
            "el primer martes de cada mes a las 10:00",
        ),
        (
            "last fri",
            "last Friday of each month at 10:00",
            "el último viernes de cada mes a las 10:00",
        ),
        (
            "third wed",
            "third Wednesday of each month at 10:00",
            "el tercer miércoles de cada mes a las 10:00",
        ),
        ("weekly sat", "every Saturday at 10:00", "cada sábado a las 10:00"),
        ("every 14 days", "every 14 days at 10:00", "cada 14 días a las 10:00"),
        ("daily", "every day at 10:00", "todos los días a las 10:00"),
    ],
)
def test_describe(day: str, english: str, spanish: str) -> None:
    cadence = parse_cadence(day, "10:00")
    assert cadence.describe() == english
    assert cadence.describe("en") == english
    assert cadence.describe("es") == spanish
    assert cadence.describe("es-MX") == spanish
    assert cadence.describe("fr") == english  # no French table: English


def test_spanish_uses_the_singular_article_at_one_oclock() -> None:
    assert parse_cadence("5", "01:30").describe("es") == "el día 5 de cada mes a la 01:30"


@given(cadences)
def test_words_read_back_to_the_same_cadence(cadence: Cadence) -> None:
    assert parse_cadence(*cadence.to_words()) == cadence


@pytest.mark.parametrize(
    "build",
    [
        lambda: MonthlyDay(at=TEN, day=0),
        lambda: MonthlyWeekday(at=TEN, ordinal=5, weekday=0),
        lambda: MonthlyWeekday(at=TEN, ordinal=1, weekday=7),
        lambda: Weekly(at=TEN, weekday=-1),
        lambda: EveryNDays(at=TEN, days=0),
        lambda: Weekly(at=time(10, tzinfo=UTC), weekday=1),
    ],
)
def test_constructors_validate(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        build()
