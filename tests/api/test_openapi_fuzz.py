"""Property-based requests from ``/openapi.json`` (schemathesis) against the ASGI app: every
operation, valid and invalid input, documented status codes and bodies, never a 500.

The app runs in schemathesis' own event-loop thread on a fresh SQLite file; the team and its
tokens are written in the app's lifespan, so no database connection crosses event loops.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.applications import Starlette

from bot.api import api_routes
from bot.api.openapi import build_openapi
from bot.server import Server
from outreach.clock import ManualClock
from storage.migrate import upgrade
from tests.conftest import FIXED_NOW
from tests.dashboard.team import seed_team, team_settings

EXAMPLES = 10
tokens: dict[str, str] = {}


def _app(tmp_path: Path) -> Starlette:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
    clock = ManualClock(FIXED_NOW)
    server = Server(team_settings(tmp_path, DATABASE_URL=url), clock=clock, run_ticks=False)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await upgrade(url)
        await server.start()
        team = await seed_team(server.db, clock.now())
        tokens.update(team.tokens)
        try:
            yield
        finally:
            await server.stop()

    return Starlette(routes=api_routes(server), lifespan=lifespan)


# Built at import (cheap: nothing connects until the lifespan starts, on the first request),
# because schemathesis binds an operation's transport when it parametrizes the test.
WORKDIR = Path(tempfile.mkdtemp(prefix="carebot-fuzz-"))
CONFIG = SchemathesisConfig.from_dict(
    {"base-url": "http://testserver", "phases": {"coverage": {"enabled": False}}}
)
schema = schemathesis.openapi.from_dict(build_openapi(), config=CONFIG)
schema.app = _app(WORKDIR)


@pytest.fixture(scope="module", autouse=True)
def _stop_the_app() -> Iterator[None]:
    yield
    asgi.shutdown_lifespans()
    shutil.rmtree(WORKDIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_never_fails_on_any_input(case: Any) -> None:
    # An admin token: every operation is reachable (a care manager's mostly sees 404s).
    headers = {"Authorization": f"Bearer {tokens.get('ada', 'not-started-yet')}"}
    # Every check but "schema-valid input is accepted": the schema cannot say which time zones,
    # programs and care managers exist, so a well-formed but unknown one is rightly a 422.
    case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
