"""Escalations: open or update them, alert the ladder's current rung, notify family, climb.

Alerts and family notices are queued in the same transaction as the escalation, so an
escalation is never committed without its alert (nothing is lost).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import channel_of
from bot.applied import Applied
from bot.config import Settings
from outreach.escalation import (
    AlertContent,
    Rung,
    alert_text,
    family_kind,
    family_text,
    next_rung,
)
from outreach.findings import Finding, Severity, highest
from outreach.schedule import add_business_days, parse_window
from outreach.schedule.localtime import parse_hhmm
from outreach.schedule.rota import RotaEntry, on_duty, parse_days
from outreach.schedule.rota import Rung as RungName
from storage.models import CareManager, Escalation, FamilyContact, OncallRota, Patient
from storage.repositories.consents import ConsentRepository
from storage.repositories.escalations import EscalationRepository, Raised
from storage.repositories.managers import ManagerRepository
from storage.repositories.messages import MessageRepository
from storage.repositories.notifications import NotificationRepository
from storage.repositories.rota import RotaRepository

log = logging.getLogger(__name__)


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
    applied: Applied | None = None,
) -> Raised | None:
    """Open or update the escalation for these findings, and alert when it is new or worse.

    Findings of one check-in go to that check-in's open escalation (its severity rises with
    them: PHQ-9 item 9 urgent, then "yes, right now" emergency); otherwise one escalation per
    patient and rule of the most severe finding.
    """
    alerting = [f for f in findings if f.severity > Severity.NONE]
    if not alerting:
        return None
    severity = highest(alerting)
    rule_id = max(alerting, key=lambda f: f.severity).rule_id
    if checkin_id is not None:
        existing = await session.scalar(
            select(Escalation.rule_id)
            .where(Escalation.checkin_id == checkin_id, Escalation.status != "resolved")
            .order_by(Escalation.id)
            .limit(1)
        )
        rule_id = existing or rule_id
    raised = await EscalationRepository(session).raise_or_update(
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
    if applied is not None:
        applied.escalations.append(raised)
        if raised.created or raised.severity_raised:
            ladder = Ladder(session, settings, now)
            await ladder.alert(raised.escalation, patient, Rung.ASSIGNEE, applied)
            await notify_family(session, settings, raised.escalation, patient, now, applied)
    return raised


class Ladder:
    """Who stands on each rung of an escalation's ladder, and the alerts sent to them."""

    def __init__(self, session: AsyncSession, settings: Settings, now: datetime) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        self._rota: list[RotaEntry] | None = None

    async def recipients(self, escalation: Escalation, rung: int) -> list[CareManager]:
        managers = ManagerRepository(self.session)
        assignee = await managers.get(escalation.assignee_id) if escalation.assignee_id else None
        if rung == Rung.ASSIGNEE:
            found = [assignee] if assignee else []
        elif rung == Rung.BACKUP:
            backup = (
                await managers.get(assignee.backup_id) if assignee and assignee.backup_id else None
            )
            found = [backup] if backup else []
        elif rung == Rung.ONCALL:
            found = await self._on_duty("oncall")
        else:
            found = await self._on_duty("supervisor") or await self._supervisors()
        return [m for m in found if m is not None and m.active and (m.phone or m.telegram_chat_id)]

    async def _on_duty(self, rung: RungName) -> list[CareManager]:
        if self._rota is None:
            rows = await RotaRepository(self.session).list_all()
            self._rota = [_rota_entry(r) for r in rows]
        ids = [int(key) for key in on_duty(self._rota, self.now, rung)]
        managers = ManagerRepository(self.session)
        return [m for m in [await managers.get(i) for i in ids] if m is not None]

    async def _supervisors(self) -> list[CareManager]:
        rows = await self.session.scalars(
            select(CareManager)
            .where(CareManager.role == "supervisor", CareManager.active.is_(True))
            .order_by(CareManager.id)
        )
        return list(rows)

    async def staffed(self, escalation: Escalation) -> dict[int, bool]:
        return {rung: bool(await self.recipients(escalation, rung)) for rung in Rung}

    async def alert(
        self, escalation: Escalation, patient: Patient, rung: int, applied: Applied
    ) -> int:
        """Queue the alert to everyone on ``rung``; returns how many were alerted."""
        people = await self.recipients(escalation, rung)
        if not people:
            log.warning("escalation %s: rung %s has nobody to alert", escalation.id, rung)
            return 0
        notices = NotificationRepository(self.session)
        round_number = len(await notices.for_escalation(escalation.id))
        severity = Severity.parse(escalation.severity)
        content = AlertContent(
            escalation_id=escalation.id,
            severity=severity,
            patient_name=patient.name,
            external_id=patient.external_id,
            reasons=[str(r.get("explanation", "")) for r in escalation.reasons],
            patient_words=escalation.patient_words,
            rung=rung,
        )
        for manager in people:
            for address in _manager_addresses(manager, severity):
                channel = channel_of(address)
                queued = await MessageRepository(self.session).queue_outbound(
                    channel=channel,
                    address=address,
                    body=alert_text(content, detail=self.settings.alert_detail, channel=channel),
                    idempotency_key=(
                        f"esc:{escalation.id}:{escalation.severity}:n{round_number}:"
                        f"m{manager.id}:{channel}"
                    ),
                    at=self.now,
                    kind="alert",
                    care_manager_id=manager.id,
                    buttons=_buttons(escalation.id) if channel == "telegram" else (),
                )
                if queued is None:
                    continue
                applied.deliver_now.append(queued.outbox.id)
                await notices.record(
                    "alert" if rung == Rung.ASSIGNEE else "ladder",
                    self.now,
                    escalation_id=escalation.id,
                    patient_id=patient.id,
                    care_manager_id=manager.id,
                    rung=rung,
                    message_id=queued.message.id,
                )
        await EscalationRepository(self.session).add_event(
            escalation.id,
            "alerted",
            self.now,
            rung=rung,
            detail={"managers": [m.id for m in people]},
        )
        return len(people)

    async def climb(self, escalation: Escalation, patient: Patient, applied: Applied) -> int:
        """Past the deadline and still open: alert the next staffed rung (the last repeats)."""
        staffed = await self.staffed(escalation)
        rung = next_rung(escalation.ladder_level, lambda r: staffed.get(r, False))
        severity = Severity.parse(escalation.severity)
        deadline = ack_deadline(self.settings, severity, self.now, patient.timezone)
        climbed = await EscalationRepository(self.session).climb(
            escalation.id, level=rung, ack_deadline=deadline, at=self.now
        )
        if not climbed:
            # Acknowledged or resolved since it was claimed: nobody else is paged.
            return escalation.ladder_level
        await self.alert(escalation, patient, rung, applied)
        return rung


def _rota_entry(row: OncallRota) -> RotaEntry:
    """A stored rota line keyed by manager id (``email`` carries the id here)."""
    days = parse_days(row.days)
    return RotaEntry(
        email=str(row.care_manager_id),
        days=None if isinstance(days, date) else days,
        date=days if isinstance(days, date) else None,
        start=parse_hhmm(row.start, "start"),
        end=parse_hhmm(row.end, "end"),
        tz=ZoneInfo(row.timezone),
        rung="supervisor" if row.rung == "supervisor" else "oncall",
    )


def _manager_addresses(manager: CareManager, severity: Severity) -> list[str]:
    """Telegram once linked; SMS when not linked, and always for emergencies (SPEC §14)."""
    addresses: list[str] = []
    if manager.telegram_chat_id:
        addresses.append(f"telegram:{manager.telegram_chat_id}")
    if manager.phone and (not manager.telegram_chat_id or severity == Severity.EMERGENCY):
        addresses.append(f"tel:{manager.phone}")
    return addresses


def _buttons(escalation_id: int) -> tuple[tuple[str, str], ...]:
    return (("Acknowledge", f"ack:{escalation_id}"), ("Resolve", f"resolve:{escalation_id}"))


async def notify_family(
    session: AsyncSession,
    settings: Settings,
    escalation: Escalation,
    patient: Patient,
    now: datetime,
    applied: Applied,
) -> int:
    """Minimum-necessary notices to consenting family (SPEC §8); none for a sensitive one."""
    severity = Severity.parse(escalation.severity)
    kind = family_kind(escalation.rule_id, severity)
    if kind is None or escalation.sensitive:
        return 0
    contacts = await session.scalars(
        select(FamilyContact)
        .where(FamilyContact.patient_id == patient.id)
        .order_by(FamilyContact.id)
    )
    sent = 0
    for contact in contacts:
        if kind not in (contact.notify_on or []):
            continue
        channel = channel_of(contact.address)
        if not await ConsentRepository(session).is_granted(
            channel, contact.address, family_contact_id=contact.id
        ):
            continue
        when = now
        if severity < Severity.EMERGENCY:
            window = parse_window(
                f"{contact.window_start}-{contact.window_end}"
                if contact.window_start and contact.window_end
                else settings.contact_window
            )
            when = window.next_open(now, ZoneInfo(contact.timezone or patient.timezone))
        queued = await MessageRepository(session).queue_outbound(
            channel=channel,
            address=contact.address,
            body=family_text(
                kind,
                contact.language,
                patient_name=patient.name,
                team=settings.care_team_name,
                phone=settings.care_team_phone,
            ),
            idempotency_key=f"fam:{escalation.id}:{escalation.severity}:f{contact.id}",
            at=now,
            kind="family",
            next_attempt_at=when,
            patient_id=patient.id,
            family_contact_id=contact.id,
            language=contact.language,
        )
        if queued is None:
            continue
        if when <= now:
            applied.deliver_now.append(queued.outbox.id)
        await NotificationRepository(session).record(
            f"family_{kind}",
            now,
            escalation_id=escalation.id,
            patient_id=patient.id,
            family_contact_id=contact.id,
            message_id=queued.message.id,
        )
        sent += 1
    return sent
