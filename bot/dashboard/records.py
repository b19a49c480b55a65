"""Patient lists and search within the actor's scope (shared by the dashboard and the REST API).

Every filter runs in SQL after :func:`bot.access.patient_scope`, so a patient of another panel
can be neither listed, counted nor found by search.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor, patient_scope
from storage.models import CareManager, Enrollment, Escalation, Message, Patient
from storage.repositories.escalations import ACTIVE

STATUSES = ("active", "paused", "awaiting_link", "opted_out", "discharged")
CONTACT_FILTERS = {
    "7d": "contact in the last 7 days",
    "30d": "contact in the last 30 days",
    "quiet30": "no contact for 30 days",
}
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class PatientQuery:
    """Search (name, external id or phone) and filters of the patient list."""

    search: str = ""
    program: str = ""
    manager_id: int | None = None
    status: str = ""
    contact: str = ""
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class PatientSummary:
    patient: Patient
    manager_name: str
    programs: tuple[str, ...]
    last_contact: datetime | None
    open_escalations: int


def _last_contact() -> Select[int | None, datetime]:
    return select(
        Message.patient_id.label("patient_id"), func.max(Message.created_at).label("last")
    ).group_by(Message.patient_id)


def _statement(actor: Actor, query: PatientQuery, now: datetime) -> Select[Patient]:
    last = _last_contact().subquery()
    statement = select(Patient).outerjoin(last, last.c.patient_id == Patient.id)
    scope = patient_scope(actor)
    if scope is not None:
        statement = statement.where(scope)
    term = query.search.strip()
    if term:
        statement = statement.where(
            or_(
                Patient.name.icontains(term, autoescape=True),
                Patient.external_id.icontains(term, autoescape=True),
                Patient.phone.contains(term, autoescape=True),
            )
        )
    if query.program:
        enrolled = select(Enrollment.patient_id).where(Enrollment.program_id == query.program)
        statement = statement.where(Patient.id.in_(enrolled))
    if query.manager_id is not None:
        statement = statement.where(Patient.care_manager_id == query.manager_id)
    if query.status:
        statement = statement.where(Patient.status == query.status)
    if query.contact == "7d":
        statement = statement.where(last.c.last >= now - timedelta(days=7))
    elif query.contact == "30d":
        statement = statement.where(last.c.last >= now - timedelta(days=30))
    elif query.contact == "quiet30":
        statement = statement.where(
            or_(last.c.last.is_(None), last.c.last < now - timedelta(days=30))
        )
    return statement


async def find_patients(
    session: AsyncSession, actor: Actor, query: PatientQuery, now: datetime
) -> tuple[list[PatientSummary], int]:
    """One page of the patients the actor may read, by name, and how many match in all."""
    statement = _statement(actor, query, now)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    limit = max(1, min(query.limit, MAX_LIMIT))
    page = statement.order_by(func.lower(Patient.name), Patient.id)
    patients = list(await session.scalars(page.limit(limit).offset(max(0, query.offset))))
    return await summarize(session, patients), int(total or 0)


async def summarize(session: AsyncSession, patients: list[Patient]) -> list[PatientSummary]:
    """Managers' names, programs, last contact and open escalations of these patients."""
    ids = [p.id for p in patients]
    if not ids:
        return []
    managers = dict((await session.execute(select(CareManager.id, CareManager.name))).all())
    programs: dict[int, list[str]] = defaultdict(list)
    for patient_id, program_id in await session.execute(
        select(Enrollment.patient_id, Enrollment.program_id)
        .where(Enrollment.patient_id.in_(ids))
        .order_by(Enrollment.id)
    ):
        programs[patient_id].append(program_id)
    last = dict((await session.execute(_last_contact().where(Message.patient_id.in_(ids)))).all())
    escalations = dict(
        (
            await session.execute(
                select(Escalation.patient_id, func.count())
                .where(Escalation.patient_id.in_(ids), Escalation.status.in_(ACTIVE))
                .group_by(Escalation.patient_id)
            )
        ).all()
    )
    return [
        PatientSummary(
            patient=p,
            manager_name=managers.get(p.care_manager_id, "?"),
            programs=tuple(programs.get(p.id, ())),
            last_contact=last.get(p.id),
            open_escalations=int(escalations.get(p.id, 0)),
        )
        for p in patients
    ]


async def managers(session: AsyncSession, *, active: bool = True) -> list[CareManager]:
    statement = select(CareManager).order_by(func.lower(CareManager.name), CareManager.id)
    if active:
        statement = statement.where(CareManager.active.is_(True))
    return list(await session.scalars(statement))
