"""Consent events: every grant and revocation is a new row; the latest row is the answer."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from storage.models import Consent, FamilyContact
from storage.repositories.base import Repository
from storage.repositories.patients import PatientRepository


class ConsentRepository(Repository):
    """Consents per subject (patient or family contact), channel and address.

    The current consent is the latest row by ``recorded_at``; at equal times a revocation wins
    over a grant, then the later row.
    """

    async def record(
        self,
        *,
        channel: str,
        address: str,
        granted: bool,
        source: str,
        at: datetime,
        patient_id: int | None = None,
        family_contact_id: int | None = None,
        subject: str | None = None,
        scope: str = "checkins",
        text_version: str = "v1",
        language: str = "en",
    ) -> Consent:
        """Append one consent event (never updates a row)."""
        consent = Consent(
            patient_id=patient_id,
            family_contact_id=family_contact_id,
            subject=subject or _subject(patient_id, family_contact_id),
            channel=channel,
            address=address,
            scope=scope,
            granted=granted,
            source=source,
            text_version=text_version,
            language=language,
            recorded_at=at,
        )
        self.session.add(consent)
        await self.session.flush()
        return consent

    async def current(
        self,
        channel: str,
        address: str,
        *,
        patient_id: int | None = None,
        family_contact_id: int | None = None,
    ) -> Consent | None:
        """The latest consent row for that subject on (channel, address); with neither id given,
        the latest row for the address whoever it concerned."""
        params: dict[str, Any] = {"channel": channel, "address": address}
        if patient_id is not None:
            params["patient_id"] = patient_id
        if family_contact_id is not None:
            params["family_contact_id"] = family_contact_id
        statement = _current(patient_id is not None, family_contact_id is not None)
        return (await self.session.scalars(statement, params)).first()

    async def is_granted(
        self,
        channel: str,
        address: str,
        *,
        patient_id: int | None = None,
        family_contact_id: int | None = None,
    ) -> bool:
        current = await self.current(
            channel, address, patient_id=patient_id, family_contact_id=family_contact_id
        )
        return current is not None and current.granted

    async def history(
        self, *, patient_id: int | None = None, family_contact_id: int | None = None
    ) -> list[Consent]:
        """Every consent event of a subject, oldest first."""
        statement = select(Consent)
        if patient_id is not None:
            statement = statement.where(Consent.patient_id == patient_id)
        if family_contact_id is not None:
            statement = statement.where(Consent.family_contact_id == family_contact_id)
        return list(await self.session.scalars(statement.order_by(Consent.recorded_at, Consent.id)))

    async def revoke_address(
        self, channel: str, address: str, source: str, at: datetime
    ) -> list[Consent]:
        """Revoke ``channel`` at ``address`` for everyone on it (STOP from a shared phone).

        Subjects: every patient and family contact reached at the address, and anyone with an
        earlier consent row there. With nobody known, one address-level row (no subject ids) is
        recorded so that the opt-out is still on file.
        """
        subjects: set[tuple[int | None, int | None]] = set()
        for patient in await PatientRepository(self.session).by_address(address):
            subjects.add((patient.id, None))
        family = select(FamilyContact.id).where(FamilyContact.address == address)
        subjects.update((None, fid) for fid in await self.session.scalars(family))
        earlier = select(Consent.patient_id, Consent.family_contact_id).where(
            Consent.channel == channel, Consent.address == address
        )
        for patient_id, family_id in (await self.session.execute(earlier.distinct())).all():
            if patient_id is not None or family_id is not None:
                subjects.add((patient_id, family_id))
        if not subjects:
            subjects.add((None, None))
        rows = []
        for patient_id, family_id in sorted(subjects, key=lambda s: (s[0] or 0, s[1] or 0)):
            rows.append(
                await self.record(
                    channel=channel,
                    address=address,
                    granted=False,
                    source=source,
                    at=at,
                    patient_id=patient_id,
                    family_contact_id=family_id,
                    subject=None if (patient_id or family_id) else "unknown",
                )
            )
        return rows


def _subject(patient_id: int | None, family_contact_id: int | None) -> str:
    if family_contact_id is not None:
        return "family"
    return "patient" if patient_id is not None else "unknown"


@functools.lru_cache(maxsize=4)
def _current(patient: bool, family_contact: bool) -> Any:
    """:meth:`ConsentRepository.current`'s statement, built once (the values are parameters)."""
    statement = select(Consent).where(
        Consent.channel == bindparam("channel"), Consent.address == bindparam("address")
    )
    if patient:
        statement = statement.where(Consent.patient_id == bindparam("patient_id"))
    if family_contact:
        statement = statement.where(Consent.family_contact_id == bindparam("family_contact_id"))
    return statement.order_by(
        Consent.recorded_at.desc(), Consent.granted.asc(), Consent.id.desc()
    ).limit(1)
