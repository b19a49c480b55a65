"""The fake providers as the reliability tests use them: Twilio on the shared warped clock."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from tests.fakes import FakeTelegram, FakeTwilio
from tests.fakes.telegram import Fault as TelegramFault
from tests.fakes.twilio import _error as twilio_error


class Clock(Protocol):
    def now(self) -> datetime: ...


class WarpedTwilio(FakeTwilio):
    """FakeTwilio whose message log is stamped with the run's clock.

    carebot reconciles a reclaimed outbox row by listing the messages sent since it was claimed
    (minus the lease) on carebot's clock; the provider's log must be on the same timeline, as
    Twilio's and a production server's clocks are.
    """

    def __init__(self, clock: Clock, **kwargs: Any) -> None:
        self.clock = clock
        self.lose_answers = 0
        """The next this many accepted messages get no answer (the client times out)."""
        super().__init__(**kwargs)

    async def _create_message(self, request: Request) -> Response:
        response = await super()._create_message(request)
        if response.status_code == 201:
            message = self._messages[json.loads(bytes(response.body))["sid"]]
            message.date_created = self.clock.now()
            if message.date_sent is not None:
                message.date_sent = message.date_created
            if self.lose_answers > 0:
                self.lose_answers -= 1
                await self.hang(2.0)
                return twilio_error(504, 20504, "hung")
        return response

    def creates(self) -> int:
        """Message create requests received (accepted or not)."""
        return sum(1 for method, path, _ in list(self.requests) if method == "POST")


def duplicates(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(recipient, body) pairs the provider accepted more than once → extra copies."""
    return {pair: n - 1 for pair, n in Counter(pairs).items() if n > 1}


def twilio_pairs(twilio: FakeTwilio) -> list[tuple[str, str]]:
    return [(f"tel:{sent.to}", sent.body) for sent in list(twilio.sent)]


def telegram_pairs(telegram: FakeTelegram) -> list[tuple[str, str]]:
    """Messages the fake Bot API accepted (calls answered with an injected fault excluded)."""
    stored = dict(telegram._messages)
    return [(f"telegram:{chat}", text) for (chat, _), text in sorted(stored.items())]


@dataclass
class Outage:
    """While ``clock.now() < until``: answer ``status`` (and every ``hang_every``-th request
    hangs for ``hang_seconds`` of wall time, a timeout for a client with a shorter one)."""

    until: datetime
    status: int = 500
    retry_after: float | None = None
    hang_every: int = 0
    hang_seconds: float = 0.0
    requests: int = 0


class FlakyTwilio(WarpedTwilio):
    """WarpedTwilio with an outage window on the run's clock (not a count of requests)."""

    outage: Outage | None = None

    async def _check(
        self, request: Request, method: str, params: dict[str, str]
    ) -> Response | None:
        problem = await super()._check(request, method, params)
        outage = self.outage
        if problem is not None or outage is None or self.clock.now() >= outage.until:
            return problem
        outage.requests += 1
        if outage.hang_every and outage.requests % outage.hang_every == 0:
            await self.hang(outage.hang_seconds)
            return twilio_error(504, 20504, "hung")
        code = 20429 if outage.status == 429 else outage.status
        headers = {"Retry-After": f"{outage.retry_after:g}"} if outage.retry_after else None
        return twilio_error(outage.status, code, "outage", headers)


class FlakyTelegram(FakeTelegram):
    """FakeTelegram answering sendMessage with 429 ``retry_after`` during an outage window."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.outage: Outage | None = None

    def _take_fault(self, method: str) -> TelegramFault | None:
        fault = super()._take_fault(method)
        outage = self.outage
        if fault is not None or method.lower() != "sendmessage" or outage is None:
            return fault
        if self.clock.now() >= outage.until:
            return None
        outage.requests += 1
        retry_after = int(outage.retry_after or 1)
        return TelegramFault(
            method, 429, f"Too Many Requests: retry after {retry_after}", retry_after
        )
