"""Twilio Voice webhooks under ``/webhooks/twilio/voice/…``: signed, capped, answered with TwiML.

Same gate as the other Twilio webhooks (``bot/web/webhooks.py``): a missing or wrong
``X-Twilio-Signature`` (checked against ``PUBLIC_BASE_URL`` + path + query) gets 403 and nothing
is recorded; bodies over the cap get 413; a database that cannot be reached gets 503. Unlike
SMS, a call's webhook is processed before the answer, because the answer is what the caller
hears next (``bot/voice.py``). Logs carry call SIDs and ids only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.config import Settings
from bot.voice import Turn, VoiceCalls
from bot.web.webhooks import EMPTY_TWIML, MAX_BODY_BYTES, Rejected, reject, signed_form
from handlers.twilio_sms import SignatureCheck
from handlers.twilio_voice import (
    ANSWER_PATH,
    GATHER_PATH,
    IDENTITY_PATH,
    STATUS_PATH,
    CallScript,
    speech_voice,
)
from storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

_QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TWIML = "text/xml"


class VoiceHost(Protocol):
    """Holds the call host once the process started (``bot.server.Server``)."""

    @property
    def voice(self) -> VoiceCalls | None: ...


Handler = Callable[[VoiceCalls, Request, dict[str, str]], Awaitable[Response]]


def voice_routes(
    settings: Settings, host: VoiceHost, *, max_body: int = MAX_BODY_BYTES
) -> list[Route]:
    """The call webhooks; 404 when Twilio is not configured."""
    token = settings.twilio_auth_token
    signatures = SignatureCheck(token, settings.public_base_url) if token else None

    def route(path: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                form = await _signed_form(request, signatures, max_body)
                calls = host.voice
                if calls is None:
                    raise reject(503, "not started")
                return await handler(calls, request, form)
            except Rejected as rejected:
                return rejected.response
            except DatabaseUnavailable:
                log.warning("voice webhook %s: database unavailable, answered 503", path)
                return PlainTextResponse("temporarily unavailable", status_code=503)
            except Exception:
                log.exception("voice webhook %s failed", path)
                return _apology()

        return Route(path, endpoint, methods=["POST"])

    return [
        route(ANSWER_PATH, _answer),
        route(IDENTITY_PATH, _identity),
        route(GATHER_PATH, _gather),
        route(STATUS_PATH, _status),
    ]


async def _answer(calls: VoiceCalls, request: Request, form: dict[str, str]) -> Response:
    return _twiml(await calls.answer(_int(request, "outbox"), _with_sid(form)))


async def _identity(calls: VoiceCalls, request: Request, form: dict[str, str]) -> Response:
    return _twiml(await calls.identity(_int(request, "outbox"), _with_sid(form)))


async def _gather(calls: VoiceCalls, request: Request, form: dict[str, str]) -> Response:
    question = request.query_params.get("q", "")
    if not _QUESTION_ID.match(question):
        raise reject(400, "bad question id")
    turn = Turn(question, _int(request, "n"), _int(request, "t"))
    return _twiml(await calls.gather(_int(request, "outbox"), turn, _with_sid(form)))


async def _status(calls: VoiceCalls, request: Request, form: dict[str, str]) -> Response:
    await calls.status(_int(request, "outbox"), _with_sid(form))
    return _twiml(EMPTY_TWIML)


async def _signed_form(
    request: Request, signatures: SignatureCheck | None, max_body: int
) -> dict[str, str]:
    return await signed_form(request, signatures, max_body, "voice")


def _with_sid(form: dict[str, str]) -> dict[str, str]:
    if not form.get("CallSid"):
        raise reject(400, "missing CallSid")
    return form


def _int(request: Request, name: str) -> int:
    value = request.query_params.get(name, "")
    if not value.isdigit() or len(value) > 12:
        raise reject(400, f"bad {name}")
    return int(value)


def _twiml(xml: str) -> Response:
    return Response(xml, media_type=_TWIML)


def _apology() -> Response:
    """A caller hears an apology instead of Twilio's "application error" when we fail."""
    script = CallScript(speech_voice("en"), "en")
    return _twiml(script.say_all([script.words("failed")]))
