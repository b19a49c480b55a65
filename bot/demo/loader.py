"""Loads the demo panel into a database, idempotently: what exists already is left alone.

A second load adds nothing and changes nothing, so a patient who sent STOP in the sandbox
stays opted out, and a rota or password changed in the dashboard is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.demo.answers import answer_text
from bot.demo.data import (
    DEMO_CONSENT_SOURCE,
    PATIENTS,
    ROTA,
    STAFF,
    DemoPatient,
)
from bot.effects import stored_value
from bot.importing.patients import ensure_programs
from bot.passwords import hash_password
from outreach.conversation import ConversationState
from outreach.errors import ConfigurationError
from outreach.parsing import parse_answer
from outreach.ports import Clock
from outreach.programs.model import AnswerValue, Program
from outreach.rules import compute_totals, should_ask
from outreach.schedule import next_occurrence, parse_cadence
from storage.engine import Database
from storage.models import Answer, CheckIn
from storage.repositories.checkins import CheckInRepository
from storage.repositories.consents import ConsentRepository
from storage.repositories.enrollments import EnrollmentRepository
from storage.repositories.family import FamilyContactRepository, FamilyFields
from storage.repositories.managers import ManagerRepository
from storage.repositories.patients import PatientFields, PatientRepository
from storage.repositories.rota import RotaEntry, RotaRepository

log = logging.getLogger(__name__)

Due = Literal["now", "cadence"]
"""When the first check-in falls due: at once (``serve --demo``, to play a patient right away)
or on each patient's cadence (``carebot demo``'s month)."""
HISTORY_KEY = "demo-history"
"""Occurrence key prefix of the check-ins seeded a month back (previous values for triage)."""


@dataclass(frozen=True, slots=True)
class DemoLoad:
    """What a load wrote: new rows only (a second load writes nothing)."""

    staff_created: int
    patients_created: int
    patients_existing: int
    rota_entries: int


def refuse_in_production(settings: Settings) -> None:
    """The demo has fixed passwords and fake patients: never in production."""
    if settings.production:
        raise ConfigurationError(
            "the demo is disabled when CAREBOT_ENV=production (it creates fake patients and a "
            "care team with a published password)"
        )


async def load_demo_data(
    db: Database,
    clock: Clock,
    settings: Settings,
    programs: Mapping[str, Program],
    *,
    due: Due = "now",
    password: str | None = None,
) -> DemoLoad:
    """Write the demo team, rota and patients (with last month's check-in) in one transaction.

    ``password`` (default: none) is set on every demo care-team member that has none yet.
    """
    refuse_in_production(settings)
    now = clock.now()
    async with db.transaction() as session:
        await ensure_programs(session, programs, now)
        staff_created = await _load_staff(session, now, password)
        rota = await _load_rota(session, now)
        created = 0
        for patient in PATIENTS:
            if await _load_patient(session, patient, programs[patient.program], now, due):
                created += 1
    load = DemoLoad(staff_created, created, len(PATIENTS) - created, rota)
    log.info("demo data: %d staff and %d patients created", staff_created, created)
    return load


async def _load_staff(session: AsyncSession, now: datetime, password: str | None) -> int:
    repo = ManagerRepository(session)
    created = 0
    password_hash: str | None = None  # argon2 is slow on purpose: hash only when needed
    for member in STAFF:
        manager = await repo.by_email(member.email)
        if manager is None:
            manager, _ = await repo.upsert_by_email(
                member.email,
                name=member.name,
                phone=member.phone,
                role=member.role,
                timezone=member.timezone,
                at=now,
            )
            created += 1
        if password and manager.password_hash is None:
            password_hash = password_hash or hash_password(password)
            await repo.set_password_hash(manager.id, password_hash)
    for member in STAFF:
        manager = await repo.by_email(member.email)
        backup = await repo.by_email(member.backup) if member.backup else None
        if manager is not None and backup is not None and manager.backup_id is None:
            await repo.set_backup(manager.id, backup.id)
    return created


async def _load_rota(session: AsyncSession, now: datetime) -> int:
    """The demo rota, unless a rota is set already (never overwrite the team's own)."""
    repo = RotaRepository(session)
    if await repo.list_all():
        return 0
    managers = ManagerRepository(session)
    entries = []
    for line in ROTA:
        manager = await managers.by_email(line.email)
        if manager is not None:
            entries.append(
                RotaEntry(manager.id, line.days, line.start, line.end, line.timezone, line.rung)
            )
    await repo.replace_all(entries, at=now)
    return len(entries)


async def _load_patient(
    session: AsyncSession, demo: DemoPatient, program: Program, now: datetime, due: Due
) -> bool:
    """Create the patient, enrolment, consents, family contact and history; False if present."""
    patients = PatientRepository(session)
    if await patients.by_external_id(demo.external_id) is not None:
        return False
    manager = await ManagerRepository(session).by_email(demo.manager)
    if manager is None:  # pragma: no cover - the staff are loaded first
        raise LookupError(demo.manager)
    baseline = {"weight": demo.baseline_weight} if demo.baseline_weight else {}
    patient, _ = await patients.upsert(
        demo.external_id,
        PatientFields(
            name=demo.name,
            timezone=demo.timezone,
            channel="sandbox",
            care_manager_id=manager.id,
            language=demo.language,
            baseline=baseline,
        ),
        at=now,
    )
    cadence = parse_cadence(demo.day, demo.time)
    zone = ZoneInfo(demo.timezone)
    first_due = now if due == "now" else next_occurrence(cadence, now, zone, now)
    day_words, time_words = cadence.to_words()
    enrollment, _ = await EnrollmentRepository(session).upsert(
        patient.id,
        program.id,
        cadence_day=day_words,
        cadence_time=time_words,
        next_due_at=first_due,
        at=now,
        anchor_at=now,
    )
    consents = ConsentRepository(session)
    await consents.record(
        channel="sandbox",
        address=demo.address,
        granted=True,
        source=DEMO_CONSENT_SOURCE,
        at=now,
        patient_id=patient.id,
        language=demo.language,
    )
    if demo.family is not None:
        family = demo.family
        contact = await FamilyContactRepository(session).add(
            patient.id,
            demo.family_address,
            FamilyFields(
                name=family.name,
                channel="sandbox",
                relationship=family.relationship,
                language=family.language,
                notify_on=family.notify_on,
                timezone=demo.timezone,
            ),
            at=now,
        )
        await consents.record(
            channel="sandbox",
            address=demo.family_address,
            granted=True,
            source=DEMO_CONSENT_SOURCE,
            at=now,
            family_contact_id=contact.id,
            scope=";".join(family.notify_on),
            language=family.language,
        )
    last_due = next_occurrence(cadence, first_due - timedelta(days=35), zone, now)
    history = await _seed_last_month(session, demo, program, enrollment.id, patient.id, last_due)
    if history.status == "missed":
        enrollment.consecutive_missed = 1
    return True


async def _seed_last_month(
    session: AsyncSession,
    demo: DemoPatient,
    program: Program,
    enrollment_id: int,
    patient_id: int,
    at: datetime,
) -> CheckIn:
    """Last month's check-in: the previous values this month's answers are compared with."""
    state = ConversationState.new(program.id, demo.language)
    state.status = demo.last_month
    repo = CheckInRepository(session)
    checkin = await repo.create(
        enrollment_id=enrollment_id,
        patient_id=patient_id,
        program_id=program.id,
        occurrence_key=f"{HISTORY_KEY}:{at.date().isoformat()}",
        scheduled_for=at,
        at=at,
        status=demo.last_month,
    )
    if checkin is None:  # pragma: no cover - the patient was created in this transaction
        raise RuntimeError(f"demo history of {demo.external_id} exists already")
    checkin.started_at = at
    if demo.last_month == "missed":
        checkin.completed_at = at + timedelta(hours=72)
        state.ended_by = "timeout"
    else:
        answers = await _seed_answers(session, demo, program, checkin, at)
        state.answers = answers
        state.totals = compute_totals(program, answers)
        state.asked = list(answers)
        checkin.completed_at = at + timedelta(minutes=2 * len(answers))
    checkin.state = state.to_json()
    await session.flush()
    return checkin


async def _seed_answers(
    session: AsyncSession, demo: DemoPatient, program: Program, checkin: CheckIn, at: datetime
) -> dict[str, AnswerValue]:
    answers: dict[str, AnswerValue] = {}
    for question in program.questions:
        if not should_ask(question, answers, compute_totals(program, answers)):
            continue
        text = answer_text(question, demo, last_month=True)
        parsed = parse_answer(question, text, demo.language)
        answers[question.id] = parsed.value
        value_num, value_text = stored_value(parsed.value)
        session.add(
            Answer(
                checkin_id=checkin.id,
                patient_id=checkin.patient_id,
                question_id=question.id,
                raw_text=text,
                value_num=value_num,
                value_text=value_text,
                unit=parsed.unit,
                needs_review=False,
                answered_at=at + timedelta(minutes=2 * len(answers)),
            )
        )
    return answers
