"""The on-call rota: who answers escalations at a given moment, on each rung of the ladder."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

from outreach.schedule.localtime import ONE_DAY, parse_hhmm, parse_zone, require_aware, wall
from outreach.schedule.weekday import parse_weekday

Rung: TypeAlias = Literal["oncall", "supervisor"]
RUNGS: tuple[Rung, ...] = ("oncall", "supervisor")
_RUNG_WORDS: dict[str, Rung] = {"oncall": "oncall", "on-call": "oncall", "supervisor": "supervisor"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EVERY_DAY = frozenset(range(7))
_DAYS_FORMS = "e.g. mon-fri, sat;sun, mon;wed;fri or a date 2026-12-25"


@dataclass(frozen=True, slots=True)
class RotaEntry:
    """``email`` is on duty as ``rung`` from ``start`` to ``end`` (local wall-clock time in
    ``tz``) on the weekdays ``days`` (Monday = 0) or on the one ``date``.

    An ``end`` at or before ``start`` passes midnight (``end == start`` is a 24-hour shift); the
    hours after midnight belong to the day the shift started, so a ``fri`` 22:00–08:00 entry
    covers Saturday 03:00.
    """

    email: str
    days: frozenset[int] | None
    date: dt.date | None
    start: dt.time
    end: dt.time
    tz: ZoneInfo
    rung: Rung

    def __post_init__(self) -> None:
        if (self.days is None) == (self.date is None):
            raise ValueError("a rota entry needs either weekdays or one date, not both or neither")
        if self.days is not None and not (self.days and self.days <= _EVERY_DAY):
            raise ValueError(f"rota weekdays must be a non-empty subset of 0–6, got {self.days}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("rota times are local wall-clock times: pass naive times")
        if self.rung not in RUNGS:
            raise ValueError(f"rung must be oncall or supervisor, got {self.rung!r}")

    def starts_on(self, day: dt.date) -> bool:
        """Whether a shift of this entry starts on the local ``day``."""
        if self.date is not None:
            return day == self.date
        return self.days is not None and day.weekday() in self.days


def covers(entry: RotaEntry, when_utc: dt.datetime) -> bool:
    """Whether ``entry`` has its person on duty at ``when_utc`` (by the entry's local clock)."""
    local = wall(require_aware(when_utc, "when_utc"), entry.tz)
    day, reading = local.date(), local.time()
    if entry.start < entry.end:
        return entry.starts_on(day) and entry.start <= reading < entry.end
    return (entry.starts_on(day) and reading >= entry.start) or (
        entry.starts_on(day - ONE_DAY) and reading < entry.end
    )


def on_duty(entries: Iterable[RotaEntry], when_utc: dt.datetime, rung: Rung) -> list[str]:
    """The emails on duty as ``rung`` at ``when_utc``, in rota order, each once.

    Dated entries override: while one of the rung covers the moment, that rung's weekday
    entries are set aside, so a holiday line replaces the usual rota for its hours.
    """
    covering = [entry for entry in entries if entry.rung == rung and covers(entry, when_utc)]
    dated = [entry for entry in covering if entry.date is not None]
    return list(dict.fromkeys(entry.email for entry in dated or covering))


def parse_days(text: str) -> frozenset[int] | dt.date:
    """Weekday numbers (Monday = 0) from ``mon-fri``, ``sat;sun``, ``mon;wed;fri`` or
    ``fri-mon`` (ranges wrap), or the one date of ``2026-12-25``."""
    words = text.strip().lower()
    if _DATE.fullmatch(words):
        try:
            return dt.date.fromisoformat(words)
        except ValueError:
            raise ValueError(f"days: {text!r} is not a calendar date") from None
    parts = [part.strip() for part in re.split(r"[;,]", words)]
    if not words:
        raise ValueError(f"days: empty; give {_DAYS_FORMS}")
    if not all(parts):
        raise ValueError(f"days: {text!r} has an empty entry ({_DAYS_FORMS})")
    if any(_DATE.fullmatch(part) for part in parts):
        raise ValueError(f"days: {text!r} mixes dates and weekdays; give one date per line")
    days: set[int] = set()
    for part in parts:
        days |= _weekday_range(part, text)
    return frozenset(days)


def _weekday_range(part: str, text: str) -> set[int]:
    if part in ("daily", "all"):
        return set(_EVERY_DAY)
    first, dash, last = part.partition("-")
    try:
        start = parse_weekday(first)
        stop = parse_weekday(last) if dash else start
    except ValueError as exc:
        raise ValueError(f"days: {text!r}: {exc}") from None
    return {(start + step) % 7 for step in range((stop - start) % 7 + 1)}


def parse_rota_entry(
    email: str, days: str, start: str, end: str, timezone: str, rung: str
) -> RotaEntry:
    """A rota entry from the CSV columns ``email,days,start,end,timezone,rung``.

    Raises ``ValueError`` whose message starts with the column at fault.
    """
    address = email.strip()
    if "@" not in address.strip("@"):
        raise ValueError(f"email: {email!r} is not an email address")
    rung_value = _RUNG_WORDS.get(rung.strip().lower())
    if rung_value is None:
        raise ValueError(f"rung: must be oncall or supervisor, got {rung!r}")
    parsed = parse_days(days)
    return RotaEntry(
        email=address,
        days=None if isinstance(parsed, dt.date) else parsed,
        date=parsed if isinstance(parsed, dt.date) else None,
        start=parse_hhmm(start, "start"),
        end=parse_hhmm(end, "end"),
        tz=parse_zone(timezone),
        rung=rung_value,
    )
