"""``carebot export fhir|csv``: the care team's data exports (docs/export.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from bot.cli import run, settings
from bot.config import Settings
from bot.export import ExportError, FhirCounts, export_csv, write_fhir
from outreach.clock import SystemClock
from outreach.errors import CarebotError
from outreach.programs import load_programs
from storage.engine import Database
from storage.migrate import check_schema
from storage.repositories.audit import AuditRepository
from storage.repositories.patients import PatientRepository

export_app = typer.Typer(
    help="Export patient data for the care team: FHIR R4B bundles or CSV files.",
    no_args_is_help=True,
)

_SINCE = typer.Option(
    None,
    "--since",
    formats=["%Y-%m-%d"],
    help="Only records from this day on (YYYY-MM-DD, from 00:00 UTC).",
)


@export_app.command("fhir")
def export_fhir(
    out: Path = typer.Argument(
        ..., help="A directory (one <external id>.json per patient), or FILE.json with --patient."
    ),
    patient: str | None = typer.Option(None, "--patient", help="Only this patient (external id)."),
    since: datetime | None = _SINCE,
) -> None:
    """Write FHIR R4B collection Bundles: Patient, QuestionnaireResponse, Communication, Flag."""
    config = settings()
    counts = run(_fhir(config, out, patient, _utc(since)))
    typer.echo(counts.summary())


@export_app.command("csv")
def export_csv_files(
    out_dir: Path = typer.Argument(..., help="The directory to write the four CSV files into."),
    since: datetime | None = _SINCE,
) -> None:
    """Write contact_log.csv, checkins.csv, answers.csv and escalations.csv (times in UTC)."""
    config = settings()
    counts = run(_csv(config, out_dir, _utc(since)))
    for name, rows in counts.items():
        typer.echo(f"{name}: {rows} rows")


def _utc(day: datetime | None) -> datetime | None:
    """The --since day as 00:00 UTC (typer parses it naive)."""
    return None if day is None else day.replace(tzinfo=UTC)


def _reader(config: Settings) -> Database:
    """A read-mostly engine: on SQLite its transactions begin DEFERRED, so a long export reads
    a WAL snapshot without taking the write lock the server and scheduler need."""
    return Database.from_url(config.db_url, sqlite_begin="DEFERRED")


@contextmanager
def _writing(out: Path) -> Iterator[None]:
    """A file-system error (no permission, disk full) as one clear line, not a traceback."""
    try:
        yield
    except CarebotError:
        raise  # DatabaseUnavailable is an OSError too, with its own message
    except OSError as exc:
        raise ExportError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from exc


async def _fhir(
    config: Settings, out: Path, patient: str | None, since: datetime | None
) -> FhirCounts:
    async with _reader(config) as db:
        await check_schema(db.engine)
        with _writing(out):
            counts = await write_fhir(
                db,
                out,
                patient_external_id=patient,
                since=since,
                programs=load_programs(config.programs_dir),
                base_url=f"{config.public_base_url}/fhir",
            )
        detail = {
            "patients": counts.bundles,
            "questionnaire_responses": counts.questionnaire_responses,
            "communications": counts.communications,
            "flags": counts.flags,
        }
        await _audit(db, "export.fhir", since, detail, patient)
    return counts


async def _csv(config: Settings, out_dir: Path, since: datetime | None) -> dict[str, int]:
    async with _reader(config) as db:
        await check_schema(db.engine)
        with _writing(out_dir):
            programs = load_programs(config.programs_dir)
            counts = await export_csv(db, out_dir, since=since, programs=programs)
        await _audit(db, "export.csv", since, dict(counts), None)
    return counts


async def _audit(
    db: Database,
    action: str,
    since: datetime | None,
    detail: dict[str, Any],
    external_id: str | None,
) -> None:
    """One audit row per export (who read the panel: the command line), counts only."""
    patient_id = None
    if external_id is not None:
        async with db.session() as session:
            patient = await PatientRepository(session).by_external_id(external_id)
            patient_id = patient.id if patient is not None else None
    # A write first: a DEFERRED transaction that read first could not wait for the write lock.
    async with db.transaction() as session:
        await AuditRepository(session).record(
            at=SystemClock().now(),
            actor_type="cli",
            action=action,
            entity_type="panel" if external_id is None else "patient",
            entity_id=external_id,
            patient_id=patient_id,
            detail={**detail, "since": since.date().isoformat() if since else None},
        )
