"""The sandbox channel: a local web chat that plays the patient, with no provider account.

Sending always succeeds; the page reads what was "sent" from the contact log.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from outreach.errors import PermanentDeliveryError
from outreach.ports import InboundMessage, OutboundMessage, SendResult

MAX_TEXT = 1600


class SandboxSender:
    """A ChannelSender for ``sandbox:`` addresses; ``sent`` keeps the last messages for tests."""

    scheme = "sandbox"

    def __init__(self, keep: int = 100) -> None:
        self.sent: list[tuple[str, OutboundMessage]] = []
        self._keep = keep

    async def send(self, message: OutboundMessage) -> SendResult:
        if not is_sandbox_address(message.address):
            raise PermanentDeliveryError("not a sandbox address", code="invalid_address")
        provider_id = new_id("SB")
        self.sent.append((provider_id, message))
        del self.sent[: -self._keep]
        return SendResult(provider_id=provider_id, status="delivered")


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def is_sandbox_address(address: str) -> bool:
    scheme, _, rest = address.partition(":")
    return scheme == "sandbox" and bool(rest) and len(address) <= 200 and rest.isprintable()


def parse_inbound(payload: Mapping[str, Any]) -> InboundMessage:
    """A stored sandbox message as InboundMessage.

    The payload holds ``external_id``, ``address``, ``text`` and ``received_at`` (ISO 8601 with
    offset). Raises ValueError for a payload that is not one.
    """
    address = _text(payload, "address")
    if not is_sandbox_address(address):
        raise ValueError("invalid address")
    text, external_id = _text(payload, "text"), _text(payload, "external_id")
    received = _text(payload, "received_at")
    received_at = datetime.fromisoformat(received)
    if received_at.tzinfo is None:
        raise ValueError("received_at must carry a time zone")
    return InboundMessage(
        channel="sandbox",
        address=address,
        body=text,
        external_id=external_id,
        received_at=received_at,
    )


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str):
        raise ValueError(f"missing {key}")
    return value
