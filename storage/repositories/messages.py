"""The contact log: inbound and outbound messages, delivery status that never regresses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, select

from storage.models import Message, OutboxItem
from storage.repositories.base import Repository, insert_ignoring, insert_or_none

# Delivery status order. A status moves only forward: queued < sending < sent < {delivered,
# undelivered, failed}. The three last are terminal: the first of them to arrive stays (a late
# "sent" after "delivered" is ignored, and so is a "failed" after "delivered" or the reverse).
# Callbacks arrive out of order, so every status is kept in status_history whether applied or not.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
}
TERMINAL = frozenset({"delivered", "undelivered", "failed", "expired", "cancelled", "received"})


class Queued(NamedTuple):
    message: Message
    outbox: OutboxItem


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message for :meth:`MessageRepository.queue_outbound_many` (the arguments of
    :meth:`MessageRepository.queue_outbound`)."""

    channel: str
    address: str
    body: str
    idempotency_key: str
    at: datetime
    kind: str = ""
    next_attempt_at: datetime | None = None
    expires_at: datetime | None = None
    patient_id: int | None = None
    family_contact_id: int | None = None
    care_manager_id: int | None = None
    checkin_id: int | None = None
    buttons: Sequence[Sequence[str]] = ()
    language: str = "en"


def advance_status(
    message: Message, status: str, at: datetime, error_code: str | None = None
) -> bool:
    """Apply ``status`` to ``message`` unless that would move it backwards; True if applied.

    Statuses outside STATUS_RANK (e.g. ``expired``, ``cancelled``) apply only to a message that
    is not terminal yet.
    """
    history = list(message.status_history or [])
    if not any(entry[0] == status for entry in history):
        history.append([status, at.isoformat()])
        message.status_history = history
    current = message.status
    if current in TERMINAL or current == status:
        return False
    if status in STATUS_RANK and STATUS_RANK[status] <= STATUS_RANK.get(current, -1):
        return False
    message.status = status
    if status == "sent" and message.sent_at is None:
        message.sent_at = at
    elif status == "delivered":
        message.delivered_at = at
        message.sent_at = message.sent_at or at
    elif status in ("undelivered", "failed"):
        message.failed_at = at
    if error_code is not None and status in ("undelivered", "failed"):
        message.error_code = error_code
    return True


class MessageRepository(Repository):
    async def get(self, message_id: int) -> Message | None:
        return await self.session.get(Message, message_id)

    async def by_idempotency_key(self, key: str) -> Message | None:
        statement = select(Message).where(Message.idempotency_key == key)
        return (await self.session.scalars(statement)).one_or_none()

    async def by_provider_id(self, provider_id: str, *, lock: bool = False) -> Message | None:
        statement = select(Message).where(Message.provider_id == provider_id).limit(1)
        if lock:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).first()

    async def log_inbound(
        self,
        *,
        channel: str,
        address: str,
        body: str,
        external_id: str,
        at: datetime,
        patient_id: int | None = None,
        family_contact_id: int | None = None,
        care_manager_id: int | None = None,
        checkin_id: int | None = None,
        kind: str = "reply",
        flagged: bool = False,
    ) -> Message | None:
        """Log a received message; None if this delivery was logged for that person already.

        The key is ``in:<channel>:<external id>:<person>``, so that a message from a shared phone
        can be logged once for each patient on it.
        """
        person = (
            f"p{patient_id}"
            if patient_id is not None
            else f"f{family_contact_id}"
            if family_contact_id is not None
            else f"m{care_manager_id}"
            if care_manager_id is not None
            else "-"
        )
        return await insert_or_none(
            self.session,
            Message,
            ["idempotency_key"],
            {
                "direction": "in",
                "channel": channel,
                "address": address,
                "body": body,
                "kind": kind,
                "patient_id": patient_id,
                "family_contact_id": family_contact_id,
                "care_manager_id": care_manager_id,
                "checkin_id": checkin_id,
                "provider_id": external_id[:64],
                "status": "received",
                "status_history": [["received", at.isoformat()]],
                "idempotency_key": f"in:{channel}:{external_id}:{person}"[:160],
                "flagged": flagged,
                "created_at": at,
            },
        )

    async def queue_outbound(
        self,
        *,
        channel: str,
        address: str,
        body: str,
        idempotency_key: str,
        at: datetime,
        kind: str = "",
        next_attempt_at: datetime | None = None,
        expires_at: datetime | None = None,
        patient_id: int | None = None,
        family_contact_id: int | None = None,
        care_manager_id: int | None = None,
        checkin_id: int | None = None,
        buttons: Sequence[Sequence[str]] = (),
        language: str = "en",
    ) -> Queued | None:
        """Log an outgoing message and queue it in the outbox, in one flush.

        Returns None, and queues nothing, when a message with ``idempotency_key`` exists.
        """
        message = await insert_or_none(
            self.session,
            Message,
            ["idempotency_key"],
            {
                "direction": "out",
                "channel": channel,
                "address": address,
                "body": body,
                "kind": kind,
                "patient_id": patient_id,
                "family_contact_id": family_contact_id,
                "care_manager_id": care_manager_id,
                "checkin_id": checkin_id,
                "status": "queued",
                "status_history": [["queued", at.isoformat()]],
                "idempotency_key": idempotency_key,
                "created_at": at,
            },
        )
        if message is None:
            return None
        outbox = OutboxItem(
            message_id=message.id,
            address=address,
            body=body,
            buttons=[list(button) for button in buttons],
            language=language,
            state="pending",
            attempts=0,
            next_attempt_at=next_attempt_at or at,
            expires_at=expires_at,
            created_at=at,
        )
        outbox.message = message
        self.session.add(outbox)
        await self.session.flush()
        return Queued(message, outbox)

    async def queue_outbound_many(self, messages: Sequence[Outbound]) -> list[int | None]:
        """:meth:`queue_outbound` for many messages in two statements (a batch of steps).

        Returns each message's outbox id, in the order given; None where a message with that
        idempotency key existed already (nothing queued for it).
        """
        if not messages:
            return []
        inserted = await self.session.execute(
            insert_ignoring(self.session, Message, ["idempotency_key"]).returning(
                Message.id, Message.idempotency_key
            ),
            [_message_row(m) for m in messages],
        )
        message_ids = {key: message_id for message_id, key in inserted.all()}
        rows = [
            _outbox_row(m, message_ids[m.idempotency_key])
            for m in messages
            if m.idempotency_key in message_ids
        ]
        outbox_ids: dict[int, int] = {}
        if rows:
            created = await self.session.execute(
                insert(OutboxItem).returning(OutboxItem.id, OutboxItem.message_id), rows
            )
            outbox_ids = {message_id: outbox_id for outbox_id, message_id in created.all()}
        return [outbox_ids.get(message_ids.get(m.idempotency_key, -1)) for m in messages]

    async def update_status(
        self, provider_id: str, status: str, at: datetime, error_code: str | None = None
    ) -> Message | None:
        """Apply a provider status callback (order not guaranteed: see STATUS_RANK).

        Returns the message, or None when no message has that provider id (yet). The row is
        locked (PostgreSQL) so that two concurrent callbacks cannot interleave.
        """
        message = await self.by_provider_id(provider_id, lock=True)
        if message is None:
            return None
        advance_status(message, status, at, error_code)
        await self.session.flush()
        return message

    async def sent_recently(self, address: str, kind: str, body: str, since: datetime) -> bool:
        """Whether the same outbound ``kind`` and ``body`` went to ``address`` since ``since``
        (queued counts: it is on its way)."""
        statement = (
            select(Message.id)
            .where(
                Message.address == address,
                Message.created_at >= since,
                Message.direction == "out",
                Message.kind == kind,
                Message.body == body,
                Message.status.not_in(("failed", "expired", "cancelled")),
            )
            .limit(1)
        )
        return (await self.session.scalar(statement)) is not None

    async def set_flagged(self, message_id: int, flagged: bool = True) -> None:
        message = await self.get(message_id)
        if message is not None:
            message.flagged = flagged
            await self.session.flush()

    async def timeline(
        self, patient_id: int, *, limit: int = 200, before: datetime | None = None
    ) -> list[Message]:
        """The patient's contact log, newest first."""
        statement = select(Message).where(Message.patient_id == patient_id)
        if before is not None:
            statement = statement.where(Message.created_at < before)
        statement = statement.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
        return list(await self.session.scalars(statement))

    async def flagged(self, *, limit: int = 200) -> list[Message]:
        """Messages a person should look at, newest first."""
        statement = (
            select(Message)
            .where(Message.flagged.is_(True))
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(statement))


def _message_row(m: Outbound) -> dict[str, Any]:
    return {
        "direction": "out",
        "channel": m.channel,
        "address": m.address,
        "body": m.body,
        "kind": m.kind,
        "patient_id": m.patient_id,
        "family_contact_id": m.family_contact_id,
        "care_manager_id": m.care_manager_id,
        "checkin_id": m.checkin_id,
        "status": "queued",
        "status_history": [["queued", m.at.isoformat()]],
        "idempotency_key": m.idempotency_key,
        "flagged": False,
        "created_at": m.at,
    }


def _outbox_row(m: Outbound, message_id: int) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "address": m.address,
        "body": m.body,
        "buttons": [list(button) for button in m.buttons],
        "language": m.language,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": m.next_attempt_at or m.at,
        "expires_at": m.expires_at,
        "created_at": m.at,
    }
