"""Alembic migrations: the only way the schema changes (``carebot db upgrade``)."""
