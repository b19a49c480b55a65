"""The REST API's request and response bodies (pydantic); they also make the OpenAPI schema.

Strings refuse NUL and other control characters (PostgreSQL cannot store NUL, and nobody's name
has a bell in it), so bad input is a 422, never a database error; the OpenAPI document says so
with a ``pattern``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""No control characters but tab and line breaks (in the OpenAPI document as ``pattern``)."""


ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROL)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)]
Zone = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROL)]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=NO_CONTROL)]
Phone = Annotated[str, StringConstraints(max_length=32, pattern=NO_CONTROL)]
Words = Annotated[str, StringConstraints(max_length=40, pattern=NO_CONTROL)]
Hhmm = Annotated[str, StringConstraints(max_length=5, pattern=NO_CONTROL)]
Note = Annotated[str, StringConstraints(max_length=2000, pattern=NO_CONTROL)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatientIn(_In):
    """A new patient, their enrolment and (optionally) the care team's attestation of consent."""

    external_id: ExternalId
    name: Name
    timezone: Zone
    language: Literal["en", "es"]
    channel: Literal["sms", "voice", "telegram"]
    program: ExternalId
    care_manager: Email = Field(description="The care manager's e-mail")
    phone: Phone = ""
    cadence_day: Words = Field(
        "", description="1-31, 'first tuesday', 'weekly monday', 'every 14 days'"
    )
    cadence_time: Hhmm = Field("", description="HH:MM, the patient's local time")
    baseline_weight: Words = Field("", description="182, 182 lb or 82.5 kg")
    window_start: Hhmm = ""
    window_end: Hhmm = ""
    consent: bool = Field(
        False, description="The patient agreed to check-ins on this channel (recorded as consent)"
    )


class PatientPatch(_In):
    """Fields to change; the others keep their values."""

    name: Name | None = None
    timezone: Zone | None = None
    language: Literal["en", "es"] | None = None
    channel: Literal["sms", "voice", "telegram"] | None = None
    care_manager: Email | None = None
    phone: Phone | None = None
    baseline_weight: Words | None = None
    window_start: Hhmm | None = None
    window_end: Hhmm | None = None
    consent: bool = False


class EnrollmentIn(_In):
    """Move the enrolment to a program and cadence, and pause or resume outreach."""

    program: ExternalId | None = None
    cadence_day: Words | None = None
    cadence_time: Hhmm | None = None
    paused: bool | None = None


class CheckInNowIn(_In):
    restart: bool = Field(False, description="Cancel a check-in in progress first")
    force: bool = Field(False, description="Start even outside 08:00-21:00 patient-local")


class ResolveIn(_In):
    note: Note = ""


class EnrollmentOut(BaseModel):
    program: str
    cadence_day: str
    cadence_time: str
    paused: bool
    next_due_at: datetime | None


class PatientOut(BaseModel):
    external_id: str
    name: str
    phone: str | None
    timezone: str
    language: str
    channel: str
    status: str
    care_manager: str
    baseline: dict[str, Any]
    window_start: str | None
    window_end: str | None
    programs: list[str]
    last_contact: datetime | None
    open_escalations: int


class PatientList(BaseModel):
    items: list[PatientOut]
    total: int


class AnswerOut(BaseModel):
    question_id: str
    raw_text: str
    value: float | str | None
    unit: str | None
    needs_review: bool
    answered_at: datetime


class CheckInOut(BaseModel):
    id: int
    program: str
    status: str
    manual: bool
    scheduled_for: datetime
    started_at: datetime | None
    completed_at: datetime | None
    severity: str
    totals: dict[str, float]
    answers: list[AnswerOut]


class MessageOut(BaseModel):
    id: int
    direction: Literal["in", "out"]
    channel: str
    kind: str
    body: str
    status: str
    error_code: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    flagged: bool


class Finding(BaseModel):
    rule_id: str
    severity: str
    explanation: str
    question_id: str | None = None


class EscalationOut(BaseModel):
    id: int
    patient: str = Field(description="The patient's external id")
    severity: str
    status: Literal["open", "acknowledged", "resolved"]
    reasons: list[Finding]
    patient_words: str | None
    assignee: str | None = Field(description="The assignee's e-mail")
    ladder_level: int
    ack_deadline: datetime | None
    created_at: datetime
    acked_at: datetime | None
    resolved_at: datetime | None
    notes: list[str]


class CheckInStarted(BaseModel):
    status: Literal["started"]
    patient: str


class Error(BaseModel):
    error: str
    detail: list[str] = Field(default_factory=list)
