"""Crash safety (SPEC §12): two worker processes on PostgreSQL are killed with SIGKILL at random
moments during a monthly wave and during the escalation ladder, and a worker also dies by itself
right after the provider accepted a message and before the commit. After each run: every
check-in once and started, nothing committed lost, duplicates only from the call-to-commit
window (counted), and the contact log reconciled with what the provider holds.

CI sizes by default; ``CAREBOT_RELIABILITY_FULL=1`` for the full sizes (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from storage.engine import Database
from storage.models import CheckIn, Escalation, EscalationEvent, Message, Notification, OutboxItem
from tests.fakes import FakeTelegram
from tests.reliability.conftest import carebot_env, eventually, personal_data_in_logs
from tests.reliability.crew import Crew
from tests.reliability.fakes import WarpedTwilio, duplicates, telegram_pairs, twilio_pairs
from tests.reliability.figures import full_size, record
from tests.reliability.procs import Zygote, read_events
from tests.reliability.seed import seed_escalations, seed_wave
from tests.reliability.warp import WarpClock
from tests.reliability.worker_proc import (
    ENV_CALM,
    ENV_EVENTS,
    ENV_EXIT_AFTER_SEND,
    ENV_EXIT_AFTER_SENDS,
    ENV_SEED,
    digest,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FULL = full_size()
WAVE = int(os.environ.get("CAREBOT_RELIABILITY_WAVE", 2000 if FULL else 300))
KILLS = 20 if FULL else 8
EXIT_AFTER_SEND = 0.01
"""Probability that a worker dies right after the provider accepted a message."""
TWILIO_MPS = 60 if FULL else 30
"""Paces the wave so that it lasts long enough for the kills to land in the middle of it."""
FACTOR = 12.0
SEED = 20261129


def faults(rng: random.Random) -> dict[str, str]:
    """Per worker process: its seed, and the n-th accepted message after which it dies (on
    top of the probability), so that the call-to-commit window is hit in every run. A worker
    lives for ~30 sends between SIGKILLs at the CI size: n must come sooner than that (with
    20-150 a CI run once ended with no such exit at all)."""
    return {ENV_SEED: str(rng.randrange(1, 2**31)), ENV_EXIT_AFTER_SENDS: str(rng.randint(5, 30))}


async def wave_state(db: Database) -> dict[str, int]:
    """Check-ins by status and outbox rows by state (``started`` = first question sent)."""
    async with db.session() as session:
        checkins = dict(
            list(
                await session.execute(select(CheckIn.status, func.count()).group_by(CheckIn.status))
            )
        )
        outbox = dict(
            list(
                await session.execute(
                    select(OutboxItem.state, func.count()).group_by(OutboxItem.state)
                )
            )
        )
        started = await session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.started_at.is_not(None))
        )
    return {
        **{f"checkins_{k}": v for k, v in checkins.items()},
        **{f"outbox_{k}": v for k, v in outbox.items()},
        "started": int(started or 0),
    }


async def wave_settled(db: Database, count: int) -> bool:
    """Every check-in exists and was started, and the outbox holds nothing unsent."""
    state = await wave_state(db)
    return (
        state["started"] == count
        and state.get("outbox_pending", 0) == 0
        and state.get("outbox_sending", 0) == 0
    )


async def chaos(
    crew: Crew,
    rng: random.Random,
    kills: int,
    progress: Callable[[], Awaitable[float]],
    *,
    budget: float,
) -> list[float]:
    """SIGKILL a random worker each time the work's ``progress`` (0 to 1) passes one of
    ``kills`` random marks between 5 % and 90 %, so that the kills land in every phase (claims,
    conversations, sends) whatever the machine's speed; processes that ended by themselves are
    forked again meanwhile. Returns the progress at each kill."""
    marks = sorted(rng.uniform(0.05, 0.9) for _ in range(kills))
    landed: list[float] = []
    deadline = time.monotonic() + budget
    while marks and time.monotonic() < deadline:
        crew.revive()
        done = await progress()
        if done >= marks[0] and crew.kill_one(rng, min_age=0.5) is not None:
            marks.pop(0)
            landed.append(round(done, 3))
            continue
        await asyncio.sleep(0.1)
    return landed


async def test_monthly_wave_survives_kill_9(pg: Database, pg_url: str, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    clock = WarpClock.begin(factor=FACTOR)
    events = tmp_path / "events.jsonl"
    with WarpedTwilio(clock) as twilio, FakeTelegram() as telegram:
        wave = await seed_wave(pg, clock.now(), WAVE, telegram_every=10)
        env = (
            carebot_env(
                pg_url,
                tmp_path / "var",
                twilio=twilio.url,
                telegram=telegram.url,
                twilio_mps=TWILIO_MPS,
                workers=2,
            )
            | clock.env()
        )
        calm = tmp_path / "calm"
        env |= {
            ENV_EVENTS: str(events),
            ENV_EXIT_AFTER_SEND: str(EXIT_AFTER_SEND),
            ENV_CALM: str(calm),
        }
        began = time.monotonic()
        with Zygote(env, tmp_path / "logs") as zygote:
            crew = Crew(zygote, ["w1", "w2"], env=lambda name: faults(rng))
            crew.start()

            async def wave_progress() -> float:
                state = await wave_state(pg)
                created = sum(v for k, v in state.items() if k.startswith("checkins_"))
                done = created + state["started"] + 2 * state.get("outbox_sent", 0)
                return done / (4 * wave.count)

            kill_marks = await chaos(crew, rng, KILLS, wave_progress, budget=300 if FULL else 150)
            chaos_seconds = time.monotonic() - began
            calm.touch()  # no more deaths: let it settle

            async def settled() -> bool:
                crew.revive()
                return await wave_settled(pg, wave.count)

            try:
                await eventually(settled, "the wave to settle", 300 if FULL else 120)
            except AssertionError as exc:
                crew.dump_stacks()
                raise AssertionError(f"{exc}: {await wave_state(pg)}, {crew.stats}") from None
            crew.stop()
        wall = time.monotonic() - began

        # -- every check-in occurrence exists once and was started ------------------------------
        async with pg.session() as session:
            checkins = list(await session.execute(select(CheckIn.enrollment_id, CheckIn.status)))
            rows = list(
                await session.execute(
                    select(
                        OutboxItem.id,
                        OutboxItem.state,
                        Message.address,
                        Message.provider_id,
                        Message.idempotency_key,
                    ).join(Message, Message.id == OutboxItem.message_id)
                )
            )
        assert len(checkins) == wave.count
        assert len({enrollment for enrollment, _ in checkins}) == wave.count
        assert Counter(status for _, status in checkins) == {"in_progress": wave.count}

        # -- no committed message lost: every outbox row sent, one first question each ----------
        assert Counter(state for _, state, *_ in rows) == {"sent": wave.count}
        assert sorted(address for _, _, address, _, _ in rows) == sorted(wave.addresses)
        assert all(key.startswith("checkin:") and key.endswith(":1") for *_, key in rows)

        # -- what the providers hold ---------------------------------------------------------------
        accepted = twilio_pairs(twilio) + telegram_pairs(telegram)
        assert {address for address, _ in accepted} == set(wave.addresses)  # nobody missed out
        extra = duplicates(accepted)
        sms_dupes = sum(n for (address, _), n in extra.items() if address.startswith("tel:"))
        tg_dupes = sum(n for (address, _), n in extra.items() if address.startswith("telegram:"))

        # One message row per provider message: every row points at a message the provider
        # holds for that recipient; provider messages no row points at are the duplicates.
        provider_ids = {(f"tel:{s.to}", s.sid) for s in list(twilio.sent)}
        provider_ids |= {(f"telegram:{chat}", str(mid)) for (chat, mid) in list(telegram._messages)}
        logged = {(address, pid) for _, _, address, pid, _ in rows}
        assert logged <= provider_ids
        assert len(provider_ids - logged) == sms_dupes + tg_dupes

        # -- duplicates only from the call-to-commit window of a crashed worker -------------------
        log = read_events(events)
        for (address, _), copies in extra.items():
            assert_copies_from_crashes(log, crew.crashed_at(), digest(address), copies)
        reclaimed = [e for e in log if e["ev"] == "reclaimed"]
        lookups = [e for e in log if e["ev"] == "lookup"]
        reconciled = [e for e in lookups if e["found"]]
        assert sms_dupes == 0, "a reclaimed Twilio row must be reconciled, never re-sent"
        assert tg_dupes <= len([e for e in reclaimed if not e["checkable"]])
        duplicated = {digest(address) for address, _ in extra}
        assert duplicated <= {e["addr"] for e in reclaimed}

        assert personal_data_in_logs(tmp_path / "logs") == []
        stats = crew.stats
        assert stats.kills >= KILLS
        assert stats.exits_after_send >= 1, "the call-to-commit window was never exercised"
        assert stats.other_exits == []
        record(
            "crash_wave",
            patients=wave.count,
            telegram_patients=len(wave.telegram),
            sigkills=stats.kills,
            sigkills_at_progress=kill_marks,
            exits_after_provider_call=stats.exits_after_send,
            restarts=stats.restarts,
            reclaimed_rows=len(reclaimed),
            twilio_lookups=len(lookups),
            reconciled_without_resend=len(reconciled),
            twilio_duplicates=sms_dupes,
            telegram_duplicates=tg_dupes,
            provider_creates=twilio.creates(),
            chaos_seconds=round(chaos_seconds, 1),
            wall_seconds=round(wall, 1),
        )


ESCALATIONS = 200 if FULL else 30
LADDER_KILLS = 12 if FULL else 6
ACK_MINUTES = 10.0 if FULL else 2.5
"""The urgent acknowledgement deadline: CI, a rung every 150 clock seconds (7.5 s of wall time);
full size, every 10 clock minutes (30 s), so that two workers keep up with 200 ladders.
Not shorter than the 2-minute outbox lease: the top rung repeats with the very same words, and
a reconciliation looks for the words sent within a lease (see docs/reliability.md)."""
LADDER_FACTOR = 20.0


async def test_escalation_ladder_survives_kill_9(pg: Database, pg_url: str, tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    clock = WarpClock.begin(factor=LADDER_FACTOR)
    events = tmp_path / "events.jsonl"
    with WarpedTwilio(clock) as twilio:
        ladder = await seed_escalations(pg, clock.now(), ESCALATIONS)
        env = (
            carebot_env(
                pg_url,
                tmp_path / "var",
                twilio=twilio.url,
                twilio_mps=100,
                workers=2,
                ACK_URGENT_MINUTES=f"{ACK_MINUTES:g}",
            )
            | clock.env()
        )
        calm = tmp_path / "calm"
        env |= {
            ENV_EVENTS: str(events),
            ENV_EXIT_AFTER_SEND: str(EXIT_AFTER_SEND),
            ENV_CALM: str(calm),
        }
        began = time.monotonic()
        with Zygote(env, tmp_path / "logs") as zygote:
            crew = Crew(zygote, ["e1", "e2"], env=lambda name: faults(rng))
            crew.start()

            async def ladder_progress() -> float:
                async with pg.session() as session:
                    alerts = await session.scalar(select(func.count(Notification.id)))
                return int(alerts or 0) / (3 * len(ladder.escalation_ids))

            kill_marks = await chaos(crew, rng, LADDER_KILLS, ladder_progress, budget=90)
            calm.touch()

            async def at_the_top() -> bool:
                crew.revive()
                return await every_escalation_reached_supervisor(pg, ladder.escalation_ids)

            await eventually(
                at_the_top, "every escalation to reach the supervisor", 300 if FULL else 90
            )
            # Someone acknowledges them all: the ladder stops; let the last alerts go out.
            async with pg.transaction() as session:
                await session.execute(
                    update(Escalation)
                    .where(Escalation.id.in_(ladder.escalation_ids))
                    .values(status="acknowledged", acked_at=clock.now())
                )

            async def drained() -> bool:
                crew.revive()
                return await outbox_empty(pg)

            await eventually(drained, "the last alerts to go out", 180 if FULL else 60)
            crew.stop()
        wall = time.monotonic() - began

        async with pg.session() as session:
            notices = list(
                await session.execute(
                    select(
                        Notification.escalation_id,
                        Notification.rung,
                        Notification.created_at,
                        Message.address,
                        Message.provider_id,
                        OutboxItem.state,
                    )
                    .join(Message, Message.id == Notification.message_id)
                    .join(OutboxItem, OutboxItem.message_id == Message.id)
                    .order_by(Notification.escalation_id, Notification.created_at, Notification.id)
                )
            )
            laddered = dict(
                list(
                    await session.execute(
                        select(EscalationEvent.escalation_id, func.count())
                        .where(EscalationEvent.kind == "laddered")
                        .group_by(EscalationEvent.escalation_id)
                    )
                )
            )
        by_escalation: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for escalation_id, rung, created, address, _, _state in notices:
            assert escalation_id is not None and address == ladder.rung_addresses[rung]
            by_escalation[escalation_id].append((rung, created.timestamp()))
        deadline_gap = ACK_MINUTES * 60 * 0.99
        for escalation_id in ladder.escalation_ids:
            steps = by_escalation[escalation_id]
            rungs = [rung for rung, _ in steps]
            # Each rung once and in order, then the top rung repeats: no rung lost or doubled.
            assert rungs[:3] == [1, 2, 3], (escalation_id, rungs)
            assert set(rungs[3:]) <= {3}, (escalation_id, rungs)
            # One climb per deadline: a rung is never alerted before the previous one's
            # deadline passed (a climb repeated by a second worker would be).
            gaps = [b - a for (_, a), (_, b) in itertools.pairwise(steps)]
            assert all(gap >= deadline_gap for gap in gaps), (escalation_id, gaps)
            assert laddered[escalation_id] == len(steps)
        # Every alert went out, once (reconciled when its worker died in the window).
        assert Counter(state for *_, state in notices) == {"sent": len(notices)}
        # The top rung repeats with the same words, so count provider messages, not texts:
        # exactly one per notification, and each notification's message is one of them.
        sent = list(twilio.sent)
        assert len(sent) == len(notices)
        assert {sid for *_, sid, _ in notices} == {s.sid for s in sent}
        assert personal_data_in_logs(tmp_path / "logs") == []
        log = read_events(events)
        stats = crew.stats
        assert stats.kills >= LADDER_KILLS and stats.other_exits == []
        record(
            "crash_ladder",
            escalations=len(ladder.escalation_ids),
            alerts=len(notices),
            sigkills=stats.kills,
            sigkills_at_progress=kill_marks,
            exits_after_provider_call=stats.exits_after_send,
            reconciled_without_resend=len([e for e in log if e["ev"] == "lookup" and e["found"]]),
            duplicates=len(sent) - len(notices),
            wall_seconds=round(wall, 1),
        )


def assert_copies_from_crashes(
    log: list[dict[str, Any]], crashed_at: dict[int, float], addr: str, copies: int
) -> None:
    """Each extra copy of a message was sent by a process that died before committing it, and
    the copy after it was sent only after another worker reclaimed the row once that process
    was dead: the call-to-commit window, nothing else (not a lease that ran out under a live
    worker, not a double claim)."""
    sends = [e for e in log if e["ev"] == "sent" and e["addr"] == addr]
    reclaims = [e for e in log if e["ev"] == "reclaimed" and e["addr"] == addr]
    assert len(sends) == copies + 1, (addr, sends)
    for first, again in itertools.pairwise(sends):
        died = crashed_at.get(first["pid"])
        assert died is not None, f"{first['w']} sent {addr} and lived on, yet it went again"
        reclaim = [r for r in reclaims if r["pid"] == again["pid"] and r["t"] <= again["t"]]
        assert reclaim, f"{again['w']} sent {addr} again without reclaiming the row"
        assert died <= reclaim[-1]["t"], (
            f"{again['w']} reclaimed {addr} while {first['w']}, which had sent it, still ran"
        )


async def every_escalation_reached_supervisor(db: Database, ids: list[int]) -> bool:
    async with db.session() as session:
        reached = await session.scalar(
            select(func.count(func.distinct(Notification.escalation_id))).where(
                Notification.rung == 3, Notification.escalation_id.in_(ids)
            )
        )
    return reached == len(ids)


async def outbox_empty(db: Database) -> bool:
    async with db.session() as session:
        unsent = await session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.state.in_(("pending", "sending")))
        )
    return unsent == 0
