"""Patient import throughput: a generated 10,000-row file into a fresh database, as JSON.

    .venv/bin/python -m bench.import_bench [--rows N]

Prints one JSON line per engine: SQLite always, PostgreSQL too when
``CAREBOT_TEST_POSTGRES_URL`` is set (a scratch database is created next to it and dropped).
``seconds`` is the first import (every row created, half with a family contact);
``reimport_seconds``
is the same file again (every row unchanged).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.config import load_settings
from bot.importing import import_managers, import_patients
from bot.importing.patient_rows import PATIENT_COLUMNS
from outreach.clock import ManualClock
from storage.engine import Database, normalize_url
from storage.migrate import upgrade
from tests.scratch import scratch_postgres

MANAGERS = "email,name,phone,role,backup,timezone\nbench@clinic.example,Bench,,care_manager,,\n"
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
PROGRAMS = ("general", "heart_failure", "copd", "diabetes", "depression")


def patients_file(path: Path, rows: int) -> None:
    lines = [",".join(PATIENT_COLUMNS)]
    for n in range(rows):
        phone = f"+1 202 555 {n % 100:04d}"
        day = f"{n % 28 + 1}" if n % 3 else "last fri"
        family = f"Kin {n},spouse,+1 303 555 {n % 100:04d},sms,,escalation;summary" if n % 2 else ""
        lines.append(
            f"B{n:06d},Patient {n},{phone},{ZONES[n % 4]},{'es' if n % 5 == 0 else 'en'},"
            f"{'voice' if n % 7 == 0 else 'sms'},{PROGRAMS[n % 5]},bench@clinic.example,{day},"
            f"{9 + n % 8:02d}:30,{150 + n % 60} lb,{family or ',,,,,'}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def measure(engine: str, url: str, folder: Path, rows: int) -> dict[str, object]:
    await upgrade(url)
    settings = load_settings({"DATABASE_URL": url}, env_file=None)
    clock = ManualClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    managers, patients = folder / "managers.csv", folder / f"patients-{rows}.csv"
    managers.write_text(MANAGERS)
    if not patients.exists():
        patients_file(patients, rows)
    async with Database.from_url(url) as db:
        await import_managers(db, clock, settings, managers)
        started = time.perf_counter()
        report = await import_patients(db, clock, settings, patients)
        seconds = time.perf_counter() - started
        assert report.created == rows, report.summary()
        started = time.perf_counter()
        again = await import_patients(db, clock, settings, patients)
        reimport = time.perf_counter() - started
        assert again.unchanged == rows, again.summary()
    return {
        "engine": engine,
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "reimport_seconds": round(reimport, 3),
    }


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        print(json.dumps(await measure("sqlite", url, folder, rows)), flush=True)
        base = os.environ.get("CAREBOT_TEST_POSTGRES_URL")
        if base:
            base = normalize_url(base).render_as_string(hide_password=False)
            async with scratch_postgres(base, "carebot_bench") as pg_url:
                print(json.dumps(await measure("postgresql", pg_url, folder, rows)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().rows))
