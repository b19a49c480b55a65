"""Who may read and act on which patient and escalation: one policy for the dashboard and the API.

- Supervisors and admins read and act on every patient and escalation.
- A care manager reads and acts on their own panel (patients whose ``care_manager_id`` is theirs)
  and the escalations of those patients. While an escalation is open or acknowledged, whoever
  its ladder includes (the assignee, and everyone alerted for it: backup, on-call, supervisor —
  the rule of ``bot.manager_commands.may_act``, SPEC §7) also reads that patient's record and acts
  on that escalation, even outside their own panel.
- Reading is not editing: a ladder grant covers the record and the escalation, not enrolment,
  demographics, consent or starting a check-in (own panel, supervisors and admins).
- Admins manage users and API tokens; supervisors and admins edit the on-call rota.

A record outside the actor's scope is reported as not found (404), so that other panels' ids do
not leak; a record the actor may read but not change gives 403 (:class:`Forbidden`). Every list
and search applies :func:`patient_scope` / :func:`escalation_scope` in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from outreach.errors import CarebotError, NotFound
from storage.models import CareManager, Escalation, Notification, Patient
from storage.repositories.escalations import ACTIVE

SEES_ALL = frozenset({"supervisor", "admin"})
MAX_ID = 2**63 - 1
MAX_EXTERNAL_ID = 64
Channel = Literal["dashboard", "api"]


class Forbidden(CarebotError, PermissionError):
    """The actor may see the record but not do this to it (or the page is not for their role)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """A signed-in care-team member, through the dashboard or an API token."""

    id: int
    name: str
    email: str
    role: str
    timezone: str
    channel: Channel
    token_id: int | None = None

    @classmethod
    def of(cls, manager: CareManager, channel: Channel, token_id: int | None = None) -> Actor:
        return cls(
            manager.id,
            manager.name,
            manager.email,
            manager.role,
            manager.timezone,
            channel,
            token_id,
        )

    @property
    def sees_all(self) -> bool:
        return self.role in SEES_ALL

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def edits_rota(self) -> bool:
        return self.role in SEES_ALL

    @property
    def audit_type(self) -> str:
        """``AuditLog.actor_type``: care_manager (dashboard) or api."""
        return "care_manager" if self.channel == "dashboard" else "api"


def _alerted(actor_id: int) -> ColumnElement[bool]:
    """The escalation's ladder includes the actor: assignee, or alerted for it (SPEC §7)."""
    notified = exists().where(
        Notification.escalation_id == Escalation.id,
        Notification.care_manager_id == actor_id,
    )
    return and_(
        Escalation.status.in_(ACTIVE),
        or_(Escalation.assignee_id == actor_id, notified),
    )


def patient_scope(actor: Actor) -> ColumnElement[bool] | None:
    """A WHERE clause over ``Patient`` for the patients the actor may read (None: all)."""
    if actor.sees_all:
        return None
    ladder = select(Escalation.patient_id).where(_alerted(actor.id))
    return or_(Patient.care_manager_id == actor.id, Patient.id.in_(ladder))


def escalation_scope(actor: Actor) -> ColumnElement[bool] | None:
    """A WHERE clause over ``Escalation`` for the escalations the actor may read and act on."""
    if actor.sees_all:
        return None
    own = select(Patient.id).where(Patient.care_manager_id == actor.id)
    return or_(Escalation.patient_id.in_(own), _alerted(actor.id))


class Access:
    """The policy applied to one actor inside one database session."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def can_read_patient(self, patient: Patient) -> bool:
        scope = patient_scope(self.actor)
        if scope is None or patient.care_manager_id == self.actor.id:
            return True
        found = await self.session.scalar(
            select(Patient.id).where(Patient.id == patient.id, scope).limit(1)
        )
        return found is not None

    def can_edit_patient(self, patient: Patient) -> bool:
        return self.actor.sees_all or patient.care_manager_id == self.actor.id

    async def can_act(self, escalation: Escalation) -> bool:
        scope = escalation_scope(self.actor)
        if scope is None:
            return True
        found = await self.session.scalar(
            select(Escalation.id).where(Escalation.id == escalation.id, scope).limit(1)
        )
        return found is not None

    def may_assign(self, manager_id: int) -> bool:
        """Whom the actor may put a patient's panel under: anyone (supervisor, admin) or self."""
        return self.actor.sees_all or manager_id == self.actor.id

    async def patient(self, external_id: str) -> Patient:
        """The patient the actor may read, by external id; NotFound otherwise."""
        if not 0 < len(external_id) <= MAX_EXTERNAL_ID or not external_id.isprintable():
            raise NotFound("no such patient")
        patient = await self.session.scalar(
            select(Patient).where(Patient.external_id == external_id)
        )
        if patient is None or not await self.can_read_patient(patient):
            raise NotFound(f"no patient {external_id!r}")
        return patient

    async def patient_to_edit(self, external_id: str) -> Patient:
        """The patient the actor may change; NotFound if unreadable, Forbidden if read-only."""
        patient = await self.patient(external_id)
        if not self.can_edit_patient(patient):
            raise Forbidden(f"patient {external_id!r} is not on your panel")
        return patient

    async def escalation(self, escalation_id: int) -> Escalation:
        """The escalation the actor may read and act on; NotFound otherwise."""
        if not 0 < escalation_id <= MAX_ID:
            raise NotFound(f"no escalation {escalation_id}")
        escalation = await self.session.get(Escalation, escalation_id)
        if escalation is None or not await self.can_act(escalation):
            raise NotFound(f"no escalation {escalation_id}")
        return escalation

    def require_admin(self) -> None:
        if not self.actor.is_admin:
            raise Forbidden("only admins may do this")

    def require_rota_editor(self) -> None:
        if not self.actor.edits_rota:
            raise Forbidden("only supervisors and admins may edit the rota")


__all__ = ["SEES_ALL", "Access", "Actor", "Forbidden", "escalation_scope", "patient_scope"]
