"""Family contacts and consent from the dashboard: add and remove a contact (with the consent
the care team attests), and record a revocation someone asked the team for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor
from bot.dashboard import audit
from bot.dashboard.enrolment import InvalidInput
from bot.importing.fields import e164, parse_choice, parse_notify, parse_phone
from bot.importing.patient_batch import address_of
from bot.importing.patient_rows import CHANNELS, LANGUAGES
from outreach.errors import Conflict, NotFound
from storage.models import FamilyContact, Patient
from storage.repositories.consents import ConsentRepository
from storage.repositories.family import FamilyContactRepository, FamilyFields


@dataclass(frozen=True, slots=True)
class FamilyInput:
    name: str
    relationship: str
    phone: str
    channel: str
    language: str
    notify: str
    """``;``-separated scope: escalation, unreachable, summary."""
    consent: bool = False


async def add_family(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    patient: Patient,
    data: FamilyInput,
    *,
    region: str,
) -> FamilyContact:
    reasons: list[str] = []
    name = data.name.strip()[:200]
    if not name:
        reasons.append("name is empty")
    phone = channel = language = ""
    notify: tuple[str, ...] = ()
    try:
        phone = e164(parse_phone(data.phone.strip(), region))
        channel = parse_choice(data.channel.strip(), CHANNELS, "channel")
        language = parse_choice(data.language.strip() or patient.language, LANGUAGES, "language")
        notify = parse_notify(data.notify)
    except ValueError as exc:
        reasons.append(str(exc))
    if reasons:
        raise InvalidInput(reasons)
    address = address_of(channel, phone)
    taken = await session.scalar(
        select(func.count(FamilyContact.id)).where(
            FamilyContact.patient_id == patient.id, FamilyContact.address == address
        )
    )
    if taken:
        raise Conflict("this patient has a family contact at that number already")
    fields = FamilyFields(
        name=name,
        channel=channel,
        relationship=data.relationship.strip()[:64],
        phone=phone,
        language=language,
        notify_on=notify,
    )
    contact = await FamilyContactRepository(session).add(patient.id, address, fields, at=now)
    if data.consent and channel != "telegram":
        await ConsentRepository(session).record(
            channel=channel,
            address=address,
            granted=True,
            source=actor.channel,
            at=now,
            patient_id=patient.id,
            family_contact_id=contact.id,
            scope=";".join(notify),
            language=language,
        )
    await audit.record(
        session,
        actor,
        now,
        "family.added",
        entity_type="family_contact",
        entity_id=contact.id,
        patient_id=patient.id,
    )
    return contact


async def remove_family(
    session: AsyncSession, actor: Actor, now: datetime, patient: Patient, contact_id: int
) -> None:
    contact = await FamilyContactRepository(session).get(contact_id)
    if contact is None or contact.patient_id != patient.id:
        raise NotFound(f"no family contact {contact_id} for this patient")
    await FamilyContactRepository(session).delete(contact_id)
    await audit.record(
        session,
        actor,
        now,
        "family.removed",
        entity_type="family_contact",
        entity_id=contact_id,
        patient_id=patient.id,
    )


async def revoke_consent(
    session: AsyncSession, actor: Actor, now: datetime, patient: Patient, channel: str, address: str
) -> None:
    """Record that the patient (or a family member) asked the care team to stop messages."""
    consents = ConsentRepository(session)
    known = {
        (c.channel, c.address, c.family_contact_id)
        for c in await consents.history(patient_id=patient.id)
    }
    match = [k for k in known if k[0] == channel and k[1] == address]
    if not match:
        raise NotFound("no consent on file for that address")
    for _, _, family_id in match:
        await consents.record(
            channel=channel,
            address=address,
            granted=False,
            source=actor.channel,
            at=now,
            patient_id=patient.id,
            family_contact_id=family_id,
        )
    await audit.record(
        session,
        actor,
        now,
        "consent.revoked",
        entity_type="patient",
        entity_id=patient.id,
        patient_id=patient.id,
        detail={"channel": channel},
    )
