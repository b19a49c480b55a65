"""The demo's summary figures, counted from the database after the simulated month."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from rich.table import Table
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.engine import Database
from storage.models import CheckIn, Consent, Escalation, EscalationEvent, Message, Notification

SEVERITIES = ("emergency", "urgent", "routine")


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the simulated month did. Check-ins count those scheduled inside it (not the
    history seeded a month back); ``checkins_open`` are still waiting at the end."""

    days: int
    patients: int
    checkins_sent: int
    checkins_completed: int
    checkins_missed: int
    checkins_cancelled: int
    checkins_open: int
    escalations: dict[str, int] = field(default_factory=dict)
    ladder_steps: int = 0
    median_ack_minutes: float | None = None
    ack_minutes: dict[str, float] = field(default_factory=dict)
    """Median minutes to acknowledge, per severity."""
    family_notifications: int = 0
    opt_outs: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    wall_seconds: float = 0.0

    def table(self) -> Table:
        table = Table(title=f"carebot demo: {self.days} simulated days", show_header=False)
        table.add_column("figure")
        table.add_column("value", justify="right")
        rows = [
            ("patients", self.patients),
            ("check-ins sent", self.checkins_sent),
            ("  completed", self.checkins_completed),
            ("  missed", self.checkins_missed),
            ("  cancelled (opted out)", self.checkins_cancelled),
            ("  still open at the end", self.checkins_open),
            *((f"escalations: {s}", self.escalations.get(s, 0)) for s in SEVERITIES),
            ("ladder steps (unacknowledged in time)", self.ladder_steps),
            ("median time to acknowledge", _minutes(self.median_ack_minutes)),
            *(
                (f"  {s}", _minutes(self.ack_minutes[s]))
                for s in SEVERITIES
                if s in self.ack_minutes
            ),
            ("family notifications", self.family_notifications),
            ("opt-outs (STOP)", self.opt_outs),
            ("messages sent / received", f"{self.messages_sent} / {self.messages_received}"),
            ("wall time", f"{self.wall_seconds:.1f} s"),
        ]
        for name, value in rows:
            table.add_row(name, str(value))
        return table


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} min"


async def summarize(
    db: Database, start: datetime, end: datetime, *, days: int, patients: int, wall: float
) -> DemoSummary:
    """The figures of what happened from ``start`` (the seeded history before it is left out)."""
    async with db.session() as session:
        statuses = await _checkins(session, start)
        counts = await _counts(session, start, end)
        escalations = list(
            await session.scalars(select(Escalation).where(Escalation.created_at >= start))
        )
    waits: dict[str, list[float]] = {}
    by_severity: dict[str, int] = {}
    for escalation in escalations:
        by_severity[escalation.severity] = by_severity.get(escalation.severity, 0) + 1
        if escalation.acked_at is not None:
            minutes = (escalation.acked_at - escalation.created_at).total_seconds() / 60
            waits.setdefault(escalation.severity, []).append(minutes)
    every_wait = [m for values in waits.values() for m in values]
    return DemoSummary(
        days=days,
        patients=patients,
        checkins_sent=counts["sent"],
        checkins_completed=statuses.get("completed", 0),
        checkins_missed=statuses.get("missed", 0),
        checkins_cancelled=statuses.get("cancelled", 0),
        checkins_open=statuses.get("pending", 0) + statuses.get("in_progress", 0),
        escalations=by_severity,
        ladder_steps=counts["ladder"],
        median_ack_minutes=median(every_wait) if every_wait else None,
        ack_minutes={s: median(v) for s, v in waits.items()},
        family_notifications=counts["family"],
        opt_outs=counts["opt_outs"],
        messages_sent=counts["out"],
        messages_received=counts["in"],
        wall_seconds=wall,
    )


async def _counts(session: AsyncSession, start: datetime, end: datetime) -> dict[str, int]:
    statements: dict[str, Select[int]] = {
        "sent": select(func.count(CheckIn.id)).where(
            CheckIn.scheduled_for >= start, CheckIn.started_at.is_not(None)
        ),
        "ladder": select(func.count(EscalationEvent.id)).where(
            EscalationEvent.kind == "laddered", EscalationEvent.at >= start
        ),
        "family": select(func.count(Notification.id)).where(
            Notification.kind.startswith("family_"), Notification.created_at >= start
        ),
        "opt_outs": select(func.count(Consent.id)).where(
            Consent.granted.is_(False), Consent.recorded_at >= start
        ),
    }
    counts = {name: int(await session.scalar(q) or 0) for name, q in statements.items()}
    messages = await session.execute(
        select(Message.direction, func.count(Message.id))
        .where(Message.created_at >= start, Message.created_at <= end)
        .group_by(Message.direction)
    )
    counts.update({"in": 0, "out": 0})
    counts.update({direction: int(n) for direction, n in messages})
    return counts


async def _checkins(session: AsyncSession, start: datetime) -> dict[str, int]:
    rows = await session.execute(
        select(CheckIn.status, func.count(CheckIn.id))
        .where(CheckIn.scheduled_for >= start)
        .group_by(CheckIn.status)
    )
    return {status: int(count) for status, count in rows}
