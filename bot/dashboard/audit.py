"""Audit rows for the care team's reads and changes (SPEC §3, §10): who, which patient, when."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor
from storage.models import AuditLog
from storage.repositories.audit import AuditRepository


async def record(
    session: AsyncSession,
    actor: Actor,
    at: datetime,
    action: str,
    *,
    entity_type: str,
    entity_id: str | int | None = None,
    patient_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One audit row by ``actor`` (its channel and API token go into ``detail``)."""
    extra: dict[str, Any] = {"via": actor.channel}
    if actor.token_id is not None:
        extra["token_id"] = actor.token_id
    await AuditRepository(session).record(
        at=at,
        actor_type=actor.audit_type,
        actor_id=actor.id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        patient_id=patient_id,
        detail={**extra, **(detail or {})},
    )


async def record_reads(
    session: AsyncSession,
    actor: Actor,
    at: datetime,
    action: str,
    patient_ids: Iterable[int],
    *,
    detail: dict[str, Any] | None = None,
) -> None:
    """One row per patient whose data a page or response showed (lists included), so that
    "who saw patient X" is one query on ``audit_log.patient_id``."""
    base: dict[str, Any] = {"via": actor.channel, **(detail or {})}
    if actor.token_id is not None:
        base["token_id"] = actor.token_id
    rows = [
        AuditLog(
            at=at,
            actor_type=actor.audit_type,
            actor_id=actor.id,
            action=action,
            entity_type="patient",
            entity_id=str(patient_id),
            patient_id=patient_id,
            detail=base,
        )
        for patient_id in dict.fromkeys(patient_ids)
    ]
    if rows:
        session.add_all(rows)
        await session.flush()
