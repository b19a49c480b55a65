"""The API's request cycle: bearer token → actor, one transaction, JSON errors.

Status codes: 400 unreadable JSON, 401 no or bad token, 403 not allowed (read-only record),
404 unknown or outside the actor's scope, 409 conflicts with the current state, 413 body too
large, 422 invalid fields. Errors are ``{"error": ..., "detail": [...]}``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.access import Access, Actor, Forbidden
from bot.api.schemas import NO_CONTROL
from bot.dashboard import audit
from bot.dashboard.enrolment import InvalidInput
from bot.server import Server
from outreach.errors import Conflict, ConsentMissing, NotFound
from storage.models import CareManager
from storage.repositories.api_tokens import ApiTokenRepository

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_ID = 2**63 - 1
M = TypeVar("M", bound=BaseModel)
Later = Callable[[], Awaitable[Response | None]]
"""Work after the commit (its own transaction); a response it returns replaces the first."""
PRINTABLE = re.compile(NO_CONTROL)
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class BadRequest(Exception):
    def __init__(self, status: int, message: str, detail: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail or []


def error(status: int, message: str, detail: list[str] | None = None) -> JSONResponse:
    headers = dict(HEADERS)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="carebot"'
    return JSONResponse({"error": message, "detail": detail or []}, status, headers=headers)


def ok(payload: BaseModel | list[Any] | dict[str, Any], status: int = 200) -> JSONResponse:
    if isinstance(payload, BaseModel):
        content: Any = payload.model_dump(mode="json")
    elif isinstance(payload, list):
        content = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in payload]
    else:
        content = payload
    return JSONResponse(content, status, headers=HEADERS)


@dataclass
class Call:
    """One authenticated API request inside its transaction."""

    request: Request
    session: AsyncSession
    actor: Actor
    access: Access
    now: datetime
    server: Server
    pending: list[Later] = field(default_factory=list)

    def later(self, work: Later) -> None:
        self.pending.append(work)

    def path(self, name: str) -> str:
        value = str(self.request.path_params[name])
        if not 0 < len(value) <= 64 or not PRINTABLE.match(value):
            raise NotFound(f"no {name} {value[:64]!r}")
        return value

    def path_id(self, name: str) -> int:
        text = str(self.request.path_params[name])
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
            raise NotFound(f"no {name} {text[:32]!r}")
        return int(text)

    def query(self, name: str, *, max_length: int = 100) -> str:
        """A text parameter ("" when absent); control characters or too long: 422."""
        value = self.request.query_params.get(name, "")
        if len(value) > max_length or not PRINTABLE.match(value):
            raise BadRequest(
                422, f"query parameter {name}: at most {max_length} printable characters"
            )
        return value.strip()

    def query_choice(self, name: str, choices: Collection[str], default: str = "") -> str:
        """One of ``choices``, or ``default`` when absent (present but empty is invalid)."""
        value = self.request.query_params.get(name)
        if value is None:
            return default
        if value not in choices:
            raise BadRequest(422, f"query parameter {name} must be one of {', '.join(choices)}")
        return value

    def query_int(self, name: str, default: int, low: int, high: int) -> int:
        text = self.request.query_params.get(name)
        if text is None:
            return default
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            raise BadRequest(422, f"query parameter {name} must be an integer {low}-{high}")
        return int(text)

    def has_query(self, name: str) -> bool:
        return name in self.request.query_params

    async def body(self, model: type[M], *, required: bool = True) -> M:
        """The JSON body as ``model``; an optional body may be left out (all defaults)."""
        raw = await self.request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise BadRequest(413, "the body is too large")
        if not raw.strip():
            if required:
                raise BadRequest(422, "a JSON body is required")
            raw = b"{}"
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest(400, "the body is not valid JSON") from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            detail = [
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                for e in exc.errors(include_input=False, include_url=False)
            ]
            raise BadRequest(422, "invalid fields", detail) from None


Handler = Callable[[Call], Awaitable[Response]]


class Api:
    def __init__(self, server: Server) -> None:
        self.server = server

    def endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            token = _bearer(request)
            if token is None:
                return error(401, "a bearer token is required")
            now = self.server.runtime.clock.now()
            call: Call | None = None
            try:
                async with self.server.db.transaction() as session:
                    actor = await _actor(session, token)
                    if actor is None:
                        return error(401, "the token is not valid")
                    call = Call(request, session, actor, Access(session, actor), now, self.server)
                    response = await handler(call)
                for work in call.pending:
                    response = await work() or response
            except BadRequest as exc:
                return error(exc.status, exc.message, exc.detail)
            except InvalidInput as exc:
                return error(422, "invalid fields", exc.reasons)
            except (NotFound, Forbidden) as exc:
                status = 404 if isinstance(exc, NotFound) else 403
                if call is not None:
                    await self._audit_denied(call, status)
                return error(status, "not found" if status == 404 else str(exc))
            except (Conflict, ConsentMissing) as exc:
                return error(409, str(exc))
            return response

        return run

    async def _audit_denied(self, call: Call, status: int) -> None:
        async with self.server.db.transaction() as session:
            await audit.record(
                session,
                call.actor,
                call.now,
                "access.denied",
                entity_type="request",
                detail={
                    "path": call.request.url.path,
                    "method": call.request.method,
                    "status": status,
                },
            )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token


async def _actor(session: AsyncSession, token: str) -> Actor | None:
    row = await ApiTokenRepository(session).authenticate(token)
    if row is None:
        return None
    manager = await session.get(CareManager, row.care_manager_id)
    if manager is None or not manager.active:
        return None
    return Actor.of(manager, "api", row.id)
