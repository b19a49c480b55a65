"""Provider webhooks: authenticate, commit to the inbox, answer, then process (SPEC §11, §12, §14).

Every route follows the same order: authenticate (403, nothing recorded) → read the body with a
size cap (413) → parse (400 for a malformed body from an authentic sender) → commit to the inbox
→ 2xx, duplicates included → schedule processing of a new row. A database that cannot be
reached answers 503, which both providers retry.

Inbound rate limit: a sender over :class:`~handlers.ratelimit.InboundThrottle`'s limit is still
recorded and answered 2xx (nothing is lost and the provider does not retry), but its row is not
processed inline: the inbox tick picks it up later, which paces a flood to the tick's rate. The
refusal is logged with the provider id and counted in ``throttle.throttled``.

NUL characters, which PostgreSQL refuses in text, are dropped from free text (a message body,
speech, any Telegram string) and refused (400) in identifiers.

Logs carry provider ids and inbox ids only, never bodies or phone numbers.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.config import Settings
from handlers import sandbox as sandbox_channel
from handlers.ratelimit import InboundThrottle
from handlers.telegram import TelegramChannel
from handlers.twilio_sms import SignatureCheck, parse_inbound
from outreach.errors import CarebotError
from outreach.ports import InboundMessage

log = logging.getLogger(__name__)

PROVIDER_TWILIO = "twilio"
PROVIDER_TELEGRAM = "telegram"
PROVIDER_SANDBOX = "sandbox"
SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
TELEGRAM_PATH = "/webhooks/telegram"
MAX_BODY_BYTES = 64 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class InboxUnavailable(CarebotError, ConnectionError):
    """The inbox (the database) cannot be reached; the webhook answers 503."""


class InboxSink(Protocol):
    async def accept(self, provider: str, external_id: str, payload: dict[str, Any]) -> int | None:
        """Commit the webhook as an inbox row; its id when new, None for a duplicate.

        Unique on (provider, external_id), also under concurrent deliveries. Raises
        InboxUnavailable when the database cannot be reached.
        """
        ...

    def process_soon(self, inbox_id: int) -> None:
        """Schedule processing of the committed row right after the response (background)."""
        ...


class StatusSink(Protocol):
    async def delivery_status(
        self, provider_id: str, status: str, error_code: str | None, raw: dict[str, str]
    ) -> None:
        """Record a delivery status (out of order safe). Raises InboxUnavailable."""
        ...


class Rejected(Exception):
    """Ends a request early with ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def reject(status: int, reason: str) -> Rejected:
    return Rejected(PlainTextResponse(reason, status_code=status))


def utc_now() -> datetime:
    return datetime.now(UTC)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 beyond ``limit`` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise reject(400, "invalid Content-Length")
        if int(declared) > limit:
            raise reject(413, f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise reject(413, f"body larger than {limit} bytes")
    return bytes(body)


async def commit(
    inbox: InboxSink, provider: str, external_id: str, payload: dict[str, Any]
) -> int | None:
    try:
        return await inbox.accept(provider, external_id, payload)
    except InboxUnavailable:
        log.warning("inbox unavailable: %s %s answered 503", provider, external_id)
        raise reject(503, "temporarily unavailable") from None


def webhook_routes(
    settings: Settings,
    inbox: InboxSink,
    statuses: StatusSink,
    telegram: TelegramChannel | None,
    *,
    throttle: InboundThrottle | None = None,
    max_body: int = MAX_BODY_BYTES,
    now: Callable[[], datetime] = utc_now,
) -> list[Route]:
    """The webhook routes. A provider that is not configured answers 404 on its routes."""
    hooks = _Webhooks(
        settings,
        inbox,
        statuses,
        telegram,
        throttle if throttle is not None else InboundThrottle(),
        max_body,
        now,
    )
    return [
        Route(SMS_PATH, _guarded(hooks.twilio_sms), methods=["POST"]),
        Route(STATUS_PATH, _guarded(hooks.twilio_status), methods=["POST"]),
        Route(TELEGRAM_PATH, _guarded(hooks.telegram), methods=["POST"]),
    ]


def _guarded(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Rejected as rejected:
            return rejected.response

    return run


class _Webhooks:
    def __init__(
        self,
        settings: Settings,
        inbox: InboxSink,
        statuses: StatusSink,
        telegram: TelegramChannel | None,
        throttle: InboundThrottle,
        max_body: int,
        now: Callable[[], datetime],
    ) -> None:
        self.inbox, self.statuses, self.telegram_channel = inbox, statuses, telegram
        self.throttle, self.max_body, self.now = throttle, max_body, now
        token = settings.twilio_auth_token
        self.signatures = SignatureCheck(token, settings.public_base_url) if token else None
        secret = settings.telegram_webhook_secret
        self.telegram_secret = secret.encode() if secret else None

    async def twilio_sms(self, request: Request) -> Response:
        form = await self._signed_form(request)
        sid, sender = form.get("MessageSid"), form.get("From")
        if not sid or not sender:
            raise reject(400, "missing MessageSid or From")
        payload = {"form": form, "received_at": self.now().isoformat()}
        inbox_id = await commit(self.inbox, PROVIDER_TWILIO, sid, payload)
        self._process(PROVIDER_TWILIO, sid, inbox_id, f"tel:{sender}")
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def twilio_status(self, request: Request) -> Response:
        form = await self._signed_form(request)
        sid, status = form.get("MessageSid"), form.get("MessageStatus")
        if not sid or not status:
            raise reject(400, "missing MessageSid or MessageStatus")
        try:
            await self.statuses.delivery_status(sid, status, form.get("ErrorCode") or None, form)
        except InboxUnavailable:
            log.warning("status store unavailable: %s answered 503", sid)
            raise reject(503, "temporarily unavailable") from None
        log.info("twilio status sid=%s status=%s", sid, status)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def telegram(self, request: Request) -> Response:
        if self.telegram_channel is None:
            raise reject(404, "Telegram is not configured")
        given = request.headers.get(SECRET_HEADER, "").encode()
        if self.telegram_secret is None or not hmac.compare_digest(given, self.telegram_secret):
            log.warning("telegram webhook rejected: missing or wrong secret token")
            raise reject(403, "forbidden")
        update = _json_object(await read_body(request, self.max_body))
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise reject(400, "update_id missing or not an integer")
        inbox_id = await commit(self.inbox, PROVIDER_TELEGRAM, str(update_id), update)
        chat = _telegram_chat(update)
        sender = f"telegram:{chat}" if chat is not None else None
        self._process(PROVIDER_TELEGRAM, str(update_id), inbox_id, sender)
        return Response(status_code=200)

    async def _signed_form(self, request: Request) -> dict[str, str]:
        return await signed_form(request, self.signatures, self.max_body, "twilio")

    def _process(
        self, provider: str, external_id: str, inbox_id: int | None, sender: str | None
    ) -> None:
        if inbox_id is None:
            log.info("%s %s duplicate, already in the inbox", provider, external_id)
            return
        if sender and not self.throttle.allow(sender):
            log.warning(
                "%s %s over the inbound rate limit: inbox=%s left to the inbox tick (%s so far)",
                provider,
                external_id,
                inbox_id,
                self.throttle.throttled,
            )
            return
        log.info("%s %s accepted inbox=%s", provider, external_id, inbox_id)
        self.inbox.process_soon(inbox_id)


FREE_TEXT_FIELDS = frozenset({"Body", "SpeechResult", "UnstableSpeechResult"})
"""Form fields a person wrote or said: a NUL in them is dropped; in any other field (ids,
numbers, statuses) it is a malformed request."""


async def signed_form(
    request: Request, signatures: SignatureCheck | None, max_body: int, kind: str
) -> dict[str, str]:
    """The form of a Twilio webhook whose ``X-Twilio-Signature`` holds: 404 when Twilio is not
    configured, 403 without a valid signature (nothing recorded), 413 over ``max_body``, 400
    for a NUL character outside the free-text fields (PostgreSQL cannot store one in text)."""
    if signatures is None:
        raise reject(404, "Twilio is not configured")
    signature = request.headers.get("X-Twilio-Signature")
    if not signature:
        log.warning("%s webhook rejected: no signature path=%s", kind, request.url.path)
        raise reject(403, "forbidden")
    body = await read_body(request, max_body)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        pairs = None
    params = ImmutableMultiDict(pairs or [])
    if pairs is None or not signatures.is_valid(
        request.url.path, request.url.query, params, signature
    ):
        log.warning("%s webhook rejected: bad signature path=%s", kind, request.url.path)
        raise reject(403, "forbidden")
    form = dict(params.items())
    for field, value in form.items():
        if "\x00" not in value and "\x00" not in field:
            continue
        if field not in FREE_TEXT_FIELDS:
            log.warning("%s webhook rejected: NUL character path=%s", kind, request.url.path)
            raise reject(400, "a field contains a NUL character")
        form[field] = value.replace("\x00", "")
    return form


def without_nul(value: Any) -> Any:
    """``value`` (parsed JSON) with NUL characters removed from every string in it."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise reject(400, "body is not JSON") from None
    if not isinstance(value, dict):
        raise reject(400, "body is not a JSON object")
    cleaned: dict[str, Any] = without_nul(value)
    return cleaned


def _telegram_chat(update: Mapping[str, Any]) -> int | None:
    """The chat an update comes from, for the per-sender limit (None if it has none)."""
    for key in ("message", "edited_message", "callback_query"):
        part = update.get(key)
        if not isinstance(part, dict):
            continue
        message = part.get("message", part) if key == "callback_query" else part
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
    return None


def inbound_from_inbox(provider: str, payload: Mapping[str, Any]) -> InboundMessage | None:
    """The InboundMessage of a stored Twilio SMS or sandbox row; None for other providers
    (Telegram rows go through ``TelegramChannel.process_payload``).

    Raises ValueError for a row whose payload is not what these webhooks store.
    """
    if provider == PROVIDER_SANDBOX:
        return sandbox_channel.parse_inbound(payload)
    if provider != PROVIDER_TWILIO:
        return None
    form, received = payload.get("form"), payload.get("received_at")
    if not isinstance(form, dict) or not isinstance(received, str):
        raise ValueError("not a stored Twilio SMS webhook")
    return parse_inbound(
        {str(k): str(v) for k, v in form.items()}, datetime.fromisoformat(received)
    )
