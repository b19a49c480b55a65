"""Turns findings into escalation rows (one open escalation per patient and rule)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from outreach.findings import Finding, Severity, highest
from outreach.schedule import add_business_days
from storage.models import Escalation, Patient
from storage.repositories.escalations import EscalationRepository, Raised


def ack_deadline(settings: Settings, severity: Severity, now: datetime, tz: str) -> datetime:
    """When an unacknowledged escalation of this severity climbs to the next rung."""
    if severity == Severity.EMERGENCY:
        return now + timedelta(minutes=settings.ack_emergency_minutes)
    if severity == Severity.URGENT:
        return now + timedelta(minutes=settings.ack_urgent_minutes)
    return add_business_days(now, settings.ack_routine_business_days, ZoneInfo(tz))


async def raise_escalation(
    session: AsyncSession,
    settings: Settings,
    patient: Patient,
    findings: Sequence[Finding],
    now: datetime,
    *,
    checkin_id: int | None = None,
    patient_words: str | None = None,
) -> Raised | None:
    """Open or update the escalation for these findings.

    Findings of one check-in go to that check-in's open escalation (its severity rises with
    them: PHQ-9 item 9 urgent, then "yes, right now" emergency); otherwise one escalation per
    patient and rule of the most severe finding.
    """
    alerting = [f for f in findings if f.severity > Severity.NONE]
    if not alerting:
        return None
    severity = highest(alerting)
    primary = max(alerting, key=lambda f: f.severity)
    rule_id = primary.rule_id
    if checkin_id is not None:
        existing = await session.scalar(
            select(Escalation.rule_id)
            .where(Escalation.checkin_id == checkin_id, Escalation.status != "resolved")
            .order_by(Escalation.id)
            .limit(1)
        )
        rule_id = existing or rule_id
    return await EscalationRepository(session).raise_or_update(
        patient_id=patient.id,
        rule_id=rule_id,
        severity=severity.label,
        reasons=[f.to_dict() for f in alerting],
        at=now,
        ack_deadline=ack_deadline(settings, severity, now, patient.timezone),
        checkin_id=checkin_id,
        patient_words=patient_words,
        sensitive=any(f.sensitive for f in alerting),
        assignee_id=patient.care_manager_id,
    )
