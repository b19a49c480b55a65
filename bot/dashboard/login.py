"""Signing in and out: argon2 password check, a fresh session and CSRF token, audit rows."""

from __future__ import annotations

import asyncio
from functools import cache

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.dashboard.sessions import COOKIE, CSRF_FIELD, csrf_matches
from bot.dashboard.web import PREFIX, Dashboard, clean, read_form
from bot.passwords import hash_password, needs_rehash, verify_password
from storage.repositories.audit import AuditRepository
from storage.repositories.managers import ManagerRepository

MAX_EMAIL = 254
MAX_PASSWORD = 1024


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so that the answer takes as long."""
    return hash_password("not-a-password-of-anyone")


def _verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches; without a stored hash a dummy one is checked (and fails)."""
    matches = verify_password(stored or _dummy_hash(), password)
    return matches and stored is not None


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard path only (no open redirect)."""
    if not target or not target.startswith(PREFIX + "/"):
        return PREFIX + "/"
    if "\\" in target or "://" in target or target.startswith("//"):
        return PREFIX + "/"
    return target


class Login:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    async def form(self, request: Request) -> Response:
        codec = self.dashboard.codec
        state = codec.read(request.cookies.get(COOKIE), self.dashboard.now())
        if state.signed_in:
            return RedirectResponse(safe_next(request.query_params.get("next")), 303)
        response = self.dashboard.render(
            "login.html", state, None, next=safe_next(request.query_params.get("next"))
        )
        codec.write(response, state.with_flash(""))
        return response

    async def submit(self, request: Request) -> Response:
        dashboard, codec = self.dashboard, self.dashboard.codec
        now = dashboard.now()
        state = codec.read(request.cookies.get(COOKIE), now)
        form = await read_form(request)
        if form is None or not csrf_matches(state, _text(form.get(CSRF_FIELD))):
            return dashboard.render("error.html", state, None, 403, message="Bad CSRF token")
        email = clean(_text(form.get("email")) or "").lower()[:MAX_EMAIL]
        password = (_text(form.get("password")) or "")[:MAX_PASSWORD]
        target = safe_next(_text(form.get("next")))
        async with dashboard.server.db.session() as session:
            manager = await ManagerRepository(session).by_email(email) if email else None
        stored = manager.password_hash if manager and manager.password_hash else None
        # argon2 takes a good part of a second on purpose: not on the event loop.
        good = await asyncio.to_thread(_verify, stored, password)
        ok = good and manager is not None and manager.active
        fresh = None
        if ok and stored is not None and needs_rehash(stored):
            fresh = await asyncio.to_thread(hash_password, password)
        async with dashboard.server.db.transaction() as session:
            await AuditRepository(session).record(
                at=now,
                actor_type="care_manager",
                actor_id=manager.id if manager else None,
                action="login" if ok else "login.failed",
                entity_type="care_manager",
                entity_id=manager.id if manager else None,
                detail={"via": "dashboard"},
            )
            if fresh is not None and manager is not None:
                await ManagerRepository(session).set_password_hash(manager.id, fresh)
                manager.password_hash = fresh
        if not ok or manager is None:
            response = dashboard.render(
                "login.html",
                state,
                None,
                401,
                next=target,
                email=email,
                error="Wrong e-mail or password.",
            )
            codec.write(response, state)
            return response
        redirect = RedirectResponse(target, status_code=303)
        codec.write(redirect, codec.signed_in(manager.id, manager.password_hash, now))
        return redirect

    async def logout(self, request: Request) -> Response:
        dashboard, codec = self.dashboard, self.dashboard.codec
        now = dashboard.now()
        state = codec.read(request.cookies.get(COOKIE), now)
        form = await read_form(request)
        if form is None or not csrf_matches(state, _text(form.get(CSRF_FIELD))):
            return dashboard.render("error.html", state, None, 403, message="Bad CSRF token")
        if state.user_id is not None:
            async with dashboard.server.db.transaction() as session:
                await AuditRepository(session).record(
                    at=now,
                    actor_type="care_manager",
                    actor_id=state.user_id,
                    action="logout",
                    entity_type="care_manager",
                    entity_id=state.user_id,
                    detail={"via": "dashboard"},
                )
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        codec.write(response, codec.anonymous().with_flash("You are signed out."))
        return response


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
