"""Check-in orchestration: dispatch due enrollments, step conversations, start one by hand."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import channel_of, patient_address
from bot.applied import Applied
from bot.config import Settings
from bot.context import conversation_env, next_checkin_text, rule_context
from bot.effects import CheckInEffects, QueueLater, contact_window
from outreach.conversation import CheckInDue, ConversationState, Input, ReplyTimeout, step
from outreach.conversation.env import Screen, no_screen
from outreach.errors import CheckInInProgress, Conflict, ConsentMissing, PatientNotFound
from outreach.ports import Clock
from outreach.programs.model import Program
from outreach.schedule import (
    LEGAL_WINDOW,
    ContactWindow,
    next_occurrence,
    occurrence_key,
    parse_cadence,
    period_end,
)
from outreach.schedule.localtime import require_aware
from storage.claims import claim_due_checkins, claim_due_enrollments, release_enrollments
from storage.engine import Database
from storage.errors import DatabaseUnavailable
from storage.models import CheckIn, Consent, Enrollment, Patient
from storage.repositories.checkins import CheckInRepository
from storage.repositories.consents import ConsentRepository
from storage.repositories.enrollments import EnrollmentRepository
from storage.repositories.patients import PatientRepository

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
NOT_CONTACTABLE = ("opted_out", "paused", "discharged")


@dataclass
class TickResult:
    """What a tick did; ``deliver_now`` are outbox ids to hand to the provider at once.

    ``applied`` holds one Applied for the whole batch (the steps' merged), so that the
    caller's ``after_commit`` hands every message the batch queued to the provider together,
    sent concurrently, instead of one check-in after the other.
    """

    processed: int = 0
    deliver_now: list[int] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)

    def add(self, applied: Applied) -> None:
        self.processed += 1
        self.deliver_now.extend(applied.deliver_now)
        if not self.applied:
            self.applied.append(Applied())
        self.applied[0].merge(applied)


@dataclass
class _Loaded:
    """What a batch loaded up front for starting its check-ins (no query per check-in), by
    patient id; ``in_progress`` follows the check-ins the batch starts."""

    patients: dict[int, Patient]
    cannot_contact: dict[int, str | None]
    in_progress: dict[int, CheckIn]


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
        """Create the occurrences of due enrollments (one per period) and advance them.

        A claimed batch is written in one transaction (one INSERT of the occurrences, one
        UPDATE of the enrollments); should that fail, each enrollment is tried in its own
        transaction, so that one bad row does not hold up the others.
        """
        now = self.clock.now()
        async with self.db.transaction() as session:
            ids = await claim_due_enrollments(session, now, self.worker_id, limit, LEASE)
        if not ids:
            return 0
        try:
            async with self.db.transaction() as session:
                await self._dispatch_batch(session, ids, now)
        except DatabaseUnavailable:
            raise
        except Exception:
            log.warning("dispatch of %d enrollments failed; one at a time", len(ids), exc_info=True)
            for enrollment_id in ids:
                try:
                    async with self.db.transaction() as session:
                        await self._dispatch_batch(session, [enrollment_id], now)
                except DatabaseUnavailable:
                    raise
                except Exception:
                    log.exception("enrollment %s not dispatched; retried later", enrollment_id)
        return len(ids)

    async def _dispatch_batch(self, session: AsyncSession, ids: list[int], now: datetime) -> None:
        occurrences: list[dict[str, Any]] = []
        following: dict[int, datetime | None] = {}
        schedules: dict[tuple[Any, ...], _Schedule] = {}
        for enrollment in await EnrollmentRepository(session).get_many(ids):
            occurrence, following[enrollment.id] = self._occurrence(
                enrollment, enrollment.patient, now, schedules
            )
            if occurrence is not None:
                occurrences.append(occurrence)
        await CheckInRepository(session).create_many(occurrences)
        await release_enrollments(session, following)

    def _occurrence(
        self,
        enrollment: Enrollment,
        patient: Patient,
        now: datetime,
        schedules: dict[tuple[Any, ...], _Schedule] | None = None,
    ) -> tuple[dict[str, Any] | None, datetime | None]:
        """The occurrence that fell due (None for none) and the enrollment's next due time."""
        due = enrollment.next_due_at
        if due is None or enrollment.paused:
            return None, None
        plan = _schedule(
            enrollment,
            patient.timezone,
            due,
            now,
            contact_window(patient, self.settings),
            {} if schedules is None else schedules,
        )
        status, reason = "pending", None
        if plan.ends <= now:
            # The whole period passed while we were down: recorded as missed, never sent late.
            status, reason = "missed", "not_started"
        elif patient.status in NOT_CONTACTABLE:
            status, reason = "cancelled", patient.status
        occurrence = {
            "enrollment_id": enrollment.id,
            "patient_id": patient.id,
            "program_id": enrollment.program_id,
            "occurrence_key": plan.key,
            "scheduled_for": due,
            "period_end": plan.ends,
            "at": now,
            "status": status,
            "state": _new_state(enrollment.program_id, patient.language, status, reason),
            "next_action_at": plan.opens if status == "pending" else None,
        }
        return occurrence, plan.following

    async def advance_due(self, limit: int = 200) -> TickResult:
        """Start pending check-ins whose time came; send reminders; miss expired ones.

        A claimed batch is stepped in one transaction (what it loads and the messages it queues
        are read and written together); should that fail, each check-in is stepped in its own
        transaction, so that one failure does not sink the others.
        """
        now = self.clock.now()
        async with self.db.transaction() as session:
            ids = await claim_due_checkins(session, now, self.worker_id, limit, LEASE)
        if not ids:
            return TickResult()
        try:
            async with self.db.transaction() as session:
                return await self._advance_batch(session, ids, now)
        except DatabaseUnavailable:
            raise
        except Exception:
            log.warning("advancing %d check-ins failed; one at a time", len(ids), exc_info=True)
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

    async def _advance_batch(
        self, session: AsyncSession, ids: list[int], now: datetime
    ) -> TickResult:
        repo = CheckInRepository(session)
        checkins = await repo.get_many(ids, lock=True)
        loaded = await self._load(session, {c.patient_id for c in checkins})
        # Held here, so that they stay in the session's identity map (it holds its objects
        # weakly): step() then finds each enrollment without a query.
        enrollments = await EnrollmentRepository(session).get_many(
            {c.enrollment_id for c in checkins}
        )
        later = QueueLater(session)
        stepped: list[Applied] = []
        for checkin in checkins:
            checkin.claimed_by = None
            checkin.claimed_until = None
            applied = await self._advance(session, checkin, now, loaded, later)
            if applied is not None:
                stepped.append(applied)
            if checkin.status == "in_progress":
                loaded.in_progress[checkin.patient_id] = checkin
        await repo.save_many(checkins)
        await later.flush()
        del enrollments
        result = TickResult()
        for applied in stepped:
            result.add(applied)
        return result

    async def _load(self, session: AsyncSession, patient_ids: set[int]) -> _Loaded:
        patients = {p.id: p for p in await PatientRepository(session).get_many(patient_ids)}
        return _Loaded(
            patients,
            await self._cannot_contact_many(session, list(patients.values())),
            await CheckInRepository(session).in_progress_for_many(patient_ids),
        )

    async def _advance(
        self,
        session: AsyncSession,
        checkin: CheckIn,
        now: datetime,
        loaded: _Loaded | None = None,
        later: QueueLater | None = None,
    ) -> Applied | None:
        if checkin.status == "pending":
            return await self._start(
                session, checkin, now, manual=False, loaded=loaded, later=later
            )
        if checkin.status == "in_progress":
            return await self.step(session, checkin, ReplyTimeout(), now, later=later)
        checkin.next_action_at = None
        return None

    async def _advance_one(self, checkin_id: int, now: datetime) -> Applied | None:
        async with self.db.transaction() as session:
            checkin = await CheckInRepository(session).require(checkin_id)
            checkin.claimed_by = None
            checkin.claimed_until = None
            return await self._advance(session, checkin, now)

    async def _start(
        self,
        session: AsyncSession,
        checkin: CheckIn,
        now: datetime,
        *,
        manual: bool,
        loaded: _Loaded | None = None,
        later: QueueLater | None = None,
    ) -> Applied | None:
        if loaded is None:
            patient = await PatientRepository(session).require(checkin.patient_id)
            reason = await self._cannot_contact(session, patient)
        else:
            patient = loaded.patients[checkin.patient_id]
            reason = loaded.cannot_contact[patient.id]
        if not manual and checkin.period_end is not None and checkin.period_end <= now:
            reason = "not_started"
        if reason is None and not manual:
            other = (
                loaded.in_progress.get(patient.id)
                if loaded is not None
                else await CheckInRepository(session).in_progress_for(patient.id)
            )
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
        return await self.step(session, checkin, CheckInDue(), now, patient=patient, later=later)

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

    async def _cannot_contact_many(
        self, session: AsyncSession, patients: list[Patient]
    ) -> dict[int, str | None]:
        """:meth:`_cannot_contact` of many patients, with one query for their consents."""
        reasons: dict[int, str | None] = {}
        addresses: dict[int, str] = {}
        for patient in patients:
            address = patient_address(patient)
            if patient.status in NOT_CONTACTABLE:
                reasons[patient.id] = patient.status
            elif address is None:
                reasons[patient.id] = "awaiting_link"
            else:
                addresses[patient.id] = address
        granted = await _granted(session, addresses)
        for patient_id in addresses:
            reasons[patient_id] = None if patient_id in granted else "no_consent"
        return reasons

    async def step(
        self,
        session: AsyncSession,
        checkin: CheckIn,
        event: Input,
        now: datetime,
        *,
        patient: Patient | None = None,
        later: QueueLater | None = None,
    ) -> Applied:
        """Run one conversation step for a check-in and apply its events (no commit).

        With ``later`` the messages it queues are written when the caller flushes ``later``
        (a batch), and only then listed in the result's ``deliver_now``.
        """
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
        effects = CheckInEffects(
            session, self.settings, patient, checkin, enrollment, now, queue_later=later
        )
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


@dataclass(frozen=True, slots=True)
class _Schedule:
    """When a due occurrence's period ends, its key, the enrollment's next due time and when
    the patient's contact window next opens."""

    ends: datetime
    key: str
    following: datetime
    opens: datetime


def _schedule(
    enrollment: Enrollment,
    timezone: str,
    due: datetime,
    now: datetime,
    window: ContactWindow,
    memo: dict[tuple[Any, ...], _Schedule],
) -> _Schedule:
    """The calendar arithmetic of one due enrollment, remembered in ``memo`` for a batch:
    enrollments with the same cadence, anchor day, due time, time zone and window (in a
    monthly wave, most of them) share it, and it costs more than the rest of a dispatched row.
    The anchor counts only as its local date (``outreach.schedule.occurrence``)."""
    zone = ZoneInfo(timezone)
    anchor = enrollment.anchor_at
    anchor_day = require_aware(anchor, "anchor").astimezone(zone).date() if anchor else None
    key = (enrollment.cadence_day, enrollment.cadence_time, anchor_day, due, timezone, window)
    plan = memo.get(key)
    if plan is None:
        cadence = parse_cadence(enrollment.cadence_day, enrollment.cadence_time)
        plan = memo[key] = _Schedule(
            ends=period_end(cadence, due, zone, anchor_day),
            key=occurrence_key(cadence, due, zone, anchor_day),
            following=next_occurrence(cadence, due, zone, anchor_day),
            opens=window.next_open(max(due, now), zone),
        )
    return plan


@functools.lru_cache(maxsize=256)
def _new_state_json(program_id: str, language: str, status: str, reason: str | None) -> str:
    state = ConversationState.new(program_id, language)
    state.status = status
    state.ended_by = reason
    return json.dumps(state.to_json())


def _new_state(program_id: str, language: str, status: str, reason: str | None) -> Any:
    """A new occurrence's conversation state (JSON); the same for every occurrence of a
    program, language and status, so built once (``to_json`` costs more than the rest of a
    dispatched row)."""
    return json.loads(_new_state_json(program_id, language, status, reason))


async def _granted(session: AsyncSession, addresses: dict[int, str]) -> set[int]:
    """Patients (id → their address) whose consent on that address is granted: the rule of
    ``ConsentRepository.current`` (the latest row; at equal times a revocation wins, then the
    later row), for a whole batch in one query."""
    if not addresses:
        return set()
    statement = select(
        Consent.patient_id,
        Consent.channel,
        Consent.address,
        Consent.granted,
        Consent.recorded_at,
        Consent.id,
    ).where(Consent.patient_id.in_(addresses))
    latest: dict[int, tuple[tuple[datetime, bool, int], bool]] = {}
    for row in await session.execute(statement):
        patient_id, channel, address, granted, at, consent_id = row
        if patient_id is None:
            continue
        wanted = addresses[patient_id]
        if address != wanted or channel != channel_of(wanted):
            continue
        key = (at, not granted, consent_id)
        if patient_id not in latest or key > latest[patient_id][0]:
            latest[patient_id] = (key, granted)
    return {patient_id for patient_id, (_, granted) in latest.items() if granted}


def _inside_legal_hours(now: datetime, tz: str) -> bool:
    local = now.astimezone(ZoneInfo(tz)).time()
    start, end = LEGAL_WINDOW.start, LEGAL_WINDOW.end
    return start <= local < end
