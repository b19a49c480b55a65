"""Shared set-up of the reliability tests: carebot settings for child processes, a scratch
PostgreSQL database, waiting with deadlines, and the figures summary at the end of the run."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from storage.engine import Database
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, BOT_TOKEN, FROM_NUMBER
from tests.reliability.figures import recorded, write_report

T = TypeVar("T")
TELEGRAM_SECRET = "reliability-telegram-secret_0123456789"


def carebot_env(
    database_url: str,
    var_dir: Path,
    *,
    twilio: str,
    telegram: str | None = None,
    public_url: str = "http://127.0.0.1:9",
    twilio_mps: float = 100,
    workers: int = 1,
    **extra: str,
) -> dict[str, str]:
    """Settings of a carebot process in these tests: fast ticks (SPEC §4 allows ~1 s for the
    outbox and escalations; check-ins and dispatch run faster here so a run takes seconds)."""
    env = {
        "DATABASE_URL": database_url,
        "CAREBOT_VAR_DIR": str(var_dir),
        "SECRET_KEY": "reliability-secret-key-not-for-production",
        "PUBLIC_BASE_URL": public_url,
        "LOG_LEVEL": "INFO",
        "SANDBOX": "off",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": twilio,
        "TWILIO_MPS": f"{twilio_mps:g}",
        "WORKER_COUNT": str(workers),
        "CARE_TEAM_NAME": "Riverside Care",
        "CARE_TEAM_PHONE": "+1 202 555 0100",
        "DEFAULT_REGION": "US",
        "DISPATCH_EVERY_SECONDS": "0.5",
        "CHECKINS_EVERY_SECONDS": "0.5",
        "OUTBOX_EVERY_SECONDS": "0.25",
        "ESCALATIONS_EVERY_SECONDS": "0.25",
        "INBOX_EVERY_SECONDS": "0.5",
    }
    if telegram is not None:
        env |= {
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_API_BASE_URL": telegram,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        }
    env.update(extra)
    return env


async def eventually(
    probe: Callable[[], Awaitable[T]], what: str, seconds: float, every: float = 0.5
) -> T:
    """Poll ``probe`` until truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        await asyncio.sleep(every)


@pytest.fixture
def pg(postgres_db: Database) -> Database:
    """The session's migrated PostgreSQL scratch database, emptied after each test."""
    return postgres_db


@pytest.fixture
def pg_url(pg: Database) -> str:
    """Its URL, for carebot processes (the password included; never logged)."""
    return pg.url


_PHONE = re.compile(r"\+1555\d{7}")
_NAME = re.compile(r"(Wave|Ladder|Outage|Dbcut)patient")


def personal_data_in_logs(log_dir: Path) -> list[str]:
    """Lines of the child processes' logs that carry a seeded phone number or name (SPEC §11:
    the privacy plugin checks this process's logs; the workers log to files)."""
    found = []
    for path in sorted(log_dir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if _PHONE.search(line) or _NAME.search(line):
                found.append(f"{path.name}: {line[:200]}")
    return found


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    figures = recorded()
    if not figures:
        return
    terminalreporter.section("reliability figures")
    for test, values in sorted(figures.items()):
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        terminalreporter.write_line(f"{test}: {shown}")
    path = write_report()
    if path is not None:
        terminalreporter.write_line(f"written to {path}")
