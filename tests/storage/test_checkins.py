"""Programs, enrollments, check-ins and answers, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from outreach.clock import ManualClock
from storage.engine import Database
from storage.repositories import CheckInRepository, EnrollmentRepository, ProgramRepository
from tests.storage import seed


async def test_programs_upsert(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        repo = ProgramRepository(session)
        await repo.upsert("hf", "Heart failure", "abc", at=now)
        changed = await repo.upsert("hf", "Heart failure", "def", at=now + timedelta(days=1))
        assert changed.digest == "def" and changed.updated_at == now + timedelta(days=1)
        await repo.upsert("copd", "COPD", "x", at=now)
    async with db.transaction() as session:
        assert [p.id for p in await ProgramRepository(session).list_all()] == ["copd", "hf"]


async def test_enrollments_upsert_schedule_pause(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        _, p, e = await seed.world(session, now)
        repo = EnrollmentRepository(session)
        again, created = await repo.upsert(
            p.id,
            "general",
            cadence_day="first tue",
            cadence_time="09:30",
            next_due_at=now + timedelta(days=3),
            at=now,
        )
        assert not created and again.id == e.id and again.cadence_day == "first tue"
        await repo.schedule_next(e.id, now + timedelta(days=30), missed=True)
        await repo.schedule_next(e.id, now + timedelta(days=60), missed=True)
    async with db.transaction() as session:
        repo = EnrollmentRepository(session)
        loaded = await repo.get(e.id)
        assert loaded is not None and loaded.consecutive_missed == 2
        assert loaded.next_due_at == now + timedelta(days=60)
        await repo.schedule_next(e.id, now + timedelta(days=90), missed=False)
        await repo.set_paused(e.id, True)
        many = await repo.get_many([e.id])
        assert many[0].patient.external_id == "P1"  # loaded eagerly, no lazy load
        assert many[0].paused and many[0].next_due_at is None and many[0].consecutive_missed == 0
        assert [x.id for x in await repo.for_patient(p.id)] == [e.id]


async def test_duplicate_occurrence_returns_none_without_raising(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    async with db.transaction() as session:
        _, p, e = await seed.world(session, now)
        repo = CheckInRepository(session)
        first = await repo.create(
            enrollment_id=e.id,
            patient_id=p.id,
            program_id="general",
            occurrence_key="2026-03",
            scheduled_for=now,
            at=now,
            state={"step": 0},
        )
        assert first is not None and first.status == "pending" and first.state == {"step": 0}
        second = await repo.create(
            enrollment_id=e.id,
            patient_id=p.id,
            program_id="general",
            occurrence_key="2026-03",
            scheduled_for=now + timedelta(hours=1),
            at=now,
        )
        assert second is None
        # The transaction is still usable after the ignored duplicate.
        other = await repo.create(
            enrollment_id=e.id,
            patient_id=p.id,
            program_id="general",
            occurrence_key="manual-1",
            scheduled_for=now,
            at=now,
            manual=True,
        )
        assert other is not None and other.manual
    async with db.transaction() as session:
        found = await CheckInRepository(session).by_occurrence(e.id, "2026-03")
        assert found is not None and found.id == first.id and found.scheduled_for == now


async def test_duplicate_occurrence_from_two_sessions(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        _, p, e = await seed.world(session, now)
    results = []
    for _ in range(2):
        async with db.transaction() as session:
            results.append(
                await CheckInRepository(session).create(
                    enrollment_id=e.id,
                    patient_id=p.id,
                    program_id="general",
                    occurrence_key="2026-04",
                    scheduled_for=now,
                    at=now,
                )
            )
    assert results[0] is not None and results[1] is None


async def test_checkin_lifecycle_answers_and_readings(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        _, p, e = await seed.world(session, now)
        repo = CheckInRepository(session)
        march = await seed.checkin(session, now, e, "2026-03")
        march.status = "completed"
        march.completed_at = now
        await repo.record_answer(
            march.id, p.id, "weight", raw_text="182 lb", value_num=182.0, unit="lb", at=now
        )
        await repo.record_answer(march.id, p.id, "mood", raw_text="ok", value_text="ok", at=now)
        april_at = now + timedelta(days=31)
        april = await seed.checkin(session, april_at, e, "2026-04")
        april.status = "in_progress"
        await repo.record_answer(
            april.id, p.id, "weight", raw_text="190", value_num=190.0, unit="lb", at=april_at
        )
        # Answering the same question again replaces the answer.
        await repo.record_answer(
            april.id,
            p.id,
            "weight",
            raw_text="191",
            value_num=191.0,
            unit="lb",
            at=april_at + timedelta(minutes=1),
        )
    async with db.transaction() as session:
        repo = CheckInRepository(session)
        current = await repo.in_progress_for(p.id)
        assert current is not None and current.id == april.id
        assert [c.id for c in await repo.open_for(p.id)] == [april.id]
        previous = await repo.last_completed(p.id, exclude_id=april.id)
        assert previous is not None and previous.id == march.id
        assert {a.question_id: a.value_num for a in previous.answers} == {
            "weight": 182.0,
            "mood": None,
        }
        assert await repo.last_completed(p.id, before=now) is None
        readings = await repo.readings(p.id, "weight")
        assert [(r.value, r.at) for r in readings] == [
            (182.0, now),
            (191.0, april_at + timedelta(minutes=1)),
        ]
        assert [r.value for r in await repo.readings(p.id, "weight", since=april_at)] == [191.0]
        with_answers = await repo.get(april.id, with_answers=True)
        assert with_answers is not None and [a.raw_text for a in with_answers.answers] == ["191"]
        assert await repo.recent_statuses(e.id) == ["completed"]
        assert [c.id for c in await repo.list_for_patient(p.id)] == [april.id, march.id]


async def test_concurrent_stale_checkin_update_is_refused(db: Database, clock: ManualClock) -> None:
    """The version column: two sessions stepping the same conversation cannot both win."""
    from sqlalchemy.orm.exc import StaleDataError

    now = clock.now()
    async with db.transaction() as session:
        _, _, e = await seed.world(session, now)
        checkin = await seed.checkin(session, now, e)
    async with db.sessionmaker() as first, db.sessionmaker() as second:
        # Short transactions (SQLite: each one holds the write lock until it ends).
        a = await CheckInRepository(first).require(checkin.id)
        await first.commit()
        b = await CheckInRepository(second).require(checkin.id)
        await second.commit()
        a.state = {"step": 1}
        await first.commit()
        b.state = {"step": 99}
        with pytest.raises(StaleDataError):
            await second.commit()
    async with db.transaction() as session:
        final = await CheckInRepository(session).require(checkin.id)
        await session.refresh(final)
        assert final.state == {"step": 1} and final.version == 2


async def test_checkin_foreign_keys_hold(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await ProgramRepository(session).upsert("general", "General", "d", at=now)
            await CheckInRepository(session).create(
                enrollment_id=424242,
                patient_id=434343,
                program_id="general",
                occurrence_key="x",
                scheduled_for=now,
                at=now,
            )
