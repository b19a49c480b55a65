"""Escalations end to end on the host: safety reply first, alerts, the ladder by the clock,
acknowledgement from Telegram buttons and SMS, family notices without health details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.clock import ManualClock
from outreach.ports import InboundMessage
from outreach.triage import screen
from storage.engine import Database
from storage.models import CheckIn, Escalation, Message, Notification
from storage.repositories.consents import ConsentRepository
from storage.repositories.family import FamilyContactRepository, FamilyFields
from storage.repositories.managers import ManagerRepository
from storage.repositories.rota import RotaEntry, RotaRepository
from tests.integration.support import Host, enrol, make_host

PATIENT = "tel:+15555550101"
FAMILY = "tel:+15555550199"
NURSE_TG, NURSE_SMS = "telegram:1001", "tel:+15555550001"
BACKUP_SMS, ONCALL_SMS, SUPERVISOR_SMS, OTHER_SMS = (
    "tel:+15555550002",
    "tel:+15555550003",
    "tel:+15555550004",
    "tel:+15555550005",
)
# Words a family notice must never carry (SPEC §8): symptoms, scores, drug names, diagnoses.
FORBIDDEN = [
    "chest",
    "pain",
    "breath",
    "heart",
    "suicid",
    "kill",
    "score",
    "911",
    "insulin",
    "depress",
    "weight",
    "emergency",
    "urgent",
]


async def care_team(host: Host, *, backup: bool = True) -> None:
    """Nurse (assignee, Telegram + SMS), backup, night on-call by rota, a supervisor, and a
    manager who is on no ladder."""
    now = host.clock.now()
    async with host.runtime.db.transaction() as session:
        managers = ManagerRepository(session)
        nurse, _ = await managers.upsert_by_email(
            "nurse@example.org", name="Nina Nurse", at=now, phone="+15555550001"
        )
        await managers.set_telegram_chat(nurse.id, "1001")
        second, _ = await managers.upsert_by_email(
            "backup@example.org", name="Bo Backup", at=now, phone="+15555550002"
        )
        oncall, _ = await managers.upsert_by_email(
            "oncall@example.org", name="Olu Oncall", at=now, phone="+15555550003"
        )
        await managers.upsert_by_email(
            "sup@example.org", name="Sue Super", at=now, phone="+15555550004", role="supervisor"
        )
        await managers.upsert_by_email(
            "other@example.org", name="Otto Other", at=now, phone="+15555550005"
        )
        if backup:
            await managers.set_backup(nurse.id, second.id)
        await RotaRepository(session).replace_all(
            [RotaEntry(oncall.id, "mon-sun", "20:00", "08:00", "America/New_York", "oncall")],
            at=now,
        )


async def add_family(host: Host, patient_id: int, notify: tuple[str, ...]) -> None:
    now = host.clock.now()
    async with host.runtime.db.transaction() as session:
        contact = await FamilyContactRepository(session).add(
            patient_id,
            FAMILY,
            FamilyFields(
                name="Luis Lopez",
                channel="sms",
                phone="+15555550199",
                notify_on=notify,
                relationship="son",
            ),
            at=now,
        )
        await ConsentRepository(session).record(
            channel="sms",
            address=FAMILY,
            granted=True,
            source="import",
            at=now,
            family_contact_id=contact.id,
            scope=";".join(notify),
        )


async def escalations(db: Database) -> list[Escalation]:
    async with db.session() as session:
        return list(await session.scalars(select(Escalation).order_by(Escalation.id)))


async def sent_to(host: Host, address: str) -> list[str]:
    return [m.body for m in host.sender.sent if m.address == address]


async def setup(db: Database, clock: ManualClock, tmp_path: Path, **kw: object) -> tuple[Host, int]:
    host = make_host(db, clock, tmp_path, screen=screen)
    await care_team(host, backup=bool(kw.get("backup", True)))
    patient = await enrol(host, program=str(kw.get("program", "general")))
    await add_family(host, patient.id, ("escalation", "unreachable"))
    return host, patient.id


async def test_red_flag_mid_checkin(db: Database, clock: ManualClock, tmp_path: Path):
    host, _ = await setup(db, clock, tmp_path)
    await host.tick()
    await host.reply(PATIENT, "good")
    before = len(host.sender.sent)
    await host.reply(PATIENT, "I have crushing chest pain right now")
    after = host.sender.sent[before:]
    assert after[0].address == PATIENT and "Call 911 now" in after[0].body
    alerts = {m.address: m for m in after if m.address in (NURSE_TG, NURSE_SMS)}
    assert set(alerts) == {NURSE_TG, NURSE_SMS}  # emergency: Telegram and SMS
    (escalation,) = await escalations(db)
    number = escalation.id
    assert alerts[NURSE_TG].buttons == (
        ("Acknowledge", f"ack:{number}"),
        ("Resolve", f"resolve:{number}"),
    )
    assert f"Reply ACK {number}" in alerts[NURSE_SMS].body
    for alert in alerts.values():
        assert "EMERGENCY" in alert.body and "Ana Lopez (P1)" in alert.body
        assert "crushing chest pain right now" in alert.body
    (family,) = await sent_to(host, FAMILY)
    assert "Ana" in family and "Riverside Care" in family
    lowered = family.lower()
    for word in [*FORBIDDEN, "good", "crushing"]:
        assert word not in lowered, word
    async with db.session() as session:
        (checkin,) = list(await session.scalars(select(CheckIn)))
    assert checkin.status == "completed" and checkin.state["ended_by"] == "emergency"
    assert checkin.severity == "emergency" and checkin.next_action_at is None


async def test_minimal_alert_detail_keeps_health_out_of_alerts(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host = make_host(db, clock, tmp_path, screen=screen, ALERT_DETAIL="minimal")
    await care_team(host)
    await enrol(host)
    await host.reply(PATIENT, "my chest pain is really bad right now")
    (alert,) = await sent_to(host, NURSE_TG)
    assert "P1" in alert and "chest" not in alert.lower() and "Ana" not in alert


async def climb(host: Host, minutes: int) -> None:
    host.clock.advance(timedelta(minutes=minutes))
    await host.runtime.climb_escalations()


@pytest.mark.parametrize("backup", [True, False], ids=["with-backup", "empty-backup-rung"])
async def test_ladder_climbs_by_the_clock_and_the_last_rung_repeats(
    db: Database, clock: ManualClock, tmp_path: Path, backup: bool
):
    clock.set(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))  # Tuesday 02:00 in New York: night
    host, _ = await setup(db, clock, tmp_path, backup=backup)
    await host.reply(PATIENT, "my husband can't breathe")  # someone else: urgent
    (escalation,) = await escalations(db)
    assert escalation.severity == "urgent"
    assert await sent_to(host, NURSE_TG) and not await sent_to(host, NURSE_SMS)
    await climb(host, 59)
    assert not await sent_to(host, BACKUP_SMS) and not await sent_to(host, ONCALL_SMS)
    await climb(host, 1)
    if backup:
        assert len(await sent_to(host, BACKUP_SMS)) == 1
        await climb(host, 60)
    assert len(await sent_to(host, ONCALL_SMS)) == 1  # the night rota
    await climb(host, 60)
    assert len(await sent_to(host, SUPERVISOR_SMS)) == 1
    await climb(host, 60)
    assert len(await sent_to(host, SUPERVISOR_SMS)) == 2  # the last rung repeats
    assert not await sent_to(host, OTHER_SMS)
    async with db.session() as session:
        rungs = [
            n.rung
            for n in await session.scalars(select(Notification).order_by(Notification.id))
            if n.care_manager_id is not None
        ]
    assert rungs == ([0, 1, 2, 3, 3] if backup else [0, 2, 3, 3])


async def test_acknowledging_stops_the_ladder(db: Database, clock: ManualClock, tmp_path: Path):
    clock.set(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))
    host, _ = await setup(db, clock, tmp_path)
    await host.reply(PATIENT, "my husband can't breathe")
    await climb(host, 60)  # backup alerted
    (escalation,) = await escalations(db)
    await host.reply(BACKUP_SMS, f"ack {escalation.id}")
    assert "acknowledged" in (await sent_to(host, BACKUP_SMS))[-1]
    await climb(host, 600)
    assert not await sent_to(host, ONCALL_SMS)
    (escalation,) = await escalations(db)
    assert escalation.status == "acknowledged"


async def test_acknowledge_by_telegram_button_edits_the_alert(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host, _ = await setup(db, clock, tmp_path)
    edits: list[tuple[str, str, str]] = []

    async def editor(address: str, provider_id: str, text: str) -> None:
        edits.append((address, provider_id, text))

    host.runtime.editor = editor
    await host.reply(PATIENT, "my husband can't breathe")
    (escalation,) = await escalations(db)
    button = f"callback:ack:{escalation.id}"
    await host.runtime.handle_inbound(
        InboundMessage("telegram", NURSE_TG, "", "upd-1", clock.now(), command=button)
    )
    (escalation,) = await escalations(db)
    assert escalation.status == "acknowledged" and escalation.acked_at == clock.now()
    assert edits and edits[0][0] == NURSE_TG and "Acknowledged by Nina Nurse" in edits[0][2]
    await host.reply(NURSE_SMS, f"RESOLVE {escalation.id} called the family, all fine")
    (escalation,) = await escalations(db)
    assert escalation.status == "resolved"
    assert escalation.notes[0]["text"] == "called the family, all fine"


async def test_someone_off_the_ladder_cannot_act(db: Database, clock: ManualClock, tmp_path: Path):
    host, _ = await setup(db, clock, tmp_path)
    await host.reply(PATIENT, "my husband can't breathe")
    (escalation,) = await escalations(db)
    await host.reply(OTHER_SMS, f"ACK {escalation.id}")
    assert "cannot act" in (await sent_to(host, OTHER_SMS))[-1]
    (escalation,) = await escalations(db)
    assert escalation.status == "open"


async def test_manager_reply_reaches_the_patient_and_is_logged(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host, _ = await setup(db, clock, tmp_path)
    await host.reply(PATIENT, "my husband can't breathe")
    (escalation,) = await escalations(db)
    await host.reply(NURSE_SMS, f"REPLY {escalation.id} Calling you in 5 minutes.")
    assert (await sent_to(host, PATIENT))[-1] == "Calling you in 5 minutes."
    async with db.session() as session:
        logged = await session.scalar(select(Message).where(Message.kind == "manager_reply"))
    assert logged is not None and logged.patient_id is not None and logged.care_manager_id


async def test_same_rule_twice_is_one_escalation_raised_when_worse(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host, _ = await setup(db, clock, tmp_path)
    await host.reply(PATIENT, "had chest pain last week")  # historical: routine
    await host.reply(PATIENT, "the chest pain I had last week went away")
    (escalation,) = await escalations(db)
    assert escalation.severity == "routine"
    await host.reply(PATIENT, "chest pain right now")
    (escalation,) = await escalations(db)
    assert escalation.severity == "emergency" and escalation.status == "open"


async def test_item9_path_urgent_then_emergency_never_family(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host, _ = await setup(db, clock, tmp_path, program="depression")
    await host.tick()
    for answer in ["3", "3", "2", "2", "2", "2", "2", "2", "1"]:
        await host.reply(PATIENT, answer)
    (escalation,) = await escalations(db)
    assert escalation.severity == "urgent" and escalation.sensitive
    question = (await sent_to(host, PATIENT))[-1]
    assert "988" in question and question.endswith("(yes/no)")
    await host.reply(PATIENT, "yes")
    (escalation,) = await escalations(db)
    assert escalation.severity == "emergency"
    assert "988" in (await sent_to(host, PATIENT))[-1]
    assert await sent_to(host, FAMILY) == []


async def test_item9_without_reply_stays_urgent_without_reminders(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host, _ = await setup(db, clock, tmp_path, program="depression")
    await host.tick()
    for answer in ["3", "3", "2", "2", "2", "2", "2", "2", "1"]:
        await host.reply(PATIENT, answer)
    count = len(await sent_to(host, PATIENT))
    for _ in range(8):
        clock.advance(timedelta(hours=10))
        await host.tick()
    assert len(await sent_to(host, PATIENT)) == count  # no reminders on this path
    severities = {e.severity for e in await escalations(db)}
    assert "emergency" not in severities and "urgent" in severities
    assert await sent_to(host, FAMILY) == []


async def test_sensitive_red_flag_sends_family_nothing(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host, _ = await setup(db, clock, tmp_path)
    await host.reply(PATIENT, "I want to kill myself")
    assert "988" in (await sent_to(host, PATIENT))[-1]
    assert await sent_to(host, FAMILY) == []


async def test_unreachable_notifies_family_where_consented(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host = make_host(db, clock, tmp_path, screen=screen)
    await care_team(host)
    patient = await enrol(host, cadence_day="every 7 days")
    await add_family(host, patient.id, ("unreachable",))
    for _ in range(2):
        await host.tick()
        clock.advance(timedelta(hours=73))
        await host.tick()
        clock.advance(timedelta(days=4))
    rules = [e.rule_id for e in await escalations(db)]
    assert rules == ["patient.unreachable"]
    await host.tick()  # the family notice waits for the family's contact window
    (notice,) = await sent_to(host, FAMILY)
    assert "not been able to reach Ana" in notice
