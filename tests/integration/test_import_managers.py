"""``import managers`` against SQLite and PostgreSQL: create, update, forward backups, bad rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.config import Settings, load_settings
from bot.importing import ImportReport, import_managers
from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import CareManager

DATA = Path(__file__).parent.parent / "data" / "import"
SETTINGS: Settings = load_settings({}, env_file=None)


async def import_team(db: Database, clock: ManualClock) -> ImportReport:
    """The managers of ``managers.csv`` (the patient and rota tests start from them)."""
    report = await import_managers(db, clock, SETTINGS, DATA / "managers.csv")
    assert report.imported and report.bad == []
    return report


async def managers_by_email(db: Database) -> dict[str, CareManager]:
    async with db.transaction() as session:
        return {m.email: m for m in await session.scalars(select(CareManager))}


async def count(db: Database, model: type) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_managers_with_a_forward_backup(db: Database, clock: ManualClock) -> None:
    report = await import_team(db, clock)
    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    team = await managers_by_email(db)
    ana, ben = team["ana.lopez@clinic.example"], team["ben.okafor@clinic.example"]
    assert ana.backup_id == ben.id and ben.backup_id == ana.id  # ben is on a later line
    assert ana.phone == "+12025550101" and ben.timezone == "America/Chicago"
    assert team["dev.patel@clinic.example"].role == "admin"
    assert team["dev.patel@clinic.example"].timezone == SETTINGS.default_timezone
    assert ana.created_at == clock.now()


async def test_reimport_updates_in_place(db: Database, clock: ManualClock, tmp_path: Path) -> None:
    await import_team(db, clock)
    again = await import_managers(db, clock, SETTINGS, DATA / "managers.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    changed = tmp_path / "managers.csv"
    text = (DATA / "managers.csv").read_text()
    changed.write_text(
        text.replace("Cara Singh,,supervisor,,", "Cara Singh,,admin,ana.lopez@clinic.example,")
    )
    clock.advance(timedelta(days=1))
    report = await import_managers(db, clock, SETTINGS, changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 3)
    assert await count(db, CareManager) == 4
    team = await managers_by_email(db)
    cara = team["cara.singh@clinic.example"]
    assert (cara.role, cara.backup_id) == ("admin", team["ana.lopez@clinic.example"].id)


async def test_bad_rows_import_nothing_and_skip_bad_imports_the_rest(
    db: Database, clock: ManualClock
) -> None:
    report = await import_managers(db, clock, SETTINGS, DATA / "managers_bad.csv")
    assert not report.imported and report.exit_code == 1
    assert [bad.line for bad in report.bad] == [2, 3, 4, 5, 6, 7, 8]
    assert await count(db, CareManager) == 0
    skipped = await import_managers(db, clock, SETTINGS, DATA / "managers_bad.csv", skip_bad=True)
    assert not skipped.imported  # no good row at all: still nothing, still exit 1
    assert await count(db, CareManager) == 0


async def test_skip_bad_with_good_rows(db: Database, clock: ManualClock, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "email,name,phone,role,backup,timezone\n"
        "a@x.org,A,,care_manager,b@x.org,\n"
        "b@x.org,B,,boss,,\n"
        "c@x.org,C,,supervisor,,UTC\n"
    )
    report = await import_managers(db, clock, SETTINGS, path, skip_bad=True)
    assert report.imported and report.exit_code == 0
    assert [(bad.line, bad.reasons) for bad in report.bad] == [
        (2, ("backup 'b@x.org' is on bad line 3",)),
        (3, ("role 'boss' must be one of care_manager, supervisor, admin",)),
    ]
    assert list(await managers_by_email(db)) == ["c@x.org"]
    assert report.summary() == (
        "managers: 1 created, 0 updated, 0 unchanged, 0 opted out (left unchanged), 2 bad"
    )


async def test_backup_may_name_a_manager_already_in_the_database(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    await import_team(db, clock)
    path = tmp_path / "m.csv"
    path.write_text(
        "email,name,phone,role,backup,timezone\nzed@x.org,Zed,,care_manager,CARA.SINGH@clinic.example,\n"
    )
    report = await import_managers(db, clock, SETTINGS, path)
    assert report.created == 1
    team = await managers_by_email(db)
    assert team["zed@x.org"].backup_id == team["cara.singh@clinic.example"].id
