"""Escalations to the care team and the log of each of their steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, created_at
from storage.models.people import Patient


class Escalation(Base):
    """status: open, acknowledged, resolved. ``dedupe_key`` = ``patient:rule`` while not resolved
    (unique), NULL once resolved, so a repeat finding updates the open one."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_deadline", "status", "ack_deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    checkin_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkins.id", ondelete="SET NULL"), index=True
    )
    rule_id: Mapped[str] = mapped_column(String(96))
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    """Structured findings (Finding.to_dict())."""
    patient_words: Mapped[str | None] = mapped_column(Text)
    sensitive: Mapped[bool] = mapped_column(default=False)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("care_managers.id"))
    ack_deadline: Mapped[datetime | None]
    ladder_level: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    acked_by_id: Mapped[int | None] = mapped_column(ForeignKey("care_managers.id"))
    acked_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("care_managers.id"))
    resolved_at: Mapped[datetime | None]
    notes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship(lazy="raise")


class EscalationEvent(Base):
    """One step of an escalation: created, raised, alerted, laddered, acknowledged, resolved."""

    __tablename__ = "escalation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(
        ForeignKey("escalations.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("care_managers.id"))
    rung: Mapped[int] = mapped_column(default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
