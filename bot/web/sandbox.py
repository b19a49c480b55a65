"""The sandbox chat page: play a demo patient in the browser, no provider account needed.

Messages typed here go through the same inbox and processing as SMS; replies are read back from
the contact log. Mount these routes only when ``settings.sandbox_enabled``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.config import Settings
from bot.web.webhooks import (
    PROVIDER_SANDBOX,
    InboxSink,
    Rejected,
    commit,
    read_body,
    reject,
    utc_now,
)
from handlers.sandbox import MAX_TEXT, is_sandbox_address, new_id
from outreach.errors import ConfigurationError

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
MAX_BODY_BYTES = 16 * 1024
# The page's script is a file of our own; nothing inline runs, so an injected tag could not.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SandboxLog(Protocol):
    """What the page reads; the lead implements it on the contact log."""

    async def messages(self, address: str, after_id: int) -> list[dict[str, Any]]:
        """Messages of ``address`` with id > ``after_id``, oldest first, each
        ``{"id": int, "direction": "in" | "out", "body": str, "at": ISO 8601 str}``."""
        ...

    async def patients(self) -> list[dict[str, Any]]:
        """The demo patients, each ``{"address": "sandbox:…", "name": str}``."""
        ...


def sandbox_routes(
    settings: Settings,
    inbox: InboxSink,
    contact_log: SandboxLog,
    *,
    now: Callable[[], datetime] = utc_now,
) -> list[Route]:
    """The page and its endpoints. Refuses (ConfigurationError) when ``CAREBOT_ENV=production``,
    as a second guard behind the caller's ``settings.sandbox_enabled`` check."""
    if settings.production:
        raise ConfigurationError("the sandbox is disabled when CAREBOT_ENV=production")
    page = _SandboxPage(inbox, contact_log, now)
    return [
        Route("/sandbox", page.show, methods=["GET"], name="sandbox"),
        Route("/sandbox/sandbox.js", page.script, methods=["GET"], name="sandbox_js"),
        Route("/sandbox/messages", page.post_message, methods=["POST"], name="sandbox_post"),
        Route("/sandbox/messages", page.list_messages, methods=["GET"], name="sandbox_messages"),
    ]


class _SandboxPage:
    def __init__(
        self, inbox: InboxSink, contact_log: SandboxLog, now: Callable[[], datetime]
    ) -> None:
        self.inbox, self.contact_log, self.now = inbox, contact_log, now
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
        )

    async def show(self, request: Request) -> Response:
        patients = [
            {"address": str(p.get("address", "")), "name": str(p.get("name", ""))}
            for p in await self.contact_log.patients()
        ]
        html = self.templates.get_template("sandbox.html").render(patients=patients)
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    async def script(self, request: Request) -> Response:
        js = (TEMPLATES / "sandbox.js").read_text(encoding="utf-8")
        return Response(js, media_type="text/javascript", headers=SECURITY_HEADERS)

    async def post_message(self, request: Request) -> Response:
        try:
            address, text = await self._read_message(request)
            external_id = new_id("SBIN")
            payload = {
                "external_id": external_id,
                "address": address,
                "text": text,
                "received_at": self.now().isoformat(),
            }
            inbox_id = await commit(self.inbox, PROVIDER_SANDBOX, external_id, payload)
        except Rejected as rejected:
            return rejected.response
        if inbox_id is not None:
            self.inbox.process_soon(inbox_id)
        log.info("sandbox %s accepted inbox=%s", external_id, inbox_id)
        return JSONResponse({"inbox_id": inbox_id, "external_id": external_id})

    async def list_messages(self, request: Request) -> Response:
        address = request.query_params.get("address", "")
        after = request.query_params.get("after", "0")
        if not is_sandbox_address(address):
            return JSONResponse({"error": "address must be sandbox:<id>"}, status_code=400)
        if not after.isdigit():
            return JSONResponse({"error": "after must be a message id"}, status_code=400)
        messages = await self.contact_log.messages(address, int(after))
        return JSONResponse(messages, headers={"Cache-Control": "no-store"})

    async def _read_message(self, request: Request) -> tuple[str, str]:
        # Only JSON: a cross-site form cannot send it without a CORS preflight we never grant.
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise reject(415, "send application/json")
        try:
            data = json.loads(await read_body(request, MAX_BODY_BYTES))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise reject(400, "body is not JSON") from None
        if not isinstance(data, dict):
            raise reject(400, "body is not a JSON object")
        address, text = data.get("address"), data.get("text")
        if not isinstance(address, str) or not is_sandbox_address(address):
            raise reject(400, "address must be sandbox:<id>")
        if isinstance(text, str):
            text = text.replace("\x00", "")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise reject(400, f"text must be 1 to {MAX_TEXT} characters")
        return address, text
