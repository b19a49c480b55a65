"""REST API tokens of care-team members (stored hashed)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select

from storage.models import ApiToken
from storage.repositories.base import Repository
from storage.repositories.link_codes import hash_secret


class ApiTokenRepository(Repository):
    async def create(
        self, care_manager_id: int, name: str, *, at: datetime, token: str | None = None
    ) -> tuple[str, ApiToken]:
        """A new token; returns the plain token (shown once) and the row."""
        token = token or secrets.token_urlsafe(32)
        row = ApiToken(
            care_manager_id=care_manager_id, name=name, token_hash=hash_secret(token), created_at=at
        )
        self.session.add(row)
        await self.session.flush()
        return token, row

    async def authenticate(self, token: str) -> ApiToken | None:
        """The unrevoked token row for ``token``, or None."""
        statement = select(ApiToken).where(
            ApiToken.token_hash == hash_secret(token), ApiToken.revoked_at.is_(None)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def revoke(self, token_id: int, at: datetime) -> bool:
        row = await self.session.get(ApiToken, token_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = at
        await self.session.flush()
        return True

    async def list_for(self, care_manager_id: int) -> list[ApiToken]:
        statement = (
            select(ApiToken)
            .where(ApiToken.care_manager_id == care_manager_id)
            .order_by(ApiToken.id)
        )
        return list(await self.session.scalars(statement))
