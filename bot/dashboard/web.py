"""The dashboard's request cycle: session, CSRF, the signed-in actor, one transaction, render.

Every page handler gets a :class:`Page`: the actor, their :class:`~bot.access.Access`, the
database session of the request's transaction (audit rows commit with it) and the clock's now.
Work that needs its own transaction (starting a check-in) is queued with :meth:`Page.later` and
runs after the commit. Access errors become 404/403 pages and are audit-logged as denials.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.access import Access, Actor, Forbidden
from bot.dashboard import audit
from bot.dashboard.sessions import (
    COOKIE,
    CSRF_FIELD,
    SessionCodec,
    SessionState,
    csrf_matches,
    fingerprint,
)
from bot.server import Server
from outreach.errors import NotFound
from storage.models import CareManager

log = logging.getLogger(__name__)

PREFIX = "/dashboard"
TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 64 * 1024
MAX_ID = 2**63 - 1
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}

Later = Callable[[], Awaitable[str | Response | None]]
"""Work after the commit (in its own transaction): a message for the next page, a response
that replaces the handler's, or None."""


def clean(text: str) -> str:
    """Form and query text without control characters (tab and line breaks stay): PostgreSQL
    refuses NUL, and no field of ours has a use for the others."""
    return CONTROL.sub("", text).strip()


def row_id(text: str | int | None) -> int | None:
    """A database id from a path or form value; None unless a whole number in BIGINT range."""
    text = str(text if text is not None else "")
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
        return None
    return int(text)


def local_time(value: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def duration(value: timedelta | None) -> str:
    """``1 h 05 min``, ``3 min``, ``overdue 12 min`` for negative values."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    prefix = "overdue " if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{prefix}{days} d {hours} h"
    if hours:
        return f"{prefix}{hours} h {minutes:02d} min"
    return f"{prefix}{minutes} min"


def build_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_time
    env.filters["duration"] = duration
    env.globals["prefix"] = PREFIX
    return env


@dataclass
class Page:
    """One signed-in request, inside its transaction."""

    request: Request
    session: AsyncSession
    actor: Actor
    access: Access
    now: datetime
    state: SessionState
    form: FormData | None
    dashboard: Dashboard
    pending: list[Later] = field(default_factory=list)

    def later(self, work: Later) -> None:
        self.pending.append(work)

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return clean(value) if isinstance(value, str) else default

    def secret(self, name: str) -> str:
        """A password field exactly as typed (never stored: it is hashed)."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else ""

    def checked(self, name: str) -> bool:
        return self.field(name) in ("on", "true", "1", "yes")

    def query(self, name: str, default: str = "") -> str:
        return clean(self.request.query_params.get(name, default))

    def path_id(self, name: str) -> int:
        """An id in the path; an impossible one is simply not found."""
        value = row_id(self.request.path_params.get(name))
        if value is None:
            raise NotFound(f"no {name}")
        return value

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        return self.dashboard.render(template, self.state, self.actor, status_code, **context)

    def redirect(self, path: str, flash: str = "") -> Response:
        if flash:
            self.state = self.state.with_flash(flash)
        return RedirectResponse(PREFIX + path, status_code=303)

    async def audit_reads(self, action: str, patient_ids: list[int], **detail: Any) -> None:
        await audit.record_reads(
            self.session, self.actor, self.now, action, patient_ids, detail=detail or None
        )


Handler = Callable[[Page], Awaitable[Response]]


class Dashboard:
    """Shared by every page: the server, the session codec and the templates."""

    def __init__(self, server: Server, idle: timedelta) -> None:
        settings = server.settings
        self.server = server
        self.codec = SessionCodec(
            settings.resolved_secret_key(),
            secure=settings.public_base_url.startswith("https://"),
            idle=idle,
        )
        self.templates = build_templates()

    def now(self) -> datetime:
        return self.server.runtime.clock.now()

    def render(
        self,
        template: str,
        state: SessionState,
        actor: Actor | None,
        status_code: int = 200,
        **context: Any,
    ) -> Response:
        body = self.templates.get_template(template).render(
            actor=actor,
            csrf=Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{state.csrf}">'),
            csrf_token=state.csrf,
            flash=state.flash,
            tz=actor.timezone if actor else self.server.settings.default_timezone,
            **context,
        )
        return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)

    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap ``handler``: signed in (else to the login page), CSRF on POST (else 403)."""

        async def endpoint(request: Request) -> Response:
            now = self.now()
            state = self.codec.read(request.cookies.get(COOKIE), now)
            if not state.signed_in:
                return self._to_login(request, state)
            form = None
            if request.method == "POST":
                form = await read_form(request)
                if form is None or not csrf_matches(state, _str(form.get(CSRF_FIELD))):
                    return self.render("error.html", state, None, 403, message="Bad CSRF token")
            return await self._run(handler, request, state, form, now)

        return endpoint

    async def _run(
        self,
        handler: Handler,
        request: Request,
        state: SessionState,
        form: FormData | None,
        now: datetime,
    ) -> Response:
        denied: tuple[int, str] | None = None
        page: Page | None = None
        try:
            async with self.server.db.transaction() as session:
                manager = await session.get(CareManager, state.user_id)
                if (
                    manager is None
                    or not manager.active
                    or (state.fingerprint != fingerprint(manager.password_hash))
                ):
                    response: Response = self._to_login(request, self.codec.anonymous())
                    return response
                actor = Actor.of(manager, "dashboard")
                page = Page(request, session, actor, Access(session, actor), now, state, form, self)
                response = await handler(page)
        except NotFound:
            denied = (404, "Not found")
        except Forbidden as exc:
            denied = (403, str(exc))
        assert page is not None
        if denied is not None:
            await self._audit_denied(page, denied[0])
            response = page.render("error.html", denied[0], message=denied[1])
        for work in page.pending:
            outcome = await work()
            if isinstance(outcome, Response):
                response = outcome
            elif outcome:
                page.state = page.state.with_flash(outcome)
        state = page.state
        if not isinstance(response, RedirectResponse) and state.flash:
            state = state.with_flash("")  # shown on this page
        self.codec.write(response, state.touched(now))
        return response

    async def _audit_denied(self, page: Page, status: int) -> None:
        async with self.server.db.transaction() as session:
            await audit.record(
                session,
                page.actor,
                page.now,
                "access.denied",
                entity_type="request",
                detail={
                    "path": page.request.url.path,
                    "method": page.request.method,
                    "status": status,
                },
            )

    def _to_login(self, request: Request, state: SessionState) -> Response:
        target = request.url.path if request.method == "GET" else PREFIX + "/"
        if request.url.query and request.method == "GET":
            target += "?" + request.url.query
        response = RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)
        if state.expired:
            state = state.with_flash("Your session timed out. Please sign in again.")
        self.codec.write(response, state)
        return response


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


async def read_form(request: Request) -> FormData | None:
    """The posted form, or None when it is too large or not a form."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        return None
    try:
        return await request.form(max_files=0, max_fields=200)
    except Exception:  # malformed multipart or urlencoded body: treat as a bad request
        return None
