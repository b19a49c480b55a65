"""The long-running process: database, channels, runtime and ticks, started and stopped in order.

``carebot serve`` wraps it in the ASGI app (bot/app.py); ``carebot worker`` runs it alone.
It is also the webhooks' inbox and status sink and the sandbox page's contact log.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy import select

from bot.config import Settings
from bot.links import Links
from bot.runtime import Runtime, build_runtime
from bot.ticks import Ticks
from bot.voice import VoiceCalls
from bot.web.webhooks import InboxUnavailable, inbound_from_inbox
from handlers.registry import Senders, build_senders
from handlers.telegram import TelegramChannel, build_telegram
from outreach.ports import Clock, InboundMessage
from storage.engine import Database
from storage.errors import DatabaseUnavailable
from storage.migrate import check_schema
from storage.models import Message, Patient
from storage.repositories.inbox import PARKED_STATUS, InboxRepository
from storage.repositories.messages import MessageRepository

log = logging.getLogger(__name__)
T = TypeVar("T")

INLINE_CONCURRENCY = 4
"""Webhook rows processed at once by one process right after their 2xx; more wait in line."""
INLINE_QUEUE_LIMIT = 10_000
"""Beyond this many waiting, a row is left to the inbox tick (it is committed: not lost)."""
WEBHOOK_DATABASE_SECONDS = 8.0
"""How long a webhook waits for the database before it answers 503: Twilio gives up on a
webhook after 15 s, and a 503 (not a timeout) is what makes it retry (SPEC §12)."""


def warm_up_screening() -> None:
    from outreach.triage import screen

    screen("chest pain", "en")


def _finish_late(task: asyncio.Future[Any]) -> None:
    """Retrieve what a cancelled late webhook transaction ended with (nobody waits for it)."""
    if not task.cancelled() and task.exception() is not None:
        log.info("a late webhook transaction ended with %s", type(task.exception()).__name__)


_inbox_row: contextvars.ContextVar[int | None] = contextvars.ContextVar("inbox_row", default=None)


class Server:
    """One carebot process. ``run_ticks`` is False for a web-only process (scale-out)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        run_ticks: bool = True,
        telegram_polling: bool = False,
        db: Database | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.run_ticks = run_ticks
        self.telegram_polling = telegram_polling
        self.db = db or Database.from_url(
            settings.db_url, statement_timeout=settings.database_statement_timeout
        )
        self.telegram: TelegramChannel | None = None
        self.senders: Senders | None = None
        self._runtime: Runtime | None = None
        self.ticks: Ticks | None = None
        self.voice: VoiceCalls | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._inline: asyncio.Queue[int] | None = None
        self._inline_workers: list[asyncio.Task[None]] = []

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the server is not started")
        return self._runtime

    async def start(self) -> None:
        """Database (schema must be current), Telegram, senders, runtime, then the ticks."""
        self.settings.check_production()
        await check_schema(self.db.engine)
        # Compile the red-flag vocabulary now, not on the first patient's message.
        warm_up_screening()
        if self.settings.telegram_enabled:
            assert self.settings.telegram_bot_token is not None
            self.telegram = build_telegram(
                self.settings.telegram_bot_token,
                api_base_url=self.settings.telegram_api_base_url,
                on_inbound=self._on_telegram,
                polling=self.telegram_polling,
            )
            await self.telegram.start()
            await self._set_webhook()
        self.senders = build_senders(self.settings, telegram=self.telegram)
        self._runtime = build_runtime(
            self.settings,
            self.db,
            self.senders,
            clock=self.clock,
            hooks=(Links(self.settings, self.clock).hook,),
        )
        if self.telegram is not None:
            self.runtime.editor = self._edit_telegram
        await self.runtime.sync_programs()
        self.voice = VoiceCalls(self.runtime)
        if self.run_ticks:
            self.ticks = Ticks(self.runtime, process_inbox_row=self.process_inbox_row)
            await self.ticks.start()
        log.info("carebot started (worker %s)", self.runtime.worker_id)

    async def stop(self) -> None:
        """Ticks first (no new work), then in-flight processing, channels and the database."""
        if self.ticks is not None:
            await self.ticks.stop()
        # Rows still waiting in line are committed: another process's inbox tick, or ours
        # after a restart, handles them.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self.settle()
        for worker in self._inline_workers:
            worker.cancel()
        await asyncio.gather(*self._inline_workers, return_exceptions=True)
        if self.voice is not None:
            await self.voice.drain()
        if self.telegram is not None:
            await self.telegram.stop()
        if self.senders is not None:
            await self.senders.aclose()
        await self.db.dispose()

    async def _set_webhook(self) -> None:
        base = self.settings.public_base_url
        if self.telegram is None or self.telegram_polling or not base.startswith("https://"):
            return
        secret = self.settings.telegram_webhook_secret or ""
        await self.telegram.set_webhook(f"{base}/webhooks/telegram", secret)

    async def _edit_telegram(self, address: str, provider_id: str, text: str) -> None:
        if self.telegram is not None:
            await self.telegram.edit_text(address, int(provider_id), text)

    # -- inbox (webhooks) ------------------------------------------------------------------

    async def accept(self, provider: str, external_id: str, payload: dict[str, Any]) -> int | None:
        async def record() -> tuple[int, bool]:
            async with self.db.transaction() as session:
                return await InboxRepository(session).record_webhook(
                    provider, external_id, payload, self.runtime.clock.now()
                )

        row_id, new = await self._in_time(record())
        return row_id if new else None

    async def _in_time(self, work: Coroutine[Any, Any, T]) -> T:
        """``work`` within WEBHOOK_DATABASE_SECONDS, or InboxUnavailable (the webhook's 503).

        Late work is cancelled but not waited for: in a partition its clean-up (returning the
        connection) can take seconds more, and the answer must not. If it had already sent its
        COMMIT, the row exists after all; the provider's retry finds it (a duplicate, 2xx) and
        the inbox tick handles it.
        """
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=WEBHOOK_DATABASE_SECONDS)
        if not done:
            task.cancel()
            self._tasks.add(task)
            task.add_done_callback(_finish_late)
            task.add_done_callback(self._tasks.discard)
            raise InboxUnavailable("the database did not answer in time")
        try:
            return task.result()
        except DatabaseUnavailable as exc:
            raise InboxUnavailable(str(exc)) from exc

    def process_soon(self, inbox_id: int) -> None:
        """Process a just-committed webhook row right after its response, in line: at most
        INLINE_CONCURRENCY at once, so that a burst of webhooks is acknowledged at the speed of
        the acknowledgement (signature, one insert), not queued behind each other's processing.
        """
        if self._inline is None:
            queue: asyncio.Queue[int] = asyncio.Queue(INLINE_QUEUE_LIMIT)
            self._inline = queue
            self._inline_workers = [
                asyncio.create_task(self._inline_worker(queue)) for _ in range(INLINE_CONCURRENCY)
            ]
        try:
            self._inline.put_nowait(inbox_id)
        except asyncio.QueueFull:
            log.warning("inbox row %s: too many waiting, left to the inbox tick", inbox_id)

    async def _inline_worker(self, queue: asyncio.Queue[int]) -> None:
        while True:
            inbox_id = await queue.get()
            try:
                await self._process_quietly(inbox_id)
            finally:
                queue.task_done()

    async def settle(self) -> None:
        """Wait until every row handed to :meth:`process_soon` so far is processed (and any
        late webhook transaction has ended)."""
        if self._inline is not None:
            await self._inline.join()
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _process_quietly(self, inbox_id: int) -> None:
        try:
            await self.process_inbox_row(inbox_id)
        except Exception:
            # The row stays unprocessed; the inbox tick retries it.
            log.exception("inbox row %s failed; the inbox tick will retry it", inbox_id)

    async def process_inbox_row(self, inbox_id: int) -> None:
        async with self.db.session() as session:
            row = await InboxRepository(session).get(inbox_id)
        if row is None or row.processed_at is not None:
            return
        if row.provider == PARKED_STATUS:
            await self._apply_parked_status(inbox_id, row.payload)
            return
        if row.provider == "telegram":
            if self.telegram is None:
                raise RuntimeError("a Telegram update arrived but Telegram is not configured")
            token = _inbox_row.set(inbox_id)
            try:
                await self.telegram.process_payload(row.payload, received_at=row.received_at)
            finally:
                _inbox_row.reset(token)
            return
        message = inbound_from_inbox(row.provider, row.payload)
        if message is None:
            raise ValueError(f"inbox row {inbox_id}: unknown provider {row.provider!r}")
        await self.runtime.handle_inbound(message, inbox_id)

    async def _apply_parked_status(self, inbox_id: int, payload: dict[str, Any]) -> None:
        async with self.db.transaction() as session:
            found = await MessageRepository(session).update_status(
                str(payload["provider_id"]),
                str(payload["status"]),
                self.runtime.clock.now(),
                payload.get("error_code"),
            )
            if found is None:
                # Still unknown: fail this attempt; the tick retries (bounded attempts).
                raise LookupError(f"inbox row {inbox_id}: no message with that provider id yet")
            await InboxRepository(session).mark_processed(inbox_id, self.runtime.clock.now())

    async def _on_telegram(self, message: InboundMessage) -> None:
        inbox_id = _inbox_row.get()
        if inbox_id is None:
            # Polling mode: the update did not come through our webhook, so record it first.
            inbox_id = await self.accept("telegram", message.external_id, {"polled": True})
            if inbox_id is None:
                return
        await self.runtime.handle_inbound(message, inbox_id)

    # -- delivery statuses -------------------------------------------------------------------

    async def delivery_status(
        self, provider_id: str, status: str, error_code: str | None, raw: dict[str, str]
    ) -> None:
        async def record() -> None:
            async with self.db.transaction() as session:
                now = self.runtime.clock.now()
                found = await MessageRepository(session).update_status(
                    provider_id, status, now, error_code
                )
                if found is None:
                    # The callback beat our own commit of the provider id: park it in the
                    # inbox; recording the id applies it (OutboxRepository.mark_sent), the
                    # inbox tick is the fallback.
                    await InboxRepository(session).park_status(provider_id, status, error_code, now)

        await self._in_time(record())

    # -- sandbox contact log -----------------------------------------------------------------

    async def messages(self, address: str, after_id: int) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Message)
                .where(Message.address == address, Message.id > after_id)
                .order_by(Message.id)
                .limit(200)
            )
            return [
                {
                    "id": m.id,
                    "direction": m.direction,
                    "body": m.body,
                    "at": m.created_at.isoformat(),
                }
                for m in rows
                if not (m.direction == "out" and m.status in ("queued", "cancelled", "expired"))
            ]

    async def patients(self) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Patient).where(Patient.channel == "sandbox").order_by(Patient.external_id)
            )
            return [
                {"address": f"sandbox:{p.external_id}", "name": f"{p.name} ({p.external_id})"}
                for p in rows
            ]

    async def ping(self) -> bool:
        """The database answers and its schema is current."""
        try:
            await check_schema(self.db.engine)
        except Exception:
            return False
        return True
