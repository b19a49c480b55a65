"""A carebot ``Server`` on a manual clock, its calls placed at the fake Twilio Voice API by the
real twilio library, and a ``Caller`` posting signed webhooks to the real voice routes through
httpx's ASGI transport. Ticks run when a test says so; time only moves with the clock.

The app holds the voice routes only (``test_webhooks`` checks ``create_app`` mounts them), so
these tests do not depend on the dashboard and API being importable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from bot.server import Server
from bot.web.voice import voice_routes
from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import CheckIn, Patient
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER
from tests.fakes.twilio_voice import Caller, FakeCall, FakeTwilioVoice
from tests.integration.support import FakeSender, Host, enrol, settings_for

PUBLIC_BASE_URL = "https://care.example.org"
TEAM_PHONE = "+1 202 555 0100"
PATIENT_PHONE = "+15555550101"
ADDRESS = f"voice:{PATIENT_PHONE}"


@pytest.fixture(scope="session")
def voice_twilio_server() -> Iterator[FakeTwilioVoice]:
    with FakeTwilioVoice() as server:
        yield server


@pytest.fixture
def voice_twilio(voice_twilio_server: FakeTwilioVoice) -> Iterator[FakeTwilioVoice]:
    voice_twilio_server.reset()
    yield voice_twilio_server
    voice_twilio_server.reset()


@dataclass
class Phone:
    """carebot with voice patients, and what reached the fake Twilio."""

    server: Server
    client: httpx.AsyncClient
    twilio: FakeTwilioVoice
    clock: ManualClock
    db: Database

    async def enrol(self, **fields: Any) -> Patient:
        fields.setdefault("channel", "voice")
        fields.setdefault("phone", PATIENT_PHONE)
        host = Host(self.server.runtime, FakeSender(), self.clock)
        return await enrol(host, **fields)

    async def tick(self) -> None:
        """The ticks once, as the scheduler would run them now."""
        runtime = self.server.runtime
        await runtime.checkins.dispatch_due()
        result = await runtime.checkins.advance_due()
        for applied in result.applied:
            await runtime.after_commit(applied)
        await runtime.delivery.deliver_due()

    async def later(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.tick()

    def calls(self, phone: str = PATIENT_PHONE) -> list[FakeCall]:
        return self.twilio.calls_to(phone)

    def caller(self, index: int = -1, phone: str = PATIENT_PHONE) -> Caller:
        calls = self.calls(phone)
        assert calls, f"no call to {phone}"
        return Caller(self.twilio, calls[index], self.client)

    async def answered(self, **fields: Any) -> Caller:
        """Enrol, let the tick place the call, pick up and confirm who answered."""
        await self.enrol(**fields)
        await self.tick()
        caller = self.caller()
        await caller.pick_up()
        await caller.press("1")
        return caller

    async def rows(self, model: type, *where: Any) -> list[Any]:
        async with self.db.session() as session:
            return list(await session.scalars(select(model).where(*where).order_by(model.id)))

    async def checkin(self) -> CheckIn:
        (checkin,) = await self.rows(CheckIn)
        return checkin

    async def drain(self) -> None:
        """Wait for the sends a webhook started after its commit (care-manager alerts)."""
        assert self.server.voice is not None
        await self.server.voice.drain()


def voice_env(fake: FakeTwilioVoice, **overrides: str) -> dict[str, str]:
    return {
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": fake.url,
        "TWILIO_MPS": "100",
        "CARE_TEAM_PHONE": TEAM_PHONE,
        **overrides,
    }


@pytest.fixture
async def phone(
    request: pytest.FixtureRequest,
    db: Database,
    clock: ManualClock,
    tmp_path: Path,
    voice_twilio: FakeTwilioVoice,
) -> AsyncIterator[Phone]:
    """Settings may be overridden with indirect parametrization: ``{"CARE_TEAM_PHONE": ""}``."""
    overrides: dict[str, str] = getattr(request, "param", {})
    settings = settings_for(tmp_path, **voice_env(voice_twilio, **overrides))
    server = Server(settings, clock=clock, run_ticks=False, db=db)
    app = Starlette(routes=voice_routes(settings, server))
    await server.start()  # the ASGI transport runs no lifespan
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_BASE_URL) as client:
            yield Phone(server, client, voice_twilio, clock, db)
    finally:
        await server.stop()
