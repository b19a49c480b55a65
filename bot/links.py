"""Telegram deep-link invites: one-time codes, and the ``/start``, ``/help``, ``/privacy`` commands.

A code is random (``secrets.token_urlsafe``), shown once, and stored only as the hash of its
HMAC under ``SECRET_KEY`` (SPEC §11), so the database alone cannot redeem or check one and a
rotated key retires every outstanding invite. Linking never claims a phone number: whoever opens
the link in a private chat becomes the recipient (SPEC §9).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.applied import Applied
from bot.config import Settings
from outreach.clock import SystemClock
from outreach.ports import Clock, InboundMessage
from storage.models import LinkCode
from storage.repositories.consents import ConsentRepository
from storage.repositories.family import FamilyContactRepository
from storage.repositories.link_codes import LinkCodeRepository, new_code
from storage.repositories.managers import ManagerRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.patients import PatientRepository

log = logging.getLogger(__name__)

CONSENT_SOURCE = "telegram_link"
_FOR_MANAGERS: Final = {"help": "manager_help", "refused": "linked_manager"}

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "linked_patient": {
        "en": "You're connected. {team} will send your check-ins to this chat. "
        "Send /help for help, /privacy to see how your information is handled, "
        "or /stop to stop these messages.",
        "es": "Listo, ya está conectado. {team} le enviará sus revisiones a este chat. "
        "Escriba /help para obtener ayuda, /privacy para saber cómo se tratan sus datos "
        "o /stop para dejar de recibir mensajes.",
    },
    "linked_family": {
        "en": "You're connected. {team} will send the updates you agreed to to this chat. "
        "Send /privacy to see how your information is handled, or /stop to stop them.",
        "es": "Listo, ya está conectado. {team} le enviará a este chat los avisos que aceptó "
        "recibir. Escriba /privacy para saber cómo se tratan sus datos o /stop para dejarlos.",
    },
    "linked_manager": {
        "en": "This chat is now linked to your carebot account: escalation alerts will "
        "arrive here, with buttons to acknowledge and resolve them.",
    },
    "manager_help": {
        "en": "Escalation alerts arrive in this chat with Acknowledge and Resolve buttons. "
        "Send /privacy to see what carebot stores.",
    },
    "refused": {
        "en": "Sorry, this link cannot be used: it may have expired or been used already. "
        "Please ask {team} for a new link.",
        "es": "Lo sentimos, este enlace no se puede usar: puede que haya caducado o que ya se "
        "haya usado. Pida un enlace nuevo a {team}.",
    },
    "not_private": {
        "en": "Please open the invite link in a private chat with this bot.",
        "es": "Abra el enlace de invitación en un chat privado con este bot.",
    },
    "help": {
        "en": "This is the check-in service of {team}. To connect, open the invite link your "
        "care team gave you. Send /privacy to see what is stored, or /stop to stop messages.",
        "es": "Este es el servicio de revisiones de {team}. Para conectarse, abra el enlace de "
        "invitación que le dio su equipo de atención. Escriba /privacy para saber qué datos se "
        "guardan o /stop para dejar de recibir mensajes.",
    },
    "privacy": {
        "en": "Privacy: {team} stores your Telegram chat id, the messages sent and received "
        "in this chat, your check-in answers and a record of your consent. Telegram is not a "
        "health service and has signed no agreement to protect health information (no HIPAA "
        "business associate agreement): messages pass through Telegram under its own terms. "
        "Send /stop or STOP at any time to stop all messages. To have your information "
        "deleted, ask {team}{phone_part}.",
        "es": "Privacidad: {team} guarda su identificador de chat de Telegram, los mensajes "
        "enviados y recibidos en este chat, sus respuestas y un registro de su "
        "consentimiento. Telegram no es un servicio de salud y no ha firmado ningún acuerdo "
        "para proteger información de salud (no hay acuerdo de socio comercial HIPAA): los "
        "mensajes pasan por Telegram según sus propias condiciones. Escriba /stop o PARAR en "
        "cualquier momento para no recibir más mensajes. Para que se borren sus datos, "
        "pídalo a {team}{phone_part}.",
    },
}


async def create_invite(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    *,
    patient_id: int | None = None,
    family_contact_id: int | None = None,
    manager_id: int | None = None,
) -> str:
    """A new one-time code for exactly one patient, family contact or care manager.

    Returns the plain code (``[A-Za-z0-9_-]``, 32 characters), which is never stored; it
    expires after ``INVITE_TTL_DAYS``. Use this, not ``LinkCodeRepository.create``, so that the
    ``/start`` hook can find the code. Raises ValueError unless exactly one target is given.
    """
    code = new_code()
    await LinkCodeRepository(session).create(
        expires_at=now + timedelta(days=settings.invite_ttl_days),
        at=now,
        patient_id=patient_id,
        family_contact_id=family_contact_id,
        care_manager_id=manager_id,
        code=lookup_key(settings, code),
    )
    return code


def lookup_key(settings: Settings, code: str) -> str:
    """What the repository hashes for ``code``: its HMAC-SHA256 under ``SECRET_KEY``."""
    secret = settings.resolved_secret_key().encode()
    return hmac.new(secret, code.encode(), hashlib.sha256).hexdigest()


def text(key: str, language: str, settings: Settings) -> str:
    """A link message in ``language`` (English when there is no translation)."""
    variants = _TEXTS[key]
    phone = settings.care_team_phone
    values = {"team": settings.care_team_name, "phone_part": f" at {phone}" if phone else ""}
    if language == "es":
        values["phone_part"] = f" al {phone}" if phone else ""
    return variants.get(language, variants["en"]).format(**values)


def both_languages(key: str, settings: Settings) -> str:
    """English, then Spanish: for a chat we know nothing about yet."""
    return "\n\n".join(text(key, language, settings) for language in ("en", "es"))


class Links:
    """The inbound command hook for Telegram links, ``/help`` and ``/privacy``.

    Runs first in each message's transaction (``bot.inbound.CommandHook``). ``/start CODE``
    links the chat; a bare ``/start`` from a linked patient or family chat is left to the
    conversation (it means START: resume after /stop), and from anyone else gets the refusal.
    ``/help`` from a patient or family chat is left to the conversation too (program help,
    then the current question).
    """

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()

    async def hook(self, session: AsyncSession, message: InboundMessage, applied: Applied) -> bool:
        if message.channel != "telegram" or not message.command:
            return False
        name, _, argument = message.command.partition(" ")
        code = argument.strip()
        if name not in ("/start", "/help", "/privacy"):
            return False
        chat = _Chat(session, message.address)
        if name == "/start" and code:
            await self._redeem(session, message, code, chat, applied)
            return True
        if name == "/privacy":
            key = "privacy"
        elif await chat.is_patient_or_family():
            return False  # a bare /start means START; /help gets the program's help
        else:
            key = "help" if name == "/help" else "refused"  # a bare /start: nothing to link
        await self._answer(session, message, chat, key, applied)
        return True

    async def _redeem(
        self,
        session: AsyncSession,
        message: InboundMessage,
        code: str,
        chat: _Chat,
        applied: Applied,
    ) -> None:
        if message.raw.get("chat_type", "private") != "private":
            # Checked before redeeming, so the code still works from the private chat.
            await self._answer(session, message, chat, "not_private", applied, code_given=True)
            return
        now = self.clock.now()
        link = await LinkCodeRepository(session).redeem(lookup_key(self.settings, code), now)
        if link is None:
            log.info("telegram invite refused update=%s", message.external_id)
            await self._answer(session, message, chat, "refused", applied, code_given=True)
            return
        reply = await self._link(session, link, message.address, now)
        await self._reply(session, message, reply, applied)
        log.info("telegram invite %s redeemed update=%s", link.id, message.external_id)

    async def _link(
        self, session: AsyncSession, link: LinkCode, address: str, now: datetime
    ) -> _Reply:
        if link.patient_id is not None:
            return await self._link_patient(session, link.patient_id, address, now)
        if link.family_contact_id is not None:
            return await self._link_family(session, link.family_contact_id, address, now)
        assert link.care_manager_id is not None
        chat_id = address.removeprefix("telegram:")
        await ManagerRepository(session).set_telegram_chat(link.care_manager_id, chat_id)
        body = text("linked_manager", "en", self.settings)
        return _Reply(body, "link_confirm", "en", care_manager_id=link.care_manager_id)

    async def _link_patient(
        self, session: AsyncSession, patient_id: int, address: str, now: datetime
    ) -> _Reply:
        chat_id = address.removeprefix("telegram:")
        patient = await PatientRepository(session).link_telegram(patient_id, chat_id, at=now)
        if patient.status == "opted_out":
            patient.status = "active"  # opening a new invite is the patient's own opt-in
        await ConsentRepository(session).record(
            channel="telegram",
            address=address,
            granted=True,
            source=CONSENT_SOURCE,
            at=now,
            patient_id=patient.id,
            language=patient.language,
        )
        body = text("linked_patient", patient.language, self.settings)
        return _Reply(body, "link_confirm", patient.language, patient_id=patient.id)

    async def _link_family(
        self, session: AsyncSession, contact_id: int, address: str, now: datetime
    ) -> _Reply:
        repo = FamilyContactRepository(session)
        contact = await repo.get(contact_id)
        assert contact is not None  # the code row is deleted with the contact
        reply = _Reply(
            text("linked_family", contact.language, self.settings),
            "link_confirm",
            contact.language,
            patient_id=contact.patient_id,
            family_contact_id=contact.id,
        )
        siblings = await repo.for_patient(contact.patient_id)
        if any(c.address == address and c.id != contact.id for c in siblings):
            return reply  # (patient, address) is unique: this chat is linked for them already
        contact.address, contact.channel = address, "telegram"
        await ConsentRepository(session).record(
            channel="telegram",
            address=address,
            granted=True,
            source=CONSENT_SOURCE,
            at=now,
            family_contact_id=contact.id,
            scope=";".join(str(scope) for scope in contact.notify_on),
            language=contact.language,
        )
        return reply

    async def _answer(
        self,
        session: AsyncSession,
        message: InboundMessage,
        chat: _Chat,
        key: str,
        applied: Applied,
        *,
        code_given: bool = False,
    ) -> None:
        who = await chat.who()
        if who.care_manager_id is not None and not code_given:
            key = _FOR_MANAGERS.get(key, key)
        body = (
            text(key, who.language, self.settings)
            if who.known
            else both_languages(key, self.settings)
        )
        reply = _Reply(
            body,
            key,
            who.language,
            patient_id=who.patient_id,
            family_contact_id=who.family_contact_id,
            care_manager_id=who.care_manager_id,
        )
        # An unknown chat that tried an invite is worth a look (an expired link, a typo).
        await self._reply(session, message, reply, applied, flagged=code_given and not who.known)

    async def _reply(
        self,
        session: AsyncSession,
        message: InboundMessage,
        reply: _Reply,
        applied: Applied,
        *,
        flagged: bool = False,
    ) -> None:
        """Log the command (never the code) and queue the answer to that chat at once."""
        now = self.clock.now()
        messages = MessageRepository(session)
        name, _, argument = (message.command or "").partition(" ")
        await messages.log_inbound(
            channel="telegram",
            address=message.address,
            body=f"{name} (invite code)" if argument.strip() else name,
            external_id=message.external_id,
            at=now,
            patient_id=reply.patient_id,
            family_contact_id=reply.family_contact_id,
            care_manager_id=reply.care_manager_id,
            kind="command",
            flagged=flagged,
        )
        queued = await messages.queue_outbound(
            channel="telegram",
            address=message.address,
            body=reply.body,
            idempotency_key=f"reply:telegram:{message.external_id}"[:160],
            at=now,
            kind=reply.kind,
            patient_id=reply.patient_id,
            family_contact_id=reply.family_contact_id,
            care_manager_id=reply.care_manager_id,
            language=reply.language,
        )
        if queued is not None:
            applied.deliver_now.append(queued.outbox.id)


@dataclass(frozen=True, slots=True)
class _Reply:
    """An answer to one command, and whom it concerns in the contact log."""

    body: str
    kind: str
    language: str
    patient_id: int | None = None
    family_contact_id: int | None = None
    care_manager_id: int | None = None

    @property
    def known(self) -> bool:
        return (self.patient_id, self.family_contact_id, self.care_manager_id) != (None,) * 3


class _Chat:
    """Who a Telegram chat belongs to, looked up once."""

    def __init__(self, session: AsyncSession, address: str) -> None:
        self.session = session
        self.address = address
        self._who: _Reply | None = None

    async def is_patient_or_family(self) -> bool:
        who = await self.who()
        return who.patient_id is not None or who.family_contact_id is not None

    async def who(self) -> _Reply:
        """The first patient, else family contact, else care manager on this chat (an empty
        reply: nobody)."""
        if self._who is not None:
            return self._who
        chat_id = self.address.removeprefix("telegram:")
        who = _Reply("", "", "en")
        patients = await PatientRepository(self.session).by_telegram_chat(chat_id)
        family = await FamilyContactRepository(self.session).by_address(self.address)
        manager = await ManagerRepository(self.session).by_telegram_chat(chat_id)
        if patients:
            who = _Reply("", "", patients[0].language, patient_id=patients[0].id)
        elif family:
            contact = family[0]
            who = _Reply(
                "",
                "",
                contact.language,
                patient_id=contact.patient_id,
                family_contact_id=contact.id,
            )
        elif manager is not None:
            who = _Reply("", "", "en", care_manager_id=manager.id)
        self._who = who
        return who
