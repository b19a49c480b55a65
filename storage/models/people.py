"""People and their permissions: care managers, patients, family contacts, consents, rota."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, created_at


class CareManager(Base):
    """A member of the care team: role care_manager, supervisor or admin."""

    __tablename__ = "care_managers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20), default="care_manager")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    telegram_chat_id: Mapped[str | None] = mapped_column(String(32), index=True)
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("care_managers.id"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at()

    backup: Mapped[CareManager | None] = relationship(remote_side=[id], lazy="raise")


class Patient(Base):
    """An enrolled patient. ``status``: active, paused, opted_out, awaiting_link, discharged."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(32), index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    channel: Mapped[str] = mapped_column(String(16))
    care_manager_id: Mapped[int] = mapped_column(ForeignKey("care_managers.id"), index=True)
    baseline: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="active")
    window_start: Mapped[str | None] = mapped_column(String(5))
    window_end: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime | None]

    care_manager: Mapped[CareManager] = relationship(lazy="raise")
    family_contacts: Mapped[list[FamilyContact]] = relationship(
        back_populates="patient", lazy="raise", order_by="FamilyContact.id"
    )


class FamilyContact(Base):
    """A family member or caregiver with their own channel, language and notify scope."""

    __tablename__ = "family_contacts"
    __table_args__ = (UniqueConstraint("patient_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    relationship_: Mapped[str] = mapped_column("relationship", String(64), default="")
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64), index=True)
    """A channel address: ``tel:+1…`` or ``telegram:<chat id>`` once linked."""
    phone: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8), default="en")
    notify_on: Mapped[list[Any]] = mapped_column(default=list)
    """Consent scope: any of escalation, unreachable, summary."""
    window_start: Mapped[str | None] = mapped_column(String(5))
    window_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()

    patient: Mapped[Patient] = relationship(back_populates="family_contacts", lazy="raise")


class Consent(Base):
    """One consent event; every grant and every revocation is a new row (never updated)."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_lookup", "channel", "address", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    family_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("family_contacts.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(16))
    """patient, family or representative."""
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(64), default="checkins")
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(String(32))
    """import, keyword, telegram_link, dashboard, provider (21610 / blocked)."""
    text_version: Mapped[str] = mapped_column(String(32), default="v1")
    language: Mapped[str] = mapped_column(String(8), default="en")
    recorded_at: Mapped[datetime]


class OncallRota(Base):
    """Who is on call (or supervising) for a time window; end may pass midnight."""

    __tablename__ = "oncall_rota"

    id: Mapped[int] = mapped_column(primary_key=True)
    care_manager_id: Mapped[int] = mapped_column(
        ForeignKey("care_managers.id", ondelete="CASCADE"), index=True
    )
    days: Mapped[str] = mapped_column(String(64))
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    rung: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at()


class LinkCode(Base):
    """A one-time Telegram deep-link code (stored hashed), single use and expiring."""

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    family_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("family_contacts.id", ondelete="CASCADE")
    )
    care_manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("care_managers.id", ondelete="CASCADE")
    )
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()


class ApiToken(Base):
    """A REST API token (stored hashed) belonging to a care-team member."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    care_manager_id: Mapped[int] = mapped_column(ForeignKey("care_managers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at()
    revoked_at: Mapped[datetime | None]


class AuditLog(Base):
    """Who read or changed what, when (dashboard, API, CLI and system)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("care_managers.id"))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str | None] = mapped_column(Text)
