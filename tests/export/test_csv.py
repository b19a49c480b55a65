"""CSV export on both engines: the header contract, one row per record, UTC times, ``since``."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.export import export_csv
from bot.export.csvfiles import cell
from storage.models import Answer, Message
from tests.conftest import FIXED_NOW
from tests.export.conftest import Panel
from tests.export.scenario import ANA_ANSWERS, BEN_ANSWERS, BEN_REPLY_DAY

HEADERS = {
    "contact_log.csv": "message_id,created_at,direction,channel,kind,status,patient_external_id,"
    "patient_name,family_contact_id,care_manager_id,address,body,provider_id,error_code,sent_at,"
    "delivered_at,failed_at,checkin_id,flagged",
    "checkins.csv": "checkin_id,patient_external_id,patient_name,program_id,occurrence_key,manual,"
    "status,ended_by,severity,scheduled_for,started_at,completed_at",
    "answers.csv": "answer_id,checkin_id,patient_external_id,program_id,question_id,question_text,"
    "raw_text,value_num,value_text,unit,needs_review,answered_at",
    "escalations.csv": "escalation_id,patient_external_id,patient_name,checkin_id,rule_id,severity,"
    "status,reasons,patient_words,sensitive,ladder_level,created_at,ack_deadline,acked_at,"
    "acked_by,resolved_at,resolved_by",
}


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def utc(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_files_headers_and_rows(panel: Panel, tmp_path: Path) -> None:
    counts = await export_csv(panel.db, tmp_path / "csv")
    async with panel.db.session() as session:
        messages = await session.scalar(select(func.count()).select_from(Message))
        answers = await session.scalar(select(func.count()).select_from(Answer))
    assert counts == {
        "contact_log.csv": messages,
        "checkins.csv": 2,
        "answers.csv": answers,
        "escalations.csv": 1,
    }
    assert answers == len(ANA_ANSWERS) + len(BEN_ANSWERS)
    tables = {}
    for name, header in HEADERS.items():
        columns, rows = read(tmp_path / "csv" / name)
        assert ",".join(columns) == header
        assert len(rows) == counts[name]
        tables[name] = rows
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(HEADERS)

    poor = next(r for r in tables["contact_log.csv"] if r["body"] == "poor")
    assert (poor["patient_external_id"], poor["patient_name"]) == ("P1", "Ana Lopez")
    assert (poor["direction"], poor["status"], poor["flagged"]) == ("in", "received", "false")
    assert utc(poor["created_at"]) == panel.ana.messages[0].created_at + timedelta(minutes=1)
    assert poor["address"] == "tel:+15555550101"

    by_patient = {r["patient_external_id"]: r for r in tables["checkins.csv"]}
    assert (by_patient["P1"]["status"], by_patient["P1"]["ended_by"]) == ("completed", "answers")
    assert (by_patient["P2"]["status"], by_patient["P2"]["completed_at"]) == ("in_progress", "")
    utc(by_patient["P1"]["completed_at"])

    pain = next(r for r in tables["answers.csv"] if r["question_id"] == "pain")
    assert pain["question_text"].startswith("From 0 (no pain) to 10")
    assert (pain["raw_text"], pain["value_num"], pain["needs_review"]) == ("2", "2.0", "false")
    weight = next(r for r in tables["answers.csv"] if r["question_id"] == "weight")
    assert (weight["value_num"], weight["unit"]) == ("182.0", "lb")

    (escalation,) = tables["escalations.csv"]
    assert escalation["rule_id"] == "general_health.poor"
    assert escalation["reasons"] == "Rates their general health as poor."
    assert (escalation["status"], escalation["acked_by"], escalation["acked_at"]) == (
        "open",
        "",
        "",
    )


async def test_since_keeps_only_newer_rows(panel: Panel, tmp_path: Path) -> None:
    # Midnight UTC of the day Ben replied: Ana's whole check-in was two days before.
    day = (FIXED_NOW + BEN_REPLY_DAY).date()
    since = datetime(day.year, day.month, day.day, tzinfo=UTC)
    counts = await export_csv(panel.db, tmp_path, since=since)
    newer = [m for m in panel.ana.messages + panel.ben.messages if m.created_at >= since]
    assert counts == {
        "contact_log.csv": len(newer),
        "checkins.csv": 1,
        "answers.csv": len(BEN_ANSWERS),
        "escalations.csv": 0,
    }
    _, checkins = read(tmp_path / "checkins.csv")
    assert [r["patient_external_id"] for r in checkins] == ["P2"]
    _, log = read(tmp_path / "contact_log.csv")
    assert all(utc(r["created_at"]) >= since for r in log)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (2.5, "2.5"),
        (-3.0, "-3.0"),
        (datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=-5))), "2026-03-02T15:00:00Z"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 555", "'+1 555"),
        ("@home", "'@home"),
        ("fine, thanks", "fine, thanks"),
    ],
)
def test_cells(value: object, text: str) -> None:
    assert cell(value) == text
