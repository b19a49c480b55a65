"""``carebot import rota``: the on-call rota, replaced as a whole by the file."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import func, select

from bot.config import Settings
from bot.importing.csvfile import ImportFileError, read_rows
from bot.importing.progress import ProgressCallback
from bot.importing.report import ImportReport
from bot.importing.rows import ROTA_COLUMNS, validate_rota
from outreach.ports import Clock
from storage.engine import Database
from storage.models import CareManager, OncallRota
from storage.repositories.rota import RotaEntry, RotaRepository

log = logging.getLogger("carebot.import")


async def import_rota(
    db: Database,
    clock: Clock,
    settings: Settings,
    file: Path,
    *,
    skip_bad: bool = False,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Replace the on-call rota with the file's entries in one transaction; see docs/import.md.

    A file without entries is refused (an empty rota would leave nights and weekends with
    nobody on call).
    """
    rows = read_rows(file, ROTA_COLUMNS)
    if not rows:
        raise ImportFileError(f"{file.name}: no rota entries; the rota was left as it is")
    report = ImportReport("rota", rows=len(rows))
    async with db.transaction() as session:
        statement = select(CareManager.email, CareManager.id, CareManager.active)
        managers = {
            email.lower(): (manager_id, active)
            for email, manager_id, active in await session.execute(statement)
        }
        checked = validate_rota(rows, settings.default_timezone, managers)
        report.bad = checked.bad
        if checked.bad and not (skip_bad and checked.good):
            return report
        report.removed = int(await session.scalar(select(func.count(OncallRota.id))) or 0)
        entries = [
            RotaEntry(r.care_manager_id, r.days, r.start, r.end, r.timezone, r.rung)
            for r in checked.good
        ]
        await RotaRepository(session).replace_all(entries, at=clock.now())
        report.created = len(entries)
        if progress is not None:
            progress(len(entries), len(entries))
        report.imported = True
    log.info(
        "rota imported: entries=%d replaced=%d bad=%d",
        report.created,
        report.removed,
        len(report.bad),
    )
    return report
