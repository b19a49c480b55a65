"""Writing patient rows, a chunk at a time: bulk loads of what exists, bulk inserts of what not.

New rows go in as multi-row ``INSERT … RETURNING`` statements (the ORM's unit of work inserts
one row per statement on SQLite, which made a 10,000-row file take most of a minute); rows that
exist are updated as ORM objects, only where the file changed them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import SCHEME_OF_CHANNEL
from bot.importing.consents import ConsentBook
from bot.importing.patient_rows import PatientRow
from bot.importing.report import ImportReport, RowNote
from outreach.schedule import next_occurrence
from storage.models import Consent, Enrollment, FamilyContact, Patient

log = logging.getLogger("carebot.import")

CONSENT_SOURCE = "import"
PATIENT_SCOPE = "checkins"


def address_of(channel: str, phone: str) -> str:
    """The consent and contact address of a phone on a channel (``tel:+1…``, ``voice:+1…``).

    A Telegram family member is kept at ``tel:`` until they link their chat (the link sets
    ``telegram:<chat id>``); no consent is recorded for it, so nothing is sent there.
    """
    scheme = "tel" if channel == "telegram" else SCHEME_OF_CHANNEL[channel]
    return f"{scheme}:{phone}"


@dataclass(slots=True)
class _Snapshot:
    """What the database holds for one chunk of rows."""

    patients: dict[str, Patient] = field(default_factory=dict)
    enrollments: dict[int, list[Enrollment]] = field(default_factory=dict)
    family: dict[tuple[int, str], FamilyContact] = field(default_factory=dict)
    consents: ConsentBook = field(default_factory=ConsentBook)


@dataclass(slots=True)
class _Outcome:
    row: PatientRow
    patient: Patient | None
    """The stored patient; None for a new one (``patient_id`` is set once inserted)."""
    patient_id: int = 0
    fields: set[str] = field(default_factory=set)
    """Names of what the row changed; empty: unchanged."""
    opted_out: str | None = None
    """``patient`` or ``family``: whose revoked consent left them as they were."""
    family_id: int = 0
    family_address: str = ""
    stopped: list[str] = field(default_factory=list)
    """``patient`` / ``family``: imported as opted out, for a STOP their number sent before."""


class PatientBatch:
    """One import's writes, chunk by chunk, inside the caller's transaction."""

    def __init__(self, session: AsyncSession, now: datetime, report: ImportReport) -> None:
        self.session, self.now, self.report = session, now, report

    async def write(self, rows: Sequence[PatientRow]) -> None:
        snapshot = await self._load(rows)
        outcomes = [self._patient(row, snapshot) for row in rows]
        await self._insert_patients([o for o in outcomes if o.patient is None], snapshot)
        live = [outcome for outcome in outcomes if outcome.opted_out != "patient"]
        enrollments = [e for e in (self._enrollment(o, snapshot) for o in live) if e]
        await self._insert(Enrollment, enrollments)
        family = [(o, f) for o in live if (f := self._family(o, snapshot))]
        await self._insert_family(family)
        await self.session.flush()  # the updates of stored rows
        grants = [grant for o in live for grant in self._consents(o, snapshot)]
        # grouped by subject: the bulk insert batches runs of rows with the same NULL columns
        grants.sort(key=lambda grant: grant["family_contact_id"] is not None)
        await self._insert(Consent, grants)
        for outcome in outcomes:
            self._count(outcome)

    async def _load(self, rows: Sequence[PatientRow]) -> _Snapshot:
        snapshot = _Snapshot()
        external_ids = [row.external_id for row in rows]
        for patient in await self.session.scalars(
            select(Patient).where(Patient.external_id.in_(external_ids))
        ):
            snapshot.patients[patient.external_id] = patient
        await snapshot.consents.load_address_stops(
            self.session, {address for row in rows for _, address in _addresses(row)}
        )
        ids = [patient.id for patient in snapshot.patients.values()]
        if not ids:
            return snapshot
        for enrollment in await self.session.scalars(
            select(Enrollment).where(Enrollment.patient_id.in_(ids)).order_by(Enrollment.id)
        ):
            snapshot.enrollments.setdefault(enrollment.patient_id, []).append(enrollment)
        for contact in await self.session.scalars(
            select(FamilyContact)
            .where(FamilyContact.patient_id.in_(ids))
            .order_by(FamilyContact.id)
        ):
            snapshot.family.setdefault((contact.patient_id, contact.phone or ""), contact)
        family_ids = [contact.id for contact in snapshot.family.values()]
        await snapshot.consents.load(self.session, ids, family_ids)
        return snapshot

    def _patient(self, row: PatientRow, snapshot: _Snapshot) -> _Outcome:
        patient = snapshot.patients.get(row.external_id)
        if patient is None:
            return _Outcome(row, None, fields={"patient"})
        outcome = _Outcome(row, patient, patient.id)
        if patient.status == "opted_out" or snapshot.consents.opted_out(("patient", patient.id)):
            outcome.opted_out = "patient"
            return outcome
        outcome.fields = _assign(patient, _patient_values(row, patient.baseline))
        status = _status(patient.status, patient.channel, patient.telegram_chat_id)
        if status != patient.status:
            patient.status = status
            outcome.fields.add("status")
        if outcome.fields:
            patient.updated_at = self.now
        return outcome

    async def _insert_patients(self, outcomes: list[_Outcome], snapshot: _Snapshot) -> None:
        values = [
            {
                **_patient_values(o.row, {}),
                "external_id": o.row.external_id,
                "status": "opted_out"
                if self._patient_stop(o, snapshot)
                else _status("active", o.row.channel, None),
                "created_at": self.now,
            }
            for o in outcomes
        ]
        ids = dict(
            (external_id, patient_id)
            for patient_id, external_id in await self._insert(
                Patient, values, Patient.id, Patient.external_id
            )
        )
        for outcome in outcomes:
            outcome.patient_id = ids[outcome.row.external_id]

    def _enrollment(self, outcome: _Outcome, snapshot: _Snapshot) -> dict[str, Any] | None:
        """The values of a new enrolment, or None after updating (or keeping) the stored one.

        A changed program moves the stored enrolment to it; open check-ins are left to finish.
        """
        row = outcome.row
        existing = snapshot.enrollments.get(outcome.patient_id, [])
        same = [e for e in existing if e.program_id == row.program]
        enrollment = next(iter(same or existing), None)
        cadence = (row.program, row.cadence_day, row.cadence_time)
        if enrollment is None:
            return {
                "patient_id": outcome.patient_id,
                "program_id": row.program,
                "cadence_day": row.cadence_day,
                "cadence_time": row.cadence_time,
                "anchor_at": self.now,
                "next_due_at": self._next_due(row, self.now),
                "paused": False,
                "consecutive_missed": 0,
                "created_at": self.now,
            }
        stored = (enrollment.program_id, enrollment.cadence_day, enrollment.cadence_time)
        if stored != cadence:
            enrollment.program_id, enrollment.cadence_day, enrollment.cadence_time = cadence
            enrollment.anchor_at = self.now
            outcome.fields.add("enrollment")
        elif "timezone" not in outcome.fields:
            return None
        if not enrollment.paused:
            enrollment.next_due_at = self._next_due(row, enrollment.anchor_at or self.now)
        return None

    def _next_due(self, row: PatientRow, anchor: datetime) -> datetime:
        return next_occurrence(row.cadence, self.now, ZoneInfo(row.timezone), anchor)

    def _family(self, outcome: _Outcome, snapshot: _Snapshot) -> dict[str, Any] | None:
        """The values of a new family contact, or None after updating the stored one."""
        row = outcome.row.family
        if row is None:
            return None
        contact = snapshot.family.get((outcome.patient_id, row.phone))
        values: dict[str, Any] = {
            "name": row.name,
            "relationship_": row.relationship,
            "channel": row.channel,
            "language": row.language,
            "notify_on": list(row.notify),
            "address": address_of(row.channel, row.phone),
        }
        if contact is None:
            outcome.fields.add("family")
            outcome.family_address = values["address"]
            return {
                **values,
                "patient_id": outcome.patient_id,
                "phone": row.phone,
                "created_at": self.now,
            }
        if snapshot.consents.opted_out(("family", contact.id)):
            outcome.opted_out = "family"
            return None
        if row.channel == "telegram" and contact.address.startswith("telegram:"):
            values["address"] = contact.address  # a linked chat stays linked
        if _assign(contact, values):
            outcome.fields.add("family")
        outcome.family_id, outcome.family_address = contact.id, contact.address
        return None

    async def _insert_family(self, new: list[tuple[_Outcome, dict[str, Any]]]) -> None:
        returned = await self._insert(
            FamilyContact,
            [values for _, values in new],
            FamilyContact.id,
            FamilyContact.patient_id,
            FamilyContact.phone,
        )
        ids = {(patient_id, phone): family_id for family_id, patient_id, phone in returned}
        for outcome, values in new:
            outcome.family_id = ids[(values["patient_id"], values["phone"])]

    def _consents(self, outcome: _Outcome, snapshot: _Snapshot) -> list[dict[str, Any]]:
        """Grants for the patient's channel and the family contact's scope, where not on file.

        A Telegram patient or family member consents when they link their chat.
        """
        grants = []
        row, book = outcome.row, snapshot.consents
        if row.channel != "telegram" and row.phone is not None:
            address = address_of(row.channel, row.phone)
            stop = self._patient_stop(outcome, snapshot)
            if stop is not None:
                grants.append(
                    self._stop(outcome, stop, row.channel, address, PATIENT_SCOPE, row.language)
                )
                if outcome.patient is not None:
                    outcome.patient.status = "opted_out"
            elif not book.granted(
                ("patient", outcome.patient_id), row.channel, address, PATIENT_SCOPE
            ):
                grants.append(
                    self._grant(outcome, row.channel, address, PATIENT_SCOPE, row.language)
                )
        family = row.family
        if family is not None and outcome.family_id and family.channel != "telegram":
            scope, address = ";".join(family.notify), outcome.family_address
            subject = ("family", outcome.family_id)
            stop = book.stopped_before(subject, family.channel, address)
            if stop is not None:
                grants.append(
                    self._stop(outcome, stop, family.channel, address, scope, family.language, True)
                )
            elif not book.granted(subject, family.channel, address, scope):
                grants.append(
                    self._grant(outcome, family.channel, address, scope, family.language, True)
                )
        if grants:
            outcome.fields.add("consent")
        return grants

    def _patient_stop(self, outcome: _Outcome, snapshot: _Snapshot) -> Consent | None:
        row = outcome.row
        if row.channel == "telegram" or row.phone is None:
            return None
        subject = ("patient", outcome.patient.id if outcome.patient else 0)
        return snapshot.consents.stopped_before(
            subject, row.channel, address_of(row.channel, row.phone)
        )

    def _stop(
        self,
        outcome: _Outcome,
        stop: Consent,
        channel: str,
        address: str,
        scope: str,
        language: str,
        family: bool = False,
    ) -> dict[str, Any]:
        """The subject's own copy of a STOP their number sent before they were imported: they
        are on file as opted out, as if they had sent it themselves."""
        outcome.stopped.append("family" if family else "patient")
        return {
            **self._grant(outcome, channel, address, scope, language, family),
            "granted": False,
            "source": stop.source,
            "recorded_at": stop.recorded_at,
        }

    def _grant(
        self,
        outcome: _Outcome,
        channel: str,
        address: str,
        scope: str,
        language: str,
        family: bool = False,
    ) -> dict[str, Any]:
        return {
            "patient_id": outcome.patient_id,
            "family_contact_id": outcome.family_id if family else None,
            "subject": "family" if family else "patient",
            "channel": channel,
            "address": address,
            "scope": scope,
            "granted": True,
            "source": CONSENT_SOURCE,
            "text_version": "v1",
            "language": language,
            "recorded_at": self.now,
        }

    async def _insert(
        self, model: type[Any], values: list[dict[str, Any]], *returning: Any
    ) -> list[Any]:
        if not values:
            return []
        if not returning:
            await self.session.execute(insert(model), values)
            return []
        return list(await self.session.execute(insert(model).returning(*returning), values))

    def _count(self, outcome: _Outcome) -> None:
        report = self.report
        for who in outcome.stopped:
            person = "patient" if who == "patient" else "family member"
            report.notes.append(
                RowNote(outcome.row.line, f"{person}'s number sent STOP before; imported opted out")
            )
        if outcome.opted_out is not None:
            report.opted_out += 1
            who = "patient" if outcome.opted_out == "patient" else "family member"
            report.notes.append(RowNote(outcome.row.line, f"opted out, left unchanged ({who})"))
            log.info("import: %s of patient %d opted out, left unchanged", who, outcome.patient_id)
        elif outcome.patient is None:
            report.created += 1
        elif outcome.fields:
            report.updated += 1
        else:
            report.unchanged += 1


def _addresses(row: PatientRow) -> list[tuple[str, str]]:
    """(channel, address) pairs of the row whose consent the import records."""
    pairs = []
    if row.channel != "telegram" and row.phone is not None:
        pairs.append((row.channel, address_of(row.channel, row.phone)))
    family = row.family
    if family is not None and family.channel != "telegram":
        pairs.append((family.channel, address_of(family.channel, family.phone)))
    return pairs


def _patient_values(row: PatientRow, baseline: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(baseline or {})
    if row.weight_lb is not None:
        merged["weight"] = row.weight_lb
    return {
        "name": row.name,
        "phone": row.phone,
        "timezone": row.timezone,
        "language": row.language,
        "channel": row.channel,
        "care_manager_id": row.care_manager_id,
        "baseline": merged,
    }


def _assign(target: object, values: Mapping[str, object]) -> set[str]:
    """Set the attributes that differ; their names."""
    changed = {name for name, value in values.items() if getattr(target, name) != value}
    for name in changed:
        setattr(target, name, values[name])
    return changed


def _status(status: str, channel: str, telegram_chat_id: str | None) -> str:
    """Telegram patients wait for their chat link; others are active. Paused and discharged
    patients stay so (resuming is the care team's decision, not a file's)."""
    if status not in ("active", "awaiting_link"):
        return status
    return "awaiting_link" if channel == "telegram" and telegram_chat_id is None else "active"
