"""The voice sender: the real twilio library placing calls at the fake Voice API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from handlers.registry import build_senders
from handlers.twilio_sms import TwilioSms
from handlers.twilio_voice import TwilioVoice
from outreach.errors import PermanentDeliveryError, RetryableDeliveryError
from outreach.ports import OutboundMessage
from tests.adapters.conftest import make_settings
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER
from tests.fakes.twilio_voice import FakeTwilioVoice
from tests.voice.conftest import PUBLIC_BASE_URL

TO = "+15555550101"


def call(key: str = "outbox:42") -> OutboundMessage:
    return OutboundMessage(address=f"voice:{TO}", body="Hi Ana", idempotency_key=key)


@pytest.fixture
async def voice(voice_twilio: FakeTwilioVoice) -> AsyncIterator[TwilioVoice]:
    sms = TwilioSms(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number=FROM_NUMBER,
        api_base_url=voice_twilio.url,
        timeout=5,
    )
    yield TwilioVoice(sms, FROM_NUMBER, PUBLIC_BASE_URL + "/")
    await sms.aclose()


async def test_a_call_is_placed_with_its_webhooks_and_machine_detection(
    voice: TwilioVoice, voice_twilio: FakeTwilioVoice
) -> None:
    result = await voice.send(call())
    (placed,) = voice_twilio.calls_to(TO)
    assert result.provider_id == placed.sid and placed.sid.startswith("CA")
    assert result.status == "queued"
    assert placed.form == {
        "To": TO,
        "From": FROM_NUMBER,
        "Url": f"{PUBLIC_BASE_URL}/webhooks/twilio/voice/answer?outbox=42",
        "Method": "POST",
        "StatusCallback": f"{PUBLIC_BASE_URL}/webhooks/twilio/voice/status?outbox=42",
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": "completed",
        "MachineDetection": "Enable",
        "Timeout": "30",
    }
    assert placed.callback_events == ["initiated", "ringing", "answered", "completed"]
    assert voice_twilio.sent == []


async def test_errors_are_translated(voice: TwilioVoice, voice_twilio: FakeTwilioVoice) -> None:
    voice_twilio.fail_next(400, 21211, "Invalid 'To' Phone Number")
    with pytest.raises(PermanentDeliveryError) as permanent:
        await voice.send(call())
    assert permanent.value.code == "21211"
    voice_twilio.fail_next(503, retry_after=7)
    with pytest.raises(RetryableDeliveryError) as retryable:
        await voice.send(call())
    assert retryable.value.retry_after == 7
    with pytest.raises(PermanentDeliveryError) as no_row:
        await voice.send(call(key="checkin:1:1"))
    assert no_row.value.code == "invalid_key"
    assert voice_twilio.calls_to(TO) == []


async def test_registry_adds_voice_when_twilio_has_a_from_number(
    voice_twilio: FakeTwilioVoice,
) -> None:
    senders = build_senders(make_settings(TWILIO_API_BASE_URL=voice_twilio.url), sandbox=False)
    try:
        assert "voice" in senders and "tel" in senders
        result = await senders.send(call("outbox:5"))
    finally:
        await senders.aclose()
    assert voice_twilio.calls_to(TO)[0].sid == result.provider_id
    service_only = make_settings(
        TWILIO_FROM_NUMBER="", TWILIO_MESSAGING_SERVICE_SID="MG" + "1" * 32
    )
    assert "voice" not in build_senders(service_only, sandbox=False)
