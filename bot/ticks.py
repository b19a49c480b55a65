"""The interval ticks that claim due rows: dispatch, check-ins, outbox, inbox (APScheduler 3).

No job per patient and no job store: timing lives in our tables; each tick is an indexed
claim that costs next to nothing when nothing is due, and is safe to interrupt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.runtime import Runtime
from outreach.errors import Conflict
from storage.claims import claim_inbox
from storage.repositories.inbox import InboxRepository
from storage.repositories.scheduler_lock import SchedulerLockRepository

log = logging.getLogger(__name__)

LOCK_NAME = "scheduler"
LOCK_TTL = timedelta(seconds=60)
STOP_GRACE_SECONDS = 15.0


class SchedulerBusy(Conflict):
    """Another process already runs the scheduler ticks on this SQLite database."""


InboxProcessor = Callable[[int], Awaitable[None]]


class Ticks:
    """Runs the ticks of one process."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        process_inbox_row: InboxProcessor | None = None,
        extra: dict[str, tuple[float, Callable[[], Awaitable[object]]]] | None = None,
    ) -> None:
        self.runtime = runtime
        self.process_inbox_row = process_inbox_row
        self.extra = dict(extra or {})
        self.scheduler: AsyncIOScheduler | None = None
        self._locked = False
        self._stopping = False
        self._running: set[asyncio.Task[object]] = set()

    @property
    def jobs(self) -> dict[str, tuple[float, Callable[[], Awaitable[object]]]]:
        settings = self.runtime.settings
        return {
            "dispatch": (settings.dispatch_every_seconds, self.dispatch),
            "checkins": (settings.checkins_every_seconds, self.checkins),
            "outbox": (settings.outbox_every_seconds, self.outbox),
            "escalations": (settings.escalations_every_seconds, self.escalations),
            "inbox": (settings.inbox_every_seconds, self.inbox),
            "lease": (15.0, self.renew_lock),
            **self.extra,
        }

    async def start(self) -> None:
        """Take the SQLite scheduler lease (one scheduler per SQLite file) and start ticking."""
        await self.acquire_lock()
        scheduler = AsyncIOScheduler(timezone="UTC")
        # Overdue work after a restart is processed once, right away (not once per missed
        # tick), and in the background: start-up (and so /healthz and the webhooks of
        # ``carebot serve``) must not wait for a backlog that takes minutes to send.
        first = {"next_run_time": datetime.now(UTC)}
        for name, (seconds, job) in self.jobs.items():
            scheduler.add_job(
                self._guard(name, job),
                "interval",
                seconds=seconds,
                id=name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                **(first if name != "lease" else {}),
            )
        scheduler.start()
        self.scheduler = scheduler

    async def stop(self) -> None:
        """No new tick starts; ticks in flight finish their current batch (each claim is its
        own transaction), then the scheduler and the SQLite lease go."""
        self._stopping = True
        if self.scheduler is not None:
            self.scheduler.pause()
        if self._running:
            await asyncio.wait(set(self._running), timeout=STOP_GRACE_SECONDS)
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        await self.release_lock()

    async def run_once(self) -> None:
        """Every tick once, in order (tests, the demo, start-up)."""
        for name, (_, job) in self.jobs.items():
            if name != "lease":
                await self._guard(name, job)()

    def _guard(
        self, name: str, job: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if self._stopping:
                return
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await job()
            except Exception:
                log.exception("tick %s failed; it runs again at the next interval", name)
            finally:
                if task is not None:
                    self._running.discard(task)

        return run

    async def dispatch(self) -> None:
        while await self.runtime.checkins.dispatch_due() > 0:
            if self._stopping:
                return

    async def checkins(self) -> None:
        while True:
            result = await self.runtime.checkins.advance_due()
            for applied in result.applied:
                await self.runtime.after_commit(applied)
            if result.processed == 0 or self._stopping:
                return

    async def outbox(self) -> None:
        while await self.runtime.delivery.deliver_due() > 0:
            if self._stopping:
                return

    async def escalations(self) -> None:
        while await self.runtime.climb_escalations() > 0:
            if self._stopping:
                return

    async def inbox(self) -> None:
        """Process inbox rows whose request died after the commit (SPEC §12)."""
        if self.process_inbox_row is None:
            return
        runtime = self.runtime
        async with runtime.db.transaction() as session:
            ids = await claim_inbox(
                session, runtime.clock.now(), runtime.worker_id, 100, timedelta(minutes=2)
            )
        for row_id in ids:
            try:
                await self.process_inbox_row(row_id)
            except Exception as exc:
                log.exception("inbox row %s failed", row_id)
                async with runtime.db.transaction() as session:
                    await InboxRepository(session).mark_failed(row_id, type(exc).__name__)

    async def acquire_lock(self) -> None:
        runtime = self.runtime
        if runtime.db.dialect != "sqlite":
            return
        async with runtime.db.transaction() as session:
            repo = SchedulerLockRepository(session)
            now = runtime.clock.now()
            if not await repo.acquire(LOCK_NAME, runtime.worker_id, LOCK_TTL, now):
                holder = await repo.holder(LOCK_NAME, now)
                raise SchedulerBusy(
                    f"another carebot process ({holder}) runs the scheduler on this SQLite "
                    "database; with SQLite exactly one serve/worker may run (use PostgreSQL "
                    "to scale out)"
                )
        self._locked = True

    async def renew_lock(self) -> None:
        runtime = self.runtime
        if not self._locked:
            return
        async with runtime.db.transaction() as session:
            ok = await SchedulerLockRepository(session).renew(
                LOCK_NAME, runtime.worker_id, LOCK_TTL, runtime.clock.now()
            )
        if not ok:
            log.error("scheduler lease lost; stopping the ticks")
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=False)

    async def release_lock(self) -> None:
        runtime = self.runtime
        if not self._locked:
            return
        async with runtime.db.transaction() as session:
            await SchedulerLockRepository(session).release(LOCK_NAME, runtime.worker_id)
        self._locked = False
