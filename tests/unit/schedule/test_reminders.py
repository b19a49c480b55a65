"""Reminders: deferred into the contact window, dropped after the response deadline."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.schedule import ContactWindow, ReminderPolicy, reminder_times, response_deadline
from tests.unit.schedule.strategies import instants, windows, zones

NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def test_default_policy_is_4_and_24_hours_within_72() -> None:
    policy = ReminderPolicy()
    assert policy.offsets == (4 * HOUR, 24 * HOUR)
    assert response_deadline(local(2026, 12, 1, 10), policy) == local(2026, 12, 4, 10)


def test_reminders_inside_the_window_go_at_their_offsets() -> None:
    sent = local(2026, 12, 1, 10)
    assert reminder_times(sent, NEW_YORK, ContactWindow()) == [
        local(2026, 12, 1, 14),
        local(2026, 12, 2, 10),
    ]


def test_a_reminder_due_in_quiet_hours_waits_for_the_morning() -> None:
    sent = local(2026, 12, 1, 18)
    assert reminder_times(sent, NEW_YORK, ContactWindow()) == [
        local(2026, 12, 2, 9),  # due 22:00
        local(2026, 12, 2, 18),
    ]


def test_reminders_past_the_response_deadline_are_dropped() -> None:
    policy = ReminderPolicy(offsets=(4 * HOUR, 12 * HOUR), response_window=14 * HOUR)
    # Sent 19:00: +4 h is 23:00 → 09:00 (+14 h, the deadline itself): dropped; +12 h is
    # 07:00 → 09:00 as well: dropped.
    assert reminder_times(local(2026, 12, 1, 19), NEW_YORK, ContactWindow(), policy) == []


def test_reminders_deferred_onto_the_same_opening_are_sent_once() -> None:
    policy = ReminderPolicy(offsets=(2 * HOUR, 4 * HOUR))
    times = reminder_times(local(2026, 12, 1, 19), NEW_YORK, ContactWindow(), policy)
    assert times == [local(2026, 12, 2, 9)]


@pytest.mark.parametrize(
    ("offsets", "window", "message"),
    [
        ((-HOUR,), 72 * HOUR, "reminder offsets must be positive"),
        ((4 * HOUR, 2 * HOUR), 72 * HOUR, "reminder offsets must increase"),
        ((4 * HOUR, 4 * HOUR), 72 * HOUR, "reminder offsets must increase"),
        ((4 * HOUR,), timedelta(0), "response window must be positive"),
    ],
)
def test_bad_policies_are_refused(
    offsets: tuple[timedelta, ...], window: timedelta, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ReminderPolicy(offsets=offsets, response_window=window)


offsets = st.lists(st.integers(1, 96 * 60), min_size=0, max_size=4, unique=True).map(
    lambda minutes: tuple(timedelta(minutes=m) for m in sorted(minutes))
)


@settings(max_examples=300, deadline=None)
@given(
    sent=instants,
    tz=zones,
    window=windows(),
    offsets=offsets,
    response_hours=st.integers(1, 120),
)
def test_reminders_fall_inside_the_window_and_before_the_deadline(
    sent: datetime,
    tz: ZoneInfo,
    window: ContactWindow,
    offsets: tuple[timedelta, ...],
    response_hours: int,
) -> None:
    policy = ReminderPolicy(offsets=offsets, response_window=timedelta(hours=response_hours))
    deadline = response_deadline(sent, policy)
    times = reminder_times(sent, tz, window, policy)
    assert len(times) <= len(offsets)
    assert all(earlier < later for earlier, later in itertools.pairwise(times))
    for when in times:
        assert sent < when < deadline
        assert window.is_open(when, tz)
    # Nothing is lost but what the deadline cuts off.
    expected = {window.next_open(sent + offset, tz) for offset in offsets}
    assert set(times) == {when for when in expected if when < deadline}
