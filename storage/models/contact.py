"""The contact log, the outbound outbox, the inbound inbox and notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, created_at


class Message(Base):
    """The contact log: every message in and out.

    status (out): queued, sending, sent, delivered, undelivered, failed, expired, cancelled;
    (in): received. ``status_history`` is a list of ``[status, iso time]`` pairs.
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_patient_created", "patient_id", "created_at"),
        Index("ix_messages_provider_id", "provider_id"),
        Index("ix_messages_address_created", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32), default="")
    """question, reminder, closing, emergency, crisis, stop_confirm, help, alert, family, reply…"""
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"))
    family_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("family_contacts.id", ondelete="SET NULL")
    )
    care_manager_id: Mapped[int | None] = mapped_column(ForeignKey("care_managers.id"))
    checkin_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkins.id", ondelete="SET NULL"), index=True
    )
    provider_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    status_history: Mapped[list[Any]] = mapped_column(default=list)
    error_code: Mapped[str | None] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    flagged: Mapped[bool] = mapped_column(default=False)
    """Needs a person to look: unmatched sender, unparseable answer, shared phone."""
    created_at: Mapped[datetime] = created_at()
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]


class OutboxItem(Base):
    """A message waiting to be handed to its provider; state: pending, sending, sent, failed,
    expired, cancelled."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    address: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str] = mapped_column(String(8), default="en")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()

    message: Mapped[Message] = relationship(lazy="raise")


class ProcessedWebhook(Base):
    """The inbox: an authentic webhook committed before its 2xx, processed once from here."""

    __tablename__ = "processed_webhooks"
    __table_args__ = (
        UniqueConstraint("provider", "external_id"),
        Index("ix_processed_webhooks_pending", "processed_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))


class Notification(Base):
    """An alert to a care manager or a notice to a family member, with its ladder rung."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    """alert, ladder, family_escalation, family_unreachable, family_summary, opt_out_note…"""
    escalation_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalations.id", ondelete="CASCADE"), index=True
    )
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    care_manager_id: Mapped[int | None] = mapped_column(ForeignKey("care_managers.id"))
    family_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("family_contacts.id", ondelete="CASCADE")
    )
    rung: Mapped[int] = mapped_column(default=0)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()
    note: Mapped[str | None] = mapped_column(Text)


class SchedulerLock(Base):
    """A named lease: with SQLite exactly one process may run the scheduler ticks."""

    __tablename__ = "scheduler_locks"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
