"""The real twilio client against FakeTwilio: exact payloads and the error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from handlers.twilio_client import BaseUrlClient, parse_retry_after
from handlers.twilio_sms import SignatureCheck, TwilioSms, parse_inbound
from outreach.errors import PermanentDeliveryError, RecipientOptedOut, RetryableDeliveryError
from outreach.ports import OutboundMessage
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio, inbound_sms, signature

CALLBACK = "https://care.example.org/webhooks/twilio/status"
PATIENT = "+15551230001"


def sms(body: str = "How are you feeling today? Reply 1-5.", to: str = PATIENT) -> OutboundMessage:
    return OutboundMessage(address=f"tel:{to}", body=body, idempotency_key="checkin:1:q1")


@pytest.fixture
async def sender(fake_twilio: FakeTwilio) -> AsyncIterator[TwilioSms]:
    sender = TwilioSms(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number=FROM_NUMBER,
        status_callback_url=CALLBACK,
        api_base_url=fake_twilio.url,
        timeout=0.5,
    )
    yield sender
    await sender.aclose()


async def test_send_posts_exactly_to_from_body_and_status_callback(
    sender: TwilioSms, fake_twilio: FakeTwilio
) -> None:
    result = await sender.send(sms())

    assert [s.form for s in fake_twilio.sent] == [
        {
            "To": PATIENT,
            "From": FROM_NUMBER,
            "Body": "How are you feeling today? Reply 1-5.",
            "StatusCallback": CALLBACK,
        }
    ]
    assert result.provider_id == fake_twilio.sent[0].sid
    assert result.provider_id.startswith("SM")
    assert result.status == "queued"


async def test_messaging_service_replaces_from(fake_twilio: FakeTwilio) -> None:
    sender = TwilioSms(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        messaging_service_sid="MG" + "1" * 32,
        status_callback_url=CALLBACK,
        api_base_url=fake_twilio.url,
    )
    try:
        await sender.send(sms("hi"))
    finally:
        await sender.aclose()
    assert fake_twilio.sent[0].form == {
        "To": PATIENT,
        "MessagingServiceSid": "MG" + "1" * 32,
        "Body": "hi",
        "StatusCallback": CALLBACK,
    }


async def test_429_is_retryable_with_retry_after(
    sender: TwilioSms, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(429, 20429, "Too Many Requests", retry_after=2)

    with pytest.raises(RetryableDeliveryError) as caught:
        await sender.send(sms())

    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (429, "20429", 2)
    assert fake_twilio.sent == []


async def test_concurrent_failures_keep_their_own_retry_after(
    sender: TwilioSms, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(429, 20429, retry_after=7)
    with pytest.raises(RetryableDeliveryError) as first:
        await sender.send(sms())
    fake_twilio.fail_next(500, 20500)
    with pytest.raises(RetryableDeliveryError) as second:
        await sender.send(sms())
    assert first.value.retry_after == 7
    assert second.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_retryable(sender: TwilioSms, fake_twilio: FakeTwilio, status: int) -> None:
    fake_twilio.fail_next(status, 20500)
    with pytest.raises(RetryableDeliveryError) as caught:
        await sender.send(sms())
    assert caught.value.status == status


async def test_timeout_is_retryable(sender: TwilioSms, fake_twilio: FakeTwilio) -> None:
    fake_twilio.hang_next(5)
    with pytest.raises(RetryableDeliveryError) as caught:
        await sender.send(sms())
    assert caught.value.code == "timeout"


async def test_unreachable_server_is_retryable() -> None:
    sender = TwilioSms(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number=FROM_NUMBER,
        api_base_url="http://127.0.0.1:9",  # discard port: connection refused
    )
    try:
        with pytest.raises(RetryableDeliveryError) as caught:
            await sender.send(sms())
    finally:
        await sender.aclose()
    assert caught.value.code == "connection"


async def test_21610_is_opted_out(sender: TwilioSms, fake_twilio: FakeTwilio) -> None:
    fake_twilio.opt_out(PATIENT)
    with pytest.raises(RecipientOptedOut) as caught:
        await sender.send(sms())
    assert (caught.value.code, caught.value.status) == ("21610", 400)


async def test_21211_is_permanent_with_the_code(sender: TwilioSms, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(400, 21211, "Invalid 'To' Phone Number")
    with pytest.raises(PermanentDeliveryError) as caught:
        await sender.send(sms())
    assert type(caught.value) is PermanentDeliveryError
    assert (caught.value.code, caught.value.status) == ("21211", 400)


async def test_wrong_credentials_are_retryable_not_permanent(fake_twilio: FakeTwilio) -> None:
    sender = TwilioSms(
        account_sid=ACCOUNT_SID,
        auth_token="wrong",
        from_number=FROM_NUMBER,
        api_base_url=fake_twilio.url,
    )
    try:
        with pytest.raises(RetryableDeliveryError) as caught:
            await sender.send(sms())
    finally:
        await sender.aclose()
    assert (caught.value.status, caught.value.code) == (401, "20003")


async def test_address_that_is_not_a_phone_number_is_permanent(sender: TwilioSms) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        await sender.send(sms(to="5551230001"))
    assert caught.value.code == "invalid_address"


async def test_find_sent_matches_body_since(sender: TwilioSms, fake_twilio: FakeTwilio) -> None:
    now = datetime.now(UTC)
    fake_twilio.add_message(PATIENT, "Question 1", date_sent=now - timedelta(days=2))
    fake_twilio.add_message("+15559990000", "Question 1", date_sent=now)
    recent = fake_twilio.add_message(PATIENT, "Question 1", date_sent=now - timedelta(minutes=1))

    since = now - timedelta(minutes=5)
    assert await sender.find_sent(f"tel:{PATIENT}", "Question 1", since) == recent
    assert await sender.find_sent(f"tel:{PATIENT}", "Question 2", since) is None
    _, path, query = fake_twilio.requests[0]
    assert path.endswith("/Messages.json")
    assert query["To"] == PATIENT
    assert query["DateSent>"] == since.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_find_sent_sees_a_message_still_queued(
    sender: TwilioSms, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.auto_send = False
    since = datetime.now(UTC) - timedelta(seconds=5)
    result = await sender.send(sms("Question 3"))
    assert await sender.find_sent(f"tel:{PATIENT}", "Question 3", since) == result.provider_id


async def test_find_sent_translates_errors(sender: TwilioSms, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(503, 20503)
    with pytest.raises(RetryableDeliveryError):
        await sender.find_sent(f"tel:{PATIENT}", "x", datetime.now(UTC))


def test_base_url_client_rewrites_only_scheme_and_host() -> None:
    client = BaseUrlClient(ACCOUNT_SID, AUTH_TOKEN, api_base_url="http://127.0.0.1:8080/fake/")
    assert (
        client.get_hostname("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=1")
        == "http://127.0.0.1:8080/fake/2010-04-01/Accounts/AC1/Messages.json?To=1"
    )
    default = BaseUrlClient(ACCOUNT_SID, AUTH_TOKEN)
    assert default.get_hostname("https://api.twilio.com/x") == "https://api.twilio.com/x"


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_parse_inbound_form() -> None:
    received = datetime(2026, 1, 1, tzinfo=UTC)
    message = parse_inbound(inbound_sms("3", sid="SM" + "a" * 32), received)
    assert (message.channel, message.address, message.body) == ("sms", f"tel:{PATIENT}", "3")
    assert (message.external_id, message.received_at) == ("SM" + "a" * 32, received)
    with pytest.raises(ValueError, match="MessageSid"):
        parse_inbound({"From": PATIENT, "Body": "x"}, received)


def test_signature_check_uses_the_configured_url_with_or_without_port() -> None:
    check = SignatureCheck(AUTH_TOKEN, "https://care.example.org")
    form = inbound_sms("hello")
    good = signature(AUTH_TOKEN, "https://care.example.org/webhooks/twilio/sms", form)
    with_port = signature(AUTH_TOKEN, "https://care.example.org:443/webhooks/twilio/sms", form)
    other = signature(AUTH_TOKEN, "http://10.0.0.5:8000/webhooks/twilio/sms", form)

    assert check.is_valid("/webhooks/twilio/sms", "", form, good)
    assert check.is_valid("/webhooks/twilio/sms", "", form, with_port)
    assert not check.is_valid("/webhooks/twilio/sms", "", form, other)
    assert not check.is_valid("/webhooks/twilio/sms", "", {**form, "Body": "x"}, good)
    assert not check.is_valid("/webhooks/twilio/sms", "", form, None)
