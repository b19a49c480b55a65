"""Scratch PostgreSQL databases for the tests and the benchmarks (no pytest needed)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


@asynccontextmanager
async def scratch_postgres(base_url: str, prefix: str = "carebot_test") -> AsyncIterator[str]:
    """A new, empty PostgreSQL database next to ``base_url``'s; dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(base_url, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        try:
            yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
