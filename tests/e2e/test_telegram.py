"""Telegram end to end: invite links, ``/start`` linking, check-ins, commands, faults, STOP."""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.links import create_invite
from storage.models import (
    CareManager,
    CheckIn,
    Consent,
    FamilyContact,
    Message,
    OutboxItem,
    Patient,
)
from tests.e2e.conftest import MANAGER_EMAIL, Carebot, eventually
from tests.fakes import BOT_USERNAME, text_update

# PTB 22 warns while building its own RetryAfter (retry_after becomes a timedelta); the adapter
# reads the value without warning, the library's construction cannot be avoided.
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")

LINK = re.compile(rf"^https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]{{1,64}})$")
ANSWERS = ("good", "2", "0", "no", "no", "no", "no", "no")
_update_ids = itertools.count(7_000_001)


async def send(bot: Carebot, chat: int, text: str) -> int:
    """The user types ``text`` in ``chat``; returns the update id once carebot accepted it."""
    update_id = next(_update_ids)
    response = await bot.update(text_update(update_id, chat, text))
    assert response.status_code == 200, response.text
    return update_id


async def enrol_telegram(
    bot: Carebot, external_id: str, *, cli: bool = False, **fields: str
) -> None:
    await bot.enrol(
        {"external_id": external_id, "name": "Jean Dupont", "channel": "telegram", **fields},
        cli=cli,
    )


async def code_for(bot: Carebot, now: datetime | None = None, **target: int) -> str:
    async with bot.db.transaction() as session:
        return await create_invite(session, bot.settings, now or datetime.now(UTC), **target)


async def linked_patient(bot: Carebot, external_id: str, chat: int, **fields: str) -> Patient:
    """A Telegram patient who opened their invite link (confirmation received)."""
    await enrol_telegram(bot, external_id, **fields)
    patient = await bot.patient(external_id)
    await send(bot, chat, f"/start {await code_for(bot, patient_id=patient.id)}")
    await bot.next_telegram(chat, 1)
    return await bot.patient(external_id)


async def consents(bot: Carebot, **subject: int) -> list[Consent]:
    async with bot.db.session() as session:
        statement = select(Consent).filter_by(**subject).order_by(Consent.id)
        return list(await session.scalars(statement))


async def test_invite_link_then_checkin_over_telegram(carebot: Carebot) -> None:
    chat = 810001
    await enrol_telegram(carebot, "T1", cli=True)
    assert (await carebot.patient("T1")).status == "awaiting_link"

    refused = await carebot.checkin_now("T1")
    assert refused.exit_code != 0
    assert refused.stderr.strip() == "carebot: patient T1 cannot be contacted: awaiting_link"

    calls_before = len(carebot.telegram.calls)
    invited = await carebot.cli("invite", "T1")
    assert invited.exit_code == 0, invited.stderr
    match = LINK.match(invited.stdout.splitlines()[-1])
    assert match is not None, invited.stdout
    asked = {c.method for c in carebot.telegram.calls[calls_before:]}
    assert asked == {"getMe"}  # the bot's username, since TELEGRAM_BOT_USERNAME is unset

    await send(carebot, chat, f"/start {match.group(1)}")

    confirmation = await carebot.next_telegram(chat, 1)
    assert confirmation.startswith("You're connected. Riverside Care will send your check-ins")
    patient = await carebot.patient("T1")
    assert (patient.telegram_chat_id, patient.status) == (str(chat), "active")
    (consent,) = await consents(carebot, patient_id=patient.id)
    assert (consent.channel, consent.address) == ("telegram", f"telegram:{chat}")
    assert (consent.granted, consent.source) == (True, "telegram_link")

    started = await carebot.checkin_now("T1")
    assert started.exit_code == 0, started.stderr
    question = await carebot.next_telegram(chat, 2)
    assert question.startswith("Hi Jean, this is your monthly check-in from Riverside Care.")
    for number, answer in enumerate(ANSWERS, start=3):
        await send(carebot, chat, answer)
        await carebot.next_telegram(chat, number)
    sent = carebot.telegram_to(chat)
    assert len(sent) == len(ANSWERS) + 2
    assert sent[-1].startswith("Thank you, Jean. Your answers have been sent to Riverside Care.")

    async def settled() -> list[Message]:
        log = await carebot.contact_log(patient.id)
        return log if all(m.provider_id for m in log) else []

    log = await eventually(settled, "every message with its provider id")
    assert [m.body for m in log if m.direction == "in"] == ["/start (invite code)", *ANSWERS]
    assert [m.body for m in log if m.direction == "out"] == sent
    assert {m.status for m in log if m.direction == "out"} == {"sent"}
    async with carebot.db.session() as session:
        checkin = await session.scalar(select(CheckIn).where(CheckIn.patient_id == patient.id))
    assert checkin is not None and checkin.status == "completed"


async def test_used_expired_unknown_and_group_chat_codes_link_nothing(
    carebot_sqlite: Carebot,
) -> None:
    bot = carebot_sqlite
    await enrol_telegram(bot, "T2")
    patient = await bot.patient("T2")
    used = await code_for(bot, patient_id=patient.id)
    expired = await code_for(bot, datetime.now(UTC) - timedelta(days=8), patient_id=patient.id)
    await send(bot, 820001, f"/start {used}")
    await bot.next_telegram(820001, 1)

    for chat, text in (
        (820002, f"/start {used}"),
        (820003, f"/start {expired}"),
        (820004, "/start NotACode_123"),
        (820005, "/start"),
    ):
        await send(bot, chat, text)
        refusal = await bot.next_telegram(chat, 1)
        assert refusal.startswith("Sorry, this link cannot be used"), text
        assert "Lo sentimos" in refusal

    group = await code_for(bot, patient_id=patient.id)
    await send(bot, -820006, f"/start {group}")
    assert (await bot.next_telegram(-820006, 1)).startswith("Please open the invite link")
    await send(bot, 820007, f"/start {group}")  # not used up by the group chat
    assert (await bot.next_telegram(820007, 1)).startswith("You're connected.")

    patient = await bot.patient("T2")
    assert patient.telegram_chat_id == "820007"
    assert [c.address for c in await consents(bot, patient_id=patient.id)] == [
        "telegram:820001",
        "telegram:820007",
    ]
    for chat in (820002, 820003, 820004, 820005):
        assert len(bot.telegram_to(chat)) == 1


async def test_family_and_manager_invites_link_their_chats(carebot_sqlite: Carebot) -> None:
    bot = carebot_sqlite
    await bot.enrol(
        {
            "external_id": "F1",
            "name": "María García",
            "phone": "+12025550160",
            "language": "es",
            "family_name": "Luis García",
            "family_relationship": "son",
            "family_phone": "+12025550161",
            "family_channel": "sms",
            "family_language": "es",
            "family_notify": "escalation;unreachable",
        }
    )
    family = await bot.cli("invite", "F1", "--family", "1")
    manager = await bot.cli("invite", "--manager", MANAGER_EMAIL.upper())
    assert family.exit_code == 0 and manager.exit_code == 0, family.stderr + manager.stderr

    for chat, result in ((830001, family), (830002, manager)):
        match = LINK.match(result.stdout.splitlines()[-1])
        assert match is not None
        await send(bot, chat, f"/start {match.group(1)}")
        await bot.next_telegram(chat, 1)

    assert bot.telegram_to(830001)[0].startswith("Listo, ya está conectado.")
    assert bot.telegram_to(830002)[0].startswith("This chat is now linked to your carebot")
    async with bot.db.session() as session:
        contact = await session.scalar(select(FamilyContact))
        ana = await session.scalar(select(CareManager).where(CareManager.email == MANAGER_EMAIL))
    assert contact is not None and ana is not None
    assert (contact.address, contact.channel) == ("telegram:830001", "telegram")
    assert ana.telegram_chat_id == "830002"
    grant = (await consents(bot, family_contact_id=contact.id))[-1]
    assert (grant.address, grant.scope, grant.source) == (
        "telegram:830001",
        "escalation;unreachable",
        "telegram_link",
    )


async def test_invite_command_errors_and_configured_username(carebot_sqlite: Carebot) -> None:
    bot = carebot_sqlite
    await bot.enrol({"external_id": "F2", "name": "Sam Reed", "phone": "+12025550170"})
    calls_before = len(bot.telegram.calls)

    unknown = await bot.cli("invite", "NOPE")
    no_family = await bot.cli("invite", "F2", "--family", "1")
    no_manager = await bot.cli("invite", "--manager", "ghost@clinic.example")
    both = await bot.cli("invite", "F2", "--manager", MANAGER_EMAIL)
    named = await bot.cli("invite", "F2", env={"TELEGRAM_BOT_USERNAME": "@other_bot"})

    for result, says in (
        (unknown, "no patient with external id 'NOPE'"),
        (no_family, "patient F2 has 0 family contacts; there is no --family 1"),
        (no_manager, "no care manager with e-mail 'ghost@clinic.example'"),
        (both, "give either a patient's EXTERNAL_ID or --manager EMAIL"),
    ):
        assert result.exit_code != 0
        assert result.stderr == f"carebot: {says}\n"
        assert result.stdout == ""
    assert named.exit_code == 0
    assert named.stdout.splitlines()[-1].startswith("https://t.me/other_bot?start=")
    assert "channel is sms" in named.stderr
    # No getMe: not for a target that does not exist, nor with TELEGRAM_BOT_USERNAME set.
    assert len(bot.telegram.calls) == calls_before


async def test_help_and_privacy_answer_anyone(carebot_sqlite: Carebot) -> None:
    bot = carebot_sqlite
    await linked_patient(bot, "T3", 840001, language="es")
    answers = []

    for chat, command in ((840002, "/help"), (840002, "/privacy"), (840001, "/privacy")):
        await send(bot, chat, command)
        answers.append(await bot.next_telegram(chat, len(bot.telegram_to(chat)) + 1))
    await send(bot, 840001, "/help")
    patient_help = await bot.next_telegram(840001, 3)

    stranger_help, stranger_privacy, patient_privacy = answers
    assert "open the invite link" in stranger_help and "abra el enlace" in stranger_help
    assert "no HIPAA business associate agreement" in stranger_privacy
    assert "Send /stop or STOP" in stranger_privacy and "information deleted" in stranger_privacy
    assert "+1 202 555 0100" in stranger_privacy
    assert patient_privacy.startswith("Privacidad: Riverside Care guarda")
    assert "PARAR" in patient_help  # the program's own help, in the patient's language
    log = await bot.contact_log((await bot.patient("T3")).id)
    assert [m.body for m in log if m.direction == "in"] == [
        "/start (invite code)",
        "/privacy",
        "/help",
    ]


async def test_same_update_three_times_at_once_gets_one_reply(carebot: Carebot) -> None:
    chat = 850001
    await linked_patient(carebot, "T4", chat)
    assert (await carebot.checkin_now("T4")).exit_code == 0
    await carebot.next_telegram(chat, 2)
    update = text_update(next(_update_ids), chat, "good")

    responses = await asyncio.gather(*(carebot.update(update) for _ in range(3)))

    assert [r.status_code for r in responses] == [200, 200, 200]
    await eventually(
        lambda: carebot.processed("telegram", str(update["update_id"])), "the inbox row"
    )
    await carebot.next_telegram(chat, 3)
    patient = await carebot.patient("T4")
    log = await carebot.contact_log(patient.id)
    assert [m.body for m in log if m.direction == "in"] == ["/start (invite code)", "good"]
    assert len(carebot.telegram_to(chat)) == 3


@pytest.mark.parametrize(
    ("stop", "in_checkin"),
    [pytest.param("/stop", True, id="/stop-in-checkin"), pytest.param("STOP", False, id="STOP")],
)
async def test_stop_over_telegram_confirms_once_and_later_checkins_refuse(
    carebot: Carebot, stop: str, in_checkin: bool
) -> None:
    chat = 860001
    await linked_patient(carebot, "T5", chat)
    if in_checkin:
        assert (await carebot.checkin_now("T5")).exit_code == 0
        await carebot.next_telegram(chat, 2)
    before = len(carebot.telegram_to(chat))

    await send(carebot, chat, stop)

    confirmation = await carebot.next_telegram(chat, before + 1)
    assert confirmation.startswith("You will not get more messages from Riverside Care")
    patient = await eventually(lambda: _status(carebot, "T5", "opted_out"), "the opt-out")
    latest = (await consents(carebot, patient_id=patient.id))[-1]
    assert (latest.granted, latest.address) == (False, f"telegram:{chat}")
    again = await carebot.checkin_now("T5")
    assert again.exit_code != 0 and "opted_out" in again.stderr
    later = await send(carebot, chat, "hello?")
    await eventually(lambda: carebot.processed("telegram", str(later)), "the later message")
    assert len(carebot.telegram_to(chat)) == before + 1
    if not in_checkin:
        # Telegram's Start button sends a bare /start: from a linked chat it means START.
        await send(carebot, chat, "/start")
        welcome = await carebot.next_telegram(chat, before + 2)
        assert welcome.startswith("Welcome back.")
        assert (await carebot.patient("T5")).status == "active"
        assert (await carebot.checkin_now("T5")).exit_code == 0


async def test_blocked_bot_403_revokes_consent(carebot_sqlite: Carebot) -> None:
    bot = carebot_sqlite
    chat = 870001
    await linked_patient(bot, "T6", chat)
    bot.telegram.block(chat)

    assert (await bot.checkin_now("T6")).exit_code == 0

    patient = await eventually(lambda: _status(bot, "T6", "opted_out"), "the 403 to revoke")
    latest = (await consents(bot, patient_id=patient.id))[-1]
    assert (latest.granted, latest.source, latest.address) == (
        False,
        "provider",
        f"telegram:{chat}",
    )
    refused = await bot.checkin_now("T6")
    assert refused.exit_code != 0 and "opted_out" in refused.stderr
    # The confirmation, then the question the 403 refused, which is not tried again.
    assert len(bot.telegram_to(chat)) == 2


async def test_telegram_429_is_not_retried_before_retry_after(carebot_sqlite: Carebot) -> None:
    bot = carebot_sqlite
    chat = 880001
    await enrol_telegram(bot, "T7")
    patient = await bot.patient("T7")
    bot.telegram.fail_next(429, retry_after=3)

    await send(bot, chat, f"/start {await code_for(bot, patient_id=patient.id)}")

    item = await eventually(lambda: _retry_scheduled(bot), "the 429 to schedule a retry")
    message = (await bot.contact_log(patient.id))[-1]
    # The outbox's own backoff after one attempt is 1-2 s; Telegram asked for 3.
    assert item.next_attempt_at - message.created_at >= timedelta(seconds=3)
    while datetime.now(UTC) < item.next_attempt_at - timedelta(seconds=0.2):
        assert len(bot.telegram_to(chat)) == 1, "retried before retry_after"
        await asyncio.sleep(0.05)
    await bot.next_telegram(chat, 2)
    assert len(bot.telegram_to(chat)) == 2  # the refused attempt, then the delivered one

    async def delivered() -> bool:
        log = await bot.contact_log(patient.id)
        return [m.status for m in log if m.direction == "out"] == ["sent"]

    await eventually(delivered, "the confirmation marked sent")


async def _retry_scheduled(bot: Carebot) -> OutboxItem | None:
    async with bot.db.session() as session:
        item = await session.scalar(select(OutboxItem))
    if item is None or item.state != "pending" or item.attempts != 1 or not item.last_error:
        return None
    return item


async def _status(bot: Carebot, external_id: str, status: str) -> Patient | None:
    patient = await bot.patient(external_id)
    return patient if patient.status == status else None
