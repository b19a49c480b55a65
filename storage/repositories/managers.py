"""Care managers, supervisors and admins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from outreach.errors import NotFound
from storage.models import CareManager
from storage.repositories.base import Repository


def normalize_email(email: str) -> str:
    return email.strip().lower()


class ManagerRepository(Repository):
    """Care-team members, found by id, email (case-insensitive) or linked Telegram chat."""

    async def get(self, manager_id: int) -> CareManager | None:
        return await self.session.get(CareManager, manager_id)

    async def by_email(self, email: str) -> CareManager | None:
        statement = select(CareManager).where(CareManager.email == normalize_email(email))
        return (await self.session.scalars(statement)).one_or_none()

    async def by_telegram_chat(self, chat_id: str) -> CareManager | None:
        statement = select(CareManager).where(CareManager.telegram_chat_id == chat_id)
        return (await self.session.scalars(statement.order_by(CareManager.id))).first()

    async def list_all(
        self, *, role: str | None = None, roles: Sequence[str] | None = None, active: bool = True
    ) -> list[CareManager]:
        """Managers ordered by name; ``active=False`` includes deactivated ones."""
        statement = select(CareManager).order_by(func.lower(CareManager.name), CareManager.id)
        if role is not None:
            statement = statement.where(CareManager.role == role)
        if roles is not None:
            statement = statement.where(CareManager.role.in_(roles))
        if active:
            statement = statement.where(CareManager.active.is_(True))
        return list(await self.session.scalars(statement))

    async def upsert_by_email(
        self,
        email: str,
        *,
        name: str,
        at: datetime,
        phone: str | None = None,
        role: str = "care_manager",
        timezone: str = "UTC",
    ) -> tuple[CareManager, bool]:
        """Create the manager or update name, phone, role and time zone; returns (row, created)."""
        manager = await self.by_email(email)
        if manager is None:
            manager = CareManager(
                email=normalize_email(email),
                name=name,
                phone=phone,
                role=role,
                timezone=timezone,
                created_at=at,
            )
            self.session.add(manager)
            await self.session.flush()
            return manager, True
        manager.name, manager.phone, manager.role, manager.timezone = name, phone, role, timezone
        await self.session.flush()
        return manager, False

    async def set_backup(self, manager_id: int, backup_id: int | None) -> None:
        """Set (or clear) a manager's backup; a manager cannot be their own backup."""
        if backup_id == manager_id:
            raise ValueError("a care manager cannot be their own backup")
        manager = await self._require(manager_id)
        manager.backup_id = backup_id
        await self.session.flush()

    async def set_telegram_chat(self, manager_id: int, chat_id: str | None) -> None:
        manager = await self._require(manager_id)
        manager.telegram_chat_id = chat_id
        await self.session.flush()

    async def set_password_hash(self, manager_id: int, password_hash: str | None) -> None:
        manager = await self._require(manager_id)
        manager.password_hash = password_hash
        await self.session.flush()

    async def set_active(self, manager_id: int, active: bool) -> None:
        manager = await self._require(manager_id)
        manager.active = active
        await self.session.flush()

    async def _require(self, manager_id: int) -> CareManager:
        manager = await self.get(manager_id)
        if manager is None:
            raise NotFound(f"care manager {manager_id} not found")
        return manager
