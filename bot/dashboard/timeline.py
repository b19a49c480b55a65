"""A patient's timeline: messages in and out with delivery status, answers, check-ins,
escalations (findings, acknowledgement, resolution) and notifications, newest first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CheckIn, Escalation, FamilyContact, Patient
from storage.repositories.messages import MessageRepository
from storage.repositories.notifications import NotificationRepository

RUNG_NAMES = {0: "assignee", 1: "backup", 2: "on-call", 3: "supervisor"}


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline; ``kind``: in, out, answer, checkin, escalation, notification."""

    at: datetime
    kind: str
    title: str
    body: str = ""
    status: str = ""
    flagged: bool = False


async def timeline(
    session: AsyncSession,
    patient: Patient,
    checkins: Sequence[CheckIn],
    escalations: Sequence[Escalation],
    managers: Mapping[int, str],
    family: Sequence[FamilyContact],
    *,
    limit: int = 300,
) -> list[Entry]:
    entries: list[Entry] = []
    for message in await MessageRepository(session).timeline(patient.id, limit=limit):
        incoming = message.direction == "in"
        who = "Family" if message.family_contact_id else "Patient"
        title = (
            f"{who} → care team ({message.channel})"
            if incoming
            else f"carebot → {who.lower()} ({message.channel}, {message.kind or 'message'})"
        )
        status = message.status + (f" (error {message.error_code})" if message.error_code else "")
        entries.append(
            Entry(
                message.created_at,
                "in" if incoming else "out",
                title,
                message.body,
                status,
                message.flagged,
            )
        )
    for checkin in checkins:
        entries += _checkin_entries(checkin)
    for escalation in escalations:
        entries += _escalation_entries(escalation, managers)
    names = {contact.id: contact.name for contact in family}
    for notice in await NotificationRepository(session).for_patient(patient.id, limit=limit):
        if notice.care_manager_id is not None:
            who = managers.get(notice.care_manager_id, f"manager {notice.care_manager_id}")
            title = f"Alert to {who} ({RUNG_NAMES.get(notice.rung, notice.rung)})"
        elif notice.family_contact_id is not None:
            title = f"Family notice to {names.get(notice.family_contact_id, 'family contact')}"
        else:
            title = f"Notification ({notice.kind})"
        body = f"escalation #{notice.escalation_id}" if notice.escalation_id else notice.kind
        entries.append(Entry(notice.created_at, "notification", title, body, notice.kind))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def _checkin_entries(checkin: CheckIn) -> list[Entry]:
    manual = " (sent by hand)" if checkin.manual else ""
    at = checkin.started_at or checkin.scheduled_for
    entries = [Entry(at, "checkin", f"Check-in {checkin.program_id}{manual}", "", checkin.status)]
    for answer in checkin.answers:
        value = answer.value_text if answer.value_num is None else f"{answer.value_num:g}"
        unit = f" {answer.unit}" if answer.unit and answer.value_num is not None else ""
        said = answer.raw_text if answer.raw_text.strip() != (value or "") else ""
        entries.append(
            Entry(
                answer.answered_at,
                "answer",
                f"Answer: {answer.question_id} = {value or '—'}{unit}",
                said,
                "needs review" if answer.needs_review else "",
                answer.needs_review,
            )
        )
    return entries


def _escalation_entries(escalation: Escalation, managers: Mapping[int, str]) -> list[Entry]:
    reasons = "; ".join(str(r.get("explanation", "")) for r in escalation.reasons)
    words = f' — "{escalation.patient_words}"' if escalation.patient_words else ""
    entries = [
        Entry(
            escalation.created_at,
            "escalation",
            f"Escalation #{escalation.id}: {escalation.severity}",
            reasons + words,
            escalation.status,
        )
    ]
    if escalation.acked_at is not None:
        who = managers.get(escalation.acked_by_id or 0, "someone")
        entries.append(
            Entry(escalation.acked_at, "escalation", f"#{escalation.id} acknowledged by {who}")
        )
    if escalation.resolved_at is not None:
        who = managers.get(escalation.resolved_by_id or 0, "someone")
        notes = "; ".join(str(n.get("text", "")) for n in escalation.notes)
        entries.append(
            Entry(
                escalation.resolved_at, "escalation", f"#{escalation.id} resolved by {who}", notes
            )
        )
    return entries
