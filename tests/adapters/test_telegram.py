"""The real python-telegram-bot against FakeTelegram: sends, errors and update handling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from handlers.telegram import TelegramChannel, build_telegram
from outreach.errors import PermanentDeliveryError, RecipientOptedOut, RetryableDeliveryError
from outreach.ports import InboundMessage, OutboundMessage
from tests.fakes import BOT_TOKEN, BOT_USERNAME, FakeTelegram, callback_update, text_update

# PTB 22 itself warns while building RetryAfter (its retry_after becomes a timedelta); our
# adapter reads the value without warning, the library's own construction cannot be avoided.
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")

CHAT = 555001


class Inbox:
    """A hand-written on_inbound that records what the PTB handlers produced."""

    def __init__(self) -> None:
        self.received: list[InboundMessage] = []
        self.fail_with: Exception | None = None
        self.arrived = asyncio.Event()

    async def __call__(self, message: InboundMessage) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.received.append(message)
        self.arrived.set()


@pytest.fixture(scope="module")
def module_inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def inbox(module_inbox: Inbox) -> Inbox:
    module_inbox.received.clear()
    module_inbox.fail_with = None
    module_inbox.arrived = asyncio.Event()
    return module_inbox


@pytest.fixture(scope="module")
async def started(
    telegram_server: FakeTelegram, module_inbox: Inbox
) -> AsyncIterator[TelegramChannel]:
    # One started Application for the module: building one costs two TLS contexts.
    channel = build_telegram(
        BOT_TOKEN, api_base_url=telegram_server.url, on_inbound=module_inbox, timeout=0.5
    )
    await channel.start()
    yield channel
    await channel.stop()


@pytest.fixture
def channel(started: TelegramChannel, fake_telegram: FakeTelegram, inbox: Inbox) -> TelegramChannel:
    return started


def alert(address: str = f"telegram:{CHAT}") -> OutboundMessage:
    return OutboundMessage(
        address=address,
        body="URGENT: patient 12 reported chest pain",
        idempotency_key="alert:12",
        buttons=(("Acknowledge", "ack:12"), ("Resolve", "resolve:12")),
    )


async def test_username_and_invite_link_come_from_get_me(
    channel: TelegramChannel, fake_telegram: FakeTelegram
) -> None:
    assert await channel.username() == BOT_USERNAME
    assert [c.method for c in fake_telegram.calls] == ["getMe"]
    assert await channel.invite_link("AbC123") == f"https://t.me/{BOT_USERNAME}?start=AbC123"


async def test_send_posts_chat_text_and_buttons(
    channel: TelegramChannel, fake_telegram: FakeTelegram
) -> None:
    result = await channel.send(alert())

    (call,) = fake_telegram.sent
    assert call.params["chat_id"] == str(CHAT)
    assert call.params["text"] == "URGENT: patient 12 reported chest pain"
    assert call.json("reply_markup") == {
        "inline_keyboard": [
            [
                {"text": "Acknowledge", "callback_data": "ack:12"},
                {"text": "Resolve", "callback_data": "resolve:12"},
            ]
        ]
    }
    assert result.provider_id == "1"


async def test_send_without_buttons_sends_no_markup(
    channel: TelegramChannel, fake_telegram: FakeTelegram
) -> None:
    await channel.send(OutboundMessage(f"telegram:{CHAT}", "Hello", "k"))
    assert "reply_markup" not in fake_telegram.sent[0].params


async def test_blocked_bot_is_opted_out(
    channel: TelegramChannel, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.block(CHAT)
    with pytest.raises(RecipientOptedOut) as caught:
        await channel.send(alert())
    assert caught.value.status == 403


async def test_flood_control_is_retryable_with_retry_after(
    channel: TelegramChannel, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next(429, retry_after=3)
    with pytest.raises(RetryableDeliveryError) as caught:
        await channel.send(alert())
    assert (caught.value.status, caught.value.retry_after) == (429, 3)


async def test_bad_request_is_permanent(
    channel: TelegramChannel, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next(400, "Bad Request: chat not found")
    with pytest.raises(PermanentDeliveryError) as caught:
        await channel.send(alert())
    assert type(caught.value) is PermanentDeliveryError
    assert caught.value.code == "400"


async def test_server_error_and_timeout_are_retryable(
    channel: TelegramChannel, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next(502, "Bad Gateway")
    with pytest.raises(RetryableDeliveryError):
        await channel.send(alert())
    fake_telegram.hang_next(3)
    with pytest.raises(RetryableDeliveryError) as caught:
        await channel.send(alert())
    assert caught.value.code == "timeout"


async def test_malformed_address_is_permanent(channel: TelegramChannel) -> None:
    with pytest.raises(PermanentDeliveryError):
        await channel.send(alert("telegram:not-a-number"))


async def test_edit_text_replaces_message_and_removes_buttons(
    channel: TelegramChannel, fake_telegram: FakeTelegram
) -> None:
    sent = await channel.send(alert())
    await channel.edit_text(f"telegram:{CHAT}", sent.provider_id, "Acknowledged by Dr. Ng")
    await channel.edit_text(f"telegram:{CHAT}", sent.provider_id, "Acknowledged by Dr. Ng")

    (edit, _) = fake_telegram.of("editMessageText")
    assert edit.params == {
        "chat_id": str(CHAT),
        "message_id": sent.provider_id,
        "text": "Acknowledged by Dr. Ng",
    }


async def test_set_webhook_sends_url_and_secret(
    channel: TelegramChannel, fake_telegram: FakeTelegram
) -> None:
    await channel.set_webhook("https://care.example.org/webhooks/telegram", "s3cret")
    assert fake_telegram.webhook["url"] == "https://care.example.org/webhooks/telegram"
    assert fake_telegram.webhook["secret_token"] == "s3cret"


async def test_text_update_becomes_an_inbound_message(
    channel: TelegramChannel, inbox: Inbox
) -> None:
    await channel.process_payload(text_update(901, CHAT, "4"))

    assert inbox.received == [
        InboundMessage(
            channel="telegram",
            address=f"telegram:{CHAT}",
            body="4",
            external_id="901",
            received_at=datetime(2026, 1, 1, tzinfo=UTC),
            raw={
                "update_id": "901",
                "message_id": "1",
                "chat_type": "private",
                "user_id": str(CHAT),
            },
        )
    ]


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/start K7Q2X9", "/start K7Q2X9"),
        ("/start", "/start"),
        ("/help", "/help"),
        ("/privacy", "/privacy"),
        ("/stop", "/stop"),
        (f"/start@{BOT_USERNAME} K7Q2X9", "/start K7Q2X9"),
    ],
)
async def test_commands_carry_the_command(
    channel: TelegramChannel, inbox: Inbox, text: str, command: str
) -> None:
    await channel.process_payload(text_update(902, CHAT, text))
    (message,) = inbox.received
    assert (message.command, message.body, message.external_id) == (command, text, "902")


async def test_unknown_command_and_non_text_are_passed_on_not_dropped(
    channel: TelegramChannel, inbox: Inbox
) -> None:
    photo = text_update(904, CHAT, "x")
    del photo["message"]["text"]
    photo["message"]["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    await channel.process_payload(text_update(903, CHAT, "/weather"))
    await channel.process_payload(photo)

    assert [(m.body, m.command) for m in inbox.received] == [("/weather", None), ("", None)]
    assert inbox.received[1].raw["content"] == "non_text"


async def test_button_press_becomes_a_callback_command_and_is_answered(
    channel: TelegramChannel, inbox: Inbox, fake_telegram: FakeTelegram
) -> None:
    received = datetime(2026, 2, 3, 4, 5, tzinfo=UTC)
    await channel.process_payload(
        callback_update(905, -100777, "ack:12", message_id=44, user_id=31), received_at=received
    )

    (message,) = inbox.received
    assert message.address == "telegram:-100777"
    assert (message.command, message.body, message.received_at) == (
        "callback:ack:12",
        "ack:12",
        received,
    )
    assert (message.raw["message_id"], message.raw["user_id"]) == ("44", "31")
    (answer,) = fake_telegram.of("answerCallbackQuery")
    assert answer.params["callback_query_id"] == "4382bfdwdsb323b2d9"


async def test_a_failing_on_inbound_propagates_so_the_inbox_row_stays(
    channel: TelegramChannel, inbox: Inbox
) -> None:
    inbox.fail_with = ConnectionError("database down")
    with pytest.raises(ConnectionError):
        await channel.process_payload(text_update(906, CHAT, "hello"))


async def test_malformed_payload_is_a_value_error(channel: TelegramChannel) -> None:
    with pytest.raises(ValueError, match="malformed"):
        await channel.process_payload({"message": {"text": "no update id"}})


async def test_polling_mode_delivers_queued_updates(
    fake_telegram: FakeTelegram, inbox: Inbox
) -> None:
    channel = build_telegram(
        BOT_TOKEN, api_base_url=fake_telegram.url, on_inbound=inbox, polling=True
    )
    fake_telegram.push_update(text_update(907, CHAT, "/start CODE1"))
    await channel.start()
    try:
        async with asyncio.timeout(5):
            await inbox.arrived.wait()
    finally:
        await channel.stop()

    assert inbox.received[0].command == "/start CODE1"
    assert fake_telegram.of("deleteWebhook")


async def test_start_with_a_token_telegram_refuses_raises_our_error(
    fake_telegram: FakeTelegram,
) -> None:
    channel = build_telegram("999:WRONG", api_base_url=fake_telegram.url)
    with pytest.raises(RetryableDeliveryError) as caught:
        await channel.start()
    await channel.stop()
    assert caught.value.code == "invalid_token"
    assert "WRONG" not in str(caught.value) and caught.value.__cause__ is None
