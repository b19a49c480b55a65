"""Rate limits: outbound pacing per provider (aiolimiter) and an inbound limit per sender.

Outbound limits wait; they never retry. A provider's 429 is raised to the outbox as a
RetryableDeliveryError (with retry_after), and the outbox owns the backoff.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from aiolimiter import AsyncLimiter

from outreach.ports import ChannelSender, OutboundMessage, SendResult

TELEGRAM_OVERALL_PER_SECOND = 30.0
TELEGRAM_PER_CHAT_PER_SECOND = 1.0
# The GSM 03.38 alphabet; the extension characters take two septets each.
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


def paced(per_second: float) -> AsyncLimiter:
    """A limiter that lets one acquisition through every ``1 / per_second`` seconds.

    The bucket holds one token, so there is no burst: a long code allows 1 segment/s and
    Twilio queues (then fails) anything faster.
    """
    if per_second <= 0:
        raise ValueError("a rate must be positive")
    return AsyncLimiter(1, 1 / per_second)


def sms_segments(body: str) -> int:
    """How many SMS segments ``body`` takes: GSM-7 160/153 characters, else UCS-2 70/67."""
    if all(c in _GSM7 or c in _GSM7_EXTENSION for c in body):
        units = len(body) + sum(c in _GSM7_EXTENSION for c in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


class RateLimited:
    """A ChannelSender that waits for its limits before each send of the wrapped sender.

    ``per_second`` limits the whole sender (share one instance across the process), counting
    ``cost(message)`` units per message (default 1; SMS segments for Twilio);
    ``per_recipient_per_second`` limits each address separately. Idle per-recipient limiters
    are dropped beyond ``max_recipients`` so memory stays bounded.
    """

    def __init__(
        self,
        sender: ChannelSender,
        *,
        per_second: float | None = None,
        per_recipient_per_second: float | None = None,
        cost: Callable[[OutboundMessage], int] | None = None,
        max_recipients: int = 10_000,
    ) -> None:
        self.inner = sender
        self.scheme = sender.scheme
        self.per_second = per_second
        self.per_recipient_per_second = per_recipient_per_second
        self._overall = paced(per_second) if per_second else None
        self._cost = cost
        self._recipients: OrderedDict[str, AsyncLimiter] = OrderedDict()
        self._max_recipients = max_recipients

    async def send(self, message: OutboundMessage) -> SendResult:
        # The recipient's own limit first, so a busy chat never holds the shared budget.
        recipient = self._recipient_limiter(message.address)
        if recipient is not None:
            await recipient.acquire()
        if self._overall is not None:
            for _ in range(self._cost(message) if self._cost else 1):
                await self._overall.acquire()
        return await self.inner.send(message)

    @property
    def tracked_recipients(self) -> int:
        return len(self._recipients)

    def _recipient_limiter(self, address: str) -> AsyncLimiter | None:
        if not self.per_recipient_per_second:
            return None
        limiter = self._recipients.get(address)
        if limiter is None:
            limiter = self._recipients[address] = paced(self.per_recipient_per_second)
            self._prune()
        else:
            self._recipients.move_to_end(address)
        return limiter

    def _prune(self) -> None:
        while len(self._recipients) > self._max_recipients:
            address, oldest = next(iter(self._recipients.items()))
            if not oldest.has_capacity():
                break  # the least recently used one is still busy: so are the rest
            del self._recipients[address]


def twilio_limit(sender: ChannelSender, mps: float, worker_count: int) -> RateLimited:
    """Twilio: ``TWILIO_MPS`` segments/s for the sender across all ``WORKER_COUNT`` processes.

    A long code sends one *segment* per second; a 300-character text waits for two.
    """
    return RateLimited(
        sender, per_second=mps / max(1, worker_count), cost=lambda m: sms_segments(m.body)
    )


def telegram_limit(sender: ChannelSender, worker_count: int = 1) -> RateLimited:
    """Telegram: 30 messages/s for the bot and 1/s per chat, split across the processes."""
    workers = max(1, worker_count)
    return RateLimited(
        sender,
        per_second=TELEGRAM_OVERALL_PER_SECOND / workers,
        per_recipient_per_second=TELEGRAM_PER_CHAT_PER_SECOND / workers,
    )


class InboundThrottle:
    """A token bucket per sender address for inbound webhooks: ``per_minute`` with ``burst``.

    ``allow(key)`` never waits; it says whether the sender is within its limit. The webhook
    still records an over-limit message (nothing is lost) but does not process it inline; see
    ``bot/web/webhooks.py``. ``throttled`` counts the refusals. Keys are kept in memory only,
    least recently seen dropped beyond ``max_keys``.
    """

    def __init__(
        self,
        per_minute: float = 10.0,
        *,
        burst: float | None = None,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("a rate must be positive")
        self._rate = per_minute / 60.0
        self._burst = burst if burst is not None else per_minute
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.throttled = 0

    def allow(self, key: str) -> bool:
        now = self._clock()
        tokens, stamp = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - stamp) * self._rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        else:
            self.throttled += 1
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return allowed
