"""FHIR R4B export: one ``collection`` Bundle per patient, streamed patient by patient."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource

from bot.export.files import ExportError, bundle_file_name, output_dir, write_json
from bot.export.panel import PatientRecords, patient_records
from bot.export.resources import communication, flag, patient_resource, questionnaire_response
from outreach.clock import SystemClock
from outreach.ports import Clock
from outreach.programs import Program, builtin_programs
from storage.engine import Database

DEFAULT_BASE_URL = "http://127.0.0.1:8000/fhir"
"""The root of the entries' fullUrls when none is given (the CLI uses PUBLIC_BASE_URL/fhir)."""


async def fhir_bundles(
    db: Database,
    *,
    patient_external_id: str | None = None,
    since: datetime | None = None,
    programs: Mapping[str, Program] | None = None,
    base_url: str = DEFAULT_BASE_URL,
    clock: Clock | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """One validated Bundle (as JSON-ready dict) per patient, in patient id order.

    ``programs`` gives the English question texts (default: the built-in programs).
    ``base_url`` roots each entry's ``fullUrl`` (``{base_url}/Patient/cb-pat-1``) so that the
    relative references between entries resolve inside the Bundle; carebot does not serve
    these URLs. ``since`` (aware) keeps the records of that time or later — see
    ``bot.export.panel.patient_records``. Raises ``PatientNotFound`` for an unknown id.
    """
    catalog = builtin_programs() if programs is None else programs
    at = (clock or SystemClock()).now()
    root = base_url.rstrip("/")
    async for records in patient_records(db, patient_external_id=patient_external_id, since=since):
        yield bundle(records, catalog, base_url=root, at=at).model_dump(mode="json")


def bundle(
    records: PatientRecords, programs: Mapping[str, Program], *, base_url: str, at: datetime
) -> Bundle:
    """The patient first, then their check-ins, messages and escalations."""
    patient = records.patient
    family = {contact.id: contact for contact in patient.family_contacts}
    resources: list[Resource] = [patient_resource(patient)]
    resources += [questionnaire_response(c, programs.get(c.program_id)) for c in records.checkins]
    resources += [communication(m, family) for m in records.messages]
    resources += [flag(e) for e in records.escalations]
    entries = [
        {"fullUrl": f"{base_url}/{r.get_resource_type()}/{r.id}", "resource": r} for r in resources
    ]
    data = {
        "id": f"cb-bundle-{patient.id}",
        "type": "collection",
        "timestamp": at,
        "entry": entries,
    }
    return Bundle.model_validate(data)


@dataclass(slots=True)
class FhirCounts:
    """What an export wrote: bundles (= patients) and resources by type."""

    bundles: int = 0
    questionnaire_responses: int = 0
    communications: int = 0
    flags: int = 0

    def add(self, data: Mapping[str, Any]) -> None:
        self.bundles += 1
        for entry in data.get("entry", []):
            kind = entry["resource"]["resourceType"]
            if kind == "QuestionnaireResponse":
                self.questionnaire_responses += 1
            elif kind == "Communication":
                self.communications += 1
            elif kind == "Flag":
                self.flags += 1

    def summary(self) -> str:
        return (
            f"fhir: {self.bundles} patients, {self.questionnaire_responses} check-ins "
            f"(QuestionnaireResponse), {self.communications} messages (Communication), "
            f"{self.flags} escalations (Flag)"
        )


async def write_fhir(
    db: Database,
    out: Path,
    *,
    patient_external_id: str | None = None,
    since: datetime | None = None,
    programs: Mapping[str, Program] | None = None,
    base_url: str = DEFAULT_BASE_URL,
    clock: Clock | None = None,
) -> FhirCounts:
    """Write the bundles: one ``<external id>.json`` per patient into the directory ``out``,
    or — with ``patient_external_id`` and ``out`` ending in ``.json`` — that one file."""
    single = out.suffix.lower() == ".json"
    if single and patient_external_id is None:
        raise ExportError(f"{out}: a .json file holds one patient's bundle; give --patient")
    directory = out.parent if single else out
    await asyncio.to_thread(output_dir, directory)
    counts = FhirCounts()
    async for data in fhir_bundles(
        db,
        patient_external_id=patient_external_id,
        since=since,
        programs=programs,
        base_url=base_url,
        clock=clock,
    ):
        external_id = data["entry"][0]["resource"]["identifier"][0]["value"]
        target = out if single else directory / bundle_file_name(external_id)
        await asyncio.to_thread(write_json, target, data)
        counts.add(data)
    return counts
