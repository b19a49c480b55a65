"""The panel read for export: patients in id order, a chunk at a time, each with their records.

Each chunk is read in its own short transaction and the session is closed before the caller
sees the chunk: an export never holds a transaction (on SQLite: the write lock) while it
converts or writes. Two chunks are therefore not one snapshot; a record written during the
export appears in the next export at the latest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from outreach.errors import PatientNotFound
from storage.engine import Database
from storage.models import CheckIn, Escalation, Message, Patient

CHUNK_SIZE = 100
"""Patients per read: a handful of queries per chunk; memory holds one chunk's histories."""


@dataclass(slots=True)
class PatientRecords:
    """One patient (with care manager and family contacts loaded) and their exported records."""

    patient: Patient
    checkins: list[CheckIn] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)


def checkin_since(since: datetime) -> ColumnElement[bool]:
    """A check-in counts as new when it was scheduled, created, changed or ended since."""
    return or_(
        CheckIn.scheduled_for >= since,
        CheckIn.created_at >= since,
        CheckIn.updated_at >= since,
        CheckIn.completed_at >= since,
    )


def message_since(since: datetime) -> ColumnElement[bool]:
    return Message.created_at >= since


def escalation_since(since: datetime) -> ColumnElement[bool]:
    """An escalation counts when it was raised, changed, acknowledged or resolved since."""
    return or_(
        Escalation.created_at >= since,
        Escalation.updated_at >= since,
        Escalation.acked_at >= since,
        Escalation.resolved_at >= since,
    )


async def patient_records(
    db: Database,
    *,
    patient_external_id: str | None = None,
    since: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> AsyncIterator[PatientRecords]:
    """Every patient (or the one with ``patient_external_id``) with their records, by id.

    ``since`` keeps the records of that time or later (see the ``*_since`` filters), and the
    check-ins those records point at, so that every reference in a bundle resolves. With
    ``since`` a patient with no such record is skipped unless the patient row itself was
    created or changed since, or was asked for by ``patient_external_id``. Raises
    ``PatientNotFound`` for an unknown external id.
    """
    after = 0
    while True:
        async with db.session() as session:
            patients = await _patients(session, after, chunk_size, patient_external_id)
            if not patients and patient_external_id is not None:
                raise PatientNotFound(f"patient {patient_external_id} not found")
            chunk = await _records(session, patients, since)
        for records in chunk:
            if since is None or patient_external_id is not None or _has_news(records, since):
                yield records
        if patient_external_id is not None or len(patients) < chunk_size:
            return
        after = patients[-1].id


async def _patients(
    session: AsyncSession, after: int, limit: int, external_id: str | None
) -> list[Patient]:
    statement = select(Patient).options(
        selectinload(Patient.care_manager), selectinload(Patient.family_contacts)
    )
    if external_id is not None:
        statement = statement.where(Patient.external_id == external_id)
    else:
        statement = statement.where(Patient.id > after).order_by(Patient.id).limit(limit)
    return list(await session.scalars(statement))


async def _records(
    session: AsyncSession, patients: Sequence[Patient], since: datetime | None
) -> list[PatientRecords]:
    by_id = {p.id: PatientRecords(p) for p in patients}
    if not by_id:
        return []
    ids = list(by_id)
    message_query = select(Message).where(Message.patient_id.in_(ids))
    escalation_query = select(Escalation).where(Escalation.patient_id.in_(ids))
    checkin_query = select(CheckIn).where(CheckIn.patient_id.in_(ids))
    if since is not None:
        message_query = message_query.where(message_since(since))
        escalation_query = escalation_query.where(escalation_since(since))
        checkin_query = checkin_query.where(checkin_since(since))
    messages = list(await session.scalars(message_query.order_by(Message.created_at, Message.id)))
    escalations = list(await session.scalars(escalation_query.order_by(Escalation.id)))
    checkins = list(await session.scalars(_with_answers(checkin_query)))
    referenced = {m.checkin_id for m in messages} | {e.checkin_id for e in escalations}
    missing = referenced - {c.id for c in checkins} - {None}
    if missing:
        extra = select(CheckIn).where(CheckIn.id.in_(missing))
        checkins += list(await session.scalars(_with_answers(extra)))
    for checkin in sorted(checkins, key=lambda c: (c.scheduled_for, c.id)):
        by_id[checkin.patient_id].checkins.append(checkin)
    for message in messages:
        if message.patient_id is not None:
            by_id[message.patient_id].messages.append(message)
    for escalation in escalations:
        by_id[escalation.patient_id].escalations.append(escalation)
    return list(by_id.values())


def _with_answers(statement: Select[CheckIn]) -> Select[CheckIn]:
    return statement.options(selectinload(CheckIn.answers))


def _has_news(records: PatientRecords, since: datetime) -> bool:
    patient = records.patient
    changed = patient.updated_at or patient.created_at
    return bool(records.checkins or records.messages or records.escalations) or (
        changed is not None and changed >= since
    )
