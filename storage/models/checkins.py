"""Programs, enrollments, check-ins and answers: the outreach schedule as rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, created_at
from storage.models.people import Patient


class ProgramRow(Base):
    """A program known to the database (the questions live in the YAML file)."""

    __tablename__ = "programs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime | None]


class Enrollment(Base):
    """A patient in a program with a cadence; ``next_due_at`` drives the dispatch tick."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("patient_id", "program_id"),
        Index("ix_enrollments_due", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    cadence_day: Mapped[str] = mapped_column(String(32))
    cadence_time: Mapped[str] = mapped_column(String(5))
    anchor_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime | None]
    """UTC; NULL while paused or not yet scheduled."""
    paused: Mapped[bool] = mapped_column(default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    consecutive_missed: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = created_at()

    patient: Mapped[Patient] = relationship(lazy="raise")


class CheckIn(Base):
    """One occurrence of a check-in; ``state`` is the conversation state as JSON.

    status: pending, in_progress, completed, missed, cancelled. ``next_action_at`` is when the
    reminder/timeout tick must look at it next (NULL when nothing is due).
    """

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "occurrence_key"),
        Index("ix_checkins_next_action", "next_action_at"),
        Index("ix_checkins_patient_status", "patient_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    occurrence_key: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[datetime]
    period_end: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    manual: Mapped[bool] = mapped_column(default=False)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    next_action_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    severity: Mapped[str] = mapped_column(String(16), default="none")
    version: Mapped[int] = mapped_column(default=1)
    """Optimistic lock: two processes stepping one conversation at once cannot both win."""
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    answers: Mapped[list[Answer]] = relationship(
        back_populates="checkin", lazy="raise", order_by="Answer.id"
    )


class Answer(Base):
    """A patient's answer to one question of one check-in."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("checkin_id", "question_id"),
        # Trend charts and change rules read one patient's answers to one question over time.
        Index("ix_answers_patient_question", "patient_id", "question_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    raw_text: Mapped[str] = mapped_column(Text, default="")
    value_num: Mapped[float | None]
    value_text: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(16))
    needs_review: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime]

    checkin: Mapped[CheckIn] = relationship(back_populates="answers", lazy="raise")
