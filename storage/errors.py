"""Storage errors: the database cannot be reached, or its schema is older than the code."""

from __future__ import annotations

from outreach.errors import CarebotError


class DatabaseUnavailable(CarebotError, ConnectionError):
    """The database cannot be reached (refused, reset, timed out); retry later (webhooks: 503)."""


class SchemaOutOfDate(CarebotError, RuntimeError):
    """The database schema is not at the revision this code needs (`carebot db upgrade`)."""
