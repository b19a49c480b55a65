"""Enrollments: a patient in a program with a cadence and the next due time."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from outreach.errors import NotFound
from storage.models import Enrollment
from storage.repositories.base import Repository


class EnrollmentRepository(Repository):
    async def get(self, enrollment_id: int) -> Enrollment | None:
        return await self.session.get(Enrollment, enrollment_id)

    async def get_many(self, enrollment_ids: Collection[int]) -> list[Enrollment]:
        """Enrollments with their patients loaded (for the dispatch tick after a claim)."""
        if not enrollment_ids:
            return []
        statement = (
            select(Enrollment)
            .where(Enrollment.id.in_(enrollment_ids))
            .options(selectinload(Enrollment.patient))
            .order_by(Enrollment.next_due_at, Enrollment.id)
        )
        return list(await self.session.scalars(statement))

    async def for_patient(self, patient_id: int) -> list[Enrollment]:
        statement = (
            select(Enrollment).where(Enrollment.patient_id == patient_id).order_by(Enrollment.id)
        )
        return list(await self.session.scalars(statement))

    async def by_patient_program(self, patient_id: int, program_id: str) -> Enrollment | None:
        statement = select(Enrollment).where(
            Enrollment.patient_id == patient_id, Enrollment.program_id == program_id
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def upsert(
        self,
        patient_id: int,
        program_id: str,
        *,
        cadence_day: str,
        cadence_time: str,
        next_due_at: datetime | None,
        at: datetime,
        anchor_at: datetime | None = None,
    ) -> tuple[Enrollment, bool]:
        """Enrol (or re-cadence) a patient in a program; returns (enrollment, created)."""
        enrollment = await self.by_patient_program(patient_id, program_id)
        created = enrollment is None
        if enrollment is None:
            enrollment = Enrollment(patient_id=patient_id, program_id=program_id, created_at=at)
            self.session.add(enrollment)
        enrollment.cadence_day = cadence_day
        enrollment.cadence_time = cadence_time
        enrollment.next_due_at = next_due_at
        enrollment.anchor_at = anchor_at
        await self.session.flush()
        return enrollment, created

    async def schedule_next(
        self, enrollment_id: int, next_due_at: datetime | None, *, missed: bool | None = None
    ) -> None:
        """Set the next due time and release the claim. ``missed`` True counts a missed
        check-in, False resets the count, None leaves it."""
        enrollment = await self._require(enrollment_id)
        enrollment.next_due_at = next_due_at
        enrollment.claimed_by = None
        enrollment.claimed_until = None
        if missed is True:
            enrollment.consecutive_missed += 1
        elif missed is False:
            enrollment.consecutive_missed = 0
        await self.session.flush()

    async def set_paused(
        self, enrollment_id: int, paused: bool, *, next_due_at: datetime | None = None
    ) -> None:
        """Pause (next_due_at cleared) or resume (next_due_at given)."""
        enrollment = await self._require(enrollment_id)
        enrollment.paused = paused
        enrollment.next_due_at = None if paused else next_due_at
        await self.session.flush()

    async def release(self, enrollment_ids: Collection[int]) -> None:
        """Give up claims without changing anything else (the work will be retried)."""
        if enrollment_ids:
            await self.session.execute(
                update(Enrollment)
                .where(Enrollment.id.in_(enrollment_ids))
                .values(claimed_by=None, claimed_until=None)
                .execution_options(synchronize_session="fetch")
            )

    async def _require(self, enrollment_id: int) -> Enrollment:
        enrollment = await self.get(enrollment_id)
        if enrollment is None:
            raise NotFound(f"enrollment {enrollment_id} not found")
        return enrollment
