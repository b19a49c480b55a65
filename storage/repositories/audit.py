"""The audit log: who read or changed what, when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage.models import AuditLog
from storage.repositories.base import Repository


class AuditRepository(Repository):
    async def record(
        self,
        *,
        at: datetime,
        actor_type: str,
        action: str,
        entity_type: str,
        actor_id: int | None = None,
        entity_id: str | int | None = None,
        patient_id: int | None = None,
        detail: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> AuditLog:
        """Append one entry. ``actor_type``: care_manager, api, cli, system."""
        entry = AuditLog(
            at=at,
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            entity_type=entity_type,
            entity_id=None if entity_id is None else str(entity_id),
            patient_id=patient_id,
            detail=detail or {},
            note=note,
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def for_patient(self, patient_id: int, *, limit: int = 200) -> list[AuditLog]:
        statement = (
            select(AuditLog)
            .where(AuditLog.patient_id == patient_id)
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(statement))

    async def recent(self, *, actor_id: int | None = None, limit: int = 200) -> list[AuditLog]:
        statement = select(AuditLog)
        if actor_id is not None:
            statement = statement.where(AuditLog.actor_id == actor_id)
        statement = statement.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
        return list(await self.session.scalars(statement))
