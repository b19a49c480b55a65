"""Escalations to the care team: one open escalation per (patient, rule), and its event log."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, case, select

from storage.models import Escalation, EscalationEvent
from storage.repositories.base import Repository, insert_or_none

SEVERITY_ORDER = ("emergency", "urgent", "routine", "none")
ACTIVE = ("open", "acknowledged")


def severity_rank(severity: str) -> int:
    """0 for the most severe; unknown severities sort last."""
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def dedupe_key(patient_id: int, rule_id: str) -> str:
    return f"{patient_id}:{rule_id}"[:128]


class Raised(NamedTuple):
    """``created``: a new escalation; ``severity_raised``: an existing one got more severe (it
    is open again with the new deadline and must be alerted again)."""

    escalation: Escalation
    created: bool
    severity_raised: bool


class EscalationRepository(Repository):
    async def raise_or_update(
        self,
        *,
        patient_id: int,
        rule_id: str,
        severity: str,
        reasons: Sequence[dict[str, Any]],
        at: datetime,
        ack_deadline: datetime | None,
        checkin_id: int | None = None,
        patient_words: str | None = None,
        sensitive: bool = False,
        assignee_id: int | None = None,
    ) -> Raised:
        """Open an escalation, or update the one not yet resolved for (patient, rule).

        An update adds new reasons, keeps the latest words, and when the severity rises makes
        it open again at the new severity and deadline, back on the first rung.
        """
        key = dedupe_key(patient_id, rule_id)
        values = {
            "patient_id": patient_id,
            "checkin_id": checkin_id,
            "rule_id": rule_id,
            "dedupe_key": key,
            "severity": severity,
            "status": "open",
            "reasons": list(reasons),
            "patient_words": patient_words,
            "sensitive": sensitive,
            "assignee_id": assignee_id,
            "ack_deadline": ack_deadline,
            "created_at": at,
        }
        escalation: Escalation | None = None
        while escalation is None:
            created = await insert_or_none(self.session, Escalation, ["dedupe_key"], values)
            if created is not None:
                await self.add_event(created.id, "created", at, detail={"severity": severity})
                return Raised(created, True, False)
            # None again only if it was resolved in between: then the insert succeeds.
            escalation = await self._locked(Escalation.dedupe_key == key)
        escalation.reasons = list(escalation.reasons) + [
            reason for reason in reasons if reason not in escalation.reasons
        ]
        escalation.patient_words = patient_words or escalation.patient_words
        escalation.sensitive = escalation.sensitive or sensitive
        escalation.checkin_id = checkin_id or escalation.checkin_id
        escalation.updated_at = at
        raised = severity_rank(severity) < severity_rank(escalation.severity)
        if raised:
            escalation.severity = severity
            escalation.status = "open"
            escalation.ack_deadline = ack_deadline
            escalation.ladder_level = 0
            escalation.acked_by_id = None
            escalation.acked_at = None
        await self.session.flush()
        await self.add_event(
            escalation.id, "updated", at, detail={"severity": severity, "raised": raised}
        )
        return Raised(escalation, False, raised)

    async def get(self, escalation_id: int) -> Escalation | None:
        return await self.session.get(Escalation, escalation_id)

    async def get_many(self, escalation_ids: Collection[int]) -> list[Escalation]:
        if not escalation_ids:
            return []
        statement = select(Escalation).where(Escalation.id.in_(escalation_ids))
        return list(await self.session.scalars(statement.order_by(Escalation.id)))

    async def acknowledge(self, escalation_id: int, by_id: int | None, at: datetime) -> bool:
        """open → acknowledged; False if it was not open (a second tap does nothing)."""
        escalation = await self._locked(Escalation.id == escalation_id)
        if escalation is None or escalation.status != "open":
            return False
        escalation.status = "acknowledged"
        escalation.acked_by_id = by_id
        escalation.acked_at = at
        escalation.updated_at = at
        escalation.claimed_by = escalation.claimed_until = None
        await self.add_event(escalation_id, "acknowledged", at, actor_id=by_id)
        return True

    async def resolve(
        self, escalation_id: int, by_id: int | None, at: datetime, note: str | None = None
    ) -> bool:
        """open/acknowledged → resolved (frees the dedupe key); False if resolved already."""
        escalation = await self._locked(Escalation.id == escalation_id)
        if escalation is None or escalation.status not in ACTIVE:
            return False
        if escalation.acked_at is None:
            escalation.acked_by_id, escalation.acked_at = by_id, at
        escalation.status = "resolved"
        escalation.dedupe_key = None
        escalation.resolved_by_id = by_id
        escalation.resolved_at = at
        escalation.updated_at = at
        escalation.claimed_by = escalation.claimed_until = None
        if note:
            escalation.notes = [*escalation.notes, _note(note, by_id, at)]
        await self.add_event(escalation_id, "resolved", at, actor_id=by_id)
        return True

    async def add_note(
        self, escalation_id: int, note: str, by_id: int | None, at: datetime
    ) -> None:
        escalation = await self._locked(Escalation.id == escalation_id)
        if escalation is not None:
            escalation.notes = [*escalation.notes, _note(note, by_id, at)]
            escalation.updated_at = at
            await self.add_event(escalation_id, "note", at, actor_id=by_id)

    async def climb(
        self,
        escalation_id: int,
        *,
        level: int,
        ack_deadline: datetime | None,
        at: datetime,
        assignee_id: int | None = None,
    ) -> bool:
        """Move an unacknowledged escalation to ladder rung ``level`` with a new deadline and
        release its claim; False if it is no longer open."""
        escalation = await self._locked(Escalation.id == escalation_id)
        if escalation is None or escalation.status != "open":
            return False
        escalation.ladder_level = level
        escalation.ack_deadline = ack_deadline
        if assignee_id is not None:
            escalation.assignee_id = assignee_id
        escalation.claimed_by = escalation.claimed_until = None
        escalation.updated_at = at
        await self.add_event(escalation_id, "laddered", at, rung=level)
        return True

    async def add_event(
        self,
        escalation_id: int,
        kind: str,
        at: datetime,
        *,
        actor_id: int | None = None,
        rung: int = 0,
        detail: dict[str, Any] | None = None,
    ) -> EscalationEvent:
        event = EscalationEvent(
            escalation_id=escalation_id,
            kind=kind,
            at=at,
            actor_id=actor_id,
            rung=rung,
            detail=detail or {},
        )
        self.session.add(event)
        await self.session.flush()
        return event

    async def events(self, escalation_id: int) -> list[EscalationEvent]:
        statement = (
            select(EscalationEvent)
            .where(EscalationEvent.escalation_id == escalation_id)
            .order_by(EscalationEvent.at, EscalationEvent.id)
        )
        return list(await self.session.scalars(statement))

    async def list_open(
        self,
        *,
        assignee_ids: Collection[int] | None = None,
        patient_ids: Collection[int] | None = None,
        statuses: Collection[str] = ACTIVE,
        limit: int = 200,
    ) -> list[Escalation]:
        """The queue: unresolved escalations, most severe first, then oldest first."""
        rank = case(
            {severity: index for index, severity in enumerate(SEVERITY_ORDER)},
            value=Escalation.severity,
            else_=len(SEVERITY_ORDER),
        )
        statement = select(Escalation).where(Escalation.status.in_(statuses))
        if assignee_ids is not None:
            statement = statement.where(Escalation.assignee_id.in_(assignee_ids))
        if patient_ids is not None:
            statement = statement.where(Escalation.patient_id.in_(patient_ids))
        statement = statement.order_by(rank, Escalation.created_at, Escalation.id).limit(limit)
        return list(await self.session.scalars(statement))

    async def for_patient(self, patient_id: int, *, limit: int = 100) -> list[Escalation]:
        statement = (
            select(Escalation)
            .where(Escalation.patient_id == patient_id)
            .order_by(Escalation.created_at.desc(), Escalation.id.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(statement))

    async def _locked(self, *criteria: ColumnElement[bool]) -> Escalation | None:
        """The escalation, row-locked until commit (PostgreSQL; SQLite serialises writers)."""
        statement = (
            select(Escalation)
            .where(*criteria)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(statement)).one_or_none()


def _note(text: str, by_id: int | None, at: datetime) -> dict[str, Any]:
    return {"at": at.isoformat(), "by": by_id, "text": text}
