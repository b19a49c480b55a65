"""Red flag to care-manager alert: from a patient's signed SMS webhook to the alert reaching the
fake Telegram server, p50/p99.

    .venv/bin/python -m bench.alert --quick        # 200 red flags (also --full)
    .venv/bin/python -m bench.alert --messages 5 --engine sqlite

One JSON line per engine. Each red flag comes from a different patient mid-conversation ("I
have crushing chest pain right now" in answer to the first question: an emergency), whose care
manager has linked a Telegram chat of their own; one webhook at a time, one every ``--every``
seconds (red flags are rare: this measures latency, not a queue). carebot runs under uvicorn in
its own process, the fakes in theirs. Alongside: the emergency advice back to the patient (the
reply SMS at the fake Twilio), which carebot sends before anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta
from typing import Any

from bench.common import (
    START,
    Panel,
    carebot_env,
    emit,
    engines,
    fake_provider,
    free_port,
    isolated,
    latency_ms,
    load,
    scratch_database,
    sms_request,
    start_carebot,
    wait_for,
)
from bench.wave import carebot_wave, prepare

RED_FLAG = "I have crushing chest pain right now"
CHAT_BASE = 100_000  # manager n's Telegram chat is CHAT_BASE + n (bench.common.Panel)


async def send_red_flags(url: str, requests: Any, every: float) -> Any:
    return await load(url, requests, 1, pace=every)


async def measure(
    engine: str, messages: int, every: float, *, isolate: bool = True
) -> dict[str, Any]:
    """One engine's figures. ``isolate=False`` (smoke tests) runs carebot, the fakes and the
    load in this process: quick to start, but the figures then mean little."""
    panel = Panel(messages, managers=messages, manager_chats=True)
    with (
        fake_provider("twilio", isolate=isolate) as twilio,
        fake_provider("telegram", isolate=isolate) as telegram,
    ):
        async with scratch_database(engine) as url:
            await prepare(url, panel.count, panel)
            twilio.reset(keep_times=False)
            await isolated(isolate, carebot_wave, url, twilio.url, panel.count)
            port = free_port()
            public = f"http://127.0.0.1:{port}"
            env = carebot_env(url, twilio=twilio.url, telegram=telegram.url)
            env["PUBLIC_BASE_URL"] = public
            bot = await start_carebot(env, port, START + timedelta(hours=1), isolate=isolate)
            try:
                twilio.reset(keep_times=True)
                telegram.reset(keep_times=True)
                phones = [panel.phone(n) for n in range(1, panel.count + 1)]
                requests = [
                    sms_request(public, env["TWILIO_AUTH_TOKEN"], phone, RED_FLAG, f"SMflag{n:06d}")
                    for n, phone in enumerate(phones)
                ]
                began = time.monotonic()
                acked = await isolated(isolate, send_red_flags, bot.url, requests, every)
                alerted = await wait_for(lambda: telegram.stats()["recipients"] >= panel.count, 120)
                waited = time.monotonic() - began
                alerts = _first_by_recipient((chat, at) for chat, at, _ in telegram.times())
                advice = _first_by_recipient((to, at) for to, at in twilio.times())
            finally:
                figures = await bot.stop()
    alert_latency = [
        alerts[str(CHAT_BASE + 1 + n % panel.managers)] - sent
        for n, (sent, _, _) in enumerate(acked, start=1)
        if str(CHAT_BASE + 1 + n % panel.managers) in alerts
    ]
    advice_latency = [
        advice[phone] - sent
        for phone, (sent, _, _) in zip(phones, acked, strict=True)
        if phone in advice
    ]
    return {
        "bench": "alert",
        "engine": engine,
        "red_flags": panel.count,
        "every_s": every,
        "alert": {**latency_ms(alert_latency), "delivered": len(alert_latency)},
        "advice_sms": {**latency_ms(advice_latency), "delivered": len(advice_latency)},
        "ack": latency_ms([b - a for a, b, _ in acked]),
        "not_2xx": sum(1 for *_, status in acked if not 200 <= status < 300),
        "all_alerted": alerted,
        "seconds": round(waited, 1),
        "peak_rss_mb": figures.get("peak_rss_mb"),
        "isolated": isolate,
    }


def _first_by_recipient(pairs: Any) -> dict[str, float]:
    first: dict[str, float] = {}
    for recipient, at in pairs:
        first.setdefault(str(recipient), float(at))
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const=200, dest="messages")
    size.add_argument("--full", action="store_const", const=200, dest="messages")
    size.add_argument("--messages", type=int)
    parser.add_argument("--every", type=float, default=0.1, help="seconds between red flags")
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for engine in engines(args.engine):
        emit(asyncio.run(measure(engine, args.messages or 200, args.every)))


if __name__ == "__main__":
    main()
