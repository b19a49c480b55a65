"""Two enrolled patients with real conversations, built through the check-in host.

Ana (P1, general program) answers the whole check-in on day one and rates her health as poor,
which raises a routine escalation (and an alert to her nurse, a message that is not hers).
Ben (P2, heart failure) answers two questions on day three and is still in progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from outreach.clock import ManualClock
from storage.engine import Database
from storage.models import CheckIn, Escalation, Message, Patient
from tests.integration.support import Host, enrol, make_host

ANA_PHONE, BEN_PHONE = "+15555550101", "+15555550102"
ANA, BEN = f"tel:{ANA_PHONE}", f"tel:{BEN_PHONE}"
ANA_ANSWERS = ["poor", "2", "0", "no", "no", "no", "no", "nothing else thanks"]
BEN_ANSWERS = ["182", "no"]
BEN_REPLY_DAY = timedelta(days=2)


@dataclass
class PatientRows:
    patient: Patient
    checkins: list[CheckIn]
    messages: list[Message]
    escalations: list[Escalation]


async def build(db: Database, clock: ManualClock, tmp_path: Path) -> Host:
    host = make_host(db, clock, tmp_path)
    await enrol(host, external_id="P1", name="Ana Lopez", phone=ANA_PHONE)
    await enrol(host, external_id="P2", name="Ben Okafor", phone=BEN_PHONE, program="heart_failure")
    await host.tick()
    for answer in ANA_ANSWERS:
        clock.advance(timedelta(minutes=1))
        await host.reply(ANA, answer)
    await host.tick()
    clock.advance(BEN_REPLY_DAY)
    for answer in BEN_ANSWERS:
        clock.advance(timedelta(minutes=1))
        await host.reply(BEN, answer)
    return host


async def rows_of(db: Database, external_id: str) -> PatientRows:
    async with db.session() as session:
        patient = (
            await session.scalars(select(Patient).where(Patient.external_id == external_id))
        ).one()
        pid = patient.id
        checkins = await session.scalars(select(CheckIn).where(CheckIn.patient_id == pid))
        messages = await session.scalars(select(Message).where(Message.patient_id == pid))
        escalations = await session.scalars(select(Escalation).where(Escalation.patient_id == pid))
        return PatientRows(patient, list(checkins), list(messages), list(escalations))
