"""Outbound pacing measured over a short real window; the inbound limit with a moved clock."""

from __future__ import annotations

import asyncio
import time

import pytest

from handlers.ratelimit import (
    InboundThrottle,
    RateLimited,
    sms_segments,
    telegram_limit,
    twilio_limit,
)
from outreach.errors import RetryableDeliveryError
from outreach.ports import OutboundMessage, SendResult


class RecordingSender:
    scheme = "tel"

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self.fail_with: Exception | None = None

    async def send(self, message: OutboundMessage) -> SendResult:
        self.calls.append((message.address, time.monotonic()))
        if self.fail_with is not None:
            raise self.fail_with
        return SendResult(f"id{len(self.calls)}")


def msg(address: str = "tel:+15551230001", body: str = "hi") -> OutboundMessage:
    return OutboundMessage(address=address, body=body, idempotency_key="k")


def achieved_rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0])


async def test_overall_rate_is_held_without_a_burst() -> None:
    inner = RecordingSender()
    limited = RateLimited(inner, per_second=10)

    await asyncio.gather(*(limited.send(msg(f"tel:+1555123000{i}")) for i in range(5)))

    rate = achieved_rate([t for _, t in inner.calls])
    assert 8.0 <= rate <= 10.5, rate


async def test_twilio_limit_divides_mps_by_worker_count() -> None:
    inner = RecordingSender()
    limited = twilio_limit(inner, mps=40, worker_count=2)

    await asyncio.gather(*(limited.send(msg()) for _ in range(4)))

    rate = achieved_rate([t for _, t in inner.calls])
    assert 16.0 <= rate <= 21.0, rate
    assert limited.scheme == "tel"


async def test_twilio_limit_counts_segments() -> None:
    inner = RecordingSender()
    limited = twilio_limit(inner, mps=20, worker_count=1)

    await asyncio.gather(*(limited.send(msg(body="x" * 200)) for _ in range(3)))

    rate = achieved_rate([t for _, t in inner.calls])
    assert 8.0 <= rate <= 10.5, rate  # two segments each: half the segment rate


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("x" * 160, 1),
        ("x" * 161, 2),
        ("x" * 306, 2),
        ("x" * 307, 3),
        ("[" * 80, 1),
        ("[" * 81, 2),
        ("é" * 160, 1),
        ("ç" * 70, 1),
        ("ç" * 71, 2),
        ("🙂" * 35, 1),
        ("🙂" * 36, 2),
    ],
)
def test_sms_segments(body: str, segments: int) -> None:
    assert sms_segments(body) == segments


async def test_per_recipient_limit_does_not_hold_up_other_recipients() -> None:
    inner = RecordingSender()
    limited = RateLimited(inner, per_second=200, per_recipient_per_second=20)

    await asyncio.gather(
        *(limited.send(msg("telegram:1")) for _ in range(3)), limited.send(msg("telegram:2"))
    )

    chat_1 = [t for address, t in inner.calls if address == "telegram:1"]
    chat_2 = [t for address, t in inner.calls if address == "telegram:2"]
    assert 16.0 <= achieved_rate(chat_1) <= 21.0
    assert chat_2[0] < chat_1[1]


def test_telegram_limits_are_30_per_second_and_1_per_chat_split_by_workers() -> None:
    limited = telegram_limit(RecordingSender(), worker_count=3)
    assert limited.per_second == pytest.approx(10)
    assert limited.per_recipient_per_second == pytest.approx(1 / 3)


async def test_a_429_is_raised_at_once_not_retried() -> None:
    inner = RecordingSender()
    inner.fail_with = RetryableDeliveryError("slow down", status=429, retry_after=3)
    limited = RateLimited(inner, per_second=100)

    with pytest.raises(RetryableDeliveryError):
        await limited.send(msg())
    assert len(inner.calls) == 1


async def test_idle_recipient_limiters_are_dropped() -> None:
    limited = RateLimited(RecordingSender(), per_recipient_per_second=1000, max_recipients=2)
    for i in range(4):
        await limited.send(msg(f"telegram:{i}"))
        await asyncio.sleep(0.002)
    assert limited.tracked_recipients == 2


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_inbound_throttle_allows_per_minute_per_sender() -> None:
    clock = Clock()
    throttle = InboundThrottle(per_minute=10, clock=clock)

    assert all(throttle.allow("tel:+1") for _ in range(10))
    assert not throttle.allow("tel:+1")
    assert throttle.allow("tel:+2")
    clock.t += 6  # one token back per 6 s
    assert throttle.allow("tel:+1")
    assert not throttle.allow("tel:+1")
    assert throttle.throttled == 2


def test_inbound_throttle_forgets_the_least_recent_senders() -> None:
    throttle = InboundThrottle(per_minute=1, max_keys=2, clock=Clock())
    assert throttle.allow("a") and throttle.allow("b") and throttle.allow("c")
    assert throttle.allow("a")  # forgotten, so a full bucket again
