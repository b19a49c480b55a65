"""Patients: lookups by id, external id and channel address; upsert; filtered lists."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import selectinload

from outreach.errors import PatientNotFound
from storage.models import Patient
from storage.repositories.base import Repository


@dataclass(frozen=True, slots=True)
class PatientFields:
    """What an import or the dashboard sets on a patient."""

    name: str
    timezone: str
    channel: str
    care_manager_id: int
    phone: str | None = None
    telegram_chat_id: str | None = None
    language: str = "en"
    baseline: dict[str, Any] = field(default_factory=dict)
    window_start: str | None = None
    window_end: str | None = None


class PatientRepository(Repository):
    """Patients. Several patients may share one phone (spouses), so address lookups return lists."""

    async def get(self, patient_id: int, *, with_family: bool = False) -> Patient | None:
        if not with_family:
            return await self.session.get(Patient, patient_id)
        statement = (
            select(Patient)
            .where(Patient.id == patient_id)
            .options(selectinload(Patient.family_contacts))
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def require(self, patient_id: int) -> Patient:
        patient = await self.get(patient_id)
        if patient is None:
            raise PatientNotFound(f"patient {patient_id} not found")
        return patient

    async def get_many(self, patient_ids: Collection[int]) -> list[Patient]:
        if not patient_ids:
            return []
        statement = select(Patient).where(Patient.id.in_(patient_ids)).order_by(Patient.id)
        return list(await self.session.scalars(statement))

    async def by_external_id(self, external_id: str) -> Patient | None:
        statement = select(Patient).where(Patient.external_id == external_id)
        return (await self.session.scalars(statement)).one_or_none()

    async def by_phone(self, phone: str) -> list[Patient]:
        """Every patient with this E.164 phone number."""
        return list(await self.session.scalars(_BY_PHONE, {"phone": phone}))

    async def by_telegram_chat(self, chat_id: str) -> list[Patient]:
        statement = select(Patient).where(Patient.telegram_chat_id == chat_id).order_by(Patient.id)
        return list(await self.session.scalars(statement))

    async def by_address(self, address: str) -> list[Patient]:
        """Patients reached at a channel address: ``tel:``/``voice:`` → phone, ``telegram:`` →
        chat id, ``sandbox:X`` → external id X."""
        scheme, _, rest = address.partition(":")
        if scheme in ("tel", "voice"):
            return await self.by_phone(rest)
        if scheme == "telegram":
            return await self.by_telegram_chat(rest)
        if scheme == "sandbox":
            patient = await self.by_external_id(rest)
            return [patient] if patient is not None else []
        return []

    async def upsert(
        self, external_id: str, fields: PatientFields, *, at: datetime
    ) -> tuple[Patient, bool]:
        """Create or update by external id; returns (patient, created).

        An update leaves ``status`` alone (an opted-out patient stays opted out) and keeps a
        linked Telegram chat when ``fields`` has none.
        """
        patient = await self.by_external_id(external_id)
        created = patient is None
        if patient is None:
            patient = Patient(external_id=external_id, created_at=at, status="active")
            self.session.add(patient)
        else:
            patient.updated_at = at
        patient.name = fields.name
        patient.timezone = fields.timezone
        patient.channel = fields.channel
        patient.care_manager_id = fields.care_manager_id
        patient.phone = fields.phone
        if fields.telegram_chat_id is not None or created:
            patient.telegram_chat_id = fields.telegram_chat_id
        patient.language = fields.language
        patient.baseline = dict(fields.baseline)
        patient.window_start = fields.window_start
        patient.window_end = fields.window_end
        await self.session.flush()
        return patient, created

    async def set_status(self, patient_id: int, status: str, *, at: datetime) -> Patient:
        patient = await self.require(patient_id)
        patient.status = status
        patient.updated_at = at
        await self.session.flush()
        return patient

    async def link_telegram(self, patient_id: int, chat_id: str, *, at: datetime) -> Patient:
        patient = await self.require(patient_id)
        patient.telegram_chat_id = chat_id
        if patient.status == "awaiting_link":
            patient.status = "active"
        patient.updated_at = at
        await self.session.flush()
        return patient

    async def list_all(
        self,
        *,
        care_manager_ids: Collection[int] | None = None,
        status: str | Collection[str] | None = None,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Patient]:
        """Patients ordered by name. ``care_manager_ids`` limits to those panels (None: all);
        ``search`` matches name, external id or phone, case-insensitively."""
        statement = self._filtered(care_manager_ids, status, search)
        statement = statement.order_by(func.lower(Patient.name), Patient.id)
        return list(await self.session.scalars(statement.limit(limit).offset(offset)))

    async def count(
        self,
        *,
        care_manager_ids: Collection[int] | None = None,
        status: str | Collection[str] | None = None,
        search: str | None = None,
    ) -> int:
        query = self._filtered(care_manager_ids, status, search).subquery()
        return int(await self.session.scalar(select(func.count()).select_from(query)) or 0)

    @staticmethod
    def _filtered(
        care_manager_ids: Collection[int] | None,
        status: str | Collection[str] | None,
        search: str | None,
    ) -> Select[Patient]:
        statement = select(Patient)
        if care_manager_ids is not None:
            statement = statement.where(Patient.care_manager_id.in_(care_manager_ids))
        if isinstance(status, str):
            statement = statement.where(Patient.status == status)
        elif status is not None:
            statement = statement.where(Patient.status.in_(status))
        if search and search.strip():
            term = search.strip()
            statement = statement.where(
                or_(
                    Patient.name.icontains(term, autoescape=True),
                    Patient.external_id.icontains(term, autoescape=True),
                    Patient.phone.contains(term, autoescape=True),
                )
            )
        return statement


_BY_PHONE = select(Patient).where(Patient.phone == bindparam("phone")).order_by(Patient.id)
"""Every inbound SMS looks its sender up: built once (building costs more than running it)."""
