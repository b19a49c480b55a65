"""All tables of carebot (SPEC §3); importing this package registers them on Base.metadata."""

from storage.models.base import Base
from storage.models.checkins import Answer, CheckIn, Enrollment, ProgramRow
from storage.models.contact import (
    Message,
    Notification,
    OutboxItem,
    ProcessedWebhook,
    SchedulerLock,
)
from storage.models.escalations import Escalation, EscalationEvent
from storage.models.people import (
    ApiToken,
    AuditLog,
    CareManager,
    Consent,
    FamilyContact,
    LinkCode,
    OncallRota,
    Patient,
)

__all__ = [
    "Answer",
    "ApiToken",
    "AuditLog",
    "Base",
    "CareManager",
    "CheckIn",
    "Consent",
    "Enrollment",
    "Escalation",
    "EscalationEvent",
    "FamilyContact",
    "LinkCode",
    "Message",
    "Notification",
    "OncallRota",
    "OutboxItem",
    "Patient",
    "ProcessedWebhook",
    "ProgramRow",
    "SchedulerLock",
]
