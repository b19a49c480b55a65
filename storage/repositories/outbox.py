"""The outbox: messages waiting for their provider, their attempts and outcomes."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import selectinload

from outreach.errors import NotFound
from storage.models import OutboxItem
from storage.repositories.base import Repository
from storage.repositories.inbox import InboxRepository
from storage.repositories.messages import STATUS_RANK, advance_status


@dataclass(frozen=True, slots=True)
class Sent:
    """The provider took outbox row ``outbox_id`` at ``at``: its id there and its status."""

    outbox_id: int
    provider_id: str
    at: datetime
    status: str = "sent"


class OutboxRepository(Repository):
    """State: pending → sending (claimed) → sent | pending again (retry) | failed | expired |
    cancelled. Each outcome also moves the message's status in the contact log."""

    async def get(self, outbox_id: int) -> OutboxItem | None:
        statement = (
            select(OutboxItem)
            .where(OutboxItem.id == outbox_id)
            .options(selectinload(OutboxItem.message))
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def get_many(self, outbox_ids: Collection[int]) -> list[OutboxItem]:
        """Items with their messages, in id order (the order they were queued)."""
        if not outbox_ids:
            return []
        return list(await self.session.scalars(_GET_MANY, {"ids": list(outbox_ids)}))

    async def mark_sent(
        self, outbox_id: int, provider_id: str, at: datetime, *, status: str = "sent"
    ) -> OutboxItem:
        """The provider took the message: remember its id (status callbacks find it by that).

        ``status`` is what the provider answered (Twilio says ``queued``); the message's status
        moves to it unless a callback got further already.
        """
        item = await self._require(outbox_id)
        item.state = "sent"
        item.last_error = None
        item.message.provider_id = provider_id
        advance_status(item.message, status, at)
        await self._apply_parked([item], at)
        await self.session.flush()
        return item

    async def mark_sent_many(self, sent: Sequence[Sent]) -> int:
        """:meth:`mark_sent` for many rows at once (a batch the provider took); rows that are
        gone are skipped. Returns how many were marked."""
        items = {item.id: item for item in await self.get_many([s.outbox_id for s in sent])}
        for result in sent:
            item = items.get(result.outbox_id)
            if item is None:
                continue
            item.state = "sent"
            item.last_error = None
            item.message.provider_id = result.provider_id
            advance_status(item.message, result.status, result.at)
        if sent:
            await self._apply_parked(list(items.values()), max(s.at for s in sent))
        await self.session.flush()
        return len(items)

    async def _apply_parked(self, items: Sequence[OutboxItem], at: datetime) -> None:
        """Status callbacks that arrived before these rows knew their provider ids (parked in
        the inbox by the status webhook): apply them now, in the same transaction."""
        by_provider_id = {i.message.provider_id: i.message for i in items if i.message.provider_id}
        inbox = InboxRepository(self.session)
        for row in await inbox.parked_statuses(by_provider_id, STATUS_RANK):
            payload = row.payload
            message = by_provider_id[str(payload["provider_id"])]
            advance_status(message, str(payload["status"]), at, payload.get("error_code"))
            await inbox.mark_processed(row.id, at)

    async def schedule_retry(
        self, outbox_id: int, next_attempt_at: datetime, error: str | None = None
    ) -> OutboxItem:
        """Back to pending for another attempt at ``next_attempt_at``."""
        item = await self._require(outbox_id)
        item.state = "pending"
        item.next_attempt_at = next_attempt_at
        item.claimed_by = None
        item.claimed_at = None
        item.last_error = (error or "")[:200] or None
        await self.session.flush()
        return item

    async def mark_failed(
        self, outbox_id: int, at: datetime, *, error_code: str | None = None, error: str = ""
    ) -> OutboxItem:
        """A permanent failure: never retried; the message is marked failed with the code."""
        item = await self._require(outbox_id)
        item.state = "failed"
        item.last_error = error[:200] or error_code
        advance_status(item.message, "failed", at, error_code)
        await self.session.flush()
        return item

    async def expire(self, outbox_id: int, at: datetime) -> OutboxItem:
        """Too late to send (a check-in question is not sent a day late)."""
        return await self._finish(outbox_id, "expired", at)

    async def cancel(self, outbox_id: int, at: datetime) -> OutboxItem:
        return await self._finish(outbox_id, "cancelled", at)

    async def cancel_pending_for(self, address: str, at: datetime) -> list[int]:
        """Cancel everything still pending for an address (after STOP); returns outbox ids."""
        statement = (
            select(OutboxItem)
            .where(OutboxItem.address == address, OutboxItem.state == "pending")
            .options(selectinload(OutboxItem.message))
        )
        items = list(await self.session.scalars(statement))
        for item in items:
            item.state = "cancelled"
            advance_status(item.message, "cancelled", at)
        await self.session.flush()
        return [item.id for item in items]

    async def pending_count(self) -> int:
        statement = (
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.state.in_(("pending", "sending")))
        )
        return int(await self.session.scalar(statement) or 0)

    async def release(self, outbox_ids: Collection[int]) -> None:
        """Return claimed items to pending unchanged (e.g. on shutdown before sending)."""
        if outbox_ids:
            await self.session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(outbox_ids), OutboxItem.state == "sending")
                .values(state="pending", claimed_by=None, claimed_at=None)
                .execution_options(synchronize_session="fetch")
            )

    async def _finish(self, outbox_id: int, state: str, at: datetime) -> OutboxItem:
        item = await self._require(outbox_id)
        item.state = state
        advance_status(item.message, state, at)
        await self.session.flush()
        return item

    async def _require(self, outbox_id: int) -> OutboxItem:
        item = await self.get(outbox_id)
        if item is None:
            raise NotFound(f"outbox item {outbox_id} not found")
        return item


_GET_MANY = (
    select(OutboxItem)
    .where(OutboxItem.id.in_(bindparam("ids", expanding=True)))
    .options(selectinload(OutboxItem.message))
    .order_by(OutboxItem.id)
)
"""``get_many``, built once: every send loads its rows with it, and once per settled batch."""
