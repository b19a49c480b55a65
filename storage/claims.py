"""Claims: how scheduler ticks take due rows without two workers taking the same one.

Each claim is ONE statement (PITFALLS: a separate ``SELECT … FOR UPDATE`` is silently dropped
on SQLite)::

    UPDATE t SET claimed_by = :me, claimed_until = :until
    WHERE t.id = ANY(ARRAY(SELECT t.id FROM t WHERE <due> AND <not claimed>
                           ORDER BY <due column> LIMIT :n FOR UPDATE SKIP LOCKED))
    RETURNING t.id

(``WHERE t.id IN (SELECT …)`` on SQLite, which has no arrays and no row locks.)

PostgreSQL skips rows another worker has locked and re-checks the condition on rows it waited
for; SQLite serialises writers (``BEGIN IMMEDIATE``). The lease (``claimed_until``) makes a crashed
worker's rows due again later. Every due condition leads with an indexed column (see the
indexes in ``storage/models``), so a tick costs O(due rows), not O(table).

Run each claim in its own short transaction and commit before working on the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, any_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CheckIn, Enrollment, Escalation, OutboxItem, ProcessedWebhook


@dataclass(frozen=True, slots=True)
class ClaimedOutbox:
    """An outbox row now in state ``sending`` for this worker.

    ``reclaimed``: the row was left ``sending`` by a worker that died (or hung) after claiming
    it — the provider may or may not have the message, so reconcile before sending again
    (SPEC §12).
    """

    id: int
    reclaimed: bool = False


def due_statement(
    model: Any,
    conditions: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    limit: int,
    values: dict[str, Any],
    dialect: str = "postgresql",
) -> Any:
    """The claim statement for ``dialect`` (exposed so that tests can EXPLAIN it).

    PostgreSQL gets ``WHERE t.id = ANY(ARRAY(SELECT …))`` rather than ``IN (SELECT …)``: the
    ARRAY is computed once (an InitPlan) and the rows are then fetched by primary key, whereas
    for ``IN`` the planner may pick a hash semi-join over a sequential scan of the whole table
    (seen on 20,000 rows) — O(table) instead of O(due).
    """
    due = (
        select(model.id)
        .where(*conditions)
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if dialect == "postgresql":
        picked = model.id == any_(func.array(due.scalar_subquery()))
    else:
        picked = model.id.in_(due.scalar_subquery())
    return (
        update(model)
        .where(picked)
        .values(**values)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def _run(session: AsyncSession, statement: Any) -> list[int]:
    return sorted((await session.execute(statement)).scalars())


def _free(model: Any, now: datetime) -> ColumnElement[bool]:
    return or_(model.claimed_until.is_(None), model.claimed_until < now)


def enrollments_statement(
    now: datetime, worker: str, limit: int, lease: timedelta, dialect: str = "postgresql"
) -> Any:
    return due_statement(
        Enrollment,
        [Enrollment.next_due_at <= now, Enrollment.paused.is_(False), _free(Enrollment, now)],
        [Enrollment.next_due_at, Enrollment.id],
        limit,
        {"claimed_by": worker, "claimed_until": now + lease},
        dialect,
    )


async def claim_due_enrollments(
    session: AsyncSession, now: datetime, worker: str, limit: int, lease: timedelta
) -> list[int]:
    """Enrollments whose next check-in is due (``next_due_at <= now``, not paused)."""
    return await _run(session, enrollments_statement(now, worker, limit, lease, _dialect(session)))


async def release_enrollments(
    session: AsyncSession, next_due: Mapping[int, datetime | None]
) -> None:
    """Hand claimed enrollments back with their next due time (NULL: nothing scheduled), in
    one statement per batch; the counterpart of :func:`claim_due_enrollments`."""
    if next_due:
        await session.execute(
            update(Enrollment),
            [
                {"id": enrollment_id, "next_due_at": due, "claimed_by": None, "claimed_until": None}
                for enrollment_id, due in next_due.items()
            ],
        )


def checkins_statement(
    now: datetime, worker: str, limit: int, lease: timedelta, dialect: str = "postgresql"
) -> Any:
    return due_statement(
        CheckIn,
        [
            CheckIn.next_action_at <= now,
            CheckIn.status.in_(("pending", "in_progress")),
            _free(CheckIn, now),
        ],
        [CheckIn.next_action_at, CheckIn.id],
        limit,
        {"claimed_by": worker, "claimed_until": now + lease},
        dialect,
    )


async def claim_due_checkins(
    session: AsyncSession, now: datetime, worker: str, limit: int, lease: timedelta
) -> list[int]:
    """Pending or in-progress check-ins with an action due (first question, reminder,
    timeout): ``next_action_at <= now``."""
    return await _run(session, checkins_statement(now, worker, limit, lease, _dialect(session)))


def outbox_statement(now: datetime, worker: str, limit: int, dialect: str = "postgresql") -> Any:
    return due_statement(
        OutboxItem,
        [OutboxItem.state == "pending", OutboxItem.next_attempt_at <= now],
        [OutboxItem.next_attempt_at, OutboxItem.id],
        limit,
        {
            "state": "sending",
            "claimed_by": worker,
            "claimed_at": now,
            "attempts": OutboxItem.attempts + 1,
        },
        dialect,
    )


def stale_outbox_statement(
    now: datetime, worker: str, limit: int, lease: timedelta, dialect: str = "postgresql"
) -> Any:
    return due_statement(
        OutboxItem,
        [OutboxItem.state == "sending", OutboxItem.claimed_at < now - lease],
        [OutboxItem.claimed_at, OutboxItem.id],
        limit,
        {"claimed_by": worker, "claimed_at": now},
        dialect,
    )


async def claim_due_outbox(
    session: AsyncSession, now: datetime, worker: str, limit: int, lease: timedelta
) -> list[ClaimedOutbox]:
    """Outbox rows to send: first those left ``sending`` longer than ``lease`` (reclaimed, to
    reconcile), then pending rows with ``next_attempt_at <= now`` (state → ``sending``,
    ``attempts`` + 1). Expiry is the caller's check (``expires_at``)."""
    dialect = _dialect(session)
    stale = await _run(session, stale_outbox_statement(now, worker, limit, lease, dialect))
    claimed = [ClaimedOutbox(row_id, reclaimed=True) for row_id in stale]
    if len(claimed) < limit:
        fresh = await _run(session, outbox_statement(now, worker, limit - len(claimed), dialect))
        claimed += [ClaimedOutbox(row_id) for row_id in fresh]
    return claimed


def inbox_statement(
    now: datetime,
    worker: str,
    limit: int,
    lease: timedelta,
    grace: timedelta,
    max_attempts: int,
    dialect: str = "postgresql",
) -> Any:
    return due_statement(
        ProcessedWebhook,
        [
            ProcessedWebhook.processed_at.is_(None),
            ProcessedWebhook.received_at <= now - grace,
            ProcessedWebhook.attempts < max_attempts,
            _free(ProcessedWebhook, now),
        ],
        [ProcessedWebhook.received_at, ProcessedWebhook.id],
        limit,
        {"claimed_by": worker, "claimed_until": now + lease},
        dialect,
    )


async def claim_inbox(
    session: AsyncSession,
    now: datetime,
    worker: str,
    limit: int,
    lease: timedelta,
    *,
    grace: timedelta = timedelta(seconds=30),
    max_attempts: int = 10,
) -> list[int]:
    """Webhooks committed but not processed (their request crashed or failed): received more
    than ``grace`` ago, so that the request that stored one normally processes it first. Rows
    that failed ``max_attempts`` times stay for a person to look at."""
    statement = inbox_statement(now, worker, limit, lease, grace, max_attempts, _dialect(session))
    return await _run(session, statement)


def escalations_statement(
    now: datetime, worker: str, limit: int, lease: timedelta, dialect: str = "postgresql"
) -> Any:
    return due_statement(
        Escalation,
        [Escalation.status == "open", Escalation.ack_deadline <= now, _free(Escalation, now)],
        [Escalation.ack_deadline, Escalation.id],
        limit,
        {"claimed_by": worker, "claimed_until": now + lease},
        dialect,
    )


async def claim_due_escalations(
    session: AsyncSession, now: datetime, worker: str, limit: int, lease: timedelta
) -> list[int]:
    """Open escalations past their acknowledgement deadline (next rung of the ladder)."""
    return await _run(session, escalations_statement(now, worker, limit, lease, _dialect(session)))
