"""Builds what a conversation step needs from the database: patient view, history, policy."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from outreach.conversation import ConversationEnv, PatientView, Policy
from outreach.conversation.env import Screen, no_screen
from outreach.locale import EmergencyLocale, country_for_timezone, locale_for
from outreach.programs.model import AnswerValue, Program
from outreach.rules import RuleContext
from outreach.schedule import next_occurrence, parse_cadence
from outreach.texts import first_name, format_date
from storage.models import CheckIn, Enrollment, Patient
from storage.repositories.checkins import CheckInRepository

FALLBACK_LOCALE = EmergencyLocale("US", "911", "988", "Suicide & Crisis Lifeline")
READING_LOOKBACK = timedelta(days=14)


def patient_locale(patient: Patient, settings: Settings) -> EmergencyLocale:
    """The emergency locale of the patient: their phone's country, else their time zone's."""
    return _locale(patient.phone, patient.timezone, settings.default_region)


# Parsing a phone number costs more than the rest of a conversation step: remember the answers.
@functools.lru_cache(maxsize=4096)
def _locale(phone: str | None, timezone: str, default_region: str) -> EmergencyLocale:
    country: str | None = None
    if phone:
        try:
            country = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
        except phonenumbers.NumberParseException:
            country = None
    country = country or country_for_timezone(timezone) or default_region
    return locale_for(country) or FALLBACK_LOCALE


def policy_from(settings: Settings) -> Policy:
    return _policy(settings.contact_window, settings.reminder_hours, settings.response_window_hours)


@functools.lru_cache(maxsize=64)
def _policy(contact_window: str, reminder_hours: str, response_window_hours: float) -> Policy:
    start, _, end = contact_window.partition("-")
    hours = [float(h) for h in reminder_hours.split(",") if h.strip()]
    return Policy(
        reminders=tuple(timedelta(hours=h) for h in hours),
        response_window=timedelta(hours=response_window_hours),
        window_start=start.strip(),
        window_end=end.strip(),
    )


def patient_view(patient: Patient, settings: Settings) -> PatientView:
    return PatientView(
        first_name=first_name(patient.name),
        language=patient.language,
        timezone=patient.timezone,
        locale=patient_locale(patient, settings),
    )


def next_checkin_text(enrollment: Enrollment | None, patient: Patient, now: datetime) -> str | None:
    """The next scheduled check-in's local date, as the closing message says it."""
    if enrollment is None or enrollment.paused:
        return None
    zone = ZoneInfo(patient.timezone)
    due = enrollment.next_due_at
    if due is None or due <= now:
        cadence = parse_cadence(enrollment.cadence_day, enrollment.cadence_time)
        due = next_occurrence(cadence, now, zone, enrollment.anchor_at)
    return format_date(due.astimezone(zone).date(), patient.language)


async def rule_context(
    session: AsyncSession, patient: Patient, program: Program, checkin: CheckIn, now: datetime
) -> RuleContext:
    """Previous answers (last completed check-in), baseline and recent dated readings."""
    repo = CheckInRepository(session)
    last = await repo.last_completed(patient.id, program_id=program.id, exclude_id=checkin.id)
    previous: dict[str, AnswerValue] = {}
    if last is not None:
        previous = {a.question_id: _answer_value(a.value_num, a.value_text) for a in last.answers}
        previous.update((k, float(v)) for k, v in (last.state or {}).get("totals", {}).items())
    baseline: dict[str, AnswerValue] = {
        k: v for k, v in (patient.baseline or {}).items() if isinstance(v, int | float | str)
    }
    readings: list[tuple[datetime, str, float]] = []
    for question in program.questions:
        if question.type != "number":
            continue
        for reading in await repo.readings(patient.id, question.id, since=now - READING_LOOKBACK):
            if reading.checkin_id != checkin.id:
                readings.append((reading.at, question.id, reading.value))
    return RuleContext(now=now, previous=previous, baseline=baseline, readings=readings)


def _answer_value(value_num: float | None, value_text: str | None) -> AnswerValue:
    if value_text in ("yes", "no"):
        return value_text == "yes"
    if value_num is not None:
        return value_num
    return value_text or ""


def conversation_env(
    settings: Settings,
    program: Program,
    patient: Patient,
    *,
    rules: RuleContext | None,
    next_checkin: str | None,
    screen: Screen = no_screen,
) -> ConversationEnv:
    return ConversationEnv(
        program=program,
        patient=patient_view(patient, settings),
        team_name=settings.care_team_name,
        team_phone=settings.care_team_phone,
        rule_context=rules,
        screen=screen,
        policy=policy_from(settings),
        next_checkin=next_checkin,
    )
