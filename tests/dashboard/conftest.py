"""Fixtures: a started server on the ``db`` fixture (SQLite and PostgreSQL), the team, browsers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.server import Server
from outreach.clock import ManualClock
from storage.engine import Database
from tests.dashboard.team import Browser, Team, running_server, seed_team, team_app


@pytest.fixture
async def server(db: Database, clock: ManualClock, tmp_path: Path) -> AsyncIterator[Server]:
    async with running_server(db, clock, tmp_path) as started:
        yield started


@pytest.fixture
async def team(server: Server, clock: ManualClock) -> Team:
    return await seed_team(server.db, clock.now())


@pytest.fixture
async def browser_for(
    server: Server, team: Team, clock: ManualClock
) -> AsyncIterator[Callable[[str], Awaitable[Browser]]]:
    """``await browser_for("alice")``: a client with a session of that team member ("" for
    none). The login form itself is tested in test_auth."""
    opened: list[Browser] = []

    async def open_as(who: str) -> Browser:
        browser = Browser(team_app(server))
        opened.append(browser)
        if who:
            browser.sign_in_as(getattr(team, who), clock.now())
        return browser

    yield open_as
    for browser in opened:
        await browser.aclose()
