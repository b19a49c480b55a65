"""Family members and caregivers of patients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from outreach.errors import NotFound
from storage.models import FamilyContact
from storage.repositories.base import Repository


@dataclass(frozen=True, slots=True)
class FamilyFields:
    """What an import or the dashboard sets on a family contact (address is the key)."""

    name: str
    channel: str
    relationship: str = ""
    phone: str | None = None
    language: str = "en"
    notify_on: Sequence[str] = ()
    window_start: str | None = None
    window_end: str | None = None
    timezone: str | None = None


class FamilyContactRepository(Repository):
    """Family contacts; one address may belong to contacts of several patients."""

    async def get(self, contact_id: int) -> FamilyContact | None:
        return await self.session.get(FamilyContact, contact_id)

    async def for_patient(self, patient_id: int) -> list[FamilyContact]:
        statement = (
            select(FamilyContact)
            .where(FamilyContact.patient_id == patient_id)
            .order_by(FamilyContact.id)
        )
        return list(await self.session.scalars(statement))

    async def by_address(self, address: str) -> list[FamilyContact]:
        statement = (
            select(FamilyContact).where(FamilyContact.address == address).order_by(FamilyContact.id)
        )
        return list(await self.session.scalars(statement))

    async def add(
        self, patient_id: int, address: str, fields: FamilyFields, *, at: datetime
    ) -> FamilyContact:
        """A new contact; a second one with the same (patient, address) raises IntegrityError."""
        contact = FamilyContact(patient_id=patient_id, address=address, created_at=at)
        self._apply(contact, fields)
        self.session.add(contact)
        await self.session.flush()
        return contact

    async def upsert(
        self, patient_id: int, address: str, fields: FamilyFields, *, at: datetime
    ) -> tuple[FamilyContact, bool]:
        """Create or update the patient's contact at ``address``; returns (contact, created)."""
        statement = select(FamilyContact).where(
            FamilyContact.patient_id == patient_id, FamilyContact.address == address
        )
        contact = (await self.session.scalars(statement)).one_or_none()
        if contact is None:
            return await self.add(patient_id, address, fields, at=at), True
        self._apply(contact, fields)
        await self.session.flush()
        return contact, False

    async def update(
        self, contact_id: int, fields: FamilyFields, *, address: str | None = None
    ) -> FamilyContact:
        contact = await self.get(contact_id)
        if contact is None:
            raise NotFound(f"family contact {contact_id} not found")
        if address is not None:
            contact.address = address
        self._apply(contact, fields)
        await self.session.flush()
        return contact

    async def delete(self, contact_id: int) -> None:
        contact = await self.get(contact_id)
        if contact is not None:
            await self.session.delete(contact)
            await self.session.flush()

    @staticmethod
    def _apply(contact: FamilyContact, fields: FamilyFields) -> None:
        contact.name = fields.name
        contact.channel = fields.channel
        contact.relationship_ = fields.relationship
        contact.phone = fields.phone
        contact.language = fields.language
        contact.notify_on = list(fields.notify_on)
        contact.window_start = fields.window_start
        contact.window_end = fields.window_end
        contact.timezone = fields.timezone
