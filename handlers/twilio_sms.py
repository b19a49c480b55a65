"""Twilio SMS: the one seam between carebot and the ``twilio`` library for text messages.

Sending goes through the official async client; every twilio or aiohttp exception is translated
here into carebot's delivery errors::

    HTTP 429 / code 20429, 5xx, 401, timeout,
    connection error, unreadable answer          -> RetryableDeliveryError (retry_after if given)
    code 21610 (recipient replied STOP)          -> RecipientOptedOut
    any other 4xx (21211 invalid number, ...)    -> PermanentDeliveryError(code=<Twilio code>)

401 is retryable on purpose: a wrong or rotated auth token is an outage to fix, and treating it
as permanent would fail every queued message at once; message expiry still bounds the retries.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioException
from twilio.request_validator import RequestValidator

from handlers.twilio_client import (
    DEFAULT_API_BASE_URL,
    BaseUrlClient,
    RetryAfterHttpClient,
    last_retry_after,
)
from outreach.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RecipientOptedOut,
    RetryableDeliveryError,
)
from outreach.ports import InboundMessage, OutboundMessage, SendResult

log = logging.getLogger(__name__)

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
OPTED_OUT = 21610
TOO_MANY_REQUESTS = 20429
# Statuses of a message Twilio has accepted but not yet handed to the carrier (no date_sent yet).
_NOT_YET_SENT = frozenset({"accepted", "scheduled", "queued", "sending"})


class TwilioSms:
    """Sends SMS through Twilio; also a ``SentLookup`` for reconciling after a crash.

    The aiohttp-based client is created lazily inside the running loop (first call, or
    :meth:`start`) and must be closed with :meth:`aclose`. ``timeout`` bounds every API call
    (twilio's own timeout setting is ignored by its async client).
    """

    scheme = "tel"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback_url: str | None = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout: float = 10.0,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs a from number or a messaging service SID")
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._from_number = from_number
        self._messaging_service_sid = messaging_service_sid
        self._status_callback_url = status_callback_url
        self._api_base_url = api_base_url
        self._timeout = timeout
        self._client: BaseUrlClient | None = None
        self._http: RetryAfterHttpClient | None = None

    async def start(self) -> None:
        """Create the async HTTP client (needs the running loop)."""
        self._rest()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._http = None
        self._client = None

    async def send(self, message: OutboundMessage) -> SendResult:
        to = phone_of(message.address)
        params: dict[str, Any] = {"to": to, "body": message.body}
        if self._messaging_service_sid:
            params["messaging_service_sid"] = self._messaging_service_sid
        if self._from_number:
            params["from_"] = self._from_number
        if self._status_callback_url:
            params["status_callback"] = self._status_callback_url
        client = self._rest()
        try:
            async with asyncio.timeout(self._timeout):
                created = await client.messages.create_async(**params)
        except _TRANSLATED as exc:
            raise delivery_error(exc) from exc
        log.info("twilio sms accepted sid=%s key=%s", created.sid, message.idempotency_key)
        return SendResult(provider_id=str(created.sid), status=str(created.status or "queued"))

    async def find_sent(self, address: str, body: str, since: datetime) -> str | None:
        """The SID of a message with this body sent to ``address`` since ``since``, if any.

        Looks at messages Twilio sent since then (``DateSent>``) and, because a message still in
        Twilio's queue has no send date yet, at the recent ones created since then.
        """
        to = phone_of(address)
        since = since.astimezone(UTC)
        client = self._rest()
        try:
            async with asyncio.timeout(self._timeout):
                sent = await client.messages.list_async(to=to, date_sent_after=since, limit=200)
                found = _match(sent, body, since)
                if found is None:
                    recent = await client.messages.list_async(to=to, limit=50)
                    found = _match(
                        (m for m in recent if str(m.status) in _NOT_YET_SENT), body, since
                    )
        except _TRANSLATED as exc:
            raise delivery_error(exc) from exc
        return found

    def _rest(self) -> BaseUrlClient:
        if self._client is None:
            self._http = RetryAfterHttpClient()
            self._client = BaseUrlClient(
                self._account_sid,
                self._auth_token,
                http_client=self._http,
                api_base_url=self._api_base_url,
            )
        return self._client


def _match(messages: Iterable[Any], body: str, since: datetime) -> str | None:
    for record in messages:
        if record.body != body or not str(record.direction or "").startswith("outbound"):
            continue
        stamp = record.date_sent or record.date_created
        if stamp is None or stamp >= since:
            return str(record.sid)
    return None


_TRANSLATED = (TwilioException, TimeoutError, aiohttp.ClientError, OSError)


def delivery_error(exc: BaseException) -> DeliveryError:
    """Translate what the twilio client raised (one of ``_TRANSLATED``) into a delivery error."""
    if isinstance(exc, TimeoutError):
        return RetryableDeliveryError("Twilio did not answer in time", code="timeout")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return RetryableDeliveryError(
            f"could not reach Twilio ({type(exc).__name__})", code="connection"
        )
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    if not isinstance(status, int):
        return RetryableDeliveryError("Twilio gave an unreadable answer", code="unreadable")
    code_text = str(code) if code is not None else None
    message = f"Twilio refused the message: HTTP {status}, code {code_text}"
    if status == 429 or code == TOO_MANY_REQUESTS:
        return RetryableDeliveryError(
            message, code=code_text, status=status, retry_after=last_retry_after()
        )
    if status >= 500 or status == 401:
        return RetryableDeliveryError(
            message, code=code_text, status=status, retry_after=last_retry_after()
        )
    if code == OPTED_OUT:
        return RecipientOptedOut(message, code=code_text, status=status)
    return PermanentDeliveryError(message, code=code_text, status=status)


def phone_of(address: str) -> str:
    """``tel:+15551234567`` → ``+15551234567``; anything else is a permanent error."""
    scheme, _, number = address.partition(":")
    if scheme not in ("tel", "voice") or not number.startswith("+") or not number[1:].isdigit():
        raise PermanentDeliveryError("not an E.164 phone address", code="invalid_address")
    return number


def parse_inbound(form: Mapping[str, str], received_at: datetime) -> InboundMessage:
    """An inbound SMS webhook's form fields as an InboundMessage.

    Raises ValueError naming the missing field when ``MessageSid`` or ``From`` is absent.
    """
    for field in ("MessageSid", "From"):
        if not form.get(field):
            raise ValueError(f"missing {field}")
    sender = form["From"]
    address = sender if sender.startswith("tel:") else f"tel:{sender}"
    return InboundMessage(
        channel="sms",
        address=address,
        body=form.get("Body", ""),
        external_id=form["MessageSid"],
        received_at=received_at,
        raw=dict(form),
    )


class SignatureCheck:
    """Checks ``X-Twilio-Signature`` against the configured public URL, never the request's.

    Behind a TLS-terminating proxy the URL the app sees differs from the one Twilio signed, so
    the URL is rebuilt from ``public_base_url`` + path + query. twilio's own ``validate``
    compares with a loop of its own; this class computes the signature with twilio and compares
    with ``hmac.compare_digest``. Like twilio, it accepts the URL with and without the port.
    """

    def __init__(self, auth_token: str, public_base_url: str) -> None:
        self._validator = RequestValidator(auth_token)
        self._base = public_base_url.rstrip("/")

    def url_for(self, path: str, query: str = "") -> str:
        return self._base + path + (f"?{query}" if query else "")

    def is_valid(
        self, path: str, query: str, params: Mapping[str, Any], signature: str | None
    ) -> bool:
        if not signature:
            return False
        url = self.url_for(path, query)
        expected = signature.encode()
        return any(
            hmac.compare_digest(self._validator.compute_signature(u, params).encode(), expected)
            for u in _port_variants(url)
        )


def _port_variants(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.port:
        return url, urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))
    port = 443 if parts.scheme == "https" else 80
    return url, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))
