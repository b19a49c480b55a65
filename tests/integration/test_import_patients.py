"""``import patients`` against SQLite and PostgreSQL: enrolment, family, consent, re-import."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.effects import revoke_and_cancel
from bot.importing import import_patients
from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import Consent, Enrollment, FamilyContact, Patient, ProgramRow
from storage.repositories import ConsentRepository, ManagerRepository, PatientRepository
from tests.integration.test_import_managers import DATA, SETTINGS, count, import_team

HEADER = (DATA / "patients.csv").read_text().splitlines()[0]


async def patients_by_id(db: Database) -> dict[str, Patient]:
    async with db.transaction() as session:
        return {p.external_id: p for p in await session.scalars(select(Patient))}


async def rows_of(db: Database, model: type) -> list:
    async with db.transaction() as session:
        return list(await session.scalars(select(model).order_by(model.id)))


async def table_counts(db: Database) -> tuple[int, int, int, int]:
    return (
        await count(db, Patient),
        await count(db, Enrollment),
        await count(db, FamilyContact),
        await count(db, Consent),
    )


async def test_good_file(db: Database, clock: ManualClock) -> None:
    await import_team(db, clock)
    report = await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    assert report.imported and report.bad == [] and report.exit_code == 0
    assert (report.created, report.updated, report.unchanged, report.opted_out) == (4, 0, 0, 0)

    patients = await patients_by_id(db)
    maria, bob, jean, ann = (patients[key] for key in ("P001", "P002", "P003", "P004"))
    assert (maria.phone, maria.language, maria.channel, maria.status) == (
        "+12025550143", "es", "sms", "active",
    )  # fmt: skip
    assert maria.baseline == {"weight": 182.0} and bob.baseline == {"weight": 181.9}
    assert (jean.phone, jean.status) == (None, "awaiting_link")
    assert ann.baseline == {"weight": 182.0} and ann.created_at == clock.now()

    enrollments = {e.patient_id: e for e in await rows_of(db, Enrollment)}
    first = enrollments[maria.id]
    assert (first.program_id, first.cadence_day, first.cadence_time) == (
        "heart_failure",
        "5",
        "10:00",
    )
    # 2026-03-05 10:00 in New York (EST) is 15:00 UTC; the anchor is the import time
    assert first.next_due_at == datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
    assert first.anchor_at == clock.now()
    assert enrollments[bob.id].next_due_at == datetime(2026, 3, 3, 15, 30, tzinfo=UTC)
    assert enrollments[jean.id].cadence_day == "last fri"
    assert {row.id for row in await rows_of(db, ProgramRow)} >= {"general", "heart_failure"}

    family = {f.name: f for f in await rows_of(db, FamilyContact)}
    luis, tom = family["Luis García"], family["Tom Lee"]
    assert (luis.patient_id, luis.address, luis.notify_on) == (
        maria.id, "tel:+12025550150", ["escalation", "unreachable"],
    )  # fmt: skip
    assert (tom.address, tom.channel, tom.language, tom.relationship_) == (
        "voice:+12025550151", "voice", "en", "husband",
    )  # fmt: skip

    consents = await rows_of(db, Consent)
    assert {
        (c.patient_id, c.family_contact_id, c.channel, c.address, c.scope) for c in consents
    } == {
        (maria.id, None, "sms", "tel:+12025550143", "checkins"),
        (bob.id, None, "voice", "voice:+12025550144", "checkins"),
        (ann.id, None, "sms", "tel:+12025550146", "checkins"),
        (maria.id, luis.id, "sms", "tel:+12025550150", "escalation;unreachable"),
        (ann.id, tom.id, "voice", "voice:+12025550151", "summary"),
    }  # the Telegram patient consents when they link their chat
    assert all(
        c.granted and c.source == "import" and c.recorded_at == clock.now() for c in consents
    )
    assert next(c for c in consents if c.patient_id == maria.id).language == "es"


async def test_bad_file_names_every_line_and_imports_nothing(
    db: Database, clock: ManualClock
) -> None:
    await import_team(db, clock)
    report = await import_patients(db, clock, SETTINGS, DATA / "patients_bad.csv")
    assert not report.imported and report.exit_code == 1
    assert [bad.line for bad in report.bad] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16]
    assert await table_counts(db) == (0, 0, 0, 0)
    assert await count(db, ProgramRow) == 0
    assert report.summary().startswith("patients: nothing imported: 12 bad of 15 rows")


async def test_skip_bad_imports_the_good_rows(db: Database, clock: ManualClock) -> None:
    await import_team(db, clock)
    report = await import_patients(db, clock, SETTINGS, DATA / "patients_bad.csv", skip_bad=True)
    assert report.imported and report.exit_code == 0
    assert (report.created, len(report.bad)) == (3, 12)
    patients = await patients_by_id(db)
    assert sorted(patients) == ["P100", "P111", "P113"]
    assert patients["P111"].name == "Two\nLines"
    assert patients["P113"].status == "awaiting_link"


async def test_reimport_updates_in_place(db: Database, clock: ManualClock, tmp_path: Path) -> None:
    await import_team(db, clock)
    await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    before = await table_counts(db)
    assert before == (4, 4, 2, 5)

    clock.advance(timedelta(days=1))
    same = await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    assert (same.created, same.updated, same.unchanged) == (0, 0, 4)
    assert await table_counts(db) == before

    text = (DATA / "patients.csv").read_text()
    text = text.replace('P002,"Smith, Robert"', 'P002,"Smith, Bob"')
    text = text.replace("America/Chicago,en,voice", "America/Denver,en,voice")
    text = text.replace(
        "heart_failure,ana.lopez@clinic.example,5,10:00,182,",
        "copd,ana.lopez@clinic.example,last mon,09:00,185 lb,",
    )
    text = text.replace("202.555.0146", "(202) 555-0199")
    changed = tmp_path / "patients.csv"
    changed.write_text(text)
    clock.advance(timedelta(days=1))
    report = await import_patients(db, clock, SETTINGS, changed)
    assert (report.created, report.updated, report.unchanged) == (0, 3, 1)
    # the new phone of P004 gets its own consent; nothing else is duplicated
    assert await table_counts(db) == (4, 4, 2, 6)
    patients = await patients_by_id(db)
    assert patients["P002"].name == "Smith, Bob"
    assert patients["P004"].phone == "+12025550199"
    assert patients["P001"].baseline == {"weight": 185.0}
    enrollment = next(
        e for e in await rows_of(db, Enrollment) if e.patient_id == patients["P001"].id
    )
    assert (enrollment.program_id, enrollment.cadence_day, enrollment.cadence_time) == (
        "copd", "last mon", "09:00",
    )  # fmt: skip
    assert enrollment.anchor_at == clock.now()
    assert enrollment.next_due_at == datetime(2026, 3, 30, 13, 0, tzinfo=UTC)  # EDT by then
    moved = next(e for e in await rows_of(db, Enrollment) if e.patient_id == patients["P002"].id)
    assert patients["P002"].timezone == "America/Denver"
    # same cadence, new zone: due again at 09:30 local (MDT), the anchor kept
    assert moved.next_due_at == datetime(2026, 4, 7, 15, 30, tzinfo=UTC)
    assert moved.anchor_at == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


async def test_reimport_after_stop_leaves_the_patient_opted_out(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    await import_team(db, clock)
    await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    clock.advance(timedelta(hours=2))
    async with db.transaction() as session:  # the patient texts STOP
        await revoke_and_cancel(session, "tel:+12025550143", "keyword", clock.now())
    consents_before = await count(db, Consent)

    clock.advance(timedelta(days=3))
    changed = tmp_path / "patients.csv"
    changed.write_text((DATA / "patients.csv").read_text().replace("María García", "Maria Garcia"))
    report = await import_patients(db, clock, SETTINGS, changed)
    assert report.imported and report.exit_code == 0
    assert (report.opted_out, report.unchanged, report.updated) == (1, 3, 0)
    assert [(n.line, n.text) for n in report.notes] == [(2, "opted out, left unchanged (patient)")]
    assert "1 opted out (left unchanged)" in report.summary()

    maria = (await patients_by_id(db))["P001"]
    assert (maria.name, maria.status) == ("María García", "opted_out")
    assert await count(db, Consent) == consents_before
    async with db.transaction() as session:
        consents = ConsentRepository(session)
        assert not await consents.is_granted("sms", "tel:+12025550143", patient_id=maria.id)


async def test_a_stop_sent_before_the_import_is_honoured(db: Database, clock: ManualClock) -> None:
    """STOP from numbers nobody was on file at: María's (by text), Robert's (by text, though
    he is a voice patient) and her son Luis's. The import puts them on file as opted out, with
    their own revocations, instead of granting consent from the file."""
    async with db.transaction() as session:
        for phone in ("+12025550143", "+12025550144", "+12025550150"):
            await revoke_and_cancel(session, f"tel:{phone}", "keyword", clock.now())
    clock.advance(timedelta(days=2))
    await import_team(db, clock)

    report = await import_patients(db, clock, SETTINGS, DATA / "patients.csv")

    assert report.imported and report.created == 4
    assert [(n.line, n.text) for n in report.notes] == [
        (2, "patient's number sent STOP before; imported opted out"),
        (2, "family member's number sent STOP before; imported opted out"),
        (3, "patient's number sent STOP before; imported opted out"),
    ]
    patients = await patients_by_id(db)
    maria, bob, ann = patients["P001"], patients["P002"], patients["P004"]
    assert (maria.status, bob.status, ann.status) == ("opted_out", "opted_out", "active")
    luis = next(f for f in await rows_of(db, FamilyContact) if f.name == "Luis García")
    async with db.transaction() as session:
        consents = ConsentRepository(session)
        assert not await consents.is_granted("sms", "tel:+12025550143", patient_id=maria.id)
        assert not await consents.is_granted("voice", "voice:+12025550144", patient_id=bob.id)
        assert not await consents.is_granted("sms", "tel:+12025550150", family_contact_id=luis.id)
        assert await consents.is_granted("sms", "tel:+12025550146", patient_id=ann.id)
        own = await consents.current("sms", "tel:+12025550143", patient_id=maria.id)
        assert own is not None and own.source == "keyword" and own.recorded_at < clock.now()

    # A re-import leaves them so, and a START from María's phone afterwards is hers to send.
    clock.advance(timedelta(days=1))
    again = await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    assert again.opted_out == 2 and again.created == 0


async def test_a_revocation_row_alone_is_enough(db: Database, clock: ManualClock) -> None:
    await import_team(db, clock)
    await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    async with db.transaction() as session:  # e.g. the provider reported 21610 for this patient
        bob = await PatientRepository(session).by_external_id("P002")
        assert bob is not None and bob.status == "active"
        await ConsentRepository(session).record(
            channel="voice", address="voice:+12025550144", granted=False, source="provider",
            at=clock.now() + timedelta(minutes=1), patient_id=bob.id,
        )  # fmt: skip
    clock.advance(timedelta(days=1))
    report = await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    assert report.opted_out == 1 and report.notes[0].line == 3
    async with db.transaction() as session:
        assert not await ConsentRepository(session).is_granted(
            "voice", "voice:+12025550144", patient_id=bob.id
        )


async def test_reimport_after_a_family_stop(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    await import_team(db, clock)
    await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    clock.advance(timedelta(hours=1))
    async with db.transaction() as session:  # Luis, Maria's son, texts STOP
        await revoke_and_cancel(session, "tel:+12025550150", "keyword", clock.now())
    clock.advance(timedelta(days=1))
    changed = tmp_path / "patients.csv"
    text = (DATA / "patients.csv").read_text()
    changed.write_text(
        text.replace(
            "son,202-555-0150,sms,es,escalation;unreachable", "son,202-555-0150,voice,es,summary"
        ).replace("María García", "María G.")
    )
    report = await import_patients(db, clock, SETTINGS, changed)
    assert report.opted_out == 1
    assert [(n.line, n.text) for n in report.notes] == [
        (2, "opted out, left unchanged (family member)")
    ]
    patients = await patients_by_id(db)
    assert patients["P001"].name == "María G."  # the patient's own row still updates
    luis = next(f for f in await rows_of(db, FamilyContact) if f.name == "Luis García")
    assert (luis.channel, luis.notify_on) == ("sms", ["escalation", "unreachable"])
    async with db.transaction() as session:
        consents = ConsentRepository(session)
        assert not await consents.is_granted("sms", "tel:+12025550150", family_contact_id=luis.id)
        assert not await consents.is_granted(
            "voice", "voice:+12025550150", family_contact_id=luis.id
        )


async def test_linked_telegram_patient_stays_linked(db: Database, clock: ManualClock) -> None:
    await import_team(db, clock)
    await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    async with db.transaction() as session:
        patients = PatientRepository(session)
        jean = await patients.by_external_id("P003")
        assert jean is not None
        await patients.link_telegram(jean.id, "777", at=clock.now())
    report = await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    assert report.unchanged == 4
    jean = (await patients_by_id(db))["P003"]
    assert (jean.telegram_chat_id, jean.status) == ("777", "active")


async def test_five_hundred_rows(db: Database, clock: ManualClock, tmp_path: Path) -> None:
    await import_team(db, clock)
    lines = [HEADER]
    for n in range(500):
        family = f"Kin {n},spouse,+1 202 555 {n % 100:04d},sms,,escalation" if n % 2 else ",,,,,"
        lines.append(
            f"Q{n:04d},Patient {n},(202) 555-{n % 100:04d},America/Chicago,en,sms,general,"
            f"ana.lopez@clinic.example,{n % 28 + 1},10:00,{150 + n % 50},{family}"
        )
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n")
    seen: list[tuple[int, int]] = []
    report = await import_patients(
        db, clock, SETTINGS, path, progress=lambda d, t: seen.append((d, t))
    )
    assert (report.created, report.bad) == (500, [])
    assert seen == [(500, 500)]
    assert await table_counts(db) == (500, 500, 250, 750)
    again = await import_patients(db, clock, SETTINGS, path)
    assert again.unchanged == 500
    assert await table_counts(db) == (500, 500, 250, 750)


async def test_logs_carry_ids_not_names_or_phones(
    db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await import_team(db, clock)
    await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    async with db.transaction() as session:
        await revoke_and_cancel(session, "tel:+12025550143", "keyword", clock.now())
    with caplog.at_level(logging.DEBUG, logger="carebot"):
        await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
        await import_patients(db, clock, SETTINGS, DATA / "patients_bad.csv", skip_bad=True)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "opted out" in text and "created=" in text
    for secret in ("María", "García", "Smith", "202", "555", "P001", "clinic.example"):
        assert secret not in text


async def test_a_deactivated_care_manager_is_a_bad_row(db: Database, clock: ManualClock) -> None:
    await import_team(db, clock)
    async with db.transaction() as session:
        repo = ManagerRepository(session)
        ben = await repo.by_email("ben.okafor@clinic.example")
        assert ben is not None
        await repo.set_active(ben.id, False)
    report = await import_patients(db, clock, SETTINGS, DATA / "patients.csv")
    assert [(bad.line, bad.reasons) for bad in report.bad] == [
        (3, ("care_manager 'ben.okafor@clinic.example' is a deactivated manager",))
    ]
