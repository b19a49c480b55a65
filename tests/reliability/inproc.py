"""A carebot ``Server`` in the test's own process and loop, its webhook routes reached through
httpx's ASGI transport (no socket), with the fake providers behind it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from bot.config import Settings, load_settings
from bot.server import Server
from bot.ticks import Ticks
from bot.web.webhooks import webhook_routes
from outreach.ports import Clock
from tests.fakes import AUTH_TOKEN, FakeTelegram, FakeTwilio, inbound_sms, signed_headers
from tests.reliability.conftest import TELEGRAM_SECRET, carebot_env

PUBLIC_URL = "http://carebot.test"
SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
TELEGRAM_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class InProcess:
    settings: Settings
    server: Server
    client: httpx.AsyncClient
    ticks: Ticks
    twilio: FakeTwilio
    telegram: FakeTelegram

    async def sms(self, form: dict[str, str]) -> httpx.Response:
        headers = signed_headers(AUTH_TOKEN, PUBLIC_URL + SMS_PATH, form)
        return await self.client.post(SMS_PATH, data=form, headers=headers)

    async def reply(self, phone: str, body: str, sid: str) -> httpx.Response:
        return await self.sms(inbound_sms(body, from_=phone, sid=sid))

    async def status(self, sid: str, status: str) -> httpx.Response:
        form, headers = self.twilio.status_callback(sid, status, PUBLIC_URL + STATUS_PATH)
        return await self.client.post(STATUS_PATH, data=form, headers=headers)

    async def update(self, update: dict[str, Any]) -> httpx.Response:
        headers = {SECRET_HEADER: TELEGRAM_SECRET}
        return await self.client.post(TELEGRAM_PATH, json=update, headers=headers)

    async def settle(self, seconds: float = 30) -> None:
        """Wait for the processing the webhooks scheduled (``process_soon``) to finish."""
        async with asyncio.timeout(seconds):
            await self.server.settle()


@contextlib.asynccontextmanager
async def in_process(
    database_url: str,
    tmp_path: Path,
    clock: Clock,
    twilio: FakeTwilio,
    telegram: FakeTelegram,
    **env: str,
) -> AsyncIterator[InProcess]:
    settings = load_settings(
        carebot_env(
            database_url,
            tmp_path / "var",
            twilio=twilio.url,
            telegram=telegram.url,
            public_url=PUBLIC_URL,
        )
        | env,
        env_file=None,
    )
    server = Server(settings, clock=clock, run_ticks=False)
    await server.start()
    app = Starlette(routes=webhook_routes(settings, server, server, server.telegram))
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30)
    ticks = Ticks(server.runtime, process_inbox_row=server.process_inbox_row)
    try:
        yield InProcess(settings, server, client, ticks, twilio, telegram)
    finally:
        await client.aclose()
        await server.stop()
