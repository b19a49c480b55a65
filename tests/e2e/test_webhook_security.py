"""Webhook security at the app level: bad signatures and secrets get 403 and leave no trace;
oversized bodies get 413 (SPEC §11, §14)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import (
    SECRET_HEADER,
    SMS_PATH,
    STATUS_PATH,
    TELEGRAM_PATH,
    TELEGRAM_SECRET,
    Carebot,
)
from tests.fakes import inbound_sms, signed_headers, text_update

LIMIT = 64 * 1024


async def test_health_answers_once_started(carebot_sqlite: Carebot) -> None:
    response = await carebot_sqlite.client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("path", [SMS_PATH, STATUS_PATH])
async def test_twilio_forged_or_missing_signature_is_403_and_records_nothing(
    carebot_sqlite: Carebot, path: str
) -> None:
    bot = carebot_sqlite
    form = inbound_sms("STOP", from_="+12025550190")
    if path == STATUS_PATH:
        form["MessageStatus"] = "delivered"
    forged = signed_headers("not-the-auth-token", bot.url + path, form)
    other_url = signed_headers(
        bot.settings.twilio_auth_token or "", "https://evil.example" + path, form
    )
    tampered = {**form, "Body": "START"}
    genuine = signed_headers(bot.settings.twilio_auth_token or "", bot.url + path, form)

    responses = [
        await bot.client.post(path, data=form, headers=forged),
        await bot.client.post(path, data=form, headers=other_url),
        await bot.client.post(path, data=tampered, headers=genuine),
        await bot.client.post(path, data=form),
        await bot.client.post(path, data=form, headers={"X-Twilio-Signature": ""}),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert await bot.inbox_count() == 0
    assert bot.twilio.sent == []


async def test_telegram_wrong_or_missing_secret_is_403_and_records_nothing(
    carebot_sqlite: Carebot,
) -> None:
    bot = carebot_sqlite
    update = text_update(9_000_001, 990001, "/privacy")

    responses = [
        await bot.update(update, secret="wrong-secret"),
        await bot.update(update, secret=TELEGRAM_SECRET.upper()),
        await bot.update(update, secret=None),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert await bot.inbox_count() == 0
    assert bot.telegram.sent == []


async def _chunks(data: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_oversized_bodies_are_413_declared_or_streamed(carebot_sqlite: Carebot) -> None:
    bot = carebot_sqlite
    form = inbound_sms("x" * (LIMIT + 1), from_="+12025550191")
    sms_headers = signed_headers(bot.settings.twilio_auth_token or "", bot.url + SMS_PATH, form)
    update = json.dumps(text_update(9_000_002, 990002, "y" * (LIMIT + 1))).encode()
    telegram_headers = {SECRET_HEADER: TELEGRAM_SECRET, "Content-Type": "application/json"}

    declared_sms = await bot.client.post(SMS_PATH, data=form, headers=sms_headers)
    declared_update = await bot.client.post(TELEGRAM_PATH, content=update, headers=telegram_headers)
    streamed_update = await bot.client.post(
        TELEGRAM_PATH, content=_chunks(update), headers=telegram_headers
    )

    assert declared_sms.status_code == 413
    assert declared_update.status_code == 413
    assert streamed_update.status_code == 413
    assert "content-length" not in streamed_update.request.headers  # sent chunked
    assert await bot.inbox_count() == 0
