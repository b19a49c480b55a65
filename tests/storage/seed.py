"""Small builders for storage tests: a manager, a patient, a program, an enrollment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CareManager, CheckIn, Enrollment, Patient
from storage.repositories import (
    CheckInRepository,
    EnrollmentRepository,
    ManagerRepository,
    PatientFields,
    PatientRepository,
    ProgramRepository,
)


async def manager(
    session: AsyncSession, at: datetime, email: str = "ana@example.org", **kw: str
) -> CareManager:
    row, _ = await ManagerRepository(session).upsert_by_email(
        email, name=kw.pop("name", "Ana Care"), at=at, **kw
    )
    return row


async def patient(
    session: AsyncSession,
    at: datetime,
    manager_id: int,
    external_id: str = "P1",
    phone: str | None = "+15550001111",
    name: str = "Pat Smith",
) -> Patient:
    fields = PatientFields(
        name=name,
        timezone="America/New_York",
        channel="sms",
        care_manager_id=manager_id,
        phone=phone,
        baseline={"weight": 180.0},
    )
    row, _ = await PatientRepository(session).upsert(external_id, fields, at=at)
    return row


async def enrollment(
    session: AsyncSession,
    at: datetime,
    patient_id: int,
    program_id: str = "general",
    next_due_at: datetime | None = None,
) -> Enrollment:
    await ProgramRepository(session).upsert(program_id, program_id.title(), "d1", at=at)
    row, _ = await EnrollmentRepository(session).upsert(
        patient_id,
        program_id,
        cadence_day="5",
        cadence_time="10:00",
        next_due_at=next_due_at,
        at=at,
    )
    return row


async def checkin(
    session: AsyncSession,
    at: datetime,
    enrollment_row: Enrollment,
    key: str = "2026-03",
    **kw: object,
) -> CheckIn:
    row = await CheckInRepository(session).create(
        enrollment_id=enrollment_row.id,
        patient_id=enrollment_row.patient_id,
        program_id=enrollment_row.program_id,
        occurrence_key=key,
        scheduled_for=at,
        at=at,
        **kw,  # type: ignore[arg-type]
    )
    assert row is not None
    return row


async def world(session: AsyncSession, at: datetime) -> tuple[CareManager, Patient, Enrollment]:
    """One manager with one patient enrolled in ``general``."""
    m = await manager(session, at)
    p = await patient(session, at, m.id)
    e = await enrollment(session, at, p.id)
    return m, p, e
