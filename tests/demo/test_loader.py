"""Loading the demo panel: everything on the sandbox, idempotent, and an opt-out survives it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.demo.data import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, PATIENTS, STAFF
from bot.demo.loader import load_demo_data
from bot.passwords import verify_password
from outreach.clock import ManualClock
from outreach.errors import ConfigurationError
from outreach.programs.loader import load_programs
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import (
    CareManager,
    CheckIn,
    Consent,
    Enrollment,
    FamilyContact,
    OncallRota,
    Patient,
)
from storage.repositories.consents import ConsentRepository
from tests.conftest import FIXED_NOW

TABLES = (CareManager, Patient, Enrollment, FamilyContact, Consent, OncallRota, CheckIn)


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    await upgrade(url)
    async with Database.from_url(url) as db:
        yield db


async def counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            model.__tablename__: int(await session.scalar(select(func.count(model.id))) or 0)
            for model in TABLES
        }


async def test_load_is_idempotent_and_keeps_an_opt_out(fresh: Database, tmp_path: Path) -> None:
    settings = load_settings({"CAREBOT_VAR_DIR": str(tmp_path)}, env_file=None)
    programs = load_programs(None)
    clock = ManualClock(FIXED_NOW)
    first = await load_demo_data(fresh, clock, settings, programs, password=DEMO_PASSWORD)
    assert (first.staff_created, first.patients_created, first.rota_entries) == (5, 20, 4)
    before = await counts(fresh)
    families = sum(1 for p in PATIENTS if p.family)
    assert before["patients"] == len(PATIENTS) and before["care_managers"] == len(STAFF)
    assert before["consents"] == len(PATIENTS) + families
    assert before["checkins"] == len(PATIENTS)  # last month's, seeded

    async with fresh.transaction() as session:
        patient = await session.scalar(select(Patient).where(Patient.external_id == "P004"))
        assert patient is not None and patient.channel == "sandbox"
        admin = await session.scalar(
            select(CareManager).where(CareManager.email == DEMO_ADMIN_EMAIL)
        )
        assert admin is not None and admin.role == "admin" and admin.password_hash
        assert verify_password(admin.password_hash, DEMO_PASSWORD)
        await ConsentRepository(session).revoke_address(
            "sandbox", "sandbox:P004", "keyword", clock.advance(timedelta(minutes=1))
        )

    second = await load_demo_data(fresh, clock, settings, programs, password=DEMO_PASSWORD)
    assert (second.staff_created, second.patients_created, second.patients_existing) == (0, 0, 20)
    after = await counts(fresh)
    assert after == {**before, "consents": before["consents"] + 1}  # only the revocation
    async with fresh.session() as session:
        repo = ConsentRepository(session)
        assert not await repo.is_granted("sandbox", "sandbox:P004")
        assert await repo.is_granted("sandbox", "sandbox:P001")


async def test_refused_in_production(fresh: Database, tmp_path: Path) -> None:
    env = {"CAREBOT_VAR_DIR": str(tmp_path), "CAREBOT_ENV": "production"}
    settings = load_settings(env, env_file=None)
    with pytest.raises(ConfigurationError, match="CAREBOT_ENV=production"):
        await load_demo_data(fresh, ManualClock(FIXED_NOW), settings, load_programs(None))
    assert (await counts(fresh))["patients"] == 0
