"""A fake Telegram Bot API on loopback, and builders of update JSON."""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import LoopbackServer

BOT_TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuv"
BOT_ID = 123456
BOT_USERNAME = "carebot_test_bot"
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Carebot",
    "username": BOT_USERNAME,
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass(frozen=True)
class ApiCall:
    """One Bot API call: ``params`` exactly as posted (form values are strings; nested values
    such as ``reply_markup`` are JSON strings)."""

    method: str
    params: dict[str, str]

    def json(self, key: str) -> Any:
        return json.loads(self.params[key])


@dataclass
class Fault:
    method: str
    error_code: int
    description: str
    retry_after: int | None = None
    hang: float = 0.0


class FakeTelegram(LoopbackServer):
    """``/bot{token}/{method}`` for getMe, sendMessage, editMessageText, answerCallbackQuery,
    setWebhook, deleteWebhook, getWebhookInfo and getUpdates (long polling, briefly)."""

    def __init__(self, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.calls: list[ApiCall] = []
        self.blocked: set[str] = set()
        self.webhook: dict[str, str] = {}
        self._messages: dict[tuple[str, int], str] = {}
        self._updates: collections.deque[dict[str, Any]] = collections.deque()
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._message_ids = itertools.count(1)
        super().__init__(
            Starlette(routes=[Route("/bot{token}/{method}", self._call, methods=["GET", "POST"])])
        )

    @property
    def api_base_url(self) -> str:
        """The root to configure as TELEGRAM_API_BASE_URL (without ``/bot``)."""
        return self.url

    def of(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    @property
    def sent(self) -> list[ApiCall]:
        return self.of("sendMessage")

    # -- test controls -----------------------------------------------------------------------

    def fail_next(
        self,
        error_code: int = 400,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        method: str = "sendMessage",
    ) -> None:
        """The next call of ``method`` fails with Telegram's error JSON."""
        default = {
            400: "Bad Request: chat not found",
            403: "Forbidden: bot was blocked by the user",
            429: f"Too Many Requests: retry after {retry_after}",
        }.get(error_code, "Internal Server Error")
        self._faults.append(Fault(method, error_code, description or default, retry_after))

    def hang_next(self, seconds: float = 5.0, *, method: str = "sendMessage") -> None:
        self._faults.append(Fault(method, 0, "", hang=seconds))

    def block(self, chat_id: int | str) -> None:
        """The user of ``chat_id`` blocked the bot: sends there get 403."""
        self.blocked.add(str(chat_id))

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (polling mode)."""
        self._updates.append(update)

    def reset(self) -> None:
        self.calls.clear()
        self.blocked.clear()
        self.webhook.clear()
        self._messages.clear()
        self._updates.clear()
        self._faults.clear()
        self._message_ids = itertools.count(1)

    # -- the API -----------------------------------------------------------------------------

    async def _call(self, request: Request) -> Response:
        method = request.path_params["method"]
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        params = {k: str(v) for k, v in (await request.form()).items()}
        params.update(request.query_params)
        self.calls.append(ApiCall(method, params))
        fault = self._take_fault(method)
        if fault is not None:
            if fault.hang:
                await self.hang(fault.hang)
            return _error(fault.error_code or 500, fault.description, fault.retry_after)
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = await handler(params)
        if isinstance(result, Response):
            return result
        return JSONResponse({"ok": True, "result": result})

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.method.lower() == method.lower():
                    return self._faults.pop(i)
        return None

    async def _api_getme(self, params: dict[str, str]) -> Any:
        return BOT_USER

    async def _api_sendmessage(self, params: dict[str, str]) -> Any:
        chat_id, text = params.get("chat_id", ""), params.get("text", "")
        if not chat_id or not text:
            return _error(400, "Bad Request: message text is empty")
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        message_id = next(self._message_ids)
        self._messages[(chat_id, message_id)] = text
        return self._message(chat_id, message_id, text, params)

    async def _api_editmessagetext(self, params: dict[str, str]) -> Any:
        chat_id, text = params.get("chat_id", ""), params.get("text", "")
        key = (chat_id, int(params.get("message_id", "0")))
        if key not in self._messages:
            return _error(400, "Bad Request: message to edit not found")
        if self._messages[key] == text and "reply_markup" not in params:
            return _error(400, "Bad Request: message is not modified")
        self._messages[key] = text
        return self._message(chat_id, key[1], text, params)

    async def _api_answercallbackquery(self, params: dict[str, str]) -> Any:
        return True

    async def _api_setwebhook(self, params: dict[str, str]) -> Any:
        self.webhook = dict(params)
        return True

    async def _api_deletewebhook(self, params: dict[str, str]) -> Any:
        self.webhook = {}
        return True

    async def _api_getwebhookinfo(self, params: dict[str, str]) -> Any:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _api_getupdates(self, params: dict[str, str]) -> Any:
        offset = int(params.get("offset", "0") or 0)
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()
        deadline = time.monotonic() + min(float(params.get("timeout", "0") or 0), 0.5)
        # Updates are pushed from the test's thread: polled, not awaited on an asyncio.Event.
        while not self._updates and time.monotonic() < deadline:
            if self.stopping.is_set():
                break
            await asyncio.sleep(0.02)
        return list(self._updates)

    def _message(self, chat_id: str, message_id: int, text: str, params: dict[str, str]) -> Any:
        chat_type = "private" if int(chat_id) > 0 else "group"
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": {"id": int(chat_id), "type": chat_type},
            "date": int(time.time()),
            "text": text,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = json.loads(params["reply_markup"])
        return message


def _error(code: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=code)


# -- update builders --------------------------------------------------------------------------


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Pat", "language_code": "en"}


def text_update(
    update_id: int,
    chat_id: int,
    text: str,
    *,
    message_id: int = 1,
    date: int = 1_767_225_600,
    user_id: int | None = None,
) -> dict[str, Any]:
    """A private-chat text message update; a leading ``/command`` gets its bot_command entity."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": _user(user_id or chat_id),
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
        "date": date,
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    *,
    message_id: int = 1,
    user_id: int | None = None,
    query_id: str = "4382bfdwdsb323b2d9",
) -> dict[str, Any]:
    """A button press on a bot message ``message_id`` in ``chat_id``."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id,
            "from": _user(user_id or chat_id),
            "chat_instance": "-1234567890",
            "data": data,
            "message": {
                "message_id": message_id,
                "from": BOT_USER,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "date": 1_767_225_600,
                "text": "Alert",
            },
        },
    }
