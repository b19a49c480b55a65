"""Outbox delivery: nothing sent from a failed transaction, retries, permanent errors, expiry,
reconciliation after a crash, and the rate limit."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from handlers.ratelimit import twilio_limit
from outreach.clock import ManualClock
from outreach.errors import PermanentDeliveryError, RecipientOptedOut, RetryableDeliveryError
from outreach.ports import OutboundMessage
from storage.claims import claim_due_outbox
from storage.engine import Database
from storage.models import Consent, Message, OutboxItem
from storage.repositories.messages import MessageRepository
from tests.integration.support import FakeSender, enrol, make_host

ADDRESS = "tel:+15555550101"


async def queue(db: Database, clock: ManualClock, key: str, *, ttl: timedelta | None = None) -> int:
    async with db.transaction() as session:
        queued = await MessageRepository(session).queue_outbound(
            channel="sms",
            address=ADDRESS,
            body=f"hello {key}",
            idempotency_key=key,
            at=clock.now(),
            expires_at=clock.now() + ttl if ttl else None,
        )
        assert queued is not None
        return queued.outbox.id


async def outbox_row(db: Database, outbox_id: int) -> OutboxItem:
    async with db.session() as session:
        row = await session.get(OutboxItem, outbox_id)
        assert row is not None
        return row


async def message_of(db: Database, outbox_id: int) -> Message:
    row = await outbox_row(db, outbox_id)
    async with db.session() as session:
        message = await session.get(Message, row.message_id)
        assert message is not None
        return message


async def test_a_failed_transaction_sends_nothing(db: Database, clock: ManualClock, tmp_path: Path):
    host = make_host(db, clock, tmp_path)
    try:
        async with db.transaction() as session:
            await MessageRepository(session).queue_outbound(
                channel="sms", address=ADDRESS, body="x", idempotency_key="k", at=clock.now()
            )
            raise RuntimeError("the step failed after queueing")
    except RuntimeError:
        pass
    assert await host.runtime.delivery.deliver_due() == 0
    assert host.sender.sent == []


async def test_retryable_errors_back_off_then_deliver_once(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host = make_host(db, clock, tmp_path)
    host.sender.faults = [
        RetryableDeliveryError("busy", status=429, code="20429", retry_after=30),
        RetryableDeliveryError("down", status=500),
    ]
    outbox_id = await queue(db, clock, "k1")
    await host.runtime.delivery.deliver_due()
    row = await outbox_row(db, outbox_id)
    assert row.state == "pending" and row.attempts == 1
    assert row.next_attempt_at >= clock.now() + timedelta(seconds=30)  # Retry-After honoured
    clock.advance(timedelta(seconds=10))
    assert await host.runtime.delivery.deliver_due() == 0  # not before Retry-After
    clock.advance(timedelta(seconds=25))
    await host.runtime.delivery.deliver_due()
    assert (await outbox_row(db, outbox_id)).attempts == 2
    clock.advance(timedelta(minutes=1))
    await host.runtime.delivery.deliver_due()
    row = await outbox_row(db, outbox_id)
    assert row.state == "sent" and row.attempts == 3
    assert len(host.sender.sent) == 1
    message = await message_of(db, outbox_id)
    assert message.provider_id == "SM000001" and message.status == "queued"


async def test_permanent_errors_are_not_retried(db: Database, clock: ManualClock, tmp_path: Path):
    host = make_host(db, clock, tmp_path)
    host.sender.faults = [PermanentDeliveryError("invalid number", code="21211", status=400)]
    outbox_id = await queue(db, clock, "k2")
    await host.runtime.delivery.deliver_due()
    clock.advance(timedelta(hours=1))
    await host.runtime.delivery.deliver_due()
    assert host.sender.attempts == 1
    message = await message_of(db, outbox_id)
    assert message.status == "failed" and message.error_code == "21211"


async def test_provider_opt_out_revokes_consent(db: Database, clock: ManualClock, tmp_path: Path):
    host = make_host(db, clock, tmp_path)
    await enrol(host)
    host.sender.faults = [RecipientOptedOut("opted out", code="21610", status=400)]
    await host.tick()
    async with db.session() as session:
        consents = list(await session.scalars(select(Consent).order_by(Consent.id)))
    assert consents[-1].granted is False and consents[-1].source == "provider"
    clock.advance(timedelta(days=40))
    await host.tick()
    await host.tick()
    assert host.sender.sent == []


async def test_expired_messages_are_not_sent(db: Database, clock: ManualClock, tmp_path: Path):
    host = make_host(db, clock, tmp_path)
    outbox_id = await queue(db, clock, "k3", ttl=timedelta(hours=1))
    host.sender.faults = [RetryableDeliveryError("down", status=503)]
    await host.runtime.delivery.deliver_due()
    clock.advance(timedelta(hours=2))
    await host.runtime.delivery.deliver_due()
    assert host.sender.sent == []
    assert (await outbox_row(db, outbox_id)).state == "expired"
    assert (await message_of(db, outbox_id)).status == "expired"


async def test_a_row_left_sending_by_a_dead_worker_is_reconciled_not_resent(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host = make_host(db, clock, tmp_path)
    outbox_id = await queue(db, clock, "k4")
    # A worker claims the row and hands it to the provider, then dies before its commit.
    async with db.transaction() as session:
        await claim_due_outbox(session, clock.now(), "dead-worker", 10, timedelta(minutes=2))
    await host.sender.send(OutboundMessage(ADDRESS, "hello k4", "x"))
    clock.advance(timedelta(minutes=5))
    await host.runtime.delivery.deliver_due()
    assert len(host.sender.sent) == 1
    assert host.runtime.delivery.stats.reconciled == 1
    message = await message_of(db, outbox_id)
    assert message.provider_id == "SM000001"


async def test_reclaimed_row_not_found_at_the_provider_is_sent(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host = make_host(db, clock, tmp_path)
    await queue(db, clock, "k5")
    async with db.transaction() as session:
        await claim_due_outbox(session, clock.now(), "dead-worker", 10, timedelta(minutes=2))
    clock.advance(timedelta(minutes=5))
    await host.runtime.delivery.deliver_due()
    assert host.sender.bodies() == ["hello k5"]


async def test_rate_limit_holds_the_configured_rate():
    sender = FakeSender()
    limited = twilio_limit(sender, mps=20, worker_count=2)  # 10 msg/s for this process
    started = time.monotonic()
    for n in range(11):
        await limited.send(OutboundMessage(ADDRESS, f"m{n}", f"k{n}"))
    elapsed = time.monotonic() - started
    achieved = 10 / elapsed
    assert achieved <= 10 * 1.15, achieved
    assert len(sender.sent) == 11
