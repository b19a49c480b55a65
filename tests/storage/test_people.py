"""Managers, patients, family contacts, consents and the rota, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from outreach.clock import ManualClock
from outreach.errors import PatientNotFound
from storage.engine import Database
from storage.repositories import (
    ConsentRepository,
    FamilyContactRepository,
    FamilyFields,
    ManagerRepository,
    PatientFields,
    PatientRepository,
    RotaEntry,
    RotaRepository,
)
from tests.storage import seed


async def test_managers_upsert_by_email_list_and_backup(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        repo = ManagerRepository(session)
        ana, created = await repo.upsert_by_email("Ana@Example.org ", name="Ana", at=now)
        assert created and ana.email == "ana@example.org"
        bo, _ = await repo.upsert_by_email("bo@example.org", name="Bo", role="supervisor", at=now)
        again, created = await repo.upsert_by_email(
            "ANA@example.org", name="Ana B", phone="+15550002222", at=now
        )
        assert not created and again.id == ana.id and again.phone == "+15550002222"
        await repo.set_backup(ana.id, bo.id)
        with pytest.raises(ValueError, match="own backup"):
            await repo.set_backup(ana.id, ana.id)
        await repo.set_telegram_chat(bo.id, "777")
        await repo.set_active(bo.id, False)
    async with db.transaction() as session:
        repo = ManagerRepository(session)
        loaded = await repo.by_email("ana@EXAMPLE.org")
        assert loaded is not None and loaded.backup_id == bo.id and loaded.name == "Ana B"
        assert (await repo.get(bo.id)) is not None
        assert [m.email for m in await repo.list_all()] == ["ana@example.org"]
        everyone = await repo.list_all(active=False)
        assert [m.email for m in everyone] == ["ana@example.org", "bo@example.org"]
        assert [m.name for m in await repo.list_all(role="supervisor", active=False)] == ["Bo"]
        by_chat = await repo.by_telegram_chat("777")
        assert by_chat is not None and by_chat.id == bo.id


async def test_duplicate_manager_email_is_rejected(db: Database, clock: ManualClock) -> None:
    from storage.models import CareManager

    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            for _ in range(2):
                session.add(CareManager(email="x@example.org", name="X", created_at=clock.now()))
                await session.flush()


async def test_patients_upsert_lookup_and_shared_phone(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        m = await seed.manager(session, now)
        p1 = await seed.patient(session, now, m.id, "P1", phone="+15550001111", name="Ana Ruiz")
        p2 = await seed.patient(session, now, m.id, "P2", phone="+15550001111", name="Luis Ruiz")
        await seed.patient(session, now, m.id, "P3", phone="+15550009999", name="Zoe 100%")
        repo = PatientRepository(session)
        await repo.set_status(p2.id, "opted_out", at=now)
        await repo.link_telegram(p1.id, "4242", at=now)
    async with db.transaction() as session:
        repo = PatientRepository(session)
        assert (await repo.by_external_id("P1")).id == p1.id  # type: ignore[union-attr]
        shared = await repo.by_address("tel:+15550001111")
        assert [p.external_id for p in shared] == ["P1", "P2"]
        assert [p.id for p in await repo.by_address("voice:+15550001111")] == [p1.id, p2.id]
        assert [p.id for p in await repo.by_address("telegram:4242")] == [p1.id]
        assert [p.id for p in await repo.by_address("sandbox:P1")] == [p1.id]
        assert await repo.by_address("tel:+19999999999") == []
        # Re-import: fields change, status (opted out) and the linked chat stay.
        fields = PatientFields(
            name="Luis R.",
            timezone="America/Chicago",
            channel="sms",
            care_manager_id=m.id,
            phone="+15550001111",
        )
        again, created = await repo.upsert("P2", fields, at=now + timedelta(days=1))
        assert not created and again.status == "opted_out" and again.timezone == "America/Chicago"
        fields1 = PatientFields(
            name="Ana Ruiz",
            timezone="America/New_York",
            channel="telegram",
            care_manager_id=m.id,
        )
        ana, _ = await repo.upsert("P1", fields1, at=now)
        assert ana.telegram_chat_id == "4242"
        with pytest.raises(PatientNotFound):
            await repo.require(999_999)


async def test_patient_list_filters_search_and_panel(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        m1 = await seed.manager(session, now, "m1@example.org")
        m2 = await seed.manager(session, now, "m2@example.org")
        await seed.patient(session, now, m1.id, "A-1", name="alice Adams")
        await seed.patient(session, now, m1.id, "B-2", name="Bob 100% Brown")
        await seed.patient(session, now, m2.id, "C-3", name="Carol Clark", phone="+15557770000")
        await PatientRepository(session).set_status(
            (await PatientRepository(session).by_external_id("B-2")).id,  # type: ignore[union-attr]
            "paused",
            at=now,
        )
    async with db.transaction() as session:
        repo = PatientRepository(session)
        names = [p.name for p in await repo.list_all()]
        assert names == ["alice Adams", "Bob 100% Brown", "Carol Clark"]
        assert [p.external_id for p in await repo.list_all(care_manager_ids=[m1.id])] == [
            "A-1",
            "B-2",
        ]
        assert [p.external_id for p in await repo.list_all(status="active")] == ["A-1", "C-3"]
        assert [p.external_id for p in await repo.list_all(search="ALICE")] == ["A-1"]
        assert [p.external_id for p in await repo.list_all(search="c-3")] == ["C-3"]
        assert [p.external_id for p in await repo.list_all(search="7770")] == ["C-3"]
        assert [p.external_id for p in await repo.list_all(search="100%")] == ["B-2"]
        assert [p.external_id for p in await repo.list_all(search="%")] == ["B-2"]
        assert await repo.list_all(search="_") == []  # wildcards are escaped
        assert await repo.count(care_manager_ids=[m2.id]) == 1
        assert [p.external_id for p in await repo.list_all(limit=1, offset=1)] == ["B-2"]


async def test_family_contacts(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        m = await seed.manager(session, now)
        p1 = await seed.patient(session, now, m.id, "P1")
        p2 = await seed.patient(session, now, m.id, "P2", phone="+15550003333")
        repo = FamilyContactRepository(session)
        fields = FamilyFields(
            name="Rosa",
            channel="sms",
            relationship="daughter",
            notify_on=["escalation"],
            language="es",
        )
        rosa = await repo.add(p1.id, "tel:+15558880000", fields, at=now)
        await repo.add(p2.id, "tel:+15558880000", fields, at=now)  # same person, 2 patients
        updated, created = await repo.upsert(
            p1.id,
            "tel:+15558880000",
            FamilyFields(name="Rosa M", channel="sms", notify_on=["escalation", "unreachable"]),
            at=now,
        )
        assert not created and updated.id == rosa.id
    async with db.transaction() as session:
        repo = FamilyContactRepository(session)
        found = await repo.by_address("tel:+15558880000")
        assert [c.patient_id for c in found] == [p1.id, p2.id]
        mine = await repo.for_patient(p1.id)
        assert len(mine) == 1 and mine[0].notify_on == ["escalation", "unreachable"]
        assert mine[0].name == "Rosa M" and mine[0].relationship_ == ""
        patient = await PatientRepository(session).get(p1.id, with_family=True)
        assert patient is not None and [c.name for c in patient.family_contacts] == ["Rosa M"]
        changed = await repo.update(
            rosa.id, FamilyFields(name="Rosa", channel="telegram"), address="telegram:55"
        )
        assert changed.address == "telegram:55"
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await FamilyContactRepository(session).add(
                p2.id, "tel:+15558880000", FamilyFields(name="dup", channel="sms"), at=now
            )


async def test_consent_latest_row_wins_and_revocation_wins_ties(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    async with db.transaction() as session:
        m = await seed.manager(session, now)
        p = await seed.patient(session, now, m.id)
        repo = ConsentRepository(session)
        assert await repo.current("sms", "tel:+15550001111", patient_id=p.id) is None
        assert not await repo.is_granted("sms", "tel:+15550001111", patient_id=p.id)
        await repo.record(
            channel="sms",
            address="tel:+15550001111",
            granted=True,
            source="import",
            at=now,
            patient_id=p.id,
        )
        assert await repo.is_granted("sms", "tel:+15550001111", patient_id=p.id)
        later = now + timedelta(hours=1)
        await repo.record(
            channel="sms",
            address="tel:+15550001111",
            granted=False,
            source="keyword",
            at=later,
            patient_id=p.id,
        )
        # A grant recorded at the same instant as the revocation does not undo it.
        await repo.record(
            channel="sms",
            address="tel:+15550001111",
            granted=True,
            source="import",
            at=later,
            patient_id=p.id,
        )
        assert not await repo.is_granted("sms", "tel:+15550001111", patient_id=p.id)
        # An older grant arriving late (re-import with an old time) does not either.
        await repo.record(
            channel="sms",
            address="tel:+15550001111",
            granted=True,
            source="import",
            at=now,
            patient_id=p.id,
        )
        assert not await repo.is_granted("sms", "tel:+15550001111", patient_id=p.id)
        # Only a later grant (the patient's own START) restores it.
        await repo.record(
            channel="sms",
            address="tel:+15550001111",
            granted=True,
            source="keyword",
            at=later + timedelta(minutes=1),
            patient_id=p.id,
        )
        current = await repo.current("sms", "tel:+15550001111", patient_id=p.id)
        assert current is not None and current.granted and current.source == "keyword"
        assert not await repo.is_granted("telegram", "tel:+15550001111", patient_id=p.id)
        assert len(await repo.history(patient_id=p.id)) == 5


async def test_revoke_address_revokes_everyone_on_a_shared_phone(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    phone = "+15550001111"
    address = f"tel:{phone}"
    async with db.transaction() as session:
        m = await seed.manager(session, now)
        p1 = await seed.patient(session, now, m.id, "P1", phone=phone)
        p2 = await seed.patient(session, now, m.id, "P2", phone=phone)
        other = await seed.patient(session, now, m.id, "P3", phone="+15550002222")
        fam = await FamilyContactRepository(session).add(
            other.id, address, FamilyFields(name="Spouse", channel="sms"), at=now
        )
        repo = ConsentRepository(session)
        for pid in (p1.id, p2.id, other.id):
            await repo.record(
                channel="sms",
                address=address if pid != other.id else "tel:+15550002222",
                granted=True,
                source="import",
                at=now,
                patient_id=pid,
            )
        await repo.record(
            channel="sms",
            address=address,
            granted=True,
            source="import",
            at=now,
            family_contact_id=fam.id,
        )
        rows = await repo.revoke_address("sms", address, "keyword", now + timedelta(minutes=5))
        assert {(r.patient_id, r.family_contact_id) for r in rows} == {
            (p1.id, None),
            (p2.id, None),
            (None, fam.id),
        }
        assert {r.subject for r in rows} == {"patient", "family"}
        assert not await repo.is_granted("sms", address, patient_id=p1.id)
        assert not await repo.is_granted("sms", address, patient_id=p2.id)
        assert not await repo.is_granted("sms", address, family_contact_id=fam.id)
        assert await repo.is_granted("sms", "tel:+15550002222", patient_id=other.id)
        # Nobody known at an address: the opt-out is still on file.
        unknown = await repo.revoke_address("sms", "tel:+15550004444", "keyword", now)
        assert [(r.patient_id, r.family_contact_id, r.subject) for r in unknown] == [
            (None, None, "unknown")
        ]
        assert not await repo.is_granted("sms", "tel:+15550004444")


async def test_rota_replace_all(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as session:
        m1 = await seed.manager(session, now, "m1@example.org")
        m2 = await seed.manager(session, now, "m2@example.org")
        repo = RotaRepository(session)
        await repo.replace_all(
            [RotaEntry(m1.id, "mon-fri", "18:00", "08:00", "America/New_York", "oncall")], at=now
        )
        await repo.replace_all(
            [
                RotaEntry(m2.id, "sat;sun", "00:00", "23:59", "America/New_York", "oncall"),
                RotaEntry(m1.id, "mon-sun", "00:00", "23:59", "UTC", "supervisor"),
            ],
            at=now,
        )
    async with db.transaction() as session:
        rows = await RotaRepository(session).list_all()
        assert [(r.care_manager_id, r.rung) for r in rows] == [
            (m2.id, "oncall"),
            (m1.id, "supervisor"),
        ]
        assert [r.days for r in await RotaRepository(session).list_all(rung="oncall")] == [
            "sat;sun"
        ]
