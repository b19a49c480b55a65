"""Events a conversation step emits; the host applies them in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from outreach.findings import Finding, Severity
from outreach.programs.model import AnswerValue


@dataclass(frozen=True, slots=True)
class MessageQueued:
    """A message to the patient. ``seq`` is unique within the check-in (idempotency key).

    ``scheduled`` messages (first question, reminders) respect the contact window; replies to
    the patient's own message go at once.
    """

    kind: str
    body: str
    seq: int
    scheduled: bool = False


@dataclass(frozen=True, slots=True)
class AnswerRecorded:
    question_id: str
    value: AnswerValue | None
    raw: str
    unit: str | None = None
    needs_review: bool = False


@dataclass(frozen=True, slots=True)
class FindingDetected:
    finding: Finding


@dataclass(frozen=True, slots=True)
class EscalationRaised:
    """Findings the care team must see; ``patient_words`` quotes the message that raised them."""

    findings: tuple[Finding, ...]
    severity: Severity
    patient_words: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentChanged:
    """``provider_answers``: the opt-out was a bare keyword that Twilio's own opt-out
    handling answers when it manages STOP (TWILIO_OPT_OUT_MANAGED)."""

    granted: bool
    source: str = "keyword"
    provider_answers: bool = False


@dataclass(frozen=True, slots=True)
class CheckInStarted:
    at: datetime


@dataclass(frozen=True, slots=True)
class CheckInCompleted:
    severity: Severity
    ended_by: str = "answers"


@dataclass(frozen=True, slots=True)
class CheckInMissed:
    answered: int


@dataclass(frozen=True, slots=True)
class CheckInCancelled:
    reason: str


@dataclass(frozen=True, slots=True)
class WakeAt:
    """When the host must call the step again with ReplyTimeout (None: nothing is due)."""

    at: datetime | None


Event = (
    MessageQueued
    | AnswerRecorded
    | FindingDetected
    | EscalationRaised
    | ConsentChanged
    | CheckInStarted
    | CheckInCompleted
    | CheckInMissed
    | CheckInCancelled
    | WakeAt
)
