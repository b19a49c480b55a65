"""A named lease row: with SQLite exactly one process runs the scheduler ticks."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from storage.models import SchedulerLock
from storage.repositories.base import Repository, insert_ignoring


class SchedulerLockRepository(Repository):
    """``acquire`` succeeds for a new lock, for its current holder, or once the lease expired.

    The holder renews well within ``ttl`` (e.g. every ttl/3); a crashed holder's lease simply
    runs out. Commit right after each call: the lease is what other processes see.
    """

    async def acquire(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        expires_at = now + ttl
        inserted = await self.session.execute(
            insert_ignoring(self.session, SchedulerLock, ["name"])
            .values(name=name, holder=holder, expires_at=expires_at)
            .returning(SchedulerLock.id)
        )
        if inserted.scalar_one_or_none() is not None:
            return True
        taken = await self.session.execute(
            update(SchedulerLock)
            .where(
                SchedulerLock.name == name,
                or_(SchedulerLock.holder == holder, SchedulerLock.expires_at <= now),
            )
            .values(holder=holder, expires_at=expires_at)
            .returning(SchedulerLock.id)
            .execution_options(synchronize_session=False)
        )
        return taken.scalar_one_or_none() is not None

    async def renew(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        """Extend the lease; False if ``holder`` no longer holds it (stop ticking then)."""
        renewed = await self.session.execute(
            update(SchedulerLock)
            .where(SchedulerLock.name == name, SchedulerLock.holder == holder)
            .values(expires_at=now + ttl)
            .returning(SchedulerLock.id)
            .execution_options(synchronize_session=False)
        )
        return renewed.scalar_one_or_none() is not None

    async def release(self, name: str, holder: str) -> bool:
        released = await self.session.execute(
            delete(SchedulerLock)
            .where(SchedulerLock.name == name, SchedulerLock.holder == holder)
            .returning(SchedulerLock.id)
            .execution_options(synchronize_session=False)
        )
        return released.scalar_one_or_none() is not None

    async def holder(self, name: str, now: datetime) -> str | None:
        """Who holds the lease now (None when free or expired)."""
        statement = select(SchedulerLock.holder).where(
            SchedulerLock.name == name, SchedulerLock.expires_at > now
        )
        return (await self.session.scalars(statement)).one_or_none()
