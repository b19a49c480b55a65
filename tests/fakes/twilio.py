"""A fake Twilio REST API (Messages, Calls) on loopback, and signed webhook builders."""

from __future__ import annotations

import base64
import binascii
import collections
import hmac
import itertools
import operator
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.fakes.server import LoopbackServer

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
FROM_NUMBER = "+15005550006"
API = "/2010-04-01/Accounts/{sid}"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class SentSms:
    """One message create request the fake accepted: ``form`` is exactly what was posted."""

    sid: str
    form: dict[str, str]

    @property
    def to(self) -> str:
        return self.form.get("To", "")

    @property
    def body(self) -> str:
        return self.form.get("Body", "")


@dataclass
class Fault:
    status: int = 500
    code: int | None = None
    message: str = "Internal Server Error"
    retry_after: float | None = None
    hang: float = 0.0


@dataclass
class _Message:
    sid: str
    to: str
    from_: str
    body: str
    status: str
    date_created: datetime
    date_sent: datetime | None
    direction: str = "outbound-api"
    messaging_service_sid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class FakeTwilio(LoopbackServer):
    """Twilio's ``/2010-04-01/Accounts/{sid}/Messages.json`` (create, list, fetch) and
    ``Calls.json`` (create), with basic auth and fault injection.

    ``auto_send`` (default True) marks each created message sent at once (``date_sent`` set, as
    after the carrier handoff); with False messages stay ``queued`` with no send date.
    """

    def __init__(
        self,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        *,
        auto_send: bool = True,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.auto_send = auto_send
        self.sent: list[SentSms] = []
        self.calls: list[SentSms] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.opted_out: set[str] = set()
        self._messages: dict[str, _Message] = {}
        self._faults: collections.deque[Fault] = collections.deque()
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        base = API.format(sid="{account}")
        super().__init__(
            Starlette(
                routes=[
                    Route(base + "/Messages.json", self._create_message, methods=["POST"]),
                    Route(base + "/Messages.json", self._list_messages, methods=["GET"]),
                    Route(base + "/Messages/{msid}.json", self._fetch_message, methods=["GET"]),
                    Route(base + "/Calls.json", self._create_call, methods=["POST"]),
                ]
            )
        )

    # -- test controls -----------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        code: int | None = None,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` API requests answer ``status`` with Twilio's error JSON."""
        for _ in range(times):
            self._faults.append(
                Fault(status, code if code is not None else status, message or "error", retry_after)
            )

    def hang_next(self, seconds: float = 5.0) -> None:
        """The next API request gets no answer for ``seconds`` (until the server stops)."""
        self._faults.append(Fault(hang=seconds))

    def opt_out(self, number: str) -> None:
        """Sends to ``number`` fail with 21610, as after the recipient replied STOP."""
        self.opted_out.add(number)

    def add_message(
        self,
        to: str,
        body: str,
        *,
        date_sent: datetime | None,
        status: str = "delivered",
        from_: str = FROM_NUMBER,
        date_created: datetime | None = None,
        direction: str = "outbound-api",
    ) -> str:
        """Put a message in the account's log (as if sent earlier); returns its SID."""
        sid = self._sid("SM")
        created = date_created or date_sent or datetime.now(UTC)
        self._messages[sid] = _Message(sid, to, from_, body, status, created, date_sent, direction)
        return sid

    def set_status(self, sid: str, status: str) -> None:
        message = self._messages[sid]
        message.status = status
        if status in ("sent", "delivered") and message.date_sent is None:
            message.date_sent = datetime.now(UTC)

    def reset(self) -> None:
        self.sent.clear()
        self.calls.clear()
        self.requests.clear()
        self.opted_out.clear()
        self._messages.clear()
        self._faults.clear()
        self.auto_send = True

    @property
    def api_base_url(self) -> str:
        return self.url

    # -- webhook builders --------------------------------------------------------------------

    def status_callback(
        self, sid: str, status: str, url: str, *, error_code: str | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The form and headers Twilio posts to a StatusCallback ``url`` for message ``sid``."""
        message = self._messages[sid]
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message.from_,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if error_code:
            form["ErrorCode"] = error_code
        return form, signed_headers(self.auth_token, url, form)

    async def deliver_statuses(
        self, sid: str, statuses: list[str], url: str, client: httpx.AsyncClient
    ) -> list[int]:
        """Post signed status callbacks in the order given (out of order is allowed)."""
        codes = []
        for status in statuses:
            form, headers = self.status_callback(sid, status, url)
            response = await client.post(url, data=form, headers=headers)
            codes.append(response.status_code)
        return codes

    # -- handlers ----------------------------------------------------------------------------

    async def _create_message(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        problem = await self._check(request, "POST", form)
        if problem is not None:
            return problem
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From"), form.get("MessagingServiceSid")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not (sender or service):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if not _E164.match(to):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if to in self.opted_out:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = self._sid("SM")
        now = datetime.now(UTC)
        message = _Message(sid, to, sender or "", body, "queued", now, None)
        message.messaging_service_sid = service
        created = self._json(message)
        if self.auto_send:
            message.status, message.date_sent = "sent", now
        self._messages[sid] = message
        self.sent.append(SentSms(sid, form))
        return JSONResponse(created, status_code=201)

    async def _list_messages(self, request: Request) -> Response:
        query = dict(request.query_params)
        problem = await self._check(request, "GET", query)
        if problem is not None:
            return problem
        found = [
            m
            for m in self._messages.values()
            if ("To" not in query or m.to == query["To"])
            and ("From" not in query or m.from_ == query["From"])
            and _sent_matches(m.date_sent, query)
        ]
        found.sort(key=lambda m: m.date_created, reverse=True)
        size = int(query.get("PageSize", "50"))
        page = [self._json(m) for m in found[:size]]
        uri = request.url.path + ("?" + request.url.query if request.url.query else "")
        return JSONResponse(
            {
                "messages": page,
                "end": max(0, len(page) - 1),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )

    async def _fetch_message(self, request: Request) -> Response:
        problem = await self._check(request, "GET", {})
        if problem is not None:
            return problem
        message = self._messages.get(request.path_params["msid"])
        if message is None:
            return _error(404, 20404, "The requested resource was not found")
        return JSONResponse(self._json(message))

    async def _create_call(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        problem = await self._check(request, "POST", form)
        if problem is not None:
            return problem
        if not _E164.match(form.get("To", "")):
            return _error(400, 21211, "Invalid 'To' Phone Number")
        sid = self._sid("CA")
        self.calls.append(SentSms(sid, form))
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "status": "queued",
                "direction": "outbound-api",
                "date_created": now,
                "date_updated": now,
                "api_version": "2010-04-01",
                "uri": f"{API.format(sid=self.account_sid)}/Calls/{sid}.json",
            },
            status_code=201,
        )

    async def _check(
        self, request: Request, method: str, params: dict[str, str]
    ) -> Response | None:
        self.requests.append((method, request.url.path, params))
        if request.path_params.get("account") != self.account_sid or not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is None:
            return None
        if fault.hang:
            await self.hang(fault.hang)
            return _error(504, 20504, "hung")
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else None
        return _error(fault.status, fault.code, fault.message, headers)

    def _authorized(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{self.account_sid}:{self.auth_token}"
        return hmac.compare_digest(decoded.encode(), expected.encode())

    def _sid(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter):08x}{secrets.token_hex(12)}"

    def _json(self, m: _Message) -> dict[str, Any]:
        base = API.format(sid=self.account_sid)
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": m.body,
            "date_created": format_datetime(m.date_created, usegmt=True),
            "date_sent": format_datetime(m.date_sent, usegmt=True) if m.date_sent else None,
            "date_updated": format_datetime(m.date_sent or m.date_created, usegmt=True),
            "direction": m.direction,
            "error_code": None,
            "error_message": None,
            "from": m.from_ or None,
            "messaging_service_sid": m.messaging_service_sid,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": m.sid,
            "status": m.status,
            "subresource_uris": {"media": f"{base}/Messages/{m.sid}/Media.json"},
            "to": m.to,
            "uri": f"{base}/Messages/{m.sid}.json",
        }


def _sent_matches(date_sent: datetime | None, query: dict[str, str]) -> bool:
    """Twilio's DateSent filters; a message not yet sent has no date and matches none."""
    for key, keep in (("DateSent>", operator.ge), ("DateSent<", operator.le)):
        if key in query:
            bound = _parse_date(query[key])
            if date_sent is None or not keep(date_sent, bound):
                return False
    if "DateSent" in query:
        return date_sent is not None and date_sent.date() == _parse_date(query["DateSent"]).date()
    return True


def _parse_date(value: str) -> datetime:
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _error(
    status: int, code: int | None, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def signature(auth_token: str, url: str, form: dict[str, str]) -> str:
    """``X-Twilio-Signature`` for a POST of ``form`` to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, form))


def signed_headers(auth_token: str, url: str, form: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": signature(auth_token, url, form)}


def inbound_sms(
    body: str,
    *,
    from_: str = "+15551230001",
    to: str = FROM_NUMBER,
    sid: str | None = None,
    account_sid: str = ACCOUNT_SID,
) -> dict[str, str]:
    """The form fields of Twilio's inbound SMS webhook."""
    sid = sid or "SM" + secrets.token_hex(16)
    return {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "Body": body,
        "From": from_,
        "FromCountry": "US",
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": to,
        "ToCountry": "US",
    }
