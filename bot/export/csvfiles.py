"""CSV export: the contact log, check-ins, answers and escalations, one file each.

Rows are streamed from the database (``yield_per``) and written a partition at a time; times
are ISO 8601 in UTC (``2026-03-02T15:00:00Z``). A text cell that starts with ``=``, ``+``,
``-``, ``@``, tab or carriage return gets a leading apostrophe: patients write these texts, and a
spreadsheet would otherwise run them as formulas (CSV injection, OWASP).
"""

from __future__ import annotations

import asyncio
import csv
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import RowMapping, Select, select
from sqlalchemy.orm import aliased

from bot.export.files import output_dir
from bot.export.panel import checkin_since, escalation_since, message_since
from bot.export.resources import question_text, reason_text
from outreach.programs import Program, builtin_programs
from storage.engine import Database
from storage.models import Answer, CareManager, CheckIn, Escalation, Message, Patient

YIELD_PER = 500
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Query = Select[*tuple[Any, ...]]
Cells = Callable[[RowMapping], Sequence[Any]]


@dataclass(frozen=True, slots=True)
class Table:
    """One CSV file: its header, its query (given ``since``) and how a row becomes cells."""

    file_name: str
    columns: tuple[str, ...]
    query: Callable[[datetime | None], Query]
    cells: Cells


async def export_csv(
    db: Database,
    out_dir: Path,
    *,
    since: datetime | None = None,
    programs: Mapping[str, Program] | None = None,
) -> dict[str, int]:
    """Write ``contact_log.csv``, ``checkins.csv``, ``answers.csv`` and ``escalations.csv`` into
    ``out_dir`` (created if missing; files replaced); returns the data rows per file name.

    ``since`` (aware) keeps messages created, answers given, and check-ins and escalations
    created or changed at that time or later. ``programs`` gives the English question texts.
    """
    directory = await asyncio.to_thread(output_dir, out_dir)
    catalog = builtin_programs() if programs is None else programs
    counts: dict[str, int] = {}
    for table in tables(catalog):
        counts[table.file_name] = await _write(db, table, directory / table.file_name, since)
    return counts


async def _write(db: Database, table: Table, path: Path, since: datetime | None) -> int:
    partial = path.with_name(path.name + ".partial")
    fh: TextIO = await asyncio.to_thread(partial.open, "w", newline="", encoding="utf-8")
    try:
        writer = csv.writer(fh)
        writer.writerow(table.columns)
        count = 0
        async with db.session() as session:
            statement = table.query(since).execution_options(yield_per=YIELD_PER)
            result = await session.stream(statement)
            async for partition in result.mappings().partitions():
                rows = [[cell(value) for value in table.cells(row)] for row in partition]
                await asyncio.to_thread(writer.writerows, rows)
                count += len(rows)
    finally:
        await asyncio.to_thread(fh.close)
    os.replace(partial, path)
    return count


def cell(value: Any) -> str:
    """One CSV cell: empty for None, true/false, UTC ISO times, formula-safe text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if not isinstance(value, str):
        return str(value)  # numbers (a negative one is no formula)
    return "'" + value if value.startswith(FORMULA_START) else value


def _columns(row: RowMapping, names: Iterable[str]) -> list[Any]:
    return [row[name] for name in names]


CONTACT_LOG = (
    "message_id",
    "created_at",
    "direction",
    "channel",
    "kind",
    "status",
    "patient_external_id",
    "patient_name",
    "family_contact_id",
    "care_manager_id",
    "address",
    "body",
    "provider_id",
    "error_code",
    "sent_at",
    "delivered_at",
    "failed_at",
    "checkin_id",
    "flagged",
)


def _contact_log(since: datetime | None) -> Query:
    statement = (
        select(
            Message.id.label("message_id"),
            Message.created_at,
            Message.direction,
            Message.channel,
            Message.kind,
            Message.status,
            Patient.external_id.label("patient_external_id"),
            Patient.name.label("patient_name"),
            Message.family_contact_id,
            Message.care_manager_id,
            Message.address,
            Message.body,
            Message.provider_id,
            Message.error_code,
            Message.sent_at,
            Message.delivered_at,
            Message.failed_at,
            Message.checkin_id,
            Message.flagged,
        )
        .outerjoin(Patient, Patient.id == Message.patient_id)
        .order_by(Message.id)
    )
    return statement if since is None else statement.where(message_since(since))


CHECKINS = (
    "checkin_id",
    "patient_external_id",
    "patient_name",
    "program_id",
    "occurrence_key",
    "manual",
    "status",
    "ended_by",
    "severity",
    "scheduled_for",
    "started_at",
    "completed_at",
)


def _checkins(since: datetime | None) -> Query:
    statement = (
        select(
            CheckIn.id.label("checkin_id"),
            Patient.external_id.label("patient_external_id"),
            Patient.name.label("patient_name"),
            CheckIn.program_id,
            CheckIn.occurrence_key,
            CheckIn.manual,
            CheckIn.status,
            CheckIn.state,
            CheckIn.severity,
            CheckIn.scheduled_for,
            CheckIn.started_at,
            CheckIn.completed_at,
        )
        .join(Patient, Patient.id == CheckIn.patient_id)
        .order_by(CheckIn.id)
    )
    return statement if since is None else statement.where(checkin_since(since))


def _checkin_cells(row: RowMapping) -> list[Any]:
    ended_by = (row["state"] or {}).get("ended_by")
    return [row[name] if name != "ended_by" else ended_by for name in CHECKINS]


ANSWERS = (
    "answer_id",
    "checkin_id",
    "patient_external_id",
    "program_id",
    "question_id",
    "question_text",
    "raw_text",
    "value_num",
    "value_text",
    "unit",
    "needs_review",
    "answered_at",
)


def _answers(since: datetime | None) -> Query:
    statement = (
        select(
            Answer.id.label("answer_id"),
            Answer.checkin_id,
            Patient.external_id.label("patient_external_id"),
            CheckIn.program_id,
            Answer.question_id,
            Answer.raw_text,
            Answer.value_num,
            Answer.value_text,
            Answer.unit,
            Answer.needs_review,
            Answer.answered_at,
        )
        .join(CheckIn, CheckIn.id == Answer.checkin_id)
        .join(Patient, Patient.id == Answer.patient_id)
        .order_by(Answer.id)
    )
    return statement if since is None else statement.where(Answer.answered_at >= since)


def _answer_cells(programs: Mapping[str, Program]) -> Cells:
    def cells(row: RowMapping) -> list[Any]:
        text = question_text(programs.get(row["program_id"]), row["question_id"])
        return [row[name] if name != "question_text" else text for name in ANSWERS]

    return cells


ESCALATIONS = (
    "escalation_id",
    "patient_external_id",
    "patient_name",
    "checkin_id",
    "rule_id",
    "severity",
    "status",
    "reasons",
    "patient_words",
    "sensitive",
    "ladder_level",
    "created_at",
    "ack_deadline",
    "acked_at",
    "acked_by",
    "resolved_at",
    "resolved_by",
)


def _escalations(since: datetime | None) -> Query:
    acker, resolver = aliased(CareManager), aliased(CareManager)
    statement = (
        select(
            Escalation.id.label("escalation_id"),
            Patient.external_id.label("patient_external_id"),
            Patient.name.label("patient_name"),
            Escalation.checkin_id,
            Escalation.rule_id,
            Escalation.severity,
            Escalation.status,
            Escalation.reasons,
            Escalation.patient_words,
            Escalation.sensitive,
            Escalation.ladder_level,
            Escalation.created_at,
            Escalation.ack_deadline,
            Escalation.acked_at,
            acker.email.label("acked_by"),
            Escalation.resolved_at,
            resolver.email.label("resolved_by"),
        )
        .join(Patient, Patient.id == Escalation.patient_id)
        .outerjoin(acker, acker.id == Escalation.acked_by_id)
        .outerjoin(resolver, resolver.id == Escalation.resolved_by_id)
        .order_by(Escalation.id)
    )
    return statement if since is None else statement.where(escalation_since(since))


def _escalation_cells(row: RowMapping) -> list[Any]:
    reasons = reason_text(row["reasons"] or [])
    return [row[name] if name != "reasons" else reasons for name in ESCALATIONS]


def tables(programs: Mapping[str, Program]) -> list[Table]:
    """The four files, in the order they are written."""
    return [
        Table("contact_log.csv", CONTACT_LOG, _contact_log, lambda r: _columns(r, CONTACT_LOG)),
        Table("checkins.csv", CHECKINS, _checkins, _checkin_cells),
        Table("answers.csv", ANSWERS, _answers, _answer_cells(programs)),
        Table("escalations.csv", ESCALATIONS, _escalations, _escalation_cells),
    ]
