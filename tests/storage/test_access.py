"""Link codes, API tokens, the audit log and the scheduler lease, on both engines."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from outreach.clock import ManualClock
from storage.engine import Database
from storage.repositories import (
    ApiTokenRepository,
    AuditRepository,
    LinkCodeRepository,
    SchedulerLockRepository,
)
from tests.storage import seed


async def test_link_code_is_hashed_single_use_and_expiring(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    async with db.transaction() as session:
        m, p, _ = await seed.world(session, now)
        repo = LinkCodeRepository(session)
        code, row = await repo.create(patient_id=p.id, expires_at=now + timedelta(days=7), at=now)
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", code) and row.code_hash != code
        old, _ = await repo.create(
            care_manager_id=m.id, expires_at=now + timedelta(hours=1), at=now
        )
        with pytest.raises(ValueError, match="exactly one"):
            await repo.create(patient_id=p.id, care_manager_id=m.id, expires_at=now, at=now)

    async def redeem(value: str, when=now):  # type: ignore[no-untyped-def]
        async with db.transaction() as session:
            return await LinkCodeRepository(session).redeem(value, when)

    results = await asyncio.gather(redeem(code), redeem(code), redeem(code))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0].patient_id == p.id and winners[0].used_at == now
    assert await redeem("not-a-code") is None
    assert await redeem(old, now + timedelta(hours=2)) is None  # expired


async def test_api_tokens(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        m, _, _ = await seed.world(session, now)
        repo = ApiTokenRepository(session)
        token, row = await repo.create(m.id, "reporting", at=now)
        assert row.token_hash != token
        found = await repo.authenticate(token)
        assert found is not None and found.care_manager_id == m.id
        assert await repo.revoke(row.id, now)
        assert not await repo.revoke(row.id, now)
        assert await repo.authenticate(token) is None
        assert [t.name for t in await repo.list_for(m.id)] == ["reporting"]
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await ApiTokenRepository(session).create(999_999, "orphan", at=now)


async def test_audit_log(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        m, p, _ = await seed.world(session, now)
        repo = AuditRepository(session)
        await repo.record(
            at=now,
            actor_type="care_manager",
            actor_id=m.id,
            action="read",
            entity_type="patient",
            entity_id=p.id,
            patient_id=p.id,
            detail={"view": "timeline"},
        )
        await repo.record(
            at=now + timedelta(seconds=1),
            actor_type="system",
            action="escalation.ladder",
            entity_type="escalation",
            entity_id="7",
        )
    async with db.transaction() as session:
        repo = AuditRepository(session)
        entries = await repo.for_patient(p.id)
        assert [(e.action, e.entity_id, e.detail) for e in entries] == [
            ("read", str(p.id), {"view": "timeline"})
        ]
        assert [e.actor_type for e in await repo.recent()] == ["system", "care_manager"]
        assert len(await repo.recent(actor_id=m.id)) == 1


async def test_scheduler_lock_refuses_a_second_holder_until_the_lease_expires(
    db: Database, clock: ManualClock
) -> None:
    ttl = timedelta(seconds=30)

    async def call(method: str, holder: str, **kw: object) -> bool:
        async with db.transaction() as session:
            repo = SchedulerLockRepository(session)
            fn = getattr(repo, method)
            if method == "release":
                return bool(await fn("ticks", holder))
            return bool(await fn("ticks", holder, ttl, clock.now()))

    assert await call("acquire", "worker-a")
    assert await call("acquire", "worker-a")  # re-entrant for the holder
    assert not await call("acquire", "worker-b")
    clock.advance(timedelta(seconds=20))
    assert await call("renew", "worker-a")
    assert not await call("renew", "worker-b")
    clock.advance(timedelta(seconds=20))  # renewed at +20 s: still held at +40 s
    assert not await call("acquire", "worker-b")
    async with db.transaction() as session:
        assert await SchedulerLockRepository(session).holder("ticks", clock.now()) == "worker-a"
    clock.advance(timedelta(seconds=11))  # lease ran out (a crashed holder)
    assert await call("acquire", "worker-b")
    assert not await call("renew", "worker-a")  # the old holder learns it lost the lease
    assert not await call("release", "worker-a")
    assert await call("release", "worker-b")
    assert await call("acquire", "worker-a")


async def test_scheduler_lock_concurrent_acquire_has_one_winner(
    db: Database, clock: ManualClock
) -> None:
    async def acquire(holder: str) -> bool:
        async with db.transaction() as session:
            return await SchedulerLockRepository(session).acquire(
                "ticks", holder, timedelta(seconds=30), clock.now()
            )

    results = await asyncio.gather(*(acquire(f"w{i}") for i in range(4)))
    assert sorted(results) == [False, False, False, True]
