"""The senders of every configured channel, chosen by address scheme."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from handlers.ratelimit import telegram_limit, twilio_limit
from handlers.sandbox import SandboxSender
from handlers.telegram import TelegramChannel
from handlers.twilio_sms import STATUS_CALLBACK_PATH, TwilioSms
from handlers.twilio_voice import TwilioVoice
from outreach.errors import PermanentDeliveryError
from outreach.ports import ChannelSender, OutboundMessage, SendResult, SentLookup, scheme_of


class SenderSettings(Protocol):
    """The part of ``bot.config.Settings`` the senders need (handlers do not import bot)."""

    @property
    def twilio_account_sid(self) -> str | None: ...
    @property
    def twilio_auth_token(self) -> str | None: ...
    @property
    def twilio_from_number(self) -> str | None: ...
    @property
    def twilio_messaging_service_sid(self) -> str | None: ...
    @property
    def twilio_api_base_url(self) -> str: ...
    @property
    def twilio_mps(self) -> float: ...
    @property
    def worker_count(self) -> int: ...
    @property
    def public_base_url(self) -> str: ...
    @property
    def sandbox_enabled(self) -> bool: ...


class Senders:
    """scheme → ChannelSender. ``send`` picks the sender by the address's scheme.

    ``lookups`` are the channels that can list what they sent (Twilio); ``owned`` are the
    senders whose ``aclose`` this registry calls.
    """

    def __init__(
        self,
        senders: Iterable[ChannelSender],
        *,
        lookups: dict[str, SentLookup] | None = None,
        owned: Iterable[TwilioSms] = (),
    ) -> None:
        self._senders = {sender.scheme: sender for sender in senders}
        self._lookups = dict(lookups or {})
        self._owned = list(owned)

    @property
    def schemes(self) -> frozenset[str]:
        return frozenset(self._senders)

    def __contains__(self, scheme: object) -> bool:
        return scheme in self._senders

    def __getitem__(self, scheme: str) -> ChannelSender:
        return self._senders[scheme]

    def sender_for(self, address: str) -> ChannelSender:
        """The sender for ``address``; PermanentDeliveryError when its channel is not set up."""
        try:
            scheme = scheme_of(address)
        except ValueError:
            raise PermanentDeliveryError("not a carebot address", code="invalid_address") from None
        sender = self._senders.get(scheme)
        if sender is None:
            raise PermanentDeliveryError(
                f"the {scheme} channel is not configured", code="channel_not_configured"
            )
        return sender

    async def send(self, message: OutboundMessage) -> SendResult:
        return await self.sender_for(message.address).send(message)

    def can_look_up(self, address: str) -> bool:
        """Whether ``find_sent`` can tell if a message went out (Twilio yes, Telegram no)."""
        try:
            return scheme_of(address) in self._lookups
        except ValueError:
            return False

    async def find_sent(self, address: str, body: str, since: datetime) -> str | None:
        """The provider id of a matching message sent since ``since``; None when none was
        found or the channel cannot tell (see :meth:`can_look_up`)."""
        lookup = self._lookups.get(scheme_of(address))
        if lookup is None:
            return None
        return await lookup.find_sent(address, body, since)

    async def aclose(self) -> None:
        for owned in self._owned:
            await owned.aclose()


def build_senders(
    settings: SenderSettings,
    *,
    telegram: TelegramChannel | None = None,
    sandbox: bool | None = None,
    twilio_timeout: float = 10.0,
) -> Senders:
    """The senders of every configured channel, each behind its rate limit.

    Twilio when its account SID, auth token and a from number or messaging service are set;
    Telegram when a ``telegram`` channel is given (its start/stop stay with the caller, who
    also runs its webhook); the sandbox when ``sandbox`` (default ``settings.sandbox_enabled``).
    """
    senders: list[ChannelSender] = []
    lookups: dict[str, SentLookup] = {}
    owned: list[TwilioSms] = []
    sid, token = settings.twilio_account_sid, settings.twilio_auth_token
    if sid and token and (settings.twilio_from_number or settings.twilio_messaging_service_sid):
        sms = TwilioSms(
            account_sid=sid,
            auth_token=token,
            from_number=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            status_callback_url=settings.public_base_url.rstrip("/") + STATUS_CALLBACK_PATH,
            api_base_url=settings.twilio_api_base_url,
            timeout=twilio_timeout,
        )
        senders.append(twilio_limit(sms, settings.twilio_mps, settings.worker_count))
        if settings.twilio_from_number:  # calls (voice:) need a from number; they share the client
            senders.append(TwilioVoice(sms, settings.twilio_from_number, settings.public_base_url))
        lookups[sms.scheme] = sms
        owned.append(sms)
    if telegram is not None:
        senders.append(telegram_limit(telegram, settings.worker_count))
    if settings.sandbox_enabled if sandbox is None else sandbox:
        senders.append(SandboxSender())
    return Senders(senders, lookups=lookups, owned=owned)
