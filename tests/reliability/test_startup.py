"""Start-up after downtime (SPEC §4, §14): the overdue backlog is worked off once, in the
background; starting the server (and with it /healthz and the webhooks of ``carebot serve``)
does not wait for it. Found by the database-outage run: a ``serve`` process restarted with a
wave due answered nothing until the whole wave had been sent at the provider's pace."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.server import Server
from storage.engine import Database
from storage.models import CheckIn
from tests.fakes import FakeTelegram, FakeTwilio
from tests.reliability.conftest import carebot_env, eventually
from tests.reliability.seed import seed_wave
from tests.reliability.warp import WarpClock

pytestmark = pytest.mark.postgres
BACKLOG = 30
MPS = 3.0
"""A slow sender (a long code sends 1 segment a second): the backlog takes ~10 s to send."""


async def test_start_up_does_not_wait_for_the_backlog(
    pg: Database, pg_url: str, tmp_path: Path
) -> None:
    clock = WarpClock.begin(factor=1.0)
    with FakeTwilio() as twilio, FakeTelegram() as telegram:
        await seed_wave(pg, clock.now(), BACKLOG)
        env = carebot_env(
            pg_url, tmp_path / "var", twilio=twilio.url, telegram=telegram.url, twilio_mps=MPS
        )
        server = Server(load_settings(env, env_file=None), clock=clock)
        began = time.monotonic()
        await server.start()
        took = time.monotonic() - began
        try:
            assert took < 4.0, f"start-up waited {took:.1f} s for a backlog of {BACKLOG / MPS:g} s"

            async def sending() -> bool:
                return len(twilio.sent) > 0

            await eventually(sending, "the backlog to be worked off in the background", 30)
            async with pg.session() as session:
                created = await session.scalar(select(func.count()).select_from(CheckIn))
            assert created == BACKLOG
        finally:
            await server.stop()
