"""What the import needs to know of earlier consent events, loaded for many people at once.

The rule is the consent repository's: the current consent on an address is the latest row by
``recorded_at``; at equal times a revocation wins over a grant, then the later row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Consent

Subject = tuple[str, int]
"""``("patient", id)`` or ``("family", id)``."""


PHONE_SCHEMES = ("tel", "voice")


def _number(address: str) -> str:
    return address.partition(":")[2]


def _order(consent: Consent) -> tuple[object, bool, int]:
    return (consent.recorded_at, not consent.granted, consent.id)


@dataclass(slots=True)
class ConsentBook:
    """The current consent per (subject, channel, address) of the people loaded."""

    current: dict[tuple[Subject, str, str], Consent] = field(default_factory=dict)
    revoked: set[Subject] = field(default_factory=set)
    address_stops: dict[str, Consent] = field(default_factory=dict)
    """Per phone number: a STOP from a number nobody was known at when it came (a row without
    subject), where that is the number's latest such row. A STOP by text also keeps calls away:
    whoever sent it gets nothing from carebot on that number until they send START."""

    def add(self, consents: Iterable[Consent]) -> None:
        by_key: dict[tuple[Subject, str, str], list[Consent]] = defaultdict(list)
        for consent in consents:
            if consent.family_contact_id is not None:
                subject: Subject = ("family", consent.family_contact_id)
            elif consent.patient_id is not None:
                subject = ("patient", consent.patient_id)
            else:
                continue
            by_key[(subject, consent.channel, consent.address)].append(consent)
        for key, rows in by_key.items():
            latest = max(rows, key=_order)
            self.current[key] = latest
            if not latest.granted:
                self.revoked.add(key[0])

    def opted_out(self, subject: Subject) -> bool:
        """Whether the subject's latest consent on any of their addresses is a revocation.

        Any address counts: a STOP on SMS is not undone by moving the person to voice or to a
        new number in a file; only their own START (or the care team, by hand) restores it.
        """
        return subject in self.revoked

    def granted(self, subject: Subject, channel: str, address: str, scope: str) -> bool:
        """Whether the current consent on that address is a grant of exactly ``scope``."""
        latest = self.current.get((subject, channel, address))
        return latest is not None and latest.granted and latest.scope == scope

    def stopped_before(self, subject: Subject, channel: str, address: str) -> Consent | None:
        """The STOP this address sent before the subject was on file with it, if any: a
        revocation with no subject, later than any consent row of the subject's own there."""
        stop = self.address_stops.get(_number(address))
        if stop is None:
            return None
        own = self.current.get((subject, channel, address))
        return stop if own is None or _order(own) < _order(stop) else None

    async def load_address_stops(self, session: AsyncSession, addresses: Collection[str]) -> None:
        """The address-level rows of the phone numbers of ``addresses`` (any scheme)."""
        numbers = {_number(address) for address in addresses}
        if not numbers:
            return
        statement = select(Consent).where(
            Consent.patient_id.is_(None),
            Consent.family_contact_id.is_(None),
            Consent.address.in_([f"{s}:{n}" for n in numbers for s in PHONE_SCHEMES]),
        )
        latest: dict[str, Consent] = {}
        for consent in await session.scalars(statement):
            number = _number(consent.address)
            if number not in latest or _order(consent) > _order(latest[number]):
                latest[number] = consent
        self.address_stops.update({n: c for n, c in latest.items() if not c.granted})

    async def load(
        self, session: AsyncSession, patient_ids: Collection[int], family_ids: Collection[int]
    ) -> None:
        conditions = []
        if patient_ids:
            conditions.append(Consent.patient_id.in_(patient_ids))
        if family_ids:
            conditions.append(Consent.family_contact_id.in_(family_ids))
        if conditions:
            self.add(await session.scalars(select(Consent).where(or_(*conditions))))
