"""Contact windows: the local hours in which scheduled messages may go out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from outreach.schedule.localtime import ONE_DAY, first_instant_from, parse_hhmm, require_aware, wall

# 47 CFR 64.1200(c): no calls or texts before 8am or after 9pm at the called party's location.
LEGAL_START = time(8)
LEGAL_END = time(21)
_SEARCH_DAYS = 8  # a window opens every day; more than a week of searching is a bug
_RANGE = re.compile(r"\s*([0-9:]+)\s*[-–]\s*([0-9:]+)\s*")


@dataclass(frozen=True, slots=True)
class ContactWindow:
    """Local wall-clock hours ``[start, end)`` for scheduled messages, inside 08:00–21:00.

    The default 09:00–20:00 also satisfies the states that stop at 8pm (CLINICAL §4).
    Everything outside the window is quiet hours: scheduled items wait for the next opening.
    """

    start: time = time(9)
    end: time = time(20)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("contact window times are local wall-clock times: pass naive times")
        if self.start >= self.end:
            raise ValueError(f"contact window {self} must start before it ends")
        if self.start < LEGAL_START or self.end > LEGAL_END:
            raise ValueError(f"contact window {self} must lie inside the legal 08:00-21:00")

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def is_open(self, when_utc: datetime, tz: ZoneInfo) -> bool:
        """Whether the clocks in ``tz`` read inside the window at ``when_utc``."""
        reading = wall(require_aware(when_utc, "when_utc"), tz).time()
        return self.start <= reading < self.end

    def next_open(self, when_utc: datetime, tz: ZoneInfo) -> datetime:
        """``when_utc`` itself if the window is open then, else the next opening (UTC).

        An opening swallowed by a DST gap moves to the end of the gap; nothing is dropped.
        """
        when = require_aware(when_utc, "when_utc")
        if self.is_open(when, tz):
            return when
        day = when.astimezone(tz).date()
        for _ in range(_SEARCH_DAYS):
            opening = first_instant_from(day, self.start, tz)
            if opening >= when and self.is_open(opening, tz):
                return opening
            day += ONE_DAY
        raise RuntimeError(f"contact window {self} never opens in {tz.key} after {when}")


LEGAL_WINDOW = ContactWindow(LEGAL_START, LEGAL_END)


def clamp_for_manual(when_utc: datetime, tz: ZoneInfo, *, force: bool = False) -> datetime:
    """When a manual check-in may start: ``when_utc`` if forced or inside the legal hours.

    Manual starts ignore the contact window but not 08:00–21:00 patient-local time; outside
    it the result is the next legal opening, so a caller that wants to refuse instead can
    compare the result with ``when_utc``.
    """
    when = require_aware(when_utc, "when_utc")
    return when if force else LEGAL_WINDOW.next_open(when, tz)


def parse_window(text: str) -> ContactWindow:
    """A contact window from ``HH:MM-HH:MM`` words such as ``09:00-20:00``."""
    match = _RANGE.fullmatch(text)
    if match is None:
        raise ValueError(f"contact window must be HH:MM-HH:MM (e.g. 09:00-20:00), got {text!r}")
    start = parse_hhmm(match[1], "contact window start")
    end = parse_hhmm(match[2], "contact window end")
    return ContactWindow(start, end)
