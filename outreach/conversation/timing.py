"""When a conversation wakes up next: reminders inside the contact window, then the deadline."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from outreach.conversation.env import ConversationEnv
from outreach.conversation.state import ConversationState, parse_iso
from outreach.schedule import ContactWindow, ReminderPolicy, parse_window, reminder_times


def first_reminders(first_sent: datetime, env: ConversationEnv) -> list[datetime]:
    """Reminder times for a check-in whose first question went out at ``first_sent``."""
    policy = env.policy
    window: ContactWindow = parse_window(f"{policy.window_start}-{policy.window_end}")
    reminder_policy = ReminderPolicy(
        offsets=policy.reminders, response_window=policy.response_window
    )
    return reminder_times(first_sent, ZoneInfo(env.patient.timezone), window, reminder_policy)


def next_wake(state: ConversationState, now: datetime) -> datetime | None:
    """The next reminder not yet sent, else the response deadline."""
    for moment in state.reminders[state.reminders_sent :]:
        parsed = parse_iso(moment)
        if parsed is not None and parsed > now:
            return parsed
    return parse_iso(state.deadline)
