"""``carebot import patients``: patients, their enrolment, family contact and consents."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.importing.csvfile import read_rows
from bot.importing.patient_batch import PatientBatch
from bot.importing.patient_rows import PATIENT_COLUMNS, PatientRules, validate_patients
from bot.importing.progress import ProgressCallback
from bot.importing.report import ImportReport
from outreach.ports import Clock
from outreach.programs import Program, load_programs
from storage.engine import Database
from storage.models import CareManager, ProgramRow

log = logging.getLogger("carebot.import")

CHUNK = 500  # rows per round of queries: bounded IN lists, one flush per step


async def import_patients(
    db: Database,
    clock: Clock,
    settings: Settings,
    file: Path,
    *,
    skip_bad: bool = False,
    programs: Mapping[str, Program] | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a patients file in one transaction; see docs/import.md.

    With bad rows nothing is written unless ``skip_bad``, which imports the good rows.
    """
    rows = read_rows(file, PATIENT_COLUMNS)
    known = dict(programs) if programs is not None else load_programs(settings.programs_dir)
    report = ImportReport("patients", rows=len(rows))
    async with db.transaction() as session:
        active, inactive = await _managers(session)
        rules = PatientRules(settings.default_region, known, active, inactive)
        checked = validate_patients(rows, rules)
        report.bad = checked.bad
        if checked.bad and not (skip_bad and checked.good):
            return report
        now = clock.now()
        await ensure_programs(session, known, now)
        batch = PatientBatch(session, now, report)
        total = len(checked.good)
        for start in range(0, total, CHUNK):
            await batch.write(checked.good[start : start + CHUNK])
            if progress is not None:
                progress(min(start + CHUNK, total), total)
        report.imported = True
    log.info(
        "patients imported: created=%d updated=%d unchanged=%d opted_out=%d bad=%d",
        report.created, report.updated, report.unchanged, report.opted_out, len(report.bad),
    )  # fmt: skip
    return report


async def _managers(session: AsyncSession) -> tuple[dict[str, int], frozenset[str]]:
    """Active managers by e-mail, and the e-mails of deactivated ones."""
    statement = select(CareManager.email, CareManager.id, CareManager.active)
    rows = [
        (email.lower(), manager_id, active)
        for email, manager_id, active in await session.execute(statement)
    ]
    active = {email: manager_id for email, manager_id, is_active in rows if is_active}
    return active, frozenset(email for email, _, is_active in rows if not is_active)


async def ensure_programs(
    session: AsyncSession, programs: Mapping[str, Program], now: datetime
) -> None:
    """Insert a ``programs`` row for each loaded program the database does not know yet."""
    existing = set(await session.scalars(select(ProgramRow.id)))
    for program_id, program in programs.items():
        if program_id not in existing:
            session.add(ProgramRow(id=program_id, name=program.name.get("en"), updated_at=now))
    await session.flush()
