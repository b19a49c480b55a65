"""``carebot export fhir|csv`` end to end: typer's runner on a migrated SQLite file.

Synchronous on purpose: each command runs its own event loop (``bot.cli.run``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select
from typer.testing import CliRunner, Result

from bot.cli import app
from outreach.clock import ManualClock
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import AuditLog
from tests.conftest import FIXED_NOW
from tests.export.scenario import build


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file holding the two-patient scenario (the commands only read it)."""
    directory = tmp_path_factory.mktemp("export-cli")
    url = f"sqlite+aiosqlite:///{directory / 'carebot.db'}"

    async def prepare() -> None:
        await upgrade(url)
        async with Database.from_url(url) as db:
            await build(db, ManualClock(FIXED_NOW), directory)

    asyncio.run(prepare())
    return url


def invoke(url: str, tmp_path: Path, *args: str) -> Result:
    env = {
        "DATABASE_URL": url,
        "PROGRAMS_DIR": "",
        "CAREBOT_VAR_DIR": str(tmp_path),
        "PUBLIC_BASE_URL": "https://care.example.org/",
    }
    return CliRunner().invoke(app, ["export", *args], env=env)


def audit(url: str) -> list[tuple[str, str, dict[str, object]]]:
    async def go() -> list[tuple[str, str, dict[str, object]]]:
        async with Database.from_url(url) as db, db.session() as session:
            rows = await session.scalars(select(AuditLog).order_by(AuditLog.id))
            return [(r.action, r.entity_type, r.detail) for r in rows]

    return asyncio.run(go())


def test_fhir_directory_single_file_and_errors(database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "fhir"
    result = invoke(database_url, tmp_path, "fhir", str(out))
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip()
    assert summary.startswith("fhir: 2 patients, 2 check-ins (QuestionnaireResponse), ")
    assert summary.endswith(" messages (Communication), 1 escalations (Flag)")
    assert sorted(p.name for p in out.iterdir()) == ["P1.json", "P2.json"]
    bundle = Bundle.model_validate(json.loads((out / "P2.json").read_text(encoding="utf-8")))
    assert bundle.entry[0].fullUrl.startswith("https://care.example.org/fhir/Patient/cb-pat-")

    single = tmp_path / "ana.json"
    result = invoke(database_url, tmp_path, "fhir", "--patient", "P1", str(single))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("fhir: 1 patients, 1 check-ins")
    assert json.loads(single.read_text())["entry"][0]["resource"]["name"][0]["text"] == "Ana Lopez"

    unknown = invoke(database_url, tmp_path, "fhir", "--patient", "NOPE", str(out))
    assert unknown.exit_code == 1
    assert unknown.stderr.splitlines() == ["carebot: patient NOPE not found"]
    assert unknown.stdout == ""

    no_patient = invoke(database_url, tmp_path, "fhir", str(tmp_path / "all.json"))
    assert no_patient.exit_code == 1
    assert len(no_patient.stderr.splitlines()) == 1
    assert "give --patient" in no_patient.stderr

    actions = [(action, kind) for action, kind, _ in audit(database_url)]
    assert actions == [("export.fhir", "panel"), ("export.fhir", "patient")]


def test_csv_with_since(database_url: str, tmp_path: Path) -> None:
    result = invoke(database_url, tmp_path, "csv", str(tmp_path / "csv"), "--since", "2026-03-04")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "contact_log.csv",
        "checkins.csv",
        "answers.csv",
        "escalations.csv",
    ]
    assert lines[1:] == ["checkins.csv: 1 rows", "answers.csv: 2 rows", "escalations.csv: 0 rows"]
    *_, (action, kind, detail) = audit(database_url)
    assert (action, kind, detail["since"], detail["answers.csv"]) == (
        "export.csv",
        "panel",
        "2026-03-04",
        2,
    )

    bad = invoke(database_url, tmp_path, "csv", str(tmp_path / "csv"), "--since", "04/03/2026")
    assert bad.exit_code == 2
    assert "--since" in bad.stderr

    taken = tmp_path / "taken"
    taken.write_text("not a directory")
    blocked = invoke(database_url, tmp_path, "csv", str(taken))
    assert blocked.exit_code == 1
    assert blocked.stderr.splitlines() == [f"carebot: {taken} exists and is not a directory"]
