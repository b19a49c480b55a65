"""The demo's only channel: patients on the sandbox, care-team SMS recorded, nothing sent.

Care managers' alerts go to ``tel:`` addresses (SPEC §14); in the fast-time month there is no
Twilio account, so this stands in for it and keeps what would have gone out.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from handlers.sandbox import SandboxSender
from outreach.errors import PermanentDeliveryError
from outreach.ports import OutboundMessage, SendResult


class DemoChannel:
    """A ``bot.outbox.Sender``: ``sandbox:`` through the sandbox sender, ``tel:`` recorded."""

    def __init__(self) -> None:
        self.sandbox = SandboxSender()
        self.sms: list[OutboundMessage] = []
        self._ids = itertools.count(1)

    async def send(self, message: OutboundMessage) -> SendResult:
        scheme = message.address.partition(":")[0]
        if scheme == "sandbox":
            return await self.sandbox.send(message)
        if scheme == "tel":
            self.sms.append(message)
            return SendResult(f"DEMO{next(self._ids):06d}", "delivered")
        raise PermanentDeliveryError(
            f"the {scheme} channel is not part of the demo", code="channel_not_configured"
        )

    def can_look_up(self, address: str) -> bool:
        return False

    async def find_sent(self, address: str, body: str, since: datetime) -> str | None:
        return None
