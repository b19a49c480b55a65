"""Programs known to the database (their questions live in the YAML files)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.models import ProgramRow
from storage.repositories.base import Repository


class ProgramRepository(Repository):
    async def get(self, program_id: str) -> ProgramRow | None:
        return await self.session.get(ProgramRow, program_id)

    async def list_all(self) -> list[ProgramRow]:
        return list(await self.session.scalars(select(ProgramRow).order_by(ProgramRow.id)))

    async def upsert(self, program_id: str, name: str, digest: str, *, at: datetime) -> ProgramRow:
        """Register a loaded program file (``digest`` tells when its content changed)."""
        program = await self.get(program_id)
        if program is None:
            program = ProgramRow(id=program_id, name=name, digest=digest, updated_at=at)
            self.session.add(program)
        elif (program.name, program.digest) != (name, digest):
            program.name, program.digest, program.updated_at = name, digest, at
        await self.session.flush()
        return program
