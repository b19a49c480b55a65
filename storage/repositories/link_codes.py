"""One-time Telegram deep-link codes: stored hashed, redeemed once, expiring."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import update

from storage.models import LinkCode
from storage.repositories.base import Repository


def hash_secret(value: str) -> str:
    """SHA-256 hex: the codes and tokens are random (≥ 192 bits), so no slow hash is needed."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_code() -> str:
    """A URL-safe code (``[A-Za-z0-9_-]``, 32 characters) for ``/start <code>``."""
    return secrets.token_urlsafe(24)


class LinkCodeRepository(Repository):
    async def create(
        self,
        *,
        expires_at: datetime,
        at: datetime,
        patient_id: int | None = None,
        family_contact_id: int | None = None,
        care_manager_id: int | None = None,
        code: str | None = None,
    ) -> tuple[str, LinkCode]:
        """A new code for exactly one of patient, family contact or care manager; returns the
        plain code (shown once) and the row."""
        targets = [t for t in (patient_id, family_contact_id, care_manager_id) if t is not None]
        if len(targets) != 1:
            raise ValueError("a link code is for exactly one patient, family contact or manager")
        code = code or new_code()
        row = LinkCode(
            code_hash=hash_secret(code),
            patient_id=patient_id,
            family_contact_id=family_contact_id,
            care_manager_id=care_manager_id,
            expires_at=expires_at,
            created_at=at,
        )
        self.session.add(row)
        await self.session.flush()
        return code, row

    async def redeem(self, code: str, now: datetime) -> LinkCode | None:
        """Use a code: the row if it was unused and unexpired, else None. One statement, so two
        concurrent redemptions cannot both succeed."""
        statement = (
            update(LinkCode)
            .where(
                LinkCode.code_hash == hash_secret(code),
                LinkCode.used_at.is_(None),
                LinkCode.expires_at > now,
            )
            .values(used_at=now)
            .returning(LinkCode)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(statement)).one_or_none()
