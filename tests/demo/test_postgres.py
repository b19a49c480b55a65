"""The demo month on PostgreSQL: the same queries, the same figures as on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.demo.simulation import simulate_month
from storage.engine import Database
from storage.migrate import upgrade
from tests.conftest import postgres_url_or_skip
from tests.scratch import scratch_postgres


@pytest.mark.postgres
async def test_three_days_on_postgres(tmp_path: Path) -> None:
    base = postgres_url_or_skip()
    settings = load_settings({"CAREBOT_VAR_DIR": str(tmp_path)}, env_file=None)
    async with scratch_postgres(base, "carebot_demo") as url:
        await upgrade(url)
        async with Database.from_url(url) as db:
            result = await simulate_month(db, settings, days=3)
    summary = result.summary
    # Mon 2: a red flag and a Spanish conversation; Tue 3: a STOP, a worse pain, a responder.
    assert (summary.checkins_sent, summary.checkins_completed) == (5, 4)
    assert summary.checkins_cancelled == summary.opt_outs == 1
    assert summary.escalations == {"emergency": 1, "urgent": 1, "routine": 1}
    assert summary.ladder_steps == 1 and summary.family_notifications == 1
