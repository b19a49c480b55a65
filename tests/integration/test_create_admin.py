"""``create-admin``: creates or promotes an admin with an argon2 hash of the password."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from bot.commands.admin import BadAdminInput, create_admin_account, read_password
from bot.passwords import needs_rehash, verify_password
from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import CareManager
from tests.integration.test_import_managers import SETTINGS, import_team, managers_by_email

PASSWORD = "correct horse battery staple"


async def test_creates_an_admin(db: Database, clock: ManualClock) -> None:
    result = await create_admin_account(
        db, clock, SETTINGS, email=" Root@Clinic.example ", name="Root", password=PASSWORD
    )
    assert result.created
    admin = (await managers_by_email(db))["root@clinic.example"]
    assert (admin.id, admin.role, admin.name, admin.timezone) == (
        result.manager_id, "admin", "Root", SETTINGS.default_timezone,
    )  # fmt: skip
    assert admin.password_hash is not None and admin.password_hash.startswith("$argon2id$")
    assert PASSWORD not in admin.password_hash
    assert verify_password(admin.password_hash, PASSWORD)
    assert not verify_password(admin.password_hash, "wrong password!")
    assert not needs_rehash(admin.password_hash)


async def test_promotes_an_existing_manager(db: Database, clock: ManualClock) -> None:
    await import_team(db, clock)
    before = (await managers_by_email(db))["ana.lopez@clinic.example"]
    result = await create_admin_account(
        db, clock, SETTINGS, email="ana.lopez@clinic.example", name="Ana López", password=PASSWORD
    )
    assert not result.created and result.manager_id == before.id
    after = (await managers_by_email(db))["ana.lopez@clinic.example"]
    assert (after.role, after.phone, after.backup_id) == ("admin", before.phone, before.backup_id)
    async with db.transaction() as session:
        assert len(list(await session.scalars(select(CareManager)))) == 4


@pytest.mark.parametrize(
    ("email", "name", "password", "message"),
    [
        ("nope", "N", PASSWORD, "not an e-mail address"),
        ("a@b.org", "", PASSWORD, "name is empty"),
        ("a@b.org", "N", "short", "at least 12 characters"),
    ],
)
async def test_bad_input(
    db: Database, clock: ManualClock, email: str, name: str, password: str, message: str
) -> None:
    with pytest.raises(BadAdminInput, match=message) as caught:
        await create_admin_account(db, clock, SETTINGS, email=email, name=name, password=password)
    assert "short" not in str(caught.value)  # the password is never echoed
    assert await managers_by_email(db) == {}


def test_password_from_a_pipe_is_the_first_line() -> None:
    assert read_password(io.StringIO(f"{PASSWORD}\nignored\n"), from_stdin=False) == PASSWORD
    assert read_password(io.StringIO(f"{PASSWORD}\r\n"), from_stdin=True) == PASSWORD
