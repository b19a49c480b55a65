"""Enrol and edit patients, pause and resume outreach — writes of the dashboard and the API.

A patient is checked by the import's own row validation (``bot.importing.patient_rows``), so a
form, an API call and a CSV line accept and refuse the same things with the same words. Consent
is recorded (source ``dashboard`` or ``api``: the care team attests it was obtained) only where
none is on file: a revocation (STOP) stands until the patient's own START (SPEC §14).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Access, Actor, Forbidden
from bot.dashboard import audit
from bot.importing.csvfile import CsvRow
from bot.importing.patient_batch import address_of
from bot.importing.patient_rows import PatientRules, validate_patients
from bot.importing.patients import ensure_programs
from outreach.errors import CarebotError, Conflict
from outreach.programs.model import Program
from outreach.schedule import next_occurrence, parse_cadence, parse_window
from storage.models import CareManager, Enrollment, Patient
from storage.repositories.consents import ConsentRepository
from storage.repositories.enrollments import EnrollmentRepository
from storage.repositories.patients import PatientFields, PatientRepository


class InvalidInput(CarebotError, ValueError):
    """The submitted fields are not acceptable; ``reasons`` lists every problem."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True, slots=True)
class PatientInput:
    """A patient as a form or an API call gives it; ``care_manager`` is an e-mail.

    Empty ``cadence_day`` / ``cadence_time`` take the program's default.
    """

    external_id: str
    name: str
    timezone: str
    language: str
    channel: str
    program: str
    care_manager: str
    phone: str = ""
    cadence_day: str = ""
    cadence_time: str = ""
    baseline_weight: str = ""
    window_start: str = ""
    window_end: str = ""
    consent: bool = False


@dataclass(slots=True)
class Saved:
    patient: Patient
    created: bool
    notes: list[str] = field(default_factory=list)


async def _rules(
    session: AsyncSession, region: str, programs: Mapping[str, Program]
) -> PatientRules:
    rows = await session.execute(select(CareManager.email, CareManager.id, CareManager.active))
    active: dict[str, int] = {}
    inactive: set[str] = set()
    for email, manager_id, is_active in rows:
        if is_active:
            active[email.lower()] = manager_id
        else:
            inactive.add(email.lower())
    return PatientRules(region, programs, active, frozenset(inactive))


@dataclass(frozen=True, slots=True)
class _Checked:
    manager_id: int
    phone: str | None
    day: str
    at: str
    weight_lb: float | None


def _validate(data: PatientInput, rules: PatientRules) -> _Checked:
    """The parsed input, or InvalidInput with every reason."""
    row = CsvRow(
        1,
        {
            "external_id": data.external_id.strip(),
            "name": data.name.strip(),
            "phone": data.phone.strip(),
            "timezone": data.timezone.strip(),
            "language": data.language.strip(),
            "channel": data.channel.strip(),
            "program": data.program.strip(),
            "care_manager": data.care_manager.strip(),
            "checkin_time": data.cadence_time.strip(),
            "baseline_weight": data.baseline_weight.strip(),
        },
    )
    checked = validate_patients([row], rules)
    reasons = [reason for bad in checked.bad for reason in bad.reasons]
    program = rules.programs.get(data.program.strip().lower())
    day = data.cadence_day.strip() or (program.cadence.day if program else "1")
    at = data.cadence_time.strip() or (program.cadence.time if program else "10:00")
    try:
        cadence = parse_cadence(day, at)
    except ValueError as exc:
        reasons.append(str(exc))
    if data.window_start.strip() or data.window_end.strip():
        try:
            parse_window(f"{data.window_start.strip()}-{data.window_end.strip()}")
        except ValueError as exc:
            reasons.append(str(exc))
    if reasons or not checked.good:
        raise InvalidInput(reasons or ["the patient is not valid"])
    good = checked.good[0]
    day, at = cadence.to_words()
    return _Checked(good.care_manager_id, good.phone, day, at, good.weight_lb)


async def save_patient(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    data: PatientInput,
    *,
    region: str,
    programs: Mapping[str, Program],
    existing: Patient | None = None,
) -> Saved:
    """Create (``existing`` None) or update a patient, their enrolment and their consent."""
    rules = await _rules(session, region, programs)
    checked = _validate(data, rules)
    access = Access(session, actor)
    if not access.may_assign(checked.manager_id):
        raise Forbidden("care managers may enrol patients on their own panel only")
    external_id = data.external_id.strip()
    repo = PatientRepository(session)
    if existing is None and await repo.by_external_id(external_id) is not None:
        raise Conflict(f"external id {external_id!r} is in use already")
    if existing is not None and existing.external_id != external_id:
        raise InvalidInput(["the external id of a patient cannot change"])
    baseline = dict(existing.baseline if existing else {})
    if checked.weight_lb is not None:
        baseline["weight"] = checked.weight_lb
    fields = PatientFields(
        name=data.name.strip(),
        timezone=data.timezone.strip(),
        channel=data.channel.strip().lower(),
        care_manager_id=checked.manager_id,
        phone=checked.phone,
        telegram_chat_id=existing.telegram_chat_id if existing else None,
        language=data.language.strip().lower(),
        baseline=baseline,
        window_start=data.window_start.strip() or None,
        window_end=data.window_end.strip() or None,
    )
    patient, created = await repo.upsert(external_id, fields, at=now)
    if patient.status in ("active", "awaiting_link"):
        linked = patient.channel != "telegram" or patient.telegram_chat_id
        patient.status = "active" if linked else "awaiting_link"
    await ensure_programs(session, programs, now)
    await _enrol(session, patient, data.program.strip().lower(), checked.day, checked.at, now)
    saved = Saved(patient, created)
    if data.consent:
        saved.notes += await _grant_patient(session, patient, actor, now)
    await audit.record(
        session,
        actor,
        now,
        "patient.created" if created else "patient.updated",
        entity_type="patient",
        entity_id=patient.id,
        patient_id=patient.id,
    )
    return saved


async def _enrol(
    session: AsyncSession, patient: Patient, program: str, day: str, at: str, now: datetime
) -> Enrollment:
    """The patient's (first) enrolment moved to ``program`` with this cadence, or a new one."""
    enrollments = await EnrollmentRepository(session).for_patient(patient.id)
    same = [e for e in enrollments if e.program_id == program]
    enrollment = next(iter(same or enrollments), None)
    if enrollment is None:
        enrollment = Enrollment(
            patient_id=patient.id, created_at=now, anchor_at=now, paused=False, consecutive_missed=0
        )
        session.add(enrollment)
    changed = (enrollment.program_id, enrollment.cadence_day, enrollment.cadence_time) != (
        program,
        day,
        at,
    )
    enrollment.program_id, enrollment.cadence_day, enrollment.cadence_time = program, day, at
    if changed:
        enrollment.anchor_at = now
    if not enrollment.paused and patient.status != "paused":
        enrollment.next_due_at = _next_due(enrollment, patient, now)
    await session.flush()
    return enrollment


def _next_due(enrollment: Enrollment, patient: Patient, now: datetime) -> datetime:
    cadence = parse_cadence(enrollment.cadence_day, enrollment.cadence_time)
    return next_occurrence(cadence, now, ZoneInfo(patient.timezone), enrollment.anchor_at or now)


async def _grant_patient(
    session: AsyncSession, patient: Patient, actor: Actor, now: datetime
) -> list[str]:
    if patient.channel == "telegram" or not patient.phone:
        return ["Telegram patients consent when they open their invite link."]
    address = address_of(patient.channel, patient.phone)
    consents = ConsentRepository(session)
    current = await consents.current(patient.channel, address, patient_id=patient.id)
    if current is not None and not current.granted:
        return [f"consent on {patient.channel} was revoked ({current.source}); it stands"]
    if current is None:
        await consents.record(
            channel=patient.channel,
            address=address,
            granted=True,
            source=actor.channel,
            at=now,
            patient_id=patient.id,
            language=patient.language,
        )
    return []


async def set_paused(
    session: AsyncSession, actor: Actor, now: datetime, patient: Patient, paused: bool
) -> None:
    """Pause outreach (no check-ins are scheduled) or resume it from the next occurrence."""
    if paused and patient.status not in ("active", "awaiting_link"):
        raise Conflict(f"patient {patient.external_id} is {patient.status}; cannot pause")
    if not paused and patient.status != "paused":
        raise Conflict(f"patient {patient.external_id} is {patient.status}, not paused")
    repo = EnrollmentRepository(session)
    for enrollment in await repo.for_patient(patient.id):
        due = None if paused else _next_due(enrollment, patient, now)
        await repo.set_paused(enrollment.id, paused, next_due_at=due)
    if paused:
        status = "paused"
    else:
        linked = patient.channel != "telegram" or patient.telegram_chat_id
        status = "active" if linked else "awaiting_link"
    await PatientRepository(session).set_status(patient.id, status, at=now)
    await audit.record(
        session,
        actor,
        now,
        "patient.paused" if paused else "patient.resumed",
        entity_type="patient",
        entity_id=patient.id,
        patient_id=patient.id,
    )
