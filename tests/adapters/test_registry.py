"""Senders chosen by address scheme, built from settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handlers.ratelimit import RateLimited
from handlers.registry import Senders, build_senders
from handlers.sandbox import SandboxSender
from handlers.telegram import build_telegram
from outreach.errors import PermanentDeliveryError
from outreach.ports import OutboundMessage
from tests.adapters.conftest import PUBLIC_BASE_URL, make_settings
from tests.fakes import BOT_TOKEN, FakeTwilio


def msg(address: str, body: str = "Hello") -> OutboundMessage:
    return OutboundMessage(address=address, body=body, idempotency_key="k")


async def test_twilio_and_sandbox_are_built_from_settings(fake_twilio: FakeTwilio) -> None:
    settings = make_settings(TWILIO_API_BASE_URL=fake_twilio.url, TWILIO_MPS="50", SANDBOX="on")
    senders = build_senders(settings)
    try:
        assert senders.schemes == {"tel", "voice", "sandbox"}
        sms = await senders.send(msg("tel:+15551230001"))
        sandbox = await senders.send(msg("sandbox:demo-1"))
        found = await senders.find_sent(
            "tel:+15551230001", "Hello", datetime.now(UTC) - timedelta(minutes=1)
        )
    finally:
        await senders.aclose()

    assert fake_twilio.sent[0].form["StatusCallback"] == PUBLIC_BASE_URL + "/webhooks/twilio/status"
    assert found == sms.provider_id
    assert sandbox.provider_id.startswith("SB")
    assert senders.can_look_up("tel:+15551230001")
    assert not senders.can_look_up("sandbox:demo-1")


def test_telegram_is_rate_limited_when_given() -> None:
    channel = build_telegram(BOT_TOKEN, api_base_url="http://127.0.0.1:9")
    senders = build_senders(make_settings(TWILIO_FROM_NUMBER=""), telegram=channel, sandbox=False)
    sender = senders["telegram"]
    assert senders.schemes == {"telegram"}
    assert isinstance(sender, RateLimited) and sender.inner is channel


async def test_unconfigured_channel_is_a_permanent_error() -> None:
    senders = Senders([SandboxSender()])
    with pytest.raises(PermanentDeliveryError) as caught:
        await senders.send(msg("tel:+15551230001"))
    assert caught.value.code == "channel_not_configured"
    with pytest.raises(PermanentDeliveryError):
        await senders.send(msg("fax:123"))
    assert await senders.find_sent("sandbox:x", "Hello", datetime.now(UTC)) is None


async def test_sandbox_accepts_everything_and_refuses_other_addresses() -> None:
    sandbox = SandboxSender()
    result = await sandbox.send(msg("sandbox:demo-2", "Any text <b>"))
    assert result.provider_id.startswith("SB") and len(result.provider_id) == 34
    assert sandbox.sent == [(result.provider_id, msg("sandbox:demo-2", "Any text <b>"))]
    with pytest.raises(PermanentDeliveryError):
        await sandbox.send(msg("tel:+15551230001"))
