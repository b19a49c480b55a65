"""One place wires: the database, clock, programs, channels and services of one process."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field

from bot.checkins import CheckIns
from bot.config import Settings
from bot.effects import Applied
from bot.inbound import CommandHook, Inbound
from bot.outbox import Delivery, Sender
from outreach.clock import SystemClock
from outreach.conversation.env import Screen
from outreach.ports import Clock, InboundMessage
from outreach.programs.loader import load_programs
from outreach.programs.model import Program
from storage.engine import Database
from storage.repositories.programs import ProgramRepository

log = logging.getLogger(__name__)


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
    after_commit_hooks: list[object] = field(default_factory=list)

    async def after_commit(self, applied: Applied) -> None:
        """Send what a committed transaction queued for right now."""
        if applied.deliver_now:
            await self.delivery.deliver_ids(applied.deliver_now)

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
    inbound = Inbound(db, settings, clock, programs, checkins, screen=screen, hooks=hooks)
    delivery = Delivery(db, sender, clock, worker_id=worker_id)
    return Runtime(settings, db, clock, programs, sender, checkins, inbound, delivery, worker_id)
