"""The escalation queue and its actions (acknowledge, resolve with a note), for the dashboard
and the REST API alike: scoped by :mod:`bot.access`, audit-logged, Telegram alerts updated."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Access, Actor, escalation_scope
from bot.applied import Applied
from bot.dashboard import audit
from bot.manager_commands import mark_alerts
from outreach.errors import Conflict
from storage.models import Escalation, Patient
from storage.repositories.escalations import ACTIVE, SEVERITY_ORDER, EscalationRepository

ESCALATION_STATUSES = ("open", "acknowledged", "resolved")
MAX_NOTE = 2000


@dataclass(frozen=True, slots=True)
class QueueItem:
    escalation: Escalation
    patient: Patient
    time_left: timedelta | None
    """Until the acknowledgement deadline (negative: overdue); None once acknowledged."""


async def queue(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    *,
    manager_id: int | None = None,
    statuses: Collection[str] = ACTIVE,
    patient_id: int | None = None,
    limit: int = 200,
) -> list[QueueItem]:
    """Escalations the actor may act on: most severe first, then oldest first."""
    rank = case(
        {severity: index for index, severity in enumerate(SEVERITY_ORDER)},
        value=Escalation.severity,
        else_=len(SEVERITY_ORDER),
    )
    statement = select(Escalation, Patient).join(Patient, Patient.id == Escalation.patient_id)
    statement = statement.where(Escalation.status.in_(list(statuses)))
    scope = escalation_scope(actor)
    if scope is not None:
        statement = statement.where(scope)
    if manager_id is not None:
        statement = statement.where(Escalation.assignee_id == manager_id)
    if patient_id is not None:
        statement = statement.where(Escalation.patient_id == patient_id)
    statement = statement.order_by(rank, Escalation.created_at, Escalation.id).limit(limit)
    items = []
    for escalation, patient in await session.execute(statement):
        left = None
        if escalation.status == "open" and escalation.ack_deadline is not None:
            left = escalation.ack_deadline - now
        items.append(QueueItem(escalation, patient, left))
    return items


async def acknowledge(
    session: AsyncSession, actor: Actor, now: datetime, escalation_id: int, applied: Applied
) -> Escalation:
    """open → acknowledged by the actor; NotFound outside their scope, Conflict if not open."""
    escalation = await Access(session, actor).escalation(escalation_id)
    if not await EscalationRepository(session).acknowledge(escalation.id, actor.id, now):
        raise Conflict(f"escalation {escalation_id} is {escalation.status}, not open")
    await audit.record(
        session,
        actor,
        now,
        "escalation.acknowledged",
        entity_type="escalation",
        entity_id=escalation.id,
        patient_id=escalation.patient_id,
    )
    await mark_alerts(session, escalation.id, f"Acknowledged by {actor.name}", applied)
    return escalation


async def resolve(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    escalation_id: int,
    note: str,
    applied: Applied,
) -> Escalation:
    """open/acknowledged → resolved, with the actor's note; Conflict if resolved already."""
    note = note.strip()[:MAX_NOTE]
    escalation = await Access(session, actor).escalation(escalation_id)
    if not await EscalationRepository(session).resolve(escalation.id, actor.id, now, note or None):
        raise Conflict(f"escalation {escalation_id} is resolved already")
    await audit.record(
        session,
        actor,
        now,
        "escalation.resolved",
        entity_type="escalation",
        entity_id=escalation.id,
        patient_id=escalation.patient_id,
    )
    await mark_alerts(session, escalation.id, f"Resolved by {actor.name}", applied)
    return escalation
