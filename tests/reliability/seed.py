"""Bulk seeding for the reliability runs: a monthly wave of due check-ins and a set of due
escalations with a full ladder (assignee, backup, on-call by rota, supervisor)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert

from storage.engine import Database
from storage.models import (
    CareManager,
    CheckIn,
    Consent,
    Enrollment,
    Escalation,
    OncallRota,
    Patient,
    ProgramRow,
)
from tests.privacy_plugin import remember

PROGRAM = "general"
TELEGRAM_CHAT_BASE = 7_000_000


def phone(n: int) -> str:
    return f"+1555{n:07d}"


def chat(n: int) -> int:
    return TELEGRAM_CHAT_BASE + n


@dataclass(frozen=True)
class Wave:
    count: int
    sms: list[str]
    telegram: list[str]

    @property
    def addresses(self) -> list[str]:
        return self.sms + self.telegram


async def ensure_program(db: Database, now: datetime) -> None:
    async with db.transaction() as session:
        if await session.get(ProgramRow, PROGRAM) is None:
            session.add(ProgramRow(id=PROGRAM, name="General", digest="", updated_at=now))


async def _manager(db: Database, now: datetime, **values: object) -> int:
    async with db.transaction() as session:
        return int(
            (
                await session.execute(
                    insert(CareManager)
                    .values(created_at=now, timezone="America/New_York", **values)
                    .returning(CareManager.id)
                )
            ).scalar_one()
        )


async def seed_wave(db: Database, now: datetime, count: int, *, telegram_every: int = 0) -> Wave:
    """``count`` patients whose monthly check-in is due at ``now``; every ``telegram_every``-th
    on Telegram (linked chat), the rest on SMS. A sample of the names and phones is remembered
    by the privacy plugin (all of them would slow its scan down for nothing)."""
    await ensure_program(db, now)
    manager_id = await _manager(db, now, email="wave@example.org", name="Wave Nurse")
    sms: list[str] = []
    telegram: list[str] = []
    patients: list[dict[str, object]] = []
    for n in range(count):
        on_telegram = telegram_every > 0 and n % telegram_every == telegram_every - 1
        name = f"Wavepatient Number{n:05d}"
        if n % 50 == 0:
            remember(name, phone(n))
        patients.append(
            {
                "external_id": f"W{n:06d}",
                "name": name,
                "phone": None if on_telegram else phone(n),
                "telegram_chat_id": str(chat(n)) if on_telegram else None,
                "timezone": "America/New_York",
                "language": "en",
                "channel": "telegram" if on_telegram else "sms",
                "care_manager_id": manager_id,
                "baseline": {},
                "status": "active",
                "created_at": now,
            }
        )
        (telegram if on_telegram else sms).append(
            f"telegram:{chat(n)}" if on_telegram else f"tel:{phone(n)}"
        )
    async with db.transaction() as session:
        ids = list(
            (await session.execute(insert(Patient).returning(Patient.id), patients)).scalars()
        )
        await session.execute(
            insert(Enrollment),
            [
                {
                    "patient_id": pid,
                    "program_id": PROGRAM,
                    "cadence_day": "2",
                    "cadence_time": "10:00",
                    "next_due_at": now,
                    "anchor_at": now,
                    "paused": False,
                    "consecutive_missed": 0,
                    "created_at": now,
                }
                for pid in ids
            ],
        )
        await session.execute(
            insert(Consent),
            [
                {
                    "patient_id": pid,
                    "subject": "patient",
                    "channel": row["channel"],
                    "address": (
                        f"telegram:{row['telegram_chat_id']}"
                        if row["channel"] == "telegram"
                        else f"tel:{row['phone']}"
                    ),
                    "scope": "checkins",
                    "granted": True,
                    "source": "import",
                    "text_version": "v1",
                    "language": "en",
                    "recorded_at": now,
                }
                for pid, row in zip(ids, patients, strict=True)
            ],
        )
    return Wave(count, sms, telegram)


@dataclass(frozen=True)
class Ladder:
    """The seeded team: phone of each rung's manager (rung → address)."""

    escalation_ids: list[int]
    rung_addresses: dict[int, str]


async def seed_escalations(db: Database, now: datetime, count: int) -> Ladder:
    """``count`` urgent escalations, unacknowledged and past their deadline at ``now``, each
    of its own patient, all assigned to one nurse whose ladder has every rung staffed."""
    await ensure_program(db, now)
    phones = {rung: f"+1202555{rung:04d}" for rung in range(4)}
    remember(*phones.values())
    backup = await _manager(db, now, email="backup@example.org", name="Bo Backup", phone=phones[1])
    nurse = await _manager(
        db, now, email="nurse@example.org", name="Nina Nurse", phone=phones[0], backup_id=backup
    )
    oncall = await _manager(db, now, email="oncall@example.org", name="Olu Oncall", phone=phones[2])
    await _manager(
        db, now, email="sup@example.org", name="Sue Super", phone=phones[3], role="supervisor"
    )
    remember("Nina Nurse", "Bo Backup", "Olu Oncall", "Sue Super")
    async with db.transaction() as session:
        session.add(
            OncallRota(
                care_manager_id=oncall,
                days="mon-sun",
                start="00:00",
                end="23:59",
                timezone="America/New_York",
                rung="oncall",
                created_at=now,
            )
        )
        rows = []
        for n in range(count):
            name = f"Ladderpatient Number{n:05d}"
            if n % 20 == 0:
                remember(name)
            rows.append(
                {
                    "external_id": f"L{n:06d}",
                    "name": name,
                    "phone": phone(500_000 + n),
                    "timezone": "America/New_York",
                    "language": "en",
                    "channel": "sms",
                    "care_manager_id": nurse,
                    "baseline": {},
                    "status": "active",
                    "created_at": now,
                }
            )
        patient_ids = list(
            (await session.execute(insert(Patient).returning(Patient.id), rows)).scalars()
        )
        escalation_ids = list(
            (
                await session.execute(
                    insert(Escalation).returning(Escalation.id),
                    [
                        {
                            "patient_id": pid,
                            "rule_id": "general.worse",
                            "dedupe_key": f"{pid}:general.worse",
                            "severity": "urgent",
                            "status": "open",
                            "reasons": [{"explanation": "Feeling worse than last month."}],
                            "sensitive": False,
                            "assignee_id": nurse,
                            "ack_deadline": now,
                            "ladder_level": 0,
                            "notes": [],
                            "created_at": now,
                        }
                        for pid in patient_ids
                    ],
                )
            ).scalars()
        )
    return Ladder(sorted(escalation_ids), {r: f"tel:{p}" for r, p in phones.items()})


__all__ = ["CheckIn", "Ladder", "Wave", "chat", "phone", "seed_escalations", "seed_wave"]
