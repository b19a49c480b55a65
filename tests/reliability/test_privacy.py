"""Privacy of failures (SPEC §11): when handling a message fails, the logged traceback carries
ids, never the message body or the sender's phone number. (The suite-wide privacy plugin checks
every log line of the run; this test makes sure a real failure with a real traceback happens.)

The failure is the database refusing the write, as it does on a deadlock, a serialization
failure or a dropped connection: a trigger added to the scratch database for the test's
duration. SQLAlchemy puts the statement's parameters in such an error's text unless the engine
hides them: here that would be the body and the address.

Not covered (see docs/reliability.md): PostgreSQL's own DETAIL of a CHECK or NOT NULL violation
quotes the failing row, and asyncpg puts it in the error text.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import ProcessedWebhook
from tests.conftest import FIXED_NOW
from tests.fakes import FakeTelegram, FakeTwilio
from tests.privacy_plugin import remember
from tests.reliability.inproc import InProcess, in_process
from tests.reliability.seed import seed_wave

pytestmark = pytest.mark.postgres
SECRET_WORDS = "my husband left and I stopped my insulin"
MARKER = "REJECT-ME"


@pytest.fixture
async def refusing_db(pg: Database) -> AsyncIterator[Database]:
    """The database refuses any message whose body carries MARKER."""
    async with pg.transaction() as session:
        await session.execute(
            text(
                "CREATE FUNCTION reliability_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF position('{MARKER}' in NEW.body) > 0 THEN "
                "RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; "
                "END IF; RETURN NEW; END $$"
            )
        )
        await session.execute(
            text(
                "CREATE TRIGGER reliability_refuse BEFORE INSERT ON messages "
                "FOR EACH ROW EXECUTE FUNCTION reliability_refuse()"
            )
        )
    try:
        yield pg
    finally:
        async with pg.transaction() as session:
            await session.execute(text("DROP TRIGGER reliability_refuse ON messages"))
            await session.execute(text("DROP FUNCTION reliability_refuse()"))


@pytest.fixture
async def bot(refusing_db: Database, pg_url: str, tmp_path: Path) -> AsyncIterator[InProcess]:
    clock = ManualClock(FIXED_NOW)
    with FakeTwilio() as twilio, FakeTelegram() as telegram:
        await seed_wave(refusing_db, clock.now(), 1)
        async with in_process(pg_url, tmp_path, clock, twilio, telegram) as carebot:
            await carebot.ticks.run_once()
            yield carebot


def rendered(records: list[logging.LogRecord]) -> str:
    """Every record as a handler would write it, tracebacks and chained causes included."""
    lines = []
    for record in records:
        lines.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            lines.extend(traceback.format_exception(record.exc_info[1]))
    return "\n".join(lines)


async def test_a_failure_while_handling_a_message_logs_no_body_and_no_phone(
    bot: InProcess, pg: Database, caplog: pytest.LogCaptureFixture
) -> None:
    phone = "+15550000000"  # the seeded patient's number (tests/reliability/seed.py)
    body = f"{SECRET_WORDS} {MARKER}"
    remember(SECRET_WORDS, phone)
    caplog.set_level(logging.DEBUG)

    response = await bot.reply(phone, body, "SM" + "d" * 32)
    await bot.settle()

    assert response.status_code == 200  # stored and acknowledged before processing
    async with pg.session() as session:
        row = await session.scalar(select(ProcessedWebhook))
    assert row is not None and row.processed_at is None  # the handling failed ...
    failures = [r for r in caplog.records if r.exc_info]
    assert failures, "the failure was not logged with its traceback"
    logged = rendered(caplog.records)
    assert "could not serialize access" in logged  # ... and was logged with its error
    assert SECRET_WORDS not in logged
    assert phone not in logged
    assert "Wavepatient" not in logged
