"""Care managers answering alerts: ACK / RESOLVE / REPLY by SMS, Telegram buttons and /reply."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import channel_of, patient_address
from bot.applied import Applied, Edit
from bot.config import Settings
from bot.inbound import log_received
from outreach.escalation import MANAGER_HELP, ManagerCommand, parse_manager_command
from outreach.ports import Clock, InboundMessage
from storage.models import CareManager, Escalation, FamilyContact, Message, Notification
from storage.repositories.audit import AuditRepository
from storage.repositories.consents import ConsentRepository
from storage.repositories.escalations import EscalationRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.patients import PatientRepository

log = logging.getLogger(__name__)
LINK_COMMANDS = ("/start", "/help", "/privacy")


class ManagerCommands:
    """A CommandHook: messages from a care manager's phone or Telegram chat."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    async def hook(self, session: AsyncSession, message: InboundMessage, applied: Applied) -> bool:
        if message.command and message.command.split()[0] in LINK_COMMANDS:
            return False
        manager = await _manager_at(session, message.address)
        if manager is None:
            return False
        command = parse_manager_command(message.body, message.command)
        if command.action == "help" and await _someone_else_at(session, message.address):
            return False  # a shared phone: not a command, so the patient's message
        now = self.clock.now()
        await log_received(
            session,
            message,
            now,
            care_manager_id=manager.id,
            kind="manager",
        )
        run = _Run(session, self.settings, manager, message, applied, now)
        await run.do(command)
        return True


class _Run:
    """One manager command in one transaction."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        manager: CareManager,
        message: InboundMessage,
        applied: Applied,
        now: datetime,
    ) -> None:
        self.session = session
        self.settings = settings
        self.manager = manager
        self.message = message
        self.applied = applied
        self.now = now
        self._answers = 0

    async def do(self, command: ManagerCommand) -> None:
        if command.action == "help" or command.escalation_id is None:
            await self.answer(MANAGER_HELP)
            return
        escalation = await EscalationRepository(self.session).get(command.escalation_id)
        if escalation is None or not await may_act(self.session, escalation, self.manager):
            await self.audit("escalation.denied", command.escalation_id, None)
            await self.answer(f"You cannot act on escalation {command.escalation_id}.")
            return
        if command.action == "ack":
            await self.acknowledge(escalation)
        elif command.action == "resolve":
            await self.resolve(escalation, command.text)
        else:
            await self.reply(escalation, command.text)

    async def acknowledge(self, escalation: Escalation) -> None:
        repo = EscalationRepository(self.session)
        if not await repo.acknowledge(escalation.id, self.manager.id, self.now):
            await self.answer(f"Escalation {escalation.id} is already {escalation.status}.")
            return
        await self.audit("escalation.acknowledged", escalation.id, escalation.patient_id)
        await self.mark_alerts(escalation, f"Acknowledged by {self.manager.name}")
        await self.answer(f"Escalation {escalation.id} acknowledged.", unless_button=True)

    async def resolve(self, escalation: Escalation, note: str) -> None:
        repo = EscalationRepository(self.session)
        if not await repo.resolve(escalation.id, self.manager.id, self.now, note or None):
            await self.answer(f"Escalation {escalation.id} is already resolved.")
            return
        await self.audit("escalation.resolved", escalation.id, escalation.patient_id)
        await self.mark_alerts(escalation, f"Resolved by {self.manager.name}")
        await self.answer(f"Escalation {escalation.id} resolved.", unless_button=True)

    async def reply(self, escalation: Escalation, text: str) -> None:
        patient = await PatientRepository(self.session).require(escalation.patient_id)
        address = patient_address(patient)
        if not text:
            await self.answer(f"Write the message after the number: REPLY {escalation.id} <text>")
            return
        consents = ConsentRepository(self.session)
        if address is None or not await consents.is_granted(
            channel_of(address), address, patient_id=patient.id
        ):
            await self.answer(f"Patient {patient.external_id} cannot be messaged (no consent).")
            return
        queued = await MessageRepository(self.session).queue_outbound(
            channel=channel_of(address),
            address=address,
            body=text,
            idempotency_key=f"mgr:{self.message.channel}:{self.message.external_id}:reply",
            at=self.now,
            kind="manager_reply",
            patient_id=patient.id,
            care_manager_id=self.manager.id,
            language=patient.language,
        )
        if queued is not None:
            self.applied.deliver_now.append(queued.outbox.id)
        await self.audit("patient.replied", escalation.id, patient.id)
        await self.answer(f"Sent to patient {patient.external_id}.")

    async def mark_alerts(self, escalation: Escalation, note: str) -> None:
        await mark_alerts(self.session, escalation.id, note, self.applied)

    async def answer(self, text: str, *, unless_button: bool = False) -> None:
        if unless_button and (self.message.command or "").startswith("callback:"):
            return  # the edited alert is the answer
        self._answers += 1
        queued = await MessageRepository(self.session).queue_outbound(
            channel=self.message.channel,
            address=self.message.address,
            body=text,
            idempotency_key=(
                f"mgr:{self.message.channel}:{self.message.external_id}:a{self._answers}"
            ),
            at=self.now,
            kind="manager_answer",
            care_manager_id=self.manager.id,
        )
        if queued is not None:
            self.applied.deliver_now.append(queued.outbox.id)

    async def audit(self, action: str, escalation_id: int, patient_id: int | None) -> None:
        await AuditRepository(self.session).record(
            at=self.now,
            actor_type="care_manager",
            actor_id=self.manager.id,
            action=action,
            entity_type="escalation",
            entity_id=escalation_id,
            patient_id=patient_id,
            detail={"channel": self.message.channel},
        )


async def mark_alerts(
    session: AsyncSession, escalation_id: int, note: str, applied: Applied
) -> None:
    """Edit the Telegram alerts of the escalation so that everyone alerted sees who took it."""
    rows = await session.execute(
        select(Message.address, Message.provider_id, Message.body)
        .join(Notification, Notification.message_id == Message.id)
        .where(Notification.escalation_id == escalation_id, Message.channel == "telegram")
    )
    for address, provider_id, body in rows:
        if provider_id:
            applied.edits.append(Edit(address, provider_id, f"{body}\n✅ {note}"))


async def may_act(session: AsyncSession, escalation: Escalation, manager: CareManager) -> bool:
    """The assignee, anyone the ladder alerted for it, supervisors and admins (SPEC §7)."""
    if manager.role in ("supervisor", "admin") or escalation.assignee_id == manager.id:
        return True
    alerted = await session.scalar(
        select(Notification.id)
        .where(
            Notification.escalation_id == escalation.id,
            Notification.care_manager_id == manager.id,
        )
        .limit(1)
    )
    return alerted is not None


async def _manager_at(session: AsyncSession, address: str) -> CareManager | None:
    scheme, _, rest = address.partition(":")
    if scheme == "telegram":
        column = CareManager.telegram_chat_id
    elif scheme in ("tel", "voice"):
        column = CareManager.phone
    else:
        return None
    return await session.scalar(
        select(CareManager).where(column == rest, CareManager.active.is_(True)).limit(1)
    )


async def _someone_else_at(session: AsyncSession, address: str) -> bool:
    if await PatientRepository(session).by_address(address):
        return True
    found = await session.scalar(
        select(FamilyContact.id).where(FamilyContact.address == address).limit(1)
    )
    return found is not None


__all__ = ["ManagerCommands", "mark_alerts", "may_act"]
