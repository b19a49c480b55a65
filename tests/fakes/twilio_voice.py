"""A fake Twilio Voice API (Calls.json create and fetch) and a caller who plays the patient.

``FakeTwilioVoice`` is ``FakeTwilio`` plus calls: each ``Calls.json`` request is recorded with
exactly the form posted (``Url``, ``StatusCallback``, ``MachineDetection`` …). ``Caller``
plays the person who picks up one of those calls: it posts Twilio's signed webhooks (answer,
``<Gather>`` results, status callbacks) to the URLs carebot gave, and reads the TwiML back,
keeping Twilio's rules (``numDigits="1"`` takes one key; ``actionOnEmptyResult`` posts
silence).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.twilio import _E164, API, FakeTwilio, SentSms, _error, signed_headers


@dataclass
class FakeCall:
    """One call carebot placed; ``form`` is exactly what was posted to ``Calls.json``."""

    sid: str
    form: dict[str, str]
    status: str = "queued"
    events: list[str] = field(default_factory=list)
    callback_events: list[str] = field(default_factory=list)
    """``StatusCallbackEvent`` as posted (a repeated field)."""

    @property
    def to(self) -> str:
        return self.form.get("To", "")

    @property
    def from_(self) -> str:
        return self.form.get("From", "")

    @property
    def url(self) -> str:
        return self.form.get("Url", "")

    @property
    def status_callback(self) -> str:
        return self.form.get("StatusCallback", "")


class FakeTwilioVoice(FakeTwilio):
    """FakeTwilio with the Voice API: ``Calls.json`` (create) and ``Calls/{sid}.json`` (fetch)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.voice_calls: dict[str, FakeCall] = {}
        base = API.format(sid="{account}")
        # The base class routes Calls.json to ``_create_call``, overridden below.
        self._app.router.routes.append(  # type: ignore[attr-defined]
            Route(base + "/Calls/{csid}.json", self._fetch_call, methods=["GET"])
        )

    def calls_to(self, number: str) -> list[FakeCall]:
        return [call for call in list(self.voice_calls.values()) if call.to == number]

    def reset(self) -> None:
        super().reset()
        self.voice_calls.clear()

    def status_form(
        self, call: FakeCall, status: str, duration: int | None = None
    ) -> dict[str, str]:
        """The form Twilio posts to a call's StatusCallback."""
        call.status = status
        form = {
            **self.call_form(call, status),
            "CallbackSource": "call-progress-events",
            "Timestamp": format_datetime(datetime.now(UTC), usegmt=True),
            "SequenceNumber": str(len(call.events)),
        }
        call.events.append(status)
        if duration is not None:
            form["CallDuration"] = str(duration)
        return form

    def call_form(self, call: FakeCall, status: str = "in-progress") -> dict[str, str]:
        """The fields every webhook of a call carries."""
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "CallStatus": status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
        }

    async def _create_call(self, request: Request) -> Response:
        posted = await request.form()
        form = {k: str(v) for k, v in posted.items()}
        problem = await self._check(request, "POST", form)
        if problem is not None:
            return problem
        if not _E164.match(form.get("To", "")):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {form.get('To', '')}")
        if not form.get("From"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Url"):
            return _error(400, 21205, "Url parameter is required.")
        call = FakeCall(self._sid("CA"), form)
        call.callback_events = [str(v) for v in posted.getlist("StatusCallbackEvent")]
        self.voice_calls[call.sid] = call
        self.calls.append(SentSms(call.sid, form))
        return JSONResponse(self._call_json(call), status_code=201)

    async def _fetch_call(self, request: Request) -> Response:
        problem = await self._check(request, "GET", {})
        if problem is not None:
            return problem
        call = self.voice_calls.get(request.path_params["csid"])
        if call is None:
            return _error(404, 20404, "The requested resource was not found")
        return JSONResponse(self._call_json(call))

    def _call_json(self, call: FakeCall) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return {
            "sid": call.sid,
            "account_sid": self.account_sid,
            "to": call.to,
            "from": call.from_,
            "status": call.status,
            "direction": "outbound-api",
            "answered_by": None,
            "date_created": now,
            "date_updated": now,
            "api_version": "2010-04-01",
            "uri": f"{API.format(sid=self.account_sid)}/Calls/{call.sid}.json",
        }


# -- the person on the phone ------------------------------------------------------------------


@dataclass(frozen=True)
class Twiml:
    """A TwiML answer as the caller experiences it."""

    xml: str

    @property
    def root(self) -> ET.Element:
        return ET.fromstring(self.xml)

    @property
    def says(self) -> list[str]:
        """Every ``<Say>``, in the order heard (those inside a ``<Gather>`` included)."""
        return [say.text or "" for say in self.root.iter("Say")]

    @property
    def text(self) -> str:
        return " ".join(self.says)

    @property
    def gather(self) -> ET.Element | None:
        return self.root.find("Gather")

    @property
    def dial(self) -> str | None:
        dial = self.root.find("Dial")
        return None if dial is None else (dial.text or "").strip()

    @property
    def hangs_up(self) -> bool:
        return self.gather is None


class Caller:
    """Plays the person who answers ``call``: posts its webhooks to carebot, signed."""

    def __init__(self, twilio: FakeTwilioVoice, call: FakeCall, client: httpx.AsyncClient) -> None:
        self.twilio = twilio
        self.call = call
        self.client = client
        self.heard: list[Twiml] = []
        self.codes: list[int] = []
        self._last: tuple[str, dict[str, str]] | None = None

    @property
    def last(self) -> Twiml:
        return self.heard[-1]

    async def pick_up(self, answered_by: str = "human") -> Twiml:
        form = self.twilio.call_form(self.call)
        form["AnsweredBy"] = answered_by
        return await self._post(self.call.url, form)

    async def press(self, digits: str) -> Twiml:
        """Press ``digits`` (and ``#`` where the prompt ends with it) at the current prompt."""
        gather = self._gather()
        form = self.twilio.call_form(self.call)
        if gather.get("numDigits") == "1":
            digits = digits[:1]  # Twilio stops listening after one key
        else:
            form["FinishedOnKey"] = gather.get("finishOnKey", "#")
        form["Digits"] = digits
        return await self._post(self._action(gather), form)

    async def say(self, speech: str, confidence: float = 0.91) -> Twiml:
        form = self.twilio.call_form(self.call)
        form.update(SpeechResult=speech, Confidence=f"{confidence:g}")
        return await self._post(self._action(self._gather()), form)

    async def stay_silent(self) -> Twiml:
        """Say nothing until the ``<Gather>`` times out (actionOnEmptyResult posts anyway)."""
        gather = self._gather()
        assert gather.get("actionOnEmptyResult") == "true"
        return await self._post(self._action(gather), self.twilio.call_form(self.call))

    async def replay(self) -> Twiml:
        """Post the last webhook again, byte for byte, as Twilio does when it retries."""
        assert self._last is not None
        url, form = self._last
        return await self._post(url, form)

    async def finish(self, status: str = "completed", duration: int | None = None) -> int:
        """The call ends: Twilio's status callback (completed, no-answer, busy, failed …)."""
        form = self.twilio.status_form(self.call, status, duration)
        url = self.call.status_callback
        response = await self.client.post(
            url, data=form, headers=signed_headers(self.twilio.auth_token, url, form)
        )
        return response.status_code

    def _gather(self) -> ET.Element:
        gather = self.last.gather
        assert gather is not None, f"no prompt to answer: {self.last.xml}"
        return gather

    @staticmethod
    def _action(gather: ET.Element) -> str:
        action = gather.get("action")
        assert action, "a <Gather> without an action"
        return action

    async def _post(self, url: str, form: dict[str, str]) -> Twiml:
        self._last = (url, dict(form))
        headers = signed_headers(self.twilio.auth_token, url, form)
        response = await self.client.post(url, data=form, headers=headers)
        self.codes.append(response.status_code)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/xml"), response.headers
        twiml = Twiml(response.text)
        self.heard.append(twiml)
        return twiml
