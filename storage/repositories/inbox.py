"""The inbox of webhooks: committed before the 2xx, processed once from here (SPEC §12)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from storage.models import ProcessedWebhook
from storage.repositories.base import Repository, insert_ignoring

PARKED_STATUS = "twilio_status"
"""The inbox provider of a delivery status that arrived before the message knew its provider
id (the callback beat our commit); ``external_id`` is ``<provider id>:<status>``."""


class InboxRepository(Repository):
    async def record_webhook(
        self, provider: str, external_id: str, payload: dict[str, Any], at: datetime
    ) -> tuple[int, bool]:
        """Store a webhook delivery; returns (row id, is_new).

        Safe when the same id arrives several times at once: one INSERT … ON CONFLICT DO
        NOTHING RETURNING, then the existing row's id for the losers (on PostgreSQL the loser's
        insert waits until the winner commits, so the row is visible by then).
        """
        statement = (
            insert_ignoring(self.session, ProcessedWebhook, ["provider", "external_id"])
            .values(
                provider=provider,
                external_id=external_id,
                payload=payload,
                received_at=at,
                attempts=0,
            )
            .returning(ProcessedWebhook.id)
        )
        row_id = (await self.session.execute(statement)).scalar_one_or_none()
        if row_id is not None:
            return row_id, True
        existing = select(ProcessedWebhook.id).where(
            ProcessedWebhook.provider == provider, ProcessedWebhook.external_id == external_id
        )
        return (await self.session.execute(existing)).scalar_one(), False

    async def park_status(
        self, provider_id: str, status: str, error_code: str | None, at: datetime
    ) -> None:
        """Keep a status callback for a provider id no message has yet (see PARKED_STATUS)."""
        await self.record_webhook(
            PARKED_STATUS,
            f"{provider_id}:{status}",
            {"provider_id": provider_id, "status": status, "error_code": error_code},
            at,
        )

    async def parked_statuses(
        self, provider_ids: Collection[str], statuses: Collection[str]
    ) -> list[ProcessedWebhook]:
        """Unprocessed parked callbacks for these provider ids (any of ``statuses``), locked on
        PostgreSQL so that the inbox tick does not apply them at the same time."""
        if not provider_ids:
            return []
        keys = [f"{pid}:{status}" for pid in provider_ids for status in statuses]
        return list(await self.session.scalars(_PARKED, {"keys": keys}))

    async def get(self, row_id: int) -> ProcessedWebhook | None:
        return await self.session.get(ProcessedWebhook, row_id)

    async def mark_processed(self, row_id: int, at: datetime) -> bool:
        """Mark processed; False if it was processed already (someone else got there first)."""
        statement = (
            update(ProcessedWebhook)
            .where(ProcessedWebhook.id == row_id, ProcessedWebhook.processed_at.is_(None))
            .values(processed_at=at, claimed_by=None, claimed_until=None, error=None)
            .returning(ProcessedWebhook.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def mark_failed(self, row_id: int, error: str) -> None:
        """Processing failed: count the attempt and release the claim (retried by the tick)."""
        row = await self.get(row_id)
        if row is None:
            return
        row.attempts += 1
        row.error = error[:200]
        row.claimed_by = None
        row.claimed_until = None
        await self.session.flush()


_PARKED = (
    select(ProcessedWebhook)
    .where(
        ProcessedWebhook.provider == PARKED_STATUS,
        ProcessedWebhook.external_id.in_(bindparam("keys", expanding=True)),
        ProcessedWebhook.processed_at.is_(None),
    )
    .order_by(ProcessedWebhook.id)
    .with_for_update(skip_locked=True)
)
"""``parked_statuses``, built once: it runs with every batch of sent messages."""
