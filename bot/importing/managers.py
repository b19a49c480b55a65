"""``carebot import managers``: care managers, supervisors and admins, with their backups."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from bot.importing.csvfile import read_rows
from bot.importing.progress import ProgressCallback
from bot.importing.report import ImportReport
from bot.importing.rows import MANAGER_COLUMNS, ManagerRow, validate_managers
from outreach.ports import Clock
from storage.engine import Database
from storage.models import CareManager
from storage.repositories.managers import ManagerRepository

log = logging.getLogger("carebot.import")


async def import_managers(
    db: Database,
    clock: Clock,
    settings: Settings,
    file: Path,
    *,
    skip_bad: bool = False,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a managers file in one transaction, creating or updating by e-mail; see
    docs/import.md. Passwords, linked Telegram chats and ``active`` are never touched."""
    rows = read_rows(file, MANAGER_COLUMNS)
    report = ImportReport("managers", rows=len(rows))
    async with db.transaction() as session:
        repo = ManagerRepository(session)
        existing = {m.email.lower(): m for m in await repo.list_all(active=False)}
        checked = validate_managers(
            rows, settings.default_region, settings.default_timezone, existing
        )
        report.bad = checked.bad
        if checked.bad and not (skip_bad and checked.good):
            return report
        outcomes = await _apply(repo, checked.good, existing, clock.now())
        counts = Counter(outcomes.values())
        report.created, report.updated = counts["created"], counts["updated"]
        report.unchanged = counts["unchanged"]
        if progress is not None:
            progress(len(checked.good), len(checked.good))
        report.imported = True
    log.info(
        "managers imported: created=%d updated=%d unchanged=%d bad=%d",
        report.created, report.updated, report.unchanged, len(report.bad),
    )  # fmt: skip
    return report


async def _apply(
    repo: ManagerRepository,
    rows: Sequence[ManagerRow],
    existing: dict[str, CareManager],
    now: datetime,
) -> dict[str, str]:
    """Upsert every row, then set backups (a backup may be on a later row): email → outcome."""
    outcomes: dict[str, str] = {}
    for row in rows:
        manager = existing.get(row.email)
        fields = (row.name, row.phone, row.role, row.timezone)
        if manager is not None and (
            manager.name,
            manager.phone,
            manager.role,
            manager.timezone,
        ) == (fields):
            outcomes[row.email] = "unchanged"
            continue
        manager, created = await repo.upsert_by_email(
            row.email, name=row.name, phone=row.phone, role=row.role, timezone=row.timezone, at=now
        )
        existing[row.email] = manager
        outcomes[row.email] = "created" if created else "updated"
        log.info("manager %d %s by import", manager.id, outcomes[row.email])
    for row in rows:
        manager = existing[row.email]
        backup_id = existing[row.backup].id if row.backup else None
        if manager.backup_id != backup_id:
            await repo.set_backup(manager.id, backup_id)
            if outcomes[row.email] == "unchanged":
                outcomes[row.email] = "updated"
    return outcomes
