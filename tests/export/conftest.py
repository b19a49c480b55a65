"""One realistic panel per backend for the whole package, built once: the export only reads.

Building it through the check-in host takes seconds, so the tests share it instead of using
the function-scoped ``db`` fixture (which empties every table after each test). It lives in the
same session databases ``db`` uses, on SQLite and PostgreSQL, and is emptied before and after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from outreach.clock import ManualClock
from storage.engine import Database
from tests.conftest import BACKENDS, FIXED_NOW, empty_tables
from tests.export.scenario import PatientRows, build, rows_of


@dataclass
class Panel:
    db: Database
    clock: ManualClock
    ana: PatientRows
    ben: PatientRows


@pytest.fixture(scope="package", params=BACKENDS)
def panel_database(request: pytest.FixtureRequest) -> Database:
    """The session's migrated database of the parametrized backend (as ``migrated_database``)."""
    database: Database = request.getfixturevalue(f"{request.param}_database")
    return database


@pytest.fixture(scope="package")
async def panel(
    panel_database: Database, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Panel]:
    database = panel_database
    await empty_tables(database, truncate=False)
    clock = ManualClock(FIXED_NOW)
    await build(database, clock, tmp_path_factory.mktemp("export-host"))
    yield Panel(database, clock, await rows_of(database, "P1"), await rows_of(database, "P2"))
    await empty_tables(database, truncate=False)
