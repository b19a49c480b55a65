"""Fake providers for the adapter tests: one server per session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings, load_settings
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, BOT_TOKEN, FROM_NUMBER, FakeTelegram, FakeTwilio

PUBLIC_BASE_URL = "https://care.example.org"
TELEGRAM_SECRET = "s3cret-token_for-telegram"


@pytest.fixture(scope="session")
def twilio_server() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture(scope="session")
def telegram_server() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def fake_twilio(twilio_server: FakeTwilio) -> Iterator[FakeTwilio]:
    twilio_server.reset()
    yield twilio_server
    twilio_server.reset()


@pytest.fixture
def fake_telegram(telegram_server: FakeTelegram) -> Iterator[FakeTelegram]:
    telegram_server.reset()
    yield telegram_server
    telegram_server.reset()


def make_settings(**overrides: str) -> Settings:
    values = {
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
    }
    values.update(overrides)
    return load_settings({k: v for k, v in values.items() if v}, env_file=None)
