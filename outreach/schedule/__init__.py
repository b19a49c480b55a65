"""Scheduling rules: cadences, occurrences, contact windows, reminders, business days, rota."""

from outreach.schedule.business import add_business_days, is_business_day
from outreach.schedule.cadence import (
    Cadence,
    EveryNDays,
    MonthlyCadence,
    MonthlyDay,
    MonthlyWeekday,
    Weekly,
    parse_cadence,
)
from outreach.schedule.localtime import parse_zone, to_utc
from outreach.schedule.occurrence import next_occurrence, occurrence_key, period_end
from outreach.schedule.reminders import ReminderPolicy, reminder_times, response_deadline
from outreach.schedule.rota import (
    RUNGS,
    RotaEntry,
    Rung,
    covers,
    on_duty,
    parse_days,
    parse_rota_entry,
)
from outreach.schedule.window import (
    LEGAL_END,
    LEGAL_START,
    LEGAL_WINDOW,
    ContactWindow,
    clamp_for_manual,
    parse_window,
)

__all__ = [
    "LEGAL_END",
    "LEGAL_START",
    "LEGAL_WINDOW",
    "RUNGS",
    "Cadence",
    "ContactWindow",
    "EveryNDays",
    "MonthlyCadence",
    "MonthlyDay",
    "MonthlyWeekday",
    "ReminderPolicy",
    "RotaEntry",
    "Rung",
    "Weekly",
    "add_business_days",
    "clamp_for_manual",
    "covers",
    "is_business_day",
    "next_occurrence",
    "occurrence_key",
    "on_duty",
    "parse_cadence",
    "parse_days",
    "parse_rota_entry",
    "parse_window",
    "parse_zone",
    "period_end",
    "reminder_times",
    "response_deadline",
    "to_utc",
]
