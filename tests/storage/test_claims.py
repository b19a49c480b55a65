"""Claims: due rows are taken once, by one worker, at a cost of O(due rows)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from outreach.clock import ManualClock
from storage.claims import (
    claim_due_checkins,
    claim_due_enrollments,
    claim_due_escalations,
    claim_due_outbox,
    claim_inbox,
)
from storage.engine import Database
from storage.models import CheckIn, OutboxItem, ProcessedWebhook
from storage.repositories import (
    EnrollmentRepository,
    EscalationRepository,
    InboxRepository,
    MessageRepository,
)
from tests.storage import seed

LEASE = timedelta(minutes=5)


async def _add_checkins(db: Database, now: datetime, count: int, due: bool = True) -> list[int]:
    """``count`` check-ins of one enrollment, due at ``now`` (or in a month)."""
    async with db.transaction() as session:
        _, p, e = await seed.world(session, now)
        at = now - timedelta(seconds=1) if due else now + timedelta(days=30)
        rows = [
            {
                "enrollment_id": e.id,
                "patient_id": p.id,
                "program_id": "general",
                "occurrence_key": f"k{i}",
                "scheduled_for": at,
                "status": "pending",
                "next_action_at": at,
                "created_at": now,
            }
            for i in range(count)
        ]
        await session.execute(insert(CheckIn), rows)
        ids = await session.scalars(select(CheckIn.id).order_by(CheckIn.id))
        return list(ids)


async def test_claim_due_enrollments(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        m = await seed.manager(session, now)
        ids = {}
        for name, due_at, paused in [
            ("due", now - timedelta(hours=1), False),
            ("now", now, False),
            ("later", now + timedelta(minutes=1), False),
            ("paused", now - timedelta(hours=1), True),
            ("never", None, False),
        ]:
            p = await seed.patient(session, now, m.id, name)
            e = await seed.enrollment(session, now, p.id, next_due_at=due_at)
            e.paused = paused
            ids[name] = e.id
    async with db.transaction() as session:
        claimed = await claim_due_enrollments(session, now, "w1", 10, LEASE)
    assert claimed == sorted([ids["due"], ids["now"]])
    async with db.transaction() as session:
        assert await claim_due_enrollments(session, now, "w2", 10, LEASE) == []
        row = await EnrollmentRepository(session).get(ids["due"])
        assert row is not None and row.claimed_by == "w1" and row.claimed_until == now + LEASE
    # The lease runs out (worker crashed): the row is due again for someone else.
    later = now + LEASE + timedelta(seconds=1)
    async with db.transaction() as session:
        again = await claim_due_enrollments(session, later, "w2", 10, LEASE)
    assert ids["due"] in again and ids["later"] in again
    # Released and rescheduled: not due.
    async with db.transaction() as session:
        await EnrollmentRepository(session).schedule_next(ids["due"], later + timedelta(days=30))
        await EnrollmentRepository(session).release([ids["now"]])
        assert await claim_due_enrollments(session, later, "w3", 10, LEASE) == [ids["now"]]


async def test_claim_due_checkins_respects_status_limit_and_order(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    ids = await _add_checkins(db, now, 6)
    async with db.transaction() as session:
        await session.execute(
            update(CheckIn).where(CheckIn.id == ids[0]).values(status="completed")
        )
        await session.execute(
            update(CheckIn).where(CheckIn.id == ids[1]).values(status="in_progress")
        )
        await session.execute(
            update(CheckIn)
            .where(CheckIn.id == ids[2])
            .values(next_action_at=now - timedelta(days=1))
        )
    async with db.transaction() as session:
        first = await claim_due_checkins(session, now, "w1", 2, LEASE)
    assert first == sorted([ids[2], ids[1]])  # the most overdue first, then by id
    async with db.transaction() as session:
        rest = await claim_due_checkins(session, now, "w1", 100, LEASE)
    assert rest == ids[3:]


async def test_claim_due_outbox_and_reclaim_after_a_crash(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        repo = MessageRepository(session)
        queued = []
        for i, delay in enumerate([0, 0, 60]):
            q = await repo.queue_outbound(
                channel="sms",
                address="tel:+15550001111",
                body=f"m{i}",
                idempotency_key=f"k{i}",
                at=now,
                next_attempt_at=now + timedelta(seconds=delay),
            )
            assert q is not None
            queued.append(q.outbox.id)
    async with db.transaction() as session:
        claimed = await claim_due_outbox(session, now, "w1", 10, LEASE)
    assert [(c.id, c.reclaimed) for c in claimed] == [(queued[0], False), (queued[1], False)]
    async with db.transaction() as session:
        rows = {r.id: r for r in await session.scalars(select(OutboxItem))}
        assert rows[queued[0]].state == "sending" and rows[queued[0]].attempts == 1
        assert rows[queued[0]].claimed_by == "w1" and rows[queued[0]].claimed_at == now
        assert await claim_due_outbox(session, now + timedelta(seconds=1), "w2", 10, LEASE) == []
    # w1 died after claiming; after the lease its rows are reclaimed, flagged for reconciling.
    later = now + LEASE + timedelta(seconds=1)
    async with db.transaction() as session:
        reclaimed = await claim_due_outbox(session, later, "w2", 10, LEASE)
    assert [(c.id, c.reclaimed) for c in reclaimed] == [
        (queued[0], True),
        (queued[1], True),
        (queued[2], False),
    ]
    async with db.transaction() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(OutboxItem).where(OutboxItem.claimed_by == "w2")
            )
            == 3
        )


async def test_claim_inbox_after_grace_and_until_max_attempts(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    async with db.transaction() as session:
        repo = InboxRepository(session)
        old, _ = await repo.record_webhook("twilio", "SM-old", {}, now - timedelta(minutes=5))
        fresh, _ = await repo.record_webhook("twilio", "SM-fresh", {}, now - timedelta(seconds=5))
        done, _ = await repo.record_webhook("twilio", "SM-done", {}, now - timedelta(minutes=5))
        poison, _ = await repo.record_webhook("twilio", "SM-bad", {}, now - timedelta(minutes=5))
        await repo.mark_processed(done, now)
        await session.execute(
            update(ProcessedWebhook).where(ProcessedWebhook.id == poison).values(attempts=10)
        )
    async with db.transaction() as session:
        claimed = await claim_inbox(session, now, "w1", 10, LEASE, grace=timedelta(seconds=30))
    assert claimed == [old]
    async with db.transaction() as session:
        assert await claim_inbox(session, now, "w2", 10, LEASE) == []
        await InboxRepository(session).mark_failed(old, "boom")  # releases the claim
        assert await claim_inbox(session, now + timedelta(minutes=1), "w2", 10, LEASE) == [
            old,
            fresh,
        ]


async def test_claim_due_escalations(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        m, p, _ = await seed.world(session, now)
        repo = EscalationRepository(session)
        ids = {}
        for rule, deadline in [("late", -60), ("later", 60), ("acked", -60), ("none", None)]:
            raised = await repo.raise_or_update(
                patient_id=p.id,
                rule_id=rule,
                severity="urgent",
                reasons=[],
                at=now,
                ack_deadline=None if deadline is None else now + timedelta(seconds=deadline),
            )
            ids[rule] = raised.escalation.id
        await repo.acknowledge(ids["acked"], m.id, now)
    async with db.transaction() as session:
        assert await claim_due_escalations(session, now, "w1", 10, LEASE) == [ids["late"]]
        assert await claim_due_escalations(session, now, "w2", 10, LEASE) == []
        # The ladder step moves the deadline and releases the claim.
        await EscalationRepository(session).climb(
            ids["late"], level=1, ack_deadline=now + timedelta(minutes=10), at=now
        )
    async with db.transaction() as session:
        due = await claim_due_escalations(session, now + timedelta(minutes=11), "w2", 10, LEASE)
    assert due == sorted([ids["late"], ids["later"]])


async def test_two_concurrent_claimers_never_share_a_row(db: Database, clock: ManualClock) -> None:
    """Two workers with their own engines (SQLite: serialised by the write lock)."""
    now = clock.now()
    ids = await _add_checkins(db, now, 400)
    got = await _race(db, now, workers=2, batch=20)
    _assert_each_claimed_once(got, ids)


@pytest.mark.postgres
async def test_three_workers_claim_10000_checkins_exactly_once(
    postgres_db: Database, clock: ManualClock
) -> None:
    """Scale-out runs on PostgreSQL only (with SQLite exactly one process runs the ticks)."""
    db = postgres_db
    now = clock.now()
    ids = await _add_checkins(db, now, 10_000)
    got = await _race(db, now, workers=3, batch=100)
    _assert_each_claimed_once(got, ids)
    assert sum(1 for worker_ids in got.values() if worker_ids) >= 2  # they really competed
    async with db.transaction() as session:
        by_worker = Counter(
            (
                await session.execute(
                    select(CheckIn.claimed_by, func.count()).group_by(CheckIn.claimed_by)
                )
            ).all()
        )
    assert {worker: n for (worker, n), _ in by_worker.items()} == {
        worker: len(worker_ids) for worker, worker_ids in got.items()
    }


async def _race(db: Database, now: datetime, *, workers: int, batch: int) -> dict[str, list[int]]:
    """Run ``workers`` claim loops side by side, each on its own engine, until nothing is due."""

    async def work(name: str) -> list[int]:
        mine: list[int] = []
        async with Database.from_url(db.url, pool_size=1) as own:
            while True:
                async with own.transaction() as session:
                    claimed = await claim_due_checkins(session, now, name, batch, LEASE)
                    await asyncio.sleep(0)  # let the others run while the rows are locked
                if not claimed:
                    return mine
                mine += claimed

    names = [f"worker-{i}" for i in range(workers)]
    results = await asyncio.gather(*(work(name) for name in names))
    return dict(zip(names, results, strict=True))


def _assert_each_claimed_once(got: dict[str, list[int]], ids: list[int]) -> None:
    every = [row_id for worker_ids in got.values() for row_id in worker_ids]
    duplicates = [row_id for row_id, n in Counter(every).items() if n > 1]
    assert duplicates == []
    assert sorted(every) == sorted(ids)


def test_claim_statement_shape() -> None:
    """One UPDATE … WHERE id = ANY(ARRAY(SELECT … FOR UPDATE SKIP LOCKED)) RETURNING statement
    on PostgreSQL; ``id IN (SELECT …)`` on SQLite."""
    from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
    from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

    from storage.claims import checkins_statement

    now = datetime(2026, 1, 1, tzinfo=UTC)
    pg = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
    sql = str(checkins_statement(now, "w", 10, LEASE).compile(dialect=pg))
    assert sql.startswith("UPDATE checkins SET")
    assert "WHERE checkins.id = ANY (array((SELECT checkins.id" in sql
    assert "FOR UPDATE SKIP LOCKED" in sql and "RETURNING checkins.id" in sql
    lite = str(
        checkins_statement(now, "w", 10, LEASE, "sqlite").compile(dialect=SQLiteDialect_aiosqlite())
    )
    assert "WHERE checkins.id IN (SELECT checkins.id" in lite and "FOR UPDATE" not in lite
