"""Webhook routes through httpx's ASGI transport, with real Twilio signatures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from bot.config import Settings
from bot.web.webhooks import inbound_from_inbox, webhook_routes
from handlers.ratelimit import InboundThrottle
from handlers.telegram import TelegramChannel, build_telegram
from handlers.twilio_sms import TwilioSms
from outreach.ports import OutboundMessage
from tests.adapters.conftest import PUBLIC_BASE_URL, TELEGRAM_SECRET, make_settings
from tests.adapters.sinks import FakeInbox, FakeStatuses
from tests.fakes import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BOT_TOKEN,
    FROM_NUMBER,
    FakeTwilio,
    callback_update,
    inbound_sms,
    signed_headers,
    text_update,
)

SMS_URL = PUBLIC_BASE_URL + "/webhooks/twilio/sms"
STATUS_URL = PUBLIC_BASE_URL + "/webhooks/twilio/status"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
PATIENT = "+15551230001"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def inbox() -> FakeInbox:
    return FakeInbox()


@pytest.fixture
def statuses() -> FakeStatuses:
    return FakeStatuses()


@pytest.fixture(scope="module")
def telegram() -> TelegramChannel:
    # The routes only need to know Telegram is configured; no request is made to the API.
    return build_telegram(BOT_TOKEN, api_base_url="http://127.0.0.1:9")


@pytest.fixture
def throttle() -> InboundThrottle:
    return InboundThrottle(per_minute=10, clock=Clock())


def client_for(
    settings: Settings,
    inbox: FakeInbox,
    statuses: FakeStatuses,
    telegram: TelegramChannel | None,
    throttle: InboundThrottle | None = None,
    max_body: int = 64 * 1024,
) -> httpx.AsyncClient:
    routes = webhook_routes(
        settings, inbox, statuses, telegram, throttle=throttle, max_body=max_body, now=lambda: NOW
    )
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    # The app sees http://testserver: signatures must be checked against PUBLIC_BASE_URL.
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client(
    inbox: FakeInbox, statuses: FakeStatuses, telegram: TelegramChannel, throttle: InboundThrottle
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_settings(), inbox, statuses, telegram, throttle) as client:
        yield client


async def post_sms(
    client: httpx.AsyncClient, form: dict[str, str], url: str = SMS_URL
) -> httpx.Response:
    return await client.post(
        "/webhooks/twilio/sms", data=form, headers=signed_headers(AUTH_TOKEN, url, form)
    )


# -- Twilio SMS ------------------------------------------------------------------------------


async def test_signed_sms_is_committed_answered_with_empty_twiml_and_scheduled(
    client: httpx.AsyncClient, inbox: FakeInbox
) -> None:
    form = inbound_sms("3", sid="SM" + "1" * 32)

    response = await post_sms(client, form)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text.endswith("<Response/>")
    assert inbox.accepts == [("twilio", "SM" + "1" * 32)]
    assert inbox.scheduled == [1]
    assert inbox.payload("twilio", "SM" + "1" * 32) == {
        "form": form,
        "received_at": NOW.isoformat(),
    }


async def test_stored_sms_becomes_an_inbound_message(
    client: httpx.AsyncClient, inbox: FakeInbox
) -> None:
    form = inbound_sms("yes", sid="SM" + "2" * 32)
    await post_sms(client, form)

    message = inbound_from_inbox("twilio", inbox.payload("twilio", "SM" + "2" * 32))

    assert message is not None
    assert (message.channel, message.address, message.body) == ("sms", f"tel:{PATIENT}", "yes")
    assert (message.external_id, message.received_at) == ("SM" + "2" * 32, NOW)
    assert inbound_from_inbox("telegram", {"update_id": 1}) is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        signed_headers("another-accounts-token", SMS_URL, inbound_sms("3", sid="SMx")),
        # Signed for the URL the app sees behind the proxy, not the public one: stale URL.
        signed_headers(
            AUTH_TOKEN, "http://testserver/webhooks/twilio/sms", inbound_sms("3", sid="SMx")
        ),
        signed_headers(
            AUTH_TOKEN, PUBLIC_BASE_URL + "/webhooks/twilio/voice", inbound_sms("3", sid="SMx")
        ),
    ],
    ids=["missing", "forged", "other-token", "request-url", "other-path"],
)
async def test_bad_signature_is_403_and_nothing_is_recorded(
    client: httpx.AsyncClient, inbox: FakeInbox, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/webhooks/twilio/sms", data=inbound_sms("3", sid="SMx"), headers=headers
    )
    assert response.status_code == 403
    assert inbox.accepts == []


async def test_tampered_body_is_403(client: httpx.AsyncClient, inbox: FakeInbox) -> None:
    form = inbound_sms("3", sid="SMy")
    headers = signed_headers(AUTH_TOKEN, SMS_URL, form)
    response = await client.post(
        "/webhooks/twilio/sms", data={**form, "Body": "9"}, headers=headers
    )
    assert response.status_code == 403
    assert inbox.accepts == []


async def test_query_string_is_part_of_the_signed_url(
    client: httpx.AsyncClient, inbox: FakeInbox
) -> None:
    form = inbound_sms("3", sid="SMq")
    headers = signed_headers(AUTH_TOKEN, SMS_URL + "?site=north", form)
    response = await client.post("/webhooks/twilio/sms?site=north", data=form, headers=headers)
    assert response.status_code == 200
    assert inbox.accepts == [("twilio", "SMq")]


async def test_oversized_body_is_413_by_header_and_by_stream(
    inbox: FakeInbox, statuses: FakeStatuses, telegram: TelegramChannel
) -> None:
    form = inbound_sms("x" * 3000, sid="SMbig")
    headers = signed_headers(AUTH_TOKEN, SMS_URL, form)
    async with client_for(make_settings(), inbox, statuses, telegram, max_body=1024) as client:
        declared = await client.post("/webhooks/twilio/sms", data=form, headers=headers)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b"Body=" + b"x" * 100 + b"&"

        streamed = await client.post("/webhooks/twilio/sms", content=chunks(), headers=headers)

    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert "content-length" not in streamed.request.headers
    assert inbox.accepts == []


async def test_duplicate_deliveries_in_parallel_all_get_200_and_one_row(
    client: httpx.AsyncClient, inbox: FakeInbox
) -> None:
    form = inbound_sms("2", sid="SM" + "d" * 32)

    responses = await asyncio.gather(*(post_sms(client, form) for _ in range(3)))

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all(r.text.endswith("<Response/>") for r in responses)
    assert inbox.accepts == [("twilio", "SM" + "d" * 32)] * 3
    assert list(inbox.rows) == [("twilio", "SM" + "d" * 32)]
    assert inbox.scheduled == [1]


async def test_unreachable_inbox_is_503(client: httpx.AsyncClient, inbox: FakeInbox) -> None:
    inbox.unavailable = True
    response = await post_sms(client, inbound_sms("3", sid="SMdown"))
    assert response.status_code == 503
    assert inbox.scheduled == []


async def test_authentic_but_malformed_sms_is_400_and_not_recorded(
    client: httpx.AsyncClient, inbox: FakeInbox
) -> None:
    form = {"From": PATIENT, "Body": "no sid"}
    response = await post_sms(client, form)
    assert response.status_code == 400
    assert "MessageSid" in response.text
    assert inbox.accepts == []


async def test_sender_over_the_inbound_limit_is_recorded_but_not_processed_inline(
    client: httpx.AsyncClient, inbox: FakeInbox, throttle: InboundThrottle
) -> None:
    for i in range(11):
        response = await post_sms(client, inbound_sms("spam", sid=f"SM{i:032d}"))
        assert response.status_code == 200
    other = await post_sms(client, inbound_sms("3", from_="+15551230002", sid="SMother"))

    assert other.status_code == 200
    assert len(inbox.rows) == 12
    assert inbox.scheduled == [*range(1, 11), 12]
    assert throttle.throttled == 1


async def test_twilio_routes_are_404_when_twilio_is_not_configured(
    inbox: FakeInbox, statuses: FakeStatuses, telegram: TelegramChannel
) -> None:
    settings = make_settings(TWILIO_AUTH_TOKEN="", TWILIO_ACCOUNT_SID="")
    async with client_for(settings, inbox, statuses, telegram) as client:
        response = await post_sms(client, inbound_sms("3"))
    assert response.status_code == 404
    assert inbox.accepts == []


# -- Twilio status callbacks -----------------------------------------------------------------


async def test_status_callbacks_from_the_fake_reach_the_status_sink_in_any_order(
    client: httpx.AsyncClient, statuses: FakeStatuses, fake_twilio: FakeTwilio
) -> None:
    sender = TwilioSms(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number=FROM_NUMBER,
        status_callback_url=STATUS_URL,
        api_base_url=fake_twilio.url,
    )
    try:
        sent = await sender.send(OutboundMessage(f"tel:{PATIENT}", "Question 1", "k1"))
    finally:
        await sender.aclose()
    callback_url = fake_twilio.sent[0].form["StatusCallback"]

    codes = await fake_twilio.deliver_statuses(
        sent.provider_id, ["delivered", "sent", "queued"], callback_url, client
    )

    assert codes == [200, 200, 200]
    assert statuses.updates == [
        (sent.provider_id, "delivered", None),
        (sent.provider_id, "sent", None),
        (sent.provider_id, "queued", None),
    ]


async def test_failed_status_carries_the_error_code(
    client: httpx.AsyncClient, statuses: FakeStatuses
) -> None:
    form = {"MessageSid": "SMf", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    headers = signed_headers(AUTH_TOKEN, STATUS_URL, form)
    response = await client.post("/webhooks/twilio/status", data=form, headers=headers)
    assert response.status_code == 200
    assert statuses.updates == [("SMf", "undelivered", "30003")]


async def test_status_callback_needs_a_signature_and_a_database(
    client: httpx.AsyncClient, statuses: FakeStatuses
) -> None:
    form = {"MessageSid": "SMf", "MessageStatus": "delivered"}
    unsigned = await client.post("/webhooks/twilio/status", data=form)
    statuses.unavailable = True
    headers = signed_headers(AUTH_TOKEN, STATUS_URL, form)
    down = await client.post("/webhooks/twilio/status", data=form, headers=headers)
    assert (unsigned.status_code, down.status_code) == (403, 503)
    assert statuses.updates == []


# -- Telegram --------------------------------------------------------------------------------


def tg_headers(secret: str = TELEGRAM_SECRET) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": secret}


async def test_telegram_update_with_the_secret_is_committed_and_scheduled(
    client: httpx.AsyncClient, inbox: FakeInbox
) -> None:
    update = text_update(7001, 555, "4")
    response = await client.post("/webhooks/telegram", json=update, headers=tg_headers())
    assert response.status_code == 200
    assert inbox.accepts == [("telegram", "7001")]
    assert inbox.payload("telegram", "7001") == update
    assert inbox.scheduled == [1]


async def test_telegram_duplicates_are_200(client: httpx.AsyncClient, inbox: FakeInbox) -> None:
    update = callback_update(7002, 555, "ack:12")
    responses = await asyncio.gather(
        *(client.post("/webhooks/telegram", json=update, headers=tg_headers()) for _ in range(3))
    )
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert inbox.scheduled == [1]


@pytest.mark.parametrize("headers", [{}, tg_headers("wrong"), tg_headers(TELEGRAM_SECRET + "x")])
async def test_telegram_wrong_or_missing_secret_is_403(
    client: httpx.AsyncClient, inbox: FakeInbox, headers: dict[str, str]
) -> None:
    response = await client.post("/webhooks/telegram", json=text_update(1, 5, "x"), headers=headers)
    assert response.status_code == 403
    assert inbox.accepts == []


async def test_telegram_without_a_configured_secret_accepts_nothing(
    inbox: FakeInbox, statuses: FakeStatuses, telegram: TelegramChannel
) -> None:
    settings = make_settings(TELEGRAM_WEBHOOK_SECRET="")
    async with client_for(settings, inbox, statuses, telegram) as client:
        response = await client.post(
            "/webhooks/telegram", json=text_update(1, 5, "x"), headers=tg_headers("")
        )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"message": {}}', "update_id"),
        (b'{"update_id": "12"}', "update_id"),
    ],
)
async def test_telegram_malformed_body_is_400_and_not_recorded(
    client: httpx.AsyncClient, inbox: FakeInbox, body: bytes, reason: str
) -> None:
    response = await client.post("/webhooks/telegram", content=body, headers=tg_headers())
    assert response.status_code == 400
    assert reason in response.text
    assert inbox.accepts == []


async def test_telegram_unreachable_inbox_is_503(
    client: httpx.AsyncClient, inbox: FakeInbox
) -> None:
    inbox.unavailable = True
    response = await client.post(
        "/webhooks/telegram", json=text_update(9, 5, "x"), headers=tg_headers()
    )
    assert response.status_code == 503


async def test_telegram_route_is_404_without_a_channel(
    inbox: FakeInbox, statuses: FakeStatuses
) -> None:
    async with client_for(make_settings(), inbox, statuses, None) as client:
        response = await client.post(
            "/webhooks/telegram", json=text_update(9, 5, "x"), headers=tg_headers()
        )
    assert response.status_code == 404


# -- privacy ---------------------------------------------------------------------------------


async def test_logs_carry_ids_never_bodies_or_phone_numbers(
    client: httpx.AsyncClient, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_body = "my chest hurts since tuesday"
    await post_sms(client, inbound_sms(secret_body, sid="SMpriv"))
    await post_sms(client, {"From": PATIENT, "Body": secret_body})  # 400
    await client.post("/webhooks/twilio/sms", data=inbound_sms(secret_body))  # 403
    await client.post(
        "/webhooks/telegram", json=text_update(77, 555, secret_body), headers=tg_headers()
    )
    sender = TwilioSms(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number=FROM_NUMBER,
        api_base_url=fake_twilio.url,
    )
    try:
        await sender.send(OutboundMessage(f"tel:{PATIENT}", secret_body, "k"))
        await sender.find_sent(f"tel:{PATIENT}", secret_body, NOW)
    finally:
        await sender.aclose()

    assert "SMpriv" in caplog.text
    for secret in (secret_body, PATIENT, PATIENT[2:], AUTH_TOKEN):
        assert secret not in caplog.text
