"""Outbox delivery: hands committed messages to their provider, with retries and expiry.

A row is claimed (state ``sending``) before the provider call and settled after it; a row left
``sending`` by a crashed worker is reconciled against the provider before it is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.effects import revoke_and_cancel
from outreach.errors import (
    PermanentDeliveryError,
    RecipientOptedOut,
    RetryableDeliveryError,
)
from outreach.ports import Clock, OutboundMessage, SendResult
from storage.claims import ClaimedOutbox, claim_due_outbox
from storage.engine import Database
from storage.models import OutboxItem
from storage.repositories.outbox import OutboxRepository, Sent

log = logging.getLogger(__name__)

SENDING_LEASE = timedelta(minutes=2)
LOUD_AFTER_ATTEMPTS = 12
"""From this attempt on, each retry is logged as a warning: the provider has been failing for
about half an hour (the backoff is capped at 10 minutes, so a row keeps trying every 5–10)."""
LAST_TRY_BEFORE_EXPIRY = timedelta(seconds=5)


class Sender(Protocol):
    """What delivery needs from ``handlers.registry.Senders``."""

    async def send(self, message: OutboundMessage) -> SendResult: ...

    def can_look_up(self, address: str) -> bool: ...

    async def find_sent(self, address: str, body: str, since: datetime) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, never shorter than the provider's retry-after."""

    base: float = 2.0
    cap: float = 600.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** max(attempt - 1, 0))
        jittered: float = ceiling / 2 + rng.uniform(0, ceiling / 2)
        return max(jittered, retry_after or 0.0)


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    reconciled: int = 0
    duplicates_possible: int = 0
    revoked: list[str] = field(default_factory=list)


OptOutHook = Callable[[str, datetime], Awaitable[None]]


class Delivery:
    """Sends due outbox rows; one instance per process."""

    def __init__(
        self,
        db: Database,
        sender: Sender,
        clock: Clock,
        *,
        worker_id: str,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        concurrency: int = 32,
        renew_poll: float = 1.0,
    ) -> None:
        self.db = db
        self.sender = sender
        self.clock = clock
        self.worker_id = worker_id
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()
        self.renew_poll = renew_poll
        self._limit = asyncio.Semaphore(concurrency)
        self.stats = DeliveryStats()

    async def deliver_due(self, limit: int = 200) -> int:
        """Claim and send what is due (including rows a dead worker left ``sending``)."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            claimed = await claim_due_outbox(session, now, self.worker_id, limit, SENDING_LEASE)
            items = await _load(session, claimed)
        await self._send_all(claimed, items)
        return len(claimed)

    async def deliver_ids(self, outbox_ids: Collection[int]) -> int:
        """Send rows just committed by this process, without waiting for a tick."""
        if not outbox_ids:
            return 0
        now = self.clock.now()
        async with self.db.transaction() as session:
            statement = (
                update(OutboxItem)
                .where(
                    OutboxItem.id.in_(list(outbox_ids)),
                    OutboxItem.state == "pending",
                    OutboxItem.next_attempt_at <= now,
                )
                .values(
                    state="sending",
                    claimed_by=self.worker_id,
                    claimed_at=now,
                    attempts=OutboxItem.attempts + 1,
                )
                .returning(OutboxItem.id)
            )
            ids = sorted((await session.execute(statement)).scalars())
            claimed = [ClaimedOutbox(i) for i in ids]
            items = await _load(session, claimed)
        await self._send_all(claimed, items)
        return len(claimed)

    async def _send_all(self, claimed: list[ClaimedOutbox], items: dict[int, OutboxItem]) -> None:
        """Send the claimed rows (``items``: loaded in the claim's transaction)."""
        if not claimed:
            return
        # Messages to one address go in queue order; different addresses in parallel.
        by_address: dict[str, list[ClaimedOutbox]] = {}
        for claim in claimed:
            item = items.get(claim.id)
            if item is not None:
                by_address.setdefault(item.address, []).append(claim)
        settle = _SentLog(self)
        settling = asyncio.create_task(settle.run())
        waiting = {claim.id for queue in by_address.values() for claim in queue}
        keeper = asyncio.create_task(self._keep_claims(waiting))
        try:
            await asyncio.gather(
                *(self._send_queue(items, q, settle, waiting) for q in by_address.values())
            )
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            settle.close()
            await settling

    async def _send_queue(
        self,
        items: dict[int, OutboxItem],
        queue: list[ClaimedOutbox],
        settle: _SentLog,
        waiting: set[int],
    ) -> None:
        for claim in queue:
            async with self._limit:
                try:
                    await self._send_one(items[claim.id], settle, reclaimed=claim.reclaimed)
                except Exception:
                    log.exception("outbox %s: delivery crashed; the lease will retry it", claim.id)
                finally:
                    waiting.discard(claim.id)

    async def _keep_claims(self, waiting: set[int]) -> None:
        """Renew the lease of this worker's claimed rows until each one's provider call is over.

        A claimed row may wait long for its turn (the rate limiter: a long code sends one
        segment a second, shared by the workers). Without renewal another worker would take it
        over as if its worker had died, find nothing sent yet, and send it too. A dead worker
        renews nothing, so its rows are reclaimed one lease after its last renewal.
        """
        renewed = self.clock.now()
        while waiting:
            await asyncio.sleep(self.renew_poll)
            now = self.clock.now()
            if now - renewed < SENDING_LEASE / 4 or not waiting:
                continue
            try:
                async with self.db.transaction() as session:
                    await session.execute(
                        update(OutboxItem)
                        .where(
                            OutboxItem.id.in_(list(waiting)),
                            OutboxItem.state == "sending",
                            OutboxItem.claimed_by == self.worker_id,
                        )
                        .values(claimed_at=now)
                        .execution_options(synchronize_session=False)
                    )
            except Exception:
                log.warning("outbox: could not renew %d claims", len(waiting), exc_info=True)
                continue
            renewed = now

    async def _send_one(self, item: OutboxItem, settle: _SentLog, *, reclaimed: bool) -> None:
        now = self.clock.now()
        if item.expires_at is not None and now >= item.expires_at:
            await self._settle(item.id, "expired", now)
            return
        # A lost answer on a channel that cannot be looked up (Telegram) is simply retried.
        lost = _answer_was_lost(item) and self.sender.can_look_up(item.address)
        if (reclaimed or lost) and await self._reconcile(item, now):
            return
        message = OutboundMessage(
            address=item.address,
            body=item.body,
            idempotency_key=f"outbox:{item.id}",
            buttons=tuple((str(b[0]), str(b[1])) for b in item.buttons),
            language=item.language,
        )
        try:
            result = await self.sender.send(message)
        except RetryableDeliveryError as exc:
            await self._retry(item, exc, now)
        except RecipientOptedOut as exc:
            await self._opted_out(item, exc, now)
        except PermanentDeliveryError as exc:
            await self._settle(item.id, "failed", now, code=exc.code, error=str(exc))
        else:
            settle.add(Sent(item.id, result.provider_id, self.clock.now(), result.status))

    async def _mark_sent(self, sent: list[Sent]) -> None:
        """Record a batch the provider took, in one transaction (see :class:`_SentLog`)."""
        try:
            async with self.db.transaction() as session:
                await OutboxRepository(session).mark_sent_many(sent)
        except Exception:
            # The rows stay "sending": after the lease they are reconciled, not sent again.
            log.exception("outbox: recording %d sent messages failed", len(sent))
            return
        self.stats.sent += len(sent)

    async def _reconcile(self, item: OutboxItem, now: datetime) -> bool:
        """A row a dead worker left ``sending``: did the provider get it? True when settled."""
        # Not ``claimed_at``: reclaiming the row overwrote it with the reclaim's time, which may
        # be long after the dead worker's send. The row cannot have gone out before it was due.
        since = max(item.next_attempt_at, item.created_at) - SENDING_LEASE
        if _answer_was_lost(item):
            # The unanswered attempt was a backoff step (up to 10 min) before this one.
            since = item.created_at - SENDING_LEASE
        if not self.sender.can_look_up(item.address):
            self.stats.duplicates_possible += 1
            log.warning("outbox %s: reclaimed on a channel that cannot be checked", item.id)
            return False
        try:
            provider_id = await self.sender.find_sent(item.address, item.body, since)
        except RetryableDeliveryError as exc:
            await self._retry(item, exc, now)
            return True
        if provider_id is None:
            return False
        async with self.db.transaction() as session:
            await OutboxRepository(session).mark_sent(item.id, provider_id, now)
        self.stats.reconciled += 1
        return True

    async def _retry(self, item: OutboxItem, exc: RetryableDeliveryError, now: datetime) -> None:
        """Try again later, however many attempts it took: a retryable error is an outage, and
        a message stays worth sending until it expires. A row without an expiry (an alert, a
        safety reply) is retried until the provider takes it."""
        delay = self.backoff.delay(item.attempts, exc.retry_after, self.rng)
        next_attempt = now + timedelta(seconds=delay)
        if item.expires_at is not None and next_attempt >= item.expires_at:
            # One last try just before it expires, unless the provider asked us to wait longer.
            last_chance = item.expires_at - LAST_TRY_BEFORE_EXPIRY
            if last_chance <= now + timedelta(seconds=exc.retry_after or 0):
                await self._settle(item.id, "expired", now)
                return
            next_attempt = last_chance
        if item.attempts >= LOUD_AFTER_ATTEMPTS:
            log.warning(
                "outbox %s: attempt %d failed (%s %s); next in %.0f s",
                item.id,
                item.attempts,
                exc.status or "",
                exc.code or "",
                delay,
            )
        async with self.db.transaction() as session:
            await OutboxRepository(session).schedule_retry(
                item.id,
                next_attempt,
                error=f"{exc.status or ''} {exc.code or ''}",
            )
        self.stats.retried += 1

    async def _opted_out(self, item: OutboxItem, exc: RecipientOptedOut, now: datetime) -> None:
        """The provider says the recipient opted out or blocked us: revoke that consent.

        Our STOP confirmation failing with 21610 means Twilio's own opt-out answered: done.
        """
        async with self.db.transaction() as session:
            outbox = OutboxRepository(session)
            await outbox.mark_failed(item.id, now, error_code=exc.code, error=str(exc))
            if item.message.kind != "stop_confirm":
                await revoke_and_cancel(session, item.address, "provider", now)
        self.stats.failed += 1
        self.stats.revoked.append(item.address)

    async def _settle(
        self,
        outbox_id: int,
        outcome: str,
        now: datetime,
        *,
        code: str | None = None,
        error: str = "",
    ) -> None:
        async with self.db.transaction() as session:
            outbox = OutboxRepository(session)
            if outcome == "expired":
                await outbox.expire(outbox_id, now)
                self.stats.expired += 1
            else:
                await outbox.mark_failed(outbox_id, now, error_code=code, error=error)
                self.stats.failed += 1


UNCERTAIN_ERRORS = ("timeout", "connection")
"""Retryable errors after which the provider may have taken the message (the request went out,
the answer did not come back): the next attempt looks the message up first, like a reclaim."""


def _answer_was_lost(item: OutboxItem) -> bool:
    return item.last_error is not None and item.last_error.strip() in UNCERTAIN_ERRORS


async def _load(session: AsyncSession, claimed: list[ClaimedOutbox]) -> dict[int, OutboxItem]:
    """The claimed rows with their messages, read in the claim's own transaction."""
    return {i.id: i for i in await OutboxRepository(session).get_many([c.id for c in claimed])}


class _SentLog:
    """Group commit of what the provider took: while one transaction records a batch, the
    sends that finish meanwhile gather for the next. A lone message is recorded at once; a
    wave of them costs a few transactions instead of one per message."""

    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery
        self._pending: list[Sent] = []
        self._wake = asyncio.Event()
        self._closed = False

    def add(self, sent: Sent) -> None:
        self._pending.append(sent)
        self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                await self._delivery._mark_sent(batch)
            # Closed while that batch was being recorded: nothing will wake us again.
            if self._closed and not self._pending:
                return
