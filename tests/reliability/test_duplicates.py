"""Duplicates and disorder (SPEC §9, §12, §14): every webhook is delivered 1-3 times, all at
once and shuffled, on PostgreSQL; status callbacks arrive out of order and repeated. Each
delivery is processed once, each reply answered once, and a status never moves backwards."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import Message, ProcessedWebhook
from storage.repositories.messages import STATUS_RANK, TERMINAL, MessageRepository
from storage.repositories.outbox import OutboxRepository
from tests.conftest import FIXED_NOW
from tests.fakes import FakeTelegram, FakeTwilio, inbound_sms, text_update
from tests.reliability.fakes import duplicates, telegram_pairs, twilio_pairs
from tests.reliability.figures import record
from tests.reliability.inproc import InProcess, in_process
from tests.reliability.seed import Wave, seed_wave

pytestmark = pytest.mark.postgres
PATIENTS = 40
CALLBACKS = ["queued", "sending", "sent", "delivered"]


@pytest.fixture
async def bot(pg: Database, pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[InProcess, Wave]]:
    clock = ManualClock(FIXED_NOW)
    with FakeTwilio() as twilio, FakeTelegram() as telegram:
        wave = await seed_wave(pg, clock.now(), PATIENTS, telegram_every=4)
        async with in_process(pg_url, tmp_path, clock, twilio, telegram) as carebot:
            await carebot.ticks.run_once()  # the wave: every first question goes out
            assert len(twilio.sent) + len(telegram.sent) == PATIENTS
            yield carebot, wave


async def deliver_shuffled(
    requests: Sequence[tuple[str, Any]], send: object, rng: random.Random
) -> list[int]:
    """Each request 1-3 times, shuffled, all in flight together; returns the status codes."""
    copies = [item for item in requests for _ in range(rng.randint(1, 3))]
    rng.shuffle(copies)
    assert callable(send)
    responses: list[httpx.Response] = await asyncio.gather(*(send(*item) for item in copies))
    return [response.status_code for response in responses]


async def test_replayed_shuffled_webhooks_are_processed_once(
    bot: tuple[InProcess, Wave], pg: Database
) -> None:
    carebot, wave = bot
    rng = random.Random(7)
    sms = [("sms", inbound_sms("3", from_=a.partition(":")[2])) for a in wave.sms]
    updates = [
        ("telegram", text_update(90_000 + n, int(a.partition(":")[2]), "good"))
        for n, a in enumerate(wave.telegram)
    ]

    async def send(kind: str, payload: dict[str, object]) -> httpx.Response:
        if kind == "sms":
            return await carebot.sms(payload)  # type: ignore[arg-type]
        return await carebot.update(payload)

    codes = await deliver_shuffled(sms + updates, send, rng)
    await carebot.settle()
    await carebot.ticks.inbox()  # nothing may be left for the tick (nor done twice by it)

    assert set(codes) == {200}
    async with pg.session() as session:
        inbox = list(await session.scalars(select(ProcessedWebhook)))
        inbound = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
    assert len(inbox) == PATIENTS and all(row.processed_at is not None for row in inbox)
    assert inbound == PATIENTS
    # Each reply answered exactly once (the next question), on each provider once.
    accepted = twilio_pairs(carebot.twilio) + telegram_pairs(carebot.telegram)
    assert duplicates(accepted) == {}
    assert Counter(address for address, _ in accepted) == dict.fromkeys(wave.addresses, 2)
    record(
        "duplicate_webhooks",
        webhooks=len(sms + updates),
        deliveries=len(codes),
        processed=len(inbox),
        replies_sent=len(accepted) - PATIENTS,
    )


async def test_status_callbacks_out_of_order_never_regress(
    bot: tuple[InProcess, Wave], pg: Database
) -> None:
    carebot, _ = bot
    rng = random.Random(11)
    sids = [sent.sid for sent in list(carebot.twilio.sent)]
    callbacks = [(sid, status) for sid in sids for status in CALLBACKS]

    codes = await deliver_shuffled(callbacks, carebot.status, rng)

    assert set(codes) == {200}
    async with pg.session() as session:
        messages = list(await session.scalars(select(Message).where(Message.provider_id.in_(sids))))
    assert len(messages) == len(sids)
    for message in messages:
        assert message.status == "delivered"
        assert message.delivered_at is not None and message.sent_at is not None
        seen = [entry[0] for entry in message.status_history]
        assert len(seen) == len(set(seen)), "a repeated callback was recorded twice"
        assert set(CALLBACKS) <= set(seen)
    # A late "sent" after "delivered" (or any lower rank) leaves the status where it was.
    late = await carebot.status(sids[0], "sent")
    assert late.status_code == 200
    async with pg.session() as session:
        status = await session.scalar(select(Message.status).where(Message.provider_id == sids[0]))
    assert status == "delivered" and "delivered" in TERMINAL and STATUS_RANK["sent"] < 3
    record("status_callbacks", messages=len(sids), callbacks=len(codes))


async def test_a_status_callback_before_the_send_is_recorded_is_not_lost(
    bot: tuple[InProcess, Wave], pg: Database
) -> None:
    carebot, wave = bot
    now = carebot.server.runtime.clock.now()
    async with pg.transaction() as session:
        queued = await MessageRepository(session).queue_outbound(
            channel="sms", address=wave.sms[0], body="x", idempotency_key="early", at=now
        )
    assert queued is not None
    # The provider accepted the message and reports it delivered before the sender's commit.
    sid = carebot.twilio.add_message(wave.sms[0].partition(":")[2], "x", date_sent=now)
    assert (await carebot.status(sid, "delivered")).status_code == 200
    async with pg.transaction() as session:
        await OutboxRepository(session).mark_sent(queued.outbox.id, sid, now, status="queued")
    async with pg.session() as session:
        status = await session.scalar(select(Message.status).where(Message.provider_id == sid))
    assert status == "delivered"
