"""``import rota`` against SQLite and PostgreSQL: the file replaces the rota, or nothing changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.importing import ImportFileError, import_rota
from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import OncallRota
from tests.integration.test_import_managers import DATA, SETTINGS, import_team, managers_by_email


async def rota(db: Database) -> list[tuple[str, str, str, str, str, str]]:
    team = {m.id: email for email, m in (await managers_by_email(db)).items()}
    async with db.transaction() as session:
        rows = await session.scalars(select(OncallRota).order_by(OncallRota.id))
        return [(team[r.care_manager_id], r.days, r.start, r.end, r.timezone, r.rung) for r in rows]


async def test_good_rota_replaces_the_old_one(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    await import_team(db, clock)
    report = await import_rota(db, clock, SETTINGS, DATA / "rota.csv")
    assert report.imported and (report.created, report.removed) == (5, 0)
    entries = await rota(db)
    assert entries[1] == (
        "ben.okafor@clinic.example",
        "mon-fri",
        "17:00",
        "08:00",
        "America/New_York",
        "oncall",
    )
    assert entries[3][4] == SETTINGS.default_timezone  # empty timezone column
    assert entries[4][1] == "2026-12-25"

    path = tmp_path / "rota.csv"
    path.write_text(
        "email,days,start,end,timezone,rung\ncara.singh@clinic.example,Sat;Sun,9:00,17:00,UTC,supervisor\n"
    )
    again = await import_rota(db, clock, SETTINGS, path)
    assert again.summary() == "rota: 1 entries imported, replacing 5; 0 bad"
    assert await rota(db) == [
        ("cara.singh@clinic.example", "sat;sun", "09:00", "17:00", "UTC", "supervisor")
    ]


async def test_bad_rota_leaves_the_old_one(db: Database, clock: ManualClock) -> None:
    await import_team(db, clock)
    await import_rota(db, clock, SETTINGS, DATA / "rota.csv")
    report = await import_rota(db, clock, SETTINGS, DATA / "rota_bad.csv")
    assert not report.imported and [bad.line for bad in report.bad] == [3, 4, 5]
    assert len(await rota(db)) == 5
    skipped = await import_rota(db, clock, SETTINGS, DATA / "rota_bad.csv", skip_bad=True)
    assert skipped.imported and (skipped.created, skipped.removed, len(skipped.bad)) == (1, 5, 3)
    assert [entry[0] for entry in await rota(db)] == ["ana.lopez@clinic.example"]


async def test_an_empty_rota_file_is_refused(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    await import_team(db, clock)
    await import_rota(db, clock, SETTINGS, DATA / "rota.csv")
    path = tmp_path / "rota.csv"
    path.write_text("email,days,start,end,timezone,rung\n")
    with pytest.raises(ImportFileError, match="no rota entries"):
        await import_rota(db, clock, SETTINGS, path)
    assert len(await rota(db)) == 5
