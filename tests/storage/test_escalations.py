"""Escalations, their events and notifications, on both engines."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from outreach.clock import ManualClock
from storage.engine import Database
from storage.repositories import EscalationRepository, NotificationRepository, Raised
from tests.storage import seed

FINDING = {"rule_id": "weight.gain", "question_id": "weight", "value": 186.0}


async def _raise(
    db: Database, clock: ManualClock, patient_id: int, rule: str, severity: str, **kw: object
) -> Raised:
    async with db.transaction() as session:
        return await EscalationRepository(session).raise_or_update(
            patient_id=patient_id,
            rule_id=rule,
            severity=severity,
            reasons=[{**FINDING, "rule_id": rule, "severity": severity}],
            at=clock.now(),
            ack_deadline=clock.now() + timedelta(hours=1),
            **kw,  # type: ignore[arg-type]
        )


async def test_repeat_finding_updates_the_open_escalation(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as session:
        m, p, _ = await seed.world(session, clock.now())
    first = await _raise(
        db, clock, p.id, "weight.gain", "routine", patient_words="heavier", assignee_id=m.id
    )
    assert first.created and first.escalation.status == "open"
    clock.advance(timedelta(minutes=10))
    again = await _raise(db, clock, p.id, "weight.gain", "routine", patient_words="still heavy")
    assert not again.created and not again.severity_raised
    assert again.escalation.id == first.escalation.id
    assert again.escalation.patient_words == "still heavy"
    assert len(again.escalation.reasons) == 1  # the same finding is not added twice
    worse = await _raise(db, clock, p.id, "weight.gain", "urgent")
    assert worse.severity_raised and worse.escalation.severity == "urgent"
    assert len(worse.escalation.reasons) == 2
    async with db.transaction() as session:
        repo = EscalationRepository(session)
        assert [e.kind for e in await repo.events(first.escalation.id)] == [
            "created",
            "updated",
            "updated",
        ]
        # Resolving frees the key: the next finding opens a new escalation.
        assert await repo.resolve(first.escalation.id, m.id, clock.now(), note="called her")
        assert not await repo.resolve(first.escalation.id, m.id, clock.now())
    fresh = await _raise(db, clock, p.id, "weight.gain", "routine")
    assert fresh.created and fresh.escalation.id != first.escalation.id
    async with db.transaction() as session:
        resolved = await EscalationRepository(session).get(first.escalation.id)
        assert resolved is not None and resolved.dedupe_key is None
        assert resolved.status == "resolved" and resolved.notes[0]["text"] == "called her"
        assert resolved.acked_at is not None and resolved.resolved_by_id == m.id


async def test_concurrent_same_finding_opens_one_escalation(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as session:
        _, p, _ = await seed.world(session, clock.now())
    results = await asyncio.gather(
        *(_raise(db, clock, p.id, "chest_pain", "emergency") for _ in range(3))
    )
    assert sum(r.created for r in results) == 1
    assert len({r.escalation.id for r in results}) == 1


async def test_acknowledge_climb_and_queue_order(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as session:
        m, p, _ = await seed.world(session, clock.now())
        backup = await seed.manager(session, clock.now(), "backup@example.org")
    routine = await _raise(db, clock, p.id, "r1", "routine", assignee_id=m.id)
    clock.advance(timedelta(minutes=1))
    urgent_old = await _raise(db, clock, p.id, "u1", "urgent", assignee_id=m.id)
    clock.advance(timedelta(minutes=1))
    urgent_new = await _raise(db, clock, p.id, "u2", "urgent", assignee_id=backup.id)
    emergency = await _raise(db, clock, p.id, "e1", "emergency", assignee_id=m.id)
    async with db.transaction() as session:
        repo = EscalationRepository(session)
        queue = [e.id for e in await repo.list_open()]
        assert queue == [
            emergency.escalation.id,
            urgent_old.escalation.id,
            urgent_new.escalation.id,
            routine.escalation.id,
        ]
        mine = [e.id for e in await repo.list_open(assignee_ids=[backup.id])]
        assert mine == [urgent_new.escalation.id]
        assert await repo.climb(
            urgent_old.escalation.id,
            level=1,
            assignee_id=backup.id,
            ack_deadline=clock.now() + timedelta(hours=1),
            at=clock.now(),
        )
        assert await repo.acknowledge(emergency.escalation.id, m.id, clock.now())
        assert not await repo.acknowledge(emergency.escalation.id, m.id, clock.now())
        assert not await repo.climb(
            emergency.escalation.id, level=1, ack_deadline=None, at=clock.now()
        )
        await repo.add_note(routine.escalation.id, "left voicemail", m.id, clock.now())
        open_only = [e.id for e in await repo.list_open(statuses=["open"])]
        assert emergency.escalation.id not in open_only
        assert len(await repo.for_patient(p.id)) == 4
    async with db.transaction() as session:
        repo = EscalationRepository(session)
        climbed = await repo.get(urgent_old.escalation.id)
        assert climbed is not None and climbed.ladder_level == 1
        assert climbed.assignee_id == backup.id
        assert [e.kind for e in await repo.events(urgent_old.escalation.id)] == [
            "created",
            "laddered",
        ]
        acked = await repo.get(emergency.escalation.id)
        assert acked is not None and acked.status == "acknowledged" and acked.acked_by_id == m.id


async def test_notifications(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as session:
        m, p, _ = await seed.world(session, clock.now())
    raised = await _raise(db, clock, p.id, "r1", "urgent")
    esc_id = raised.escalation.id
    async with db.transaction() as session:
        repo = NotificationRepository(session)
        await repo.record(
            "alert", clock.now(), escalation_id=esc_id, patient_id=p.id, care_manager_id=m.id
        )
        await repo.record(
            "ladder",
            clock.now(),
            escalation_id=esc_id,
            patient_id=p.id,
            care_manager_id=m.id,
            rung=1,
            note="backup",
        )
        assert await repo.exists("ladder", escalation_id=esc_id, rung=1)
        assert not await repo.exists("ladder", escalation_id=esc_id, rung=2)
        assert not await repo.exists("family_escalation", escalation_id=esc_id)
        assert [n.kind for n in await repo.for_escalation(esc_id)] == ["alert", "ladder"]
        assert len(await repo.for_patient(p.id)) == 2
