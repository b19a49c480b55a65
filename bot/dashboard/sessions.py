"""Dashboard sessions: a signed cookie with the user, a CSRF token and the last-seen time.

The cookie is signed (itsdangerous, HMAC-SHA1 over ``SECRET_KEY`` with a salt of its own),
HttpOnly, SameSite=Lax, and Secure when ``PUBLIC_BASE_URL`` is https. It holds no health data.
A session ends after ``idle`` without a request (measured on the injected clock), after
``MAX_AGE`` in all, when the user is deactivated, and when their password changes (the cookie
carries a fingerprint of the password hash). An anonymous session (the login form) carries only
a CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.responses import Response

COOKIE = "carebot_session"
CSRF_FIELD = "csrf_token"
MAX_AGE = timedelta(hours=12)
DEFAULT_IDLE = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class SessionState:
    """What the cookie says. ``user_id`` None: anonymous. ``expired``: it timed out just now."""

    csrf: str
    user_id: int | None = None
    fingerprint: str = ""
    started: float = 0.0
    seen: float = 0.0
    flash: str = ""
    expired: bool = False

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    def touched(self, now: datetime) -> SessionState:
        return replace(self, seen=now.timestamp(), expired=False)

    def with_flash(self, text: str) -> SessionState:
        return replace(self, flash=text)


def fingerprint(password_hash: str | None) -> str:
    """A short digest of the password hash: a new password ends every older session."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def csrf_matches(state: SessionState, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(state.csrf, str(submitted))


class SessionCodec:
    """Reads and writes the session cookie."""

    def __init__(self, secret_key: str, *, secure: bool, idle: timedelta = DEFAULT_IDLE) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="carebot.dashboard.session")
        self.secure = secure
        self.idle = idle

    def anonymous(self) -> SessionState:
        return SessionState(csrf=secrets.token_urlsafe(32))

    def signed_in(self, user_id: int, password_hash: str | None, now: datetime) -> SessionState:
        """A fresh session (new CSRF token, so that one from before the login is worthless)."""
        at = now.timestamp()
        return SessionState(
            csrf=secrets.token_urlsafe(32),
            user_id=user_id,
            fingerprint=fingerprint(password_hash),
            started=at,
            seen=at,
        )

    def read(self, cookie: str | None, now: datetime) -> SessionState:
        """The session in ``cookie``; anonymous when missing, forged or timed out."""
        if not cookie:
            return self.anonymous()
        try:
            data: Any = self._serializer.loads(cookie)
        except BadSignature:
            return self.anonymous()
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return self.anonymous()
        state = SessionState(
            csrf=data["c"],
            user_id=data["u"] if isinstance(data.get("u"), int) else None,
            fingerprint=str(data.get("p", "")),
            started=float(data.get("s", 0)),
            seen=float(data.get("t", 0)),
            flash=str(data.get("f", "")),
        )
        if state.signed_in and self._timed_out(state, now):
            return replace(self.anonymous(), expired=True)
        return state

    def _timed_out(self, state: SessionState, now: datetime) -> bool:
        at = now.timestamp()
        return at - state.seen > self.idle.total_seconds() or (
            at - state.started > MAX_AGE.total_seconds()
        )

    def write(self, response: Response, state: SessionState) -> None:
        data = {
            "c": state.csrf,
            "u": state.user_id,
            "p": state.fingerprint,
            "s": state.started,
            "t": state.seen,
            "f": state.flash,
        }
        response.set_cookie(
            COOKIE,
            self._serializer.dumps(data),
            max_age=int(MAX_AGE.total_seconds()),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", secure=self.secure, httponly=True, samesite="lax")
