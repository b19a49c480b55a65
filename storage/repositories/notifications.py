"""Notifications sent: alerts and ladder steps to care managers, notices to family."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.models import Notification
from storage.repositories.base import Repository


class NotificationRepository(Repository):
    async def record(
        self,
        kind: str,
        at: datetime,
        *,
        escalation_id: int | None = None,
        patient_id: int | None = None,
        care_manager_id: int | None = None,
        family_contact_id: int | None = None,
        rung: int = 0,
        message_id: int | None = None,
        note: str | None = None,
    ) -> Notification:
        notification = Notification(
            kind=kind,
            escalation_id=escalation_id,
            patient_id=patient_id,
            care_manager_id=care_manager_id,
            family_contact_id=family_contact_id,
            rung=rung,
            message_id=message_id,
            note=note,
            created_at=at,
        )
        self.session.add(notification)
        await self.session.flush()
        return notification

    async def exists(
        self,
        kind: str,
        *,
        escalation_id: int | None = None,
        care_manager_id: int | None = None,
        family_contact_id: int | None = None,
        rung: int | None = None,
    ) -> bool:
        """Whether this notice was sent already (so a retried tick does not send it twice)."""
        statement = select(Notification.id).where(Notification.kind == kind)
        if escalation_id is not None:
            statement = statement.where(Notification.escalation_id == escalation_id)
        if care_manager_id is not None:
            statement = statement.where(Notification.care_manager_id == care_manager_id)
        if family_contact_id is not None:
            statement = statement.where(Notification.family_contact_id == family_contact_id)
        if rung is not None:
            statement = statement.where(Notification.rung == rung)
        return (await self.session.scalars(statement.limit(1))).first() is not None

    async def for_escalation(self, escalation_id: int) -> list[Notification]:
        statement = (
            select(Notification)
            .where(Notification.escalation_id == escalation_id)
            .order_by(Notification.created_at, Notification.id)
        )
        return list(await self.session.scalars(statement))

    async def for_patient(self, patient_id: int, *, limit: int = 200) -> list[Notification]:
        statement = (
            select(Notification)
            .where(Notification.patient_id == patient_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(statement))
