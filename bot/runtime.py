"""One place wires: the database, clock, programs, channels and services of one process."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.applied import Applied
from bot.checkins import CheckIns
from bot.config import Settings
from bot.escalations import Ladder
from bot.inbound import CommandHook, Inbound
from bot.manager_commands import ManagerCommands
from bot.outbox import Delivery, Sender
from outreach.clock import SystemClock
from outreach.conversation.env import Screen
from outreach.ports import Clock, InboundMessage
from outreach.programs.loader import load_programs
from outreach.programs.model import Program
from storage.claims import claim_due_escalations
from storage.engine import Database
from storage.models import Escalation
from storage.repositories.patients import PatientRepository
from storage.repositories.programs import ProgramRepository

log = logging.getLogger(__name__)
LADDER_LEASE = timedelta(minutes=1)
Editor = Callable[[str, str, str], Awaitable[object]]
"""Rewrites a delivered message: (address, provider id, new text)."""


def default_screen() -> Screen:
    """Red-flag screening of free text (outreach.triage)."""
    from outreach.triage import screen

    return screen


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Runtime:
    """The services of one carebot process; built by :func:`build_runtime`."""

    settings: Settings
    db: Database
    clock: Clock
    programs: dict[str, Program]
    sender: Sender
    checkins: CheckIns
    inbound: Inbound
    delivery: Delivery
    worker_id: str
    editor: Editor | None = None

    async def after_commit(self, applied: Applied) -> None:
        """Send what a committed transaction queued for right now, then edit old alerts."""
        if applied.deliver_now:
            await self.delivery.deliver_ids(applied.deliver_now)
        for edit in applied.edits:
            if self.editor is None or not edit.address.startswith("telegram:"):
                continue
            try:
                await self.editor(edit.address, edit.provider_id, edit.text)
            except Exception:
                log.warning("could not edit message %s", edit.provider_id, exc_info=True)

    async def climb_escalations(self, limit: int = 100) -> int:
        """Unacknowledged past the deadline: alert the next rung of the ladder (SPEC §7)."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            ids = await claim_due_escalations(session, now, self.worker_id, limit, LADDER_LEASE)
        for escalation_id in ids:
            applied = Applied()
            async with self.db.transaction() as session:
                # Locked and checked again: sending the previous alerts may have outlasted the
                # lease, and another worker may have climbed this one meanwhile.
                escalation = await session.get(
                    Escalation, escalation_id, with_for_update=True, populate_existing=True
                )
                if not _still_due(escalation, self.worker_id, now):
                    continue
                assert escalation is not None
                patient = await PatientRepository(session).require(escalation.patient_id)
                at = self.clock.now()
                await Ladder(session, self.settings, at).climb(escalation, patient, applied)
            await self.after_commit(applied)
        return len(ids)

    async def handle_inbound(self, message: InboundMessage, inbox_id: int | None = None) -> None:
        applied = await self.inbound.handle(message, inbox_id)
        await self.after_commit(applied)

    async def sync_programs(self) -> None:
        """Make sure every loaded program has its row (enrollments refer to it)."""
        async with self.db.transaction() as session:
            repo = ProgramRepository(session)
            for program in self.programs.values():
                await repo.upsert(
                    program.id, program.name.get("en"), _digest(program), at=self.clock.now()
                )


def _still_due(escalation: Escalation | None, worker_id: str, claimed_at: datetime) -> bool:
    """Open, still claimed by this worker and still past its deadline."""
    return (
        escalation is not None
        and escalation.status == "open"
        and escalation.claimed_by == worker_id
        and escalation.ack_deadline is not None
        and escalation.ack_deadline <= claimed_at
    )


def _digest(program: Program) -> str:
    import hashlib

    return hashlib.sha256(program.model_dump_json().encode()).hexdigest()


def build_runtime(
    settings: Settings,
    db: Database,
    sender: Sender,
    *,
    clock: Clock | None = None,
    screen: Screen | None = None,
    worker_id: str | None = None,
    hooks: tuple[CommandHook, ...] = (),
) -> Runtime:
    clock = clock or SystemClock()
    worker_id = worker_id or worker_name()
    screen = screen or default_screen()
    programs = load_programs(settings.programs_dir)
    checkins = CheckIns(db, settings, clock, programs, screen=screen, worker_id=worker_id)
    hooks = (*hooks, ManagerCommands(settings, clock).hook)
    inbound = Inbound(db, settings, clock, programs, checkins, screen=screen, hooks=hooks)
    delivery = Delivery(db, sender, clock, worker_id=worker_id)
    return Runtime(settings, db, clock, programs, sender, checkins, inbound, delivery, worker_id)
