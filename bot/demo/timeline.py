"""The demo's timeline: what happened since the last look, read back from the database.

Each look returns the readable events (patient ids and care-team names, never a phone number
or an address) and what the scripted people must react to: messages that reached a patient and
alerts that reached a care manager.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from outreach.escalation import Rung
from storage.engine import Database
from storage.models import (
    CareManager,
    CheckIn,
    Escalation,
    EscalationEvent,
    FamilyContact,
    Message,
    Notification,
    Patient,
)

TEAM_ZONE = ZoneInfo("America/New_York")
RUNG_NAMES = {
    Rung.ASSIGNEE: "care manager",
    Rung.BACKUP: "backup",
    Rung.ONCALL: "on call",
    Rung.SUPERVISOR: "supervisor",
}
_PATIENT_KINDS = {
    "reminder": "reminder sent",
    "reask": "answer not understood: asked again",
    "emergency": "emergency advice sent at once",
    "crisis": "crisis line advice sent at once",
    "stop_confirm": "opt-out confirmed; no more messages",
    "start_confirm": "opted back in",
    "help": "help text sent",
}
_ENDINGS = {
    "completed": "check-in completed",
    "missed": "check-in missed: no reply in the response window",
    "cancelled": "check-in cancelled",
}


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One line of the timeline; ``subject`` is a patient id, ``level`` a severity or ''."""

    at: datetime
    subject: str
    text: str
    level: str = ""

    def when(self) -> str:
        return self.at.astimezone(TEAM_ZONE).strftime("%a %d %b %H:%M")


@dataclass(frozen=True, slots=True)
class Delivered:
    """A message that reached a patient: what kind, for which check-in."""

    patient_id: int
    kind: str
    checkin_id: int | None


@dataclass(frozen=True, slots=True)
class Alerted:
    """An alert that reached a care manager on ``rung``."""

    escalation_id: int
    manager_id: int
    rung: int
    severity: str


@dataclass
class Look:
    events: list[TimelineEvent] = field(default_factory=list)
    delivered: list[Delivered] = field(default_factory=list)
    alerted: list[Alerted] = field(default_factory=list)


class Timeline:
    """Reads what changed since the previous :meth:`look` (cursors on ids and times)."""

    def __init__(
        self, db: Database, start: datetime, *, conversations: frozenset[str] | None = None
    ) -> None:
        """``conversations``: external ids whose every message is shown (None: all)."""
        self.db = db
        self.start = start
        self.conversations = conversations
        self._since = start
        self._messages: set[int] = set()
        self._checkins: set[int] = set()
        self._event_id = 0
        self._notification_id = 0
        self._patients: dict[int, str] = {}
        self._managers: dict[int, str] = {}

    async def look(self, now: datetime) -> Look:
        look = Look()
        async with self.db.session() as session:
            await self._names(session)
            await self._sent(session, look)
            await self._escalation_events(session, look)
            await self._notifications(session, look)
            await self._endings(session, look)
        look.events.sort(key=lambda e: e.at)
        self._since = now
        return look

    def shows_conversation(self, external_id: str) -> bool:
        return self.conversations is None or external_id in self.conversations

    def patient(self, patient_id: int | None) -> str:
        return self._patients.get(patient_id or 0, "?")

    def manager(self, manager_id: int | None) -> str:
        return self._managers.get(manager_id or 0, "the care team")

    async def _names(self, session: AsyncSession) -> None:
        if not self._patients:
            rows = await session.execute(select(Patient.id, Patient.external_id))
            self._patients = {pid: external for pid, external in rows}
            staff = await session.execute(select(CareManager.id, CareManager.name))
            self._managers = {mid: name for mid, name in staff}

    async def _sent(self, session: AsyncSession, look: Look) -> None:
        rows = await session.scalars(
            select(Message)
            .where(
                Message.direction == "out",
                Message.patient_id.is_not(None),
                Message.family_contact_id.is_(None),
                Message.sent_at >= self._since,
            )
            .order_by(Message.id)
        )
        for message in rows:
            if message.id in self._messages or message.patient_id is None:
                continue
            self._messages.add(message.id)
            at = message.sent_at or message.created_at
            look.delivered.append(Delivered(message.patient_id, message.kind, message.checkin_id))
            subject = self.patient(message.patient_id)
            if message.kind == "question" and message.idempotency_key.endswith(":1"):
                look.events.append(TimelineEvent(at, subject, "check-in started: first question"))
            elif message.kind in _PATIENT_KINDS:
                level = "emergency" if message.kind in ("emergency", "crisis") else ""
                look.events.append(TimelineEvent(at, subject, _PATIENT_KINDS[message.kind], level))
            if self.shows_conversation(subject):
                look.events.append(TimelineEvent(at, subject, f"carebot: {_excerpt(message.body)}"))

    async def _escalation_events(self, session: AsyncSession, look: Look) -> None:
        rows = await session.execute(
            select(EscalationEvent, Escalation)
            .join(Escalation, Escalation.id == EscalationEvent.escalation_id)
            .where(EscalationEvent.id > self._event_id)
            .order_by(EscalationEvent.id)
        )
        for event, escalation in rows:
            self._event_id = max(self._event_id, event.id)
            text = self._describe(event, escalation)
            if text:
                subject = self.patient(escalation.patient_id)
                look.events.append(TimelineEvent(event.at, subject, text, escalation.severity))

    def _describe(self, event: EscalationEvent, escalation: Escalation) -> str:
        label = f"escalation #{escalation.id}"
        if event.kind == "created":
            reasons = [str(r.get("explanation", "")) for r in escalation.reasons]
            reason = reasons[0] if reasons else escalation.rule_id
            return f"{label} opened, {escalation.severity.upper()}: {reason}"
        if event.kind == "laddered":
            rung = RUNG_NAMES.get(Rung(event.rung), str(event.rung))
            return f"{label} not acknowledged in time: climbs to the {rung}"
        if event.kind in ("acknowledged", "resolved"):
            minutes = (event.at - escalation.created_at).total_seconds() / 60
            who = self.manager(event.actor_id)
            return f"{label} {event.kind} by {who} after {_duration(minutes)}"
        return ""

    async def _notifications(self, session: AsyncSession, look: Look) -> None:
        rows = await session.execute(
            select(Notification, Escalation.severity, FamilyContact.relationship_)
            .outerjoin(Escalation, Escalation.id == Notification.escalation_id)
            .outerjoin(FamilyContact, FamilyContact.id == Notification.family_contact_id)
            .where(Notification.id > self._notification_id)
            .order_by(Notification.id)
        )
        for notice, severity, relationship in rows:
            self._notification_id = max(self._notification_id, notice.id)
            subject = self.patient(notice.patient_id)
            if notice.kind in ("alert", "ladder") and notice.care_manager_id is not None:
                look.alerted.append(
                    Alerted(
                        notice.escalation_id or 0, notice.care_manager_id, notice.rung, severity
                    )
                )
                rung = RUNG_NAMES.get(Rung(notice.rung), str(notice.rung))
                who = self.manager(notice.care_manager_id)
                text = f"alert for escalation #{notice.escalation_id} -> {who} ({rung})"
                look.events.append(TimelineEvent(notice.created_at, subject, text, severity or ""))
            elif notice.kind.startswith("family_"):
                scope = notice.kind.removeprefix("family_")
                text = f"family notice ({scope}) -> {relationship or 'family member'}"
                look.events.append(TimelineEvent(notice.created_at, subject, text))

    async def _endings(self, session: AsyncSession, look: Look) -> None:
        rows = await session.scalars(
            select(CheckIn).where(
                CheckIn.status.in_(tuple(_ENDINGS)),
                CheckIn.scheduled_for >= self.start,
                CheckIn.completed_at >= self._since,
            )
        )
        for checkin in rows:
            if checkin.id in self._checkins:
                continue
            self._checkins.add(checkin.id)
            text = _ENDINGS[checkin.status]
            ended_by = (checkin.state or {}).get("ended_by")
            if checkin.status == "completed" and ended_by in ("emergency", "crisis"):
                text = "check-in ended early: the care team takes over"
            elif checkin.status == "cancelled" and ended_by:
                text = f"{text} ({str(ended_by).replace('_', ' ')})"
            at = checkin.completed_at or checkin.updated_at or checkin.created_at
            look.events.append(TimelineEvent(at, self.patient(checkin.patient_id), text))


def _excerpt(body: str, limit: int = 90) -> str:
    text = " ".join(body.split())
    return f'"{text}"' if len(text) <= limit else f'"{text[: limit - 1]}…"'


def _duration(minutes: float) -> str:
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"
