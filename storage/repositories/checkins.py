"""Check-ins (one row per occurrence) and their answers."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from outreach.errors import NotFound
from storage.models import Answer, CheckIn
from storage.repositories.base import Repository, insert_ignoring, insert_or_none

OPEN_STATUSES = ("pending", "in_progress")
_CONVERSATION_COLUMNS = (
    "status",
    "state",
    "started_at",
    "completed_at",
    "deadline_at",
    "next_action_at",
    "claimed_by",
    "claimed_until",
    "severity",
    "updated_at",
)
"""What stepping a conversation changes in its check-in row (see ``save_many``)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One dated numeric answer, for trends and change-against-previous rules."""

    at: datetime
    value: float
    unit: str | None
    checkin_id: int


class CheckInRepository(Repository):
    async def create(
        self,
        *,
        enrollment_id: int,
        patient_id: int,
        program_id: str,
        occurrence_key: str,
        scheduled_for: datetime,
        at: datetime,
        period_end: datetime | None = None,
        deadline_at: datetime | None = None,
        next_action_at: datetime | None = None,
        manual: bool = False,
        status: str = "pending",
        state: dict[str, Any] | None = None,
    ) -> CheckIn | None:
        """A new occurrence, or None (nothing written, nothing raised) when that
        (enrollment, occurrence_key) exists already — e.g. a second worker or a restart."""
        return await insert_or_none(
            self.session,
            CheckIn,
            ["enrollment_id", "occurrence_key"],
            {
                "enrollment_id": enrollment_id,
                "patient_id": patient_id,
                "program_id": program_id,
                "occurrence_key": occurrence_key,
                "scheduled_for": scheduled_for,
                "period_end": period_end,
                "deadline_at": deadline_at,
                "next_action_at": next_action_at,
                "manual": manual,
                "status": status,
                "state": state or {},
                "created_at": at,
            },
        )

    async def create_many(self, occurrences: Sequence[dict[str, Any]]) -> None:
        """:meth:`create` for many occurrences in one statement (the dispatch tick's batch).

        Each dict holds :meth:`create`'s arguments (``at`` → ``created_at``); an occurrence whose
        (enrollment, occurrence_key) exists is skipped, as with :meth:`create`.
        """
        if not occurrences:
            return
        rows = [
            {
                "period_end": None,
                "deadline_at": None,
                "next_action_at": None,
                "manual": False,
                "status": "pending",
                "severity": "none",
                "version": 1,
                **{k: v for k, v in o.items() if k != "at"},
                "state": o.get("state") or {},
                "created_at": o["at"],
            }
            for o in occurrences
        ]
        statement = insert_ignoring(self.session, CheckIn, ["enrollment_id", "occurrence_key"])
        await self.session.execute(statement, rows)

    async def get(self, checkin_id: int, *, with_answers: bool = False) -> CheckIn | None:
        if not with_answers:
            return await self.session.get(CheckIn, checkin_id)
        statement = (
            select(CheckIn).where(CheckIn.id == checkin_id).options(selectinload(CheckIn.answers))
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def require(self, checkin_id: int) -> CheckIn:
        checkin = await self.get(checkin_id)
        if checkin is None:
            raise NotFound(f"check-in {checkin_id} not found")
        return checkin

    async def get_many(self, checkin_ids: Collection[int], *, lock: bool = False) -> list[CheckIn]:
        """Check-ins in id order; ``lock`` (PostgreSQL) locks their rows until the end of the
        transaction, as :meth:`save_many` needs."""
        if not checkin_ids:
            return []
        statement = select(CheckIn).where(CheckIn.id.in_(checkin_ids)).order_by(CheckIn.id)
        if lock:
            statement = statement.with_for_update()
        return list(await self.session.scalars(statement))

    async def save_many(self, checkins: Sequence[CheckIn]) -> None:
        """Write the changes of many check-ins in one statement, then detach them.

        For check-ins loaded with ``get_many(lock=True)`` in this transaction (SQLite: any, its
        writers are serialised). The ORM would write each row on its own, because its version
        check needs a row count per row, which asyncpg's executemany does not report; a locked
        row cannot have moved since it was read, so one executemany with the same condition
        (``version`` as read, then + 1) is as safe. A check-in with a change outside the
        conversation columns is left to the ORM; one without changes is left alone.
        """
        rows: list[dict[str, Any]] = []
        others = frozenset(inspect(CheckIn).attrs.keys()) - frozenset(_CONVERSATION_COLUMNS)
        for checkin in checkins:
            state = inspect(checkin)
            if not state.modified or state.unmodified_intersection(others) != others:
                continue
            row = {column: getattr(checkin, column) for column in _CONVERSATION_COLUMNS}
            rows.append(row | {"b_id": checkin.id, "b_version": checkin.version})
            # Out of the session first: its autoflush must not write the row a second time.
            self.session.expunge(checkin)
        if not rows:
            return
        table = cast(Table, CheckIn.__table__)
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
            .values(
                version=table.c.version + 1,
                **{column: bindparam(column) for column in _CONVERSATION_COLUMNS},
            )
        )
        await self.session.execute(statement, rows)

    async def by_occurrence(self, enrollment_id: int, occurrence_key: str) -> CheckIn | None:
        statement = select(CheckIn).where(
            CheckIn.enrollment_id == enrollment_id, CheckIn.occurrence_key == occurrence_key
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def in_progress_for(self, patient_id: int) -> CheckIn | None:
        """The patient's check-in in progress (the latest, should there be several)."""
        return await self._latest(patient_id, ("in_progress",))

    async def in_progress_for_many(self, patient_ids: Collection[int]) -> dict[int, CheckIn]:
        """:meth:`in_progress_for` of many patients: patient id → check-in in progress."""
        if not patient_ids:
            return {}
        statement = (
            select(CheckIn)
            .where(CheckIn.patient_id.in_(patient_ids), CheckIn.status == "in_progress")
            .order_by(CheckIn.scheduled_for, CheckIn.id)
        )
        # Ascending order: the latest of each patient is written last and wins.
        return {c.patient_id: c for c in await self.session.scalars(statement)}

    async def open_for(self, patient_id: int) -> list[CheckIn]:
        """The patient's pending and in-progress check-ins, oldest first."""
        statement = (
            select(CheckIn)
            .where(CheckIn.patient_id == patient_id, CheckIn.status.in_(OPEN_STATUSES))
            .order_by(CheckIn.scheduled_for, CheckIn.id)
        )
        return list(await self.session.scalars(statement))

    async def last_completed(
        self,
        patient_id: int,
        *,
        program_id: str | None = None,
        before: datetime | None = None,
        exclude_id: int | None = None,
    ) -> CheckIn | None:
        """The latest completed check-in with its answers loaded (the "previous" values)."""
        given = {"program_id": program_id, "before": before, "exclude_id": exclude_id}
        params = {"patient_id": patient_id} | {k: v for k, v in given.items() if v is not None}
        statement = _last_completed(*(given[k] is not None for k in given))
        return (await self.session.scalars(statement, params)).first()

    async def list_for_patient(self, patient_id: int, *, limit: int = 50) -> list[CheckIn]:
        """The patient's check-ins, newest first, with answers."""
        statement = (
            select(CheckIn)
            .where(CheckIn.patient_id == patient_id)
            .options(selectinload(CheckIn.answers))
            .order_by(CheckIn.scheduled_for.desc(), CheckIn.id.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(statement))

    async def recent_statuses(self, enrollment_id: int, *, limit: int = 2) -> list[str]:
        """Statuses of the enrollment's latest finished occurrences, newest first."""
        statement = (
            select(CheckIn.status)
            .where(
                CheckIn.enrollment_id == enrollment_id,
                CheckIn.status.in_(("completed", "missed")),
            )
            .order_by(CheckIn.scheduled_for.desc(), CheckIn.id.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(statement))

    async def release(self, checkin_ids: Collection[int]) -> None:
        """Give up claims without changing anything else (the work will be retried)."""
        if checkin_ids:
            await self.session.execute(
                update(CheckIn)
                .where(CheckIn.id.in_(checkin_ids))
                .values(claimed_by=None, claimed_until=None)
                .execution_options(synchronize_session="fetch")
            )

    async def record_answer(
        self,
        checkin_id: int,
        patient_id: int,
        question_id: str,
        *,
        raw_text: str,
        at: datetime,
        value_num: float | None = None,
        value_text: str | None = None,
        unit: str | None = None,
        needs_review: bool = False,
    ) -> Answer:
        """Store the answer to a question (a repeated answer to the same question replaces it),
        in one ``INSERT … ON CONFLICT (checkin_id, question_id) DO UPDATE``."""
        statement = _answer_upsert(self.dialect)
        values = {
            "checkin_id": checkin_id,
            "patient_id": patient_id,
            "question_id": question_id,
            "raw_text": raw_text,
            "value_num": value_num,
            "value_text": value_text,
            "unit": unit,
            "needs_review": needs_review,
            "answered_at": at,
        }
        result = await self.session.scalars(
            statement, values, execution_options={"populate_existing": True}
        )
        answer: Answer = result.one()
        return answer

    async def readings(
        self,
        patient_id: int,
        question_id: str,
        *,
        since: datetime | None = None,
        limit: int = 500,
    ) -> list[Reading]:
        """Numeric answers of the patient to a question, oldest first."""
        params: dict[str, Any] = {"patient_id": patient_id, "question_id": question_id}
        if since is not None:
            params["since"] = since
        rows = (await self.session.execute(_readings(since is not None, limit), params)).all()
        return [
            Reading(at=at, value=float(value), unit=unit, checkin_id=checkin_id)
            for at, value, unit, checkin_id in reversed(rows)
            if value is not None
        ]

    async def _latest(self, patient_id: int, statuses: tuple[str, ...]) -> CheckIn | None:
        statement = _latest(statuses)
        return (await self.session.scalars(statement, {"patient_id": patient_id})).first()


_ANSWER_COLUMNS = ("raw_text", "value_num", "value_text", "unit", "needs_review", "answered_at")
"""What a repeated answer to the same question replaces (see ``record_answer``)."""


@functools.lru_cache(maxsize=4)
def _answer_upsert(dialect: str) -> Any:
    """``INSERT INTO answers … ON CONFLICT (checkin_id, question_id) DO UPDATE … RETURNING``,
    built once per dialect (the values are parameters)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Answer)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["checkin_id", "question_id"],
        set_={column: excluded[column] for column in _ANSWER_COLUMNS},
    ).returning(Answer)


# Statements of the per-message paths, built once (their values are parameters): building a
# statement and its cache key cost more than running it on a small table.


@functools.lru_cache(maxsize=8)
def _latest(statuses: tuple[str, ...]) -> Any:
    return (
        select(CheckIn)
        .where(CheckIn.patient_id == bindparam("patient_id"), CheckIn.status.in_(statuses))
        .order_by(CheckIn.scheduled_for.desc(), CheckIn.id.desc())
        .limit(1)
    )


@functools.lru_cache(maxsize=8)
def _last_completed(program: bool, before: bool, exclude: bool) -> Any:
    statement = select(CheckIn).where(
        CheckIn.patient_id == bindparam("patient_id"), CheckIn.status == "completed"
    )
    if program:
        statement = statement.where(CheckIn.program_id == bindparam("program_id"))
    if before:
        statement = statement.where(CheckIn.scheduled_for < bindparam("before"))
    if exclude:
        statement = statement.where(CheckIn.id != bindparam("exclude_id"))
    return (
        statement.options(selectinload(CheckIn.answers))
        .order_by(CheckIn.scheduled_for.desc(), CheckIn.id.desc())
        .limit(1)
    )


@functools.lru_cache(maxsize=8)
def _readings(since: bool, limit: int) -> Any:
    statement = select(Answer.answered_at, Answer.value_num, Answer.unit, Answer.checkin_id).where(
        Answer.patient_id == bindparam("patient_id"),
        Answer.question_id == bindparam("question_id"),
        Answer.value_num.is_not(None),
    )
    if since:
        statement = statement.where(Answer.answered_at >= bindparam("since"))
    return statement.order_by(Answer.answered_at.desc(), Answer.id.desc()).limit(limit)
