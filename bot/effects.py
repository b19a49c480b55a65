"""Applies a conversation step's events to the database, inside the caller's transaction.

Writes happen here; sending happens after the commit (the returned outbox ids), so that a
failed transaction sends nothing.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import channel_of, patient_address
from bot.applied import Applied
from bot.config import Settings
from bot.escalations import raise_escalation
from outreach.conversation import ConversationState
from outreach.conversation.events import (
    AnswerRecorded,
    CheckInCancelled,
    CheckInCompleted,
    CheckInMissed,
    CheckInStarted,
    ConsentChanged,
    EscalationRaised,
    Event,
    MessageQueued,
    WakeAt,
)
from outreach.findings import Finding, Severity
from outreach.programs.model import AnswerValue
from outreach.schedule import ContactWindow, parse_window
from storage.models import CheckIn, Enrollment, Patient
from storage.repositories.checkins import CheckInRepository
from storage.repositories.consents import ConsentRepository
from storage.repositories.messages import MessageRepository, Outbound
from storage.repositories.outbox import OutboxRepository
from storage.repositories.patients import PatientRepository

UNREACHABLE_AFTER = 2


def contact_window(patient: Patient, settings: Settings) -> ContactWindow:
    if patient.window_start and patient.window_end:
        return _window(f"{patient.window_start}-{patient.window_end}")
    return _window(settings.contact_window)


_window = functools.lru_cache(maxsize=256)(parse_window)


class QueueLater:
    """Messages that a batch of steps queued, written together when the batch ends.

    A tick that steps many check-ins in one transaction hands this to each
    :class:`CheckInEffects`; :meth:`flush` then inserts every message and outbox row in two
    statements and gives each step's Applied the ids to deliver at once.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._pending: list[tuple[Outbound, Applied, bool]] = []

    def add(self, message: Outbound, applied: Applied, *, deliver_now: bool) -> None:
        self._pending.append((message, applied, deliver_now))

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        ids = await MessageRepository(self.session).queue_outbound_many([p[0] for p in pending])
        for (_, applied, deliver_now), outbox_id in zip(pending, ids, strict=True):
            if outbox_id is not None and deliver_now:
                applied.deliver_now.append(outbox_id)


def message_key(checkin_id: int, seq: int) -> str:
    """The idempotency key of a check-in's message: one per (occurrence, step)."""
    return f"checkin:{checkin_id}:{seq}"


class CheckInEffects:
    """Applies events of one check-in's step."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        patient: Patient,
        checkin: CheckIn,
        enrollment: Enrollment | None,
        now: datetime,
        *,
        queue_later: QueueLater | None = None,
    ) -> None:
        self.session = session
        self.queue_later = queue_later
        self.settings = settings
        self.patient = patient
        self.checkin = checkin
        self.enrollment = enrollment
        self.now = now
        self.applied = Applied(checkin_id=checkin.id)
        self._provider_answers = False

    async def apply(self, state: ConversationState, events: list[Event]) -> Applied:
        for event in events:
            await self._apply(event)
        self.checkin.state = state.to_json()
        self.checkin.updated_at = self.now
        if self.queue_later is None:
            await self.session.flush()
        # else: a batch; its messages and check-ins are written together when it ends.
        return self.applied

    async def _apply(self, event: Event) -> None:
        match event:
            case MessageQueued():
                await self._queue(event)
            case AnswerRecorded():
                await self._record(event)
            case EscalationRaised(findings=findings, patient_words=words):
                await self._escalate(list(findings), words)
            case ConsentChanged(granted=granted, source=source):
                self._provider_answers = event.provider_answers
                await self._consent(granted, source)
            case CheckInStarted(at=at):
                self.checkin.status = "in_progress"
                self.checkin.started_at = at
            case CheckInCompleted(severity=severity):
                self.checkin.status = "completed"
                self.checkin.completed_at = self.now
                self.checkin.severity = severity.label
                if self.enrollment is not None:
                    self.enrollment.consecutive_missed = 0
            case CheckInMissed():
                self.checkin.status = "missed"
                self.checkin.completed_at = self.now
                await self._count_miss()
            case CheckInCancelled():
                self.checkin.status = "cancelled"
                self.checkin.completed_at = self.now
            case WakeAt(at=at):
                self.checkin.next_action_at = at

    async def _queue(self, event: MessageQueued) -> None:
        address = patient_address(self.patient)
        if address is None:
            return
        channel = channel_of(address)
        if (
            event.kind == "stop_confirm"
            and channel == "sms"
            and self.settings.twilio_opt_out_managed
        ):
            return  # Twilio Advanced Opt-Out answers STOP itself
        when = self.now
        # A manual check-in's first question goes at once (SPEC §4); its reminders do not.
        opening_by_hand = self.checkin.manual and event.seq == 1
        if event.scheduled and not opening_by_hand:
            window = contact_window(self.patient, self.settings)
            when = window.next_open(self.now, ZoneInfo(self.patient.timezone))
        message = Outbound(
            channel=channel,
            address=address,
            body=event.body,
            idempotency_key=message_key(self.checkin.id, event.seq),
            at=self.now,
            kind=event.kind,
            next_attempt_at=when,
            expires_at=when + timedelta(hours=self.settings.message_ttl_hours),
            patient_id=self.patient.id,
            checkin_id=self.checkin.id,
            language=self.patient.language,
        )
        if self.queue_later is not None:
            self.queue_later.add(message, self.applied, deliver_now=when <= self.now)
            return
        queued = await MessageRepository(self.session).queue_outbound(**_fields(message))
        if queued is not None and when <= self.now:
            self.applied.deliver_now.append(queued.outbox.id)

    async def _record(self, event: AnswerRecorded) -> None:
        value_num, value_text = stored_value(event.value)
        await CheckInRepository(self.session).record_answer(
            self.checkin.id,
            self.patient.id,
            event.question_id,
            raw_text=event.raw,
            at=self.now,
            value_num=value_num,
            value_text=value_text,
            unit=event.unit,
            needs_review=event.needs_review,
        )

    async def _escalate(self, findings: list[Finding], words: str | None) -> None:
        await raise_escalation(
            self.session,
            self.settings,
            self.patient,
            findings,
            self.now,
            checkin_id=self.checkin.id,
            patient_words=words,
            applied=self.applied,
        )

    async def _consent(self, granted: bool, source: str) -> None:
        address = patient_address(self.patient)
        if address is None:
            return
        channel = channel_of(address)
        consents = ConsentRepository(self.session)
        if granted:
            await consents.record(
                channel=channel,
                address=address,
                granted=True,
                source=source,
                at=self.now,
                patient_id=self.patient.id,
                language=self.patient.language,
            )
            self.patient.status = "active"
            return
        await revoke_and_cancel(self.session, address, source, self.now)
        self.applied.revoked_addresses.append(address)

    async def _count_miss(self) -> None:
        if self.enrollment is None:
            return
        self.enrollment.consecutive_missed += 1
        if self.enrollment.consecutive_missed >= UNREACHABLE_AFTER:
            finding = Finding(
                rule_id="patient.unreachable",
                severity=Severity.ROUTINE,
                explanation=(
                    f"{self.enrollment.consecutive_missed} check-ins in a row went unanswered."
                ),
                category="unreachable",
            )
            await raise_escalation(
                self.session,
                self.settings,
                self.patient,
                [finding],
                self.now,
                applied=self.applied,
            )


def _fields(message: Outbound) -> dict[str, Any]:
    return {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}


def stored_value(value: AnswerValue | None) -> tuple[float | None, str | None]:
    """An answer as (value_num, value_text): yes/no keep both 1/0 and "yes"/"no"."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return (1.0 if value else 0.0), ("yes" if value else "no")
    if isinstance(value, int | float):
        return float(value), None
    return None, value


async def revoke_and_cancel(
    session: AsyncSession, address: str, source: str, now: datetime
) -> list[Patient]:
    """Revoke the channel at ``address`` for everyone on it, drop what is queued for it and
    end the open check-ins of its patients (a STOP from a shared phone, a provider opt-out)."""
    await OutboxRepository(session).cancel_pending_for(address, now)
    await ConsentRepository(session).revoke_address(channel_of(address), address, source, now)
    patients = await PatientRepository(session).by_address(address)
    for patient in patients:
        patient.status = "opted_out"
        for checkin in await CheckInRepository(session).open_for(patient.id):
            state = ConversationState.from_json(checkin.state)
            state.status = "cancelled"
            state.current = None
            state.ended_by = "opted_out"
            checkin.state = state.to_json()
            checkin.status = "cancelled"
            checkin.completed_at = now
            checkin.next_action_at = None
    return patients
