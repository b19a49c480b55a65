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


def _order(consent: Consent) -> tuple[object, bool, int]:
    return (consent.recorded_at, not consent.granted, consent.id)


@dataclass(slots=True)
class ConsentBook:
    """The current consent per (subject, channel, address) of the people loaded."""

    current: dict[tuple[Subject, str, str], Consent] = field(default_factory=dict)
    revoked: set[Subject] = field(default_factory=set)

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
