"""The FHIR vocabulary of the export: identifier systems, code systems and status mappings.

Every mapping from a carebot status to a FHIR code lives here, so that docs/export.md and the
code have one table to agree on. carebot's own value is always kept beside the FHIR code (as a
``meta.tag`` in the ``urn:carebot:*`` systems below), so a consumer never loses the original.
"""

from __future__ import annotations

from typing import Final, Literal

# Identifier and code systems of carebot (URNs: carebot runs no terminology server).
PATIENT_SYSTEM: Final = "urn:carebot:patient"
CHECKIN_SYSTEM: Final = "urn:carebot:checkin"
MESSAGE_SYSTEM: Final = "urn:carebot:message"
ESCALATION_SYSTEM: Final = "urn:carebot:escalation"
FAMILY_CONTACT_SYSTEM: Final = "urn:carebot:family-contact"
CARE_MANAGER_SYSTEM: Final = "urn:carebot:care-manager"
PROVIDER_MESSAGE_SYSTEM: Final = "urn:carebot:provider-message"
PROGRAM_CANONICAL: Final = "urn:carebot:program:"
CHANNEL_SYSTEM: Final = "urn:carebot:channel"
MESSAGE_KIND_SYSTEM: Final = "urn:carebot:message-kind"
MESSAGE_STATUS_SYSTEM: Final = "urn:carebot:message-status"
PROVIDER_ERROR_SYSTEM: Final = "urn:carebot:provider-error"
CHECKIN_STATUS_SYSTEM: Final = "urn:carebot:checkin-status"
CHECKIN_ENDED_BY_SYSTEM: Final = "urn:carebot:checkin-ended-by"
PATIENT_STATUS_SYSTEM: Final = "urn:carebot:patient-status"
SEVERITY_SYSTEM: Final = "urn:carebot:severity"
ESCALATION_STATUS_SYSTEM: Final = "urn:carebot:escalation-status"
RULE_SYSTEM: Final = "urn:carebot:rule"
FINDING_CATEGORY_SYSTEM: Final = "urn:carebot:finding-category"

# Systems and extensions defined by HL7.
LANGUAGE_SYSTEM: Final = "urn:ietf:bcp:47"
UCUM_SYSTEM: Final = "http://unitsofmeasure.org"
PARTICIPATION_MODE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
FLAG_CATEGORY_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/flag-category"
FLAG_PRIORITY_SYSTEM: Final = "http://hl7.org/fhir/flag-priority-code"
FLAG_PRIORITY_EXTENSION: Final = "http://hl7.org/fhir/StructureDefinition/flag-priority"
FLAG_DETAIL_EXTENSION: Final = "http://hl7.org/fhir/StructureDefinition/flag-detail"
TIMEZONE_EXTENSION: Final = "http://hl7.org/fhir/StructureDefinition/timezone"

QuestionnaireResponseStatus = Literal["in-progress", "completed", "stopped", "entered-in-error"]
CommunicationStatus = Literal["in-progress", "completed", "not-done"]
FlagStatus = Literal["active", "inactive"]

CHECKIN_STATUS: Final[dict[str, QuestionnaireResponseStatus]] = {
    "pending": "in-progress",
    "in_progress": "in-progress",
    "completed": "completed",
    "missed": "stopped",
    "cancelled": "stopped",
}
"""carebot check-in status → QuestionnaireResponse.status (see ``questionnaire_status``)."""

NEVER_STARTED: Final = "entered-in-error"
"""A missed or cancelled check-in that never reached the patient (no question was sent)."""

MESSAGE_STATUS: Final[dict[str, CommunicationStatus]] = {
    "queued": "in-progress",
    "accepted": "in-progress",
    "scheduled": "in-progress",
    "sending": "in-progress",
    "sent": "completed",
    "delivered": "completed",
    "received": "completed",
    "undelivered": "not-done",
    "failed": "not-done",
    "expired": "not-done",
    "cancelled": "not-done",
}
"""carebot message status → Communication.status; unknown statuses map to in-progress."""

CHANNEL_MODE: Final[dict[str, tuple[str, str]]] = {
    "sms": ("WRITTEN", "written"),
    "telegram": ("ONLINEWRIT", "online written"),
    "sandbox": ("ONLINEWRIT", "online written"),
    "voice": ("PHONE", "telephone"),
}
"""carebot channel → v3-ParticipationMode (code, display) for Communication.medium."""

SEVERITY_PRIORITY: Final[dict[str, tuple[str, str]]] = {
    "none": ("PN", "No alarm"),
    "routine": ("PL", "Low priority"),
    "urgent": ("PM", "Medium priority"),
    "emergency": ("PH", "High priority"),
}
"""carebot severity → flag-priority code (code, display)."""

ESCALATION_STATUS: Final[dict[str, FlagStatus]] = {
    "open": "active",
    "acknowledged": "active",
    "resolved": "inactive",
}

ADMIN_RULES: Final = frozenset({"patient.opted_out", "patient.unreachable"})
"""Escalations about reachability rather than health: Flag category ``admin``, not ``clinical``."""

UCUM_UNITS: Final[dict[str, tuple[str, str]]] = {
    "lb": ("[lb_av]", "lb"),
    "mg_dl": ("mg/dL", "mg/dL"),
}
"""Stored answer units that are physical quantities → UCUM (code, human unit); answers in them
become ``valueQuantity``. Days, counts and points are plain numbers (``valueDecimal``)."""


def questionnaire_status(status: str, *, started: bool) -> QuestionnaireResponseStatus:
    """The QuestionnaireResponse status of a check-in; ``started``: a question was sent."""
    if status in ("missed", "cancelled") and not started:
        return NEVER_STARTED
    return CHECKIN_STATUS.get(status, "in-progress")


def communication_status(status: str) -> CommunicationStatus:
    return MESSAGE_STATUS.get(status, "in-progress")


def flag_status(status: str) -> FlagStatus:
    return ESCALATION_STATUS.get(status, "active")
