"""Conversation state, stored as JSON on the check-in row."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from outreach.programs.model import AnswerValue


@dataclass(slots=True)
class ConversationState:
    """Where a check-in conversation stands.

    status: pending, in_progress, completed, missed, cancelled. ``seq`` counts messages sent
    (the idempotency key of the next one is ``seq + 1``). ``reported`` holds the rule ids
    already escalated, so no finding is raised twice in one check-in.
    """

    program_id: str
    language: str
    status: str = "pending"
    current: str | None = None
    asked: list[str] = field(default_factory=list)
    answers: dict[str, AnswerValue] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)
    review: list[str] = field(default_factory=list)
    reasks: int = 0
    seq: int = 0
    reported: list[str] = field(default_factory=list)
    severity: int = 0
    """The highest severity escalated in this check-in (outreach.findings.Severity)."""
    pending_findings: list[dict[str, Any]] = field(default_factory=list)
    started_at: str | None = None
    deadline: str | None = None
    last_question_at: str | None = None
    reminders: list[str] = field(default_factory=list)
    reminders_sent: int = 0
    ended_by: str | None = None

    @property
    def open(self) -> bool:
        return self.status in ("pending", "in_progress")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConversationState:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def new(cls, program_id: str, language: str) -> ConversationState:
        return cls(program_id=program_id, language=language)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
