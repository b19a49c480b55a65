"""Inbound messages: route each to its check-in, or handle it outside one, exactly once.

Every message is handled in one transaction that also marks its inbox row processed, so a
message delivered several times, or retried after a crash, has its effects once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import channel_of
from bot.applied import Applied
from bot.checkins import CheckIns
from bot.config import Settings
from bot.context import FALLBACK_LOCALE, patient_view
from bot.effects import revoke_and_cancel
from bot.escalations import raise_escalation
from outreach.conversation import Reply
from outreach.conversation.env import ConversationEnv, PatientView, Screen, no_screen
from outreach.conversation.outside import OutsideResponse, respond_outside
from outreach.keywords import provider_handles_opt_out
from outreach.locale import locale_for
from outreach.ports import Clock, InboundMessage
from outreach.programs.model import Program
from outreach.texts import first_name
from storage.engine import Database
from storage.models import CheckIn, FamilyContact, Message, Patient
from storage.repositories.checkins import CheckInRepository
from storage.repositories.consents import ConsentRepository
from storage.repositories.enrollments import EnrollmentRepository
from storage.repositories.family import FamilyContactRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.patients import PatientRepository

log = logging.getLogger(__name__)

QUIET = timedelta(minutes=15)
QUIET_REPLIES = frozenset({"ack", "help"})
"""Replies outside a check-in that are not repeated to the same address within QUIET (the same
words: an acknowledgement carrying different advice still goes). Safety advice always goes."""

CommandHook = Callable[[AsyncSession, InboundMessage, Applied], Awaitable[bool]]
"""Handles a message before patient routing (Telegram links, care-manager replies); True when
it took the message."""


@dataclass(frozen=True, slots=True)
class _Reply:
    address: str
    kind: str
    body: str
    language: str
    patient_id: int | None = None
    family_contact_id: int | None = None


class Inbound:
    """Handles inbound messages from every channel."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        programs: dict[str, Program],
        checkins: CheckIns,
        *,
        screen: Screen = no_screen,
        hooks: tuple[CommandHook, ...] = (),
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.programs = programs
        self.checkins = checkins
        self.screen = screen
        self.hooks = hooks

    async def handle(self, message: InboundMessage, inbox_id: int | None = None) -> Applied:
        """Handle one message in one transaction; a processed inbox row is not handled again."""
        applied = Applied()
        async with self.db.transaction() as session:
            now = self.clock.now()
            if inbox_id is not None and not await InboxRepository(session).mark_processed(
                inbox_id, now
            ):
                return applied
            for hook in self.hooks:
                if await hook(session, message, applied):
                    return applied
            if message.command == "/stop":
                message = _with_body(message, "STOP")
            await self._route(session, message, applied)
        return applied

    async def _route(
        self, session: AsyncSession, message: InboundMessage, applied: Applied
    ) -> None:
        patients = await PatientRepository(session).by_address(message.address)
        if patients:
            open_checkins = await CheckInRepository(session).in_progress_for_many(
                [p.id for p in patients]
            )
            # The one patient on this address with a check-in in progress, if exactly one.
            owners = [p for p in patients if p.id in open_checkins]
            target = owners[0] if len(owners) == 1 else None
            if target is not None or len(patients) == 1:
                patient = target or patients[0]
                checkin = open_checkins.get(patient.id)
                await self._from_patient(session, patient, checkin, message, applied)
            else:
                await self._from_shared(session, patients, message, applied)
            return
        family = await FamilyContactRepository(session).by_address(message.address)
        if family:
            await self._from_family(session, family, message, applied)
            return
        await self._from_unknown(session, message, applied)

    async def _from_patient(
        self,
        session: AsyncSession,
        patient: Patient,
        checkin: CheckIn | None,
        message: InboundMessage,
        applied: Applied,
    ) -> None:
        """``checkin``: the patient's check-in in progress, if any."""
        now = self.clock.now()
        opted_out = await self._opted_out(session, message.address, patient_id=patient.id)
        await log_received(
            session,
            message,
            now,
            patient_id=patient.id,
            checkin_id=checkin.id if checkin else None,
        )
        if checkin is not None and not opted_out:
            result = await self.checkins.step(session, checkin, Reply(message.body), now)
            applied.merge(result)
            return
        env = await self._env(session, patient, patient_view(patient, self.settings))
        response = respond_outside(message.body, env, opted_out=opted_out)
        await self._apply_outside(session, [patient], message, response, env, applied)

    async def _from_shared(
        self,
        session: AsyncSession,
        patients: list[Patient],
        message: InboundMessage,
        applied: Applied,
    ) -> None:
        """A phone shared by several patients and no single open conversation: log for each,
        flag for the care team; STOP revokes the channel for all of them."""
        now = self.clock.now()
        for patient in patients:
            await log_received(
                session,
                message,
                now,
                patient_id=patient.id,
                flagged=True,
            )
        first = patients[0]
        opted_out = await self._opted_out(session, message.address, patient_id=first.id)
        env = await self._env(session, first, patient_view(first, self.settings))
        response = respond_outside(message.body, env, opted_out=opted_out)
        await self._apply_outside(session, patients, message, response, env, applied, logged=True)

    async def _from_family(
        self,
        session: AsyncSession,
        contacts: list[FamilyContact],
        message: InboundMessage,
        applied: Applied,
    ) -> None:
        now = self.clock.now()
        contact = contacts[0]
        patients = [await PatientRepository(session).require(c.patient_id) for c in contacts]
        for c in contacts:
            await log_received(
                session,
                message,
                now,
                patient_id=c.patient_id,
                family_contact_id=c.id,
                kind="family",
                flagged=True,
            )
        opted_out = await self._opted_out(session, message.address, family_contact_id=contact.id)
        view = patient_view(patients[0], self.settings)
        view = PatientView(first_name(contact.name), contact.language, view.timezone, view.locale)
        env = await self._env(session, patients[0], view)
        response = respond_outside(message.body, env, opted_out=opted_out)
        await self._apply_outside(
            session, patients, message, response, env, applied, logged=True, family=contact
        )

    async def _from_unknown(
        self, session: AsyncSession, message: InboundMessage, applied: Applied
    ) -> None:
        """Nobody we know: logged and flagged; a red flag still gets the emergency advice."""
        now = self.clock.now()
        await log_received(
            session,
            message,
            now,
            kind="unmatched",
            flagged=True,
        )
        program = self.programs.get("general") or next(iter(self.programs.values()))
        locale = locale_for(self.settings.default_region) or FALLBACK_LOCALE
        view = PatientView("", "en", self.settings.default_timezone, locale)
        env = ConversationEnv(
            program=program,
            patient=view,
            team_name=self.settings.care_team_name,
            team_phone=self.settings.care_team_phone,
            screen=self.screen,
        )
        response = respond_outside(message.body, env, opted_out=False)
        if response.reply_kind in ("emergency", "crisis"):
            await self._queue_reply(
                session,
                _Reply(message.address, response.reply_kind, response.reply, "en"),
                message,
                applied,
            )
        log.info("inbound %s from an unknown address, flagged", message.external_id)

    async def _apply_outside(
        self,
        session: AsyncSession,
        patients: list[Patient],
        message: InboundMessage,
        response: OutsideResponse,
        env: ConversationEnv,
        applied: Applied,
        *,
        logged: bool = False,
        family: FamilyContact | None = None,
    ) -> None:
        now = self.clock.now()
        channel = channel_of(message.address)
        consents = ConsentRepository(session)
        if response.consent is False:
            await revoke_and_cancel(session, message.address, "keyword", now)
        elif response.consent is True:
            await consents.record(
                channel=channel,
                address=message.address,
                granted=True,
                source="keyword",
                at=now,
                patient_id=None if family else patients[0].id,
                family_contact_id=family.id if family else None,
                language=env.patient.language,
            )
            if family is None:
                patients[0].status = "active"
        if response.escalate:
            for patient in patients:
                await raise_escalation(
                    session,
                    self.settings,
                    patient,
                    list(response.escalate),
                    now,
                    patient_words=message.body,
                    applied=applied,
                )
        if response.flag and not logged:
            inbound = await MessageRepository(session).by_idempotency_key(
                f"in:{message.channel}:{message.external_id}:p{patients[0].id}"[:160]
            )
            if inbound is not None:
                inbound.flagged = True
        if response.reply_kind:
            if (
                response.reply_kind == "stop_confirm"
                and channel == "sms"
                and self.settings.twilio_opt_out_managed
                and provider_handles_opt_out(message.body)
            ):
                return  # Twilio's Advanced Opt-Out answered this bare STOP itself
            if response.reply_kind in QUIET_REPLIES and await MessageRepository(
                session
            ).sent_recently(message.address, response.reply_kind, response.reply, now - QUIET):
                # Said already: a second "your care team will see this" adds nothing, and a
                # flood (SMS pumping, a stuck phone) must not cost one outbound SMS per inbound.
                log.info(
                    "inbound %s: same %s sent recently, not repeated",
                    message.external_id,
                    response.reply_kind,
                )
                return
            await self._queue_reply(
                session,
                _Reply(
                    message.address,
                    response.reply_kind,
                    response.reply,
                    env.patient.language,
                    patient_id=patients[0].id if len(patients) == 1 else None,
                    family_contact_id=family.id if family else None,
                ),
                message,
                applied,
            )

    async def _queue_reply(
        self, session: AsyncSession, reply: _Reply, message: InboundMessage, applied: Applied
    ) -> None:
        now = self.clock.now()
        queued = await MessageRepository(session).queue_outbound(
            channel=channel_of(reply.address),
            address=reply.address,
            body=reply.body,
            idempotency_key=f"reply:{message.channel}:{message.external_id}"[:160],
            at=now,
            kind=reply.kind,
            patient_id=reply.patient_id,
            family_contact_id=reply.family_contact_id,
            language=reply.language,
        )
        if queued is not None:
            applied.deliver_now.append(queued.outbox.id)

    async def _opted_out(
        self,
        session: AsyncSession,
        address: str,
        *,
        patient_id: int | None = None,
        family_contact_id: int | None = None,
    ) -> bool:
        current = await ConsentRepository(session).current(
            channel_of(address),
            address,
            patient_id=patient_id,
            family_contact_id=family_contact_id,
        )
        return current is not None and not current.granted

    async def _env(
        self, session: AsyncSession, patient: Patient, view: PatientView
    ) -> ConversationEnv:
        enrollments = await EnrollmentRepository(session).for_patient(patient.id)
        program_id = enrollments[0].program_id if enrollments else "general"
        program = self.programs.get(program_id) or next(iter(self.programs.values()))
        return ConversationEnv(
            program=program,
            patient=view,
            team_name=self.settings.care_team_name,
            team_phone=self.settings.care_team_phone,
            screen=self.screen,
        )


async def log_received(
    session: AsyncSession,
    message: InboundMessage,
    at: datetime,
    *,
    patient_id: int | None = None,
    family_contact_id: int | None = None,
    care_manager_id: int | None = None,
    checkin_id: int | None = None,
    kind: str = "reply",
    flagged: bool = False,
) -> Message | None:
    """``message`` in the contact log for one person (see MessageRepository.log_inbound)."""
    return await MessageRepository(session).log_inbound(
        channel=message.channel,
        address=message.address,
        body=message.body,
        external_id=message.external_id,
        at=at,
        patient_id=patient_id,
        family_contact_id=family_contact_id,
        care_manager_id=care_manager_id,
        checkin_id=checkin_id,
        kind=kind,
        flagged=flagged,
    )


def _with_body(message: InboundMessage, body: str) -> InboundMessage:
    return InboundMessage(
        channel=message.channel,
        address=message.address,
        body=body,
        external_id=message.external_id,
        received_at=message.received_at,
        command=message.command,
        raw=message.raw,
    )
