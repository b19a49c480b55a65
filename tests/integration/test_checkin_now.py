"""`carebot checkin now`: a manual occurrence at once (SPEC §4, §14)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from outreach.clock import ManualClock
from outreach.errors import CheckInInProgress, Conflict, ConsentMissing, PatientNotFound
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import CheckIn, Enrollment
from tests.integration.support import enrol, make_host

ADDRESS = "tel:+15555550101"


async def checkins(db: Database) -> list[CheckIn]:
    async with db.session() as session:
        return list(await session.scalars(select(CheckIn).order_by(CheckIn.id)))


async def test_starts_at_once_even_before_the_contact_window(
    db: Database, clock: ManualClock, tmp_path: Path
):
    clock.set(datetime(2026, 3, 2, 13, 30, tzinfo=UTC))  # 08:30 in New York: window opens 09:00
    host = make_host(db, clock, tmp_path)
    patient = await enrol(host, due=clock.now() + timedelta(days=20))
    applied = await host.runtime.checkins.start_now("P1", restart=False, force=False)
    await host.runtime.after_commit(applied)
    assert len(host.sender.sent) == 1 and host.sender.sent[0].address == ADDRESS
    (checkin,) = await checkins(db)
    assert checkin.manual and checkin.status == "in_progress"
    async with db.session() as session:
        enrollment = await session.scalar(
            select(Enrollment).where(Enrollment.patient_id == patient.id)
        )
    assert enrollment is not None and enrollment.next_due_at == clock.now() + timedelta(days=20)


async def test_refuses_while_one_is_in_progress_and_restart_replaces_it(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host = make_host(db, clock, tmp_path)
    await enrol(host)
    await host.tick()  # the scheduled one is in progress
    with pytest.raises(CheckInInProgress, match="--restart"):
        await host.runtime.checkins.start_now("P1", restart=False, force=False)
    clock.advance(timedelta(minutes=1))
    await host.runtime.checkins.start_now("P1", restart=True, force=False)
    statuses = [c.status for c in await checkins(db)]
    assert statuses == ["cancelled", "in_progress"]


async def test_a_completed_checkin_today_does_not_prevent_a_new_one(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host = make_host(db, clock, tmp_path)
    await enrol(host)
    await host.tick()
    for answer in ["good", "2", "0", "no", "no", "no", "no", "no"]:
        await host.reply(ADDRESS, answer)
    clock.advance(timedelta(minutes=5))
    await host.runtime.checkins.start_now("P1", restart=False, force=False)
    assert [c.status for c in await checkins(db)] == ["completed", "in_progress"]


async def test_outside_legal_hours_only_with_force(
    db: Database, clock: ManualClock, tmp_path: Path
):
    clock.set(datetime(2026, 3, 3, 3, 0, tzinfo=UTC))  # 22:00 in New York
    host = make_host(db, clock, tmp_path)
    await enrol(host, due=clock.now() + timedelta(days=20))
    with pytest.raises(Conflict, match="08:00-21:00"):
        await host.runtime.checkins.start_now("P1", restart=False, force=False)
    await host.runtime.checkins.start_now("P1", restart=False, force=True)
    assert [c.status for c in await checkins(db)] == ["in_progress"]


async def test_unknown_patient_and_no_consent(db: Database, clock: ManualClock, tmp_path: Path):
    host = make_host(db, clock, tmp_path)
    with pytest.raises(PatientNotFound):
        await host.runtime.checkins.start_now("NOPE", restart=False, force=False)
    await enrol(host)
    await host.tick()
    await host.reply(ADDRESS, "STOP")
    with pytest.raises(ConsentMissing):
        await host.runtime.checkins.start_now("P1", restart=True, force=False)


def test_the_command_exits_non_zero_with_one_line(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    asyncio.run(upgrade(url))
    runner = CliRunner()
    env = {"DATABASE_URL": url, "CAREBOT_VAR_DIR": str(tmp_path)}
    result = runner.invoke(app, ["checkin", "now", "NOPE"], env=env)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["carebot: no patient with external id 'NOPE'"]
