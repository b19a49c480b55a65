"""Reconciling a row a dead worker left ``sending`` (SPEC §12), in one process with a moved
clock: the real Twilio client against the fake, whose message log is on the same clock.

Found by the kill -9 wave (test_crash.py): the lookup window started at the *reclaim* time, so
a message sent more than a lease before the reclaim was not found and was sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from bot.outbox import SENDING_LEASE, Delivery
from handlers.registry import Senders
from handlers.twilio_sms import TwilioSms
from outreach.clock import ManualClock
from outreach.ports import OutboundMessage, SendResult
from storage.claims import claim_due_outbox
from storage.engine import Database
from storage.models import Message, OutboxItem
from storage.repositories.messages import MessageRepository
from tests.conftest import FIXED_NOW
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER
from tests.privacy_plugin import remember
from tests.reliability.fakes import WarpedTwilio

PHONE = "+15557770001"
ADDRESS = f"tel:{PHONE}"
BODY = "How are you feeling today? Reply 1-5."


@pytest.fixture
async def setup(db: Database) -> AsyncIterator[tuple[ManualClock, WarpedTwilio, Senders]]:
    remember(PHONE)
    clock = ManualClock(FIXED_NOW)
    with WarpedTwilio(clock) as twilio:
        sms = TwilioSms(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            from_number=FROM_NUMBER,
            api_base_url=twilio.url,
        )
        senders = Senders([sms], lookups={"tel": sms}, owned=[sms])
        try:
            yield clock, twilio, senders
        finally:
            await senders.aclose()


async def queue(db: Database, clock: ManualClock) -> int:
    async with db.transaction() as session:
        queued = await MessageRepository(session).queue_outbound(
            channel="sms",
            address=ADDRESS,
            body=BODY,
            idempotency_key="reliability:reconcile:1",
            at=clock.now(),
            kind="question",
        )
    assert queued is not None
    return queued.outbox.id


async def die_after_the_provider_call(
    db: Database, clock: ManualClock, senders: Senders, send_after: timedelta
) -> None:
    """Worker A claims the row, the provider accepts it, and A dies before the commit."""
    async with db.transaction() as session:
        claimed = await claim_due_outbox(session, clock.now(), "A", 10, SENDING_LEASE)
    assert len(claimed) == 1
    clock.advance(send_after)
    await senders.send(OutboundMessage(address=ADDRESS, body=BODY, idempotency_key="outbox:x"))


@pytest.mark.parametrize(
    ("send_after", "reclaim_after"),
    [
        pytest.param(timedelta(seconds=1), timedelta(minutes=10), id="reclaimed-10-min-later"),
        pytest.param(timedelta(seconds=1), SENDING_LEASE + timedelta(seconds=5), id="just-late"),
        pytest.param(timedelta(seconds=90), SENDING_LEASE * 3, id="sent-late-in-the-lease"),
    ],
)
async def test_a_reclaimed_row_is_reconciled_not_sent_again(
    db: Database,
    setup: tuple[ManualClock, WarpedTwilio, Senders],
    send_after: timedelta,
    reclaim_after: timedelta,
) -> None:
    clock, twilio, senders = setup
    outbox_id = await queue(db, clock)
    await die_after_the_provider_call(db, clock, senders, send_after)
    clock.advance(reclaim_after - send_after)

    survivor = Delivery(db, senders, clock, worker_id="B")
    assert await survivor.deliver_due() == 1

    assert len(twilio.sent) == 1, "sent twice: the reclaimed row was not reconciled"
    assert survivor.stats.reconciled == 1
    async with db.session() as session:
        item = await session.get(OutboxItem, outbox_id)
        assert item is not None and item.state == "sent"
        message = await session.get(Message, item.message_id)
    assert message is not None and message.provider_id == twilio.sent[0].sid


async def test_a_reclaimed_row_that_never_reached_the_provider_is_sent(
    db: Database, setup: tuple[ManualClock, WarpedTwilio, Senders]
) -> None:
    clock, twilio, senders = setup
    await queue(db, clock)
    async with db.transaction() as session:
        await claim_due_outbox(session, clock.now(), "A", 10, SENDING_LEASE)
    clock.advance(SENDING_LEASE * 2)  # A died before calling the provider

    survivor = Delivery(db, senders, clock, worker_id="B")
    await survivor.deliver_due()

    assert [sent.body for sent in twilio.sent] == [BODY]
    assert survivor.stats.reconciled == 0 and survivor.stats.sent == 1


class Gated:
    """Waits at a gate before the provider call, as ``RateLimited`` waits for its limiter
    (a long code sends one segment a second, shared by the workers)."""

    def __init__(self, inner: Senders) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.waiting = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        self.waiting += 1
        await self.gate.wait()
        return await self.inner.send(message)

    def can_look_up(self, address: str) -> bool:
        return self.inner.can_look_up(address)

    async def find_sent(self, address: str, body: str, since: datetime) -> str | None:
        return await self.inner.find_sent(address, body, since)


async def test_a_row_waiting_for_the_rate_limiter_is_not_taken_over(
    db: Database, setup: tuple[ManualClock, WarpedTwilio, Senders]
) -> None:
    """Worker A is alive, its claimed row waits for the rate limiter longer than the lease:
    worker B must not take the row over and send it too (found by the kill -9 wave: a 2,000
    patient wave on a 1 msg/s long code keeps rows queued for minutes)."""
    clock, twilio, senders = setup
    await queue(db, clock)
    limited = Gated(senders)
    alive = Delivery(db, limited, clock, worker_id="A", renew_poll=0.02)
    sending = asyncio.create_task(alive.deliver_due())
    for _ in range(200):
        if limited.waiting:
            break
        await asyncio.sleep(0.01)
    assert limited.waiting == 1

    for _ in range(3):  # minutes go by while A waits for its turn; A is alive all along
        clock.advance(SENDING_LEASE / 2)
        await asyncio.sleep(0.1)
    other = Delivery(db, senders, clock, worker_id="B")
    await other.deliver_due()
    limited.gate.set()
    await sending

    assert len(twilio.sent) == 1, "the row was sent by both workers"


async def test_group_commit_ends_when_closed_during_a_commit() -> None:
    """The last message is handed over while the previous batch is being recorded, then the
    batch of sends ends: the group commit must record it and finish (it waited forever, and
    with it the outbox tick of that worker: found by the kill -9 ladder run)."""
    from bot.outbox import _SentLog
    from storage.repositories.outbox import Sent

    recorded: list[list[int]] = []
    committing = asyncio.Event()
    release = asyncio.Event()

    class SlowCommit:
        async def _mark_sent(self, sent: list[Sent]) -> None:
            committing.set()
            await release.wait()
            recorded.append([s.outbox_id for s in sent])

    group = _SentLog(SlowCommit())  # type: ignore[arg-type]
    running = asyncio.create_task(group.run())
    group.add(Sent(1, "SM1", FIXED_NOW, "queued"))
    await committing.wait()
    group.add(Sent(2, "SM2", FIXED_NOW, "queued"))  # arrives during the first commit
    group.close()
    release.set()
    await asyncio.wait_for(running, 2)
    assert recorded == [[1], [2]]
