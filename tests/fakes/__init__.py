"""Fake providers on loopback (real HTTP servers in their own thread) and webhook builders.

with FakeTwilio() as twilio, FakeTelegram() as telegram:   # or ``async with``
    settings = {"TWILIO_API_BASE_URL": twilio.url, "TELEGRAM_API_BASE_URL": telegram.url}
"""

from tests.fakes.telegram import BOT_TOKEN, BOT_USERNAME, FakeTelegram, callback_update, text_update
from tests.fakes.twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    FakeTwilio,
    inbound_sms,
    signature,
    signed_headers,
)

__all__ = [
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "BOT_TOKEN",
    "BOT_USERNAME",
    "FROM_NUMBER",
    "FakeTelegram",
    "FakeTwilio",
    "callback_update",
    "inbound_sms",
    "signature",
    "signed_headers",
    "text_update",
]
