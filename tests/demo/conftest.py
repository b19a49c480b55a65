"""One shortened demo month, run once through the real ``carebot demo`` command and shared.

The commands run their own event loops (``bot.cli.run``), so the fixtures and the tests that
invoke them are synchronous.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.demo.data import PATIENTS, STAFF
from bot.demo.simulation import DEMO_START
from bot.demo.summary import DemoSummary, summarize
from storage.engine import Database
from tests.privacy_plugin import remember

DAYS = 10


@dataclass(frozen=True)
class DemoRun:
    url: str
    result: Result
    summary: DemoSummary


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    base = {"PROGRAMS_DIR": "", "CAREBOT_ENV": "development", "DATABASE_URL": ""}
    return CliRunner().invoke(app, list(args), env={**base, **(env or {})})


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    # The demo's people are made up, but the rule holds for them too: logs carry ids only.
    remember(*(p.name for p in PATIENTS), *(s.phone for s in STAFF), *(s.name for s in STAFF))
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite+aiosqlite:///{folder / 'demo.db'}"
    result = invoke(
        "demo", "--days", str(DAYS), "--database-url", url, env={"CAREBOT_VAR_DIR": str(folder)}
    )
    assert result.exit_code == 0, result.output
    return DemoRun(url, result, asyncio.run(_summary(url)))


async def _summary(url: str) -> DemoSummary:
    end = DEMO_START + timedelta(days=DAYS)
    async with Database.from_url(url) as db:
        return await summarize(db, DEMO_START, end, days=DAYS, patients=len(PATIENTS), wall=0)


@pytest.fixture
def var_dir(tmp_path: Path) -> dict[str, str]:
    return {"CAREBOT_VAR_DIR": str(tmp_path)}
