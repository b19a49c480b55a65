"""Hand-written fakes and a small panel for host tests (no provider, no network)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.config import Settings, load_settings
from bot.runtime import Runtime, build_runtime
from outreach.clock import ManualClock
from outreach.conversation.env import Screen, no_screen
from outreach.errors import DeliveryError
from outreach.ports import InboundMessage, OutboundMessage, SendResult
from storage.engine import Database
from storage.models import Patient
from storage.repositories.consents import ConsentRepository
from storage.repositories.enrollments import EnrollmentRepository
from storage.repositories.managers import ManagerRepository
from storage.repositories.patients import PatientFields, PatientRepository
from tests.privacy_plugin import remember


@dataclass
class FakeSender:
    """Records what would have reached the provider; ``faults`` are raised one per send."""

    scheme: str = "tel"
    sent: list[OutboundMessage] = field(default_factory=list)
    faults: list[DeliveryError] = field(default_factory=list)
    attempts: int = 0
    provider_log: dict[str, tuple[str, str]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, message: OutboundMessage) -> SendResult:
        self.attempts += 1
        if self.faults:
            raise self.faults.pop(0)
        self.sent.append(message)
        provider_id = f"SM{next(self._ids):06d}"
        self.provider_log[provider_id] = (message.address, message.body)
        return SendResult(provider_id, "queued")

    def can_look_up(self, address: str) -> bool:
        return address.startswith("tel:")

    async def find_sent(self, address: str, body: str, since: datetime) -> str | None:
        for provider_id, (to, text) in self.provider_log.items():
            if to == address and text == body:
                return provider_id
        return None

    def bodies(self, address: str | None = None) -> list[str]:
        return [m.body for m in self.sent if address is None or m.address == address]


def settings_for(tmp_path: Path, **overrides: str) -> Settings:
    env = {"CAREBOT_VAR_DIR": str(tmp_path), "CARE_TEAM_NAME": "Riverside Care", **overrides}
    return load_settings(env, env_file=None)


@dataclass
class Host:
    runtime: Runtime
    sender: FakeSender
    clock: ManualClock
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def reply(self, address: str, text: str) -> None:
        remember(text, address.partition(":")[2])
        message = InboundMessage(
            channel=address.partition(":")[0].replace("tel", "sms"),
            address=address,
            body=text,
            external_id=f"SMin{next(self._seq):05d}",
            received_at=self.clock.now(),
        )
        await self.runtime.handle_inbound(message)

    async def tick(self) -> None:
        """Every tick once, as the scheduler would run them at this moment."""
        await self.runtime.checkins.dispatch_due()
        result = await self.runtime.checkins.advance_due()
        for applied in result.applied:
            await self.runtime.after_commit(applied)
        await self.runtime.delivery.deliver_due()


def make_host(
    db: Database, clock: ManualClock, tmp_path: Path, *, screen: Screen = no_screen, **env: str
) -> Host:
    sender = FakeSender()
    runtime = build_runtime(
        settings_for(tmp_path, **env), db, sender, clock=clock, screen=screen, worker_id="t1"
    )
    return Host(runtime, sender, clock)


async def enrol(
    host: Host,
    *,
    external_id: str = "P1",
    name: str = "Ana Lopez",
    phone: str = "+15555550101",
    program: str = "general",
    language: str = "en",
    timezone: str = "America/New_York",
    channel: str = "sms",
    due: datetime | None = None,
    cadence_day: str = "2",
    cadence_time: str = "10:00",
) -> Patient:
    remember(name, phone, *name.split())
    runtime = host.runtime
    await runtime.sync_programs()
    now = host.clock.now()
    async with runtime.db.transaction() as session:
        managers = ManagerRepository(session)
        manager = await managers.by_email("nurse@example.org")
        if manager is None:
            manager, _ = await managers.upsert_by_email(
                "nurse@example.org", name="Nina Nurse", role="care_manager", at=now
            )
        patient, _ = await PatientRepository(session).upsert(
            external_id,
            PatientFields(
                name=name,
                phone=phone,
                timezone=timezone,
                language=language,
                channel=channel,
                care_manager_id=manager.id,
            ),
            at=now,
        )
        await EnrollmentRepository(session).upsert(
            patient.id,
            program,
            cadence_day=cadence_day,
            cadence_time=cadence_time,
            next_due_at=due or now,
            at=now,
            anchor_at=now,
        )
        scheme = {"sms": "tel", "voice": "voice", "sandbox": "sandbox"}[channel]
        address = f"sandbox:{external_id}" if channel == "sandbox" else f"{scheme}:{phone}"
        await ConsentRepository(session).record(
            channel=channel,
            address=address,
            granted=True,
            source="import",
            at=now,
            patient_id=patient.id,
        )
    return patient
