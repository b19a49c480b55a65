"""The contact log, the outbox and the inbox, on both engines."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import Message, OutboxItem, ProcessedWebhook
from storage.repositories import InboxRepository, MessageRepository, OutboxRepository, Queued
from storage.repositories.outbox import Sent
from tests.storage import seed


async def _queue(
    db: Database, clock: ManualClock, key: str = "c1:q1", **kw: object
) -> Queued | None:
    async with db.transaction() as session:
        return await MessageRepository(session).queue_outbound(
            channel="sms",
            address="tel:+15550001111",
            body="How are you?",
            idempotency_key=key,
            at=clock.now(),
            kind="question",
            **kw,  # type: ignore[arg-type]
        )


async def test_queue_outbound_creates_message_and_outbox_once(
    db: Database, clock: ManualClock
) -> None:
    queued = await _queue(
        db,
        clock,
        buttons=[("Yes", "y"), ("No", "n")],
        language="es",
        expires_at=clock.now() + timedelta(hours=12),
    )
    assert queued is not None
    message, outbox = queued
    assert message.status == "queued" and message.direction == "out"
    assert message.status_history == [["queued", clock.now().isoformat()]]
    assert outbox.message_id == message.id and outbox.state == "pending"
    assert outbox.next_attempt_at == clock.now() and outbox.buttons == [["Yes", "y"], ["No", "n"]]
    assert await _queue(db, clock) is None  # same key: nothing queued
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 1
        loaded = await OutboxRepository(session).get(outbox.id)
        assert loaded is not None and loaded.message.body == "How are you?"
        assert loaded.language == "es"


async def test_queue_outbound_duplicate_key_concurrently(db: Database, clock: ManualClock) -> None:
    results = await asyncio.gather(*(_queue(db, clock, "same-key") for _ in range(3)))
    assert sum(r is not None for r in results) == 1
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 1


async def test_unique_idempotency_key_holds_at_the_table(db: Database, clock: ManualClock) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            for _ in range(2):
                session.add(
                    Message(
                        direction="out",
                        channel="sms",
                        address="tel:+1",
                        body="x",
                        status="queued",
                        idempotency_key="k",
                        created_at=clock.now(),
                    )
                )
                await session.flush()


async def test_queue_outbound_foreign_key_violation_is_not_swallowed(
    db: Database, clock: ManualClock
) -> None:
    with pytest.raises(IntegrityError):
        await _queue(db, clock, "fk", patient_id=987654)


async def test_log_inbound_once_per_person(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        m = await seed.manager(session, now)
        p1 = await seed.patient(session, now, m.id, "P1")
        p2 = await seed.patient(session, now, m.id, "P2")
        repo = MessageRepository(session)
        for pid in (p1.id, p2.id):
            logged = await repo.log_inbound(
                channel="sms",
                address="tel:+15550001111",
                body="yes",
                external_id="SM1",
                at=now,
                patient_id=pid,
                flagged=True,
            )
            assert logged is not None and logged.status == "received"
        again = await repo.log_inbound(
            channel="sms",
            address="tel:+15550001111",
            body="yes",
            external_id="SM1",
            at=now,
            patient_id=p1.id,
        )
        assert again is None
    async with db.transaction() as session:
        repo = MessageRepository(session)
        assert [x.patient_id for x in await repo.flagged()] == [p2.id, p1.id]
        assert [x.body for x in await repo.timeline(p1.id)] == ["yes"]


@pytest.mark.parametrize(
    ("arrivals", "final"),
    [
        (["sent", "delivered"], "delivered"),
        (["delivered", "sent"], "delivered"),  # out of order: no regression
        (["sending", "delivered", "sent", "sending", "queued"], "delivered"),
        (["sent", "undelivered"], "undelivered"),  # a failure beats sent
        (["failed", "sent"], "failed"),
        (["delivered", "failed"], "delivered"),  # terminal: the first terminal stays
        (["undelivered", "delivered"], "undelivered"),
    ],
)
async def test_status_never_regresses(
    db: Database, clock: ManualClock, arrivals: list[str], final: str
) -> None:
    queued = await _queue(db, clock)
    assert queued is not None
    async with db.transaction() as session:
        await OutboxRepository(session).mark_sent(
            queued.outbox.id, "SM123", clock.now(), status="queued"
        )
    for status in arrivals:
        clock.advance(timedelta(seconds=1))
        async with db.transaction() as session:
            updated = await MessageRepository(session).update_status(
                "SM123", status, clock.now(), "30003" if status == "undelivered" else None
            )
            assert updated is not None
    async with db.transaction() as session:
        message = await MessageRepository(session).by_provider_id("SM123")
        assert message is not None and message.status == final
        recorded = [entry[0] for entry in message.status_history]
        assert recorded[0] == "queued" and set(arrivals) <= set(recorded)
        if final == "undelivered":
            assert message.error_code == "30003" and message.failed_at is not None
        if final == "delivered":
            assert message.delivered_at is not None and message.sent_at is not None
        assert await MessageRepository(session).update_status("nope", "sent", clock.now()) is None


async def test_a_status_parked_before_the_send_was_recorded_is_applied_by_it(
    db: Database, clock: ManualClock
) -> None:
    """The provider's callbacks can beat the commit of its id: parked in the inbox, they are
    applied in the transaction that records the id (single rows and batches alike)."""
    one, two = await _queue(db, clock, "p1"), await _queue(db, clock, "p2")
    assert one is not None and two is not None
    async with db.transaction() as session:
        inbox = InboxRepository(session)
        await inbox.park_status("SMone", "delivered", None, clock.now())
        await inbox.park_status("SMtwo", "sent", None, clock.now())
        await inbox.park_status("SMtwo", "undelivered", "30003", clock.now())
        await inbox.park_status("SMother", "delivered", None, clock.now())
    clock.advance(timedelta(seconds=1))
    async with db.transaction() as session:
        await OutboxRepository(session).mark_sent(
            one.outbox.id, "SMone", clock.now(), status="queued"
        )
        await OutboxRepository(session).mark_sent_many(
            [Sent(two.outbox.id, "SMtwo", clock.now(), "queued")]
        )
    async with db.session() as session:
        statuses = dict((await session.execute(select(Message.provider_id, Message.status))).all())
        pending = await session.scalars(
            select(ProcessedWebhook.external_id).where(ProcessedWebhook.processed_at.is_(None))
        )
        assert statuses == {"SMone": "delivered", "SMtwo": "undelivered"}
        assert list(pending) == ["SMother:delivered"]
        message = await MessageRepository(session).by_provider_id("SMtwo")
        assert message is not None and message.error_code == "30003"


async def test_outbox_retry_fail_expire_cancel(db: Database, clock: ManualClock) -> None:
    items = [await _queue(db, clock, f"k{i}") for i in range(4)]
    assert all(items)
    ids = [q.outbox.id for q in items if q]
    later = clock.now() + timedelta(minutes=5)
    async with db.transaction() as session:
        repo = OutboxRepository(session)
        retried = await repo.schedule_retry(ids[0], later, "429 too many requests")
        assert retried.state == "pending" and retried.next_attempt_at == later
        failed = await repo.mark_failed(ids[1], clock.now(), error_code="21211", error="invalid")
        assert failed.state == "failed" and failed.message.status == "failed"
        assert failed.message.error_code == "21211"
        expired = await repo.expire(ids[2], clock.now())
        assert expired.message.status == "expired"
        assert await repo.pending_count() == 2
        cancelled = await repo.cancel_pending_for("tel:+15550001111", clock.now())
        assert sorted(cancelled) == [ids[0], ids[3]]
        assert await repo.pending_count() == 0
    async with db.transaction() as session:
        rows = await OutboxRepository(session).get_many(ids)
        assert [r.state for r in rows] == ["cancelled", "failed", "expired", "cancelled"]
        assert [r.message.status for r in rows] == ["cancelled", "failed", "expired", "cancelled"]


async def test_inbox_records_a_webhook_once(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as session:
        repo = InboxRepository(session)
        row_id, new = await repo.record_webhook("twilio", "SM1", {"Body": "hi"}, clock.now())
        again, new_again = await repo.record_webhook("twilio", "SM1", {"Body": "x"}, clock.now())
        other, other_new = await repo.record_webhook("telegram", "SM1", {}, clock.now())
        assert new and not new_again and again == row_id and other_new and other != row_id
        assert await repo.mark_processed(row_id, clock.now())
        assert not await repo.mark_processed(row_id, clock.now())
        await repo.mark_failed(other, "boom")
    async with db.transaction() as session:
        row = await InboxRepository(session).get(row_id)
        assert row is not None and row.payload == {"Body": "hi"} and row.processed_at is not None
        failed = await InboxRepository(session).get(other)
        assert failed is not None and failed.attempts == 1 and failed.error == "boom"


async def test_same_webhook_arriving_three_times_concurrently(
    db: Database, clock: ManualClock
) -> None:
    async def deliver() -> tuple[int, bool]:
        async with db.transaction() as session:
            result = await InboxRepository(session).record_webhook(
                "twilio", "SMconcurrent", {"Body": "help"}, clock.now()
            )
            await asyncio.sleep(0.01)  # hold the transaction open a moment
            return result

    results = await asyncio.gather(deliver(), deliver(), deliver())
    assert len({row_id for row_id, _ in results}) == 1
    assert sorted(new for _, new in results) == [False, False, True]
    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(ProcessedWebhook))
        assert count == 1
