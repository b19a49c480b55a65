"""Pure validation of patient rows (SPEC §14): every reason a row is bad, or the row to store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time

from bot.importing.csvfile import CsvRow
from bot.importing.fields import (
    check_length,
    e164,
    parse_choice,
    parse_email,
    parse_notify,
    parse_phone,
    parse_weight_lb,
    parse_zone,
    phone_country,
    shown,
)
from bot.importing.rows import Reasons, Validated, _split, repeated
from outreach.locale import EmergencyLocale, country_for_timezone, locale_for
from outreach.programs.model import Program
from outreach.schedule.cadence import Cadence, MonthlyDay, MonthlyWeekday, parse_cadence
from outreach.schedule.localtime import parse_hhmm

PATIENT_COLUMNS = (
    "external_id",
    "name",
    "phone",
    "timezone",
    "language",
    "channel",
    "program",
    "care_manager",
    "checkin_day",
    "checkin_time",
    "baseline_weight",
    "family_name",
    "family_relationship",
    "family_phone",
    "family_channel",
    "family_language",
    "family_notify",
)
FAMILY_COLUMNS = PATIENT_COLUMNS[11:]
CHANNELS = ("sms", "telegram", "voice")
LANGUAGES = ("en", "es")
_DAY_CONTRACT = "1–28 or 'first|second|third|fourth|last <weekday>'"


@dataclass(frozen=True, slots=True)
class PatientRules:
    """What a patient row is checked against besides its own cells."""

    region: str
    programs: Mapping[str, Program]
    managers: Mapping[str, int]
    """Active care managers from the database: e-mail (lower case) → id."""
    inactive: frozenset[str] = frozenset()
    """E-mails of deactivated managers (named as such in the reason)."""
    extra_locales: Mapping[str, EmergencyLocale] | None = None


@dataclass(frozen=True, slots=True)
class FamilyRow:
    name: str
    relationship: str
    phone: str
    channel: str
    language: str
    notify: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PatientRow:
    line: int
    external_id: str
    name: str
    phone: str | None
    timezone: str
    language: str
    channel: str
    program: str
    care_manager_id: int
    cadence: Cadence
    weight_lb: float | None
    family: FamilyRow | None

    @property
    def cadence_day(self) -> str:
        return self.cadence.day_words()

    @property
    def cadence_time(self) -> str:
        return self.cadence.at.strftime("%H:%M")


def validate_patients(rows: list[CsvRow], rules: PatientRules) -> Validated[PatientRow]:
    """Patient rows; an external_id on more than one line makes all those lines bad."""
    parsed: dict[int, PatientRow] = {}
    reasons: dict[int, list[str]] = {}
    for row in rows:
        checked = Reasons(row)
        patient = _patient(checked, rules)
        reasons[row.line] = checked.items
        if patient is not None:
            parsed[row.line] = patient
    keys = ((row.line, row.get("external_id")) for row in rows if row.get("external_id"))
    for line, reason in repeated(keys, "external_id").items():
        reasons[line].append(reason)
    return _split(rows, parsed, reasons)


def _patient(checked: Reasons, rules: PatientRules) -> PatientRow | None:
    row = checked.row
    external_id = checked.cell("external_id", lambda text: check_length(text, 64, "external_id"))
    name = checked.cell("name", lambda text: check_length(text, 200, "name"))
    number = checked.cell("phone", lambda text: parse_phone(text, rules.region), False)
    zone = checked.cell("timezone", parse_zone)
    language = checked.cell("language", lambda text: parse_choice(text, LANGUAGES, "language"))
    channel = checked.cell("channel", lambda text: parse_choice(text, CHANNELS, "channel"))
    program = checked.cell("program", lambda text: _program(text, rules))
    manager_id = checked.cell("care_manager", lambda text: _manager(text, rules))
    cadence = _cadence(checked, rules.programs.get(program or ""))
    weight = checked.cell("baseline_weight", parse_weight_lb, False)
    family = _family(checked, rules, language)
    if channel in ("sms", "voice") and number is None and not row.get("phone"):
        checked.add(f"phone is empty (needed for channel {channel})")
    if program and language and language not in rules.programs[program].languages:
        checked.add(f"program {program!r} has no {language!r} texts")
    if zone is not None and (number is not None or not row.get("phone")):
        country = phone_country(number) if number is not None else None
        _check_locale(checked, country, zone, rules)
    if checked.items or None in (external_id, name, zone, language, channel, program):
        return None
    assert external_id and name and zone and language and channel and program
    assert manager_id is not None and cadence is not None
    phone = e164(number) if number is not None else None
    return PatientRow(
        row.line, external_id, name, phone, zone, language, channel, program, manager_id,
        cadence, weight, family,
    )  # fmt: skip


def _program(text: str, rules: PatientRules) -> str:
    program = text.lower()
    if program not in rules.programs:
        known = ", ".join(sorted(rules.programs))
        raise ValueError(f"program {shown(text)} is not a known program ({known})")
    return program


def _manager(text: str, rules: PatientRules) -> int:
    email = parse_email(text, "care_manager")
    if email in rules.inactive:
        raise ValueError(f"care_manager {shown(text)} is a deactivated manager")
    if email not in rules.managers:
        raise ValueError(f"care_manager {shown(text)} is not a known manager (import managers)")
    return rules.managers[email]


def _cadence(checked: Reasons, program: Program | None) -> Cadence | None:
    """The row's cadence; an empty checkin_day or checkin_time takes the program's default."""
    day_text, time_text = checked.row.get("checkin_day"), checked.row.get("checkin_time")
    at = checked.cell("checkin_time", lambda text: parse_hhmm(text, "checkin_time"), False)
    if not time_text and program is not None:
        at = parse_hhmm(program.cadence.time, "checkin_time")
    if not day_text:
        day_text = program.cadence.day if program is not None else ""
    if not day_text:
        return None  # the unknown program is already a reason
    try:
        cadence = parse_cadence(day_text, (at or time(10, 0)).strftime("%H:%M"))
    except ValueError:
        checked.add(f"checkin_day {shown(day_text)} must be {_DAY_CONTRACT}")
        return None
    if not isinstance(cadence, MonthlyDay | MonthlyWeekday) or (
        isinstance(cadence, MonthlyDay) and cadence.day > 28
    ):
        checked.add(f"checkin_day {shown(day_text)} must be {_DAY_CONTRACT}")
        return None
    return cadence if at is not None else None


def _family(checked: Reasons, rules: PatientRules, language: str | None) -> FamilyRow | None:
    row = checked.row
    if not any(row.get(column) for column in FAMILY_COLUMNS):
        return None
    missing = [
        column for column in FAMILY_COLUMNS if column != "family_language" and not row.get(column)
    ]
    if missing:
        checked.add(
            "family contact incomplete: " + ", ".join(missing) + " empty (fill every family_* "
            "column but family_language, or none)"
        )
    name = checked.cell("family_name", lambda text: check_length(text, 200, "family_name"), False)
    relationship = checked.cell(
        "family_relationship", lambda text: check_length(text, 64, "family_relationship"), False
    )
    number = checked.cell(
        "family_phone", lambda text: parse_phone(text, rules.region, "family_phone"), False
    )
    channel = checked.cell(
        "family_channel", lambda text: parse_choice(text, CHANNELS, "family_channel"), False
    )
    family_language = checked.cell(
        "family_language", lambda text: parse_choice(text, LANGUAGES, "family_language"), False
    )
    notify = checked.cell("family_notify", parse_notify, False)
    if missing or None in (name, relationship, number, channel, notify):
        return None
    assert name and relationship and number and channel and notify
    return FamilyRow(
        name, relationship, e164(number), channel, family_language or language or "en", notify
    )


def _check_locale(checked: Reasons, country: str | None, zone: str, rules: PatientRules) -> None:
    """CLINICAL §2: a patient whose country has no emergency numbers cannot be enrolled."""
    source = "phone"
    if country is None and not checked.row.get("phone"):
        country, source = country_for_timezone(zone), "timezone"
        if country is None:
            checked.add(
                f"cannot tell the country of timezone {zone!r} for the emergency numbers; "
                "give a phone number"
            )
            return
    if locale_for(country, rules.extra_locales) is None:
        checked.add(
            f"no emergency numbers for country {country or 'unknown'} (from the {source}) in "
            "the locale table: add one before enrolling this patient"
        )
