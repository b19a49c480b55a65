"""Several workers at once: PostgreSQL scale-out claims each due check-in once; SQLite runs one
scheduler and still lets the server and the CLI write beside it."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.runtime import build_runtime
from bot.ticks import SchedulerBusy, Ticks
from outreach.clock import ManualClock
from outreach.conversation.env import no_screen
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import CheckIn, Patient
from tests.conftest import FIXED_NOW, postgres_url_or_skip
from tests.integration.support import FakeSender, enrol, make_host, settings_for
from tests.reliability.seed import seed_wave
from tests.scratch import scratch_postgres

WAVE = int(os.environ.get("CAREBOT_TEST_WAVE", "2000"))
"""Check-ins in the 3-worker wave; CAREBOT_TEST_WAVE=10000 for the full-size run (~7 min)."""


@pytest.mark.postgres
async def test_three_postgres_workers_start_each_due_checkin_exactly_once(tmp_path: Path):
    clock = ManualClock(FIXED_NOW)
    async with scratch_postgres(postgres_url_or_skip(), "carebot_workers") as url:
        await upgrade(url)
        databases = [Database.from_url(url) for _ in range(3)]
        sender = FakeSender()
        runtimes = [
            build_runtime(
                settings_for(tmp_path),
                db,
                sender,
                clock=clock,
                screen=no_screen,
                worker_id=f"w{n}",
            )
            for n, db in enumerate(databases)
        ]
        try:
            await runtimes[0].sync_programs()
            await seed_wave(databases[0], clock.now(), WAVE)

            async def work(runtime_index: int) -> None:
                runtime = runtimes[runtime_index]
                while await runtime.checkins.dispatch_due(limit=250):
                    pass

            await asyncio.gather(*(work(i) for i in range(3)))
            async with databases[0].session() as session:
                created = await session.scalar(select(func.count()).select_from(CheckIn))
                distinct = await session.scalar(
                    select(func.count(func.distinct(CheckIn.enrollment_id)))
                )
            assert created == WAVE and distinct == WAVE

            # Starting the conversations: every check-in's first question exactly once.
            async def start(runtime_index: int) -> None:
                runtime = runtimes[runtime_index]
                while True:
                    result = await runtime.checkins.advance_due(limit=100)
                    if result.processed == 0:
                        return

            clock.advance(timedelta(seconds=1))
            await asyncio.gather(*(start(i) for i in range(3)))
            for runtime in runtimes:
                while await runtime.delivery.deliver_due(limit=500):
                    pass
            addresses = [m.address for m in sender.sent]
            assert len(addresses) == WAVE and len(set(addresses)) == WAVE
        finally:
            for db in databases:
                await db.dispose()


async def test_a_second_sqlite_scheduler_refuses_to_start(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    await upgrade(url)
    first_db, second_db = Database.from_url(url), Database.from_url(url)
    clock = ManualClock(FIXED_NOW)
    settings = settings_for(tmp_path)
    first = Ticks(
        build_runtime(
            settings, first_db, FakeSender(), clock=clock, screen=no_screen, worker_id="serve-1"
        )
    )
    second = Ticks(
        build_runtime(
            settings, second_db, FakeSender(), clock=clock, screen=no_screen, worker_id="worker-2"
        )
    )
    try:
        await first.acquire_lock()
        with pytest.raises(SchedulerBusy, match="serve-1"):
            await second.acquire_lock()
        await first.release_lock()
        await second.acquire_lock()  # free again once the first stopped
        await second.release_lock()
    finally:
        await first_db.dispose()
        await second_db.dispose()


async def test_sqlite_server_cli_and_scheduler_write_together(tmp_path: Path):
    """Three engines on one SQLite file (like serve, a CLI import and the scheduler):
    no 'database is locked' error, nothing lost."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    await upgrade(url)
    clock = ManualClock(FIXED_NOW)
    scheduler_db, server_db, cli_db = (Database.from_url(url) for _ in range(3))
    try:
        scheduler = make_host(scheduler_db, clock, tmp_path)
        server = make_host(server_db, clock, tmp_path)
        cli = make_host(cli_db, clock, tmp_path)
        await enrol(scheduler, external_id="P0", phone="+15555550100")

        async def scheduler_loop() -> None:
            for _ in range(30):
                await scheduler.tick()
                await asyncio.sleep(0)

        async def server_loop() -> None:
            for n in range(30):
                await server.reply("tel:+15555550100", "3" if n % 2 else "good")

        async def cli_loop() -> None:
            for n in range(1, 31):
                await enrol(cli, external_id=f"C{n}", phone=f"+1555555{n:04d}")

        await asyncio.gather(scheduler_loop(), server_loop(), cli_loop())
        async with cli_db.session() as session:
            patients = await session.scalar(select(func.count()).select_from(Patient))
        assert patients == 31
    finally:
        for db in (scheduler_db, server_db, cli_db):
            await db.dispose()
