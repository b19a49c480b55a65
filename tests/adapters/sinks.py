"""Hand-written fakes of the inbox and status sinks the webhook routes write to."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.web.webhooks import InboxUnavailable


class FakeInbox:
    """Dedupes on (provider, external_id) like the UNIQUE constraint of the real inbox."""

    def __init__(self) -> None:
        self.accepts: list[tuple[str, str]] = []
        self.rows: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.scheduled: list[int] = []
        self.unavailable = False

    async def accept(self, provider: str, external_id: str, payload: dict[str, Any]) -> int | None:
        self.accepts.append((provider, external_id))
        await asyncio.sleep(0)  # let concurrent deliveries interleave, as a database would
        if self.unavailable:
            raise InboxUnavailable("database unreachable")
        if (provider, external_id) in self.rows:
            return None
        inbox_id = len(self.rows) + 1
        self.rows[(provider, external_id)] = (inbox_id, payload)
        return inbox_id

    def process_soon(self, inbox_id: int) -> None:
        self.scheduled.append(inbox_id)

    def payload(self, provider: str, external_id: str) -> dict[str, Any]:
        return self.rows[(provider, external_id)][1]


class FakeStatuses:
    def __init__(self) -> None:
        self.updates: list[tuple[str, str, str | None]] = []
        self.unavailable = False

    async def delivery_status(
        self, provider_id: str, status: str, error_code: str | None, raw: dict[str, str]
    ) -> None:
        if self.unavailable:
            raise InboxUnavailable("database unreachable")
        self.updates.append((provider_id, status, error_code))
