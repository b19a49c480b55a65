"""Hostile webhooks against the real routes and server on PostgreSQL (SPEC §11, §14): forged
and replayed signatures, oversized bodies, a flood from one number, NUL characters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.importing.managers import import_managers
from bot.importing.patients import import_patients
from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import Message, Patient, ProcessedWebhook
from tests.conftest import FIXED_NOW
from tests.fakes import AUTH_TOKEN, FakeTelegram, FakeTwilio, inbound_sms, signed_headers
from tests.fakes.telegram import text_update
from tests.reliability.figures import record
from tests.reliability.inproc import (
    PUBLIC_URL,
    SECRET_HEADER,
    SMS_PATH,
    STATUS_PATH,
    TELEGRAM_PATH,
    InProcess,
    in_process,
)
from tests.reliability.seed import Wave, seed_wave

pytestmark = pytest.mark.postgres
LIMIT = 64 * 1024
FLOOD = 120


@pytest.fixture
async def bot(pg: Database, pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[InProcess, Wave]]:
    clock = ManualClock(FIXED_NOW)
    with FakeTwilio() as twilio, FakeTelegram() as telegram:
        wave = await seed_wave(pg, clock.now(), 2, telegram_every=2)
        async with in_process(pg_url, tmp_path, clock, twilio, telegram) as carebot:
            await carebot.ticks.run_once()
            yield carebot, wave


async def inbox_size(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count(ProcessedWebhook.id))) or 0)


async def test_forged_and_replayed_signatures_get_403_and_record_nothing(
    bot: tuple[InProcess, Wave], pg: Database
) -> None:
    carebot, wave = bot
    client = carebot.client
    form = inbound_sms("3", from_=wave.sms[0].partition(":")[2])
    good = signed_headers(AUTH_TOKEN, PUBLIC_URL + SMS_PATH, form)
    status_form, status_headers = carebot.twilio.status_callback(
        carebot.twilio.sent[0].sid, "delivered", PUBLIC_URL + STATUS_PATH
    )
    attempts = {
        "no signature": client.post(SMS_PATH, data=form),
        "empty signature": client.post(SMS_PATH, data=form, headers={"X-Twilio-Signature": ""}),
        "wrong auth token": client.post(
            SMS_PATH,
            data=form,
            headers=signed_headers("not-the-token", PUBLIC_URL + SMS_PATH, form),
        ),
        "signed for another host": client.post(
            SMS_PATH,
            data=form,
            headers=signed_headers(AUTH_TOKEN, "https://evil.example" + SMS_PATH, form),
        ),
        "sms signature replayed on the status path": client.post(
            STATUS_PATH, data=form, headers=good
        ),
        "status signature replayed on the sms path": client.post(
            SMS_PATH, data=status_form, headers=status_headers
        ),
        "signature replayed with a query string": client.post(
            SMS_PATH + "?again=1", data=form, headers=good
        ),
        "body changed after signing": client.post(
            SMS_PATH, data={**form, "Body": "STOP"}, headers=good
        ),
        "field added after signing": client.post(
            SMS_PATH, data={**form, "Extra": "1"}, headers=good
        ),
        "telegram without secret": client.post(TELEGRAM_PATH, json={"update_id": 5}),
        "telegram wrong secret": client.post(
            TELEGRAM_PATH, json={"update_id": 5}, headers={SECRET_HEADER: "guess"}
        ),
        "telegram secret prefix": client.post(
            TELEGRAM_PATH, json={"update_id": 5}, headers={SECRET_HEADER: "reliability"}
        ),
    }
    before = await inbox_size(pg)
    codes = {name: (await request).status_code for name, request in attempts.items()}
    assert codes == dict.fromkeys(attempts, 403)
    assert await inbox_size(pg) == before
    # The genuine ones still work.
    assert (await client.post(SMS_PATH, data=form, headers=good)).status_code == 200
    assert (
        await client.post(STATUS_PATH, data=status_form, headers=status_headers)
    ).status_code == 200
    record("forged_signatures", refused_with_403=len(codes))


async def test_oversized_bodies_get_413_and_record_nothing(
    bot: tuple[InProcess, Wave], pg: Database
) -> None:
    carebot, wave = bot
    client = carebot.client
    big = inbound_sms("x" * (LIMIT + 1), from_=wave.sms[0].partition(":")[2])

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(80):
            yield b"a" * 1024

    before = await inbox_size(pg)
    declared = await client.post(
        SMS_PATH, data=big, headers=signed_headers(AUTH_TOKEN, PUBLIC_URL + SMS_PATH, big)
    )
    secret = {SECRET_HEADER: carebot.settings.telegram_webhook_secret or ""}
    streamed = await client.post(TELEGRAM_PATH, content=chunks(), headers=secret)
    padded = await client.post(
        TELEGRAM_PATH, content=b"{" + b" " * (LIMIT + 10) + b"}", headers=secret
    )
    assert (declared.status_code, streamed.status_code, padded.status_code) == (413, 413, 413)
    assert await inbox_size(pg) == before


async def test_a_flood_from_one_number_is_recorded_and_processed_at_a_bounded_rate(
    bot: tuple[InProcess, Wave], pg: Database
) -> None:
    """SMS pumping / a stuck phone: 120 messages from one number within a second. All are
    recorded and acknowledged (nothing lost, no provider retries), at most the throttle's burst
    is handled at once, the rest by the inbox tick at most 100 a tick, each exactly once."""
    carebot, wave = bot
    phone = wave.sms[0].partition(":")[2]
    flood = [inbound_sms("3", from_=phone, sid=f"SM{n:032x}") for n in range(FLOOD)]

    responses = await asyncio.gather(*(carebot.sms(form) for form in flood))
    await carebot.settle()

    assert {r.status_code for r in responses} == {200}
    assert await inbox_size(pg) == FLOOD
    inline = await processed_count(pg)
    assert inline <= 10, f"{inline} handled at once: the per-sender limit did not hold"

    clock = carebot.server.runtime.clock
    assert isinstance(clock, ManualClock)
    per_tick = []
    for _ in range(5):
        clock.advance(timedelta(seconds=31))  # past the inbox tick's grace
        before = await processed_count(pg)
        await carebot.ticks.inbox()
        per_tick.append(await processed_count(pg) - before)
        if await processed_count(pg) == FLOOD:
            break
    assert max(per_tick) <= 100
    assert await processed_count(pg) == FLOOD
    async with pg.session() as session:
        inbound = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
        replies = dict(
            list(
                await session.execute(
                    select(Message.kind, func.count())
                    .where(Message.direction == "out", Message.address == f"tel:{phone}")
                    .group_by(Message.kind)
                )
            )
        )
        retried = await session.scalar(
            select(func.count(ProcessedWebhook.id)).where(ProcessedWebhook.attempts > 0)
        )
    assert inbound == FLOOD
    record(
        "inbound_flood",
        messages=FLOOD,
        handled_at_once=inline,
        handled_per_inbox_tick=per_tick,
        rows_that_failed_once=int(retried or 0),
        messages_to_the_flooding_number=replies,
    )


async def processed_count(db: Database) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count(ProcessedWebhook.id)).where(
                    ProcessedWebhook.processed_at.is_not(None)
                )
            )
            or 0
        )


# -- NUL characters: PostgreSQL refuses them in text, SQLite does not ----------------------------


async def test_a_nul_in_a_message_sid_is_a_400_not_a_500(bot: tuple[InProcess, Wave]) -> None:
    carebot, wave = bot
    form = inbound_sms("3", from_=wave.sms[0].partition(":")[2], sid="SM\x00" + "0" * 31)
    response = await carebot.sms(form)
    assert response.status_code == 400


async def test_a_reply_with_a_nul_is_handled(bot: tuple[InProcess, Wave], pg: Database) -> None:
    carebot, wave = bot
    response = await carebot.sms(inbound_sms("3\x00", from_=wave.sms[0].partition(":")[2]))
    await carebot.settle()
    assert response.status_code == 200
    assert await processed_count(pg) == 1


async def test_a_telegram_update_with_nuls_is_handled(
    bot: tuple[InProcess, Wave], pg: Database
) -> None:
    carebot, wave = bot
    chat = int(wave.telegram[0].partition(":")[2])
    update = text_update(77_001, chat, "3\x00")
    update["message"]["from"]["first_name"] = "A\x00"
    response = await carebot.update(update)
    await carebot.settle()
    assert response.status_code == 200
    assert await processed_count(pg) == 1


async def test_a_nul_in_free_text_is_dropped_and_in_an_id_refused_on_every_twilio_route(
    bot: tuple[InProcess, Wave],
) -> None:
    carebot, wave = bot
    form = {**inbound_sms("3", from_=wave.sms[0].partition(":")[2]), "To": "+1555\x00"}
    assert (await carebot.sms(form)).status_code == 400
    status = {"MessageSid": "SM\x00", "MessageStatus": "delivered"}
    headers = signed_headers(AUTH_TOKEN, PUBLIC_URL + STATUS_PATH, status)
    assert (await carebot.client.post(STATUS_PATH, data=status, headers=headers)).status_code == 400


async def test_a_csv_row_with_a_nul_is_reported(pg: Database, tmp_path: Path) -> None:
    settings = load_settings({"CAREBOT_VAR_DIR": str(tmp_path)}, env_file=None)
    clock = ManualClock(FIXED_NOW)
    managers = tmp_path / "managers.csv"
    managers.write_text("email,name,phone,role,backup,timezone\nn@example.org,Nina,,,,\n")
    await import_managers(pg, clock, settings, managers)
    patients = tmp_path / "patients.csv"
    patients.write_text(
        "external_id,name,phone,timezone,language,channel,program,care_manager,checkin_day,"
        "checkin_time,baseline_weight,family_name,family_relationship,family_phone,"
        "family_channel,family_language,family_notify\n"
        "N1,Nul\x00Name,(202) 555-0143,America/New_York,en,sms,general,n@example.org,5,10:00,"
        ",,,,,,\n"
    )
    report = await import_patients(pg, clock, settings, patients)
    assert not report.imported and report.bad
    assert "NUL character in name" in report.bad[0].reasons[0]
    async with pg.session() as session:
        assert await session.scalar(select(func.count(Patient.id))) == 0


async def test_a_flood_gets_a_bounded_number_of_replies(
    bot: tuple[InProcess, Wave], pg: Database
) -> None:
    carebot, wave = bot
    phone = wave.sms[0].partition(":")[2]
    for n in range(40):
        await carebot.sms(inbound_sms(f"message {n}", from_=phone, sid=f"SM{n + 1000:032x}"))
    await carebot.settle()
    clock = carebot.server.runtime.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(seconds=31))
    await carebot.ticks.inbox()
    async with pg.session() as session:
        replies = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.direction == "out", Message.address == f"tel:{phone}")
        )
        acks = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.address == f"tel:{phone}", Message.kind == "ack")
        )
    # The conversation's own questions and re-asks, then one acknowledgement, not one each.
    assert int(replies or 0) <= 15 and acks == 1
