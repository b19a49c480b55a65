"""The demo month in fast time: the real runtime on a manual clock, with scripted people.

No sleeping: the clock jumps to the next moment something is due (a check-in, a reminder, an
outbox row, an acknowledgement deadline, or a scripted reply), the runtime's ticks run once, and
the scripted patients and care managers react to what reached them.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.config import Settings
from bot.demo.channel import DemoChannel
from bot.demo.data import DEMO_TEAM_NAME, PATIENTS, STAFF
from bot.demo.loader import DemoLoad, load_demo_data, refuse_in_production
from bot.demo.script import (
    PatientScript,
    Say,
    ack_text,
    manager_plan,
    resolve_text,
)
from bot.demo.summary import DemoSummary, summarize
from bot.demo.timeline import Alerted, Delivered, Look, Timeline, TimelineEvent
from bot.runtime import Runtime, build_runtime
from bot.ticks import Ticks
from outreach.clock import ManualClock
from outreach.conversation import ConversationState
from outreach.ports import InboundMessage
from outreach.programs.model import Question
from storage.engine import Database
from storage.models import CareManager, CheckIn, Enrollment, Escalation, OutboxItem, Patient

log = logging.getLogger(__name__)

DEMO_START = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
"""Midnight in New York on Sunday 1 March 2026: the first instant of the demo month."""
MIN_STEP = timedelta(seconds=30)
"""The smallest jump of the clock, so that a row that stays due cannot stall the month."""

EventSink = Callable[[TimelineEvent], None]
ProgressSink = Callable[[datetime], None]


@dataclass
class DemoResult:
    summary: DemoSummary
    timeline: list[TimelineEvent] = field(default_factory=list)
    load: DemoLoad | None = None


@dataclass(order=True)
class _Action:
    at: datetime
    seq: int
    address: str = field(compare=False)
    text: str = field(compare=False)
    channel: str = field(compare=False)
    escalation_id: int | None = field(default=None, compare=False)
    """For a care manager's ACK/RESOLVE: skipped when the escalation moved on already."""
    done_when: tuple[str, ...] = field(default=(), compare=False)
    shown_as: str | None = field(default=None, compare=False)
    """The patient id to show the text under on the timeline, if it is shown."""


async def simulate_month(
    db: Database,
    settings: Settings,
    *,
    days: int = 30,
    seed: int = 1,
    start: datetime = DEMO_START,
    verbose: bool = False,
    on_event: EventSink | None = None,
    on_progress: ProgressSink | None = None,
) -> DemoResult:
    """Load the demo panel into ``db`` (a migrated database) and run ``days`` of it.

    The timeline shows every message of the showcase patients (``verbose``: of everyone).
    """
    refuse_in_production(settings)
    began = time.perf_counter()
    settings = settings.model_copy(update={"care_team_name": DEMO_TEAM_NAME})
    clock = ManualClock(start)
    runtime = build_runtime(settings, db, DemoChannel(), clock=clock, worker_id="demo")
    await runtime.sync_programs()
    load = await load_demo_data(db, clock, settings, runtime.programs, due="cadence")
    shown = None if verbose else frozenset(p.external_id for p in PATIENTS if p.showcase)
    timeline = Timeline(db, start, conversations=shown)
    month = _Month(runtime, clock, timeline, random.Random(seed), on_event)
    await month.prepare()
    end = start + timedelta(days=days)
    await month.run(end, on_progress)
    summary = await summarize(
        db, start, end, days=days, patients=len(PATIENTS), wall=time.perf_counter() - began
    )
    return DemoResult(summary, month.events, load)


class _Month:
    """The loop: act, tick, look, react, jump."""

    def __init__(
        self,
        runtime: Runtime,
        clock: ManualClock,
        timeline: Timeline,
        rng: random.Random,
        on_event: EventSink | None,
    ) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.clock = clock
        self.rng = rng
        self.on_event = on_event
        self.ticks = Ticks(runtime)
        self.timeline = timeline
        self.events: list[TimelineEvent] = []
        self.scripts: dict[int, PatientScript] = {}
        self.phones: dict[int, str] = {}
        self._actions: list[_Action] = []
        self._seq = itertools.count(1)

    async def prepare(self) -> None:
        by_id = {p.external_id: p for p in PATIENTS}
        emails = [s.email for s in STAFF]
        async with self.db.session() as session:
            for patient_id, external_id in await session.execute(
                select(Patient.id, Patient.external_id)
            ):
                if external_id in by_id:
                    self.scripts[patient_id] = PatientScript(by_id[external_id], self.rng)
            for manager_id, phone in await session.execute(
                select(CareManager.id, CareManager.phone).where(CareManager.email.in_(emails))
            ):
                if phone:
                    self.phones[manager_id] = phone

    async def run(self, end: datetime, on_progress: ProgressSink | None) -> None:
        rows_due = self.clock.now()
        while True:
            now = self.clock.now()
            await self._act(now)
            if now >= rows_due:
                # A step that only carries a scripted reply needs no tick: the reply's
                # consequences were sent right after its commit, as in a real server.
                await self.ticks.run_once()
            await self._react(await self.timeline.look(now))
            if on_progress is not None:
                on_progress(now)
            if now >= end:
                return
            rows_due = await self._rows_due()
            following = min(self._actions[0].at, rows_due) if self._actions else rows_due
            self.clock.set(min(max(following, now + MIN_STEP), end))

    async def _act(self, now: datetime) -> None:
        while self._actions and self._actions[0].at <= now:
            action = heapq.heappop(self._actions)
            if action.escalation_id is not None and not await self._still(action):
                continue
            if action.shown_as is not None:
                self._emit(TimelineEvent(now, action.shown_as, f'writes "{action.text}"'))
            message = InboundMessage(
                channel=action.channel,
                address=action.address,
                body=action.text,
                external_id=f"DEMO-IN-{action.seq}",
                received_at=now,
            )
            await self.runtime.handle_inbound(message)

    async def _still(self, action: _Action) -> bool:
        async with self.db.session() as session:
            status = await session.scalar(
                select(Escalation.status).where(Escalation.id == action.escalation_id)
            )
        return status is not None and status not in action.done_when

    async def _react(self, look: Look) -> None:
        for event in look.events:
            self._emit(event)
        for delivered in look.delivered:
            await self._patient_reacts(delivered)
        for alert in look.alerted:
            self._manager_reacts(alert)

    def _emit(self, event: TimelineEvent) -> None:
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    async def _patient_reacts(self, delivered: Delivered) -> None:
        script = self.scripts.get(delivered.patient_id)
        if script is None:
            return
        question = await self._waiting_question(delivered.checkin_id)
        say = script.on_message(delivered.kind, question, self.clock.now())
        if say is None:
            return
        external_id = script.patient.external_id
        shown = say.notable or self.timeline.shows_conversation(external_id)
        self._schedule(say, "sandbox", shown_as=external_id if shown else None)

    async def _waiting_question(self, checkin_id: int | None) -> Question | None:
        if checkin_id is None:
            return None
        async with self.db.session() as session:
            checkin = await session.get(CheckIn, checkin_id)
        if checkin is None or checkin.status != "in_progress":
            return None
        state = ConversationState.from_json(checkin.state)
        if state.current is None:
            return None
        return self.runtime.programs[checkin.program_id].question(state.current)

    def _manager_reacts(self, alert: Alerted) -> None:
        phone = self.phones.get(alert.manager_id)
        if phone is None:
            return
        plan = manager_plan(alert.severity, alert.rung, self.rng)
        now = self.clock.now()
        address = f"tel:{phone}"
        if plan.ack is not None:
            ack = Say(now + plan.ack, address, ack_text(alert.escalation_id))
            self._schedule(ack, "sms", alert.escalation_id, ("acknowledged", "resolved"))
        if plan.resolve is not None:
            done = Say(now + plan.resolve, address, resolve_text(alert.escalation_id))
            self._schedule(done, "sms", alert.escalation_id, ("resolved",))

    def _schedule(
        self,
        say: Say,
        channel: str,
        escalation_id: int | None = None,
        done_when: tuple[str, ...] = (),
        *,
        shown_as: str | None = None,
    ) -> None:
        action = _Action(
            say.at,
            next(self._seq),
            say.address,
            say.text,
            channel,
            escalation_id,
            done_when,
            shown_as,
        )
        heapq.heappush(self._actions, action)

    async def _rows_due(self) -> datetime:
        """The earliest moment a tick has something to claim (one round trip)."""
        earliest = select(
            select(func.min(Enrollment.next_due_at))
            .where(Enrollment.paused.is_(False))
            .scalar_subquery(),
            select(func.min(CheckIn.next_action_at)).scalar_subquery(),
            select(func.min(OutboxItem.next_attempt_at))
            .where(OutboxItem.state == "pending")
            .scalar_subquery(),
            select(func.min(Escalation.ack_deadline))
            .where(Escalation.status == "open")
            .scalar_subquery(),
        )
        async with self.db.session() as session:
            row = (await session.execute(earliest)).one()
        candidates = [_aware(value) for value in row if value is not None]
        return min(candidates, default=self.clock.now() + timedelta(days=365))


def _aware(value: datetime | str) -> datetime:
    """A UTC datetime; SQLite hands scalar subqueries back untyped (as text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
