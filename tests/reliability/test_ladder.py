"""The escalation ladder racing an acknowledgement (SPEC §7, §12). Found by the kill -9 ladder
run: a worker that claimed a due escalation paged the next rung although the escalation had been
acknowledged in between (the climb saw it was no longer open, but alerted anyway)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.applied import Applied
from bot.config import load_settings
from bot.escalations import Ladder
from bot.runtime import LADDER_LEASE, build_runtime
from outreach.clock import ManualClock
from outreach.conversation.env import no_screen
from outreach.ports import OutboundMessage, SendResult
from storage.engine import Database
from storage.models import Escalation, Notification, OutboxItem, Patient
from storage.repositories.escalations import EscalationRepository
from tests.conftest import FIXED_NOW
from tests.integration.support import FakeSender
from tests.reliability.seed import seed_escalations

pytestmark = pytest.mark.postgres


async def test_an_escalation_acknowledged_while_climbing_pages_nobody(
    pg: Database, tmp_path: Path
) -> None:
    ladder = await seed_escalations(pg, FIXED_NOW, 1)
    (escalation_id,) = ladder.escalation_ids
    settings = load_settings({"CAREBOT_VAR_DIR": str(tmp_path)}, env_file=None)
    applied = Applied()
    async with pg.transaction() as climbing:
        escalation = await climbing.get(Escalation, escalation_id)
        assert escalation is not None and escalation.status == "open"
        patient = await climbing.get(Patient, escalation.patient_id)
        assert patient is not None
        # Meanwhile the nurse taps "Acknowledge" (another transaction, committed first).
        async with pg.transaction() as acknowledging:
            assert await EscalationRepository(acknowledging).acknowledge(
                escalation_id, None, FIXED_NOW
            )
        await Ladder(climbing, settings, FIXED_NOW).climb(escalation, patient, applied)

    async with pg.session() as session:
        notices = await session.scalar(select(func.count()).select_from(Notification))
        queued = await session.scalar(select(func.count()).select_from(OutboxItem))
        status = await session.scalar(select(Escalation.status))
    assert (notices, queued, applied.deliver_now) == (0, 0, [])
    assert status == "acknowledged"


class Gated:
    """A sender whose first send waits at a gate (a slow provider or a full rate limiter)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.sent: list[OutboundMessage] = []
        self.waiting = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        self.waiting += 1
        await self.gate.wait()
        self.sent.append(message)
        return SendResult(f"SM{len(self.sent):032d}", "queued")

    def can_look_up(self, address: str) -> bool:
        return False

    async def find_sent(self, address: str, body: str, since: datetime) -> str | None:
        return None


async def test_a_climb_that_outlasts_its_lease_does_not_climb_twice(
    pg: Database, tmp_path: Path
) -> None:
    """Worker A claims two due escalations and is still sending the first one's alert when
    its lease runs out; worker B climbs the second. A must not climb it again: that would page
    the next rung at once instead of after the backup's deadline."""
    ladder = await seed_escalations(pg, FIXED_NOW, 2)
    settings = load_settings({"CAREBOT_VAR_DIR": str(tmp_path)}, env_file=None)
    clock = ManualClock(FIXED_NOW)
    slow = Gated()
    worker_a = build_runtime(settings, pg, slow, clock=clock, screen=no_screen, worker_id="A")
    worker_b = build_runtime(
        settings, pg, FakeSender(), clock=clock, screen=no_screen, worker_id="B"
    )
    climbing = asyncio.create_task(worker_a.climb_escalations())
    for _ in range(300):
        if slow.waiting:
            break
        await asyncio.sleep(0.01)
    assert slow.waiting == 1  # A climbed the first and is stuck sending its alert

    clock.advance(LADDER_LEASE + timedelta(seconds=1))
    assert await worker_b.climb_escalations() == 1  # B takes over the second
    slow.gate.set()
    await climbing

    async with pg.session() as session:
        rungs = list(
            await session.execute(
                select(Notification.escalation_id, Notification.rung).order_by(Notification.id)
            )
        )
    assert sorted(rungs) == [(ladder.escalation_ids[0], 1), (ladder.escalation_ids[1], 1)]
