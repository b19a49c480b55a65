"""The check-in host on a real database: dispatch, conversation, reminders, misses, STOP."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from outreach.clock import ManualClock
from outreach.triage import screen
from storage.engine import Database
from storage.models import Answer, CheckIn, Consent, Escalation, Message
from tests.integration.support import enrol, make_host

ADDRESS = "tel:+15555550101"
GENERAL_ANSWERS = ["good", "2", "0", "no", "no", "no", "no", "no"]


async def rows(db: Database, model: type, *where: object) -> list:
    async with db.session() as session:
        return list(await session.scalars(select(model).where(*where)))


async def test_dispatch_sends_the_first_question_once(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host = make_host(db, clock, tmp_path)
    await enrol(host)
    await host.tick()
    await host.tick()
    assert len(host.sender.sent) == 1
    first = host.sender.sent[0]
    assert first.address == ADDRESS
    assert "Riverside Care" in first.body and "Ana" in first.body
    checkins = await rows(db, CheckIn)
    assert [c.status for c in checkins] == ["in_progress"]
    messages = await rows(db, Message)
    assert messages[0].provider_id == "SM000001" and messages[0].status == "queued"


async def test_full_conversation_completes_and_logs_everything(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host = make_host(db, clock, tmp_path)
    await enrol(host)
    await host.tick()
    for answer in GENERAL_ANSWERS:
        clock.advance(timedelta(minutes=1))
        await host.reply(ADDRESS, answer)
    (checkin,) = await rows(db, CheckIn)
    assert checkin.status == "completed", checkin.state
    assert "Thank you, Ana" in host.sender.sent[-1].body
    answers = await rows(db, Answer)
    assert len(answers) == len(GENERAL_ANSWERS)
    log = await rows(db, Message)
    inbound = [m for m in log if m.direction == "in"]
    outbound = [m for m in log if m.direction == "out"]
    assert len(inbound) == len(GENERAL_ANSWERS)
    assert len(outbound) == len(GENERAL_ANSWERS) + 1
    assert all(m.provider_id for m in outbound)


async def test_reminders_then_missed_then_unreachable(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host = make_host(db, clock, tmp_path)
    await enrol(host, cadence_day="every 7 days")
    await host.tick()
    clock.advance(timedelta(hours=4))
    await host.tick()
    assert len(host.sender.sent) == 2 and host.sender.sent[1].body.startswith("Reminder")
    clock.advance(timedelta(hours=20))
    await host.tick()
    assert len(host.sender.sent) == 3
    clock.advance(timedelta(hours=48))
    await host.tick()
    statuses = [c.status for c in await rows(db, CheckIn)]
    assert statuses == ["missed"]
    assert await rows(db, Escalation) == []
    # Second occurrence a week after the first is missed too: unreachable.
    clock.advance(timedelta(days=4))
    await host.tick()
    clock.advance(timedelta(hours=73))
    await host.tick()
    await host.tick()
    statuses = sorted(c.status for c in await rows(db, CheckIn))
    assert statuses == ["missed", "missed"]
    (escalation,) = await rows(db, Escalation)
    assert escalation.rule_id == "patient.unreachable" and escalation.severity == "routine"


async def test_overdue_after_downtime_is_processed_once(
    db: Database, clock: ManualClock, tmp_path: Path
):
    host = make_host(db, clock, tmp_path)
    await enrol(host)
    clock.advance(timedelta(hours=6))  # down from 10:00 to 16:00 local
    await host.tick()
    await host.tick()
    assert len(host.sender.sent) == 1
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 1


async def test_stop_mid_conversation(db: Database, clock: ManualClock, tmp_path: Path):
    host = make_host(db, clock, tmp_path)
    await enrol(host, cadence_day="every 7 days")
    await host.tick()
    await host.reply(ADDRESS, "good")
    await host.reply(ADDRESS, "STOP please")
    assert "will not get more messages" in host.sender.sent[-1].body
    sent_before = len(host.sender.sent)
    consents = await rows(db, Consent)
    assert consents[-1].granted is False
    (checkin,) = await rows(db, CheckIn)
    assert checkin.status == "cancelled"
    (note,) = await rows(db, Escalation)
    assert note.rule_id == "patient.opted_out"
    clock.advance(timedelta(days=8))
    await host.tick()
    await host.tick()
    assert len(host.sender.sent) == sent_before
    await host.reply(ADDRESS, "hello?")
    assert len(host.sender.sent) == sent_before
    await host.reply(ADDRESS, "START")
    assert "Welcome back" in host.sender.sent[-1].body


async def test_outside_a_check_in_one_acknowledgement_per_quarter_hour(
    db: Database, clock: ManualClock, tmp_path: Path
):
    """Messages between check-ins are logged and flagged each; the acknowledgement is not
    repeated within 15 minutes (a burst or a flood costs one SMS), HELP neither, but the
    emergency advice always goes."""
    host = make_host(db, clock, tmp_path, screen=screen)
    await enrol(host)
    for text in ("hi, a question about my pills", "also my appointment", "and the bus"):
        clock.advance(timedelta(minutes=2))
        await host.reply(ADDRESS, text)
    assert len(host.sender.sent) == 1 and "care team" in host.sender.sent[0].body
    assert len(await rows(db, Message, Message.flagged.is_(True))) == 3
    for _ in range(2):
        await host.reply(ADDRESS, "HELP")
    assert len(host.sender.sent) == 2
    await host.reply(ADDRESS, "crushing chest pain right now")
    await host.reply(ADDRESS, "crushing chest pain right now!")
    assert len(host.sender.sent) == 4
    assert host.sender.sent[2].body == host.sender.sent[3].body != host.sender.sent[0].body
    clock.advance(timedelta(minutes=16))
    await host.reply(ADDRESS, "one more thing")
    assert host.sender.sent[-1].body == host.sender.sent[0].body
    assert len(host.sender.sent) == 5
    assert len(await rows(db, Message, Message.direction == "in")) == 8
