"""Inbound: signed SMS webhook replies from patients mid-conversation at rising concurrency.

    .venv/bin/python -m bench.inbound --quick     # 100/200/400/800 replies at 1/8/32/128 in flight
    .venv/bin/python -m bench.inbound --full      # 200/400/1000/2000
    .venv/bin/python -m bench.inbound --levels 1,8 --replies 20 --engine sqlite

One JSON line per engine. carebot (``create_app(Server(settings))`` under uvicorn, ticks on)
runs in a process of its own; the fake Twilio in another; each load comes from a fresh process
(multiprocessing + aiohttp) that holds ``in_flight`` requests open. Before the levels, every
patient's check-in is started (its first question reached the fake); each reply comes from a
different patient and answers that first question, so each gets the next question back.

(a) acknowledgement: the webhook's response time (signature check, inbox commit, 2xx) and
    throughput, against a hello-world route added to this same app and server, loaded the same
    way with the same bodies just before: ``ratio`` = webhook/s ÷ hello/s.
(b) reply latency: from sending the webhook to the fake Twilio accepting that patient's next
    question (processing runs after the 2xx, in the same process).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta
from typing import Any

from bench.common import (
    HELLO_PATH,
    START,
    Panel,
    carebot_env,
    database_size_mb,
    emit,
    engines,
    fake_provider,
    free_port,
    isolated,
    latency_ms,
    load,
    ratio,
    scratch_database,
    sms_request,
    start_carebot,
    throughput,
    wait_for,
)
from bench.wave import carebot_wave, prepare

QUICK = {1: 100, 8: 200, 32: 400, 128: 800}
FULL = {1: 200, 8: 400, 32: 1000, 128: 2000}
ANSWER = "good"  # a valid answer to the general program's first question
DELIVERY_WAIT_S = 180.0


async def start_conversations(url: str, fake: Any, count: int, isolate: bool) -> None:
    """Every patient's check-in in progress, its first question accepted by the fake."""
    await prepare(url, count)
    fake.reset(keep_times=False)
    await isolated(isolate, carebot_wave, url, fake.url, count)


async def level(
    bot: Any,
    fake: Any,
    public_url: str,
    token: str,
    phones: list[str],
    in_flight: int,
    isolate: bool,
) -> dict[str, Any]:
    """One concurrency level: hello-world, then the webhooks, then wait for the replies."""
    hooks = [
        sms_request(public_url, token, phone, ANSWER, f"SMbench{in_flight:03d}{n:06d}")
        for n, phone in enumerate(phones)
    ]
    hello = [(HELLO_PATH, body, headers) for _, body, headers in hooks]
    said_hello = await isolated(isolate, load, bot.url, hello, in_flight)
    fake.reset(keep_times=True)
    cpu_before = await bot.cpu_seconds()
    acked = await isolated(isolate, load, bot.url, hooks, in_flight)
    delivered = await wait_for(lambda: fake.stats()["recipients"] >= len(phones), DELIVERY_WAIT_S)
    cpu = await bot.cpu_seconds() - cpu_before
    first: dict[str, float] = {}
    for to, at in await asyncio.to_thread(fake.times):
        first.setdefault(to, at)
    replies = [
        first[phone] - sent
        for phone, (sent, _, _) in zip(phones, acked, strict=True)
        if phone in first
    ]
    ack_rate, hello_rate = throughput(acked), throughput(said_hello)
    return {
        "in_flight": in_flight,
        "replies": len(phones),
        "hello": {**latency_ms([b - a for a, b, _ in said_hello]), "per_s": hello_rate},
        "ack": {
            **latency_ms([b - a for a, b, _ in acked]),
            "per_s": ack_rate,
            "ratio_to_hello": ratio(ack_rate, hello_rate),
            "not_2xx": sum(1 for *_, status in acked if not 200 <= status < 300),
        },
        "reply": {
            **latency_ms(replies),
            "delivered": len(replies),
            "all_delivered": delivered,
            "per_s": round(len(replies) / (max(first.values()) - acked[0][0]), 1) if first else 0.0,
        },
        "carebot_cpu_ms_per_reply": round(1000 * cpu / len(phones), 2),
    }


async def measure(engine: str, levels: dict[int, int], *, isolate: bool = True) -> dict[str, Any]:
    """One engine's figures. ``isolate=False`` (smoke tests) runs carebot, the fake and the
    load in this process: quick to start, but the figures then mean little."""
    panel = Panel(sum(levels.values()))
    with fake_provider("twilio", isolate=isolate) as fake:
        async with scratch_database(engine) as url:
            t0 = time.monotonic()
            await start_conversations(url, fake, panel.count, isolate)
            setup_s = time.monotonic() - t0
            port = free_port()
            public = f"http://127.0.0.1:{port}"
            env = carebot_env(url, twilio=fake.url) | {"PUBLIC_BASE_URL": public}
            # An hour after the wave started them: the conversations wait for their answers.
            bot = await start_carebot(env, port, START + timedelta(hours=1), isolate=isolate)
            results = []
            try:
                first = 1
                for in_flight, count in levels.items():
                    phones = [panel.phone(n) for n in range(first, first + count)]
                    first += count
                    token = env["TWILIO_AUTH_TOKEN"]
                    results.append(
                        await level(bot, fake, public, token, phones, in_flight, isolate)
                    )
            finally:
                figures = await bot.stop()
            size = await _size(url)
    return {
        "bench": "inbound",
        "engine": engine,
        "patients": panel.count,
        "levels": results,
        "peak_rss_mb": figures.get("peak_rss_mb"),
        "db_mb": size,
        "setup_s": round(setup_s, 1),
        "isolated": isolate,
    }


async def _size(url: str) -> float:
    from storage.engine import Database

    async with Database.from_url(url) as db:
        return await database_size_mb(db)


def parse_levels(text: str, replies: int | None, preset: dict[int, int]) -> dict[int, int]:
    if not text:
        return preset if replies is None else dict.fromkeys(preset, replies)
    wanted = [int(part) for part in text.split(",")]
    return {c: replies or preset.get(c, 100) for c in wanted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const="quick", dest="size")
    size.add_argument("--full", action="store_const", const="full", dest="size")
    parser.add_argument("--levels", default="", help="in-flight levels, e.g. 1,8,32,128")
    parser.add_argument("--replies", type=int, help="replies per level (default: by size)")
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    preset = FULL if args.size == "full" else QUICK
    levels = parse_levels(args.levels, args.replies, preset)
    for engine in engines(args.engine):
        emit(asyncio.run(measure(engine, levels)))


if __name__ == "__main__":
    main()
