"""The panel report's figures: per care manager, for one calendar month (SPEC §1, §10)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.engine import Database
from storage.models import CareManager, CheckIn, Escalation, Patient

UNRESOLVED = ("open", "acknowledged")


@dataclass(frozen=True, slots=True)
class PanelFigures:
    """One panel's month: check-ins by status, unresolved escalations, time to acknowledge.

    ``sent`` counts check-ins of the month whose first question went out; ``open_escalations``
    are unresolved now (open or acknowledged), ``unacknowledged`` the open ones among them.
    """

    manager_id: int | None
    name: str
    patients: int = 0
    sent: int = 0
    completed: int = 0
    missed: int = 0
    open_escalations: int = 0
    unacknowledged: int = 0
    escalations: int = 0
    """Escalations raised in the month."""
    median_ack_minutes: float | None = None

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.sent if self.sent else None


@dataclass(frozen=True, slots=True)
class PanelReport:
    month: date
    """The first day of the month."""
    timezone: str
    panels: list[PanelFigures] = field(default_factory=list)
    total: PanelFigures = field(default_factory=lambda: PanelFigures(None, "All panels"))

    @property
    def label(self) -> str:
        return self.month.strftime("%B %Y")


def month_bounds(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC, for the local calendar."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    start = datetime(first.year, first.month, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(following.year, following.month, 1, tzinfo=zone).astimezone(UTC)
    return start, end


async def panel_report(db: Database, month: date, *, timezone: str = "UTC") -> PanelReport:
    """The figures of every care manager's panel for ``month`` (any day of it), with months
    counted in ``timezone``. Reads aggregates only: no patient's data leaves the database."""
    start, end = month_bounds(month, ZoneInfo(timezone))
    async with db.session() as session:
        managers = await _managers(session)
        patients = await _grouped(
            session,
            select(Patient.care_manager_id, func.count(Patient.id))
            .where(Patient.status != "discharged")
            .group_by(Patient.care_manager_id),
        )
        checkins = await _checkin_counts(session, start, end)
        unresolved = await _unresolved(session)
        waits, raised = await _acknowledgements(session, start, end)
    panel_ids = [m for m in managers if managers[m][1] == "care_manager" or m in patients]
    panels = [
        PanelFigures(
            manager_id=manager_id,
            name=managers[manager_id][0],
            patients=patients.get(manager_id, 0),
            sent=checkins.get((manager_id, "sent"), 0),
            completed=checkins.get((manager_id, "completed"), 0),
            missed=checkins.get((manager_id, "missed"), 0),
            open_escalations=sum(n for (m, _), n in unresolved.items() if m == manager_id),
            unacknowledged=unresolved.get((manager_id, "open"), 0),
            escalations=raised.get(manager_id, 0),
            median_ack_minutes=_median(waits.get(manager_id, [])),
        )
        for manager_id in panel_ids
    ]
    return PanelReport(month.replace(day=1), timezone, panels, _total(panels, waits.values()))


async def _managers(session: AsyncSession) -> dict[int, tuple[str, str]]:
    """Active managers by id: (name, role), ordered by name."""
    rows = await session.execute(
        select(CareManager.id, CareManager.name, CareManager.role)
        .where(CareManager.active.is_(True))
        .order_by(func.lower(CareManager.name), CareManager.id)
    )
    return {manager_id: (name, role) for manager_id, name, role in rows}


async def _grouped(session: AsyncSession, statement: Select[int, int]) -> dict[int, int]:
    return {key: int(count) for key, count in (await session.execute(statement))}


async def _checkin_counts(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[tuple[int, str], int]:
    """(manager id, "sent" | status) → check-ins of the month in that panel."""
    in_month = (CheckIn.scheduled_for >= start, CheckIn.scheduled_for < end)
    by_status = await session.execute(
        select(Patient.care_manager_id, CheckIn.status, func.count(CheckIn.id))
        .join(Patient, Patient.id == CheckIn.patient_id)
        .where(*in_month)
        .group_by(Patient.care_manager_id, CheckIn.status)
    )
    counts = {(m, status): int(n) for m, status, n in by_status}
    sent = await session.execute(
        select(Patient.care_manager_id, func.count(CheckIn.id))
        .join(Patient, Patient.id == CheckIn.patient_id)
        .where(*in_month, CheckIn.started_at.is_not(None))
        .group_by(Patient.care_manager_id)
    )
    counts.update({(m, "sent"): int(n) for m, n in sent})
    return counts


async def _unresolved(session: AsyncSession) -> dict[tuple[int, str], int]:
    rows = await session.execute(
        select(Patient.care_manager_id, Escalation.status, func.count(Escalation.id))
        .join(Patient, Patient.id == Escalation.patient_id)
        .where(Escalation.status.in_(UNRESOLVED))
        .group_by(Patient.care_manager_id, Escalation.status)
    )
    return {(m, status): int(n) for m, status, n in rows}


async def _acknowledgements(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[dict[int, list[float]], dict[int, int]]:
    """Per panel: minutes from raise to acknowledgement of the month's escalations, and how
    many were raised."""
    rows = await session.execute(
        select(Patient.care_manager_id, Escalation.created_at, Escalation.acked_at)
        .join(Patient, Patient.id == Escalation.patient_id)
        .where(Escalation.created_at >= start, Escalation.created_at < end)
    )
    waits: dict[int, list[float]] = {}
    raised: dict[int, int] = {}
    for manager_id, created_at, acked_at in rows:
        raised[manager_id] = raised.get(manager_id, 0) + 1
        if acked_at is not None:
            minutes = (acked_at - created_at).total_seconds() / 60
            waits.setdefault(manager_id, []).append(minutes)
    return waits, raised


def _median(values: Sequence[float]) -> float | None:
    return float(median(values)) if values else None


def _total(panels: Sequence[PanelFigures], waits: Iterable[list[float]]) -> PanelFigures:
    return PanelFigures(
        manager_id=None,
        name="All panels",
        patients=sum(p.patients for p in panels),
        sent=sum(p.sent for p in panels),
        completed=sum(p.completed for p in panels),
        missed=sum(p.missed for p in panels),
        open_escalations=sum(p.open_escalations for p in panels),
        unacknowledged=sum(p.unacknowledged for p in panels),
        escalations=sum(p.escalations for p in panels),
        median_ack_minutes=_median([m for values in waits for m in values]),
    )
