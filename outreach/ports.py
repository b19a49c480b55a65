"""The interfaces the domain needs from the outside world, and the messages that cross them.

Adapters in ``handlers/`` implement :class:`ChannelSender`; ``bot/`` supplies the clock.
Addresses carry their channel as a scheme: ``tel:+15551234567``, ``telegram:123456``,
``voice:+15551234567``, ``sandbox:demo-1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

SCHEMES = ("tel", "telegram", "voice", "sandbox")


def scheme_of(address: str) -> str:
    """The channel scheme of an address (``tel:+1555…`` → ``tel``)."""
    scheme, sep, rest = address.partition(":")
    if not sep or not rest or scheme not in SCHEMES:
        raise ValueError(f"not a carebot address: scheme must be one of {SCHEMES}")
    return scheme


@runtime_checkable
class Clock(Protocol):
    """The one source of time. Returns aware UTC datetimes."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message a person sent us, as parsed from a provider request.

    ``external_id`` is the provider's unique id (Twilio MessageSid, Telegram update_id) used to
    deduplicate deliveries. ``command`` is set for bot commands and button presses
    (``/start CODE``, ``callback:ack:12``).
    """

    channel: str
    address: str
    body: str
    external_id: str
    received_at: datetime
    command: str | None = None
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message to send.

    ``buttons`` are (label, callback data) pairs, for channels that have buttons.
    """

    address: str
    body: str
    idempotency_key: str
    buttons: tuple[tuple[str, str], ...] = ()
    language: str = "en"


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said: its message id and initial status."""

    provider_id: str
    status: str = "sent"


class ChannelSender(Protocol):
    """Sends on one channel.

    ``send`` returns the provider's id. It raises ``RetryableDeliveryError`` (429, 5xx,
    timeouts; ``retry_after`` in seconds when the provider said), ``RecipientOptedOut`` (Twilio
    21610, Telegram 403 blocked) or another ``PermanentDeliveryError`` (invalid number, …).
    Nothing from the provider's library escapes.
    """

    scheme: str

    async def send(self, message: OutboundMessage) -> SendResult: ...


class SentLookup(Protocol):
    """Optional: providers that can list what was sent (Twilio) help reconcile after a crash."""

    async def find_sent(self, address: str, body: str, since: datetime) -> str | None:
        """The provider id of a message with this body sent to ``address`` since ``since``."""
        ...
