"""Reminder policy: when an unanswered check-in is nudged and when its response window closes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from outreach.schedule.localtime import require_aware
from outreach.schedule.window import ContactWindow


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """Reminders ``offsets`` after the first question; the check-in is missed after
    ``response_window`` (SPEC §4: 72 h by default)."""

    offsets: tuple[timedelta, ...] = (timedelta(hours=4), timedelta(hours=24))
    response_window: timedelta = timedelta(hours=72)

    def __post_init__(self) -> None:
        if self.response_window <= timedelta(0):
            raise ValueError(f"response window must be positive, got {self.response_window}")
        if any(offset <= timedelta(0) for offset in self.offsets):
            raise ValueError(f"reminder offsets must be positive, got {self.offsets}")
        if list(self.offsets) != sorted(set(self.offsets)):
            raise ValueError(f"reminder offsets must increase, got {self.offsets}")


def response_deadline(first_sent_utc: datetime, policy: ReminderPolicy) -> datetime:
    """When the response window of a check-in whose first question went at ``first_sent_utc``
    closes (UTC): unanswered by then, it is missed."""
    return require_aware(first_sent_utc, "first_sent_utc") + policy.response_window


def reminder_times(
    first_sent_utc: datetime,
    tz: ZoneInfo,
    window: ContactWindow,
    policy: ReminderPolicy | None = None,
) -> list[datetime]:
    """The reminder times (UTC, increasing) for a check-in first sent at ``first_sent_utc``.

    Each reminder due in quiet hours waits for the next window opening; one that would then
    land at or after the response deadline is dropped, and reminders deferred onto the same
    opening are sent once.
    """
    policy = policy or ReminderPolicy()
    first_sent = require_aware(first_sent_utc, "first_sent_utc")
    deadline = response_deadline(first_sent, policy)
    times: list[datetime] = []
    for offset in policy.offsets:
        due = window.next_open(first_sent + offset, tz)
        if due < deadline and (not times or due > times[-1]):
            times.append(due)
    return times
