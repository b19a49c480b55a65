"""Provider outages (SPEC §9, §12): Twilio answers 500 or times out, or 429 with Retry-After;
Telegram answers 429 with retry_after. Everything queued is delivered once afterwards, before it
expires, and the number of requests during the outage stays within what the backoff allows:
no hot retry loop.

The real twilio and python-telegram-bot clients talk to the fakes; one delivery loop runs the
outbox tick as the scheduler would (once a clock second, jumping over seconds in which nothing
is due), on a moved clock that the fakes share.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.outbox import Backoff, Delivery
from handlers.registry import Senders, build_senders
from handlers.telegram import TelegramChannel, build_telegram
from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import Message, OutboxItem
from storage.repositories.messages import MessageRepository
from tests.conftest import FIXED_NOW, empty_tables
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, BOT_TOKEN, FROM_NUMBER
from tests.privacy_plugin import remember
from tests.reliability.fakes import FlakyTelegram, FlakyTwilio, Outage, duplicates
from tests.reliability.figures import record

TTL = timedelta(hours=12)
"""MESSAGE_TTL_HOURS' default: a check-in question is not sent a day late."""
SMS = [f"tel:+1555888{n:04d}" for n in range(8)]
CHATS = [f"telegram:{8_800_000 + n}" for n in range(8)]


@pytest.fixture
async def db(sqlite_database: Database) -> AsyncIterator[Database]:
    """SQLite only: the outbox logic is the same on both (tests/storage covers the claims)."""
    yield sqlite_database
    await empty_tables(sqlite_database, truncate=False)


def attempts_allowed(backoff: Backoff, seconds: float, retry_after: float | None) -> int:
    """The most provider calls one message can make in ``seconds``: the first at once, then
    one per backoff delay, each at least half its exponential ceiling (full jitter) and never
    shorter than the provider's retry-after."""
    calls, elapsed, attempt = 1, 0.0, 1
    while True:
        shortest = max(min(backoff.cap, backoff.base * 2.0 ** (attempt - 1)) / 2, retry_after or 0)
        elapsed += shortest
        if elapsed >= seconds:
            return calls
        calls += 1
        attempt += 1


@dataclass
class Rig:
    clock: ManualClock
    twilio: FlakyTwilio
    telegram: FlakyTelegram
    channel: TelegramChannel
    senders: Senders
    delivery: Delivery


@pytest.fixture
async def rig(db: Database, tmp_path: Path) -> AsyncIterator[Rig]:
    remember(*(a.partition(":")[2] for a in SMS))
    clock = ManualClock(FIXED_NOW)
    with FlakyTwilio(clock) as twilio, FlakyTelegram(clock) as telegram:
        settings = load_settings(
            {
                "CAREBOT_VAR_DIR": str(tmp_path),
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "TWILIO_FROM_NUMBER": FROM_NUMBER,
                "TWILIO_API_BASE_URL": twilio.url,
                "TWILIO_MPS": "1000",
                "SANDBOX": "off",
            },
            env_file=None,
        )
        channel = build_telegram(BOT_TOKEN, api_base_url=telegram.url, timeout=5)
        await channel.start()
        # A 0.3 s client timeout so that a hung request is a timeout in a test's time.
        senders = build_senders(settings, telegram=channel, twilio_timeout=0.3)
        delivery = Delivery(db, senders, clock, worker_id="w1", rng=random.Random(12))
        try:
            yield Rig(clock, twilio, telegram, channel, senders, delivery)
        finally:
            await senders.aclose()
            await channel.stop()


async def queue_all(db: Database, clock: ManualClock, addresses: list[str]) -> None:
    now = clock.now()
    async with db.transaction() as session:
        repo = MessageRepository(session)
        for n, address in enumerate(addresses):
            await repo.queue_outbound(
                channel="sms" if address.startswith("tel:") else "telegram",
                address=address,
                body=f"Time for your monthly check-in ({n}). How are you today?",
                idempotency_key=f"outage:{address}",
                at=now,
                kind="question",
                expires_at=now + TTL,
            )


async def unsent(db: Database) -> int:
    async with db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.state.in_(("pending", "sending")))
        )
    return int(count or 0)


async def next_due(db: Database) -> datetime | None:
    async with db.session() as session:
        return await session.scalar(
            select(func.min(OutboxItem.next_attempt_at)).where(OutboxItem.state == "pending")
        )


async def run_outbox(db: Database, rig: Rig, until: timedelta) -> timedelta:
    """The outbox tick once a clock second until nothing is left (or ``until`` passed);
    returns the clock time it took."""
    start = rig.clock.now()
    for _ in range(10_000):
        await rig.delivery.deliver_due()
        if await unsent(db) == 0 or rig.clock.now() - start > until:
            break
        due = await next_due(db)
        tick = rig.clock.now() + timedelta(seconds=1)
        rig.clock.set(max(tick, due or tick))
    return rig.clock.now() - start


async def delivered_once_in_time(db: Database, rig: Rig, addresses: list[str]) -> None:
    sms = [(f"tel:{s.to}", s.body) for s in list(rig.twilio.sent)]
    # Twilio answers "queued", so the contact log has no send time: the provider's log has.
    handed_over = {sid: m.date_created for sid, m in list(rig.twilio._messages.items())}
    chats = [
        (f"telegram:{chat}", text) for (chat, _), text in sorted(rig.telegram._messages.items())
    ]
    assert duplicates(sms + chats) == {}
    assert sorted(address for address, _ in sms + chats) == sorted(addresses)
    async with db.session() as session:
        rows = list(
            await session.execute(
                select(
                    OutboxItem.state, OutboxItem.expires_at, Message.sent_at, Message.provider_id
                ).join(Message, Message.id == OutboxItem.message_id)
            )
        )
    assert {state for state, *_ in rows} == {"sent"}
    for _, expires, sent_at, provider_id in rows:
        went = sent_at or handed_over[str(provider_id)]
        assert expires is not None and went < expires


@pytest.mark.parametrize(
    ("status", "retry_after", "hang_every", "minutes"),
    [
        pytest.param(500, None, 4, 6, id="500s-and-timeouts-6-min"),
        pytest.param(429, 20.0, 0, 3, id="429-retry-after-20s-3-min"),
    ],
)
async def test_twilio_outage_is_ridden_out_with_bounded_retries(
    db: Database,
    rig: Rig,
    status: int,
    retry_after: float | None,
    hang_every: int,
    minutes: int,
) -> None:
    outage = timedelta(minutes=minutes)
    rig.twilio.outage = Outage(
        rig.clock.now() + outage, status, retry_after, hang_every, hang_seconds=0.6
    )
    await queue_all(db, rig.clock, SMS)

    took = await run_outbox(db, rig, until=TTL)

    await delivered_once_in_time(db, rig, SMS)
    bound = len(SMS) * attempts_allowed(rig.delivery.backoff, outage.total_seconds(), retry_after)
    during = rig.twilio.outage.requests
    assert 0 < during <= bound, f"{during} requests during the outage, at most {bound} allowed"
    after = (took - outage).total_seconds()
    record(
        f"provider_outage_twilio_{status}",
        messages=len(SMS),
        outage_seconds=outage.total_seconds(),
        requests_during_outage=during,
        bound_from_backoff=bound,
        delivered_seconds_after_outage=after,
        retries=rig.delivery.stats.retried,
    )


async def test_telegram_flood_control_is_honoured(db: Database, rig: Rig) -> None:
    outage, retry_after = timedelta(minutes=2), 30.0
    rig.telegram.outage = Outage(rig.clock.now() + outage, 429, retry_after)
    await queue_all(db, rig.clock, CHATS)

    took = await run_outbox(db, rig, until=TTL)

    await delivered_once_in_time(db, rig, CHATS)
    bound = len(CHATS) * attempts_allowed(rig.delivery.backoff, outage.total_seconds(), retry_after)
    during = rig.telegram.outage.requests
    assert 0 < during <= bound, f"{during} requests during the outage, at most {bound} allowed"
    record(
        "provider_outage_telegram_429",
        messages=len(CHATS),
        outage_seconds=outage.total_seconds(),
        retry_after=retry_after,
        requests_during_outage=during,
        bound_from_backoff=bound,
        delivered_seconds_after_outage=(took - outage).total_seconds(),
    )


async def test_an_hour_long_twilio_outage_loses_nothing_that_has_not_expired(
    db: Database, rig: Rig
) -> None:
    """Retries continue (every 5–10 min once the backoff is capped) for as long as the message
    is worth sending: an hour of 503s is ridden out, nothing is failed for 'too many attempts'."""
    outage = timedelta(hours=1)
    rig.twilio.outage = Outage(rig.clock.now() + outage, 503)
    await queue_all(db, rig.clock, SMS[:3])

    took = await run_outbox(db, rig, until=TTL)

    await delivered_once_in_time(db, rig, SMS[:3])
    assert outage < took < outage + timedelta(seconds=rig.delivery.backoff.cap)
    bound = 3 * attempts_allowed(rig.delivery.backoff, outage.total_seconds(), None)
    assert rig.twilio.outage.requests <= bound


async def test_an_alert_is_retried_through_an_outage_longer_than_any_expiry(
    db: Database, rig: Rig
) -> None:
    """An alert has no expiry: it is never given up, however long the provider is down."""
    outage = timedelta(hours=14)
    rig.twilio.outage = Outage(rig.clock.now() + outage, 500)
    now = rig.clock.now()
    async with db.transaction() as session:
        await MessageRepository(session).queue_outbound(
            channel="sms",
            address=SMS[0],
            body="Care alert: a patient reported a red flag. Reply ACK to take it.",
            idempotency_key="outage:alert",
            at=now,
            kind="alert",
        )

    took = await run_outbox(db, rig, until=outage + timedelta(hours=1))

    assert outage < took < outage + timedelta(seconds=rig.delivery.backoff.cap)
    assert [f"tel:{s.to}" for s in list(rig.twilio.sent)] == [SMS[0]]
    async with db.session() as session:
        states = list(await session.scalars(select(OutboxItem.state)))
    assert states == ["sent"]


async def test_a_message_the_outage_outlasts_expires_after_a_last_try(
    db: Database, rig: Rig
) -> None:
    """A check-in question still undelivered when it expires is marked expired (not failed),
    and the last attempt is made just before its expiry rather than a backoff step earlier."""
    rig.twilio.outage = Outage(rig.clock.now() + TTL + timedelta(hours=1), 503)
    await queue_all(db, rig.clock, SMS[:1])

    await run_outbox(db, rig, until=TTL + timedelta(minutes=30))

    assert list(rig.twilio.sent) == []
    async with db.session() as session:
        row = (
            await session.execute(
                select(OutboxItem.state, OutboxItem.next_attempt_at, OutboxItem.expires_at)
            )
        ).one()
        status = await session.scalar(select(Message.status))
    assert row.state == "expired" and status == "expired"
    assert row.expires_at - row.next_attempt_at <= timedelta(seconds=5)


async def test_a_send_whose_answer_was_lost_is_looked_up_not_sent_again(
    db: Database, rig: Rig
) -> None:
    """Twilio took the message but the answer never came (client timeout): the retry finds it
    in Twilio's log and records it instead of sending a second copy."""
    rig.twilio.lose_answers = 2
    await queue_all(db, rig.clock, SMS[:3])

    await run_outbox(db, rig, until=timedelta(hours=1))

    await delivered_once_in_time(db, rig, SMS[:3])
    assert rig.delivery.stats.reconciled == 2 and rig.delivery.stats.retried == 2
