"""Repositories: one class per concept, each over one AsyncSession; they add and flush, never
commit (the entry point owns ``async with db.transaction() as session``).

``Repositories(session)`` bundles them for code that needs several in one transaction.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.api_tokens import ApiTokenRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.checkins import CheckInRepository, Reading
from storage.repositories.consents import ConsentRepository
from storage.repositories.enrollments import EnrollmentRepository
from storage.repositories.escalations import EscalationRepository, Raised
from storage.repositories.family import FamilyContactRepository, FamilyFields
from storage.repositories.inbox import InboxRepository
from storage.repositories.link_codes import LinkCodeRepository
from storage.repositories.managers import ManagerRepository
from storage.repositories.messages import STATUS_RANK, MessageRepository, Queued
from storage.repositories.notifications import NotificationRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.patients import PatientFields, PatientRepository
from storage.repositories.programs import ProgramRepository
from storage.repositories.rota import RotaEntry, RotaRepository
from storage.repositories.scheduler_lock import SchedulerLockRepository


class Repositories:
    """Every repository over one session, created on first use."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @cached_property
    def managers(self) -> ManagerRepository:
        return ManagerRepository(self.session)

    @cached_property
    def patients(self) -> PatientRepository:
        return PatientRepository(self.session)

    @cached_property
    def family(self) -> FamilyContactRepository:
        return FamilyContactRepository(self.session)

    @cached_property
    def consents(self) -> ConsentRepository:
        return ConsentRepository(self.session)

    @cached_property
    def programs(self) -> ProgramRepository:
        return ProgramRepository(self.session)

    @cached_property
    def enrollments(self) -> EnrollmentRepository:
        return EnrollmentRepository(self.session)

    @cached_property
    def checkins(self) -> CheckInRepository:
        return CheckInRepository(self.session)

    @cached_property
    def messages(self) -> MessageRepository:
        return MessageRepository(self.session)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.session)

    @cached_property
    def inbox(self) -> InboxRepository:
        return InboxRepository(self.session)

    @cached_property
    def escalations(self) -> EscalationRepository:
        return EscalationRepository(self.session)

    @cached_property
    def notifications(self) -> NotificationRepository:
        return NotificationRepository(self.session)

    @cached_property
    def rota(self) -> RotaRepository:
        return RotaRepository(self.session)

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.session)

    @cached_property
    def link_codes(self) -> LinkCodeRepository:
        return LinkCodeRepository(self.session)

    @cached_property
    def api_tokens(self) -> ApiTokenRepository:
        return ApiTokenRepository(self.session)

    @cached_property
    def scheduler_lock(self) -> SchedulerLockRepository:
        return SchedulerLockRepository(self.session)


__all__ = [
    "STATUS_RANK",
    "ApiTokenRepository",
    "AuditRepository",
    "CheckInRepository",
    "ConsentRepository",
    "EnrollmentRepository",
    "EscalationRepository",
    "FamilyContactRepository",
    "FamilyFields",
    "InboxRepository",
    "LinkCodeRepository",
    "ManagerRepository",
    "MessageRepository",
    "NotificationRepository",
    "OutboxRepository",
    "PatientFields",
    "PatientRepository",
    "ProgramRepository",
    "Queued",
    "Raised",
    "Reading",
    "Repositories",
    "RotaEntry",
    "RotaRepository",
    "SchedulerLockRepository",
]
