"""The database goes away and comes back (SPEC §12), and a server dies right after answering a
webhook: ``carebot serve`` and ``carebot worker`` processes reach PostgreSQL through a TCP proxy
that the test cuts during a wave. Webhooks answer 503 while it is gone (providers retry those),
the processes survive and resume, and nothing is lost or done twice.

CI: a 5 s outage; ``CAREBOT_RELIABILITY_FULL=1``: 30 s and a larger wave.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from storage.engine import Database
from storage.models import CheckIn, Message, OutboxItem, Patient, ProcessedWebhook
from tests.fakes import AUTH_TOKEN, inbound_sms, signed_headers
from tests.reliability.conftest import carebot_env, eventually, personal_data_in_logs
from tests.reliability.fakes import WarpedTwilio, duplicates, twilio_pairs
from tests.reliability.figures import full_size, record
from tests.reliability.procs import Zygote, read_events
from tests.reliability.seed import seed_wave
from tests.reliability.tcp_proxy import TcpProxy
from tests.reliability.warp import WarpClock
from tests.reliability.worker_proc import ENV_EVENTS, ENV_EXIT_AFTER_ACCEPT

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FULL = full_size()
OUTAGE = 30.0 if FULL else 5.0
WAVE = 1000 if FULL else 60
FACTOR = 12.0
SMS_PATH = "/webhooks/twilio/sms"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Webhooks:
    """Signed Twilio webhooks to a carebot process listening on ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.AsyncClient(base_url=url, timeout=20)

    async def sms(self, phone: str, body: str, sid: str) -> tuple[int, float]:
        form = inbound_sms(body, from_=phone, sid=sid)
        headers = signed_headers(AUTH_TOKEN, self.url + SMS_PATH, form)
        began = time.monotonic()
        try:
            response = await self.client.post(SMS_PATH, data=form, headers=headers)
        except httpx.TransportError:
            return 0, time.monotonic() - began
        return response.status_code, time.monotonic() - began

    async def health(self) -> int:
        try:
            return (await self.client.get("/healthz")).status_code
        except httpx.TransportError:
            return 0

    async def aclose(self) -> None:
        await self.client.aclose()


async def started_phones(db: Database, limit: int, exclude: set[str]) -> list[str]:
    async with db.session() as session:
        phones = await session.scalars(
            select(Patient.phone)
            .join(CheckIn, CheckIn.patient_id == Patient.id)
            .where(CheckIn.started_at.is_not(None))
            .order_by(Patient.id)
        )
        return [p for p in phones if p and p not in exclude][:limit]


async def progress(db: Database) -> tuple[int, int, int]:
    """(check-ins started, outbox rows unsent, inbox rows unprocessed)."""
    async with db.session() as session:
        started = await session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.started_at.is_not(None))
        )
        unsent = await session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.state.in_(("pending", "sending")))
        )
        unprocessed = await session.scalar(
            select(func.count())
            .select_from(ProcessedWebhook)
            .where(ProcessedWebhook.processed_at.is_(None))
        )
    return int(started or 0), int(unsent or 0), int(unprocessed or 0)


async def test_database_outage_during_a_wave(pg: Database, pg_url: str, tmp_path: Path) -> None:
    target = make_url(pg_url)
    clock = WarpClock.begin(factor=FACTOR)
    port = free_port()
    hooks = Webhooks(f"http://127.0.0.1:{port}")
    with (
        TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy,
        WarpedTwilio(clock) as twilio,
    ):
        wave = await seed_wave(pg, clock.now(), WAVE)
        env = (
            carebot_env(
                proxy.rewrite(pg_url),
                tmp_path / "var",
                twilio=twilio.url,
                public_url=hooks.url,
                twilio_mps=WAVE / 12,  # the wave lasts ~12 s: the outage falls in its middle
                workers=2,
            )
            | clock.env()
        )
        env[ENV_EVENTS] = str(tmp_path / "events.jsonl")
        try:
            with Zygote(env, tmp_path / "logs") as zygote:
                serve = zygote.spawn("serve", mode="serve", port=port)
                worker = zygote.spawn("worker")
                assert zygote.wait_ready(serve, 60), "carebot serve did not start"
                # With the whole wave due, serving starts at once (the backlog is background).
                assert serve.ready_at is not None and serve.ready_at - serve.started < 10

                async def some_started() -> bool:
                    return (await progress(pg))[0] >= WAVE // 4

                await eventually(some_started, "a quarter of the wave to start", 60)
                replied: list[str] = []
                before = await started_phones(pg, 10, set(replied))
                replied += before
                codes_before = [
                    (await hooks.sms(p, "3", f"SMbefore{n:028d}"))[0] for n, p in enumerate(before)
                ]

                # -- the database goes away ------------------------------------------------
                during = await started_phones(pg, 10, set(replied))
                replied += during
                proxy.cut()
                cut_at = time.monotonic()
                answers: list[tuple[int, float]] = []
                health_during: list[int] = []
                for n, phone in enumerate(during):
                    answers.append(await hooks.sms(phone, "3", f"SMduring{n:028d}"))
                    health_during.append(await hooks.health())
                    await asyncio.sleep(OUTAGE / (len(during) + 1))
                await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - cut_at)))
                progress_at_cut = twilio.creates()
                proxy.restore()
                restored_at = time.monotonic()

                async def healthy() -> bool:
                    return await hooks.health() == 200

                await eventually(healthy, "/healthz to answer 200 again", 60, every=0.1)
                health_back = time.monotonic() - restored_at

                async def sending_again() -> bool:
                    return twilio.creates() > progress_at_cut

                await eventually(sending_again, "a send after the outage", 60, every=0.1)
                sends_back = time.monotonic() - restored_at

                # Twilio retries what got 503 (the #rc= connection override), then new replies.
                retried = [
                    (await hooks.sms(p, "3", f"SMduring{n:028d}"))[0] for n, p in enumerate(during)
                ]
                after = await started_phones(pg, 10, set(replied))
                replied += after
                codes_after = [
                    (await hooks.sms(p, "3", f"SMafter{n:029d}"))[0] for n, p in enumerate(after)
                ]

                async def settled() -> bool:
                    started, unsent, unprocessed = await progress(pg)
                    return started == WAVE and unsent == 0 and unprocessed == 0

                await eventually(settled, "the wave and the replies to settle", 120)
                zygote.refresh()
                survived = [child.alive for child in (serve, worker)]
                for child in (serve, worker):  # nothing is in flight: no need for a slow stop
                    zygote.kill(child)
                    zygote.wait_exit(child, 30)
        finally:
            await hooks.aclose()

        # -- what the outage did ---------------------------------------------------------------
        assert set(codes_before) == {200}
        assert [code for code, _ in answers] == [503] * len(during)
        assert set(health_during) == {503}
        assert max(seconds for _, seconds in answers) < 5, "a 503 must come quickly"
        assert set(retried) == {200} and set(codes_after) == {200}
        assert survived == [True, True], "a process died during the outage"
        assert proxy.stats.dropped > 0 and proxy.stats.refused > 0

        # -- nothing lost, nothing twice ----------------------------------------------------
        async with pg.session() as session:
            checkins = list(await session.scalars(select(CheckIn.enrollment_id)))
            inbox = list(await session.scalars(select(ProcessedWebhook.external_id)))
            inbound = await session.scalar(
                select(func.count()).select_from(Message).where(Message.direction == "in")
            )
        assert len(checkins) == len(set(checkins)) == WAVE
        assert len(inbox) == len(set(inbox)) == len(replied)  # the 503s were not recorded
        assert inbound == len(replied)
        accepted = twilio_pairs(twilio)
        assert duplicates(accepted) == {}
        per_patient = Counter(address for address, _ in accepted)
        assert per_patient == {
            a: 2 if a.partition(":")[2] in replied else 1 for a in wave.addresses
        }
        assert personal_data_in_logs(tmp_path / "logs") == []
        log = read_events(tmp_path / "events.jsonl")
        record(
            "database_outage",
            patients=WAVE,
            outage_seconds=OUTAGE,
            webhooks_answered_503=len(answers),
            slowest_503_seconds=round(max(s for _, s in answers), 3),
            connections_dropped=proxy.stats.dropped,
            connections_refused=proxy.stats.refused,
            healthz_back_after_seconds=round(health_back, 2),
            sending_again_after_seconds=round(sends_back, 2),
            reconciled_after_outage=len([e for e in log if e["ev"] == "lookup" and e["found"]]),
            duplicates=0,
        )


async def test_a_crash_right_after_the_2xx_loses_nothing(
    pg: Database, pg_url: str, tmp_path: Path
) -> None:
    clock = WarpClock.begin(factor=FACTOR)
    port = free_port()
    hooks = Webhooks(f"http://127.0.0.1:{port}")
    with WarpedTwilio(clock) as twilio:
        wave = await seed_wave(pg, clock.now(), 3)
        env = (
            carebot_env(pg_url, tmp_path / "var", twilio=twilio.url, public_url=hooks.url)
            | clock.env()
        )
        env[ENV_EVENTS] = str(tmp_path / "events.jsonl")
        phone = wave.sms[0].partition(":")[2]
        sid = "SM" + "c" * 32
        try:
            with Zygote(env, tmp_path / "logs") as zygote:
                doomed = zygote.spawn(
                    "serve", mode="serve", port=port, env={ENV_EXIT_AFTER_ACCEPT: "1"}
                )
                assert zygote.wait_ready(doomed, 60)

                async def started() -> bool:
                    return len(await started_phones(pg, 3, set())) == 3

                await eventually(started, "the check-ins to start", 30)
                code, _ = await hooks.sms(phone, "3", sid)
                assert code == 200  # committed to the inbox, answered ...
                assert zygote.wait_exit(doomed, 10) == 137  # ... and dead before processing
                async with pg.session() as session:
                    row = await session.scalar(
                        select(ProcessedWebhook).where(ProcessedWebhook.external_id == sid)
                    )
                    assert row is not None and row.processed_at is None
                assert len(twilio.sent) == 3  # no answer went out

                began = time.monotonic()
                again = zygote.spawn("serve", mode="serve", port=port)
                assert zygote.wait_ready(again, 60)

                async def processed() -> bool:
                    return (await progress(pg))[2] == 0 and len(twilio.sent) == 4

                await eventually(processed, "the inbox tick to process the row", 60)
                picked_up = time.monotonic() - began
                code, _ = await hooks.sms(phone, "3", sid)  # Twilio delivers it once more
                assert code == 200
                await asyncio.sleep(1)
                zygote.terminate(again)
                assert zygote.wait_exit(again, 30) in (0, -15)
        finally:
            await hooks.aclose()

    async with pg.session() as session:
        inbound = list(
            await session.scalars(select(Message.provider_id).where(Message.direction == "in"))
        )
    assert inbound == [sid]
    assert Counter(f"tel:{s.to}" for s in list(twilio.sent)) == {
        wave.sms[0]: 2,
        wave.sms[1]: 1,
        wave.sms[2]: 1,
    }
    record("crash_after_2xx", processed_after_restart_seconds=round(picked_up, 2))
