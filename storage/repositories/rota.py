"""The on-call rota: who is on call or supervising, when."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from storage.models import OncallRota
from storage.repositories.base import Repository


@dataclass(frozen=True, slots=True)
class RotaEntry:
    """One rota line: ``days`` e.g. ``mon-fri``, ``sat;sun`` or ``2026-12-25``; ``end`` may pass
    midnight; ``rung`` is ``oncall`` or ``supervisor``."""

    care_manager_id: int
    days: str
    start: str
    end: str
    timezone: str
    rung: str


class RotaRepository(Repository):
    async def replace_all(self, entries: Sequence[RotaEntry], *, at: datetime) -> list[OncallRota]:
        """Replace the whole rota (an import is the new truth) in the caller's transaction."""
        await self.session.execute(delete(OncallRota))
        rows = [
            OncallRota(
                care_manager_id=entry.care_manager_id,
                days=entry.days,
                start=entry.start,
                end=entry.end,
                timezone=entry.timezone,
                rung=entry.rung,
                created_at=at,
            )
            for entry in entries
        ]
        self.session.add_all(rows)
        await self.session.flush()
        return rows

    async def list_all(self, *, rung: str | None = None) -> list[OncallRota]:
        statement = select(OncallRota).order_by(OncallRota.rung, OncallRota.id)
        if rung is not None:
            statement = statement.where(OncallRota.rung == rung)
        return list(await self.session.scalars(statement))
