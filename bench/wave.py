"""Monthly wave: N patients all due; dispatch, start and send every first question through the
real Twilio client to a fake Twilio on loopback; compared with a bare twilio client loop.

    .venv/bin/python -m bench.wave --quick     # 10,000 patients
    .venv/bin/python -m bench.wave --full      # 100,000 patients
    .venv/bin/python -m bench.wave --count 2000 --engine sqlite

One JSON line per engine (SQLite, and PostgreSQL when ``CAREBOT_TEST_POSTGRES_URL`` is set; a
scratch database is created beside it and dropped). The fake Twilio runs in its own process with
no rate limit. carebot runs in a fresh process of its own (its peak RSS is the figure) with
``TWILIO_MPS`` high enough never to pace; its dispatch, check-in and outbox ticks run back to
back, as APScheduler runs them when a tick's work outlasts its interval (the idle wait between
intervals is configuration, not cost, and is left out). The clock is timed from the first
dispatch tick to the moment the fake accepted the last first question.

The baseline is a loop of ``client.messages.create_async`` calls from the same twilio client
class, ``concurrency`` in flight (carebot's outbox sends that many at once), to the same fake,
with no database; ``ratio`` = carebot messages/s ÷ baseline messages/s, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from bench.common import (
    Panel,
    RunningClock,
    carebot_env,
    database_size_mb,
    emit,
    engines,
    fake_provider,
    isolated,
    peak_rss_mb,
    ratio,
    scratch_database,
    seed_panel,
)

CONCURRENCY = 32
STALL_S = 300
BODY = (
    "Hi Pat, this is your monthly check-in from Riverside Care. It takes about 3 minutes. "
    "Reply STOP to opt out. How have you been feeling overall this past month? "
    "Reply 1 very good, 2 good, 3 okay, 4 poor, 5 very poor."
)


# -- the baseline: the twilio client alone ------------------------------------------------------


async def bare_client(fake_url: str, count: int, concurrency: int) -> dict[str, Any]:
    """``count`` × ``messages.create_async`` with ``concurrency`` in flight; no database."""
    from handlers.twilio_client import BaseUrlClient, RetryAfterHttpClient

    env = carebot_env("sqlite://", twilio=fake_url)
    http = RetryAfterHttpClient()
    client = BaseUrlClient(
        env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"], http_client=http, api_base_url=fake_url
    )
    numbers = iter(range(count))

    async def worker() -> None:
        for n in numbers:
            await client.messages.create_async(
                to=f"+1666{n:07d}",
                from_=env["TWILIO_FROM_NUMBER"],
                body=BODY,
                status_callback="http://127.0.0.1:8000/webhooks/twilio/status",
            )

    started, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    finished, cpu = time.monotonic(), time.process_time() - cpu
    await http.close()
    return {"started": started, "finished": finished, "cpu_s": cpu, "peak_rss_mb": peak_rss_mb()}


# -- carebot ------------------------------------------------------------------------------------


async def carebot_wave(
    url: str, fake_url: str, count: int, profile: str | None = None
) -> dict[str, Any]:
    """Run carebot's ticks until the fake accepted ``count`` first questions."""
    import httpx

    from bot.config import load_settings
    from bot.runtime import build_runtime
    from bot.ticks import Ticks
    from handlers.registry import build_senders
    from storage.engine import Database

    settings = load_settings(carebot_env(url, twilio=fake_url), env_file=None)
    db = Database.from_url(url)
    senders = build_senders(settings)
    runtime = build_runtime(settings, db, senders, clock=RunningClock(), worker_id="bench")
    ticks = Ticks(runtime)
    done = asyncio.Event()
    marks: dict[str, float] = {}
    profiler = _profiler(profile)

    errors: dict[str, int] = {}

    async def back_to_back(name: str, tick: Any, pause: float) -> None:
        while not done.is_set():
            try:
                await tick()
            except Exception as exc:
                # As in production (Ticks._guard): logged, and the tick runs again.
                key = f"{name}: {type(exc).__name__}: {str(exc)[:80]}"
                errors[key] = errors.get(key, 0) + 1
                continue
            marks[f"tick_{name}_done_s"] = time.monotonic() - started
            if name == "dispatch":
                return  # one drain creates every occurrence: nothing else falls due
            await asyncio.sleep(pause)

    async with httpx.AsyncClient(base_url=fake_url) as fake:
        await fake.get("/_bench/stats")  # warm the poller up before the clock starts
        started, cpu = time.monotonic(), time.process_time()
        loops = [
            asyncio.create_task(back_to_back("dispatch", ticks.dispatch, 0.05)),
            asyncio.create_task(back_to_back("checkins", ticks.checkins, 0.05)),
            asyncio.create_task(back_to_back("outbox", ticks.outbox, 0.2)),
        ]
        stats: dict[str, Any] = {"recipients": 0}
        progress = (0, time.monotonic())
        while stats["recipients"] < count:
            await asyncio.sleep(0.5)
            stats = (await fake.get("/_bench/stats")).json()
            if stats["recipients"] > progress[0]:
                progress = (stats["recipients"], time.monotonic())
            elif time.monotonic() - progress[1] > STALL_S:
                done.set()
                raise RuntimeError(f"no progress for {STALL_S} s: {stats}, tick errors {errors}")
        done.set()
        await asyncio.gather(*loops)
        cpu = time.process_time() - cpu
    if profiler is not None and profile:
        _write_profile(profiler, profile)
    rss = peak_rss_mb()
    checked = await _check(db)
    size = await database_size_mb(db)
    await senders.aclose()
    await db.dispose()
    return {
        "seconds": stats["last_at"] - started,
        "accepted": stats["accepted"],
        "recipients": stats["recipients"],
        "cpu_s": cpu,
        "peak_rss_mb": rss,
        "db_mb": size,
        "delivery": vars(runtime.delivery.stats) | {"revoked": len(runtime.delivery.stats.revoked)},
        "tick_errors": errors,
        **checked,
        **{k: round(v, 2) for k, v in marks.items()},
    }


def _write_profile(profiler: Any, path: str) -> None:
    profiler.stop()
    if path.endswith(".html"):
        profiler.write_html(path)
    else:
        Path(path).write_text(profiler.output_text(show_all=False, color=False))


def _profiler(path: str | None) -> Any:
    if not path:
        return None
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="disabled", interval=0.002)
    profiler.start()
    return profiler


async def _check(db: Any) -> dict[str, int]:
    """Check-ins started and outbox rows settled as sent (rows whose settle failed stay
    ``sending`` until the lease lets the outbox tick reconcile them)."""
    from sqlalchemy import func, select

    from storage.models import CheckIn, OutboxItem

    async with db.session() as session:
        started = await session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.status == "in_progress")
        )
        states = dict(
            (
                await session.execute(
                    select(OutboxItem.state, func.count()).group_by(OutboxItem.state)
                )
            ).all()
        )
    return {"checkins_started": int(started or 0), **{f"outbox_{k}": v for k, v in states.items()}}


# -- one engine -------------------------------------------------------------------------------


async def prepare(url: str, count: int, panel: Panel | None = None) -> None:
    """Migrate, register the programs, seed ``count`` due patients (or ``panel``)."""
    from bot.config import load_settings
    from bot.runtime import build_runtime
    from handlers.registry import Senders
    from storage.engine import Database
    from storage.migrate import upgrade

    await upgrade(url)
    settings = load_settings(carebot_env(url, twilio="http://127.0.0.1:9"), env_file=None)
    async with Database.from_url(url) as db:
        runtime = build_runtime(settings, db, Senders([]), clock=RunningClock())
        await runtime.sync_programs()
        await seed_panel(db, panel or Panel(count))


async def measure(
    engine: str,
    count: int,
    baseline_count: int,
    concurrency: int,
    profile: str | None,
    *,
    isolate: bool = True,
) -> dict[str, Any]:
    """One engine's figures. ``isolate=False`` (smoke tests) runs carebot, the baseline and the
    fake in this process: quick to start, but its RSS and rates then mean little."""
    with fake_provider("twilio", isolate=isolate) as fake:
        async with scratch_database(engine) as url:
            t0 = time.monotonic()
            await prepare(url, count)
            seeded_s = time.monotonic() - t0
            fake.reset(keep_times=False)
            fake_cpu = _cpu(fake)
            base = await isolated(isolate, bare_client, fake.url, baseline_count, concurrency)
            base_fake_cpu = _cpu(fake) - fake_cpu
            base_stats = fake.stats()
            base_rate = base_stats["accepted"] / (base_stats["last_at"] - base["started"])
            fake.reset(keep_times=False)
            fake_cpu = _cpu(fake)
            bot = await isolated(isolate, carebot_wave, url, fake.url, count, profile)
            bot_fake_cpu = _cpu(fake) - fake_cpu
    rate = bot["recipients"] / bot["seconds"]
    checked = {k: v for k, v in bot.items() if k.startswith(("checkins_started", "outbox_"))}
    return {
        "bench": "wave",
        "engine": engine,
        "patients": count,
        "concurrency": concurrency,
        "seconds": round(bot["seconds"], 2),
        "messages_per_s": round(rate, 1),
        "baseline_messages": baseline_count,
        "baseline_messages_per_s": round(base_rate, 1),
        "ratio": ratio(rate, base_rate),
        "cpu_ms_per_message": {
            "carebot": round(1000 * bot["cpu_s"] / count, 3),
            "baseline_client": round(1000 * base["cpu_s"] / baseline_count, 3),
            "fake_in_baseline_run": round(1000 * base_fake_cpu / baseline_count, 3),
            "fake_in_carebot_run": round(1000 * bot_fake_cpu / count, 3),
        },
        "peak_rss_mb": bot["peak_rss_mb"],
        "baseline_peak_rss_mb": base["peak_rss_mb"],
        "db_mb": bot["db_mb"],
        "seed_s": round(seeded_s, 2),
        "dispatch_done_s": bot.get("tick_dispatch_done_s"),
        "first_questions": bot["recipients"],
        "duplicates": bot["accepted"] - bot["recipients"],
        "checked": checked,
        "delivery": bot["delivery"],
        "tick_errors": bot["tick_errors"],
        "isolated": isolate,
    }


def _cpu(fake: Any) -> float:
    return float(fake.cpu_seconds()) if hasattr(fake, "cpu_seconds") else 0.0


async def phases(engine: str, count: int) -> dict[str, Any]:
    """The three ticks one after the other, each drained, with a sender that only records
    (no network): wall and CPU milliseconds per check-in of dispatch, start and delivery."""
    from bot.config import load_settings
    from bot.runtime import build_runtime
    from storage.engine import Database
    from tests.integration.support import FakeSender

    async with scratch_database(engine) as url:
        await prepare(url, count)
        settings = load_settings(carebot_env(url, twilio="http://127.0.0.1:9"), env_file=None)
        sender = FakeSender()
        async with Database.from_url(url) as db:
            runtime = build_runtime(settings, db, sender, clock=RunningClock(), worker_id="bench")

            async def dispatch() -> int:
                return await runtime.checkins.dispatch_due()

            async def start() -> int:
                return (await runtime.checkins.advance_due()).processed

            async def deliver() -> int:
                return await runtime.delivery.deliver_due()

            figures: dict[str, Any] = {"bench": "wave_phases", "engine": engine, "count": count}
            for name, tick in (("dispatch", dispatch), ("start", start), ("deliver", deliver)):
                wall, cpu = time.perf_counter(), time.process_time()
                while await tick():
                    pass
                figures[f"{name}_ms"] = round(1000 * (time.perf_counter() - wall) / count, 3)
                figures[f"{name}_cpu_ms"] = round(1000 * (time.process_time() - cpu) / count, 3)
    if len(sender.sent) != count:
        raise AssertionError(f"sent {len(sender.sent)} of {count}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const=10_000, dest="count")
    size.add_argument("--full", action="store_const", const=100_000, dest="count")
    size.add_argument("--count", type=int)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument(
        "--baseline-count", type=int, help="messages of the baseline (default: min(N, 20000))"
    )
    parser.add_argument("--profile", help="write a pyinstrument profile of carebot (.html/text)")
    parser.add_argument(
        "--phases", action="store_true", help="per-tick cost instead, no network (see phases())"
    )
    args = parser.parse_args()
    count = args.count or 10_000
    baseline = args.baseline_count or min(count, 20_000)
    for engine in engines(args.engine):
        if args.phases:
            emit(asyncio.run(phases(engine, count)))
            continue
        emit(asyncio.run(measure(engine, count, baseline, args.concurrency, args.profile)))


if __name__ == "__main__":
    main()
