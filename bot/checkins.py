"""Check-in orchestration: dispatch due enrollments, step conversations, start one by hand."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import channel_of, patient_address
from bot.applied import Applied
from bot.config import Settings
from bot.context import conversation_env, next_checkin_text, rule_context
from bot.effects import CheckInEffects, contact_window
from outreach.conversation import CheckInDue, ConversationState, Input, ReplyTimeout, step
from outreach.conversation.env import Screen, no_screen
from outreach.errors import CheckInInProgress, Conflict, ConsentMissing, PatientNotFound
from outreach.ports import Clock
from outreach.programs.model import Program
from outreach.schedule import (
    LEGAL_WINDOW,
    next_occurrence,
    occurrence_key,
    parse_cadence,
    period_end,
)
from storage.claims import claim_due_checkins, claim_due_enrollments
from storage.engine import Database
from storage.models import CheckIn, Enrollment, Patient
from storage.repositories.checkins import CheckInRepository
from storage.repositories.consents import ConsentRepository
from storage.repositories.enrollments import EnrollmentRepository
from storage.repositories.patients import PatientRepository

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
NOT_CONTACTABLE = ("opted_out", "paused", "discharged")


@dataclass
class TickResult:
    """What a tick did; ``deliver_now`` are outbox ids to hand to the provider at once."""

    processed: int = 0
    deliver_now: list[int] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)

    def add(self, applied: Applied) -> None:
        self.processed += 1
        self.deliver_now.extend(applied.deliver_now)
        self.applied.append(applied)


class CheckIns:
    """Creates check-in occurrences and steps their conversations."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        programs: dict[str, Program],
        *,
        screen: Screen = no_screen,
        worker_id: str = "worker",
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.programs = programs
        self.screen = screen
        self.worker_id = worker_id

    async def dispatch_due(self, limit: int = 500) -> int:
        """Create the occurrences of due enrollments (one per period) and advance them."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            ids = await claim_due_enrollments(session, now, self.worker_id, limit, LEASE)
        if not ids:
            return 0
        async with self.db.transaction() as session:
            enrollments = await EnrollmentRepository(session).get_many(ids)
            patients = {
                p.id: p
                for p in await PatientRepository(session).get_many(
                    [e.patient_id for e in enrollments]
                )
            }
            for enrollment in enrollments:
                await self._dispatch_one(session, enrollment, patients[enrollment.patient_id], now)
        return len(ids)

    async def _dispatch_one(
        self, session: AsyncSession, enrollment: Enrollment, patient: Patient, now: datetime
    ) -> None:
        due = enrollment.next_due_at
        zone = ZoneInfo(patient.timezone)
        cadence = parse_cadence(enrollment.cadence_day, enrollment.cadence_time)
        repo = EnrollmentRepository(session)
        if due is None or enrollment.paused:
            await repo.schedule_next(enrollment.id, None)
            return
        anchor = enrollment.anchor_at
        key = occurrence_key(cadence, due, zone, anchor)
        ends = period_end(cadence, due, zone, anchor)
        following = next_occurrence(cadence, due, zone, anchor)
        status, reason = "pending", None
        if ends <= now:
            # The whole period passed while we were down: recorded as missed, never sent late.
            status, reason = "missed", "not_started"
        elif patient.status in NOT_CONTACTABLE:
            status, reason = "cancelled", patient.status
        window = contact_window(patient, self.settings)
        state = ConversationState.new(enrollment.program_id, patient.language)
        state.status = status
        state.ended_by = reason
        await CheckInRepository(session).create(
            enrollment_id=enrollment.id,
            patient_id=patient.id,
            program_id=enrollment.program_id,
            occurrence_key=key,
            scheduled_for=due,
            period_end=ends,
            at=now,
            status=status,
            state=state.to_json(),
            next_action_at=window.next_open(max(due, now), zone) if status == "pending" else None,
        )
        await repo.schedule_next(enrollment.id, following)

    async def advance_due(self, limit: int = 200) -> TickResult:
        """Start pending check-ins whose time came; send reminders; miss expired ones."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            ids = await claim_due_checkins(session, now, self.worker_id, limit, LEASE)
        result = TickResult()
        for checkin_id in ids:
            try:
                applied = await self._advance_one(checkin_id, now)
            except Exception:
                log.exception("check-in %s could not advance; retried next tick", checkin_id)
                continue
            if applied is not None:
                result.add(applied)
        return result

    async def _advance_one(self, checkin_id: int, now: datetime) -> Applied | None:
        async with self.db.transaction() as session:
            checkin = await CheckInRepository(session).require(checkin_id)
            checkin.claimed_by = None
            checkin.claimed_until = None
            if checkin.status == "pending":
                return await self._start(session, checkin, now, manual=False)
            if checkin.status == "in_progress":
                return await self.step(session, checkin, ReplyTimeout(), now)
            checkin.next_action_at = None
            return None

    async def _start(
        self, session: AsyncSession, checkin: CheckIn, now: datetime, *, manual: bool
    ) -> Applied | None:
        patient = await PatientRepository(session).require(checkin.patient_id)
        reason = await self._cannot_contact(session, patient)
        if not manual and checkin.period_end is not None and checkin.period_end <= now:
            reason = "not_started"
        if reason is None and not manual:
            other = await CheckInRepository(session).in_progress_for(patient.id)
            if other is not None and other.id != checkin.id:
                # Wait for the conversation in progress to end; look again in an hour.
                checkin.next_action_at = now + timedelta(hours=1)
                return None
        if reason is not None:
            state = ConversationState.from_json(checkin.state)
            state.status = "missed" if reason == "not_started" else "cancelled"
            state.ended_by = reason
            checkin.state = state.to_json()
            checkin.status = state.status
            checkin.next_action_at = None
            return None
        return await self.step(session, checkin, CheckInDue(), now, patient=patient)

    async def _cannot_contact(self, session: AsyncSession, patient: Patient) -> str | None:
        if patient.status in NOT_CONTACTABLE:
            return patient.status
        address = patient_address(patient)
        if address is None:
            return "awaiting_link"
        consents = ConsentRepository(session)
        if not await consents.is_granted(channel_of(address), address, patient_id=patient.id):
            return "no_consent"
        return None

    async def step(
        self,
        session: AsyncSession,
        checkin: CheckIn,
        event: Input,
        now: datetime,
        *,
        patient: Patient | None = None,
    ) -> Applied:
        """Run one conversation step for a check-in and apply its events (no commit)."""
        patient = patient or await PatientRepository(session).require(checkin.patient_id)
        program = self.programs[checkin.program_id]
        enrollment = await EnrollmentRepository(session).get(checkin.enrollment_id)
        # Starting a conversation evaluates no rule: spare the history queries.
        needs_history = not isinstance(event, CheckInDue)
        env = conversation_env(
            self.settings,
            program,
            patient,
            rules=await rule_context(session, patient, program, checkin, now)
            if needs_history
            else None,
            next_checkin=next_checkin_text(enrollment, patient, now),
            screen=self.screen,
        )
        state = ConversationState.from_json(checkin.state)
        new_state, events = step(state, event, now, env)
        effects = CheckInEffects(session, self.settings, patient, checkin, enrollment, now)
        return await effects.apply(new_state, events)

    async def start_now(self, external_id: str, *, restart: bool, force: bool) -> Applied:
        """``carebot checkin now``: a manual occurrence, at once (SPEC §4, §14)."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            patient = await PatientRepository(session).by_external_id(external_id)
            if patient is None:
                raise PatientNotFound(f"no patient with external id {external_id!r}")
            reason = await self._cannot_contact(session, patient)
            if reason is not None:
                raise ConsentMissing(f"patient {external_id} cannot be contacted: {reason}")
            await self._clear_in_progress(session, patient, now, restart=restart)
            if not force and not _inside_legal_hours(now, patient.timezone):
                raise Conflict(
                    f"it is outside 08:00-21:00 for patient {external_id} "
                    "(their time zone); use --force to start anyway"
                )
            enrollments = await EnrollmentRepository(session).for_patient(patient.id)
            if not enrollments:
                raise Conflict(f"patient {external_id} is not enrolled in a program")
            enrollment = enrollments[0]
            state = ConversationState.new(enrollment.program_id, patient.language)
            checkin = await CheckInRepository(session).create(
                enrollment_id=enrollment.id,
                patient_id=patient.id,
                program_id=enrollment.program_id,
                occurrence_key=f"manual:{now.isoformat()}",
                scheduled_for=now,
                at=now,
                manual=True,
                state=state.to_json(),
            )
            if checkin is None:
                raise Conflict("a manual check-in was started at this very moment already")
            return await self.step(session, checkin, CheckInDue(), now, patient=patient)

    async def _clear_in_progress(
        self, session: AsyncSession, patient: Patient, now: datetime, *, restart: bool
    ) -> None:
        current = await CheckInRepository(session).in_progress_for(patient.id)
        if current is None:
            return
        if not restart:
            raise CheckInInProgress(
                f"patient {patient.external_id} has check-in {current.id} in progress; "
                "use --restart to cancel it and start a new one"
            )
        state = ConversationState.from_json(current.state)
        state.status = "cancelled"
        state.ended_by = "restarted"
        current.state = state.to_json()
        current.status = "cancelled"
        current.completed_at = now
        current.next_action_at = None


def _inside_legal_hours(now: datetime, tz: str) -> bool:
    local = now.astimezone(ZoneInfo(tz)).time()
    start, end = LEGAL_WINDOW.start, LEGAL_WINDOW.end
    return start <= local < end
