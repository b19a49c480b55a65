"""Reaching a patient from the dashboard and the API: a check-in now, a care manager's reply,
and Telegram invite links."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import channel_of, patient_address
from bot.links import create_invite
from bot.server import Server
from outreach.errors import CarebotError, Conflict
from storage.models import Patient
from storage.repositories.consents import ConsentRepository
from storage.repositories.messages import MessageRepository

log = logging.getLogger(__name__)
MAX_REPLY = 1000


async def start_checkin(server: Server, external_id: str, *, restart: bool, force: bool) -> None:
    """``carebot checkin now`` (SPEC §4, §14): a manual occurrence whose first question is sent
    right after the commit. Raises PatientNotFound, ConsentMissing, CheckInInProgress or
    Conflict (outside 08:00-21:00 for the patient without ``force``, not enrolled)."""
    runtime = server.runtime
    applied = await runtime.checkins.start_now(external_id, restart=restart, force=force)
    try:
        await runtime.after_commit(applied)
    except Exception:
        # Committed and queued: the outbox tick delivers it (and retries) if this send failed.
        log.warning("check-in of patient %s: immediate send failed", external_id, exc_info=True)


async def queue_reply(
    session: AsyncSession, patient: Patient, manager_id: int, text: str, now: datetime
) -> int:
    """A care manager's message to the patient (SPEC §7), logged as contact and queued in the
    outbox; returns the outbox id to deliver after the commit. Conflict without consent."""
    address = patient_address(patient)
    text = text.strip()[:MAX_REPLY]
    if not text:
        raise Conflict("the message is empty")
    consents = ConsentRepository(session)
    if address is None or not await consents.is_granted(
        channel_of(address), address, patient_id=patient.id
    ):
        raise Conflict(f"patient {patient.external_id} cannot be messaged (no consent)")
    queued = await MessageRepository(session).queue_outbound(
        channel=channel_of(address),
        address=address,
        body=text,
        idempotency_key=f"dash:{manager_id}:{patient.id}:{secrets.token_hex(8)}",
        at=now,
        kind="manager_reply",
        patient_id=patient.id,
        care_manager_id=manager_id,
        language=patient.language,
    )
    assert queued is not None  # the key is new
    return queued.outbox.id


async def deliver(server: Server, outbox_ids: list[int]) -> None:
    """Hand just-committed messages to the provider (the outbox tick retries on failure)."""
    try:
        await server.runtime.delivery.deliver_ids(outbox_ids)
    except Exception:
        log.warning("immediate delivery of %s failed; the outbox tick retries", outbox_ids)


def invites_available(server: Server) -> bool:
    """Invite links need the bot's username: TELEGRAM_BOT_USERNAME or a started Telegram bot."""
    settings = server.settings
    return bool(settings.telegram_bot_username) or server.telegram is not None


async def invite_link(
    server: Server, session: AsyncSession, patient: Patient, now: datetime
) -> str:
    """A one-time Telegram deep link for the patient (``bot.links.create_invite``)."""
    if not invites_available(server):
        raise Conflict(
            "Telegram is not configured: set TELEGRAM_BOT_TOKEN or TELEGRAM_BOT_USERNAME"
        )
    code = await create_invite(session, server.settings, now, patient_id=patient.id)
    username = server.settings.telegram_bot_username
    if username:
        return f"https://t.me/{username.lstrip('@')}?start={code}"
    assert server.telegram is not None
    try:
        return await server.telegram.invite_link(code)
    except CarebotError as exc:
        raise Conflict(f"Telegram did not answer: {exc}") from None
