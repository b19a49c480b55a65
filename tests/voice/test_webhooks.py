"""The gate of the voice webhooks: signatures (403, nothing recorded), bad requests, mounting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from bot.web.voice import voice_routes
from handlers.twilio_voice import ANSWER_PATH, GATHER_PATH, IDENTITY_PATH, STATUS_PATH
from storage.models import Message, ProcessedWebhook
from tests.fakes import AUTH_TOKEN, signed_headers
from tests.integration.support import settings_for
from tests.voice.conftest import PUBLIC_BASE_URL, Phone


async def post(phone: Phone, url: str, form: dict[str, str], headers: dict[str, str]) -> int:
    return (await phone.client.post(url, data=form, headers=headers)).status_code


async def test_unsigned_or_wrongly_signed_webhooks_get_403_and_record_nothing(
    phone: Phone,
) -> None:
    await phone.enrol()
    await phone.tick()
    caller = phone.caller()
    await caller.pick_up()
    await caller.press("1")
    before = len(await phone.rows(Message))
    gather = caller.last.gather
    assert gather is not None
    url = gather.get("action", "")
    form = {**phone.twilio.call_form(caller.call), "Digits": "3"}
    assert await post(phone, url, form, {}) == 403
    assert await post(phone, url, form, signed_headers("wrong-token", url, form)) == 403
    other_url = url.replace("n=1", "n=2")
    assert await post(phone, url, form, signed_headers(AUTH_TOKEN, other_url, form)) == 403
    assert len(await phone.rows(Message)) == before
    assert await phone.rows(ProcessedWebhook) == []
    assert await post(phone, url, form, signed_headers(AUTH_TOKEN, url, form)) == 200


async def test_bad_requests_from_twilio_get_400(phone: Phone) -> None:
    form = {"CallSid": "CA" + "0" * 32, "CallStatus": "in-progress"}
    for url in (
        f"{PUBLIC_BASE_URL}{ANSWER_PATH}?outbox=x",
        f"{PUBLIC_BASE_URL}{GATHER_PATH}?outbox=1&q=BAD&n=1&t=0",
        f"{PUBLIC_BASE_URL}{GATHER_PATH}?outbox=1&q=pain&n=1",
    ):
        assert await post(phone, url, form, signed_headers(AUTH_TOKEN, url, form)) == 400, url
    no_sid = {"CallStatus": "completed"}
    url = f"{PUBLIC_BASE_URL}{STATUS_PATH}?outbox=1"
    assert await post(phone, url, no_sid, signed_headers(AUTH_TOKEN, url, no_sid)) == 400


async def test_a_call_for_an_unknown_row_just_hangs_up(phone: Phone) -> None:
    form = {"CallSid": "CA" + "1" * 32, "CallStatus": "in-progress"}
    url = f"{PUBLIC_BASE_URL}{ANSWER_PATH}?outbox=999"
    response = await phone.client.post(
        url, data=form, headers=signed_headers(AUTH_TOKEN, url, form)
    )
    assert response.status_code == 200
    assert response.text.endswith("<Response><Hangup /></Response>")


async def test_without_twilio_the_routes_are_404(tmp_path: Path) -> None:
    class NoHost:
        voice: Any = None

    app = Starlette(routes=voice_routes(settings_for(tmp_path), NoHost()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_BASE_URL) as client:
        response = await client.post(IDENTITY_PATH + "?outbox=1", data={"CallSid": "CA1"})
    assert response.status_code == 404


def test_create_app_mounts_the_voice_routes(tmp_path: Path) -> None:
    from bot.app import create_app
    from bot.server import Server

    settings = settings_for(tmp_path, TWILIO_ACCOUNT_SID="AC1", TWILIO_AUTH_TOKEN="t")
    app = create_app(Server(settings))
    paths = {getattr(route, "path", "") for route in app.routes}
    assert {ANSWER_PATH, IDENTITY_PATH, GATHER_PATH, STATUS_PATH} <= paths
