"""SMS end to end: import, ``checkin now``, signed webhooks, status callbacks, faults, STOP."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from storage.models import CheckIn, Consent, OutboxItem, Patient
from tests.e2e.conftest import STATUS_PATH, Carebot, StartCarebot, eventually
from tests.fakes import FROM_NUMBER, inbound_sms


@dataclass(frozen=True)
class Script:
    language: str
    name: str
    answers: tuple[str, ...]
    opening: str
    closing: str


SCRIPTS = [
    pytest.param(
        Script(
            "en",
            "Sam Reed",
            ("very good", "3", "0", "no", "no", "no", "no", "no"),
            "Hi Sam, this is your monthly check-in from Riverside Care.",
            "Thank you, Sam. Your answers have been sent to Riverside Care.",
        ),
        id="en",
    ),
    pytest.param(
        Script(
            "es",
            "María García",
            ("buena", "tres", "0", "no", "no", "no", "no", "nada"),
            "Hola María, le escribe Riverside Care para su revisión mensual.",
            "Gracias, María. Sus respuestas se enviaron a Riverside Care.",
        ),
        id="es",
    ),
]


async def start_sms_checkin(bot: Carebot, external_id: str, phone: str, **fields: str) -> None:
    """Enrol an SMS patient, start a check-in by hand, wait for its first question."""
    await bot.enrol({"external_id": external_id, "name": "Sam Reed", "phone": phone, **fields})
    result = await bot.checkin_now(external_id)
    assert result.exit_code == 0, result.stderr
    await bot.next_sms(phone, 1)


async def outbound_with_provider_ids(bot: Carebot, patient_id: int, count: int) -> list[str]:
    async def ready() -> list[str]:
        out = [m for m in await bot.contact_log(patient_id) if m.direction == "out"]
        ids = [m.provider_id for m in out if m.provider_id]
        return [str(i) for i in ids] if len(ids) == len(out) == count else []

    return await eventually(ready, f"{count} outbound messages with provider ids")


@pytest.mark.parametrize("script", SCRIPTS)
async def test_checkin_over_sms_from_import_to_delivered_contact_log(
    carebot: Carebot, script: Script
) -> None:
    phone = "+12025550143"
    await carebot.enrol(
        {
            "external_id": "P1",
            "name": script.name,
            "phone": "(202) 555-0143",
            "language": script.language,
        },
        cli=True,
    )

    started = await carebot.checkin_now("P1")

    assert started.exit_code == 0, started.stderr
    first = await carebot.next_sms(phone, 1)
    assert first.form["From"] == FROM_NUMBER
    assert first.form["StatusCallback"] == carebot.url + STATUS_PATH
    assert first.body.startswith(script.opening)
    for number, answer in enumerate(script.answers, start=1):
        await carebot.sms(phone, answer)
        await carebot.next_sms(phone, number + 1)
    sent = carebot.sms_to(phone)
    assert len(sent) == len(script.answers) + 1  # one bot message per reply
    assert sent[-1].body.startswith(script.closing)

    patient = await carebot.patient("P1")
    sids = await outbound_with_provider_ids(carebot, patient.id, len(sent))
    assert sids == [s.sid for s in sent]
    for sid in sids:
        codes = [
            (await carebot.status(sid, status)).status_code for status in ("sent", "delivered")
        ]
        assert codes == [200, 200]

    log = await carebot.contact_log(patient.id)
    inbound = [m for m in log if m.direction == "in"]
    outbound = [m for m in log if m.direction == "out"]
    assert [m.body for m in inbound] == list(script.answers)
    assert [m.body for m in outbound] == [s.body for s in sent]
    assert {m.status for m in outbound} == {"delivered"}
    assert all(m.address == f"tel:{phone}" and m.channel == "sms" for m in log)
    assert all(m.delivered_at is not None for m in outbound)
    async with carebot.db.session() as session:
        checkin = await session.scalar(select(CheckIn).where(CheckIn.patient_id == patient.id))
    assert checkin is not None and checkin.status == "completed"
    assert {m.checkin_id for m in log} == {checkin.id}


async def test_same_message_sid_three_times_at_once_gets_one_reply(carebot: Carebot) -> None:
    phone = "+12025550144"
    await start_sms_checkin(carebot, "P2", phone)
    form = inbound_sms("very good", from_=phone, sid="SM" + "d" * 32)

    responses = await asyncio.gather(
        *(carebot.post_signed("/webhooks/twilio/sms", form) for _ in range(3))
    )

    assert [r.status_code for r in responses] == [200, 200, 200]
    await eventually(lambda: carebot.processed("twilio", "SM" + "d" * 32), "the inbox row")
    await carebot.next_sms(phone, 2)
    assert await carebot.inbox_count() == 1
    patient = await carebot.patient("P2")
    log = await carebot.contact_log(patient.id)
    assert [m.direction for m in log] == ["out", "in", "out"]
    assert len(carebot.sms_to(phone)) == 2


async def test_status_callbacks_out_of_order_never_regress(carebot_sqlite: Carebot) -> None:
    bot = carebot_sqlite
    phone = "+12025550145"
    await start_sms_checkin(bot, "P3", phone)
    patient = await bot.patient("P3")
    (sid,) = await outbound_with_provider_ids(bot, patient.id, 1)

    codes = [(await bot.status(sid, s)).status_code for s in ("delivered", "sent", "queued")]

    assert codes == [200, 200, 200]
    (message,) = await bot.contact_log(patient.id)
    assert message.status == "delivered"
    assert [entry[0] for entry in message.status_history] == [
        "queued",
        "delivered",
        "sent",
    ]


async def test_twilio_429_is_retried_after_retry_after_and_delivered_once(
    carebot_sqlite: Carebot,
) -> None:
    bot = carebot_sqlite
    phone = "+12025550146"
    await bot.enrol({"external_id": "P4", "name": "Sam Reed", "phone": phone})
    bot.twilio.fail_next(429, 20429, "Too Many Requests", retry_after=1)

    assert (await bot.checkin_now("P4")).exit_code == 0

    await bot.next_sms(phone, 1)
    patient = await bot.patient("P4")
    (sid,) = await outbound_with_provider_ids(bot, patient.id, 1)
    assert (await bot.status(sid, "delivered")).status_code == 200
    posts = [r for r in bot.twilio.requests if r[0] == "POST" and r[2].get("To") == phone]
    assert len(posts) == 2  # the 429, then the one that went through
    assert len(bot.sms_to(phone)) == 1
    (message,) = await bot.contact_log(patient.id)
    assert message.status == "delivered"
    async with bot.db.session() as session:
        item = await session.scalar(select(OutboxItem).where(OutboxItem.message_id == message.id))
    assert item is not None and item.attempts == 2 and item.state == "sent"


async def test_twilio_21610_revokes_consent_and_nothing_more_is_sent(
    carebot_sqlite: Carebot,
) -> None:
    bot = carebot_sqlite
    phone = "+12025550147"
    await bot.enrol({"external_id": "P5", "name": "Sam Reed", "phone": phone})
    bot.twilio.opt_out(phone)

    assert (await bot.checkin_now("P5")).exit_code == 0

    patient = await eventually(
        lambda: _opted_out(bot, "P5"), "the provider opt-out to revoke consent"
    )
    (message,) = await bot.contact_log(patient.id)
    assert (message.status, message.error_code) == ("failed", "21610")
    async with bot.db.session() as session:
        consent = await session.scalar(
            select(Consent).where(Consent.patient_id == patient.id).order_by(Consent.id.desc())
        )
        checkin = await session.scalar(select(CheckIn).where(CheckIn.patient_id == patient.id))
    assert consent is not None and (consent.granted, consent.source) == (False, "provider")
    assert checkin is not None and checkin.status == "cancelled"
    again = await bot.checkin_now("P5")
    assert again.exit_code != 0 and "opted_out" in again.stderr
    await bot.sms(phone, "3", sid="SM" + "e" * 32)
    await eventually(lambda: bot.processed("twilio", "SM" + "e" * 32), "the reply to be handled")
    assert bot.sms_to(phone) == []


async def test_stop_by_sms_confirms_once_and_later_checkins_refuse(carebot: Carebot) -> None:
    phone = "+12025550148"
    await start_sms_checkin(carebot, "P6", phone)

    await carebot.sms(phone, "STOP", sid="SM" + "f" * 32)

    confirmation = await carebot.next_sms(phone, 2)
    assert confirmation.body.startswith("You will not get more messages from Riverside Care")
    patient = await _opted_out(carebot, "P6")
    assert patient is not None
    again = await carebot.checkin_now("P6")
    assert again.exit_code != 0 and "opted_out" in again.stderr
    assert again.stderr.count("\n") == 1
    await carebot.sms(phone, "hello?", sid="SM" + "a" * 32)
    await eventually(lambda: carebot.processed("twilio", "SM" + "a" * 32), "the later text")
    assert len(carebot.sms_to(phone)) == 2


async def _opted_out(bot: Carebot, external_id: str) -> Patient | None:
    patient = await bot.patient(external_id)
    return patient if patient.status == "opted_out" else None


async def test_managed_opt_out_leaves_the_stop_keyword_to_twilio(
    start_carebot: StartCarebot,
) -> None:
    phone = "+12025550149"
    async with start_carebot(TWILIO_OPT_OUT_MANAGED="true") as bot:
        await bot.enrol({"external_id": "P7", "name": "Sam Reed", "phone": phone})

        await bot.sms(phone, "STOP", sid="SM" + "b" * 32)

        patient = await eventually(lambda: _opted_out(bot, "P7"), "the opt-out")
        assert patient is not None
        assert await bot.processed("twilio", "SM" + "b" * 32)
        assert bot.sms_to(phone) == []  # Twilio's Advanced Opt-Out answers the keyword itself


async def test_managed_opt_out_still_confirms_a_sentence_twilio_does_not_catch(
    start_carebot: StartCarebot,
) -> None:
    phone = "+12025550150"
    async with start_carebot(TWILIO_OPT_OUT_MANAGED="true") as bot:
        await bot.enrol({"external_id": "P8", "name": "Sam Reed", "phone": phone})

        await bot.sms(phone, "please stop texting me", sid="SM" + "c" * 32)

        patient = await eventually(lambda: _opted_out(bot, "P8"), "the opt-out")
        assert patient is not None
        log = await bot.contact_log(patient.id)  # the reply is queued with the opt-out
        assert [m.kind for m in log if m.direction == "out"] == ["stop_confirm"]
