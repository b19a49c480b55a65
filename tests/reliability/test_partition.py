"""A network partition between carebot and PostgreSQL (packets silently dropped, no reset):
unlike a restart, nothing tells the client the connection is gone. A webhook must still answer
within Twilio's 15 s (with a 503, which Twilio retries through the ``#rc=`` override), a tick
must give up instead of hanging for good, and everything works again once the network heals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.server import WEBHOOK_DATABASE_SECONDS
from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import ProcessedWebhook
from tests.conftest import FIXED_NOW
from tests.fakes import FakeTelegram, FakeTwilio, inbound_sms
from tests.reliability.figures import record
from tests.reliability.inproc import InProcess, in_process
from tests.reliability.seed import Wave, seed_wave
from tests.reliability.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

STATEMENT_TIMEOUT = 3.0
TWILIO_WAITS = 15.0


@pytest.fixture
async def bot(
    pg: Database, pg_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[InProcess, Wave, TcpProxy]]:
    """carebot through the proxy; ``@pytest.mark.statement_timeout(s)`` sets the setting."""
    marker = request.node.get_closest_marker("statement_timeout")
    env = {"DATABASE_STATEMENT_TIMEOUT_SECONDS": str(marker.args[0])} if marker else {}
    clock = ManualClock(FIXED_NOW)
    with FakeTwilio() as twilio, FakeTelegram() as telegram, TcpProxy("127.0.0.1", 5432) as proxy:
        wave = await seed_wave(pg, clock.now(), 2)
        async with in_process(
            proxy.rewrite(pg_url),
            tmp_path,
            clock,
            twilio,
            telegram,
            **env,
        ) as carebot:
            await carebot.ticks.run_once()
            try:
                yield carebot, wave, proxy
            finally:
                proxy.heal()


async def test_a_webhook_in_a_partition_gets_a_503_in_time_and_then_a_200(
    bot: tuple[InProcess, Wave, TcpProxy], pg: Database
) -> None:
    """The default statement timeout (30 s) is longer than Twilio waits: the webhook's own
    limit answers. Its cancelled connection does not poison the pool after the heal."""
    carebot, wave, proxy = bot
    assert carebot.settings.database_statement_timeout > TWILIO_WAITS
    form = inbound_sms("3", from_=wave.sms[0].partition(":")[2], sid="SM" + "7" * 32)

    proxy.partition()
    began = time.monotonic()
    during = await carebot.sms(form)
    answered = time.monotonic() - began
    proxy.heal()

    assert during.status_code == 503
    assert answered < WEBHOOK_DATABASE_SECONDS + 1 < TWILIO_WAITS
    # Twilio retries: this time it is recorded and handled, once.
    after = await carebot.sms(form)
    await carebot.settle()
    assert after.status_code == 200
    async with pg.session() as session:
        rows = list(await session.scalars(select(ProcessedWebhook.processed_at)))
    assert len(rows) == 1 and rows[0] is not None
    record("database_partition_webhook", answered_503_after_s=round(answered, 2))


@pytest.mark.statement_timeout(STATEMENT_TIMEOUT)
async def test_ticks_in_a_partition_give_up_and_resume(
    bot: tuple[InProcess, Wave, TcpProxy], pg: Database
) -> None:
    carebot, wave, proxy = bot
    form = inbound_sms("3", from_=wave.sms[0].partition(":")[2], sid="SM" + "8" * 32)

    proxy.partition()
    began = time.monotonic()
    during = await carebot.sms(form)
    answered = time.monotonic() - began
    began = time.monotonic()
    await asyncio.wait_for(carebot.ticks.run_once(), 120)  # each tick fails inside, logged
    gave_up = time.monotonic() - began
    proxy.heal()

    assert during.status_code == 503 and answered < STATEMENT_TIMEOUT * 3
    after = await carebot.sms(form)
    await carebot.settle()
    await carebot.ticks.run_once()
    assert after.status_code == 200
    async with pg.session() as session:
        handled = await session.scalar(
            select(func.count(ProcessedWebhook.id)).where(
                ProcessedWebhook.processed_at.is_not(None)
            )
        )
    assert handled == 1
    record(
        "database_partition_ticks",
        statement_timeout_s=STATEMENT_TIMEOUT,
        webhook_answered_503_after_s=round(answered, 2),
        every_tick_gave_up_after_s=round(gave_up, 2),
    )
